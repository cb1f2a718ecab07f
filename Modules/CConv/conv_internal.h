/*
 * What conv_dnnl.c (primitives, cache, chunked execution) shares with
 * conv_rule.c and conv_measured.c (the algorithm choices). Every function here is
 * called with the convolution lock held.
 */
#ifndef IPR_CONV_INTERNAL_H
#define IPR_CONV_INTERNAL_H

#include "conv_dnnl.h"

#include <stddef.h>

enum { PASS_FWD = 0, PASS_BWD_DATA = 1, PASS_BWD_WEIGHTS = 2 };

/* Key of a shape's cache entry: 11 shape ints + pass + algorithm + has_bias. */
#define KEY_LEN 14
void ipr_conv_make_key(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                       int key[KEY_LEN]);

/* One pass of a whole call, chunked as planned, with a concrete algorithm
 * (direct, auto or Winograd). ptrs / per_sample as run_pass in conv_dnnl.c.
 * Returns a dnnl_status_t. */
int ipr_conv_run_locked(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                        void *const *ptrs, const size_t *per_sample, int nptrs);

/* oneDNN's implementation name of the primitive a call with a concrete
 * algorithm runs (its first chunk's), into buf. Returns a dnnl_status_t;
 * nonzero when no primitive can be made (e.g. Winograd on a 5x5 layer). */
int ipr_conv_impl_locked(const ipr_conv_shape *s, int pass, int algo, int has_bias,
                         char *buf, size_t size);

/* The algorithm measured calls of this shape run once a first call decided
 * (IPR_CONV_DIRECT, IPR_CONV_AUTO or IPR_CONV_WINOGRAD), or -1 before. */
int ipr_conv_measured_decided_locked(const ipr_conv_shape *s, int pass, int has_bias);

/* Runs a measured call: decides on its first call (timing both candidates on
 * the caller's buffers), then runs the kept algorithm. */
int ipr_conv_measured_run_locked(const ipr_conv_shape *s, int pass, int has_bias,
                                 void *const *ptrs, const size_t *per_sample, int nptrs);

/* Reads and then appends to a choices file (ipr_conv_measured_use_file). */
int ipr_conv_measured_use_file_locked(const char *path);

/* Runs timed to choose an algorithm so far (ipr_conv_timed_runs). */
unsigned long long ipr_conv_timed_runs_locked(void);

/* Forgets every measured choice (ipr_conv_clear_cache). */
void ipr_conv_measured_forget_locked(void);

/* The concrete algorithm (IPR_CONV_DIRECT, IPR_CONV_AUTO or IPR_CONV_WINOGRAD) a rule call of
 * this shape and pass runs: ipr_conv_rule, asking oneDNN whether it has a Winograd primitive
 * when the rule wants one; remembered. */
int ipr_conv_rule_decide_locked(const ipr_conv_shape *s, int pass, int has_bias);

/* Forgets the rule's decisions (ipr_conv_clear_cache). */
void ipr_conv_rule_forget_locked(void);

double ipr_conv_now_ms(void);

#endif /* IPR_CONV_INTERNAL_H */
