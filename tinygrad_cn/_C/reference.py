"""NumPy reference implementations of the compiled kernels.

Same names and signatures as tinygrad_cn._C._kernels. They are the fallback
when the extension is missing or TINYGRAD_CN_NO_C=1, the path for dtypes the
C code does not handle, and the oracle of the kernel tests.

Each function returns a new array (or writes into ``out=`` and returns it).
No function emits floating-point warnings for any input: overflow to inf and
underflow to 0 are the intended results.
"""

import numpy as np

#: This namespace is the pure-NumPy backend.
compiled = False

__all__ = [
    "exp", "sigmoid", "tanh", "relu", "relu_backward", "sigmoid_backward", "tanh_backward",
    "gemm", "gemm_batched",
]


def _finish(result, out, *inputs):
    """Write into `out` if given; otherwise return `result`, as a scalar when
    no input was an array (as NumPy ufuncs do)."""
    if out is None:
        if result.ndim == 0 and not any(isinstance(a, np.ndarray) for a in inputs):
            return result[()]
        return result
    out[...] = result
    return out


def _via_float32(fn):
    """float16 computed in float32 and rounded once, where torch's CPU kernel
    does so (sigmoid, tanh_backward; measured bit-for-bit against torch 2.13).
    torch's sigmoid_backward rounds each half step, as plain NumPy does."""
    def wrapper(*args, out=None):
        if any(getattr(a, "dtype", None) == np.float16 for a in args):
            wide = [np.asarray(a, dtype=np.float32) if getattr(a, "dtype", None) == np.float16 else a for a in args]
            return _finish(np.asarray(fn(*wide)).astype(np.float16), out, *args)
        return fn(*args, out=out)
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def exp(x, out=None):
    """e**x."""
    with np.errstate(over="ignore", under="ignore"):
        if out is None:
            return np.exp(x)
        return np.exp(x, out=out)


@_via_float32
def sigmoid(x, out=None):
    """1 / (1 + e**-x), computed without overflow: with e = e**-|x|,
    1/(1+e) for x >= 0 and e/(1+e) for x < 0."""
    xa = np.asarray(x)
    if not np.issubdtype(xa.dtype, np.inexact):
        xa = xa.astype(np.float64)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        e = np.exp(-np.abs(xa))
        result = (np.where(xa >= 0, 1, e) / (1 + e)).astype(e.dtype, copy=False)
    return _finish(result, out, x)


def tanh(x, out=None):
    """Hyperbolic tangent."""
    if out is None:
        return np.tanh(x)
    return np.tanh(x, out=out)


def relu(x, out=None):
    """max(x, 0); NaN propagates."""
    if out is None:
        return np.maximum(x, 0)
    return np.maximum(x, 0, out=out)


def relu_backward(y, gout, out=None):
    """Gradient of relu from its output y: 0 where y <= 0, gout elsewhere
    (NaN in y passes gout through, like torch's threshold_backward)."""
    ya = np.asarray(y)
    ga = np.asarray(gout)
    result = np.where(ya <= 0, np.zeros((), dtype=ga.dtype), ga)
    return _finish(result, out, y, gout)


def sigmoid_backward(y, gout, out=None):
    """Gradient of sigmoid from its output y: gout * (1 - y) * y."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        result = gout * (1 - y) * y
    return _finish(result, out)


@_via_float32
def tanh_backward(y, gout, out=None):
    """Gradient of tanh from its output y: gout * (1 - y*y)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        result = gout * (1 - y * y)
    return _finish(result, out)


# --------------------------------------------------------------------------
# GEMM
# --------------------------------------------------------------------------

_TORCH_DTYPE_NAMES = {
    "float32": "float", "float64": "double", "float16": "Half", "int64": "long", "int32": "int",
    "int16": "short", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
}


def _torch_dtype_name(dtype):
    """torch's C++ name of a dtype (as in its dtype-mismatch messages)."""
    name = np.dtype(dtype).name
    return _TORCH_DTYPE_NAMES.get(name, name)


def _gemm_check(a, b, nd, fn):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.ndim != nd or b.ndim != nd:
        raise RuntimeError("%s expects %d-D arrays, got %d-D and %d-D" % (fn, nd, a.ndim, b.ndim))
    if a.dtype != b.dtype:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: %s != %s"
                           % (_torch_dtype_name(a.dtype), _torch_dtype_name(b.dtype)))
    if a.shape[-1] != b.shape[-2]:
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (%dx%d and %dx%d)"
                           % (a.shape[-2], a.shape[-1], b.shape[-2], b.shape[-1]))
    return a, b


def _gemm_finish(r, out, alpha, beta):
    if alpha != 1:
        r = (r * alpha).astype(r.dtype, copy=False)
    if out is None:
        return r
    if beta == 0:
        out[...] = r
    else:
        out[...] = r + (out * beta).astype(out.dtype, copy=False)
    return out


def gemm(a, b, out=None, alpha=1.0, beta=0.0, bias=None, activation=None):
    """activation(alpha * a @ b + beta * out + bias) for 2-D arrays (a new
    array when out is None; beta is then ignored; beta == 0 never reads out);
    bias 1-D of n elements, activation None or "relu"."""
    a, b = _gemm_check(a, b, 2, "gemm")
    if activation not in (None, "relu"):
        raise ValueError("activation must be None or 'relu', got %r" % (activation,))
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype != a.dtype:
            raise RuntimeError("expected bias to have dtype %s, but got %s" % (a.dtype, bias.dtype))
        if bias.shape != (b.shape[1],):
            raise RuntimeError("bias of shape %s cannot be added to %d output columns" % (bias.shape, b.shape[1]))
    if bias is None and activation is None:
        return _gemm_finish(np.matmul(a, b), out, alpha, beta)
    r = _gemm_finish(np.matmul(a, b), None if out is None else np.array(out), alpha, beta)
    if bias is not None:
        r += bias
    if activation == "relu":
        r = relu(r, out=r)
    if out is None:
        return r
    out[...] = r
    return out


def gemm_batched(a, b, out=None, alpha=1.0, beta=0.0):
    """Batched gemm of 3-D arrays whose batch sizes match or are 1."""
    a, b = _gemm_check(a, b, 3, "gemm_batched")
    if a.shape[0] != b.shape[0] and 1 not in (a.shape[0], b.shape[0]):
        raise RuntimeError("batch dimensions cannot be broadcast (%d and %d)" % (a.shape[0], b.shape[0]))
    return _gemm_finish(np.matmul(a, b), out, alpha, beta)


# Kernel families with references of their own (one module each).
from .ref_activations import *  # noqa: E402,F401,F403
from .ref_rowwise import *  # noqa: E402,F401,F403
from .ref_optim import *  # noqa: E402,F401,F403
from .ref_conv import *  # noqa: E402,F401,F403
from . import ref_activations as _ra, ref_rowwise as _rr, ref_optim as _ro, ref_conv as _rc  # noqa: E402

__all__ = __all__ + _ra.__all__ + _rr.__all__ + _ro.__all__ + _rc.__all__
