#ifndef IPR_CONV_DNNL_H
#define IPR_CONV_DNNL_H

/*
 * 2-D float32 convolution on the CPU through oneDNN 2.x (libdnnl).
 *
 * All tensors are plain, contiguous, caller-owned buffers:
 *   src / diff_src  : N x C  x H  x W   (NCHW)
 *   dst / diff_dst  : N x OC x OH x OW  (NCHW)
 *   weight          : OC x C x KH x KW  (OIHW)
 *   bias            : OC
 * OH = (h + 2*pad_h - kh)/stride_h + 1, OW = (w + 2*pad_w - kw)/stride_w + 1.
 *
 * Internally oneDNN picks its own (blocked) layouts; the calls reorder from and
 * to the plain layouts around each primitive. Primitives and reorders are
 * cached per (shape, pass, algorithm, bias) so repeated calls on the same shape
 * create nothing; the blocked copies and oneDNN scratchpads of all shapes share
 * one internal arena (sized to the largest need of the calls run so far). Every
 * call is serialised by one internal mutex (one engine, one stream); oneDNN
 * itself parallelises each call with OpenMP (OMP_NUM_THREADS, default = number
 * of cores).
 *
 * Large batches are processed in chunks of samples (ipr_conv_set_chunk_budget),
 * so the arena scales with the chunk rather than with the batch. Forward and
 * backward data run each chunk on its slice of the batch; backward weights
 * sums the chunks' gradients (results equal the whole-batch call within float
 * rounding).
 *
 * Functions returning int return 0 on success and a nonzero dnnl_status_t
 * value otherwise (2 = dnnl_invalid_arguments for bad shapes/pointers).
 */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default of ipr_conv_set_chunk_budget: 16 MiB. */
#define IPR_CONV_DEFAULT_CHUNK_BUDGET 16777216

/* Convolution algorithms (ipr_conv_shape.algorithm, ipr_conv_set_algorithm). */
enum {
    IPR_CONV_DEFAULT = -1,  /* the process default (ipr_conv_set_algorithm) */
    IPR_CONV_DIRECT = 0,    /* oneDNN's direct kernels */
    IPR_CONV_AUTO = 1,      /* oneDNN's own choice: Winograd or direct, by its heuristics */
    IPR_CONV_MEASURED = 2,  /* per shape and pass, the faster of oneDNN's choice and the other
                             * algorithm, timed on this CPU (below); opt-in: not reproducible */
    IPR_CONV_WINOGRAD = 3,  /* Winograd F(4,3); calls fail (nonzero) where oneDNN has none */
    IPR_CONV_RULE = 4       /* the default: per shape and pass, a fixed rule of the shape and of
                             * what this CPU's oneDNN can run (ipr_conv_rule); never timed */
};

typedef struct {
    int n, c, h, w, oc, kh, kw, stride_h, stride_w, pad_h, pad_w;
    /* One of the IPR_CONV_* algorithms. Per call, so callers that need a specific algorithm
     * (tests, benchmarks) never race on the process default. */
    int algorithm;
} ipr_conv_shape;

/* dst = conv(src, weight) (+ bias). bias may be NULL. */
int ipr_conv_forward(const ipr_conv_shape *s, const float *src,
                     const float *weight, const float *bias, float *dst);

/* diff_src = conv_transpose(diff_dst, weight). Overwrites diff_src. */
int ipr_conv_backward_data(const ipr_conv_shape *s, const float *diff_dst,
                           const float *weight, float *diff_src);

/* diff_weight = dL/dW, diff_bias = sum of diff_dst over N, OH, OW (may be NULL).
 * Overwrites (does not accumulate into) both outputs. */
int ipr_conv_backward_weights(const ipr_conv_shape *s, const float *src,
                              const float *diff_dst, float *diff_weight,
                              float *diff_bias);

/* The process default algorithm, IPR_CONV_DIRECT ... IPR_CONV_RULE. Default: IPR_CONV_RULE, or
 * what the environment variable IPR_CONV_ALGORITHM names (ipr_conv_algorithm_named), read at
 * the first call. Applies to subsequent calls in all threads. Returns 0, or 2 for other values.
 *
 * Rule (the default): the same shape, pass and CPU always run the same algorithm, so a seeded run
 * gives the same bytes however busy the machine is. oneDNN's own choice, corrected where it was
 * measured to lose (ipr_conv_rule).
 *
 * Measured (opt-in; trades reproducibility for speed on CPUs nobody measured): the first call of
 * a shape, pass and bias (with or without) times oneDNN's own choice against the one other
 * algorithm it could run there (direct when auto picked Winograd; Winograd, where oneDNN has one,
 * when auto picked direct): each once to warm up, then once timed, on the caller's buffers,
 * including the layout reorders and the batch chunking of each. The other algorithm is kept only
 * when it is faster by more than IPR_CONV_MEASURED_MARGIN; later calls run the kept one without
 * timing. A call's results are always those of the algorithm kept. Shapes where oneDNN has one
 * implementation (not 3x3 stride 1) are never timed. Timings change with the machine's load, so
 * two runs may keep different algorithms and give different weights: with IPR_CONV_CHOICES=FILE
 * the choices are read from FILE when it exists and every new one is appended to it, so a second
 * run with the same FILE repeats the first exactly (ipr_conv_measured_use_file). */
int ipr_conv_set_algorithm(int algorithm);

/* Currently selected process default algorithm. */
int ipr_conv_get_algorithm(void);

/* The algorithm an IPR_CONV_* name stands for ("rule", "measured", "auto", "direct",
 * "winograd"), or -1 for another name. */
int ipr_conv_algorithm_named(const char *name);

/* Input channels below which the rule runs a forward convolution direct (and backward weights
 * never as Winograd). */
#define IPR_CONV_RULE_MIN_WINOGRAD_CHANNELS 16

/* The rule, a pure function: the concrete algorithm (IPR_CONV_DIRECT, IPR_CONV_AUTO or
 * IPR_CONV_WINOGRAD) a rule call of this shape and pass (0 forward, 1 backward data, 2 backward
 * weights) runs, given whether oneDNN can make a Winograd primitive for it on this CPU:
 * forward with fewer than IPR_CONV_RULE_MIN_WINOGRAD_CHANNELS input channels: direct; backward
 * weights of a 3x3 stride-1 layer with that many channels, >= 16 samples and Winograd
 * available: Winograd; everything else: auto (oneDNN's heuristic of shape and ISA). -1 for a
 * NULL shape. Derived from `iprbench convalgo` (conv_rule.c says which measurements). */
int ipr_conv_rule(const ipr_conv_shape *s, int pass, int winograd_available);

/* The concrete algorithm a rule call of this shape and pass runs on this CPU. -1 for bad
 * arguments. */
int ipr_conv_rule_choice(const ipr_conv_shape *s, int pass, int has_bias);

/* How many convolution runs were timed to choose an algorithm since the process started: only
 * the measured algorithm times anything, so a run of the default algorithm leaves it unchanged. */
unsigned long long ipr_conv_timed_runs(void);

/* Measured choices from and to a file: reads the choices FILE holds (when it exists; lines of
 * 14 integers "n c h w oc kh kw stride_h stride_w pad_h pad_w pass has_bias algorithm", '#'
 * comments), then appends every new choice to it, so that a later run reading it repeats them.
 * NULL stops appending. Returns 0, 2 for a malformed file (nothing read), or an errno value when
 * the file can be neither read nor created. IPR_CONV_CHOICES=FILE in the environment does this
 * at the first measured call. */
int ipr_conv_measured_use_file(const char *path);

/* The other algorithm must be faster than oneDNN's choice by this factor to be kept. */
#define IPR_CONV_MEASURED_MARGIN 1.2

/* The measured rule: nonzero when the alternative's time beats the preferred one's by more
 * than IPR_CONV_MEASURED_MARGIN. */
int ipr_conv_measured_prefers_alternative(double preferred_ms, double alternative_ms);

/* The algorithm a measured call of this shape and pass runs: IPR_CONV_DIRECT, IPR_CONV_AUTO or
 * IPR_CONV_WINOGRAD once decided (by a first call), -1 before (and for bad arguments).
 * has_bias: whether the calls pass a bias (forward) or a bias gradient (backward weights). */
int ipr_conv_measured_choice(const ipr_conv_shape *s, int pass, int has_bias);

/* How a call of this shape and pass is split into batch chunks under the current budget and
 * algorithm (a measured shape not yet decided: as oneDNN's choice): the number of chunks and
 * the sizes of the largest and smallest, which differ by at most one. Returns 0, or nonzero
 * for bad arguments or when a primitive cannot be created. */
int ipr_conv_chunk_plan(const ipr_conv_shape *s, int pass, int *count, int *largest, int *smallest);

/* Primitives created since the process started (cache misses): a call on a shape already run
 * creates none. */
unsigned long long ipr_conv_primitives_created(void);

/* Batch chunking, to bound the internal memory (blocked copies of the
 * tensors plus oneDNN's scratchpad) by the budget rather than by the batch.
 * A call runs in consecutive chunks of samples when
 *   - its larger activation tensor, N x max(C*H*W, OC*OH*OW) x 4 bytes, exceeds
 *     `bytes`: as few chunks as keep each within the budget; or
 *   - its primitive's blocked copies and scratchpad exceed 4 x `bytes` (Winograd
 *     on deep layers with small H x W: 87 MB of scratchpad for ResNet-18's
 *     256->256 8x8 layer at batch 256): as few chunks as keep the part of that
 *     need which grows with the batch within 4 x `bytes`, as measured on the
 *     primitives of the chunk and of half of it. The batch-independent part
 *     (blocked/transformed weights, per-thread buffers) is not split.
 * Chunk sizes are balanced (they differ by at most one sample: at most two
 * primitive shapes per layer) and never below 16 samples when N >= 16, because
 * oneDNN selects Winograd only for batch >= 16. Other calls run whole.
 *
 * Default IPR_CONV_DEFAULT_CHUNK_BUDGET (16 MiB). ResNet-18 (CIFAR) at batch
 * 256: the 32x32 64-channel layers run as 4 chunks of 64, the 128-channel 16x16
 * ones as 2 x 128, the 256->256 8x8 ones as 2 x 128, the stem as 5 x ~51; at
 * batch 64 only the stem's forward is split (2 x 32), and AlexNet-CIFAR at
 * batch 64 runs whole. Measured within ~3% of the whole-batch time per layer
 * (2 threads), the same over all ResNet-18 convolutions within noise.
 * 0 = never chunk. Process-wide, applies to subsequent calls in all threads;
 * changing it releases the internal arena (the next call allocates what it
 * needs). */
void ipr_conv_set_chunk_budget(size_t bytes);

/* Current chunk budget in bytes (0 = never chunk). */
size_t ipr_conv_get_chunk_budget(void);

/* oneDNN's impl_info_str of the primitive that the current algorithm selects
 * for this shape (pass 0 = forward, 1 = backward data, 2 = backward weights),
 * e.g. "jit:avx512_core". For a shape that is run in chunks, the primitive of
 * its first (largest) chunk; for the measured algorithm, the one kept (before
 * the first call decides, oneDNN's choice). Creates (and caches) the primitive if needed.
 * The string lives in a per-thread buffer, valid until the next call of this
 * function on the same thread. Returns NULL on error. */
const char *ipr_conv_impl_name(const ipr_conv_shape *s, int pass);

/* Benchmark aid. When enabled (nonzero), each call accumulates the wall time
 * spent in layout reorders (with the summing of backward-weights chunks) and in
 * the convolution primitive itself. */
void ipr_conv_set_profiling(int enable);

/* Reads the accumulated times (milliseconds) and resets them. Either pointer
 * may be NULL. */
void ipr_conv_get_profile(double *reorder_ms, double *conv_ms);

/* Destroys every cached primitive and buffer and forgets the measured choices and the rule's
 * decisions (engine and stream stay). */
void ipr_conv_clear_cache(void);

#ifdef __cplusplus
}
#endif

#endif /* IPR_CONV_DNNL_H */
