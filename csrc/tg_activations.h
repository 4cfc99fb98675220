/* tg_activations.h -- element-wise activations and their fused backward
 * (csrc/activations.c). Included by tg_kernels.h.
 *
 * Contiguous input(s) of n elements, contiguous output of n elements; the
 * output may be the same buffer as an input (in-place), partial overlap is
 * not allowed; n <= 0 does nothing. Vectorised per ISA (tg_simd_level()),
 * threaded above TG_PAR_MIN_EXP elements (TG_PAR_MIN_MEMBOUND for leaky_relu
 * and hardtanh and their backward). Every backward kernel takes the forward
 * INPUT x (not the output) and the incoming gradient gout, as torch's
 * *_backward functions do, and returns gin = gout * f'(x).
 * Parameters are in the element type (torch converts its Scalars likewise).
 *
 *   log(x)                natural log, < 1 ulp; log(+-0) = -inf, log(x<0) = NaN,
 *                         log(inf) = inf; subnormal inputs exact
 *   erf(x)                error function, ~1 ulp (erf(+-inf) = +-1)
 *   gelu(x)               x * Phi(x) = x/2 * erfc(-x/sqrt2), full relative
 *                         accuracy in the lower tail (torch computes
 *                         x/2*(1+erf(x/sqrt2)), which is 0 below about -5.5)
 *   gelu_tanh(x)          x/2 * (1 + tanh(sqrt(2/pi)*(x + 0.044715 x^3)))
 *                         (torch's approximate="tanh"), as x*sigmoid(2u)
 *   gelu_backward         gout * (Phi(x) + x*phi(x))
 *   gelu_tanh_backward    torch's formula; NaN where torch's is (x = +-inf, x^2 overflow)
 *   silu(x)               x * sigmoid(x)          (silu(-inf) = NaN, as torch)
 *   silu_backward         gout * s * (1 + x*(1-s)), s = sigmoid(x)
 *   softplus(x, b, t)     x*b > t ? x : log1p(exp(b x)) / b
 *   softplus_backward     x*b > t ? gout : gout * sigmoid(b x)
 *   logsigmoid(x)         min(x,0) - log1p(exp(-|x|))
 *   logsigmoid_backward   gout * sigmoid(-x)
 *   elu(x, alpha)         x > 0 ? x : alpha*expm1(x)   (elu(-0) = -0)
 *   elu_backward          x > 0 ? gout : gout*alpha*exp(x)   (NaN for NaN x, as torch's vector path)
 *   leaky_relu(x, s)      x > 0 ? x : x*s
 *   leaky_relu_backward   x > 0 ? gout : gout*s
 *   hardtanh(x, lo, hi)   min(max(x, lo), hi), NaN passes (torch's clamp)
 *   hardtanh_backward     lo < x < hi ? gout : 0  (0 on the boundary and for NaN x, as torch's
 *                         vector path; its scalar tail passes gout for NaN)
 */
#ifndef TG_ACTIVATIONS_H
#define TG_ACTIVATIONS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void tg_log_f32(const float *x, float *y, int64_t n);
void tg_log_f64(const double *x, double *y, int64_t n);
void tg_erf_f32(const float *x, float *y, int64_t n);
void tg_erf_f64(const double *x, double *y, int64_t n);

void tg_gelu_f32(const float *x, float *y, int64_t n);
void tg_gelu_f64(const double *x, double *y, int64_t n);
void tg_gelu_tanh_f32(const float *x, float *y, int64_t n);
void tg_gelu_tanh_f64(const double *x, double *y, int64_t n);
void tg_gelu_backward_f32(const float *x, const float *gout, float *gin, int64_t n);
void tg_gelu_backward_f64(const double *x, const double *gout, double *gin, int64_t n);
void tg_gelu_tanh_backward_f32(const float *x, const float *gout, float *gin, int64_t n);
void tg_gelu_tanh_backward_f64(const double *x, const double *gout, double *gin, int64_t n);

void tg_silu_f32(const float *x, float *y, int64_t n);
void tg_silu_f64(const double *x, double *y, int64_t n);
void tg_silu_backward_f32(const float *x, const float *gout, float *gin, int64_t n);
void tg_silu_backward_f64(const double *x, const double *gout, double *gin, int64_t n);

void tg_softplus_f32(const float *x, float *y, int64_t n, float beta, float threshold);
void tg_softplus_f64(const double *x, double *y, int64_t n, double beta, double threshold);
void tg_softplus_backward_f32(const float *x, const float *gout, float *gin, int64_t n, float beta, float threshold);
void tg_softplus_backward_f64(const double *x, const double *gout, double *gin, int64_t n, double beta,
                              double threshold);

void tg_logsigmoid_f32(const float *x, float *y, int64_t n);
void tg_logsigmoid_f64(const double *x, double *y, int64_t n);
void tg_logsigmoid_backward_f32(const float *x, const float *gout, float *gin, int64_t n);
void tg_logsigmoid_backward_f64(const double *x, const double *gout, double *gin, int64_t n);

void tg_elu_f32(const float *x, float *y, int64_t n, float alpha);
void tg_elu_f64(const double *x, double *y, int64_t n, double alpha);
void tg_elu_backward_f32(const float *x, const float *gout, float *gin, int64_t n, float alpha);
void tg_elu_backward_f64(const double *x, const double *gout, double *gin, int64_t n, double alpha);

void tg_leaky_relu_f32(const float *x, float *y, int64_t n, float negative_slope);
void tg_leaky_relu_f64(const double *x, double *y, int64_t n, double negative_slope);
void tg_leaky_relu_backward_f32(const float *x, const float *gout, float *gin, int64_t n, float negative_slope);
void tg_leaky_relu_backward_f64(const double *x, const double *gout, double *gin, int64_t n, double negative_slope);

void tg_hardtanh_f32(const float *x, float *y, int64_t n, float min_val, float max_val);
void tg_hardtanh_f64(const double *x, double *y, int64_t n, double min_val, double max_val);
void tg_hardtanh_backward_f32(const float *x, const float *gout, float *gin, int64_t n, float min_val,
                              float max_val);
void tg_hardtanh_backward_f64(const double *x, const double *gout, double *gin, int64_t n, double min_val,
                              double max_val);

#ifdef __cplusplus
}
#endif

#endif /* TG_ACTIVATIONS_H */
