"""Reductions over ``dim`` (int, tuple or None; negative allowed) with ``keepdim``."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import _dtype
from .._C import KERNEL_DTYPES, kernels as K
from ..autograd.grad_mode import STATE
from ..autograd.function import Function
from ..tensor import Tensor, tensor_method, _wrap_dim, _EXPORTS
from ..tensor import wrap_dims
from .pointwise import where, float_input, _out, maximum, minimum, Constant

_make = Tensor._make

max_result = namedtuple("max", ["values", "indices"])
min_result = namedtuple("min", ["values", "indices"])
var_mean_result = namedtuple("var_mean", ["var", "mean"])


def _type_name(x) -> str:
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
            "float16": "Half", "float32": "Float", "float64": "Double"}[x._data.dtype.name]


def _unreduce(g: Tensor, shape, axes, keepdim) -> Tensor:
    """Bring a reduced gradient back to broadcastable form (keepdim shape)."""
    if not keepdim and axes:
        kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
        g = g.reshape(kept)
    return g


def _sum_dtype(x: Tensor, dtype):
    if dtype is not None:
        return _dtype.to_dtype(dtype)
    return _dtype.int64 if x._data.dtype.kind in "iub" else x.dtype


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.args = (x._data.shape, axes, keepdim)
        return np.add.reduce(x._data, axis=axes, keepdims=keepdim)  # the ufunc itself: np.sum's wrapper costs

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim = ctx.args
        return _unreduce(g, shape, axes, keepdim).expand(shape), None, None


@tensor_method("sum")
def sum(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):
    """Sum over ``dim`` (all dims when None); integers and bools sum to int64.

    Example::

        >>> tinygrad_cn.ones(2, 3).sum(dim=1)
        tensor([3., 3.])
    """
    dt = _sum_dtype(input, dtype)
    x = input if input._data.dtype == dt.np else input.to(dt)
    axes = wrap_dims(dim, x._data.ndim) if not (isinstance(dim, (tuple, list)) and len(dim) == 0) else \
        tuple(range(x._data.ndim))
    return _out((Sum if dim is None else SumDim).apply(x, axes, keepdim), out)


class SumDim(Sum):
    node_name = "SumBackward1"  # torch's name for sum over given dims


@tensor_method("nansum")
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return sum(where(input.isnan(), 0.0, input), dim, keepdim, dtype=dtype)


@tensor_method("mean")
def mean(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_type_word(input)}")
    axes = wrap_dims(dim, input._data.ndim) if not (isinstance(dim, (tuple, list)) and len(dim) == 0) else \
        tuple(range(input._data.ndim))
    return _out(Mean.apply(input, axes, keepdim), out)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        n = 1
        for a in axes:
            n *= x._data.shape[a]
        ctx.args = (x._data.shape, axes, keepdim, n)
        if n == 0:  # the mean of nothing is nan, as in torch, without NumPy's warning
            return np.full(np.sum(x._data, axis=axes, keepdims=keepdim).shape, np.nan, dtype=x._data.dtype)
        return np.asarray(np.mean(x._data, axis=axes, keepdims=keepdim))

    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim, n = ctx.args
        return _unreduce(g, shape, axes, keepdim).expand(shape) / n, None, None


def _type_word(x):
    return {"int64": "Long", "int32": "Int", "bool": "Bool", "uint8": "Byte", "int8": "Char",
            "int16": "Short"}.get(x.dtype.name, x.dtype.name)


@tensor_method("nanmean")
def nanmean(input, dim=None, keepdim=False):
    keep = ~input.isnan()
    return nansum(input, dim, keepdim) / keep.sum(dim, keepdim)


class Prod(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        y = _make(np.asarray(np.prod(x._data, axis=axes, keepdims=keepdim)))
        ctx.save_for_backward(x, y)
        ctx.args = (axes, keepdim)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        axes, keepdim = ctx.args
        g = _unreduce(g, x._data.shape, axes, keepdim)
        y = _unreduce(y, x._data.shape, axes, keepdim)
        if not (x._data == 0).any():
            return g * y / x, None, None
        # With zeros, y / x is undefined: use the product of the other elements.
        return ProdGradWithZeros.apply(x, g, axes), None, None


class ProdGradWithZeros(Function):
    """g * prod_{j != i} x_j along the reduced axes, for inputs with zeros; a Function
    of its own so that double backward through prod stays exact there (torch's
    prod_safe_zeros_backward is differentiable too). Its own backward is computed
    in NumPy, so a third derivative through it is not recorded."""

    @staticmethod
    def forward(ctx, x, g, axes):
        ctx.save_for_backward(x, g)
        ctx.axes = axes
        return g._data * _prod_of_others(x._data, axes)

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        axes = ctx.axes
        a, hd = x._data, np.broadcast_to(h._data, x._data.shape)
        need_x, need_g = ctx.needs_input_grad[:2]
        gg = _make(hd * _prod_of_others(a, axes)) if need_g else None  # the engine sums it to g's shape
        gx = None
        if need_x:
            # d/dx_k sum_i h_i g prod_{j != i} x_j = g * sum_{i != k} h_i prod_{j != i, k} x_j:
            # the products of the others with x_k replaced by 1, one k at a time.
            lead = tuple(range(-len(axes), 0))
            xm = np.moveaxis(a, axes, lead)
            batch = xm.shape[:xm.ndim - len(axes)]
            xf = xm.reshape(batch + (-1,))
            hf = np.moveaxis(hd, axes, lead).reshape(batch + (-1,))
            out = np.empty_like(xf)
            for k in range(xf.shape[-1]):
                xk = xf.copy()
                xk[..., k] = 1
                terms = hf * _prod_of_others(xk, (xk.ndim - 1,))
                terms[..., k] = 0
                out[..., k] = terms.sum(-1)
            gb = np.broadcast_to(g._data, a.shape)
            gx = _make(np.moveaxis(out.reshape(xm.shape), lead, axes) * gb)
        return gx, gg, None


def _prod_of_others(a: np.ndarray, axes) -> np.ndarray:
    moved = np.moveaxis(a, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape(moved.shape[:moved.ndim - len(axes)] + (-1,))
    left = np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), flat[..., :-1]], -1), -1)
    right = np.flip(np.cumprod(np.concatenate([np.ones_like(flat[..., :1]), np.flip(flat, -1)[..., :-1]], -1), -1), -1)
    return np.moveaxis((left * right).reshape(moved.shape), tuple(range(-len(axes), 0)), axes)


@tensor_method("prod")
def prod(input, dim=None, keepdim: bool = False, *, dtype=None, out=None):
    dt = _sum_dtype(input, dtype)
    x = input if input._data.dtype == dt.np else input.to(dt)
    return _out(Prod.apply(x, wrap_dims(dim, x._data.ndim), keepdim), out)


# -- max / min -------------------------------------------------------------------
class Extreme(Function):
    """amax / amin: ties share the gradient equally, as torch does."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, largest, nan_split):
        f = np.max if largest else np.min
        y = _make(np.asarray(f(x._data, axis=axes, keepdims=keepdim)))
        ctx.save_for_backward(x, y)
        ctx.args = (axes, keepdim, nan_split)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        axes, keepdim, nan_split = ctx.args
        g = _unreduce(g, x._data.shape, axes, keepdim)
        y = _unreduce(y, x._data.shape, axes, keepdim)
        # torch's scale_grad_by_count: (grad / count) * mask. For amax/amin a NaN result matches
        # nothing, so its whole slice gets 0 * inf = NaN; max()/min() over everything split the
        # gradient among the NaNs instead (evenly_distribute_backward). Both as in torch.
        hit = x == y
        if nan_split and y._data.dtype.kind == "f" and np.isnan(y._data).any():
            hit = x.isnan()
        count = hit.sum(axes, keepdim=True)
        return (g / count) * hit.to(g.dtype), None, None, None, None


def _extreme_axes(input, dim, name):
    """Axes of amax/amin/max/min; an empty reduction raises as torch does."""
    full = dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)
    axes = wrap_dims(None if full else dim, input._data.ndim)
    if input._data.size == 0:
        if full:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        for a in axes:
            if input._data.shape[a] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")
    return axes


# Node names as torch's: AmaxBackward0, AminBackward0, and MaxBackward1 for the full max.
class Amax(Extreme):
    pass


class Amin(Extreme):
    pass


class MaxAll(Extreme):
    node_name = "MaxBackward1"


class MinAll(Extreme):
    node_name = "MinBackward1"


@tensor_method("amax")
def amax(input, dim=(), keepdim: bool = False):
    return Amax.apply(input, _extreme_axes(input, dim, "amax"), keepdim, True, False)


@tensor_method("amin")
def amin(input, dim=(), keepdim: bool = False):
    return Amin.apply(input, _extreme_axes(input, dim, "amin"), keepdim, False, False)


def _extreme_with_index(input, dim, keepdim, largest):
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.ndim and input._data.shape[d] == 0:
        raise IndexError(f"{'max' if largest else 'min'}(): Expected reduction dim {d} to have non-zero size.")
    data = input._data
    if input._data.ndim == 0:
        idx = np.zeros((), dtype=np.int64)
        return input.clone(), _make(idx)
    # NaN wins, as in torch: argmax of a NaN-containing row points at the first NaN.
    pick = np.argmax if largest else np.argmin
    idx = pick(data, axis=d)
    nan_rows = np.isnan(data).any(axis=d) if data.dtype.kind == "f" else None
    if nan_rows is not None and nan_rows.any():
        idx = np.where(nan_rows, np.argmax(np.isnan(data), axis=d), idx)
    idx = np.expand_dims(idx.astype(np.int64), d)
    index = _make(idx)
    values = input.gather(d, index)
    if not keepdim:
        values, index = values.squeeze(d), _make(np.squeeze(idx, d))
    return values, index


@tensor_method("max")
def max(input, dim=None, keepdim: bool = False, *, out=None):
    """``max(x)``: the largest value; ``max(x, dim)``: (values, indices); ``max(x, other)``: maximum."""
    return _max_or_min(input, dim, keepdim, out, largest=True)


@tensor_method("min")
def min(input, dim=None, keepdim: bool = False, *, out=None):
    """``min(x)``: the smallest value; ``min(x, dim)``: (values, indices); ``min(x, other)``: minimum."""
    return _max_or_min(input, dim, keepdim, out, largest=False)


def _max_or_min(input, dim, keepdim, out, largest):
    if isinstance(dim, Tensor):
        return _out((maximum if largest else minimum)(input, dim), out)
    if dim is None:
        node, name = (MaxAll, "max") if largest else (MinAll, "min")
        return _out(node.apply(input, _extreme_axes(input, None, name), False, largest, True), out)
    values, indices = _extreme_with_index(input, dim, keepdim, largest)
    if out is not None:  # torch's out= here is a (values, indices) pair
        values, indices = _out(values, out[0]), _out(indices, out[1])
    return (max_result if largest else min_result)(values, indices)


@tensor_method("aminmax")
def aminmax(input, *, dim=None, keepdim=False):
    return namedtuple("aminmax", ["min", "max"])(amin(input, dim if dim is not None else (), keepdim),
                                                 amax(input, dim if dim is not None else (), keepdim))


def _arg(input, dim, keepdim, largest):
    if dim is None:
        flat = input._data.reshape(-1)
        if flat.size == 0:
            raise IndexError(f"{'argmax' if largest else 'argmin'}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        v, i = _extreme_with_index(_make(flat), 0, False, largest)
        i = i._data
        return _make(i.reshape((1,) * input._data.ndim) if keepdim else i)
    return _extreme_with_index(input, dim, keepdim, largest)[1]


@tensor_method("argmax")
def argmax(input, dim=None, keepdim: bool = False, *, out=None):
    return _out(_arg(input, dim, keepdim, True), out)


@tensor_method("argmin")
def argmin(input, dim=None, keepdim: bool = False, *, out=None):
    return _out(_arg(input, dim, keepdim, False), out)


# -- statistics ------------------------------------------------------------------
def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


def _var_args(dim, unbiased, keepdim, correction):
    # torch's legacy positional form: var(x, unbiased) with a bool second argument
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return dim, _correction(unbiased, correction), keepdim


@tensor_method("var")
def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance with Bessel's ``correction`` (1 by default, as torch)."""
    dim, c, keepdim = _var_args(dim, unbiased, keepdim, correction)
    if input._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    x = input
    axes = wrap_dims(dim, x._data.ndim)
    n = 1
    for a in axes:
        n *= x._data.shape[a]
    centred = x - x.mean(dim, keepdim=True)
    return (centred * centred).sum(dim, keepdim) / _safe_den(n - c)


def _safe_den(d):
    return d if d > 0 else float("nan") if d == 0 else 0.0


@tensor_method("std")
def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return StdFromVar.apply(var(input, dim, unbiased, keepdim, correction=correction))


class StdFromVar(Function):
    """sqrt of a variance; where the std is 0 its gradient is 0, as torch's std_backward."""

    @staticmethod
    def forward(ctx, v):
        y = _make(np.asarray(np.sqrt(v._data)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return where(y == 0, 0.0, g / (y * 2))


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var_mean_result(var(input, dim, unbiased, keepdim, correction=correction),
                           mean(float_input(input), dim if not isinstance(dim, bool) else None, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return namedtuple("std_mean", ["std", "mean"])(v.sqrt(), m)


@tensor_method("logsumexp")
def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(x))) computed stably by shifting by the maximum."""
    x = float_input(input)
    return Logsumexp.apply(x, wrap_dims(dim, x._data.ndim), keepdim)


class Logsumexp(Function):
    """Shifted by the maximum, so ±1e4 neither overflows nor underflows; the
    gradient is softmax, g * exp(x - y), which is nan on rows of -inf as in torch."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        a = x._data
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if a.size == 0:
                r = np.log(np.sum(np.exp(a), axis=axes, keepdims=keepdim))
            else:
                m = np.max(a, axis=axes, keepdims=True)
                m = np.where(np.isfinite(m), m, 0)
                r = np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True)) + m
                if not keepdim:
                    r = r.reshape(tuple(n for i, n in enumerate(a.shape) if i not in axes))
        y = _make(np.asarray(r, dtype=a.dtype))
        ctx.save_for_backward(x, y)
        ctx.args = (axes, keepdim)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        axes, keepdim = ctx.args
        shape = x._data.shape
        return _unreduce(g, shape, axes, keepdim) * (x - _unreduce(y, shape, axes, keepdim)).exp(), None, None


class Norm2(Function):
    """Euclidean norm; its gradient at zero is zero, as torch defines it."""

    @staticmethod
    def forward(ctx, x, axes, keepdim):
        y = _make(np.asarray(np.sqrt(np.sum(x._data * x._data, axis=axes, keepdims=keepdim))))
        ctx.save_for_backward(x, y)
        ctx.args = (axes, keepdim)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        axes, keepdim = ctx.args
        g = _unreduce(g, x._data.shape, axes, keepdim)
        y = _unreduce(y, x._data.shape, axes, keepdim)
        return where(y == 0, 0.0, g * x / y), None, None


@tensor_method("norm")
def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None); 'fro' is p=2."""
    x = input if dtype is None else input.to(dtype)
    if x._data.dtype.kind != "f":
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_type_name(x)}")
    if p == "nuc":  # a matrix norm: the sum of singular values
        from ..linalg import matrix_norm
        return matrix_norm(x, "nuc", dim=(-2, -1) if dim is None else dim, keepdim=keepdim)
    axes = wrap_dims(dim, x._data.ndim)
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, axes, keepdim)
    p = float(p)
    if p == 0:  # a count: piecewise constant, zero gradient
        return Constant.apply(x, np.asarray(np.sum(x._data != 0, axis=axes, keepdims=keepdim), dtype=x._data.dtype),
                              True)
    a = x.abs()
    if p == float("inf"):
        return a.amax(axes, keepdim)
    if p == float("-inf"):
        return a.amin(axes, keepdim)
    if p == 1:
        return a.sum(axes, keepdim)
    return NormP.apply(x, axes, keepdim, p)


class NormP(Function):
    """(sum |x|^p)^(1/p); its gradient is zero where the norm is zero, as torch defines it."""

    @staticmethod
    def forward(ctx, x, axes, keepdim, p):
        with np.errstate(divide="ignore", over="ignore"):
            y = _make(np.asarray(np.sum(np.abs(x._data) ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)))
        ctx.save_for_backward(x, y)
        ctx.args = (axes, keepdim, p)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        axes, keepdim, p = ctx.args
        g = _unreduce(g, x._data.shape, axes, keepdim)
        y = _unreduce(y, x._data.shape, axes, keepdim)
        return where(y == 0, 0.0, x.sign() * x.abs() ** (p - 1) * g / y ** (p - 1)), None, None, None


class Cumsum(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return np.cumsum(x._data, axis=dim)

    @staticmethod
    def backward(ctx, g):
        d = ctx.dim
        return g.flip(d).cumsum(d).flip(d), None


@tensor_method("cumsum")
def cumsum(input, dim: int, *, dtype=None, out=None):
    dt = _sum_dtype(input, dtype)
    x = input if input._data.dtype == dt.np else input.to(dt)
    if x._data.ndim == 0:
        return _out(x.clone(), out)
    return _out(Cumsum.apply(x, _wrap_dim(dim, x._data.ndim)), out)


class Cumprod(Function):
    @staticmethod
    def forward(ctx, x, dim):
        y = _make(np.cumprod(x._data, axis=dim))
        ctx.save_for_backward(x, y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.dim
        if not (x._data == 0).any():
            # d y_j / d x_i = y_j / x_i for j >= i: a reversed cumulative sum.
            return (g * y).flip(d).cumsum(d).flip(d) / x, None
        return CumprodGradWithZeros.apply(x, g, d), None


class CumprodGradWithZeros(Function):
    """The cumprod gradient for inputs with zeros, as a Function whose backward
    (in NumPy) keeps double backward exact there."""

    @staticmethod
    def forward(ctx, x, g, d):
        ctx.save_for_backward(x, g)
        ctx.dim = d
        return _cumprod_grad_with_zeros(x._data, g._data, d)

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved_tensors
        d = ctx.dim
        need_x, need_g = ctx.needs_input_grad[:2]
        xm, gm, hm = (np.moveaxis(t, d, -1) for t in (x._data, g._data, h._data))
        n = xm.shape[-1]
        gx = gg = None
        if need_g:
            # out_i = sum_{j >= i} g_j prod_{l <= j, l != i} x_l, so
            # d/dg_j = sum_{i <= j} h_i prod_{l <= j, l != i} x_l.
            acc = np.zeros_like(xm)
            for i in range(n):
                xi = xm.copy()
                xi[..., i] = 1
                acc[..., i:] += hm[..., i:i + 1] * np.cumprod(xi, axis=-1)[..., i:]
            gg = _make(np.moveaxis(acc, -1, d))
        if need_x:
            # d/dx_k = sum_{i != k} h_i sum_{j >= max(i, k)} g_j prod_{l <= j, l not in (i, k)} x_l:
            # the zeros-safe gradient again, with x_k := 1 and g kept from k on.
            acc = np.empty_like(xm)
            for k in range(n):
                xk = xm.copy()
                xk[..., k] = 1
                gk = gm.copy()
                gk[..., :k] = 0
                terms = hm * _cumprod_grad_with_zeros(xk, gk, -1)
                terms[..., k] = 0
                acc[..., k] = terms.sum(-1)
            gx = _make(np.moveaxis(acc, -1, d))
        return gx, gg, None


def _cumprod_grad_with_zeros(x, g, d):
    """Exact gradient when x has zeros: replace x_i by 1 and redo the products."""
    x, g = np.moveaxis(x, d, -1), np.moveaxis(g, d, -1)
    out = np.empty_like(x)
    for i in range(x.shape[-1]):
        xi = x.copy()
        xi[..., i] = 1
        partial = np.cumprod(xi, axis=-1)[..., i:]
        out[..., i] = (g[..., i:] * partial).sum(-1)
    return np.moveaxis(out, -1, d)


@tensor_method("cumprod")
def cumprod(input, dim: int, *, dtype=None, out=None):
    dt = _sum_dtype(input, dtype)
    x = input if input._data.dtype == dt.np else input.to(dt)
    if x._data.ndim == 0:
        return _out(x.clone(), out)
    return _out(Cumprod.apply(x, _wrap_dim(dim, x._data.ndim)), out)


@tensor_method("all")
def all(input, dim=None, keepdim: bool = False):
    axes = wrap_dims(dim, input._data.ndim)
    r = np.asarray(np.all(input._data, axis=axes, keepdims=keepdim))
    return _make(r.astype(np.uint8) if input._data.dtype == np.uint8 else r)  # torch keeps uint8


@tensor_method("any")
def any(input, dim=None, keepdim: bool = False):
    axes = wrap_dims(dim, input._data.ndim)
    r = np.asarray(np.any(input._data, axis=axes, keepdims=keepdim))
    return _make(r.astype(np.uint8) if input._data.dtype == np.uint8 else r)


@tensor_method("count_nonzero")
def count_nonzero(input, dim=None):
    axes = wrap_dims(dim, input._data.ndim)
    return _make(np.asarray(np.count_nonzero(input._data, axis=axes)).astype(np.int64))


@tensor_method("median")
def median(input, dim=None, keepdim=False):
    """Lower median, as torch; with ``dim`` returns (values, indices)."""
    if dim is None:
        flat = input.reshape(-1)
        k = (flat._data.size - 1) // 2
        return flat.sort().values[k]
    d = _wrap_dim(dim, input._data.ndim)
    k = (input._data.shape[d] - 1) // 2
    return namedtuple("median", ["values", "indices"])(*input.kthvalue(k + 1, d, keepdim))


# -- softmax family: row-wise fused kernels ----------------------------------------


def _along(kernel, dim, *arrays):
    """kernel(*arrays) over rows along ``dim`` (the kernels work on the last
    axis; another dim goes through a moved view, which the binding copies)."""
    last = arrays[0].ndim - 1
    if dim == last:
        return kernel(*arrays)
    return np.moveaxis(kernel(*(np.moveaxis(a, dim, -1) for a in arrays)), -1, dim)


def _numpy_softmax(a, dim, log):
    shifted = a - np.max(a, axis=dim, keepdims=True) if a.size else a
    if log:
        return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
    e = np.exp(shifted)
    return e / np.sum(e, axis=dim, keepdims=True)


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        y = _make(_along(K.softmax, dim, a) if a.dtype in KERNEL_DTYPES else _numpy_softmax(a, dim, False))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if STATE.enabled or y._data.dtype not in KERNEL_DTYPES:  # create_graph: differentiable form
            # d softmax: y * (g - sum(g * y)) along dim
            return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None
        return _make(_along(K.softmax_backward, ctx.dim, y._data, g._data)), None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        a = x._data
        y = _make(_along(K.log_softmax, dim, a) if a.dtype in KERNEL_DTYPES else _numpy_softmax(a, dim, True))
        ctx.save_for_backward(y)
        ctx.dim = dim
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if STATE.enabled or y._data.dtype not in KERNEL_DTYPES:
            # d log_softmax: g - softmax * sum(g) along dim
            return g - y.exp() * g.sum(ctx.dim, keepdim=True), None
        return _make(_along(K.log_softmax_backward, ctx.dim, y._data, g._data)), None


def _softmax_input(input, dim, dtype):
    x = float_input(input if dtype is None else input.to(dtype))
    if dim is None:  # torch's legacy implicit dim
        dim = 0 if x._data.ndim in (0, 1, 3) else 1
    return x, _wrap_dim(dim, x._data.ndim) if x._data.ndim else 0


@tensor_method("softmax")
def softmax(input, dim=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed stably.

    Example::

        >>> tinygrad_cn.tensor([1.0, 1.0]).softmax(0)
        tensor([0.5000, 0.5000])
    """
    x, d = _softmax_input(input, dim, dtype)
    if x._data.ndim == 0:
        return Softmax.apply(x.reshape(1), 0).reshape(())
    return Softmax.apply(x, d)


@tensor_method("log_softmax")
def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along ``dim``, without forming softmax (stable for large logits)."""
    x, d = _softmax_input(input, dim, dtype)
    if x._data.ndim == 0:
        return LogSoftmax.apply(x.reshape(1), 0).reshape(())
    return LogSoftmax.apply(x, d)


# -- cummax / cummin / logcumsumexp -------------------------------------------------
cummax_result = namedtuple("cummax", ["values", "indices"])
cummin_result = namedtuple("cummin", ["values", "indices"])


def _cum_extreme_indices(a: np.ndarray, d: int, largest: bool) -> np.ndarray:
    """torch's scan: a later element equal to the running extreme takes over its index,
    and so does every NaN (which then stays the extreme)."""
    x = np.moveaxis(a, d, -1)
    idx = np.empty(x.shape, dtype=np.int64)
    if x.shape[-1] == 0:
        return np.moveaxis(idx, -1, d)
    best = x[..., 0].copy()
    cur = np.zeros(x.shape[:-1], dtype=np.int64)
    floating = a.dtype.kind == "f"
    with np.errstate(invalid="ignore"):
        for i in range(x.shape[-1]):
            v = x[..., i]
            take = (v >= best) if largest else (v <= best)
            if floating:
                take = np.isnan(v) | (take & ~np.isnan(best))
            best = np.where(take, v, best)
            cur = np.where(take, i, cur)
            idx[..., i] = cur
    return np.moveaxis(idx, -1, d)


def _cum_extreme(input, dim, largest, result):
    if input._data.ndim == 0:
        return result(input.clone(), _make(np.zeros((), dtype=np.int64)))
    d = _wrap_dim(dim, input._data.ndim)
    idx = _make(_cum_extreme_indices(input._data, d, largest))
    # values gathered at the indices: the gradient goes to the positions that won, as torch
    return result(input.gather(d, idx), idx)


@tensor_method("cummax")
def cummax(input, dim: int):
    """Running maximum along ``dim`` and the index where it was reached (a named tuple).

    Example::

        >>> tinygrad_cn.tensor([1., 3., 2., 3.]).cummax(0).indices
        tensor([0, 1, 1, 3])
    """
    return _cum_extreme(input, dim, True, cummax_result)


@tensor_method("cummin")
def cummin(input, dim: int):
    """Running minimum along ``dim`` and the index where it was reached (a named tuple)."""
    return _cum_extreme(input, dim, False, cummin_result)


class Logcumsumexp(Function):
    """y_j = log sum_{i<=j} exp(x_i) by ``np.logaddexp.accumulate`` (stable at any scale).
    gx_i = sum_{j>=i} g_j exp(x_i - y_j); every factor exp(x_i - y_j) <= 1, so up to
    ``_LCSE_DENSE`` elements it is summed as a masked n x n product (exact to any order);
    longer scans sum in log space over the positive and negative parts of g, as torch
    (O(n), right to first order, but its own derivative is not yet exact)."""

    @staticmethod
    def forward(ctx, x, d):
        y = _make(np.logaddexp.accumulate(x._data, axis=d) if x._data.shape[d] else x._data.copy())
        ctx.save_for_backward(x, y)
        ctx.dim = d
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        d = ctx.dim
        n = x._data.shape[d]
        if n <= _LCSE_DENSE:
            xm, ym, gm = x.movedim(d, -1), y.movedim(d, -1), g.movedim(d, -1)
            upper = _make(np.triu(np.ones((n, n), dtype=bool)))  # [i, j]: j >= i
            w = where(upper, xm.unsqueeze(-1) - ym.unsqueeze(-2), float("-inf")).exp()
            return (w * gm.unsqueeze(-2)).sum(-1).movedim(-1, d), None

        def part(h):  # log of the positive values of h, -inf elsewhere (no log(0) evaluated)
            pos = h > 0
            return where(pos, where(pos, h, 1.0).log(), float("-inf"))

        def rev(t):  # reversed logcumsumexp: log sum_{j >= i} exp(t_j)
            return Logcumsumexp.apply(t.flip(d), d).flip(d)

        return (x + rev(part(g) - y)).exp() - (x + rev(part(-g) - y)).exp(), None


_LCSE_DENSE = 256


@tensor_method("logcumsumexp")
def logcumsumexp(input, dim: int, *, out=None):
    """log(cumsum(exp(x))) along ``dim``, computed stably.

    Example::

        >>> tinygrad_cn.tensor([0., 0.]).logcumsumexp(0)
        tensor([0.0000, 0.6931])
    """
    x = float_input(input)
    if x._data.ndim == 0:
        return _out(x.clone(), out)
    return _out(Logcumsumexp.apply(x, _wrap_dim(dim, x._data.ndim)), out)


# -- trapezoid, histc, renorm ---------------------------------------------------------
def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """Trapezoid rule along ``dim``: spacing ``dx`` (default 1), or sample points ``x``
    (1-D along ``dim``, or broadcastable to ``y``).

    Example::

        >>> tinygrad_cn.trapezoid(tinygrad_cn.tensor([1., 2., 3.]))
        tensor(4.)
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"trapezoid(): argument 'y' must be Tensor, not {type(y).__name__}")
    d = _wrap_dim(dim, y._data.ndim)
    n = y._data.shape[d]
    if n == 0:
        return y.sum(d)
    mids = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2
    if x is None:
        return mids.sum(d) * (1 if dx is None else dx)
    if x._data.ndim == 1:
        if x._data.shape[0] != n:
            raise RuntimeError(f"trapezoid: There must be one `x` value for each sample point")
        dxs = x.diff().reshape([-1] + [1] * (y._data.ndim - 1 - d))
    else:
        dxs = x.diff(dim=dim)
    return (mids * dxs).sum(d)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """Running trapezoid rule along ``dim`` (one element shorter than ``y``)."""
    d = _wrap_dim(dim, y._data.ndim)
    n = y._data.shape[d]
    mids = (y.narrow(d, 1, max(n - 1, 0)) + y.narrow(d, 0, max(n - 1, 0))) / 2
    if x is None:
        return (mids * (1 if dx is None else dx)).cumsum(d)
    dxs = x.diff().reshape([-1] + [1] * (y._data.ndim - 1 - d)) if x._data.ndim == 1 else x.diff(dim=dim)
    return (mids * dxs).cumsum(d)


_EXPORTS["trapezoid"] = trapezoid
_EXPORTS["trapz"] = trapezoid
_EXPORTS["cumulative_trapezoid"] = cumulative_trapezoid


@tensor_method("histc")
def histc(input, bins: int = 100, min=0, max=0, *, out=None):
    """Histogram of ``bins`` equal bins over [min, max] (the data's range when
    min == max); values outside are ignored. Not differentiable, as in torch.

    Example::

        >>> tinygrad_cn.histc(tinygrad_cn.tensor([1., 2., 1.]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    a = input._data
    if a.dtype.kind != "f":
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{_type_name(input)}'")
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0, but got %d for dimension 0" % bins)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError("torch.histc: max must be larger than min")
    v = a[(a >= lo) & (a <= hi)].astype(np.float64)
    # torch's bin: floor((v - min) * bins / (max - min)), the right edge in the last bin
    pos = np.minimum(((v - lo) * bins / (hi - lo)).astype(np.int64), bins - 1)
    return _out(_make(np.bincount(pos, minlength=bins).astype(a.dtype)), out)


@tensor_method("renorm")
def renorm(input, p, dim: int, maxnorm):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` is scaled to norm
    ``maxnorm`` (by maxnorm / (norm + 1e-7), as torch); the others are unchanged."""
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported")
    if input._data.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input._data.ndim} dimensions")
    d = _wrap_dim(dim, input._data.ndim)
    others = tuple(i for i in range(input._data.ndim) if i != d)
    norms = norm(input, p, others, keepdim=True)
    return input * where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
