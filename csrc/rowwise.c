/*
 * rowwise.c -- softmax, log_softmax, their backward passes and fused
 * cross-entropy (forward and backward), float32 and float64, reducing over
 * the last dimension of a C-contiguous (rows x cols) array.
 *
 * The row loops live in rowwise_impl.h and are compiled three times:
 * generic, AVX2+FMA and AVX-512 (x86-64 with GCC), chosen per call with
 * tg_simd_level() as in elementwise.c. Argument checks that need no SIMD
 * (target range, sums of weights) and the final reductions of the
 * cross-entropy run here, serially and in double, so that the loss does not
 * depend on the thread count or the SIMD level's summation order beyond the
 * per-row sums.
 */

/* No implicit contraction of a*b+c into FMA (see elementwise.c): the
 * backward formulas round like their torch/NumPy counterparts, and vector
 * body and scalar tail give the same bits. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "tg_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tg_dispatch.h"

typedef void (*tg_rw_unary_f32)(const float *, float *, int64_t, int64_t);
typedef void (*tg_rw_unary_f64)(const double *, double *, int64_t, int64_t);
typedef void (*tg_rw_binary_f32)(const float *, const float *, float *, int64_t, int64_t);
typedef void (*tg_rw_binary_f64)(const double *, const double *, double *, int64_t, int64_t);
typedef void (*tg_rw_cef_f32)(const float *, const int64_t *, const float *, int64_t, int64_t, int64_t, int, double,
                              double *, double *, double *);
typedef void (*tg_rw_cef_f64)(const double *, const int64_t *, const double *, int64_t, int64_t, int64_t, int,
                              double, double *, double *, double *);
typedef void (*tg_rw_ceb_f32)(const float *, const int64_t *, const double *, const float *, int64_t, double,
                              const float *, int64_t, int64_t, int64_t, double, double, float *);
typedef void (*tg_rw_ceb_f64)(const double *, const int64_t *, const double *, const double *, int64_t, double,
                              const double *, int64_t, int64_t, int64_t, double, double, double *);

typedef struct {
    tg_rw_unary_f32 softmax_f32;
    tg_rw_unary_f64 softmax_f64;
    tg_rw_unary_f32 log_softmax_f32;
    tg_rw_unary_f64 log_softmax_f64;
    tg_rw_binary_f32 softmax_backward_f32;
    tg_rw_binary_f64 softmax_backward_f64;
    tg_rw_binary_f32 log_softmax_backward_f32;
    tg_rw_binary_f64 log_softmax_backward_f64;
    tg_rw_cef_f32 ce_forward_f32;
    tg_rw_cef_f64 ce_forward_f64;
    tg_rw_ceb_f32 ce_backward_f32;
    tg_rw_ceb_f64 ce_backward_f64;
} tg_rw_table;

/* ---- generic ---- */
#define TG_SUFFIX generic
#define TG_USE_FMA TG_GENERIC_HAS_FMA
#define TG_RW_VBYTES 16
#include "rowwise_impl.h"

#if TG_X86_DISPATCH
/* ---- AVX2 + FMA ---- */
TG_BEGIN_AVX2
#define TG_SUFFIX avx2
#define TG_USE_FMA 1
#define TG_RW_VBYTES 32
#include "rowwise_impl.h"
TG_END_TARGET

/* ---- AVX-512 ---- */
TG_BEGIN_AVX512
#include "tg_vec512.h"
#define TG_SUFFIX avx512
#define TG_USE_FMA 1
#define TG_RW_VBYTES 64
#define TG_V512 1
#include "rowwise_impl.h"
#undef TG_V512
TG_END_TARGET

static const tg_rw_table *const tg_rw_tables[TG_SIMD_NLEVELS] = {
    &tg_rw_table_generic,
    &tg_rw_table_avx2,
    &tg_rw_table_avx512,
};
#else
static const tg_rw_table *const tg_rw_tables[TG_SIMD_NLEVELS] = {
    &tg_rw_table_generic,
    &tg_rw_table_generic,
    &tg_rw_table_generic,
};
#endif

#define TG_RW_TABLE() (tg_rw_tables[tg_simd_level()])

#define TG_RW_DEF_UNARY(NAME, T)                                                                              \
    void tg_##NAME(const T *x, T *y, int64_t rows, int64_t cols)                                               \
    {                                                                                                          \
        if (rows > 0 && cols > 0)                                                                              \
            TG_RW_TABLE()->NAME(x, y, rows, cols);                                                             \
    }

#define TG_RW_DEF_BINARY(NAME, T)                                                                             \
    void tg_##NAME(const T *y, const T *gout, T *gin, int64_t rows, int64_t cols)                              \
    {                                                                                                          \
        if (rows > 0 && cols > 0)                                                                              \
            TG_RW_TABLE()->NAME(y, gout, gin, rows, cols);                                                     \
    }

TG_RW_DEF_UNARY(softmax_f32, float)
TG_RW_DEF_UNARY(softmax_f64, double)
TG_RW_DEF_UNARY(log_softmax_f32, float)
TG_RW_DEF_UNARY(log_softmax_f64, double)
TG_RW_DEF_BINARY(softmax_backward_f32, float)
TG_RW_DEF_BINARY(softmax_backward_f64, double)
TG_RW_DEF_BINARY(log_softmax_backward_f32, float)
TG_RW_DEF_BINARY(log_softmax_backward_f64, double)

/* ------------------------------------------------------------------------ */
/* cross-entropy drivers                                                     */
/* ------------------------------------------------------------------------ */

/* Pairwise sum (deterministic, error O(log n) ulps). */
static double rw_sum(const double *v, int64_t n)
{
    if (n <= 16) {
        double s = 0.0;
        int64_t i;
        for (i = 0; i < n; ++i)
            s += v[i];
        return s;
    }
    return rw_sum(v, n / 2) + rw_sum(v + n / 2, n - n / 2);
}

/* Checks every target that is not ignore_index against [0, c); sets
 * *total_w = sum of w[t] over the rows not ignored (their count without
 * weights) and *wsum = sum_j w[j] (c without weights). 0, or -1 with
 * *bad_row. */
#define TG_RW_DEF_CHECK(NAME, T)                                                                              \
    static int NAME(const int64_t *target, const T *w, int64_t n, int64_t c, int64_t ignore_index,           \
                    double *total_w, double *wsum, int64_t *bad_row)                                          \
    {                                                                                                         \
        double tw = 0.0, ws = 0.0;                                                                            \
        int64_t i;                                                                                            \
        for (i = 0; i < n; ++i) {                                                                             \
            const int64_t t = target[i];                                                                      \
            if (t == ignore_index)                                                                            \
                continue;                                                                                     \
            if (t < 0 || t >= c) {                                                                            \
                if (bad_row != NULL)                                                                          \
                    *bad_row = i;                                                                             \
                return -1;                                                                                    \
            }                                                                                                 \
            tw += w != NULL ? (double)w[t] : 1.0;                                                             \
        }                                                                                                     \
        if (w != NULL)                                                                                        \
            for (i = 0; i < c; ++i)                                                                           \
                ws += (double)w[i];                                                                           \
        else                                                                                                  \
            ws = (double)c;                                                                                   \
        *total_w = tw;                                                                                        \
        *wsum = ws;                                                                                           \
        return 0;                                                                                             \
    }

TG_RW_DEF_CHECK(rw_check_f32, float)
TG_RW_DEF_CHECK(rw_check_f64, double)

#define TG_RW_DEF_CE(NAME, T, CHECK, SLOT)                                                                    \
    int NAME(const T *logits, const int64_t *target, const T *weight, int64_t n, int64_t c,                  \
             int64_t ignore_index, double eps, int reduction, T *loss, double *lse, int64_t *bad_row)          \
    {                                                                                                         \
        double total_w, wsum, *nll, *smooth;                                                                  \
        const int smooth_on = eps > 0.0 && c > 0;                                                             \
        int64_t i;                                                                                            \
        if (n < 0 || c < 0)                                                                                   \
            return 0;                                                                                         \
        if (CHECK(target, weight, n, c, ignore_index, &total_w, &wsum, bad_row) != 0)                         \
            return -1;                                                                                        \
        nll = (double *)malloc(sizeof(double) * (size_t)(2 * n + 1));                                         \
        if (nll == NULL)                                                                                      \
            return -2;                                                                                        \
        smooth = nll + n;                                                                                     \
        if (n > 0)                                                                                            \
            TG_RW_TABLE()->SLOT(logits, target, weight, n, c, ignore_index, smooth_on, wsum, lse, nll, smooth); \
        if (reduction == TG_REDUCTION_NONE) {                                                                 \
            for (i = 0; i < n; ++i)                                                                           \
                loss[i] = (T)(smooth_on ? (1.0 - eps) * nll[i] + smooth[i] * (eps / (double)c) : nll[i]);      \
        } else {                                                                                              \
            double s_nll = rw_sum(nll, n), s_smooth = smooth_on ? rw_sum(smooth, n) : 0.0, r;                 \
            if (reduction == TG_REDUCTION_MEAN) {                                                             \
                s_nll /= total_w;                                                                             \
                s_smooth /= total_w;                                                                          \
            }                                                                                                 \
            r = smooth_on ? (1.0 - eps) * s_nll + s_smooth * (eps / (double)c) : s_nll;                       \
            loss[0] = (T)r;                                                                                   \
        }                                                                                                     \
        free(nll);                                                                                            \
        return 0;                                                                                             \
    }

TG_RW_DEF_CE(tg_cross_entropy_f32, float, rw_check_f32, ce_forward_f32)
TG_RW_DEF_CE(tg_cross_entropy_f64, double, rw_check_f64, ce_forward_f64)

#define TG_RW_DEF_CEB(NAME, T, CHECK, SLOT)                                                                   \
    int NAME(const T *logits, const int64_t *target, const double *lse, const T *grad_loss, const T *weight,  \
             int64_t n, int64_t c, int64_t ignore_index, double eps, int reduction, T *grad_logits,             \
             int64_t *bad_row)                                                                                \
    {                                                                                                         \
        double total_w, wsum;                                                                                 \
        if (n < 0 || c < 0)                                                                                   \
            return 0;                                                                                         \
        if (CHECK(target, weight, n, c, ignore_index, &total_w, &wsum, bad_row) != 0)                         \
            return -1;                                                                                        \
        if (n > 0 && c > 0)                                                                                   \
            TG_RW_TABLE()->SLOT(logits, target, lse, grad_loss, reduction == TG_REDUCTION_NONE ? 1 : 0,       \
                                reduction == TG_REDUCTION_MEAN ? total_w : 1.0, weight, n, c, ignore_index,   \
                                eps > 0.0 ? eps : 0.0, wsum, grad_logits);                                    \
        return 0;                                                                                             \
    }

TG_RW_DEF_CEB(tg_cross_entropy_backward_f32, float, rw_check_f32, ce_backward_f32)
TG_RW_DEF_CEB(tg_cross_entropy_backward_f64, double, rw_check_f64, ce_backward_f64)
