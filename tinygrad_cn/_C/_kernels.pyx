# cython: language_level=3, boundscheck=False, wraparound=False
"""Compiled kernels of tinygrad_cn (thin Cython bindings over csrc/).

The element-wise and row-wise kernels take NumPy arrays and return a new
C-contiguous array of the input's shape (or write into ``out=``, which must
be a writeable, C-contiguous array of the same dtype and shape; it may be an
input). GEMM (_gemm.pxi), cross-entropy (_rowwise.pxi) and the optimizer
steps (_optim.pxi, in place) document their own conventions.

float32/float64 arrays go to C. Non-contiguous, misaligned or byte-swapped
float arrays are copied to a contiguous native array first. Anything else
(other dtypes, scalars, lists, backward calls whose two arrays differ in dtype
or shape) is handed to the NumPy reference in tinygrad_cn._C.reference, which
has the same signatures.

Users normally go through ``tinygrad_cn._C.kernels``, which picks this module
or the reference (see tinygrad_cn/_C/__init__.py).
"""

cimport numpy as cnp
from libc.stdint cimport int64_t

import numpy as np

from tinygrad_cn._C import reference as _ref

cnp.import_array()

cdef extern from "tg_kernels.h" nogil:
    int TG_SIMD_GENERIC
    int TG_SIMD_AVX2
    int TG_SIMD_AVX512
    int TG_SIMD_NLEVELS
    int TG_PAR_MIN_MEMBOUND
    int TG_PAR_MIN_EXP

    int tg_simd_level()
    int tg_simd_max_level()
    int tg_simd_level_supported(int level)
    int tg_simd_set_level(int level)
    const char *tg_simd_level_name(int level)
    int tg_simd_level_from_name(const char *name)

    int tg_have_openmp()
    void tg_set_num_threads(int n)
    int tg_get_num_threads()

    void tg_exp_f32(const float *x, float *y, int64_t n)
    void tg_exp_f64(const double *x, double *y, int64_t n)
    void tg_sigmoid_f32(const float *x, float *y, int64_t n)
    void tg_sigmoid_f64(const double *x, double *y, int64_t n)
    void tg_tanh_f32(const float *x, float *y, int64_t n)
    void tg_tanh_f64(const double *x, double *y, int64_t n)
    void tg_relu_f32(const float *x, float *y, int64_t n)
    void tg_relu_f64(const double *x, double *y, int64_t n)
    void tg_relu_backward_f32(const float *y, const float *g, float *o, int64_t n)
    void tg_relu_backward_f64(const double *y, const double *g, double *o, int64_t n)
    void tg_sigmoid_backward_f32(const float *y, const float *g, float *o, int64_t n)
    void tg_sigmoid_backward_f64(const double *y, const double *g, double *o, int64_t n)
    void tg_tanh_backward_f32(const float *y, const float *g, float *o, int64_t n)
    void tg_tanh_backward_f64(const double *y, const double *g, double *o, int64_t n)

ctypedef void (*unary_f32_t)(const float *, float *, int64_t) noexcept nogil
ctypedef void (*unary_f64_t)(const double *, double *, int64_t) noexcept nogil
ctypedef void (*binary_f32_t)(const float *, const float *, float *, int64_t) noexcept nogil
ctypedef void (*binary_f64_t)(const double *, const double *, double *, int64_t) noexcept nogil

#: The compiled backend is in use when this module is the one behind
#: tinygrad_cn._C.kernels.
compiled = True

# Below this many elements the GIL is kept: releasing and re-taking it costs
# more than the kernel.
cdef int64_t NOGIL_MIN = 4096
nogil_min_elements = NOGIL_MIN
parallel_min_elements = {"memory_bound": TG_PAR_MIN_MEMBOUND, "exp": TG_PAR_MIN_EXP}

_NATIVE = {cnp.NPY_FLOAT32: np.dtype(np.float32), cnp.NPY_FLOAT64: np.dtype(np.float64)}


# --------------------------------------------------------------------------
# argument handling
# --------------------------------------------------------------------------

cdef inline int _float_type(object x):
    """NPY_FLOAT32/NPY_FLOAT64 for a float32/float64 ndarray, else -1."""
    cdef int t
    if not cnp.PyArray_Check(x):
        return -1
    t = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if t == cnp.NPY_FLOAT32 or t == cnp.NPY_FLOAT64:
        return t
    return -1


cdef inline cnp.ndarray _as_c(cnp.ndarray a, int t):
    """`a` if C-contiguous, aligned and native byte order, else such a copy."""
    if cnp.PyArray_ISCARRAY_RO(a):
        return a
    return np.require(a, dtype=_NATIVE[t], requirements=["C", "A"])


cdef inline cnp.ndarray _output(cnp.ndarray a, int t, object out):
    cdef cnp.ndarray o
    if out is None:
        return <cnp.ndarray>cnp.PyArray_EMPTY(cnp.PyArray_NDIM(a), cnp.PyArray_DIMS(a), t, 0)
    if not cnp.PyArray_Check(out):
        raise TypeError("out must be a numpy.ndarray")
    o = <cnp.ndarray>out
    if cnp.PyArray_TYPE(o) != t:
        raise TypeError("out has dtype %s, expected %s" % (o.dtype, _NATIVE[t]))
    if not cnp.PyArray_SAMESHAPE(o, a):
        raise ValueError("out has shape %s, expected %s" % (np.shape(o), np.shape(a)))
    if not cnp.PyArray_ISCARRAY(o):
        raise ValueError("out must be a writeable, aligned, C-contiguous array in native byte order")
    return o


cdef inline void _call_unary(int t, unary_f32_t f32, unary_f64_t f64,
                             void *px, void *po, int64_t n) noexcept nogil:
    if t == cnp.NPY_FLOAT32:
        f32(<const float *>px, <float *>po, n)
    else:
        f64(<const double *>px, <double *>po, n)


cdef inline void _call_binary(int t, binary_f32_t f32, binary_f64_t f64,
                              void *pa, void *pb, void *po, int64_t n) noexcept nogil:
    if t == cnp.NPY_FLOAT32:
        f32(<const float *>pa, <const float *>pb, <float *>po, n)
    else:
        f64(<const double *>pa, <const double *>pb, <double *>po, n)


cdef object _unary(object x, object out, unary_f32_t f32, unary_f64_t f64, object ref):
    cdef int t = _float_type(x)
    cdef cnp.ndarray a, o
    cdef int64_t n
    cdef void *px
    cdef void *po
    if t < 0:
        if out is None and isinstance(x, (float, np.float32)):
            # NumPy float scalar (or Python float): compute in C, return a
            # scalar like the reference does.
            return _unary(np.asarray(x), None, f32, f64, ref)[()]
        return ref(x, out=out)
    a = _as_c(<cnp.ndarray>x, t)
    o = _output(a, t, out)
    n = cnp.PyArray_SIZE(a)
    px = cnp.PyArray_DATA(a)
    po = cnp.PyArray_DATA(o)
    if n < NOGIL_MIN:
        _call_unary(t, f32, f64, px, po, n)
    else:
        with nogil:
            _call_unary(t, f32, f64, px, po, n)
    return o


cdef object _binary(object y, object g, object out, binary_f32_t f32, binary_f64_t f64, object ref):
    cdef int t = _float_type(y)
    cdef cnp.ndarray a, b, o
    cdef int64_t n
    cdef void *pa
    cdef void *pb
    cdef void *po
    if t < 0 or _float_type(g) != t or not cnp.PyArray_SAMESHAPE(<cnp.ndarray>y, <cnp.ndarray>g):
        return ref(y, g, out=out)
    a = _as_c(<cnp.ndarray>y, t)
    b = _as_c(<cnp.ndarray>g, t)
    o = _output(a, t, out)
    n = cnp.PyArray_SIZE(a)
    pa = cnp.PyArray_DATA(a)
    pb = cnp.PyArray_DATA(b)
    po = cnp.PyArray_DATA(o)
    if n < NOGIL_MIN:
        _call_binary(t, f32, f64, pa, pb, po, n)
    else:
        with nogil:
            _call_binary(t, f32, f64, pa, pb, po, n)
    return o


# --------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------

def exp(x, out=None):
    """e**x. float32 is accurate to 1 ulp; exp(88.73f) = inf, exp(-104f) = 0."""
    return _unary(x, out, tg_exp_f32, tg_exp_f64, _ref.exp)


def sigmoid(x, out=None):
    """1 / (1 + e**-x), without overflow for large |x|."""
    return _unary(x, out, tg_sigmoid_f32, tg_sigmoid_f64, _ref.sigmoid)


def tanh(x, out=None):
    """Hyperbolic tangent."""
    return _unary(x, out, tg_tanh_f32, tg_tanh_f64, _ref.tanh)


def relu(x, out=None):
    """max(x, 0); NaN stays NaN."""
    return _unary(x, out, tg_relu_f32, tg_relu_f64, _ref.relu)


def relu_backward(y, gout, out=None):
    """gin = 0 where y <= 0, else gout (y is relu's output)."""
    return _binary(y, gout, out, tg_relu_backward_f32, tg_relu_backward_f64, _ref.relu_backward)


def sigmoid_backward(y, gout, out=None):
    """gin = gout * (1 - y) * y (y is sigmoid's output)."""
    return _binary(y, gout, out, tg_sigmoid_backward_f32, tg_sigmoid_backward_f64, _ref.sigmoid_backward)


def tanh_backward(y, gout, out=None):
    """gin = gout * (1 - y*y) (y is tanh's output)."""
    return _binary(y, gout, out, tg_tanh_backward_f32, tg_tanh_backward_f64, _ref.tanh_backward)


# --------------------------------------------------------------------------
# runtime: SIMD dispatch, threads
# --------------------------------------------------------------------------

def simd_level():
    """Name of the SIMD level in use: "avx512", "avx2" or "generic"."""
    return tg_simd_level_name(tg_simd_level()).decode()


def simd_max_level():
    """Best SIMD level this CPU supports and this build contains."""
    return tg_simd_level_name(tg_simd_max_level()).decode()


def simd_supported_levels():
    """Names of every level that can run here, lowest first."""
    return tuple(tg_simd_level_name(i).decode() for i in range(TG_SIMD_NLEVELS)
                 if tg_simd_level_supported(i))


def set_simd_level(level):
    """Force a SIMD level by name ("generic", "avx2", "avx512"), or go back
    to the detected best one with None / "auto". Returns the previous name."""
    cdef int code, rc
    prev = simd_level()
    if level is None or level == "auto":
        tg_simd_set_level(-1)
        return prev
    if not isinstance(level, str):
        raise TypeError("SIMD level must be a str or None")
    code = tg_simd_level_from_name(level.encode())
    if code < 0:
        raise ValueError("unknown SIMD level %r (expected one of 'generic', 'avx2', 'avx512', 'auto')" % (level,))
    rc = tg_simd_set_level(code)
    if rc != 0:
        raise RuntimeError("SIMD level %r is not supported on this machine (supported: %s)"
                           % (level, ", ".join(simd_supported_levels())))
    return prev


def have_openmp():
    """True when the extension was compiled with OpenMP."""
    return bool(tg_have_openmp())


def set_num_threads(int n):
    """Threads used by parallel kernels (n >= 1; checked by the caller)."""
    if n < 1:
        raise ValueError("number of threads must be >= 1")
    tg_set_num_threads(n)


def get_num_threads():
    """Threads used by parallel kernels (1 without OpenMP)."""
    return tg_get_num_threads()


# --------------------------------------------------------------------------
# GEMM
# --------------------------------------------------------------------------

include "_gemm.pxi"
include "_activations.pxi"
include "_rowwise.pxi"
include "_optim.pxi"
include "_conv.pxi"
