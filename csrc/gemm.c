/*
 * gemm.c -- C = alpha * op(A) @ op(B) + beta * C, float32 and float64,
 * arbitrary strides, BLIS structure (see gemm_impl.h), plus batched calls.
 *
 * Variants (register tile MR x NR, blocking KC / MC / NC):
 *   avx512  f32  8 x 32  (16 zmm accumulators)   f64  8 x 16
 *   avx2    f32  6 x 16  (12 ymm accumulators)   f64  6 x 8
 *   generic f32  4 x 16  plain C loops           f64  4 x 8
 * KC = 384, MC = 480 (f32) / 240 (f64), NC = 2048 (f32) / 1024 (f64).
 * The variant follows tg_simd_level() on every call.
 *
 * Threads: the MC (ic) loop is split over tg_get_num_threads() threads when
 * m*n*k > TG_GEMM_PAR_MIN_FLOPS (OpenBLAS keeps one thread up to 262144);
 * packing B is split over the same threads. k is never split, so results
 * are bit-identical for any thread count.
 *
 * Packing buffers are thread-local and kept between calls (grown on
 * demand), so a call costs no malloc / page faults after the first.
 */
#include "tg_kernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tg_dispatch.h"

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif

/* Up to this many rows of C, the packed GEMM splits columns over threads */
#define TG_GEMM_NSPLIT_MAX_M 256

typedef struct {
    int64_t m, n, k;
    double alpha, beta;
    const void *a;
    int64_t rsa, csa;
    const void *b;
    int64_t rsb, csb;
    void *c;
    int64_t rsc, csc;
    int *status; /* set to -1 when a buffer cannot be allocated */
    /* epilogue, applied to each tile of C once its last k block is written
     * (while the tile is in L1): C = act(C + bias), bias[i * brs + j * bcs]
     * (two strides so the C^T = B^T A^T swap can move it to rows) */
    const void *bias;
    int64_t brs, bcs;
    int act; /* TG_ACT_NONE / TG_ACT_RELU */
} tg_gemm_args;

#define TG_HAS_EPILOGUE(g) ((g)->bias != NULL || (g)->act != TG_ACT_NONE)

/* ---- thread-local packing buffers --------------------------------------- */

#if defined(__GNUC__) || defined(__clang__)
#define TG_THREAD_LOCAL __thread
#else
#define TG_THREAD_LOCAL _Thread_local
#endif

static TG_THREAD_LOCAL void *tg_gemm_buf[2];
static TG_THREAD_LOCAL size_t tg_gemm_buf_size[2];

/* 64-byte aligned buffer `which` (0: A blocks, 1: B panels) of this thread,
 * at least `size` bytes; NULL when out of memory. */
static void *tg_gemm_buffer(int which, size_t size)
{
    if (size == 0)
        size = 64;
    if (tg_gemm_buf_size[which] < size) {
        void *p = NULL;
        size = (size + 4095) & ~(size_t)4095;
        free(tg_gemm_buf[which]);
        tg_gemm_buf[which] = NULL;
        tg_gemm_buf_size[which] = 0;
        if (posix_memalign(&p, 64, size) != 0)
            return NULL;
        tg_gemm_buf[which] = p;
        tg_gemm_buf_size[which] = size;
    }
    return tg_gemm_buf[which];
}

/* ---- variants ----------------------------------------------------------- */

/* generic: portable C (vectorised by the compiler for the baseline ISA) */
#define TG_SUFFIX generic_f32
#define TG_T float
#define TG_MR 4
#define TG_NR 16
#define TG_VB 0
#define TG_KC 384
#define TG_MC 480
#define TG_NC 2048
#define TG_SM_MR 1
#define TG_SM_NV 1
#include "gemm_impl.h"

#define TG_SUFFIX generic_f64
#define TG_T double
#define TG_MR 4
#define TG_NR 8
#define TG_VB 0
#define TG_KC 384
#define TG_MC 240
#define TG_NC 1024
#define TG_SM_MR 1
#define TG_SM_NV 1
#include "gemm_impl.h"

#if TG_X86_DISPATCH
TG_BEGIN_AVX2
#define TG_SUFFIX avx2_f32
#define TG_VLEN 8 /* lanes per vector (for #if) */
#define TG_T float
#define TG_MR 6
#define TG_NR 16
#define TG_VB 32
#define TG_KC 384
#define TG_MC 480
#define TG_NC 2048
#define TG_SM_MR 6
#define TG_SM_NV 2
#include "gemm_impl.h"

#define TG_SUFFIX avx2_f64
#define TG_VLEN 4
#define TG_T double
#define TG_MR 6
#define TG_NR 8
#define TG_VB 32
#define TG_KC 384
#define TG_MC 240
#define TG_NC 1024
#define TG_SM_MR 6
#define TG_SM_NV 2
#include "gemm_impl.h"
TG_END_TARGET

TG_BEGIN_AVX512
#define TG_SUFFIX avx512_f32
#define TG_VLEN 16
#define TG_T float
#define TG_MR 8
#define TG_NR 32
#define TG_VB 64
#define TG_KC 384
#define TG_MC 480
#define TG_NC 2048
#define TG_SM_MR 6
#define TG_SM_NV 4
#include "gemm_impl.h"

#define TG_SUFFIX avx512_f64
#define TG_VLEN 8
#define TG_T double
#define TG_MR 8
#define TG_NR 16
#define TG_VB 64
#define TG_KC 384
#define TG_MC 240
#define TG_NC 1024
#define TG_SM_MR 6
#define TG_SM_NV 4
#include "gemm_impl.h"
TG_END_TARGET
#endif

typedef void (*tg_gemm_fn)(const tg_gemm_args *, int);
typedef int (*tg_gemm_small_fn)(const tg_gemm_args *);

#if TG_X86_DISPATCH
static const tg_gemm_fn tg_gemm_f32[TG_SIMD_NLEVELS] = {tg_gemm_generic_f32, tg_gemm_avx2_f32, tg_gemm_avx512_f32};
static const tg_gemm_fn tg_gemm_f64[TG_SIMD_NLEVELS] = {tg_gemm_generic_f64, tg_gemm_avx2_f64, tg_gemm_avx512_f64};
static const tg_gemm_small_fn tg_gemm_small_f32[TG_SIMD_NLEVELS] = {tg_gemm_small_generic_f32, tg_gemm_small_avx2_f32,
                                                                  tg_gemm_small_avx512_f32};
static const tg_gemm_small_fn tg_gemm_small_f64[TG_SIMD_NLEVELS] = {tg_gemm_small_generic_f64, tg_gemm_small_avx2_f64,
                                                                  tg_gemm_small_avx512_f64};
#else
static const tg_gemm_small_fn tg_gemm_small_f32[TG_SIMD_NLEVELS] = {
    tg_gemm_small_generic_f32, tg_gemm_small_generic_f32, tg_gemm_small_generic_f32};
static const tg_gemm_small_fn tg_gemm_small_f64[TG_SIMD_NLEVELS] = {
    tg_gemm_small_generic_f64, tg_gemm_small_generic_f64, tg_gemm_small_generic_f64};
static const tg_gemm_fn tg_gemm_f32[TG_SIMD_NLEVELS] = {tg_gemm_generic_f32, tg_gemm_generic_f32,
                                                        tg_gemm_generic_f32};
static const tg_gemm_fn tg_gemm_f64[TG_SIMD_NLEVELS] = {tg_gemm_generic_f64, tg_gemm_generic_f64,
                                                        tg_gemm_generic_f64};
#endif

/* ---- degenerate case: k == 0 -> C = act(beta * C + bias) ----------------- */

#define TG_DEF_SCALE(NAME, T)                                                                                 \
    static void NAME(int64_t m, int64_t n, T beta, T *c, int64_t rsc, int64_t csc)                            \
    {                                                                                                          \
        int64_t i, j;                                                                                          \
        for (i = 0; i < m; ++i)                                                                                \
            for (j = 0; j < n; ++j) {                                                                          \
                T *p = c + i * rsc + j * csc;                                                                  \
                *p = beta == (T)0 ? (T)0 : beta * *p;                                                          \
            }                                                                                                  \
    }
TG_DEF_SCALE(tg_scale_f32, float)
TG_DEF_SCALE(tg_scale_f64, double)

/* ---- public entry points ------------------------------------------------- */

/* Small-path limits in multiply-adds, float32 and float64; variables so
 * tests and benchmarks can move them (tg_gemm_set_small_max). */
static int64_t tg_gemm_small_max[2] = {TG_GEMM_SMALL_MAX_FLOPS_F32, TG_GEMM_SMALL_MAX_FLOPS_F64};

int64_t tg_gemm_set_small_max(int which, int64_t flops)
{
    int64_t prev;
    which = which != 0;
    prev = tg_gemm_small_max[which];
    if (flops >= 0)
        tg_gemm_small_max[which] = flops;
    return prev;
}

static int tg_gemm_threads(int64_t m, int64_t n, int64_t k)
{
    double work = (double)m * (double)n * (double)k;
    if (work <= (double)TG_GEMM_PAR_MIN_FLOPS)
        return 1;
    return tg_get_num_threads();
}

#define TG_DEF_GEMM(NAME, T, TABLE, SMALL, SCALE, EPI, W)                                                    \
    int NAME##_epi(int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t rsa, int64_t csa, const T *b, \
                   int64_t rsb, int64_t csb, T beta, T *c, int64_t rsc, int64_t csc, const T *bias,             \
                   int64_t bias_stride, int act)                                                               \
    {                                                                                                          \
        int status = 0;                                                                                        \
        tg_gemm_args g;                                                                                        \
        if (m <= 0 || n <= 0)                                                                                  \
            return 0;                                                                                          \
        g.c = c;                                                                                               \
        g.rsc = rsc;                                                                                           \
        g.csc = csc;                                                                                           \
        g.bias = bias;                                                                                         \
        g.brs = 0;                                                                                             \
        g.bcs = bias_stride;                                                                                   \
        g.act = act;                                                                                           \
        if (k <= 0) {                                                                                          \
            SCALE(m, n, beta, c, rsc, csc);                                                                    \
            EPI(&g, 0, 0, m, n);                                                                               \
            return 0;                                                                                          \
        }                                                                                                      \
        g.m = m;                                                                                               \
        g.n = n;                                                                                               \
        g.k = k;                                                                                               \
        g.alpha = alpha;                                                                                       \
        g.beta = beta;                                                                                         \
        g.a = a;                                                                                               \
        g.rsa = rsa;                                                                                           \
        g.csa = csa;                                                                                           \
        g.b = b;                                                                                               \
        g.rsb = rsb;                                                                                           \
        g.csb = csb;                                                                                           \
        g.status = &status;                                                                                    \
        if ((double)m * (double)n * (double)k <= (double)tg_gemm_small_max[W])                                     \
            return SMALL[tg_simd_level()](&g);                                                                 \
        TABLE[tg_simd_level()](&g, tg_gemm_threads(m, n, k));                                                  \
        return status;                                                                                         \
    }                                                                                                          \
    int NAME(int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t rsa, int64_t csa, const T *b,      \
             int64_t rsb, int64_t csb, T beta, T *c, int64_t rsc, int64_t csc)                                 \
    {                                                                                                          \
        return NAME##_epi(m, n, k, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc, NULL, 0, TG_ACT_NONE);   \
    }

TG_DEF_GEMM(tg_sgemm, float, tg_gemm_f32, tg_gemm_small_f32, tg_scale_f32, tg_epilogue_generic_f32, 0)
TG_DEF_GEMM(tg_dgemm, double, tg_gemm_f64, tg_gemm_small_f64, tg_scale_f64, tg_epilogue_generic_f64, 1)

/* Batched: matrix b of the batch starts at a + b*bsa, b + b*bsb, c + b*bsc
 * (a batch stride of 0 broadcasts that operand). Large matrices are done one
 * after the other, each split over the threads; many small ones are split
 * over the batch, one thread per matrix. */
#define TG_DEF_GEMM_BATCHED(NAME, SINGLE, T)                                                                  \
    int NAME(int64_t batch, int64_t m, int64_t n, int64_t k, T alpha, const T *a, int64_t bsa, int64_t rsa,   \
             int64_t csa, const T *b, int64_t bsb, int64_t rsb, int64_t csb, T beta, T *c, int64_t bsc,       \
             int64_t rsc, int64_t csc)                                                                         \
    {                                                                                                          \
        int status = 0;                                                                                        \
        int64_t i;                                                                                             \
        int nth;                                                                                               \
        if (batch <= 0 || m <= 0 || n <= 0)                                                                    \
            return 0;                                                                                          \
        nth = tg_gemm_threads(m, n, k);                                                                        \
        if (nth > 1 || batch == 1 ||                                                                           \
            (double)batch * (double)m * (double)n * (double)k <= (double)TG_GEMM_PAR_MIN_FLOPS) {              \
            for (i = 0; i < batch; ++i) {                                                                      \
                int rc = SINGLE(m, n, k, alpha, a + i * bsa, rsa, csa, b + i * bsb, rsb, csb, beta,           \
                                c + i * bsc, rsc, csc);                                                        \
                if (rc != 0)                                                                                   \
                    status = rc;                                                                               \
            }                                                                                                  \
            return status;                                                                                     \
        }                                                                                                      \
        nth = tg_get_num_threads();                                                                            \
        TG_BATCH_PARALLEL_FOR                                                                                  \
        for (i = 0; i < batch; ++i) {                                                                          \
            int rc = SINGLE(m, n, k, alpha, a + i * bsa, rsa, csa, b + i * bsb, rsb, csb, beta, c + i * bsc,  \
                            rsc, csc);                                                                         \
            if (rc != 0)                                                                                       \
                status = rc;                                                                                   \
        }                                                                                                      \
        return status;                                                                                         \
    }

#ifdef TG_HAVE_OPENMP
#define TG_BATCH_PARALLEL_FOR TG_PRAGMA(omp parallel for num_threads(nth) if (parallel : nth > 1) schedule(static))
#else
#define TG_BATCH_PARALLEL_FOR
#endif

TG_DEF_GEMM_BATCHED(tg_sgemm_batched, tg_sgemm, float)
TG_DEF_GEMM_BATCHED(tg_dgemm_batched, tg_dgemm, double)
