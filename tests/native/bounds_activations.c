/* bounds_activations.c -- element-wise activations and their fused backward
 * (csrc/activations.c) on exact-size buffers, for bounds_check.c: every
 * kernel, float32 and float64, sizes 0..40 (vector tails) and one above the
 * threading threshold, out of place and in place; the results are checked
 * against plain scalar formulas (libm) with a loose tolerance, so a kernel
 * that stays in bounds but computes garbage fails too. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tg_kernels.h"

void bounds_activations(long *checks);

static uint64_t ba_state = 0x9E3779B97F4A7C15ull;
static double ba_rnd(void) /* uniform in [-1, 1) */
{
    ba_state ^= ba_state << 13;
    ba_state ^= ba_state >> 7;
    ba_state ^= ba_state << 17;
    return (double)(ba_state >> 11) / (double)(1ull << 52) - 1.0;
}

#define BA_FAIL(...)                                                                                          \
    do {                                                                                                      \
        printf("FAIL: " __VA_ARGS__);                                                                         \
        printf("\n");                                                                                         \
        exit(1);                                                                                              \
    } while (0)

static double sig(double v) { return 1.0 / (1.0 + exp(-v)); }
static double phi_cdf(double v) { return 0.5 * erfc(-v / sqrt(2.0)); }
static double gelu_t(double v)
{
    return 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}
static double gelu_t_d(double v)
{
    const double t = tanh(0.7978845608028654 * (v + 0.044715 * v * v * v));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * 0.7978845608028654 * (1 + 3 * 0.044715 * v * v);
}

/* kernel index -> expected value (forward: of x; backward: of x and g) */
static double expect(int k, double x, double g)
{
    switch (k) {
    case 0: return log(fabs(x) + 0.5);
    case 1: return erf(x);
    case 2: return x * phi_cdf(x);
    case 3: return gelu_t(x);
    case 4: return x * sig(x);
    case 5: return x * 2.0 > 5.0 ? x : log1p(exp(2.0 * x)) / 2.0;
    case 6: return -log1p(exp(-x));
    case 7: return x > 0 ? x : 0.5 * expm1(x);
    case 8: return x > 0 ? x : 0.1 * x;
    case 9: return x < -0.5 ? -0.5 : (x > 0.75 ? 0.75 : x);
    case 10: return g * (phi_cdf(x) + x * exp(-0.5 * x * x) / sqrt(2 * M_PI));
    case 11: return g * gelu_t_d(x);
    case 12: return g * sig(x) * (1 + x * (1 - sig(x)));
    case 13: return x * 2.0 > 5.0 ? g : g * sig(2.0 * x);
    case 14: return g * sig(-x);
    case 15: return x <= 0 ? g * 0.5 * exp(x) : g;
    case 16: return x > 0 ? g : g * 0.1;
    default: return (x <= -0.5 || x >= 0.75) ? 0.0 : g;
    }
}

#define NK 18

#define DEF_RUN(NAME, T, SUF)                                                                                 \
    static void NAME(int k, const T *x, const T *g, T *y, int64_t n)                                         \
    {                                                                                                         \
        switch (k) {                                                                                          \
        case 0: tg_log_##SUF(x, y, n); break;                                                                 \
        case 1: tg_erf_##SUF(x, y, n); break;                                                                 \
        case 2: tg_gelu_##SUF(x, y, n); break;                                                                \
        case 3: tg_gelu_tanh_##SUF(x, y, n); break;                                                           \
        case 4: tg_silu_##SUF(x, y, n); break;                                                                \
        case 5: tg_softplus_##SUF(x, y, n, 2.0, 5.0); break;                                                  \
        case 6: tg_logsigmoid_##SUF(x, y, n); break;                                                          \
        case 7: tg_elu_##SUF(x, y, n, 0.5); break;                                                            \
        case 8: tg_leaky_relu_##SUF(x, y, n, (T)0.1); break;                                                  \
        case 9: tg_hardtanh_##SUF(x, y, n, -0.5, 0.75); break;                                                \
        case 10: tg_gelu_backward_##SUF(x, g, y, n); break;                                                   \
        case 11: tg_gelu_tanh_backward_##SUF(x, g, y, n); break;                                              \
        case 12: tg_silu_backward_##SUF(x, g, y, n); break;                                                   \
        case 13: tg_softplus_backward_##SUF(x, g, y, n, 2.0, 5.0); break;                                     \
        case 14: tg_logsigmoid_backward_##SUF(x, g, y, n); break;                                             \
        case 15: tg_elu_backward_##SUF(x, g, y, n, 0.5); break;                                               \
        case 16: tg_leaky_relu_backward_##SUF(x, g, y, n, (T)0.1); break;                                     \
        default: tg_hardtanh_backward_##SUF(x, g, y, n, -0.5, 0.75); break;                                   \
        }                                                                                                     \
    }

DEF_RUN(run_f32, float, f32)
DEF_RUN(run_f64, double, f64)

/* exact-size x, g, y; out of place, then in place (y = x for forward,
 * y = g for backward) */
#define DEF_CHECK(NAME, T, RUN, TOL)                                                                          \
    static void NAME(int64_t n, long *checks)                                                                 \
    {                                                                                                         \
        const size_t cnt = (size_t)(n > 0 ? n : 1);                                                           \
        T *x = malloc(cnt * sizeof(T)), *g = malloc(cnt * sizeof(T)), *y = malloc(cnt * sizeof(T));           \
        T *w = malloc(cnt * sizeof(T));                                                                       \
        int64_t i;                                                                                            \
        int k, pass;                                                                                          \
        for (k = 0; k < NK; ++k)                                                                              \
            for (pass = 0; pass < 2; ++pass) {                                                                \
                T *dst;                                                                                       \
                for (i = 0; i < n; ++i) {                                                                     \
                    x[i] = (T)(12.0 * ba_rnd());                                                              \
                    g[i] = (T)ba_rnd();                                                                       \
                }                                                                                             \
                if (k == 0)                                                                                   \
                    for (i = 0; i < n; ++i)                                                                   \
                        x[i] = (T)(fabs((double)x[i]) + 0.5);                                                 \
                memcpy(w, k < 10 ? x : g, cnt * sizeof(T));                                                   \
                dst = pass == 0 ? y : (k < 10 ? x : g);                                                       \
                RUN(k, x, g, dst, n);                                                                         \
                for (i = 0; i < n; ++i) {                                                                     \
                    const double xi = (double)(k < 10 && pass ? w[i] : x[i]);                                 \
                    const double gi = (double)(k >= 10 && pass ? w[i] : g[i]);                                \
                    const double want = k == 0 ? log(xi) : expect(k, xi, gi);                                 \
                    const double got = (double)dst[i];                                                        \
                    if (!(fabs(got - want) <= TOL * (1.0 + fabs(want))))                                      \
                        BA_FAIL(#NAME " kernel %d pass %d n %lld: [%lld] x=%g g=%g got %.17g want %.17g", k,  \
                                pass, (long long)n, (long long)i, xi, gi, got, want);                         \
                }                                                                                             \
                *checks += n;                                                                                 \
            }                                                                                                 \
        free(x);                                                                                              \
        free(g);                                                                                              \
        free(y);                                                                                              \
        free(w);                                                                                              \
    }

DEF_CHECK(check_act_f32, float, run_f32, 2e-5)
DEF_CHECK(check_act_f64, double, run_f64, 1e-12)

void bounds_activations(long *checks)
{
    int64_t n;
    for (n = 0; n <= 40; ++n) {
        check_act_f32(n, checks);
        check_act_f64(n, checks);
    }
    check_act_f32(70001, checks);
    check_act_f64(70001, checks);
}
