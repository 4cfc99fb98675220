/*
 * tg_kernels.h -- public C interface of the tinygrad_cn compiled core.
 *
 * No Python here: plain C over contiguous arrays (pointer + element count).
 * The Cython bindings in tinygrad_cn/_C/_kernels.pyx check dtype, contiguity
 * and shape, release the GIL and call these functions.
 *
 * Runtime services shared by every kernel file (csrc/runtime.c):
 *   - SIMD dispatch level, detected once from the CPU and forceable for tests;
 *   - the OpenMP thread count used by every parallel kernel.
 *
 * Kernels written for more than one ISA (see csrc/elementwise.c) pick their
 * implementation on every call with tg_simd_level(); forcing a level therefore
 * takes effect immediately for all of them.
 */
#ifndef TG_KERNELS_H
#define TG_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Run-time CPU dispatch                                                     */
/* ------------------------------------------------------------------------ */

/* Dispatch levels, ordered: a CPU supporting level L supports every level
 * below L. On non-x86 targets (or compilers without per-function target
 * support) only TG_SIMD_GENERIC exists. */
enum {
    TG_SIMD_GENERIC = 0, /* compiler baseline for the target (SSE2 on x86-64) */
    TG_SIMD_AVX2 = 1,    /* AVX2 + FMA */
    TG_SIMD_AVX512 = 2,  /* AVX-512 F/DQ/VL (+ AVX2, FMA) */
    TG_SIMD_NLEVELS = 3
};

/* Level in use now (the detected best one unless forced). */
int tg_simd_level(void);
/* Best level this CPU supports and this build contains. */
int tg_simd_max_level(void);
/* 1 when the level can run here (CPU and build), else 0. */
int tg_simd_level_supported(int level);
/* Force a level. level < 0 goes back to the detected best level.
 * Returns 0 on success, -1 for an unknown level, -2 if not supported here. */
int tg_simd_set_level(int level);
/* "generic", "avx2", "avx512"; "unknown" for anything else. */
const char *tg_simd_level_name(int level);
/* Level number for a name (as above), or -1. */
int tg_simd_level_from_name(const char *name);

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

/* 1 when the extension was compiled with OpenMP, else 0. */
int tg_have_openmp(void);
/* Threads used by parallel kernels. Default: omp_get_max_threads() (the
 * number of cores unless OMP_NUM_THREADS says otherwise); always 1 without
 * OpenMP. Values < 1 are ignored by tg_set_num_threads (the Python layer
 * validates and raises). */
void tg_set_num_threads(int n);
int tg_get_num_threads(void);

/* Parallel thresholds (elements). Below them a kernel runs on the calling
 * thread and never enters an OpenMP region (an inactive region still costs
 * about 300 ns). Measured on a 2-core Zen 4 (shared/DESIGN.md). */
#define TG_PAR_MIN_MEMBOUND ((int64_t)32768) /* relu and every backward */
#define TG_PAR_MIN_EXP ((int64_t)16384)      /* exp, sigmoid, tanh */

/* ------------------------------------------------------------------------ */
/* Element-wise kernels (csrc/elementwise.c)                                 */
/* ------------------------------------------------------------------------ */
/* Contiguous input(s) of n elements, contiguous output of n elements.
 * The output may be the same buffer as an input (in-place); partial overlap
 * is not allowed. n <= 0 does nothing.
 *
 *   exp      y = e^x         (~1 ulp; +inf -> inf, -inf -> 0, NaN -> NaN,
 *                             correctly scaled subnormal results)
 *   sigmoid  y = 1/(1+e^-x)  (~2.3 ulp; no overflow for any x)
 *   tanh     y = tanh(x)     (~2.5 ulp; expm1-based, exact for tiny x, sign kept)
 *   relu     y = x < 0 ? 0 : x          (NaN propagates)
 *
 *   relu_backward(y, gout)     gin = y <= 0 ? 0 : gout   (torch's threshold_backward)
 *   sigmoid_backward(y, gout)  gin = gout * (1 - y) * y  (torch's evaluation order)
 *   tanh_backward(y, gout)     gin = gout * (1 - y * y)
 *
 * The backward kernels are compiled without floating-point contraction, so
 * they round exactly like the NumPy reference expressions.
 */
void tg_exp_f32(const float *x, float *y, int64_t n);
void tg_exp_f64(const double *x, double *y, int64_t n);
void tg_sigmoid_f32(const float *x, float *y, int64_t n);
void tg_sigmoid_f64(const double *x, double *y, int64_t n);
void tg_tanh_f32(const float *x, float *y, int64_t n);
void tg_tanh_f64(const double *x, double *y, int64_t n);
void tg_relu_f32(const float *x, float *y, int64_t n);
void tg_relu_f64(const double *x, double *y, int64_t n);

void tg_relu_backward_f32(const float *y, const float *gout, float *gin, int64_t n);
void tg_relu_backward_f64(const double *y, const double *gout, double *gin, int64_t n);
void tg_sigmoid_backward_f32(const float *y, const float *gout, float *gin, int64_t n);
void tg_sigmoid_backward_f64(const double *y, const double *gout, double *gin, int64_t n);
void tg_tanh_backward_f32(const float *y, const float *gout, float *gin, int64_t n);
void tg_tanh_backward_f64(const double *y, const double *gout, double *gin, int64_t n);

/* ------------------------------------------------------------------------ */
/* GEMM (csrc/gemm.c)                                                        */
/* ------------------------------------------------------------------------ */
/* C = alpha * A @ B + beta * C with A m x k, B k x n, C m x n. Element (i, j)
 * of X is X[i * rsx + j * csx]: strides in elements, any sign, so a
 * transposed operand is the same call with its two strides swapped. C must
 * not overlap A or B. beta == 0 never reads C (NaN/inf there are ignored).
 * m or n <= 0 does nothing; k <= 0 sets C = beta * C.
 * Packed BLIS-style kernel, SIMD level from tg_simd_level(); the ic loop runs
 * on tg_get_num_threads() threads when m*n*k > TG_GEMM_PAR_MIN_FLOPS. k is
 * never split, so results do not depend on the thread count.
 * Returns 0, or -1 when a packing buffer could not be allocated. */
#define TG_GEMM_PAR_MIN_FLOPS ((int64_t)262144)
/* Up to this many multiply-adds the small path runs: no A packing, no
 * OpenMP region, one thread (see gemm_impl.h). Measured against the packed
 * path on 2 threads (2-core Zen 4, same shape, interleaved): float32 small
 * is 1.66x at 100^3, 1.28x at 128^3, 0.91-1.16x at 4.2M (160^3, 64x256x256,
 * 256x64x256, 256x256x64), 0.95x at 200^3; float64 small is 1.12x at 100^3
 * and 0.87-0.96x at 2.1M (128^3, 64x128x256, 128x256x64). */
#define TG_GEMM_SMALL_MAX_FLOPS_F32 ((int64_t)4194304)
#define TG_GEMM_SMALL_MAX_FLOPS_F64 ((int64_t)1048576)
/* Sets the small-path limit of float32 (which == 0) or float64 (which == 1);
 * a negative value only queries. Returns the previous one. */
int64_t tg_gemm_set_small_max(int which, int64_t flops);

int tg_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
             const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc);
int tg_dgemm(int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t rsa, int64_t csa,
             const double *b, int64_t rsb, int64_t csb, double beta, double *c, int64_t rsc, int64_t csc);

/* The same with an epilogue applied while C is written: C = act(alpha*A@B +
 * beta*C + bias), bias[j * bias_stride] along n (NULL for none), act one of: */
#define TG_ACT_NONE 0
#define TG_ACT_RELU 1
int tg_sgemm_epi(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rsa, int64_t csa,
                 const float *b, int64_t rsb, int64_t csb, float beta, float *c, int64_t rsc, int64_t csc,
                 const float *bias, int64_t bias_stride, int act);
int tg_dgemm_epi(int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t rsa, int64_t csa,
                 const double *b, int64_t rsb, int64_t csb, double beta, double *c, int64_t rsc, int64_t csc,
                 const double *bias, int64_t bias_stride, int act);

/* `batch` independent products; matrix i uses a + i*bsa, b + i*bsb,
 * c + i*bsc (batch stride 0 broadcasts an operand; C's batch stride must
 * not make two products write the same elements). */
int tg_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t bsa,
                     int64_t rsa, int64_t csa, const float *b, int64_t bsb, int64_t rsb, int64_t csb, float beta,
                     float *c, int64_t bsc, int64_t rsc, int64_t csc);
int tg_dgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, double alpha, const double *a, int64_t bsa,
                     int64_t rsa, int64_t csa, const double *b, int64_t bsb, int64_t rsb, int64_t csb, double beta,
                     double *c, int64_t bsc, int64_t rsc, int64_t csc);

#ifdef __cplusplus
}
#endif

/* Kernel families declared in their own headers (one owner each). */
#include "tg_activations.h" /* activations.c: log, gelu, silu, softplus, ... */
#include "tg_rowwise.h"     /* rowwise.c: softmax, log_softmax, cross-entropy */
#include "tg_optim.h"       /* optim.c: fused optimizer steps */

#endif /* TG_KERNELS_H */
