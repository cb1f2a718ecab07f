/*
 * oneDNN 2.x backed 2-D convolution for plain NCHW / OIHW float32 buffers.
 * See include/conv_dnnl.h for the contract.
 */
#define _POSIX_C_SOURCE 200809L

#include "conv_internal.h"

#include <dnnl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Cache capacity. A network has a handful of distinct conv shapes, each using
 * up to three passes, plus the chunk shapes of large batches and the entries
 * probed to plan them; the measured algorithm makes up to three entries per
 * pass (auto, direct, Winograd) while it decides (ResNet-18: 16 shapes x 3
 * passes). When full, the least recently used entry is destroyed: after the
 * decisions, the candidates that lost. */
#define CACHE_CAPACITY 256

#define MAX_SLOTS 4

/* Backward data with at most this many input channels uses plain nchw
 * diff_src (gemm implementation) instead of a blocked layout. */
#define SMALL_C_GEMM_BWD_DATA 4

/* One tensor argument of the convolution primitive. */
typedef struct {
    int arg;                  /* DNNL_ARG_* of the convolution */
    int is_output;
    /* Memory object with the plain (nchw / oihw / x) descriptor; its data
     * handle is set to the caller's pointer on every call. */
    dnnl_memory_t user_mem;
    /* Memory object in the layout the primitive chose. Equals user_mem when
     * no reorder is needed; otherwise its data lives in the shared arena at
     * `arena_offset` (bound on every call). */
    dnnl_memory_t op_mem;
    size_t arena_offset;
    /* plain -> op (inputs) or op -> plain (outputs); NULL when equal. */
    dnnl_primitive_t reorder;
} tensor_slot;

typedef struct {
    int key[KEY_LEN];
    unsigned long long last_use;
    dnnl_primitive_desc_t hint_pd; /* forward pd used as hint (backward only) */
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t scratch;         /* user-mode scratchpad, NULL if none */
    size_t scratch_offset;         /* its place in the shared arena */
    size_t arena_need;             /* bytes of arena this entry uses */
    int nslots;
    tensor_slot slots[MAX_SLOTS];
} conv_entry;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t g_engine = NULL;
static dnnl_stream_t g_stream = NULL;
static conv_entry *g_cache[CACHE_CAPACITY];
static int g_cache_count = 0;
static unsigned long long g_tick = 0;
static unsigned long long g_created = 0; /* primitives created (cache misses) */

/* Every call runs under g_lock, so one arena holds the blocked copies and the
 * scratchpad of whichever entry is executing: memory = max over entries, not
 * the sum, and the same (cache- and TLB-warm) pages are reused by all layers.
 * oneDNN primitives keep no state in these buffers between executions. */
#define ARENA_ALIGN 4096
static void *g_arena = NULL;
static size_t g_arena_size = 0;

static size_t align_up(size_t x) {
    return (x + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

/* Grows the arena to `need` bytes. Its contents need not survive (callers
 * reorder into it after this), so the old block is released first: the two
 * never coexist, which keeps the resident peak at the new size. */
static dnnl_status_t ensure_arena(size_t need) {
    if (need <= g_arena_size) return dnnl_success;
    free(g_arena);
    g_arena = NULL;
    g_arena_size = 0;
    void *p = NULL;
    if (posix_memalign(&p, ARENA_ALIGN, need) != 0) return dnnl_out_of_memory;
    g_arena = p;
    g_arena_size = need;
    return dnnl_success;
}

static void release_arena(void) {
    free(g_arena);
    g_arena = NULL;
    g_arena_size = 0;
}

/* Batch chunking (header: ipr_conv_set_chunk_budget). A large call is split
 * into consecutive chunks of samples, each run by the primitive cached for the
 * chunk's batch size, so the blocked copies and the scratchpad in the arena
 * scale with the chunk, not with the batch. Chunks keep >= MIN_CHUNK samples
 * when N >= MIN_CHUNK: oneDNN only selects Winograd (1.7-1.9x faster on 3x3
 * layers) for batch >= 16. The default, 16 MiB, leaves calls at batch <= 64
 * of AlexNet-CIFAR and ResNet-18 whole (except ResNet-18's stem forward), and
 * cut the arena peak over ResNet-18's convolutions at batch 256 from 266 MB
 * (stem forward) to 103 MB for inference and 177 MB for training (the 512->512
 * 4x4 Winograd backward weights: ~125 MB of it does not depend on the batch),
 * within ~3% of the whole-batch time per layer; 8 MiB saved little more and
 * was ~5% slower on the 128-channel layers. */
#define MIN_CHUNK 16
static size_t g_chunk_budget = IPR_CONV_DEFAULT_CHUNK_BUDGET;

/* Backward weights of the second and later chunks writes its partial
 * diff_weight / diff_bias here (plain layout), then adds them to the caller's
 * buffers. Weights are small next to activations. */
static float *g_accum = NULL;
static size_t g_accum_floats = 0;

static dnnl_status_t ensure_accum(size_t floats) {
    if (floats <= g_accum_floats) return dnnl_success;
    free(g_accum);
    g_accum = (float *)malloc(floats * sizeof(float));
    g_accum_floats = g_accum ? floats : 0;
    return g_accum ? dnnl_success : dnnl_out_of_memory;
}

/* Default algorithm: the rule (conv_rule.c), unless IPR_CONV_ALGORITHM names
 * another; UNSET until the first call reads the environment. With auto,
 * oneDNN 2.6 on avx512_core picks jit_wino_4x3 for most 3x3 stride-1 layers
 * with a large enough batch (>= 16) and direct jit kernels elsewhere; Winograd
 * was measured 1.7-1.9x faster than direct on the AlexNet-CIFAR / ResNet-18
 * 3x3 layers at batch 64 (2 threads), with a relative error of <= 4e-6 against
 * a double-precision reference, but not on every layer and CPU. */
#define ALGORITHM_UNSET (-2)
static int g_algorithm = ALGORITHM_UNSET;

int ipr_conv_algorithm_named(const char *name) {
    static const struct { const char *name; int algo; } names[] = {
        {"rule", IPR_CONV_RULE}, {"measured", IPR_CONV_MEASURED}, {"auto", IPR_CONV_AUTO},
        {"direct", IPR_CONV_DIRECT}, {"winograd", IPR_CONV_WINOGRAD}};
    if (!name) return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i)
        if (strcmp(name, names[i].name) == 0) return names[i].algo;
    return -1;
}

/* The process default. Caller holds g_lock. A name the environment gives that
 * is no algorithm leaves the rule (iprtool refuses it before any call). */
static int default_algorithm_locked(void) {
    if (g_algorithm == ALGORITHM_UNSET) {
        int named = ipr_conv_algorithm_named(getenv("IPR_CONV_ALGORITHM"));
        g_algorithm = named >= 0 ? named : IPR_CONV_RULE;
    }
    return g_algorithm;
}

static int g_profiling = 0;
static double g_prof_reorder_ms = 0.0;
static double g_prof_conv_ms = 0.0;

double ipr_conv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ------------------------------------------------------------------------ */
/* Shapes and descriptors                                                    */

static int out_dim(int in, int k, int stride, int pad) {
    return (in + 2 * pad - k) / stride + 1;
}

static int shape_valid(const ipr_conv_shape *s) {
    if (!s) return 0;
    if (s->n <= 0 || s->c <= 0 || s->h <= 0 || s->w <= 0 || s->oc <= 0)
        return 0;
    if (s->kh <= 0 || s->kw <= 0 || s->stride_h <= 0 || s->stride_w <= 0)
        return 0;
    if (s->pad_h < 0 || s->pad_w < 0) return 0;
    if (s->h + 2 * s->pad_h < s->kh || s->w + 2 * s->pad_w < s->kw) return 0;
    if (s->algorithm < IPR_CONV_DEFAULT || s->algorithm > IPR_CONV_RULE) return 0;
    return 1;
}

void ipr_conv_make_key(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                       int key[KEY_LEN]) {
    key[0] = s->n;  key[1] = s->c;  key[2] = s->h;  key[3] = s->w;
    key[4] = s->oc; key[5] = s->kh; key[6] = s->kw;
    key[7] = s->stride_h; key[8] = s->stride_w;
    key[9] = s->pad_h;    key[10] = s->pad_w;
    key[11] = pass; key[12] = algo; key[13] = has_bias;
}

typedef struct {
    dnnl_memory_desc_t src_any, wei_any, bia_any, dst_any;
    dnnl_memory_desc_t src_plain, wei_plain, bia_plain, dst_plain;
    dnnl_dims_t strides, pad_l, pad_r;
} conv_mds;

static dnnl_status_t init_mds(const ipr_conv_shape *s, conv_mds *m) {
    dnnl_dims_t src_d = {s->n, s->c, s->h, s->w};
    dnnl_dims_t wei_d = {s->oc, s->c, s->kh, s->kw};
    dnnl_dims_t bia_d = {s->oc};
    dnnl_dims_t dst_d = {s->n, s->oc, out_dim(s->h, s->kh, s->stride_h, s->pad_h),
                         out_dim(s->w, s->kw, s->stride_w, s->pad_w)};
    dnnl_status_t st;
    memset(m, 0, sizeof(*m));
#define MD(md, nd, dims, tag)                                                  \
    do {                                                                       \
        st = dnnl_memory_desc_init_by_tag(&(md), (nd), (dims), dnnl_f32, (tag)); \
        if (st != dnnl_success) return st;                                     \
    } while (0)
    MD(m->src_any, 4, src_d, dnnl_format_tag_any);
    MD(m->wei_any, 4, wei_d, dnnl_format_tag_any);
    MD(m->bia_any, 1, bia_d, dnnl_format_tag_any);
    MD(m->dst_any, 4, dst_d, dnnl_format_tag_any);
    MD(m->src_plain, 4, src_d, dnnl_nchw);
    MD(m->wei_plain, 4, wei_d, dnnl_oihw);
    MD(m->bia_plain, 1, bia_d, dnnl_x);
    MD(m->dst_plain, 4, dst_d, dnnl_nchw);
#undef MD
    m->strides[0] = s->stride_h; m->strides[1] = s->stride_w;
    /* Symmetric padding as the user asked for; oneDNN accepts pad_r larger
     * than strictly needed (the extra rows/cols are never read). */
    m->pad_l[0] = s->pad_h; m->pad_l[1] = s->pad_w;
    m->pad_r[0] = s->pad_h; m->pad_r[1] = s->pad_w;
    return dnnl_success;
}

/* algo: IPR_CONV_DIRECT, IPR_CONV_AUTO or IPR_CONV_WINOGRAD (rule, measured
 * and default are resolved before a primitive is made). */
static dnnl_alg_kind_t alg_kind_of(int algo) {
    switch (algo) {
    case IPR_CONV_AUTO: return dnnl_convolution_auto;
    case IPR_CONV_WINOGRAD: return dnnl_convolution_winograd;
    default: return dnnl_convolution_direct;
    }
}

static dnnl_status_t ensure_engine(void) {
    dnnl_status_t st;
    if (!g_engine) {
        st = dnnl_engine_create(&g_engine, dnnl_cpu, 0);
        if (st != dnnl_success) { g_engine = NULL; return st; }
    }
    if (!g_stream) {
        st = dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags);
        if (st != dnnl_success) { g_stream = NULL; return st; }
    }
    return dnnl_success;
}

/* ------------------------------------------------------------------------ */
/* Cache entries                                                             */

static void entry_destroy(conv_entry *e) {
    if (!e) return;
    for (int i = 0; i < e->nslots; ++i) {
        tensor_slot *t = &e->slots[i];
        if (t->reorder) dnnl_primitive_destroy(t->reorder);
        if (t->op_mem && t->op_mem != t->user_mem) dnnl_memory_destroy(t->op_mem);
        if (t->user_mem) dnnl_memory_destroy(t->user_mem);
    }
    if (e->scratch) dnnl_memory_destroy(e->scratch);
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->pd) dnnl_primitive_desc_destroy(e->pd);
    if (e->hint_pd) dnnl_primitive_desc_destroy(e->hint_pd);
    free(e);
}

static dnnl_status_t make_reorder(const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to,
                                  dnnl_primitive_t *out) {
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_status_t st = dnnl_reorder_primitive_desc_create(&rpd, from, g_engine,
                                                          to, g_engine, NULL);
    if (st != dnnl_success) return st;
    st = dnnl_primitive_create(out, rpd);
    dnnl_primitive_desc_destroy(rpd); /* the primitive keeps its own copy */
    return st;
}

/* Adds a tensor argument: plain descriptor `plain`, primitive layout queried
 * from the pd with `query`. */
static dnnl_status_t add_slot(conv_entry *e, int arg, int is_output,
                              const dnnl_memory_desc_t *plain, dnnl_query_t query,
                              int index) {
    tensor_slot *t = &e->slots[e->nslots++];
    memset(t, 0, sizeof(*t));
    t->arg = arg;
    t->is_output = is_output;
    const dnnl_memory_desc_t *op_md = dnnl_primitive_desc_query_md(e->pd, query, index);
    if (!op_md) return dnnl_runtime_error;
    dnnl_status_t st = dnnl_memory_create(&t->user_mem, plain, g_engine, DNNL_MEMORY_NONE);
    if (st != dnnl_success) return st;
    if (dnnl_memory_desc_equal(op_md, plain)) {
        t->op_mem = t->user_mem;       /* layouts agree: skip the reorder */
        return dnnl_success;
    }
    st = dnnl_memory_create(&t->op_mem, op_md, g_engine, DNNL_MEMORY_NONE);
    if (st != dnnl_success) { t->op_mem = NULL; return st; }
    t->arena_offset = e->arena_need;
    e->arena_need += align_up(dnnl_memory_desc_get_size(op_md));
    if (is_output)
        return make_reorder(op_md, plain, &t->reorder);
    return make_reorder(plain, op_md, &t->reorder);
}

static dnnl_status_t create_fwd_pd(const ipr_conv_shape *s, int algo, int has_bias,
                                   const_dnnl_primitive_attr_t attr,
                                   dnnl_primitive_desc_t *pd) {
    conv_mds m;
    dnnl_convolution_desc_t cd;
    dnnl_status_t st = init_mds(s, &m);
    if (st != dnnl_success) return st;
    st = dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training,
            alg_kind_of(algo), &m.src_any, &m.wei_any,
            has_bias ? &m.bia_any : NULL, &m.dst_any,
            m.strides, m.pad_l, m.pad_r);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &cd, attr, g_engine, NULL);
}

static dnnl_status_t entry_create(const ipr_conv_shape *s, int pass, int algo,
                                  int has_bias, conv_entry **out) {
    conv_mds m;
    dnnl_convolution_desc_t cd;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st;
    conv_entry *e = (conv_entry *)calloc(1, sizeof(conv_entry));
    if (!e) return dnnl_out_of_memory;
    ipr_conv_make_key(s, pass, algo, has_bias, e->key);

#define TRY(x)                                  \
    do {                                        \
        st = (x);                               \
        if (st != dnnl_success) goto fail;      \
    } while (0)

    TRY(init_mds(s, &m));
    TRY(dnnl_primitive_attr_create(&attr));
    TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));

    switch (pass) {
    case PASS_FWD:
        TRY(create_fwd_pd(s, algo, has_bias, attr, &e->pd));
        break;
    case PASS_BWD_DATA:
        /* The forward hint carries the layouts the backward pass should match. */
        TRY(create_fwd_pd(s, algo, 0, NULL, &e->hint_pd));
        /* With very few input channels (first layer, C = 3) the blocked jit
         * kernel pads C to 16 and wastes most of its work; asking for a plain
         * nchw diff_src makes oneDNN use its gemm (col2im) implementation,
         * which was measured ~2x faster there and needs no output reorder. */
        TRY(dnnl_convolution_backward_data_desc_init(&cd, alg_kind_of(algo),
                s->c <= SMALL_C_GEMM_BWD_DATA ? &m.src_plain : &m.src_any,
                &m.wei_any, &m.dst_any, m.strides, m.pad_l, m.pad_r));
        TRY(dnnl_primitive_desc_create(&e->pd, &cd, attr, g_engine, e->hint_pd));
        break;
    case PASS_BWD_WEIGHTS:
        TRY(create_fwd_pd(s, algo, has_bias, NULL, &e->hint_pd));
        TRY(dnnl_convolution_backward_weights_desc_init(&cd, alg_kind_of(algo),
                &m.src_any, &m.wei_any, has_bias ? &m.bia_any : NULL, &m.dst_any,
                m.strides, m.pad_l, m.pad_r));
        TRY(dnnl_primitive_desc_create(&e->pd, &cd, attr, g_engine, e->hint_pd));
        break;
    default:
        st = dnnl_invalid_arguments;
        goto fail;
    }
    dnnl_primitive_attr_destroy(attr);
    attr = NULL;

    TRY(dnnl_primitive_create(&e->prim, e->pd));

    {
        const dnnl_memory_desc_t *sp =
            dnnl_primitive_desc_query_md(e->pd, dnnl_query_scratchpad_md, 0);
        if (sp && dnnl_memory_desc_get_size(sp) > 0) {
            TRY(dnnl_memory_create(&e->scratch, sp, g_engine, DNNL_MEMORY_NONE));
            e->scratch_offset = e->arena_need;
            e->arena_need += align_up(dnnl_memory_desc_get_size(sp));
        }
    }

    /* Inputs first, outputs last (execution order relies on it). */
    switch (pass) {
    case PASS_FWD:
        TRY(add_slot(e, DNNL_ARG_SRC, 0, &m.src_plain, dnnl_query_src_md, 0));
        TRY(add_slot(e, DNNL_ARG_WEIGHTS, 0, &m.wei_plain, dnnl_query_weights_md, 0));
        if (has_bias)
            TRY(add_slot(e, DNNL_ARG_BIAS, 0, &m.bia_plain, dnnl_query_weights_md, 1));
        TRY(add_slot(e, DNNL_ARG_DST, 1, &m.dst_plain, dnnl_query_dst_md, 0));
        break;
    case PASS_BWD_DATA:
        TRY(add_slot(e, DNNL_ARG_DIFF_DST, 0, &m.dst_plain, dnnl_query_diff_dst_md, 0));
        TRY(add_slot(e, DNNL_ARG_WEIGHTS, 0, &m.wei_plain, dnnl_query_weights_md, 0));
        TRY(add_slot(e, DNNL_ARG_DIFF_SRC, 1, &m.src_plain, dnnl_query_diff_src_md, 0));
        break;
    case PASS_BWD_WEIGHTS:
        TRY(add_slot(e, DNNL_ARG_SRC, 0, &m.src_plain, dnnl_query_src_md, 0));
        TRY(add_slot(e, DNNL_ARG_DIFF_DST, 0, &m.dst_plain, dnnl_query_diff_dst_md, 0));
        TRY(add_slot(e, DNNL_ARG_DIFF_WEIGHTS, 1, &m.wei_plain, dnnl_query_diff_weights_md, 0));
        if (has_bias)
            TRY(add_slot(e, DNNL_ARG_DIFF_BIAS, 1, &m.bia_plain, dnnl_query_diff_weights_md, 1));
        break;
    }
#undef TRY
    *out = e;
    return dnnl_success;

fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    entry_destroy(e);
    return st;
}

/* Looks up (or creates) the entry. Caller holds g_lock. */
static dnnl_status_t entry_get(const ipr_conv_shape *s, int pass, int algo,
                               int has_bias, conv_entry **out) {
    int key[KEY_LEN];
    ipr_conv_make_key(s, pass, algo, has_bias, key);
    for (int i = 0; i < g_cache_count; ++i) {
        if (memcmp(g_cache[i]->key, key, sizeof(key)) == 0) {
            g_cache[i]->last_use = ++g_tick;
            *out = g_cache[i];
            return dnnl_success;
        }
    }
    dnnl_status_t st = ensure_engine();
    if (st != dnnl_success) return st;
    conv_entry *e = NULL;
    st = entry_create(s, pass, algo, has_bias, &e);
    if (st != dnnl_success) return st;
    /* The arena is grown when an entry runs (run_pass), not here: creating
     * an entry only to query it (ipr_conv_impl_name) allocates nothing. */
    if (g_cache_count == CACHE_CAPACITY) {
        int lru = 0;
        for (int i = 1; i < g_cache_count; ++i)
            if (g_cache[i]->last_use < g_cache[lru]->last_use) lru = i;
        entry_destroy(g_cache[lru]);
        g_cache[lru] = g_cache[--g_cache_count];
    }
    e->last_use = ++g_tick;
    ++g_created;
    g_cache[g_cache_count++] = e;
    *out = e;
    return dnnl_success;
}

/* ------------------------------------------------------------------------ */
/* Execution                                                                 */

static dnnl_status_t run_reorder(tensor_slot *t) {
    dnnl_exec_arg_t args[2];
    if (t->is_output) {
        args[0].arg = DNNL_ARG_FROM; args[0].memory = t->op_mem;
        args[1].arg = DNNL_ARG_TO;   args[1].memory = t->user_mem;
    } else {
        args[0].arg = DNNL_ARG_FROM; args[0].memory = t->user_mem;
        args[1].arg = DNNL_ARG_TO;   args[1].memory = t->op_mem;
    }
    return dnnl_primitive_execute(t->reorder, g_stream, 2, args);
}

/* ptrs[i] is the caller buffer for slot i. With `reuse_shared`, the weights
 * and bias are not reordered again: the previous execution was of the same
 * entry (the next chunk of one call), so their blocked copies in the arena
 * are still in place (primitives do not write their inputs). Caller holds
 * g_lock and has grown the arena to e->arena_need. */
static dnnl_status_t entry_execute(conv_entry *e, void *const *ptrs,
                                   int reuse_shared) {
    dnnl_status_t st;
    dnnl_exec_arg_t args[MAX_SLOTS + 1];
    int nargs = 0;
    double t0 = 0.0, t1 = 0.0;
    double reorder_ms = 0.0;

    for (int i = 0; i < e->nslots; ++i) {
        tensor_slot *t = &e->slots[i];
        st = dnnl_memory_set_data_handle(t->user_mem, ptrs[i]);
        if (st != dnnl_success) return st;
        if (t->op_mem != t->user_mem) {
            st = dnnl_memory_set_data_handle(t->op_mem, (char *)g_arena + t->arena_offset);
            if (st != dnnl_success) return st;
        }
    }
    if (e->scratch) {
        st = dnnl_memory_set_data_handle(e->scratch, (char *)g_arena + e->scratch_offset);
        if (st != dnnl_success) return st;
    }

    if (g_profiling) t0 = ipr_conv_now_ms();
    for (int i = 0; i < e->nslots; ++i) {
        tensor_slot *t = &e->slots[i];
        int shared = t->arg == DNNL_ARG_WEIGHTS || t->arg == DNNL_ARG_BIAS;
        if (!t->is_output && t->reorder && !(reuse_shared && shared)) {
            st = run_reorder(t);
            if (st != dnnl_success) return st;
        }
        args[nargs].arg = t->arg;
        args[nargs].memory = t->op_mem;
        ++nargs;
    }
    if (e->scratch) {
        args[nargs].arg = DNNL_ARG_SCRATCHPAD;
        args[nargs].memory = e->scratch;
        ++nargs;
    }
    if (g_profiling) {
        dnnl_stream_wait(g_stream);
        t1 = ipr_conv_now_ms();
        reorder_ms += t1 - t0;
        t0 = t1;
    }

    st = dnnl_primitive_execute(e->prim, g_stream, nargs, args);
    if (st != dnnl_success) return st;

    if (g_profiling) {
        dnnl_stream_wait(g_stream);
        t1 = ipr_conv_now_ms();
        g_prof_conv_ms += t1 - t0;
        t0 = t1;
    }

    for (int i = 0; i < e->nslots; ++i) {
        tensor_slot *t = &e->slots[i];
        if (t->is_output && t->reorder) {
            st = run_reorder(t);
            if (st != dnnl_success) return st;
        }
    }
    st = dnnl_stream_wait(g_stream);
    if (g_profiling) {
        reorder_ms += ipr_conv_now_ms() - t0;
        g_prof_reorder_ms += reorder_ms;
    }
    return st;
}

/* A batch of n samples split into `count` consecutive chunks: the first
 * `nbig` hold size + 1 samples, the others `size` (count == 1: whole batch).
 * Balanced sizes rather than full chunks plus a remainder: the same number of
 * calls, at most two primitive shapes, and no small last chunk that would
 * fall below MIN_CHUNK (and off Winograd). */
typedef struct {
    int count, size, nbig;
} chunk_plan;

static chunk_plan make_plan(int n, size_t count) {
    chunk_plan p;
    p.count = (int)count;
    p.size = (int)((size_t)n / count);
    p.nbig = (int)((size_t)n % count);
    return p;
}

/* Batch size of the first (largest) chunk. */
static int first_chunk(const chunk_plan *p) {
    return p->size + (p->nbig > 0);
}

/* Fewest chunks of n samples at `per_sample` bytes each that keep a chunk
 * within `limit` bytes, but chunks of >= MIN_CHUNK samples when n >= MIN_CHUNK
 * (then possibly over the limit). */
static size_t chunks_for(size_t n, size_t per_sample, size_t limit) {
    if (per_sample == 0 || per_sample <= limit / n) return 1;
    size_t max_chunk = limit / per_sample;
    if (n >= MIN_CHUNK && max_chunk < MIN_CHUNK) max_chunk = MIN_CHUNK;
    if (max_chunk < 1) max_chunk = 1;
    size_t count = (n + max_chunk - 1) / max_chunk;
    if (n >= MIN_CHUNK && count > n / MIN_CHUNK) count = n / MIN_CHUNK;
    return count < 1 ? 1 : count;
}

/* Looks up (or creates) the entries a plan runs: ent[0] for the chunks of
 * size + 1 (NULL if none), ent[1] for those of `size`. Caller holds g_lock. */
static dnnl_status_t plan_entries(const ipr_conv_shape *s, int pass, int algo,
                                  int has_bias, const chunk_plan *p,
                                  conv_entry *ent[2]) {
    dnnl_status_t st = dnnl_success;
    ent[0] = ent[1] = NULL;
    for (int k = 0; k < 2 && st == dnnl_success; ++k) {
        if (k == 0 && p->nbig == 0) continue; /* nbig < count: ent[1] always runs */
        ipr_conv_shape cs = *s;
        cs.n = p->size + (k == 0);
        st = entry_get(&cs, pass, algo, has_bias, &ent[k]);
    }
    return st;
}

/* Decides how a call runs and finds its entries. First by activation size:
 * the larger of src and dst against the budget. Then by the arena need of the
 * primitive itself, because oneDNN's scratchpad can dwarf the activations
 * (Winograd on deep layers with small H x W keeps 6x6 transformed tiles per
 * 4x4 outputs, over all channels and samples). Only the part of that need
 * which grows with the batch can be reduced by chunking (per-thread weight
 * buffers and blocked weights cannot), so when the first chunk's entry needs
 * more than ARENA_FACTOR x budget, an entry for half that chunk is probed, the
 * per-sample need is taken from the difference, and chunks are made small
 * enough for it to stay within ARENA_FACTOR x budget (never below MIN_CHUNK
 * when N >= MIN_CHUNK). Probed entries stay cached but never run, so they
 * take no arena. Deterministic for a given shape, algorithm and budget. */
#define ARENA_FACTOR 4
static dnnl_status_t resolve_plan(const ipr_conv_shape *s, int pass, int algo,
                                  int has_bias, chunk_plan *plan,
                                  conv_entry *ent[2]) {
    size_t n = (size_t)s->n;
    size_t count = 1;
    if (g_chunk_budget > 0) {
        size_t oh = (size_t)out_dim(s->h, s->kh, s->stride_h, s->pad_h);
        size_t ow = (size_t)out_dim(s->w, s->kw, s->stride_w, s->pad_w);
        size_t in = (size_t)s->c * (size_t)s->h * (size_t)s->w;
        size_t out = (size_t)s->oc * oh * ow;
        count = chunks_for(n, (in > out ? in : out) * sizeof(float), g_chunk_budget);
    }
    *plan = make_plan(s->n, count);
    dnnl_status_t st = plan_entries(s, pass, algo, has_bias, plan, ent);
    if (st != dnnl_success || g_chunk_budget == 0) return st;

    size_t limit = g_chunk_budget > SIZE_MAX / ARENA_FACTOR
                       ? SIZE_MAX : g_chunk_budget * ARENA_FACTOR;
    conv_entry *first = ent[0] ? ent[0] : ent[1];
    size_t chunk = (size_t)first_chunk(plan);
    if (first->arena_need <= limit) return st;
    size_t half = chunk / 2;
    if (n >= MIN_CHUNK && half < MIN_CHUNK) half = MIN_CHUNK;
    if (half < 1 || half >= chunk) return st; /* cannot get smaller */
    ipr_conv_shape hs = *s;
    hs.n = (int)half;
    conv_entry *probe = NULL;
    st = entry_get(&hs, pass, algo, has_bias, &probe);
    if (st != dnnl_success) return st;
    if (probe->arena_need >= first->arena_need) return st; /* nothing to gain */
    size_t per_sample = (first->arena_need - probe->arena_need + (chunk - half) - 1)
                        / (chunk - half);
    size_t more = chunks_for(n, per_sample, limit);
    if (more <= count) return st;
    *plan = make_plan(s->n, more);
    return plan_entries(s, pass, algo, has_bias, plan, ent);
}

/* ptrs[i] is the caller buffer for slot i (entry_create's order); per_sample[i]
 * its floats per sample, 0 for tensors not indexed by sample (weights, bias,
 * and the weight / bias gradients, which sum over samples). */
int ipr_conv_run_locked(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                        void *const *ptrs, const size_t *per_sample, int nptrs) {
    chunk_plan plan;
    conv_entry *ent[2] = {NULL, NULL};
    dnnl_status_t st = resolve_plan(s, pass, algo, has_bias, &plan, ent);
    if (st == dnnl_success) {
        size_t need = ent[1]->arena_need;
        if (ent[0] && ent[0]->arena_need > need) need = ent[0]->arena_need;
        st = ensure_arena(need);
    }

    /* Backward weights: chunk 0 writes the caller's gradients, later chunks
     * write partial sums to g_accum (diff_weight, then diff_bias) and add. */
    size_t nw = (size_t)s->oc * (size_t)s->c * (size_t)s->kh * (size_t)s->kw;
    size_t nb = has_bias ? (size_t)s->oc : 0;
    int accumulate = st == dnnl_success && pass == PASS_BWD_WEIGHTS && plan.count > 1;
    if (accumulate) st = ensure_accum(nw + nb);

    conv_entry *prev = NULL;
    size_t offset = 0; /* first sample of the chunk */
    for (int i = 0; i < plan.count && st == dnnl_success; ++i) {
        int big = i < plan.nbig;
        conv_entry *e = ent[big ? 0 : 1];
        void *cp[MAX_SLOTS];
        for (int j = 0; j < nptrs; ++j)
            cp[j] = per_sample[j] ? (void *)((float *)ptrs[j] + offset * per_sample[j])
                                  : ptrs[j];
        if (accumulate && i > 0) {
            cp[2] = g_accum;
            if (has_bias) cp[3] = g_accum + nw;
        }
        st = entry_execute(e, cp, e == prev);
        if (st == dnnl_success && accumulate && i > 0) {
            double t0 = g_profiling ? ipr_conv_now_ms() : 0.0;
            float *dw = (float *)ptrs[2];
            for (size_t k = 0; k < nw; ++k) dw[k] += g_accum[k];
            if (has_bias) {
                float *db = (float *)ptrs[3];
                for (size_t k = 0; k < nb; ++k) db[k] += g_accum[nw + k];
            }
            if (g_profiling) g_prof_reorder_ms += ipr_conv_now_ms() - t0;
        }
        prev = e;
        offset += (size_t)(plan.size + big);
    }
    return (int)st;
}

/* The algorithm a call runs: its own, else the process default. */
static int algorithm_of(const ipr_conv_shape *s) {
    return s->algorithm != IPR_CONV_DEFAULT ? s->algorithm : default_algorithm_locked();
}

/* A call's concrete algorithm for planning and naming: the rule's decision;
 * a measured call's kept one, or before a first call decided, oneDNN's choice. */
static int concrete_algorithm(const ipr_conv_shape *s, int pass, int has_bias) {
    int algo = algorithm_of(s);
    if (algo == IPR_CONV_RULE) return ipr_conv_rule_decide_locked(s, pass, has_bias);
    if (algo != IPR_CONV_MEASURED) return algo;
    int decided = ipr_conv_measured_decided_locked(s, pass, has_bias);
    return decided >= 0 ? decided : IPR_CONV_AUTO;
}

static int run_pass(const ipr_conv_shape *s, int pass, int has_bias,
                    void *const *ptrs, const size_t *per_sample, int nptrs) {
    pthread_mutex_lock(&g_lock);
    int st = algorithm_of(s) == IPR_CONV_MEASURED
                 ? ipr_conv_measured_run_locked(s, pass, has_bias, ptrs, per_sample, nptrs)
                 : ipr_conv_run_locked(s, pass, concrete_algorithm(s, pass, has_bias), has_bias,
                                       ptrs, per_sample, nptrs);
    pthread_mutex_unlock(&g_lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Public API                                                                */

/* Floats per sample of the src-side (N x C x H x W) and dst-side
 * (N x OC x OH x OW) tensors. */
static size_t src_per_sample(const ipr_conv_shape *s) {
    return (size_t)s->c * (size_t)s->h * (size_t)s->w;
}

static size_t dst_per_sample(const ipr_conv_shape *s) {
    return (size_t)s->oc * (size_t)out_dim(s->h, s->kh, s->stride_h, s->pad_h)
           * (size_t)out_dim(s->w, s->kw, s->stride_w, s->pad_w);
}

int ipr_conv_forward(const ipr_conv_shape *s, const float *src,
                     const float *weight, const float *bias, float *dst) {
    if (!shape_valid(s) || !src || !weight || !dst) return dnnl_invalid_arguments;
    void *ptrs[4];
    size_t per[4];
    int k = 0;
    ptrs[k] = (void *)src;    per[k++] = src_per_sample(s);
    ptrs[k] = (void *)weight; per[k++] = 0;
    if (bias) { ptrs[k] = (void *)bias; per[k++] = 0; }
    ptrs[k] = dst;            per[k++] = dst_per_sample(s);
    return run_pass(s, PASS_FWD, bias != NULL, ptrs, per, k);
}

int ipr_conv_backward_data(const ipr_conv_shape *s, const float *diff_dst,
                           const float *weight, float *diff_src) {
    if (!shape_valid(s) || !diff_dst || !weight || !diff_src)
        return dnnl_invalid_arguments;
    void *ptrs[3] = {(void *)diff_dst, (void *)weight, diff_src};
    size_t per[3] = {dst_per_sample(s), 0, src_per_sample(s)};
    return run_pass(s, PASS_BWD_DATA, 0, ptrs, per, 3);
}

int ipr_conv_backward_weights(const ipr_conv_shape *s, const float *src,
                              const float *diff_dst, float *diff_weight,
                              float *diff_bias) {
    if (!shape_valid(s) || !src || !diff_dst || !diff_weight)
        return dnnl_invalid_arguments;
    void *ptrs[4] = {(void *)src, (void *)diff_dst, diff_weight, diff_bias};
    size_t per[4] = {src_per_sample(s), dst_per_sample(s), 0, 0};
    return run_pass(s, PASS_BWD_WEIGHTS, diff_bias != NULL, ptrs, per,
                    diff_bias ? 4 : 3);
}

int ipr_conv_set_algorithm(int algorithm) {
    if (algorithm < IPR_CONV_DIRECT || algorithm > IPR_CONV_RULE) return dnnl_invalid_arguments;
    pthread_mutex_lock(&g_lock);
    g_algorithm = algorithm;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

int ipr_conv_get_algorithm(void) {
    pthread_mutex_lock(&g_lock);
    int a = default_algorithm_locked();
    pthread_mutex_unlock(&g_lock);
    return a;
}

int ipr_conv_impl_locked(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                         char *buf, size_t size) {
    chunk_plan plan;
    conv_entry *ent[2] = {NULL, NULL};
    dnnl_status_t st = resolve_plan(s, pass, algo, has_bias, &plan, ent);
    if (st != dnnl_success) return st;
    const char *name = NULL;
    st = dnnl_primitive_desc_query(ent[0] ? ent[0]->pd : ent[1]->pd, dnnl_query_impl_info_str, 0, &name);
    if (st == dnnl_success && !name) st = dnnl_runtime_error;
    if (st == dnnl_success) snprintf(buf, size, "%s", name);
    return st;
}

/* With or without bias, whichever was run on this shape and pass already
 * (else with, except for backward data, which has none). Caller holds g_lock. */
static int bias_seen(const ipr_conv_shape *s, int pass, int algo) {
    if (pass == PASS_BWD_DATA) return 0;
    int key[KEY_LEN];
    for (int hb = 0; hb < 2; ++hb) {
        ipr_conv_make_key(s, pass, algo, hb, key);
        for (int i = 0; i < g_cache_count; ++i)
            if (memcmp(g_cache[i]->key, key, sizeof(key)) == 0) return hb;
    }
    return 1;
}

const char *ipr_conv_impl_name(const ipr_conv_shape *s, int pass) {
    static _Thread_local char buf[256];
    if (!shape_valid(s) || pass < 0 || pass > 2) return NULL;
    pthread_mutex_lock(&g_lock);
    int measured = algorithm_of(s) == IPR_CONV_MEASURED;
    /* A measured shape's bias variant is the one it decided for, if any. */
    int has_bias = -1;
    for (int hb = 0; measured && hb < 2 && has_bias < 0; ++hb)
        if (ipr_conv_measured_decided_locked(s, pass, hb) >= 0) has_bias = hb;
    if (has_bias < 0) {
        int algo = algorithm_of(s);
        if (algo == IPR_CONV_MEASURED) algo = IPR_CONV_AUTO;
        if (algo == IPR_CONV_RULE) algo = ipr_conv_rule_decide_locked(s, pass, 1);
        has_bias = bias_seen(s, pass, algo);
    }
    int algo = concrete_algorithm(s, pass, has_bias);
    int st = ipr_conv_impl_locked(s, pass, algo, has_bias, buf, sizeof(buf));
    pthread_mutex_unlock(&g_lock);
    return st == dnnl_success ? buf : NULL;
}

int ipr_conv_rule_choice(const ipr_conv_shape *s, int pass, int has_bias) {
    if (!shape_valid(s) || pass < 0 || pass > 2) return -1;
    pthread_mutex_lock(&g_lock);
    int algo = ipr_conv_rule_decide_locked(s, pass, has_bias != 0);
    pthread_mutex_unlock(&g_lock);
    return algo;
}

unsigned long long ipr_conv_timed_runs(void) {
    pthread_mutex_lock(&g_lock);
    unsigned long long n = ipr_conv_timed_runs_locked();
    pthread_mutex_unlock(&g_lock);
    return n;
}

int ipr_conv_measured_use_file(const char *path) {
    pthread_mutex_lock(&g_lock);
    int st = ipr_conv_measured_use_file_locked(path);
    pthread_mutex_unlock(&g_lock);
    return st;
}

int ipr_conv_measured_choice(const ipr_conv_shape *s, int pass, int has_bias) {
    if (!shape_valid(s) || pass < 0 || pass > 2) return -1;
    pthread_mutex_lock(&g_lock);
    int algo = ipr_conv_measured_decided_locked(s, pass, has_bias != 0);
    pthread_mutex_unlock(&g_lock);
    return algo;
}

int ipr_conv_chunk_plan(const ipr_conv_shape *s, int pass, int *count, int *largest, int *smallest) {
    if (!shape_valid(s) || pass < 0 || pass > 2) return dnnl_invalid_arguments;
    pthread_mutex_lock(&g_lock);
    int has_bias = pass != PASS_BWD_DATA;
    chunk_plan plan;
    conv_entry *ent[2] = {NULL, NULL};
    dnnl_status_t st = resolve_plan(s, pass, concrete_algorithm(s, pass, has_bias), has_bias, &plan, ent);
    pthread_mutex_unlock(&g_lock);
    if (st != dnnl_success) return st;
    if (count) *count = plan.count;
    if (largest) *largest = first_chunk(&plan);
    if (smallest) *smallest = plan.size;
    return 0;
}

unsigned long long ipr_conv_primitives_created(void) {
    pthread_mutex_lock(&g_lock);
    unsigned long long n = g_created;
    pthread_mutex_unlock(&g_lock);
    return n;
}

void ipr_conv_set_profiling(int enable) {
    pthread_mutex_lock(&g_lock);
    g_profiling = enable != 0;
    pthread_mutex_unlock(&g_lock);
}

void ipr_conv_get_profile(double *reorder_ms, double *conv_ms) {
    pthread_mutex_lock(&g_lock);
    if (reorder_ms) *reorder_ms = g_prof_reorder_ms;
    if (conv_ms) *conv_ms = g_prof_conv_ms;
    g_prof_reorder_ms = 0.0;
    g_prof_conv_ms = 0.0;
    pthread_mutex_unlock(&g_lock);
}

void ipr_conv_set_chunk_budget(size_t bytes) {
    pthread_mutex_lock(&g_lock);
    if (bytes != g_chunk_budget) {
        g_chunk_budget = bytes;
        /* Calls now run other chunk shapes; let the arena be sized for them
         * (it is allocated again, at its new size, by the next call). */
        release_arena();
    }
    pthread_mutex_unlock(&g_lock);
}

size_t ipr_conv_get_chunk_budget(void) {
    pthread_mutex_lock(&g_lock);
    size_t b = g_chunk_budget;
    pthread_mutex_unlock(&g_lock);
    return b;
}

void ipr_conv_clear_cache(void) {
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_cache_count; ++i) entry_destroy(g_cache[i]);
    g_cache_count = 0;
    release_arena();
    free(g_accum);
    g_accum = NULL;
    g_accum_floats = 0;
    ipr_conv_measured_forget_locked();
    ipr_conv_rule_forget_locked();
    pthread_mutex_unlock(&g_lock);
}
