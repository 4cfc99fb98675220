/*
 * tg_dispatch.h -- internal helpers for writing kernels once and compiling
 * them for several ISAs. Not part of the public C interface.
 *
 * Pattern (see elementwise.c):
 *
 *     #define TG_SUFFIX generic
 *     #define TG_USE_FMA TG_GENERIC_HAS_FMA
 *     #include "foo_impl.h"          // defines foo_generic(...)
 *     ...
 *     #if TG_X86_DISPATCH
 *     TG_BEGIN_AVX2
 *     #define TG_SUFFIX avx2
 *     #define TG_USE_FMA 1
 *     #include "foo_impl.h"          // defines foo_avx2(...)
 *     TG_END_TARGET
 *     #endif
 *
 * and a small table indexed by tg_simd_level() picks the variant per call.
 */
#ifndef TG_DISPATCH_H
#define TG_DISPATCH_H

/* Per-ISA variants are built with GCC's `#pragma GCC target` on x86-64.
 * Other compilers/architectures get the generic variant only (it still
 * vectorises for the baseline ISA, or everything under -march=native).
 * -DTG_NO_X86_DISPATCH builds that generic-only variant on x86 too (used to
 * check that the non-x86 code path compiles). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER) && \
    !defined(TG_NO_X86_DISPATCH)
#define TG_X86_DISPATCH 1
#else
#define TG_X86_DISPATCH 0
#endif

#define TG_PRAGMA(x) _Pragma(#x)

#if TG_X86_DISPATCH
#define TG_BEGIN_AVX2 TG_PRAGMA(GCC push_options) TG_PRAGMA(GCC target("avx2,fma,bmi,bmi2,f16c"))
#define TG_BEGIN_AVX512                                                                                     \
    TG_PRAGMA(GCC push_options)                                                                             \
    TG_PRAGMA(GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,bmi,bmi2,f16c,prefer-vector-width=512"))
#define TG_END_TARGET TG_PRAGMA(GCC pop_options)
#endif

/* Does the generic build have a hardware FMA? (aarch64, or an opt-in
 * -march=native build on an FMA machine.) Otherwise a*b+c is used there. */
#if defined(__FP_FAST_FMA) && defined(__FP_FAST_FMAF)
#define TG_GENERIC_HAS_FMA 1
#else
#define TG_GENERIC_HAS_FMA 0
#endif

/* OpenMP pragmas. With -fopenmp-simd (no OpenMP runtime) `omp simd` still
 * works; the parallel branch is then never taken because
 * tg_get_num_threads() returns 1. */
#define TG_OMP(x) TG_PRAGMA(omp x)

/* The element-wise loop shared by every kernel family: `for i in [0, n)`
 * run BODY (a statement using i), on the calling thread below THRESH
 * elements or with one thread (no OpenMP region at all: a region skipped by
 * its `if` still costs ~300 ns), else as one `parallel for simd` with whole
 * vector chunks. BODY is variadic so that commas in it need no parentheses. */
#define TG_PAR_LOOP(N, THRESH, ...)                                                                            \
    do {                                                                                                       \
        const int64_t n_ = (N);                                                                                \
        const int nt_ = tg_get_num_threads();                                                                  \
        int64_t i;                                                                                             \
        if (n_ >= (THRESH) && nt_ > 1) {                                                                       \
            TG_OMP(parallel for simd schedule(simd : static) num_threads(nt_) if (parallel : n_ >= (THRESH)))  \
            for (i = 0; i < n_; ++i) {                                                                         \
                __VA_ARGS__;                                                                                   \
            }                                                                                                  \
        } else {                                                                                               \
            TG_OMP(simd)                                                                                       \
            for (i = 0; i < n_; ++i) {                                                                         \
                __VA_ARGS__;                                                                                   \
            }                                                                                                  \
        }                                                                                                      \
    } while (0)

#if defined(__GNUC__)
#define TG_INLINE static inline __attribute__((always_inline))
#else
#define TG_INLINE static inline
#endif

#define TG_CAT2(a, b) a##_##b
#define TG_CAT(a, b) TG_CAT2(a, b)

#endif /* TG_DISPATCH_H */
