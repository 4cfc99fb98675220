/* tg_rowwise.h -- row-wise softmax / log_softmax / cross-entropy (csrc/rowwise.c). Included by tg_kernels.h.
 *
 * Every kernel works on a C-contiguous (rows x cols) array: the reduction runs
 * over the last dimension, rows = product of the leading dimensions. rows or
 * cols <= 0 does nothing. Rows are split over tg_get_num_threads() threads
 * when rows * cols >= the thresholds below (whole rows per thread, so results
 * do not depend on the thread count). SIMD level from tg_simd_level().
 *
 *   softmax      y = e^(x - m) / sum_j e^(x_j - m),   m = max_j x_j
 *   log_softmax  y = (x - m) - log(sum_j e^(x_j - m))
 *       three passes per row (max; exp-and-sum; scale). A row holding +inf,
 *       NaN, or only -inf gives NaN everywhere (as torch); -inf entries of a
 *       row with a finite maximum give 0 / -inf.
 *   softmax_backward(y, gout)      gin = (gout - sum_j gout_j * y_j) * y   (y: softmax output)
 *   log_softmax_backward(y, gout)  gin = gout - e^y * sum_j gout_j         (y: log_softmax output)
 *       in-place allowed (y or x may be the same buffer as the output; no partial overlap).
 *
 * Cross-entropy over logits (n x c) and int64 class indices target (n),
 * with torch's F.cross_entropy semantics: weight (c, or NULL for all ones),
 * ignore_index, label_smoothing eps in [0, 1], reduction TG_REDUCTION_*.
 *   nll_i    = -w[t_i] * lp[i, t_i]                  (lp = log_softmax(logits))
 *   smooth_i = -sum_j w[j] * lp[i, j]                (only when eps > 0)
 *   none:  loss_i = (1 - eps) * nll_i + smooth_i * eps / c   (0 for ignored rows)
 *   sum:   (1 - eps) * sum nll + sum smooth * eps / c
 *   mean:  (1 - eps) * (sum nll / W) + (sum smooth / W) * eps / c,
 *          W = sum of w[t_i] over the rows not ignored (0/0 = NaN when all are)
 * loss: n elements for TG_REDUCTION_NONE, else 1. lse (n, always float64):
 * per-row logsumexp, for the backward (float64 so that a float32 row with
 * logits of 1e4 still rebuilds its softmax to float32 accuracy).
 * Returns 0; -1 when a target that is not ignore_index lies outside [0, c)
 * (*bad_row = its row; nothing written); -2 when scratch memory ran out.
 *
 * cross_entropy_backward: grad_logits (n x c) from the saved lse, in one pass
 * per row (softmax recomputed as e^(x - lse)). grad_loss: 1 element (mean,
 * sum) or n (none). Same return codes. Rows with an ignored target get
 * 0 - p * 0 (0, or NaN where the softmax is NaN, as torch's autograd).
 */
#ifndef TG_ROWWISE_H
#define TG_ROWWISE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_REDUCTION_NONE 0
#define TG_REDUCTION_MEAN 1
#define TG_REDUCTION_SUM 2

/* Parallel thresholds (elements of the rows x cols array). */
#define TG_ROWWISE_PAR_MIN_EXP ((int64_t)16384)      /* kernels with an exp per element */
#define TG_ROWWISE_PAR_MIN_MEMBOUND ((int64_t)32768) /* softmax_backward */

void tg_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols);
void tg_softmax_f64(const double *x, double *y, int64_t rows, int64_t cols);
void tg_log_softmax_f32(const float *x, float *y, int64_t rows, int64_t cols);
void tg_log_softmax_f64(const double *x, double *y, int64_t rows, int64_t cols);

void tg_softmax_backward_f32(const float *y, const float *gout, float *gin, int64_t rows, int64_t cols);
void tg_softmax_backward_f64(const double *y, const double *gout, double *gin, int64_t rows, int64_t cols);
void tg_log_softmax_backward_f32(const float *y, const float *gout, float *gin, int64_t rows, int64_t cols);
void tg_log_softmax_backward_f64(const double *y, const double *gout, double *gin, int64_t rows, int64_t cols);

int tg_cross_entropy_f32(const float *logits, const int64_t *target, const float *weight, int64_t n, int64_t c,
                         int64_t ignore_index, double label_smoothing, int reduction, float *loss, double *lse,
                         int64_t *bad_row);
int tg_cross_entropy_f64(const double *logits, const int64_t *target, const double *weight, int64_t n, int64_t c,
                         int64_t ignore_index, double label_smoothing, int reduction, double *loss, double *lse,
                         int64_t *bad_row);

int tg_cross_entropy_backward_f32(const float *logits, const int64_t *target, const double *lse,
                                  const float *grad_loss, const float *weight, int64_t n, int64_t c,
                                  int64_t ignore_index, double label_smoothing, int reduction, float *grad_logits,
                                  int64_t *bad_row);
int tg_cross_entropy_backward_f64(const double *logits, const int64_t *target, const double *lse,
                                  const double *grad_loss, const double *weight, int64_t n, int64_t c,
                                  int64_t ignore_index, double label_smoothing, int reduction, double *grad_logits,
                                  int64_t *bad_row);

#ifdef __cplusplus
}
#endif

#endif /* TG_ROWWISE_H */
