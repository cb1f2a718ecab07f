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
 * one internal arena (sized to the largest need, grown only when a new shape
 * needs more). Every call is serialised by one internal mutex (one engine, one
 * stream); oneDNN itself parallelises each call with OpenMP (OMP_NUM_THREADS,
 * default = number of cores).
 *
 * Functions returning int return 0 on success and a nonzero dnnl_status_t
 * value otherwise (2 = dnnl_invalid_arguments for bad shapes/pointers).
 */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int n, c, h, w, oc, kh, kw, stride_h, stride_w, pad_h, pad_w;
    /* 0 = direct, 1 = auto, -1 = the process default (ipr_conv_set_algorithm). Per call, so
     * callers that need a specific algorithm (tests, benchmarks) never race on the default. */
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

/* 0 = direct, 1 = auto (oneDNN may pick Winograd: 3x3 stride 1, batch >= 16).
 * Default: 1 (auto) - faster on 3x3 layers and within 1e-5 relative error.
 * Applies to subsequent calls in all threads. Returns 0, or 2 for other values. */
int ipr_conv_set_algorithm(int algorithm);

/* Currently selected algorithm (0 or 1). */
int ipr_conv_get_algorithm(void);

/* oneDNN's impl_info_str of the primitive that the current algorithm selects
 * for this shape (pass 0 = forward, 1 = backward data, 2 = backward weights),
 * e.g. "jit:avx512_core". Creates (and caches) the primitive if needed.
 * The string lives in a per-thread buffer, valid until the next call of this
 * function on the same thread. Returns NULL on error. */
const char *ipr_conv_impl_name(const ipr_conv_shape *s, int pass);

/* Benchmark aid. When enabled (nonzero), each call accumulates the wall time
 * spent in layout reorders and in the convolution primitive itself. */
void ipr_conv_set_profiling(int enable);

/* Reads the accumulated times (milliseconds) and resets them. Either pointer
 * may be NULL. */
void ipr_conv_get_profile(double *reorder_ms, double *conv_ms);

/* Destroys every cached primitive and buffer (engine and stream stay). */
void ipr_conv_clear_cache(void);

#ifdef __cplusplus
}
#endif

#endif /* IPR_CONV_DNNL_H */
