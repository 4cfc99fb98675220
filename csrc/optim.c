/*
 * optim.c -- fused optimizer steps (SGD, Adam/AdamW, RMSprop, Adagrad,
 * Adadelta, Adamax, NAdam) over many tensors per call, float32 and float64.
 * Formulas and contracts: tg_optim.h.
 *
 * Structure:
 *   - tg_optim_run() (here, compiled once) splits the total element count of
 *     the call into equal pieces (one per thread, or about 64K elements each
 *     for large calls, handed out dynamically), cut at multiples of 64
 *     elements (whole cache lines of every array for aligned tensors), and
 *     calls a per-segment function for each (tensor, element range) part of
 *     a piece;
 *   - the per-segment functions (optim_impl.h, compiled for generic, AVX2 and
 *     AVX-512) compute the per-tensor host scalars in double and run one
 *     `omp simd` loop specialised on the option flags.
 */

/* No contraction of a*b+c into FMA anywhere in this file (host scalars
 * included): every operation rounds once, like torch's scalar formulas and
 * the NumPy reference, whatever the ISA, vector body or scalar tail. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "tg_kernels.h"

#include <math.h>
#include <stdint.h>

#include "tg_dispatch.h"

/* Everything one call needs, read by the segment functions. a[k][i] is the
 * k-th array (params, grads, then the state arrays in the order of the
 * public signature) of tensor i. */
typedef struct {
    const int64_t *sizes;
    void *const *a[6];
    const int64_t *steps;
    const double *coefs;
    const void *opts;
} tg_optim_ctx;

typedef void (*tg_optim_seg)(const tg_optim_ctx *c, int64_t i, int64_t lo, int64_t hi);

typedef struct {
    tg_optim_seg sgd_f32, sgd_f64;
    tg_optim_seg adam_f32, adam_f64;
    tg_optim_seg rmsprop_f32, rmsprop_f64;
    tg_optim_seg adagrad_f32, adagrad_f64;
    tg_optim_seg adadelta_f32, adadelta_f64;
    tg_optim_seg adamax_f32, adamax_f64;
    tg_optim_seg nadam_f32, nadam_f64;
} tg_optim_table;

/* ---- generic ---- */
#define TG_SUFFIX generic
#define TG_USE_FMA TG_GENERIC_HAS_FMA
#include "optim_impl.h"

#if TG_X86_DISPATCH
/* ---- AVX2 + FMA ---- */
TG_BEGIN_AVX2
#define TG_SUFFIX avx2
#define TG_USE_FMA 1
#include "optim_impl.h"
TG_END_TARGET

/* ---- AVX-512 ---- */
TG_BEGIN_AVX512
#define TG_SUFFIX avx512
#define TG_USE_FMA 1
#include "optim_impl.h"
TG_END_TARGET

static const tg_optim_table *const tg_optim_tables[TG_SIMD_NLEVELS] = {
    &tg_optim_table_generic,
    &tg_optim_table_avx2,
    &tg_optim_table_avx512,
};
#else
static const tg_optim_table *const tg_optim_tables[TG_SIMD_NLEVELS] = {
    &tg_optim_table_generic,
    &tg_optim_table_generic,
    &tg_optim_table_generic,
};
#endif

#define TG_OPTIM_TABLE() (tg_optim_tables[tg_simd_level()])

/* ------------------------------------------------------------------------ */
/* splitting the call over threads                                           */
/* ------------------------------------------------------------------------ */

/* Elements per piece of a threaded call (see tg_optim_run). */
#define TG_OPTIM_CHUNK ((int64_t)65536)

static int tg_optim_serial_parts = 1;

int tg_optim_set_serial_parts(int parts)
{
    int prev = __atomic_load_n(&tg_optim_serial_parts, __ATOMIC_RELAXED);
    __atomic_store_n(&tg_optim_serial_parts, parts > 1 ? parts : 1, __ATOMIC_RELAXED);
    return prev;
}

/* Start of part t of `parts` over `total` elements: floor(total*t/parts)
 * rounded down to a multiple of 64; part 0 starts at 0, part `parts` (the
 * end) is total. Non-decreasing in t. */
static int64_t tg_optim_cut(int64_t total, int t, int parts)
{
    int64_t q, r, s;
    if (t <= 0)
        return 0;
    if (t >= parts)
        return total;
    q = total / parts;
    r = total % parts;
    s = q * t + r * t / parts;
    return s & ~(int64_t)63;
}

static void tg_optim_part(tg_optim_seg fn, const tg_optim_ctx *c, int64_t ntensors, int64_t total, int t, int parts)
{
    const int64_t start = tg_optim_cut(total, t, parts), end = tg_optim_cut(total, t + 1, parts);
    int64_t i, off = 0;
    if (start >= end)
        return;
    for (i = 0; i < ntensors && off < end; ++i) {
        const int64_t n = c->sizes[i];
        int64_t lo, hi;
        if (n <= 0)
            continue;
        if (off + n > start) {
            lo = start > off ? start - off : 0;
            hi = end - off < n ? end - off : n;
            fn(c, i, lo, hi);
        }
        off += n;
    }
}

static void tg_optim_run(tg_optim_seg fn, const tg_optim_ctx *c, int64_t ntensors)
{
    int64_t i, total = 0;
    int parts, t;
    for (i = 0; i < ntensors; ++i)
        if (c->sizes[i] > 0)
            total += c->sizes[i];
    if (total <= 0)
        return;
#ifdef _OPENMP
    {
        const int nth = tg_get_num_threads();
        if (nth > 1 && total >= TG_OPTIM_PAR_MIN) {
            /* At least one piece per thread, and pieces of about
             * TG_OPTIM_CHUNK elements handed out dynamically, so that a
             * thread slowed down by another process on its core (a shared
             * 2-core machine) delays the call by one piece, not by half. */
            const int64_t want = total / TG_OPTIM_CHUNK;
            const int pieces = want > nth ? (want < (1 << 20) ? (int)want : (1 << 20)) : nth;
            int q;
            TG_OMP(parallel for schedule(dynamic, 1) num_threads(nth) if (parallel : total >= TG_OPTIM_PAR_MIN))
            for (q = 0; q < pieces; ++q)
                tg_optim_part(fn, c, ntensors, total, q, pieces);
            return;
        }
    }
#endif
    parts = __atomic_load_n(&tg_optim_serial_parts, __ATOMIC_RELAXED);
    for (t = 0; t < parts; ++t)
        tg_optim_part(fn, c, ntensors, total, t, parts);
}

/* ------------------------------------------------------------------------ */
/* public entry points                                                       */
/* ------------------------------------------------------------------------ */

#define TG_CTX(...)                                                                                           \
    tg_optim_ctx c;                                                                                           \
    if (ntensors <= 0)                                                                                        \
        return;                                                                                               \
    {                                                                                                         \
        void *const *arrs_[] = {__VA_ARGS__};                                                                 \
        int k_;                                                                                               \
        for (k_ = 0; k_ < 6; ++k_)                                                                            \
            c.a[k_] = k_ < (int)(sizeof(arrs_) / sizeof(arrs_[0])) ? arrs_[k_] : (void *const *)0;            \
    }                                                                                                         \
    c.sizes = sizes;                                                                                          \
    c.opts = o;

#define TG_VP(x) ((void *const *)(x))

#define TG_DEF_SGD(SFX, T)                                                                                    \
    void tg_sgd_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params, const T *const *grads,   \
                           T *const *bufs, const tg_sgd_opts *o)                                              \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(bufs))                                                      \
        c.steps = 0;                                                                                          \
        c.coefs = 0;                                                                                          \
        tg_optim_run(TG_OPTIM_TABLE()->sgd_##SFX, &c, ntensors);                                              \
    }
TG_DEF_SGD(f32, float)
TG_DEF_SGD(f64, double)

#define TG_DEF_ADAM(SFX, T)                                                                                   \
    void tg_adam_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params, const T *const *grads,  \
                            T *const *exp_avgs, T *const *exp_avg_sqs, T *const *max_exp_avg_sqs,             \
                            const int64_t *steps, const tg_adam_opts *o)                                      \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(exp_avgs), TG_VP(exp_avg_sqs), TG_VP(max_exp_avg_sqs))      \
        c.steps = steps;                                                                                      \
        c.coefs = 0;                                                                                          \
        tg_optim_run(TG_OPTIM_TABLE()->adam_##SFX, &c, ntensors);                                             \
    }
TG_DEF_ADAM(f32, float)
TG_DEF_ADAM(f64, double)

#define TG_DEF_RMSPROP(SFX, T)                                                                                \
    void tg_rmsprop_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params,                      \
                               const T *const *grads, T *const *square_avgs, T *const *grad_avgs,             \
                               T *const *bufs, const tg_rmsprop_opts *o)                                      \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(square_avgs), TG_VP(grad_avgs), TG_VP(bufs))                \
        c.steps = 0;                                                                                          \
        c.coefs = 0;                                                                                          \
        tg_optim_run(TG_OPTIM_TABLE()->rmsprop_##SFX, &c, ntensors);                                          \
    }
TG_DEF_RMSPROP(f32, float)
TG_DEF_RMSPROP(f64, double)

#define TG_DEF_ADAGRAD(SFX, T)                                                                                \
    void tg_adagrad_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params,                      \
                               const T *const *grads, T *const *state_sums, const int64_t *steps,             \
                               const tg_adagrad_opts *o)                                                      \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(state_sums))                                                \
        c.steps = steps;                                                                                      \
        c.coefs = 0;                                                                                          \
        tg_optim_run(TG_OPTIM_TABLE()->adagrad_##SFX, &c, ntensors);                                          \
    }
TG_DEF_ADAGRAD(f32, float)
TG_DEF_ADAGRAD(f64, double)

#define TG_DEF_ADADELTA(SFX, T)                                                                               \
    void tg_adadelta_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params,                     \
                                const T *const *grads, T *const *square_avgs, T *const *acc_deltas,           \
                                const tg_adadelta_opts *o)                                                    \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(square_avgs), TG_VP(acc_deltas))                            \
        c.steps = 0;                                                                                          \
        c.coefs = 0;                                                                                          \
        tg_optim_run(TG_OPTIM_TABLE()->adadelta_##SFX, &c, ntensors);                                         \
    }
TG_DEF_ADADELTA(f32, float)
TG_DEF_ADADELTA(f64, double)

#define TG_DEF_ADAMAX(SFX, T)                                                                                 \
    void tg_adamax_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params,                       \
                              const T *const *grads, T *const *exp_avgs, T *const *exp_infs,                  \
                              const int64_t *steps, const tg_adamax_opts *o)                                  \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(exp_avgs), TG_VP(exp_infs))                                 \
        c.steps = steps;                                                                                      \
        c.coefs = 0;                                                                                          \
        tg_optim_run(TG_OPTIM_TABLE()->adamax_##SFX, &c, ntensors);                                           \
    }
TG_DEF_ADAMAX(f32, float)
TG_DEF_ADAMAX(f64, double)

#define TG_DEF_NADAM(SFX, T)                                                                                  \
    void tg_nadam_step_##SFX(int64_t ntensors, const int64_t *sizes, T *const *params, const T *const *grads, \
                             T *const *exp_avgs, T *const *exp_avg_sqs, const double *coefs,                  \
                             const tg_nadam_opts *o)                                                          \
    {                                                                                                         \
        TG_CTX(TG_VP(params), TG_VP(grads), TG_VP(exp_avgs), TG_VP(exp_avg_sqs))                              \
        c.steps = 0;                                                                                          \
        c.coefs = coefs;                                                                                      \
        tg_optim_run(TG_OPTIM_TABLE()->nadam_##SFX, &c, ntensors);                                            \
    }
TG_DEF_NADAM(f32, float)
TG_DEF_NADAM(f64, double)
