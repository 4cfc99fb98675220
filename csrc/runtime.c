/*
 * runtime.c -- SIMD level detection/forcing and the thread count shared by
 * all tinygrad_cn kernels. See tg_kernels.h.
 */
#include "tg_kernels.h"

#include <stdlib.h>
#include <string.h>

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif

#include "tg_dispatch.h"

/* ------------------------------------------------------------------------ */
/* SIMD level                                                                */
/* ------------------------------------------------------------------------ */

/* -1: not detected yet. Racing first callers compute the same value. */
static int tg_detected_level = -1;
static int tg_active_level = -1;

static int tg_detect_level(void)
{
#if TG_X86_DISPATCH
    __builtin_cpu_init();
    /* libgcc's __builtin_cpu_supports also checks that the OS saves the
     * AVX / AVX-512 register state (XGETBV). */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))
        return TG_SIMD_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return TG_SIMD_AVX2;
#endif
    return TG_SIMD_GENERIC;
}

int tg_simd_max_level(void)
{
    int lvl = __atomic_load_n(&tg_detected_level, __ATOMIC_RELAXED);
    if (lvl < 0) {
        lvl = tg_detect_level();
        __atomic_store_n(&tg_detected_level, lvl, __ATOMIC_RELAXED);
    }
    return lvl;
}

int tg_simd_level(void)
{
    int lvl = __atomic_load_n(&tg_active_level, __ATOMIC_RELAXED);
    if (lvl < 0) {
        lvl = tg_simd_max_level();
        /* Optional override for debugging: TINYGRAD_CN_SIMD=generic|avx2|avx512
         * (ignored when unknown or unsupported). */
        const char *env = getenv("TINYGRAD_CN_SIMD");
        if (env != NULL) {
            int want = tg_simd_level_from_name(env);
            if (want >= 0 && want <= lvl)
                lvl = want;
        }
        __atomic_store_n(&tg_active_level, lvl, __ATOMIC_RELAXED);
    }
    return lvl;
}

int tg_simd_level_supported(int level)
{
    return level >= 0 && level < TG_SIMD_NLEVELS && level <= tg_simd_max_level();
}

int tg_simd_set_level(int level)
{
    if (level < 0) {
        __atomic_store_n(&tg_active_level, tg_simd_max_level(), __ATOMIC_RELAXED);
        return 0;
    }
    if (level >= TG_SIMD_NLEVELS)
        return -1;
    if (!tg_simd_level_supported(level))
        return -2;
    __atomic_store_n(&tg_active_level, level, __ATOMIC_RELAXED);
    return 0;
}

static const char *const tg_level_names[TG_SIMD_NLEVELS] = {"generic", "avx2", "avx512"};

const char *tg_simd_level_name(int level)
{
    if (level < 0 || level >= TG_SIMD_NLEVELS)
        return "unknown";
    return tg_level_names[level];
}

int tg_simd_level_from_name(const char *name)
{
    int i;
    if (name == NULL)
        return -1;
    for (i = 0; i < TG_SIMD_NLEVELS; ++i)
        if (strcmp(name, tg_level_names[i]) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

/* 0: not set yet -> omp_get_max_threads() on first use. */
static int tg_num_threads = 0;

int tg_have_openmp(void)
{
#ifdef TG_HAVE_OPENMP
    return 1;
#else
    return 0;
#endif
}

void tg_set_num_threads(int n)
{
    if (n < 1)
        return;
#ifdef TG_HAVE_OPENMP
    __atomic_store_n(&tg_num_threads, n, __ATOMIC_RELAXED);
#else
    (void)n; /* without OpenMP every kernel runs on the calling thread */
#endif
}

int tg_get_num_threads(void)
{
#ifdef TG_HAVE_OPENMP
    int n = __atomic_load_n(&tg_num_threads, __ATOMIC_RELAXED);
    if (n < 1) {
        n = omp_get_max_threads();
        if (n < 1)
            n = 1;
        __atomic_store_n(&tg_num_threads, n, __ATOMIC_RELAXED);
    }
    return n;
#else
    return 1;
#endif
}
