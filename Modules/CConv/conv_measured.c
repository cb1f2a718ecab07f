/*
 * The measured algorithm (IPR_CONV_MEASURED, opt-in; contract in
 * include/conv_dnnl.h). Not the default: its choices follow timings, so under
 * load two runs may choose differently and train different weights
 * (conv_rule.c is the default). A choices file makes a measured run repeatable.
 *
 * Why measure: oneDNN's "auto" picks Winograd or direct by heuristics tuned
 * per CPU family, and they lose on some CPUs. On a 2-core AMD EPYC (Zen 5)
 * auto runs ResNet-18's 3->64 stem forward as Winograd, 3.4x slower than
 * direct, and gives up Winograd for backward weights at 16-sample chunks,
 * which Intel keeps. Timing the two candidates once per shape costs a few
 * extra runs of each first call and nothing after.
 *
 * Why the margin: a run must repeat its own choices, so the results of a
 * seeded run do not depend on timing noise. oneDNN's choice is kept unless
 * the other algorithm is clearly faster; where the two are close, noise
 * cannot flip the choice.
 */
#include "conv_internal.h"

#include <dnnl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Choices are small; a network has a few dozen (shape, pass) pairs. When
 * full, the oldest choice is forgotten (and measured again if it recurs). */
#define CHOICE_CAPACITY 512

typedef struct {
    int key[KEY_LEN]; /* algorithm field: IPR_CONV_MEASURED */
    int algo;         /* IPR_CONV_DIRECT, IPR_CONV_AUTO or IPR_CONV_WINOGRAD */
} measured_choice;

static measured_choice g_choices[CHOICE_CAPACITY];
static int g_choice_count = 0, g_choice_next = 0;
static unsigned long long g_timed_runs = 0;

/* Where new choices are appended (ipr_conv_measured_use_file), and whether
 * IPR_CONV_CHOICES was looked at yet. */
static char *g_choices_path = NULL;
static int g_environment_read = 0;

unsigned long long ipr_conv_timed_runs_locked(void) { return g_timed_runs; }

int ipr_conv_measured_prefers_alternative(double preferred_ms, double alternative_ms) {
    return alternative_ms * IPR_CONV_MEASURED_MARGIN < preferred_ms;
}

static const measured_choice *find_choice(const ipr_conv_shape *s, int pass, int has_bias) {
    int key[KEY_LEN];
    ipr_conv_make_key(s, pass, IPR_CONV_MEASURED, has_bias, key);
    for (int i = 0; i < g_choice_count; ++i)
        if (memcmp(g_choices[i].key, key, sizeof(key)) == 0) return &g_choices[i];
    return NULL;
}

static void remember(const ipr_conv_shape *s, int pass, int has_bias, int algo) {
    measured_choice *c = &g_choices[g_choice_next];
    ipr_conv_make_key(s, pass, IPR_CONV_MEASURED, has_bias, c->key);
    c->algo = algo;
    g_choice_next = (g_choice_next + 1) % CHOICE_CAPACITY;
    if (g_choice_count < CHOICE_CAPACITY) ++g_choice_count;
}

/* A line of a choices file: the key's 11 shape ints, pass, has_bias, algorithm. */
#define FILE_FIELDS 14

/* Appends a new choice to the choices file at once (flushed and closed), so
 * an interrupted run keeps every choice it made. */
static void append_choice(const ipr_conv_shape *s, int pass, int has_bias, int algo) {
    if (!g_choices_path) return;
    FILE *f = fopen(g_choices_path, "a");
    if (!f) return;
    fprintf(f, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d\n", s->n, s->c, s->h, s->w, s->oc,
            s->kh, s->kw, s->stride_h, s->stride_w, s->pad_h, s->pad_w, pass, has_bias, algo);
    fclose(f);
}

static int valid_choice(const int v[FILE_FIELDS]) {
    for (int i = 0; i < 9; ++i) if (v[i] <= 0) return 0;        /* n .. stride_w */
    if (v[9] < 0 || v[10] < 0) return 0;                         /* padding */
    if (v[11] < 0 || v[11] > 2 || (v[12] != 0 && v[12] != 1)) return 0;
    return v[13] == IPR_CONV_DIRECT || v[13] == IPR_CONV_AUTO || v[13] == IPR_CONV_WINOGRAD;
}

int ipr_conv_measured_use_file_locked(const char *path) {
    free(g_choices_path);
    g_choices_path = NULL;
    g_environment_read = 1;   /* an explicit call overrides the environment */
    if (!path) return 0;
    FILE *f = fopen(path, "r");
    if (f) {
        /* Parsed whole before any is kept: a malformed file changes nothing. */
        enum { MAX_LINES = CHOICE_CAPACITY };
        static int parsed[MAX_LINES][FILE_FIELDS];
        int count = 0, bad = 0;
        char line[512];
        while (!bad && fgets(line, sizeof(line), f)) {
            if (line[0] == '#' || line[0] == '\n') continue;
            int *v = parsed[count < MAX_LINES ? count : MAX_LINES - 1];
            char extra;
            int got = sscanf(line, "%d %d %d %d %d %d %d %d %d %d %d %d %d %d %c", &v[0], &v[1], &v[2], &v[3],
                             &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &extra);
            if (got != FILE_FIELDS || !valid_choice(v) || count == MAX_LINES) bad = 1;
            else ++count;
        }
        fclose(f);
        if (bad) return dnnl_invalid_arguments;
        for (int i = 0; i < count; ++i) {
            const int *v = parsed[i];
            ipr_conv_shape s = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], IPR_CONV_MEASURED};
            remember(&s, v[11], v[12], v[13]);
        }
    } else if (errno != ENOENT) {
        return errno;
    } else {
        FILE *created = fopen(path, "a");
        if (!created) return errno;
        fputs("# measured convolution choices: n c h w oc kh kw stride_h stride_w pad_h pad_w pass has_bias algorithm\n", created);
        fclose(created);
    }
    g_choices_path = strdup(path);
    return g_choices_path ? 0 : ENOMEM;
}

/* IPR_CONV_CHOICES=FILE, once, at the first measured call. */
static void read_environment(void) {
    if (g_environment_read) return;
    g_environment_read = 1;
    const char *path = getenv("IPR_CONV_CHOICES");
    if (path && *path) {
        int st = ipr_conv_measured_use_file_locked(path);
        if (st != 0)
            fprintf(stderr, "IPR_CONV_CHOICES=%s: %s; the measured choices are neither read nor kept\n", path,
                    st == dnnl_invalid_arguments ? "not a choices file (14 integers a line)" : strerror(st));
    }
}

/* The algorithm to time against auto, or -1 when there is none: direct when
 * auto's primitive is not direct's (auto picked Winograd), else Winograd where
 * oneDNN can make one. */
static int alternative_of(const ipr_conv_shape *s, int pass, int has_bias) {
    char a[256], d[256], w[256];
    if (ipr_conv_impl_locked(s, pass, IPR_CONV_AUTO, has_bias, a, sizeof(a)) != dnnl_success) return -1;
    if (ipr_conv_impl_locked(s, pass, IPR_CONV_DIRECT, has_bias, d, sizeof(d)) != dnnl_success) return -1;
    if (strcmp(a, d) != 0) return IPR_CONV_DIRECT;
    if (ipr_conv_impl_locked(s, pass, IPR_CONV_WINOGRAD, has_bias, w, sizeof(w)) != dnnl_success) return -1;
    return strcmp(w, a) != 0 ? IPR_CONV_WINOGRAD : -1;
}

int ipr_conv_measured_decided_locked(const ipr_conv_shape *s, int pass, int has_bias) {
    const measured_choice *c = find_choice(s, pass, has_bias);
    return c ? c->algo : -1;
}

/* One timed run; +infinity when the run fails, so a failing candidate loses. */
static double timed(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                    void *const *ptrs, const size_t *per, int nptrs, int *status) {
    ++g_timed_runs;
    double t0 = ipr_conv_now_ms();
    *status = ipr_conv_run_locked(s, pass, algo, has_bias, ptrs, per, nptrs);
    return *status == dnnl_success ? ipr_conv_now_ms() - t0 : __builtin_inf();
}

int ipr_conv_measured_run_locked(const ipr_conv_shape *s, int pass, int has_bias,
                                 void *const *ptrs, const size_t *per, int nptrs) {
    read_environment();
    const measured_choice *c = find_choice(s, pass, has_bias);
    if (c) return ipr_conv_run_locked(s, pass, c->algo, has_bias, ptrs, per, nptrs);
    int alt = alternative_of(s, pass, has_bias);
    if (alt < 0) {
        remember(s, pass, has_bias, IPR_CONV_AUTO);
        append_choice(s, pass, has_bias, IPR_CONV_AUTO);
        return ipr_conv_run_locked(s, pass, IPR_CONV_AUTO, has_bias, ptrs, per, nptrs);
    }
    /* Warm-up runs first: a first execution pays for page faults in buffers
     * that the arena or the caller has just grown. */
    int st_pref, st_alt;
    timed(s, pass, IPR_CONV_AUTO, has_bias, ptrs, per, nptrs, &st_pref);
    timed(s, pass, alt, has_bias, ptrs, per, nptrs, &st_alt);
    double pref_ms = timed(s, pass, IPR_CONV_AUTO, has_bias, ptrs, per, nptrs, &st_pref);
    double alt_ms = timed(s, pass, alt, has_bias, ptrs, per, nptrs, &st_alt);
    if (st_pref != dnnl_success && st_alt != dnnl_success) return st_pref;
    int keep = ipr_conv_measured_prefers_alternative(pref_ms, alt_ms) ? alt : IPR_CONV_AUTO;
    remember(s, pass, has_bias, keep);
    append_choice(s, pass, has_bias, keep);
    /* The caller's outputs hold the last run's results: the alternative's. */
    if (keep == alt) return dnnl_success;
    return ipr_conv_run_locked(s, pass, keep, has_bias, ptrs, per, nptrs);
}

void ipr_conv_measured_forget_locked(void) {
    g_choice_count = 0;
    g_choice_next = 0;
}
