/*
 * rowwise_impl.h -- body of the row-wise kernels (softmax, log_softmax,
 * their backward passes, cross-entropy forward/backward), included once per
 * ISA by rowwise.c with
 *
 *     TG_SUFFIX   name suffix of this variant (generic, avx2, avx512)
 *     TG_USE_FMA  1 when a hardware fused multiply-add may be used
 *     TG_RW_VBYTES  vector width in bytes (16, 32, 64)
 *
 * The file includes itself twice more (RW_BODY defined) to instantiate the
 * row loops for float (RW_T = float) and double. Each loop is branch-free
 * per element and written under `omp simd`, so it becomes vector code at
 * each ISA; reductions (max, sums) use `omp simd reduction`.
 * Floating-point contraction is off in rowwise.c: fused operations appear
 * only as TG_FMA/TG_FMAF inside exp.
 */
#ifndef RW_BODY
/* ======================================================================== */
/* Outer part: once per ISA                                                 */
/* ======================================================================== */
#ifndef TG_SUFFIX
#error "define TG_SUFFIX before including rowwise_impl.h"
#endif

#define TGN(name) TG_CAT(name, TG_SUFFIX)

#undef TG_FMAF
#undef TG_FMA
#if TG_USE_FMA
#define TG_FMAF(a, b, c) __builtin_fmaf((a), (b), (c))
#define TG_FMA(a, b, c) __builtin_fma((a), (b), (c))
#else
#define TG_FMAF(a, b, c) ((a) * (b) + (c))
#define TG_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* exp (tg_expf1 / tg_exp1: ~1 ulp, subnormal results right) from the math
 * shared with the element-wise kernels */
#include "tg_math_impl.h"

#define RW_BODY 1

#ifdef TG_V512
#define RW_V512 1 /* softmax / log_softmax rows from tg_vec512.h */
#endif
#define RW_T float
#define RW_S f32
#define RW_MAXACC (4 * TG_RW_VBYTES / 4)
#define RW_EXP TGN(tg_expf1)
#define RW_LOG logf
#include "rowwise_impl.h"
#undef RW_T
#undef RW_S
#undef RW_EXP
#undef RW_LOG
#undef RW_MAXACC
#undef RW_V512

#define RW_T double
#define RW_S f64
#define RW_MAXACC (4 * TG_RW_VBYTES / 8)
#define RW_EXP TGN(tg_exp1)
#define RW_LOG log
#include "rowwise_impl.h"
#undef RW_T
#undef RW_S
#undef RW_EXP
#undef RW_LOG
#undef RW_MAXACC

#undef RW_BODY

static const tg_rw_table TGN(tg_rw_table) = {
    TGN(softmax_f32),
    TGN(softmax_f64),
    TGN(log_softmax_f32),
    TGN(log_softmax_f64),
    TGN(softmax_backward_f32),
    TGN(softmax_backward_f64),
    TGN(log_softmax_backward_f32),
    TGN(log_softmax_backward_f64),
    TGN(ce_forward_f32),
    TGN(ce_forward_f64),
    TGN(ce_backward_f32),
    TGN(ce_backward_f64),
};

#undef TGN
#undef TG_SUFFIX
#undef TG_USE_FMA
#undef TG_RW_VBYTES

#else /* RW_BODY */
/* ======================================================================== */
/* Body: once per ISA and dtype (RW_T, RW_S, RW_EXP, RW_LOG)                */
/* ======================================================================== */

#define RWN(name) TGN(TG_CAT(name, RW_S))

/* Largest element of a row, -inf for an empty row. NaN is not propagated
 * here: a NaN element makes x - m NaN in the exp-and-sum pass, which then
 * turns the whole row into NaN (as torch). */
TG_INLINE RW_T RWN(rw_rowmax)(const RW_T *x, int64_t c)
{
    /* RW_MAXACC independent lanes (several vectors' worth): a single vector
     * accumulator would make the loop wait on the latency of each max. */
    RW_T acc[RW_MAXACC];
    int64_t j = 0;
    int k, w;
    for (k = 0; k < RW_MAXACC; ++k)
        acc[k] = -(RW_T)INFINITY;
    for (; j + RW_MAXACC <= c; j += RW_MAXACC)
        for (k = 0; k < RW_MAXACC; ++k)
            acc[k] = x[j + k] > acc[k] ? x[j + k] : acc[k];
    for (; j < c; ++j)
        acc[0] = x[j] > acc[0] ? x[j] : acc[0];
    for (w = RW_MAXACC / 2; w > 0; w /= 2) /* tree: vector halves first */
        for (k = 0; k < w; ++k)
            acc[k] = acc[k + w] > acc[k] ? acc[k + w] : acc[k];
    return acc[0];
}

/* sum_j e^(x_j - m) */
TG_INLINE RW_T RWN(rw_sumexp)(const RW_T *x, int64_t c, RW_T m)
{
    RW_T s = 0;
    int64_t j;
    TG_OMP(simd reduction(+ : s))
    for (j = 0; j < c; ++j)
        s += RW_EXP(x[j] - m);
    return s;
}

TG_INLINE void RWN(rw_softmax_row)(const RW_T *x, RW_T *y, int64_t c)
{
    const RW_T m = RWN(rw_rowmax)(x, c);
    RW_T s = 0, r;
    int64_t j;
    TG_OMP(simd reduction(+ : s))
    for (j = 0; j < c; ++j) {
        const RW_T e = RW_EXP(x[j] - m);
        y[j] = e;
        s += e;
    }
    r = (RW_T)1 / s;
    TG_OMP(simd)
    for (j = 0; j < c; ++j)
        y[j] = y[j] * r;
}

TG_INLINE void RWN(rw_log_softmax_row)(const RW_T *x, RW_T *y, int64_t c)
{
    const RW_T m = RWN(rw_rowmax)(x, c);
    const RW_T ls = RW_LOG(RWN(rw_sumexp)(x, c, m));
    int64_t j;
    TG_OMP(simd)
    for (j = 0; j < c; ++j)
        y[j] = (x[j] - m) - ls;
}

TG_INLINE void RWN(rw_softmax_backward_row)(const RW_T *y, const RW_T *g, RW_T *gin, int64_t c)
{
    RW_T d = 0;
    int64_t j;
    TG_OMP(simd reduction(+ : d))
    for (j = 0; j < c; ++j)
        d += g[j] * y[j];
    TG_OMP(simd)
    for (j = 0; j < c; ++j)
        gin[j] = (g[j] - d) * y[j];
}

TG_INLINE void RWN(rw_log_softmax_backward_row)(const RW_T *y, const RW_T *g, RW_T *gin, int64_t c)
{
    RW_T s = 0;
    int64_t j;
    TG_OMP(simd reduction(+ : s))
    for (j = 0; j < c; ++j)
        s += g[j];
    TG_OMP(simd)
    for (j = 0; j < c; ++j)
        gin[j] = g[j] - RW_EXP(y[j]) * s;
}

/* Row loops: on the calling thread below the threshold (no OpenMP region at
 * all), else one `parallel for` over whole rows. */
#define RW_ROWS_LOOP(THRESH, BODY)                                                                            \
    do {                                                                                                      \
        const int nt_ = tg_get_num_threads();                                                                 \
        int64_t i;                                                                                            \
        if (rows > 1 && nt_ > 1 && rows * cols >= (THRESH)) {                                                 \
            TG_OMP(parallel for schedule(static) num_threads(nt_) if (parallel : rows > 1))                   \
            for (i = 0; i < rows; ++i) {                                                                      \
                BODY;                                                                                         \
            }                                                                                                 \
        } else {                                                                                              \
            for (i = 0; i < rows; ++i) {                                                                      \
                BODY;                                                                                         \
            }                                                                                                 \
        }                                                                                                     \
    } while (0)

#ifdef RW_V512
static void RWN(softmax)(const RW_T *x, RW_T *y, int64_t rows, int64_t cols)
{
    const int stream = rows * cols * (int64_t)sizeof(float) >= TG_STREAM_MIN_BYTES;
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP, tg_v512_softmax_row(x + i * cols, y + i * cols, cols, stream));
}

static void RWN(log_softmax)(const RW_T *x, RW_T *y, int64_t rows, int64_t cols)
{
    const int stream = rows * cols * (int64_t)sizeof(float) >= TG_STREAM_MIN_BYTES;
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP, tg_v512_log_softmax_row(x + i * cols, y + i * cols, cols, stream));
}
#else
static void RWN(softmax)(const RW_T *x, RW_T *y, int64_t rows, int64_t cols)
{
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP, RWN(rw_softmax_row)(x + i * cols, y + i * cols, cols));
}

static void RWN(log_softmax)(const RW_T *x, RW_T *y, int64_t rows, int64_t cols)
{
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP, RWN(rw_log_softmax_row)(x + i * cols, y + i * cols, cols));
}
#endif

static void RWN(softmax_backward)(const RW_T *y, const RW_T *g, RW_T *gin, int64_t rows, int64_t cols)
{
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_MEMBOUND,
                 RWN(rw_softmax_backward_row)(y + i * cols, g + i * cols, gin + i * cols, cols));
}

static void RWN(log_softmax_backward)(const RW_T *y, const RW_T *g, RW_T *gin, int64_t rows, int64_t cols)
{
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP,
                 RWN(rw_log_softmax_backward_row)(y + i * cols, g + i * cols, gin + i * cols, cols));
}

/* Cross-entropy forward of one row: lse, nll = -w_t * lp_t and (smooth_on)
 * smooth = -sum_j w_j * lp_j, with lp_j = (x_j - m) - log(s) as torch's
 * log_softmax. smooth is accumulated as sum_j w_j * (m - x_j) + log(s) * wsum
 * (every term >= 0: no cancellation). t < 0: ignored row, nll = smooth = 0. */
TG_INLINE void RWN(rw_ce_row)(const RW_T *x, int64_t c, const RW_T *w, int64_t t, int smooth_on, double wsum,
                              double *lse, double *nll, double *smooth)
{
    const RW_T m = RWN(rw_rowmax)(x, c);
    RW_T s = 0, sw = 0;
    double ls;
    int64_t j;
    if (!smooth_on) {
        s = RWN(rw_sumexp)(x, c, m);
    } else if (w != NULL) {
        TG_OMP(simd reduction(+ : s, sw))
        for (j = 0; j < c; ++j) {
            const RW_T d = x[j] - m;
            s += RW_EXP(d);
            sw += w[j] * -d;
        }
    } else {
        TG_OMP(simd reduction(+ : s, sw))
        for (j = 0; j < c; ++j) {
            const RW_T d = x[j] - m;
            s += RW_EXP(d);
            sw += -d;
        }
    }
    ls = (double)RW_LOG(s);
    *lse = (double)m + ls;
    if (t < 0) {
        *nll = 0.0;
        *smooth = 0.0;
    } else {
        const double wt = w != NULL ? (double)w[t] : 1.0;
        *nll = wt * (ls - (double)(x[t] - m));
        *smooth = smooth_on ? (double)sw + ls * wsum : 0.0;
    }
}

static void RWN(ce_forward)(const RW_T *x, const int64_t *target, const RW_T *w, int64_t rows, int64_t cols,
                            int64_t ignore_index, int smooth_on, double wsum, double *lse, double *nll,
                            double *smooth)
{
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP,
                 RWN(rw_ce_row)(x + i * cols, cols, w, target[i] == ignore_index ? -1 : target[i], smooth_on, wsum,
                                lse + i, nll + i, smooth + i));
}

/* Cross-entropy backward of one row. With a = d loss / d loss_i (0 for an
 * ignored row), the gradient with respect to lp is
 *   g_j = -a * ((1 - eps) * w_t * [j == t] + (eps / c) * w_j)
 * and gin_j = g_j - p_j * sum_k g_k = p_j * A - B * w_j - [j == t] * a (1 - eps) w_t
 * with A = a * ((1 - eps) * w_t + (eps / c) * wsum), B = a * eps / c,
 * p_j = e^(x_j - lse). The target element is then recomputed in double. */
TG_INLINE void RWN(rw_ce_grad_row)(const RW_T *x, int64_t c, const RW_T *w, int64_t t, double lse, double a,
                                   double eps, double wsum, RW_T *gin)
{
    const double wt = t >= 0 ? (w != NULL ? (double)w[t] : 1.0) : 0.0;
    const double ad = t >= 0 ? a : 0.0;
    const double Ad = ad * ((1.0 - eps) * wt + (eps / (double)c) * wsum);
    const double Bd = ad * (eps / (double)c);
    const RW_T A = (RW_T)Ad, B = (RW_T)Bd;
    /* x - lse as (x - hi) - lo: exact near the row maximum for float32 */
    const RW_T hi = (RW_T)lse, lo = (RW_T)(lse - (double)hi);
    int64_t j;
    if (eps == 0.0) {
        TG_OMP(simd)
        for (j = 0; j < c; ++j)
            gin[j] = RW_EXP((x[j] - hi) - lo) * A;
    } else if (w != NULL) {
        TG_OMP(simd)
        for (j = 0; j < c; ++j)
            gin[j] = RW_EXP((x[j] - hi) - lo) * A - B * w[j];
    } else {
        TG_OMP(simd)
        for (j = 0; j < c; ++j)
            gin[j] = RW_EXP((x[j] - hi) - lo) * A - B;
    }
    if (t >= 0) {
        const double pt = exp((double)x[t] - lse);
        const double bt = eps == 0.0 ? 0.0 : Bd * wt;
        gin[t] = (RW_T)((pt * Ad - bt) - ad * (1.0 - eps) * wt);
    }
}

static void RWN(ce_backward)(const RW_T *x, const int64_t *target, const double *lse, const RW_T *gl,
                             int64_t gl_stride, double gl_div, const RW_T *w, int64_t rows, int64_t cols,
                             int64_t ignore_index, double eps, double wsum, RW_T *gin)
{
    RW_ROWS_LOOP(TG_ROWWISE_PAR_MIN_EXP,
                 RWN(rw_ce_grad_row)(x + i * cols, cols, w, target[i] == ignore_index ? -1 : target[i], lse[i],
                                     (double)gl[i * gl_stride] / gl_div, eps, wsum, gin + i * cols));
}

#undef RW_ROWS_LOOP
#undef RWN

#endif /* RW_BODY */
