"""NumPy reference of the element-wise activations and their fused backward (csrc/activations.c).

Same names and signatures as the compiled bindings in _activations.pxi:

    log(x, out=None)                         erf(x, out=None)
    gelu(x, approximate="none", out=None)    gelu_backward(x, gout, approximate="none", out=None)
    silu(x, out=None)                        silu_backward(x, gout, out=None)
    softplus(x, beta=1.0, threshold=20.0, out=None)
    softplus_backward(x, gout, beta=1.0, threshold=20.0, out=None)
    logsigmoid(x, out=None)                  logsigmoid_backward(x, gout, out=None)
    elu(x, alpha=1.0, out=None)              elu_backward(x, gout, alpha=1.0, out=None)
    leaky_relu(x, negative_slope=0.01, out=None)
    leaky_relu_backward(x, gout, negative_slope=0.01, out=None)
    hardtanh(x, min_val=-1.0, max_val=1.0, out=None)
    hardtanh_backward(x, gout, min_val=-1.0, max_val=1.0, out=None)

Every backward takes the forward INPUT x and the incoming gradient gout, as
torch's *_backward functions do. Semantics follow torch (checked against
torch 2.13 in tests/test_activation_kernels.py), including its edge values:
silu(-inf) = NaN, gelu(-inf) = NaN, the NaN of gelu/silu backward at +-inf;
for NaN x, leaky_relu_backward gives gout*slope, hardtanh_backward 0 and
elu_backward NaN (torch's vectorised kernels; its scalar tail loop differs).
Two deliberate differences, both in accuracy only: gelu uses erfc, so its
lower tail keeps full relative accuracy where torch's 1 + erf(x/sqrt2)
cancels to 0; and float32 gelu(+inf) is +inf (torch's float32 kernel gives
NaN there, its float64 kernel +inf).

float32 (and float16) inputs are computed in float64 and rounded once, with
the parameters rounded to float32 first and the intermediate values torch
rounds to the element type (x*beta in softplus, the inner polynomial of the
tanh GELU) rounded likewise. Integer and bool inputs give float64. No
function emits NumPy floating-point warnings.

NumPy has no erf: erf/erfc here use the same algorithm as the C code
(erf(z) = z*P(z^2) for |z| < 1, erfc(z) = t*exp(-z^2 + Q(t)) with
t = 1/(1+z/2) above), with the float64 coefficients below; fit_erf_coefficients()
recomputes them (and the float32 ones in csrc/tg_math_impl.h) with mpmath.
"""
import numpy as np

__all__ = [
    "log", "erf",
    "gelu", "gelu_backward", "silu", "silu_backward",
    "softplus", "softplus_backward", "logsigmoid", "logsigmoid_backward",
    "elu", "elu_backward", "leaky_relu", "leaky_relu_backward",
    "hardtanh", "hardtanh_backward",
]

# erf(z)/z = P(z^2) on |z| <= 1, ascending powers of z^2
ERF_P = (
    1.1283791670955126,
    -0.3761263890318375,
    0.11283791670954854,
    -0.02686617064507231,
    0.0052239776247753195,
    -0.0008548326978430694,
    0.00012055331025793798,
    -1.4925593245923501e-05,
    1.6460968721975601e-06,
    -1.634998274189769e-07,
    1.4657600165778558e-08,
    -1.1364607520605601e-09,
    5.943508233981782e-11,
)
# erfc(z) = t*exp(-z^2 + Q(t - tc)), t = 1/(1 + z/2): z in [0.5, 2.5) and [2.5, 27.3]
ERFC_TC = (0.625, 0.2578125)
ERFC_Q = ((
    -0.5014367259211941,
    1.3741671653900982,
    0.03961430737679292,
    -0.4081520349034124,
    0.02495686330377301,
    0.2735742402179591,
    -0.11874511793324341,
    -0.1869367069548866,
    0.20832831537919155,
    0.061531106458703855,
    -0.2473247331824461,
    0.10261967096431235,
    0.18230455785122715,
    -0.23802700732321527,
    -0.01035841991506567,
    0.2353380713896626,
    -0.14684190432159597,
), (
    -0.9819114034116663,
    1.20044077349594,
    0.37650464129953176,
    -0.11728324425368311,
    -0.29425394792125154,
    -0.08983027408844843,
    0.23519007870875963,
    0.21874982692199915,
    -0.19336025510901625,
    -0.3591375689399327,
    0.16546564495054744,
    0.5584244479634892,
    -0.1711981775289012,
    -0.8603094951918194,
    0.2687671403926782,
    1.1057752409096349,
    -0.4377228977511338,
))
_GELU_BETA = 0.7978845608028654  # sqrt(2/pi), torch's kBeta
_GELU_KAPPA = 0.044715


def _finish(result, out, *inputs):
    """Write into `out` if given; otherwise return `result`, as a scalar when
    no input was an array (as NumPy ufuncs do)."""
    if out is None:
        if result.ndim == 0 and not any(isinstance(a, np.ndarray) for a in inputs):
            return result[()]
        return result
    out[...] = result
    return out


def _dtypes(*arrays):
    """(result dtype, 'native' dtype in which torch rounds intermediates)."""
    dt = np.result_type(*arrays)
    if not np.issubdtype(dt, np.inexact):
        dt = np.dtype(np.float64)
    native = np.dtype(np.float32) if dt == np.float16 else dt
    return dt, native


def _par(p, native):
    """A Scalar parameter as torch sees it: rounded to the element type."""
    return float(native.type(p))


def _two_prod(a, b):
    """a*b = p + lo exactly (Veltkamp/Dekker), float64, |a|, |b| moderate."""
    p = a * b
    ca = a * 134217729.0
    cb = b * 134217729.0
    ah = ca - (ca - a)
    al = a - ah
    bh = cb - (cb - b)
    bl = b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _horner(u, coeffs):
    p = np.zeros_like(u) + coeffs[-1]
    for c in coeffs[-2::-1]:
        p = p * u + c
    return p


def _erf_small(z):
    return z * _horner(z * z, ERF_P)


def _erfc_big(a, al):
    """erfc(a + al) for 0 <= a <= 30 (float64 arrays), al a small correction."""
    t = 1.0 / (1.0 + 0.5 * a)
    lo = a < 2.5
    u = t - np.where(lo, ERFC_TC[0], ERFC_TC[1])
    q = np.where(lo, ERFC_Q[0][-1], ERFC_Q[1][-1])
    for c0, c1 in zip(ERFC_Q[0][-2::-1], ERFC_Q[1][-2::-1]):
        q = q * u + np.where(lo, c0, c1)
    a2, a2l = _two_prod(a, a)
    a2l = a2l + 2.0 * a * al
    # e^(-a2) * e^(q - a2l): the small part keeps its bits
    return t * np.exp(-a2) * np.exp(q - a2l)


def _normcdf(x, want_pdf=False):
    """Phi(x) (and phi(x)) for a float64 array, full relative accuracy."""
    xc = np.clip(x, -40.0, 40.0)
    zh, zl = _two_prod(xc, 0.7071067811865476)
    zl = zl + xc * -4.833646656726457e-17
    a = np.abs(zh)
    al = np.where(zh < 0, -zl, zl)
    small = np.abs(zh) < 1.0
    E = _erf_small(np.where(small, zh, 0.0)) + zl * 1.1283791670955126
    C = _erfc_big(np.minimum(a, 30.0), al)
    cdf = np.where(zh <= -0.5, 0.5 * C, np.where(zh >= 1.0, 1.0 - 0.5 * C, 0.5 + 0.5 * E))
    if not want_pdf:
        return cdf
    z2, z2l = _two_prod(zh, zh)
    z2l = z2l + 2.0 * zh * zl
    return cdf, 0.3989422804014327 * np.exp(-z2) * np.exp(-z2l)


def _sig2(v):
    """sigmoid(v) and 1 - sigmoid(v), both with full relative accuracy."""
    e = np.exp(-np.abs(v))
    r = 1.0 / (1.0 + e)
    pos = v >= 0
    return np.where(pos, r, e * r), np.where(pos, e * r, r)


def _ew(fn, x, out):
    """Apply fn to x in float64 and round to the result dtype."""
    dt, native = _dtypes(x)
    with np.errstate(all="ignore"):
        r = np.asarray(fn(np.asarray(x, dtype=np.float64), dt, native)).astype(dt)
    return _finish(r, out, x)


def _ew2(fn, x, gout, out):
    dt, native = _dtypes(x, gout)
    with np.errstate(all="ignore"):
        xw, gw = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(gout, dtype=np.float64))
        r = np.asarray(fn(xw, gw, dt, native)).astype(dt)
    return _finish(r, out, x, gout)


# --------------------------------------------------------------------------
# log, erf
# --------------------------------------------------------------------------

def log(x, out=None):
    """Natural log: log(0) = -inf, log(x < 0) = NaN, log(inf) = inf."""
    xa = np.asarray(x)
    if xa.dtype in (np.float32, np.float64):
        with np.errstate(all="ignore"):
            return _finish(np.log(xa), out, x)
    return _ew(lambda v, dt, nat: np.log(v), x, out)


def erf(x, out=None):
    """Error function (erf(+-inf) = +-1, erf(-0) = -0, NaN passes)."""
    def f(v, dt, nat):
        a = np.minimum(np.abs(v), 30.0)
        small = a < 1.0
        r = np.where(small, _erf_small(np.where(small, a, 0.0)), 1.0 - _erfc_big(a, 0.0))
        return np.copysign(np.where(np.isnan(v), v, r), v)
    return _ew(f, x, out)


# --------------------------------------------------------------------------
# GELU
# --------------------------------------------------------------------------

def _check_approximate(approximate):
    if approximate not in ("none", "tanh"):
        raise ValueError("approximate argument must be either none or tanh, got %r" % (approximate,))
    return approximate == "tanh"


def _gelu_inner(v, nat):
    """torch's tanh-GELU inner value and x^2, rounded as the element type."""
    xn = v.astype(nat)
    x2 = xn * xn
    inner = nat.type(_GELU_BETA) * (xn + nat.type(_GELU_KAPPA) * (x2 * xn))
    return inner.astype(np.float64), x2


def gelu(x, approximate="none", out=None):
    """x * Phi(x) ("none"), or x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ("tanh")."""
    tanh = _check_approximate(approximate)

    def f(v, dt, nat):
        if tanh:
            inner, _ = _gelu_inner(v, nat)
            return v * _sig2(2.0 * inner)[0]
        return v * _normcdf(v)
    return _ew(f, x, out)


def gelu_backward(x, gout, approximate="none", out=None):
    """gout * d gelu(x)/dx, torch's gelu_backward (NaN at x = +-inf, as torch)."""
    tanh = _check_approximate(approximate)

    def f(v, g, dt, nat):
        if tanh:
            inner, x2 = _gelu_inner(v, nat)
            s, sm = _sig2(2.0 * inner)
            dinner = (nat.type(_GELU_BETA) * (1 + 3 * nat.type(_GELU_KAPPA) * x2)).astype(np.float64)
            return g * (s + ((2.0 * v) * (s * sm)) * dinner)
        cdf, pdf = _normcdf(v, want_pdf=True)
        return g * (cdf + v * pdf)
    return _ew2(f, x, gout, out)


# --------------------------------------------------------------------------
# SiLU, softplus, log-sigmoid
# --------------------------------------------------------------------------

def silu(x, out=None):
    """x * sigmoid(x) (silu(-inf) = NaN, as torch)."""
    return _ew(lambda v, dt, nat: v * _sig2(v)[0], x, out)


def silu_backward(x, gout, out=None):
    """gout * s * (1 + x*(1 - s)), s = sigmoid(x)."""
    def f(v, g, dt, nat):
        s, sm = _sig2(v)
        return (g * s) * (1.0 + v * sm)
    return _ew2(f, x, gout, out)


def _softplus_z(v, beta, threshold, nat):
    b = _par(beta, nat)
    z = (v.astype(nat) * nat.type(b))
    return z.astype(np.float64), b, z > nat.type(_par(threshold, nat))


def softplus(x, beta=1.0, threshold=20.0, out=None):
    """x where x*beta > threshold, else log1p(exp(beta*x)) / beta."""
    def f(v, dt, nat):
        z, b, lin = _softplus_z(v, beta, threshold, nat)
        sp = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
        return np.where(lin, v, sp / b)
    return _ew(f, x, out)


def softplus_backward(x, gout, beta=1.0, threshold=20.0, out=None):
    """gout where x*beta > threshold, else gout * sigmoid(beta*x)."""
    def f(v, g, dt, nat):
        z, b, lin = _softplus_z(v, beta, threshold, nat)
        return np.where(lin, g, g * _sig2(z)[0])
    return _ew2(f, x, gout, out)


def logsigmoid(x, out=None):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|))."""
    return _ew(lambda v, dt, nat: np.minimum(v, 0.0) - np.log1p(np.exp(-np.abs(v))), x, out)


def logsigmoid_backward(x, gout, out=None):
    """gout * sigmoid(-x)."""
    return _ew2(lambda v, g, dt, nat: g * _sig2(v)[1], x, gout, out)


# --------------------------------------------------------------------------
# ELU, leaky ReLU, hardtanh
# --------------------------------------------------------------------------

def elu(x, alpha=1.0, out=None):
    """x where x > 0, else alpha * expm1(x)."""
    def f(v, dt, nat):
        return np.where(v > 0, v, np.expm1(np.where(v > 0, 0.0, v)) * _par(alpha, nat))
    return _ew(f, x, out)


def elu_backward(x, gout, alpha=1.0, out=None):
    """gout where x > 0, else gout * alpha * exp(x) (NaN for NaN x)."""
    def f(v, g, dt, nat):
        a = _par(alpha, nat)
        return np.where(v > 0, g, (g * a).astype(nat).astype(np.float64) * np.exp(np.minimum(v, 0.0)))
    return _ew2(f, x, gout, out)


def leaky_relu(x, negative_slope=0.01, out=None):
    """x where x > 0, else x * negative_slope."""
    return _ew(lambda v, dt, nat: np.where(v > 0, v, v * _par(negative_slope, nat)), x, out)


def leaky_relu_backward(x, gout, negative_slope=0.01, out=None):
    """gout where x > 0, else gout * negative_slope (also for NaN x, as torch)."""
    return _ew2(lambda v, g, dt, nat: np.where(v > 0, g, g * _par(negative_slope, nat)), x, gout, out)


def hardtanh(x, min_val=-1.0, max_val=1.0, out=None):
    """min(max(x, min_val), max_val) (torch's clamp: NaN passes, min_val > max_val gives max_val)."""
    def f(v, dt, nat):
        lo, hi = _par(min_val, nat), _par(max_val, nat)
        c = np.where(v < lo, lo, v)
        return np.where(c > hi, hi, c)
    return _ew(f, x, out)


def hardtanh_backward(x, gout, min_val=-1.0, max_val=1.0, out=None):
    """gout where min_val < x < max_val, else 0 (also for NaN x)."""
    def f(v, g, dt, nat):
        lo, hi = _par(min_val, nat), _par(max_val, nat)
        return np.where((v > lo) & (v < hi), g, 0.0)
    return _ew2(f, x, gout, out)


# --------------------------------------------------------------------------
# coefficients
# --------------------------------------------------------------------------

def fit_erf_coefficients():
    """Recompute the erf/erfc coefficients (needs mpmath; takes a few seconds).

    Least squares on Chebyshev nodes at 40 digits: erf(z)/z as a polynomial
    in z^2 on [0, 1] (degree 6 for float32, 12 for float64), and
    Q(t) = log(erfc(z)/t) + z^2 as a polynomial in t - tc, t = 1/(1 + z/2),
    on z in [0.5, 10.1] (float32, degree 9, tc = 0.48046875) and on
    [0.5, 2.5] / [2.5, 27.3] (float64, degree 16, tc = 0.625 / 0.2578125).
    Returns a dict of float lists."""
    import mpmath as mp

    mp.mp.dps = 40

    def fit(f, a, b, deg, n):
        xs = [(a + b) / 2 + (b - a) / 2 * mp.cos((2 * k + 1) * mp.pi / (2 * n)) for k in range(n)]
        A = mp.matrix([[x ** k for k in range(deg + 1)] for x in xs])
        B = mp.matrix([f(x) for x in xs])
        c = mp.lu_solve(A.T * A, A.T * B)
        return [float(c[k]) for k in range(deg + 1)]

    def erf_over_z(w):
        return mp.erf(mp.sqrt(w)) / mp.sqrt(w) if w > 0 else 2 / mp.sqrt(mp.pi)

    def q_of(tc):
        def q(u):
            t = u + tc
            z = (1 / t - 1) * 2
            return mp.log(mp.erfc(z) / t) + z * z
        return q

    def piece(zlo, zhi, deg, tc):
        ta, tb = 1 / (1 + mp.mpf(zhi) / 2), 1 / (1 + mp.mpf(zlo) / 2)
        return fit(q_of(tc), ta - tc, tb - tc, deg, 300)

    return {
        "ERF_F32": fit(erf_over_z, 0, 1, 6, 200),
        "ERF_F64": fit(erf_over_z, 0, 1, 12, 200),
        "ERFC_F32": piece(0.5, 10.1, 9, 0.48046875),
        "ERFC_F64_0": piece(0.5, 2.5, 16, 0.625),
        "ERFC_F64_1": piece(2.5, 27.3, 16, 0.2578125),
    }
