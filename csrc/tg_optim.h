/* tg_optim.h -- fused optimizer updates over many tensors (csrc/optim.c). Included by tg_kernels.h.
 *
 * One call updates a whole list of parameter tensors in place, in one pass
 * over memory: tensor i has sizes[i] elements and its arrays are
 * params[i], grads[i], and the optimizer state arrays [i] (all contiguous,
 * same element count, same element type). The formulas are torch 2.x's
 * single-tensor CPU implementations (torch.optim._single_tensor_*),
 * operation by operation and in the same order:
 *   - host scalars (bias corrections, step sizes) are computed in double and
 *     cast to the element type where torch casts them (Scalar arguments);
 *   - the per-element update is computed in the element type, each torch
 *     op rounding once, with no contraction into FMA (torch's scalar
 *     formulas; its vectorised lerp/add may use FMA, a <= 1 ulp difference);
 *   - lerp is torch's: w < 0.5 ? a + w*(b-a) : b - (b-a)*(1-w).
 * Results therefore do not depend on the SIMD level or the thread count,
 * and equal the NumPy reference (tinygrad_cn/_C/ref_optim.py) bit for bit.
 *
 * Threads: when the total element count of the call is at least
 * TG_OPTIM_PAR_MIN, it is cut into equal pieces (one per thread, or about
 * 64K elements each for large calls, handed out dynamically so that a core
 * busy with another process slows the call down gracefully; cuts may fall
 * inside a tensor) run on tg_get_num_threads() threads; below it the call
 * runs on the calling thread and never enters an OpenMP region.
 *
 * Arrays of one tensor must not partially overlap; an update reads every
 * input of an element before writing that element. ntensors <= 0 or
 * sizes[i] <= 0 does nothing (the pointers of an empty tensor are not read).
 * Steps must be >= 1 (the caller has already incremented them, as torch
 * does); the bindings check that.
 */
#ifndef TG_OPTIM_H
#define TG_OPTIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Total elements per call from which a second thread is used. About 28
 * bytes and a sqrt plus two divisions per element for Adam: between the
 * memory-bound (32K) and exp (16K) thresholds of the element-wise kernels. */
#define TG_OPTIM_PAR_MIN ((int64_t)16384)

/* SGD (torch.optim.SGD):
 *   g = maximize ? -grad : grad;  if wd != 0: g = g + wd*p
 *   if momentum != 0:
 *       buf = first_step ? g : buf*momentum + (1-dampening)*g
 *       g = nesterov ? g + momentum*buf : buf
 *   p = p + (-lr)*g
 * bufs may be NULL when momentum == 0. */
typedef struct {
    double lr, momentum, dampening, weight_decay;
    int nesterov, maximize, first_step;
} tg_sgd_opts;

/* Adam / AdamW (torch.optim.Adam, AdamW = decoupled_weight_decay):
 *   per tensor (double): bc1 = 1 - beta1^step, bc2 = 1 - beta2^step,
 *       step_size = lr/bc1, bc2_sqrt = bc2^0.5
 *   g = maximize ? -grad : grad
 *   if wd != 0: decoupled ? p = p*(1 - lr*wd) : g = g + wd*p
 *   m = lerp(m, g, 1-beta1);  v = v*beta2;  v = v + ((1-beta2)*g)*g
 *   if amsgrad: vmax = max(vmax, v) (NaN propagates), v' = vmax else v' = v
 *   denom = sqrt(v')/bc2_sqrt + eps;  p = p + ((-step_size)*m)/denom
 * max_exp_avg_sqs may be NULL unless amsgrad. */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int amsgrad, maximize, decoupled_weight_decay;
} tg_adam_opts;

/* RMSprop (torch.optim.RMSprop):
 *   g = maximize ? -grad : grad;  if wd != 0: g = g + wd*p
 *   sq = sq*alpha;  sq = sq + ((1-alpha)*g)*g
 *   centered: ga = lerp(ga, g, 1-alpha); avg = sqrt(sq - ga*ga)  else avg = sqrt(sq)
 *   avg = avg + eps
 *   momentum > 0: buf = buf*momentum; buf = buf + g/avg; p = p + (-lr)*buf
 *   else:         p = p + ((-lr)*g)/avg
 * grad_avgs may be NULL unless centered, bufs unless momentum > 0. */
typedef struct {
    double lr, alpha, eps, weight_decay, momentum;
    int centered, maximize;
} tg_rmsprop_opts;

/* Adagrad (torch.optim.Adagrad; initial_accumulator_value is the caller's
 * initial fill of state_sums):
 *   per tensor: clr = lr / (1 + (step-1)*lr_decay)
 *   g = maximize ? -grad : grad;  if wd != 0: g = g + wd*p
 *   s = s + g*g;  std = sqrt(s) + eps;  p = p + ((-clr)*g)/std */
typedef struct {
    double lr, lr_decay, weight_decay, eps;
    int maximize;
} tg_adagrad_opts;

/* Adadelta (torch.optim.Adadelta):
 *   g = maximize ? -grad : grad;  if wd != 0: g = g + wd*p
 *   sa = sa*rho;  sa = sa + ((1-rho)*g)*g
 *   d = (sqrt(ad + eps) / sqrt(sa + eps)) * g
 *   ad = ad*rho;  ad = ad + ((1-rho)*d)*d;  p = p + (-lr)*d */
typedef struct {
    double lr, rho, eps, weight_decay;
    int maximize;
} tg_adadelta_opts;

/* Adamax (torch.optim.Adamax):
 *   per tensor: clr = lr / (1 - beta1^step)
 *   g = maximize ? -grad : grad;  if wd != 0: g = g + wd*p
 *   m = lerp(m, g, 1-beta1);  u = max(u*beta2, |g| + eps) (NaN propagates)
 *   p = p + ((-clr)*m)/u */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int maximize;
} tg_adamax_opts;

/* NAdam (torch.optim.NAdam). The momentum-cache product mu_product is
 * Python-side state, so the caller computes per tensor, in double, three
 * coefficients coefs[3*i .. 3*i+2]:
 *   bc2 = 1 - beta2^step
 *   cg  = -lr*(1 - mu)/(1 - mu_product)          (mu_product already *= mu)
 *   cm  = (-lr*mu_next)/(1 - mu_product*mu_next)
 * and the kernel does
 *   g = maximize ? -grad : grad
 *   if wd != 0: decoupled ? p = p*(1 - lr*wd) : g = g + wd*p
 *   m = lerp(m, g, 1-beta1);  v = v*beta2;  v = v + ((1-beta2)*g)*g
 *   denom = sqrt(v/bc2) + eps;  p = p + (cg*g)/denom;  p = p + (cm*m)/denom */
typedef struct {
    double lr, beta1, beta2, eps, weight_decay;
    int maximize, decoupled_weight_decay;
} tg_nadam_opts;

void tg_sgd_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                     float *const *bufs, const tg_sgd_opts *o);
void tg_sgd_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                     double *const *bufs, const tg_sgd_opts *o);

void tg_adam_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                      float *const *exp_avgs, float *const *exp_avg_sqs, float *const *max_exp_avg_sqs,
                      const int64_t *steps, const tg_adam_opts *o);
void tg_adam_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                      double *const *exp_avgs, double *const *exp_avg_sqs, double *const *max_exp_avg_sqs,
                      const int64_t *steps, const tg_adam_opts *o);

void tg_rmsprop_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                         float *const *square_avgs, float *const *grad_avgs, float *const *bufs,
                         const tg_rmsprop_opts *o);
void tg_rmsprop_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                         double *const *square_avgs, double *const *grad_avgs, double *const *bufs,
                         const tg_rmsprop_opts *o);

void tg_adagrad_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                         float *const *state_sums, const int64_t *steps, const tg_adagrad_opts *o);
void tg_adagrad_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                         double *const *state_sums, const int64_t *steps, const tg_adagrad_opts *o);

void tg_adadelta_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                          float *const *square_avgs, float *const *acc_deltas, const tg_adadelta_opts *o);
void tg_adadelta_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                          double *const *square_avgs, double *const *acc_deltas, const tg_adadelta_opts *o);

void tg_adamax_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                        float *const *exp_avgs, float *const *exp_infs, const int64_t *steps,
                        const tg_adamax_opts *o);
void tg_adamax_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                        double *const *exp_avgs, double *const *exp_infs, const int64_t *steps,
                        const tg_adamax_opts *o);

void tg_nadam_step_f32(int64_t ntensors, const int64_t *sizes, float *const *params, const float *const *grads,
                       float *const *exp_avgs, float *const *exp_avg_sqs, const double *coefs,
                       const tg_nadam_opts *o);
void tg_nadam_step_f64(int64_t ntensors, const int64_t *sizes, double *const *params, const double *const *grads,
                       double *const *exp_avgs, double *const *exp_avg_sqs, const double *coefs,
                       const tg_nadam_opts *o);

/* Testing hook (tests/native/bounds_optim.c): when parts > 1, a call that
 * runs on one thread is still cut into `parts` pieces exactly as the
 * threads would cut it (so the splitting code runs under ASan in builds
 * without OpenMP). 0 or 1 restores the default. Returns the previous value. */
int tg_optim_set_serial_parts(int parts);

#ifdef __cplusplus
}
#endif

#endif /* TG_OPTIM_H */
