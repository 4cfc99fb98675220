# element-wise activations and their fused backward (csrc/activations.c): Cython bindings, included by _kernels.pyx.
#
# Same signatures and semantics as tinygrad_cn/_C/ref_activations.py. The
# backward kernels take the forward INPUT x (torch's *_backward convention).
# Parameters are rounded to the element type, as torch does with its Scalars.

cdef extern from "tg_kernels.h" nogil:
    void tg_log_f32(const float *x, float *y, int64_t n)
    void tg_log_f64(const double *x, double *y, int64_t n)
    void tg_erf_f32(const float *x, float *y, int64_t n)
    void tg_erf_f64(const double *x, double *y, int64_t n)
    void tg_gelu_f32(const float *x, float *y, int64_t n)
    void tg_gelu_f64(const double *x, double *y, int64_t n)
    void tg_gelu_tanh_f32(const float *x, float *y, int64_t n)
    void tg_gelu_tanh_f64(const double *x, double *y, int64_t n)
    void tg_gelu_backward_f32(const float *x, const float *g, float *o, int64_t n)
    void tg_gelu_backward_f64(const double *x, const double *g, double *o, int64_t n)
    void tg_gelu_tanh_backward_f32(const float *x, const float *g, float *o, int64_t n)
    void tg_gelu_tanh_backward_f64(const double *x, const double *g, double *o, int64_t n)
    void tg_silu_f32(const float *x, float *y, int64_t n)
    void tg_silu_f64(const double *x, double *y, int64_t n)
    void tg_silu_backward_f32(const float *x, const float *g, float *o, int64_t n)
    void tg_silu_backward_f64(const double *x, const double *g, double *o, int64_t n)
    void tg_logsigmoid_f32(const float *x, float *y, int64_t n)
    void tg_logsigmoid_f64(const double *x, double *y, int64_t n)
    void tg_logsigmoid_backward_f32(const float *x, const float *g, float *o, int64_t n)
    void tg_logsigmoid_backward_f64(const double *x, const double *g, double *o, int64_t n)
    void tg_softplus_f32(const float *x, float *y, int64_t n, float beta, float threshold)
    void tg_softplus_f64(const double *x, double *y, int64_t n, double beta, double threshold)
    void tg_softplus_backward_f32(const float *x, const float *g, float *o, int64_t n, float beta, float threshold)
    void tg_softplus_backward_f64(const double *x, const double *g, double *o, int64_t n, double beta,
                                  double threshold)
    void tg_elu_f32(const float *x, float *y, int64_t n, float alpha)
    void tg_elu_f64(const double *x, double *y, int64_t n, double alpha)
    void tg_elu_backward_f32(const float *x, const float *g, float *o, int64_t n, float alpha)
    void tg_elu_backward_f64(const double *x, const double *g, double *o, int64_t n, double alpha)
    void tg_leaky_relu_f32(const float *x, float *y, int64_t n, float negative_slope)
    void tg_leaky_relu_f64(const double *x, double *y, int64_t n, double negative_slope)
    void tg_leaky_relu_backward_f32(const float *x, const float *g, float *o, int64_t n, float negative_slope)
    void tg_leaky_relu_backward_f64(const double *x, const double *g, double *o, int64_t n, double negative_slope)
    void tg_hardtanh_f32(const float *x, float *y, int64_t n, float min_val, float max_val)
    void tg_hardtanh_f64(const double *x, double *y, int64_t n, double min_val, double max_val)
    void tg_hardtanh_backward_f32(const float *x, const float *g, float *o, int64_t n, float min_val, float max_val)
    void tg_hardtanh_backward_f64(const double *x, const double *g, double *o, int64_t n, double min_val,
                                  double max_val)

# Kernels with parameters go through one calling convention: two parameters
# (a, b), converted to the element type; the adapters below drop unused ones.
ctypedef void (*unary_ab_f32_t)(const float *, float *, int64_t, float, float) noexcept nogil
ctypedef void (*unary_ab_f64_t)(const double *, double *, int64_t, double, double) noexcept nogil
ctypedef void (*binary_ab_f32_t)(const float *, const float *, float *, int64_t, float, float) noexcept nogil
ctypedef void (*binary_ab_f64_t)(const double *, const double *, double *, int64_t, double, double) noexcept nogil

cdef void _gelu_f32(const float *x, float *y, int64_t n, float a, float b) noexcept nogil:
    tg_gelu_f32(x, y, n)
cdef void _gelu_f64(const double *x, double *y, int64_t n, double a, double b) noexcept nogil:
    tg_gelu_f64(x, y, n)
cdef void _gelu_tanh_f32(const float *x, float *y, int64_t n, float a, float b) noexcept nogil:
    tg_gelu_tanh_f32(x, y, n)
cdef void _gelu_tanh_f64(const double *x, double *y, int64_t n, double a, double b) noexcept nogil:
    tg_gelu_tanh_f64(x, y, n)
cdef void _gelu_bw_f32(const float *x, const float *g, float *o, int64_t n, float a, float b) noexcept nogil:
    tg_gelu_backward_f32(x, g, o, n)
cdef void _gelu_bw_f64(const double *x, const double *g, double *o, int64_t n, double a, double b) noexcept nogil:
    tg_gelu_backward_f64(x, g, o, n)
cdef void _gelu_tanh_bw_f32(const float *x, const float *g, float *o, int64_t n, float a, float b) noexcept nogil:
    tg_gelu_tanh_backward_f32(x, g, o, n)
cdef void _gelu_tanh_bw_f64(const double *x, const double *g, double *o, int64_t n, double a,
                            double b) noexcept nogil:
    tg_gelu_tanh_backward_f64(x, g, o, n)
cdef void _elu_f32(const float *x, float *y, int64_t n, float a, float b) noexcept nogil:
    tg_elu_f32(x, y, n, a)
cdef void _elu_f64(const double *x, double *y, int64_t n, double a, double b) noexcept nogil:
    tg_elu_f64(x, y, n, a)
cdef void _elu_bw_f32(const float *x, const float *g, float *o, int64_t n, float a, float b) noexcept nogil:
    tg_elu_backward_f32(x, g, o, n, a)
cdef void _elu_bw_f64(const double *x, const double *g, double *o, int64_t n, double a, double b) noexcept nogil:
    tg_elu_backward_f64(x, g, o, n, a)
cdef void _leaky_f32(const float *x, float *y, int64_t n, float a, float b) noexcept nogil:
    tg_leaky_relu_f32(x, y, n, a)
cdef void _leaky_f64(const double *x, double *y, int64_t n, double a, double b) noexcept nogil:
    tg_leaky_relu_f64(x, y, n, a)
cdef void _leaky_bw_f32(const float *x, const float *g, float *o, int64_t n, float a, float b) noexcept nogil:
    tg_leaky_relu_backward_f32(x, g, o, n, a)
cdef void _leaky_bw_f64(const double *x, const double *g, double *o, int64_t n, double a, double b) noexcept nogil:
    tg_leaky_relu_backward_f64(x, g, o, n, a)


cdef object _unary_ab(object x, object out, unary_ab_f32_t f32, unary_ab_f64_t f64, double pa, double pb,
                      object ref, tuple refargs):
    cdef int t = _float_type(x)
    cdef cnp.ndarray a, o
    cdef int64_t n
    cdef void *px
    cdef void *po
    if t < 0:
        if out is None and isinstance(x, (float, np.float32)):
            return _unary_ab(np.asarray(x), None, f32, f64, pa, pb, ref, refargs)[()]
        return ref(x, *refargs, out=out)
    a = _as_c(<cnp.ndarray>x, t)
    o = _output(a, t, out)
    n = cnp.PyArray_SIZE(a)
    px = cnp.PyArray_DATA(a)
    po = cnp.PyArray_DATA(o)
    if t == cnp.NPY_FLOAT32:
        if n < NOGIL_MIN:
            f32(<const float *>px, <float *>po, n, <float>pa, <float>pb)
        else:
            with nogil:
                f32(<const float *>px, <float *>po, n, <float>pa, <float>pb)
    else:
        if n < NOGIL_MIN:
            f64(<const double *>px, <double *>po, n, pa, pb)
        else:
            with nogil:
                f64(<const double *>px, <double *>po, n, pa, pb)
    return o


cdef object _binary_ab(object x, object g, object out, binary_ab_f32_t f32, binary_ab_f64_t f64, double pa,
                       double pb, object ref, tuple refargs):
    cdef int t = _float_type(x)
    cdef cnp.ndarray a, b, o
    cdef int64_t n
    cdef void *px
    cdef void *pg
    cdef void *po
    if t < 0 or _float_type(g) != t or not cnp.PyArray_SAMESHAPE(<cnp.ndarray>x, <cnp.ndarray>g):
        return ref(x, g, *refargs, out=out)
    a = _as_c(<cnp.ndarray>x, t)
    b = _as_c(<cnp.ndarray>g, t)
    o = _output(a, t, out)
    n = cnp.PyArray_SIZE(a)
    px = cnp.PyArray_DATA(a)
    pg = cnp.PyArray_DATA(b)
    po = cnp.PyArray_DATA(o)
    if t == cnp.NPY_FLOAT32:
        if n < NOGIL_MIN:
            f32(<const float *>px, <const float *>pg, <float *>po, n, <float>pa, <float>pb)
        else:
            with nogil:
                f32(<const float *>px, <const float *>pg, <float *>po, n, <float>pa, <float>pb)
    else:
        if n < NOGIL_MIN:
            f64(<const double *>px, <const double *>pg, <double *>po, n, pa, pb)
        else:
            with nogil:
                f64(<const double *>px, <const double *>pg, <double *>po, n, pa, pb)
    return o


cdef inline bint _gelu_is_tanh(object approximate) except -1:
    if approximate == "none":
        return False
    if approximate == "tanh":
        return True
    raise ValueError("approximate argument must be either none or tanh, got %r" % (approximate,))


def log(x, out=None):
    """Natural log (< 1 ulp): log(0) = -inf, log(x < 0) = NaN, log(inf) = inf."""
    return _unary(x, out, tg_log_f32, tg_log_f64, _ref.log)


def erf(x, out=None):
    """Error function (~1 ulp)."""
    return _unary(x, out, tg_erf_f32, tg_erf_f64, _ref.erf)


def gelu(x, approximate="none", out=None):
    """x * Phi(x) ("none", via erfc: accurate in the lower tail) or torch's tanh form ("tanh")."""
    if _gelu_is_tanh(approximate):
        return _unary_ab(x, out, _gelu_tanh_f32, _gelu_tanh_f64, 0.0, 0.0, _ref.gelu, ("tanh",))
    return _unary_ab(x, out, _gelu_f32, _gelu_f64, 0.0, 0.0, _ref.gelu, ("none",))


def gelu_backward(x, gout, approximate="none", out=None):
    """gout * gelu'(x) (torch's gelu_backward, from the input x)."""
    if _gelu_is_tanh(approximate):
        return _binary_ab(x, gout, out, _gelu_tanh_bw_f32, _gelu_tanh_bw_f64, 0.0, 0.0, _ref.gelu_backward,
                          ("tanh",))
    return _binary_ab(x, gout, out, _gelu_bw_f32, _gelu_bw_f64, 0.0, 0.0, _ref.gelu_backward, ("none",))


def silu(x, out=None):
    """x * sigmoid(x)."""
    return _unary(x, out, tg_silu_f32, tg_silu_f64, _ref.silu)


def silu_backward(x, gout, out=None):
    """gout * s * (1 + x*(1 - s)), s = sigmoid(x)."""
    return _binary(x, gout, out, tg_silu_backward_f32, tg_silu_backward_f64, _ref.silu_backward)


def softplus(x, beta=1.0, threshold=20.0, out=None):
    """x where x*beta > threshold, else log1p(exp(beta*x)) / beta."""
    return _unary_ab(x, out, tg_softplus_f32, tg_softplus_f64, beta, threshold, _ref.softplus, (beta, threshold))


def softplus_backward(x, gout, beta=1.0, threshold=20.0, out=None):
    """gout where x*beta > threshold, else gout * sigmoid(beta*x)."""
    return _binary_ab(x, gout, out, tg_softplus_backward_f32, tg_softplus_backward_f64, beta, threshold,
                      _ref.softplus_backward, (beta, threshold))


def logsigmoid(x, out=None):
    """min(x, 0) - log1p(exp(-|x|))."""
    return _unary(x, out, tg_logsigmoid_f32, tg_logsigmoid_f64, _ref.logsigmoid)


def logsigmoid_backward(x, gout, out=None):
    """gout * sigmoid(-x)."""
    return _binary(x, gout, out, tg_logsigmoid_backward_f32, tg_logsigmoid_backward_f64, _ref.logsigmoid_backward)


def elu(x, alpha=1.0, out=None):
    """x where x > 0, else alpha * expm1(x)."""
    return _unary_ab(x, out, _elu_f32, _elu_f64, alpha, 0.0, _ref.elu, (alpha,))


def elu_backward(x, gout, alpha=1.0, out=None):
    """gout where x > 0, else gout * alpha * exp(x)."""
    return _binary_ab(x, gout, out, _elu_bw_f32, _elu_bw_f64, alpha, 0.0, _ref.elu_backward, (alpha,))


def leaky_relu(x, negative_slope=0.01, out=None):
    """x where x > 0, else x * negative_slope."""
    return _unary_ab(x, out, _leaky_f32, _leaky_f64, negative_slope, 0.0, _ref.leaky_relu, (negative_slope,))


def leaky_relu_backward(x, gout, negative_slope=0.01, out=None):
    """gout where x > 0, else gout * negative_slope."""
    return _binary_ab(x, gout, out, _leaky_bw_f32, _leaky_bw_f64, negative_slope, 0.0, _ref.leaky_relu_backward,
                      (negative_slope,))


def hardtanh(x, min_val=-1.0, max_val=1.0, out=None):
    """min(max(x, min_val), max_val); NaN passes."""
    return _unary_ab(x, out, tg_hardtanh_f32, tg_hardtanh_f64, min_val, max_val, _ref.hardtanh, (min_val, max_val))


def hardtanh_backward(x, gout, min_val=-1.0, max_val=1.0, out=None):
    """gout where min_val < x < max_val, else 0 (also for NaN x)."""
    return _binary_ab(x, gout, out, tg_hardtanh_backward_f32, tg_hardtanh_backward_f64, min_val, max_val,
                      _ref.hardtanh_backward, (min_val, max_val))
