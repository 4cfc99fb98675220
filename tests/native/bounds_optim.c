/* bounds_optim.c -- fused optimizer updates over many tensors (csrc/optim.c) on exact-size buffers, for bounds_check.c
 *
 * Every optimizer, float32 and float64, the main option combinations, on
 * calls of several tensors (sizes 0, 1, odd, one above TG_OPTIM_PAR_MIN;
 * empty tensors get NULL pointers, which the kernels must not touch) and on
 * a call of many tiny tensors, each run whole and cut into 2 and 3 pieces
 * (tg_optim_set_serial_parts, the cut the threads make). Every array of a
 * tensor is malloc'd to exactly its element count. One step from random
 * states is checked against a plain double-precision loop.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_kernels.h"

void bounds_optim(long *checks);

static uint64_t opt_rng = 0x9E3779B97F4A7C15ull;
static double orand(void) /* uniform in [-1, 1) */
{
    opt_rng ^= opt_rng << 13;
    opt_rng ^= opt_rng >> 7;
    opt_rng ^= opt_rng << 17;
    return (double)(opt_rng >> 11) / (double)(1ull << 52) - 1.0;
}

#define OPT_FAIL(...)                                                                                         \
    do {                                                                                                      \
        printf("FAIL: bounds_optim: " __VA_ARGS__);                                                           \
        printf("\n");                                                                                         \
        exit(1);                                                                                              \
    } while (0)

enum { O_SGD, O_ADAM, O_RMSPROP, O_ADAGRAD, O_ADADELTA, O_ADAMAX, O_NADAM, O_COUNT };
static const char *const opt_names[O_COUNT] = {"sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam"};
/* state arrays per optimizer (after params and grads) */
static const int opt_nstate[O_COUNT] = {1, 3, 3, 1, 2, 2, 2};

/* One option set: a variant number v in [0, 4) turns the flags on and off. */
typedef struct {
    tg_sgd_opts sgd;
    tg_adam_opts adam;
    tg_rmsprop_opts rms;
    tg_adagrad_opts ada;
    tg_adadelta_opts delta;
    tg_adamax_opts amax;
    tg_nadam_opts nadam;
} opt_set;

static opt_set make_opts(int v)
{
    opt_set o;
    const int a = v & 1, b = (v >> 1) & 1;
    memset(&o, 0, sizeof(o));
    o.sgd.lr = 0.05;
    o.sgd.momentum = v == 0 ? 0.0 : 0.9;
    o.sgd.dampening = v == 3 ? 0.2 : 0.0;
    o.sgd.nesterov = v == 1;
    o.sgd.weight_decay = b ? 0.01 : 0.0;
    o.sgd.maximize = a;
    o.sgd.first_step = v == 2;
    o.adam.lr = 0.01;
    o.adam.beta1 = a ? 0.3 : 0.9;
    o.adam.beta2 = 0.999;
    o.adam.eps = 1e-8;
    o.adam.weight_decay = v ? 0.05 : 0.0;
    o.adam.amsgrad = a;
    o.adam.maximize = b;
    o.adam.decoupled_weight_decay = v == 3;
    o.rms.lr = 0.01;
    o.rms.alpha = a ? 0.4 : 0.99;
    o.rms.eps = 1e-8;
    o.rms.weight_decay = v == 2 ? 0.01 : 0.0;
    o.rms.momentum = b ? 0.9 : 0.0;
    o.rms.centered = a;
    o.rms.maximize = v == 3;
    o.ada.lr = 0.05;
    o.ada.lr_decay = a ? 0.01 : 0.0;
    o.ada.weight_decay = b ? 0.01 : 0.0;
    o.ada.eps = 1e-10;
    o.ada.maximize = a;
    o.delta.lr = 1.0;
    o.delta.rho = a ? 0.3 : 0.9;
    o.delta.eps = 1e-6;
    o.delta.weight_decay = b ? 0.01 : 0.0;
    o.delta.maximize = a ^ b;
    o.amax.lr = 0.002;
    o.amax.beta1 = a ? 0.3 : 0.9;
    o.amax.beta2 = 0.999;
    o.amax.eps = 1e-8;
    o.amax.weight_decay = b ? 0.01 : 0.0;
    o.amax.maximize = a ^ b;
    o.nadam.lr = 0.002;
    o.nadam.beta1 = a ? 0.3 : 0.9;
    o.nadam.beta2 = 0.999;
    o.nadam.eps = 1e-8;
    o.nadam.weight_decay = v ? 0.01 : 0.0;
    o.nadam.maximize = b;
    o.nadam.decoupled_weight_decay = v == 3;
    return o;
}

/* The plain update of one element in double: x[0] = p, x[1] = grad,
 * x[2..4] = states, updated in place. k: per-tensor scalars (step or NAdam
 * coefficients). */
static void ref_elem(int opt, const opt_set *o, double *x, int64_t step, const double *coef)
{
    double p = x[0], g = x[1], d, t = (double)step;
    switch (opt) {
    case O_SGD:
        g = (o->sgd.maximize ? -g : g) + o->sgd.weight_decay * p;
        if (o->sgd.momentum != 0) {
            x[2] = o->sgd.first_step ? g : o->sgd.momentum * x[2] + (1 - o->sgd.dampening) * g;
            g = o->sgd.nesterov ? g + o->sgd.momentum * x[2] : x[2];
        }
        x[0] = p - o->sgd.lr * g;
        break;
    case O_ADAM:
        g = o->adam.maximize ? -g : g;
        if (o->adam.decoupled_weight_decay)
            p *= 1 - o->adam.lr * o->adam.weight_decay;
        else
            g += o->adam.weight_decay * p;
        x[2] = o->adam.beta1 * x[2] + (1 - o->adam.beta1) * g;
        x[3] = o->adam.beta2 * x[3] + (1 - o->adam.beta2) * g * g;
        d = x[3];
        if (o->adam.amsgrad) {
            x[4] = x[4] > x[3] ? x[4] : x[3];
            d = x[4];
        }
        x[0] = p - o->adam.lr / (1 - pow(o->adam.beta1, t)) * x[2] /
                       (sqrt(d) / sqrt(1 - pow(o->adam.beta2, t)) + o->adam.eps);
        break;
    case O_RMSPROP:
        g = (o->rms.maximize ? -g : g) + o->rms.weight_decay * p;
        x[2] = o->rms.alpha * x[2] + (1 - o->rms.alpha) * g * g;
        d = x[2];
        if (o->rms.centered) {
            x[3] = o->rms.alpha * x[3] + (1 - o->rms.alpha) * g;
            d -= x[3] * x[3];
        }
        d = g / (sqrt(d) + o->rms.eps);
        if (o->rms.momentum > 0) {
            x[4] = o->rms.momentum * x[4] + d;
            d = x[4];
        }
        x[0] = p - o->rms.lr * d;
        break;
    case O_ADAGRAD:
        g = (o->ada.maximize ? -g : g) + o->ada.weight_decay * p;
        x[2] += g * g;
        x[0] = p - o->ada.lr / (1 + (t - 1) * o->ada.lr_decay) * g / (sqrt(x[2]) + o->ada.eps);
        break;
    case O_ADADELTA:
        g = (o->delta.maximize ? -g : g) + o->delta.weight_decay * p;
        x[2] = o->delta.rho * x[2] + (1 - o->delta.rho) * g * g;
        d = sqrt(x[3] + o->delta.eps) / sqrt(x[2] + o->delta.eps) * g;
        x[3] = o->delta.rho * x[3] + (1 - o->delta.rho) * d * d;
        x[0] = p - o->delta.lr * d;
        break;
    case O_ADAMAX:
        g = (o->amax.maximize ? -g : g) + o->amax.weight_decay * p;
        x[2] = o->amax.beta1 * x[2] + (1 - o->amax.beta1) * g;
        d = fabs(g) + o->amax.eps;
        x[3] = o->amax.beta2 * x[3] > d ? o->amax.beta2 * x[3] : d;
        x[0] = p - o->amax.lr / (1 - pow(o->amax.beta1, t)) * x[2] / x[3];
        break;
    default: /* O_NADAM */
        g = o->nadam.maximize ? -g : g;
        if (o->nadam.decoupled_weight_decay)
            p *= 1 - o->nadam.lr * o->nadam.weight_decay;
        else
            g += o->nadam.weight_decay * p;
        x[2] = o->nadam.beta1 * x[2] + (1 - o->nadam.beta1) * g;
        x[3] = o->nadam.beta2 * x[3] + (1 - o->nadam.beta2) * g * g;
        d = sqrt(x[3] / coef[0]) + o->nadam.eps;
        x[0] = p + coef[1] * g / d + coef[2] * x[2] / d;
        break;
    }
}

#define MAXT 64

#define DEF_OPT_CALL(SFX, T)                                                                                  \
    static void opt_call_##SFX(int opt, const opt_set *o, int64_t nt, const int64_t *sizes, T **arr[5],       \
                               const int64_t *steps, const double *coefs)                                     \
    {                                                                                                         \
        T **p = arr[0], **s0 = arr[2], **s1 = arr[3], **s2 = arr[4];                                          \
        const T *const *g = (const T *const *)arr[1];                                                         \
        switch (opt) {                                                                                        \
        case O_SGD: tg_sgd_step_##SFX(nt, sizes, p, g, s0, &o->sgd); break;                                   \
        case O_ADAM: tg_adam_step_##SFX(nt, sizes, p, g, s0, s1, s2, steps, &o->adam); break;                 \
        case O_RMSPROP: tg_rmsprop_step_##SFX(nt, sizes, p, g, s0, s1, s2, &o->rms); break;                   \
        case O_ADAGRAD: tg_adagrad_step_##SFX(nt, sizes, p, g, s0, steps, &o->ada); break;                    \
        case O_ADADELTA: tg_adadelta_step_##SFX(nt, sizes, p, g, s0, s1, &o->delta); break;                   \
        case O_ADAMAX: tg_adamax_step_##SFX(nt, sizes, p, g, s0, s1, steps, &o->amax); break;                 \
        default: tg_nadam_step_##SFX(nt, sizes, p, g, s0, s1, coefs, &o->nadam); break;                       \
        }                                                                                                     \
    }

DEF_OPT_CALL(f32, float)
DEF_OPT_CALL(f64, double)

/* Runs optimizer `opt` (variant v) on tensors of `sizes`, checks every
 * element of every updated array. */
#define DEF_OPT_RUN(SFX, T, TOL)                                                                              \
    static void opt_run_##SFX(int opt, int v, int64_t nt, const int64_t *sizes, long *checks)                 \
    {                                                                                                         \
        const opt_set o = make_opts(v);                                                                       \
        const int na = 2 + opt_nstate[opt];                                                                   \
        T **arr[5];                                                                                           \
        double **init[5];                                                                                     \
        int64_t steps[MAXT];                                                                                  \
        double coefs[3 * MAXT];                                                                               \
        int64_t i, j;                                                                                         \
        int k;                                                                                                \
        for (k = 0; k < 5; ++k) {                                                                             \
            arr[k] = calloc((size_t)nt, sizeof(T *));                                                         \
            init[k] = calloc((size_t)nt, sizeof(double *));                                                   \
        }                                                                                                     \
        for (i = 0; i < nt; ++i) {                                                                            \
            const int64_t n = sizes[i];                                                                       \
            steps[i] = 1 + (int64_t)(opt_rng % 7);                                                            \
            coefs[3 * i] = 1 - pow(0.999, (double)steps[i]);                                                  \
            coefs[3 * i + 1] = -0.002 * 0.05 / (1 - 0.8 + 0.01 * (double)i);                                  \
            coefs[3 * i + 2] = -0.002 * 0.85 / (1 - 0.7);                                                     \
            for (k = 0; k < 5; ++k) {                                                                         \
                if (n == 0 || k >= na)                                                                        \
                    continue; /* NULL: the kernel must not touch it */                                        \
                arr[k][i] = malloc((size_t)n * sizeof(T));                                                    \
                init[k][i] = malloc((size_t)n * sizeof(double));                                              \
                for (j = 0; j < n; ++j) {                                                                     \
                    double x = orand();                                                                       \
                    if (k >= 2 && !(opt == O_SGD || (opt == O_ADAMAX && k == 2) || (opt == O_ADAM && k == 2) || \
                                    (opt == O_NADAM && k == 2) || (opt == O_RMSPROP && k == 3)))              \
                        x = x * x + 0.25; /* second moments, sums, deltas: positive */                        \
                    if (opt == O_RMSPROP && k == 3)                                                           \
                        x *= 0.25; /* grad_avg^2 below square_avg */                                          \
                    arr[k][i][j] = (T)x;                                                                      \
                    init[k][i][j] = (double)(T)x;                                                             \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        opt_call_##SFX(opt, &o, nt, sizes, arr, steps, coefs);                                                \
        for (i = 0; i < nt; ++i)                                                                              \
            for (j = 0; j < sizes[i]; ++j) {                                                                  \
                double x[5] = {0, 0, 0, 0, 0};                                                                \
                for (k = 0; k < na; ++k)                                                                      \
                    x[k] = init[k][i][j];                                                                     \
                ref_elem(opt, &o, x, steps[i], coefs + 3 * i);                                                \
                for (k = 0; k < na; ++k) {                                                                    \
                    const double got = (double)arr[k][i][j];                                                  \
                    if (k == 1)                                                                               \
                        continue;                                                                             \
                    if (opt == O_ADAM && k == 4 && !o.adam.amsgrad)                                           \
                        continue;                                                                             \
                    if (opt == O_RMSPROP && ((k == 3 && !o.rms.centered) || (k == 4 && !(o.rms.momentum > 0)))) \
                        continue;                                                                             \
                    if (opt == O_SGD && k == 2 && o.sgd.momentum == 0)                                        \
                        continue;                                                                             \
                    if (!(fabs(got - x[k]) <= TOL * (1 + fabs(x[k]))))                                        \
                        OPT_FAIL("%s %s variant %d tensor %ld element %ld array %d: got %.17g, want %.17g",  \
                                 opt_names[opt], #SFX, v, (long)i, (long)j, k, got, x[k]);                     \
                    ++*checks;                                                                                \
                }                                                                                             \
                if (arr[1][i][j] != (T)init[1][i][j])                                                         \
                    OPT_FAIL("%s %s: grads were written", opt_names[opt], #SFX);                              \
            }                                                                                                 \
        for (k = 0; k < 5; ++k) {                                                                             \
            for (i = 0; i < nt; ++i) {                                                                        \
                free(arr[k][i]);                                                                              \
                free(init[k][i]);                                                                             \
            }                                                                                                 \
            free(arr[k]);                                                                                     \
            free(init[k]);                                                                                    \
        }                                                                                                     \
    }

DEF_OPT_RUN(f32, float, 2e-5)
DEF_OPT_RUN(f64, double, 1e-12)

void bounds_optim(long *checks)
{
    static const int64_t mixed[] = {0, 1, 7, 33, TG_OPTIM_PAR_MIN + 5, 2, 0, 1000};
    int64_t tiny[40];
    int opt, v, parts, i;
    for (i = 0; i < 40; ++i)
        tiny[i] = i % 5 == 0 ? 0 : (i * 7) % 13 + 1;
    tg_sgd_step_f32(0, NULL, NULL, NULL, NULL, NULL); /* no tensors: nothing is read */
    tg_adam_step_f64(0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    for (parts = 1; parts <= 3; ++parts) {
        tg_optim_set_serial_parts(parts);
        for (opt = 0; opt < O_COUNT; ++opt)
            for (v = 0; v < 4; ++v) {
                opt_run_f32(opt, v, 8, mixed, checks);
                opt_run_f64(opt, v, 8, mixed, checks);
                opt_run_f32(opt, v, 40, tiny, checks);
                opt_run_f64(opt, v, 40, tiny, checks);
            }
    }
    tg_optim_set_serial_parts(1);
}
