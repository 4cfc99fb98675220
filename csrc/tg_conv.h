/*
 * tg_conv.h -- 2-D convolution and max pooling kernels (csrc/im2col.c).
 *
 * Plain C over arrays, shapes and strides; no Python, no autograd. The
 * Cython bindings are tinygrad_cn/_C/_conv.pxi, the NumPy reference with the
 * same signatures tinygrad_cn/_C/ref_conv.py.
 *
 * Geometry: an input (N, C, H, W), a weight (O, C/groups, KH, KW), a stride
 * (SH, SW), top/left padding (PT, PL), a dilation (DH, DW) and the output
 * plane (OH, OW), which the caller computes (so bottom/right padding, and
 * pooling's ceil_mode, are implied by OH and OW). Input element
 * (n, c, h, w) is x[n*xs[0] + c*xs[1] + h*xs[2] + w*xs[3]] (strides in
 * elements); every other array is C-contiguous. Padding reads as zero.
 *
 * Convolution is im2col + our GEMM per sample: the columns of one sample,
 * (C*KH*KW, OH*OW), live in a per-thread buffer that stays in cache, and
 * W (O, C*KH*KW) @ columns lands directly in y[n] (O, OH*OW): no transposes.
 * Samples are split over tg_get_num_threads() threads (blocks of samples
 * handed out dynamically) when every GEMM is single-threaded anyway (small
 * per-sample products); otherwise samples run one after the other and each
 * GEMM splits itself. The weight gradient sums over samples in a fixed
 * number of blocks, added in block order: the same result on any number of
 * threads.
 *
 * Functions returning int give 0, or -1 when a buffer could not be allocated.
 */
#ifndef TG_CONV_H
#define TG_CONV_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int64_t n, c, h, w;   /* input */
    int64_t o, kh, kw;    /* weight (O, C/groups, KH, KW); pooling: o unused, (KH, KW) the window */
    int64_t sh, sw;       /* stride */
    int64_t pt, pl;       /* top and left padding */
    int64_t dh, dw;       /* dilation */
    int64_t oh, ow;       /* output plane */
    int64_t groups;       /* convolution groups (pooling: unused) */
} tg_conv2d_geom;

/* One sample: cols (C*KH*KW, OH*OW) from x (C, H, W) with strides
 * (sc, sh, sw) in elements; row (c, i, j) holds x[c, oh*SH - PT + i*DH,
 * ow*SW - PL + j*DW], zero outside the input. g->n is ignored. work is
 * scratch for one zero-padded sample: tg_conv_work_size(g) elements. */
void tg_im2col_f32(const float *x, int64_t sc, int64_t sh, int64_t sw, const tg_conv2d_geom *g, float *cols,
                   float *work);
void tg_im2col_f64(const double *x, int64_t sc, int64_t sh, int64_t sw, const tg_conv2d_geom *g, double *cols,
                   double *work);
/* The adjoint: adds every entry of cols into x (C, H, W), contiguous;
 * entries that fall in the padding are dropped. work as above. */
void tg_col2im_f32(const float *cols, const tg_conv2d_geom *g, float *x, float *work);
void tg_col2im_f64(const double *cols, const tg_conv2d_geom *g, double *x, double *work);
/* Elements of the work buffer of im2col/col2im. */
int64_t tg_conv_work_size(const tg_conv2d_geom *g);

/* y (N, O, OH, OW) = conv(x, w) (+ bias (O,) when not NULL). */
int tg_conv2d_forward_f32(const float *x, const int64_t xs[4], const float *w, const float *bias,
                          const tg_conv2d_geom *g, float *y);
int tg_conv2d_forward_f64(const double *x, const int64_t xs[4], const double *w, const double *bias,
                          const tg_conv2d_geom *g, double *y);
/* gx (N, C, H, W) = the adjoint of conv in x applied to gy (N, O, OH, OW). */
int tg_conv2d_backward_input_f32(const float *gy, const float *w, const tg_conv2d_geom *g, float *gx);
int tg_conv2d_backward_input_f64(const double *gy, const double *w, const tg_conv2d_geom *g, double *gx);
/* gw (O, C/groups, KH, KW) = the adjoint of conv in w applied to gy. */
int tg_conv2d_backward_weight_f32(const float *x, const int64_t xs[4], const float *gy, const tg_conv2d_geom *g,
                                  float *gw);
int tg_conv2d_backward_weight_f64(const double *x, const int64_t xs[4], const double *gy,
                                  const tg_conv2d_geom *g, double *gw);

/* gb (O,) = the sum over samples and positions of gy (N, O, L): the bias
 * gradient, accumulated in double. */
void tg_conv2d_backward_bias_f32(const float *gy, int64_t n, int64_t o, int64_t l, float *gb);
void tg_conv2d_backward_bias_f64(const double *gy, int64_t n, int64_t o, int64_t l, double *gb);

/* Max pooling: y (N, C, OH, OW) the maximum of each window (padding never
 * wins), idx (N, C, OH, OW) its flat position h*W + w in the input plane.
 * As torch: NaN wins (the last NaN of the window), ties go to the first
 * maximum in window order, a window of only -inf points at its first real
 * element. Every window must hold at least one real element. */
void tg_max_pool2d_f32(const float *x, const int64_t xs[4], const tg_conv2d_geom *g, float *y, int64_t *idx);
void tg_max_pool2d_f64(const double *x, const int64_t xs[4], const tg_conv2d_geom *g, double *y, int64_t *idx);
/* gx (planes, hw_in) = 0, then gx[p, idx[p, i]] += gy[p, i] for i < hw_out.
 * An index outside [0, hw_in) is skipped and makes the result -1 (else 0). */
int tg_max_pool2d_backward_f32(const float *gy, const int64_t *idx, int64_t planes, int64_t hw_in, int64_t hw_out,
                               float *gx);
int tg_max_pool2d_backward_f64(const double *gy, const int64_t *idx, int64_t planes, int64_t hw_in,
                               int64_t hw_out, double *gx);

#ifdef __cplusplus
}
#endif

#endif /* TG_CONV_H */
