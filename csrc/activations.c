/*
 * activations.c -- log, erf and the element-wise activations with their
 * backward kernels (GELU exact and tanh, SiLU, softplus, log-sigmoid, ELU,
 * leaky ReLU, hardtanh), float32 and float64, one pass over memory.
 *
 * Same scheme as elementwise.c: the bodies live in activations_impl.h and are
 * compiled for generic, AVX2+FMA and AVX-512; each public tg_* function picks
 * its variant with tg_simd_level() on every call.
 */

/* No implicit contraction (see elementwise.c): results do not depend on the
 * split into vector body and tail, and the exact-product helpers rely on it. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "tg_kernels.h"

#include <stdint.h>

#include "tg_dispatch.h"

typedef void (*tga_u32)(const float *, float *, int64_t, float, float);
typedef void (*tga_u64)(const double *, double *, int64_t, double, double);
typedef void (*tga_b32)(const float *, const float *, float *, int64_t, float, float);
typedef void (*tga_b64)(const double *, const double *, double *, int64_t, double, double);

#define TGA_UNARY_LIST(X) X(log) X(erf) X(gelu) X(gelu_tanh) X(silu) X(softplus) X(logsigmoid) X(elu) \
    X(leaky_relu) X(hardtanh)
#define TGA_BINARY_LIST(X) X(gelu_backward) X(gelu_tanh_backward) X(silu_backward) X(softplus_backward) \
    X(logsigmoid_backward) X(elu_backward) X(leaky_relu_backward) X(hardtanh_backward)

typedef struct {
#define TGA_U(name)                                                                                           \
    tga_u32 name##_f32;                                                                                       \
    tga_u64 name##_f64;
#define TGA_B(name)                                                                                           \
    tga_b32 name##_f32;                                                                                       \
    tga_b64 name##_f64;
    TGA_UNARY_LIST(TGA_U)
    TGA_BINARY_LIST(TGA_B)
#undef TGA_U
#undef TGA_B
} tga_table;

/* ---- generic ---- */
#define TG_SUFFIX generic
#define TG_USE_FMA TG_GENERIC_HAS_FMA
#include "activations_impl.h"

#if TG_X86_DISPATCH
/* ---- AVX2 + FMA ---- */
TG_BEGIN_AVX2
#define TG_SUFFIX avx2
#define TG_USE_FMA 1
#include "activations_impl.h"
TG_END_TARGET

/* ---- AVX-512 ---- */
TG_BEGIN_AVX512
#define TG_SUFFIX avx512
#define TG_USE_FMA 1
#include "activations_impl.h"
TG_END_TARGET

static const tga_table *const tga_tables[TG_SIMD_NLEVELS] = {
    &tga_table_generic,
    &tga_table_avx2,
    &tga_table_avx512,
};
#else
static const tga_table *const tga_tables[TG_SIMD_NLEVELS] = {
    &tga_table_generic,
    &tga_table_generic,
    &tga_table_generic,
};
#endif

#define TGA_TABLE() (tga_tables[tg_simd_level()])

/* ---- public entry points ---- */
#define TGA_DEF_U0(NAME, FIELD, T)                                                                           \
    void tg_##NAME(const T *x, T *y, int64_t n)                                                              \
    {                                                                                                         \
        if (n > 0)                                                                                            \
            TGA_TABLE()->FIELD(x, y, n, (T)0, (T)0);                                                          \
    }
#define TGA_DEF_B0(NAME, FIELD, T)                                                                           \
    void tg_##NAME(const T *x, const T *gout, T *gin, int64_t n)                                             \
    {                                                                                                         \
        if (n > 0)                                                                                            \
            TGA_TABLE()->FIELD(x, gout, gin, n, (T)0, (T)0);                                                  \
    }
#define TGA_DEF_U1(NAME, T, P)                                                                               \
    void tg_##NAME(const T *x, T *y, int64_t n, T P)                                                         \
    {                                                                                                         \
        if (n > 0)                                                                                            \
            TGA_TABLE()->NAME(x, y, n, P, (T)0);                                                              \
    }
#define TGA_DEF_B1(NAME, T, P)                                                                               \
    void tg_##NAME(const T *x, const T *gout, T *gin, int64_t n, T P)                                        \
    {                                                                                                         \
        if (n > 0)                                                                                            \
            TGA_TABLE()->NAME(x, gout, gin, n, P, (T)0);                                                      \
    }
#define TGA_DEF_U2(NAME, T, P, Q)                                                                            \
    void tg_##NAME(const T *x, T *y, int64_t n, T P, T Q)                                                    \
    {                                                                                                         \
        if (n > 0)                                                                                            \
            TGA_TABLE()->NAME(x, y, n, P, Q);                                                                 \
    }
#define TGA_DEF_B2(NAME, T, P, Q)                                                                            \
    void tg_##NAME(const T *x, const T *gout, T *gin, int64_t n, T P, T Q)                                   \
    {                                                                                                         \
        if (n > 0)                                                                                            \
            TGA_TABLE()->NAME(x, gout, gin, n, P, Q);                                                         \
    }

#define TGA_DEF_BOTH(MAC, NAME, ...) MAC(NAME##_f32, float, __VA_ARGS__) MAC(NAME##_f64, double, __VA_ARGS__)

TGA_DEF_U0(log_f32, log_f32, float)
TGA_DEF_U0(log_f64, log_f64, double)
TGA_DEF_U0(erf_f32, erf_f32, float)
TGA_DEF_U0(erf_f64, erf_f64, double)
TGA_DEF_U0(gelu_f32, gelu_f32, float)
TGA_DEF_U0(gelu_f64, gelu_f64, double)
TGA_DEF_U0(gelu_tanh_f32, gelu_tanh_f32, float)
TGA_DEF_U0(gelu_tanh_f64, gelu_tanh_f64, double)
TGA_DEF_B0(gelu_backward_f32, gelu_backward_f32, float)
TGA_DEF_B0(gelu_backward_f64, gelu_backward_f64, double)
TGA_DEF_B0(gelu_tanh_backward_f32, gelu_tanh_backward_f32, float)
TGA_DEF_B0(gelu_tanh_backward_f64, gelu_tanh_backward_f64, double)
TGA_DEF_U0(silu_f32, silu_f32, float)
TGA_DEF_U0(silu_f64, silu_f64, double)
TGA_DEF_B0(silu_backward_f32, silu_backward_f32, float)
TGA_DEF_B0(silu_backward_f64, silu_backward_f64, double)
TGA_DEF_U0(logsigmoid_f32, logsigmoid_f32, float)
TGA_DEF_U0(logsigmoid_f64, logsigmoid_f64, double)
TGA_DEF_B0(logsigmoid_backward_f32, logsigmoid_backward_f32, float)
TGA_DEF_B0(logsigmoid_backward_f64, logsigmoid_backward_f64, double)
TGA_DEF_BOTH(TGA_DEF_U2, softplus, beta, threshold)
TGA_DEF_BOTH(TGA_DEF_B2, softplus_backward, beta, threshold)
TGA_DEF_BOTH(TGA_DEF_U1, elu, alpha)
TGA_DEF_BOTH(TGA_DEF_B1, elu_backward, alpha)
TGA_DEF_BOTH(TGA_DEF_U1, leaky_relu, negative_slope)
TGA_DEF_BOTH(TGA_DEF_B1, leaky_relu_backward, negative_slope)
TGA_DEF_BOTH(TGA_DEF_U2, hardtanh, min_val, max_val)
TGA_DEF_BOTH(TGA_DEF_B2, hardtanh_backward, min_val, max_val)
