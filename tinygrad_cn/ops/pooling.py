"""Pooling (max, average, adaptive) as linear maps with their adjoints.

Every op here is, once its data-dependent choices are fixed (the argmax of a
max pool, the mask of a dropout), a linear map ``A`` of its input. ``LinearMap``
applies ``A`` (or its adjoint ``A^T``) and its backward applies the other one,
so gradients of any order are right. A max pool gathers at flat indices in
each plane and its adjoint scatters them back (both in C: kernels.max_pool2d
and max_pool2d_backward; ties go to the first maximum in window order and NaN
wins, as torch); an adaptive max pool gathers at flat indices (its adjoint an
``np.bincount``); an average pool sums strided window
views and its adjoint adds strided slices, one per kernel offset.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._C import kernels
from ..autograd.function import Function
from ..tensor import Tensor

_make = Tensor._make


class LinearMap(Function):
    """y = op.fwd(x) (or op.adj(x) when ``adjoint``); backward applies the other."""

    @staticmethod
    def forward(ctx, x, op, adjoint, primary=False):
        ctx.op, ctx.adjoint = op, adjoint
        d = x._data
        return op.adj(d) if adjoint else (op.value(d) if primary else op.fwd(d))

    @staticmethod
    def backward(ctx, g):
        return LinearMap.apply(g, ctx.op, not ctx.adjoint, False), None, None, None


def _node(name: str):
    """A LinearMap named as torch names the op's node (``y.grad_fn``)."""
    return type(name.replace("Backward0", ""), (LinearMap,), {"__module__": __name__, "node_name": name})


MaxPool2DNode = _node("MaxPool2DWithIndicesBackward0")
AvgPool2DNode = _node("AvgPool2DBackward0")
AdaptiveAvgPool2DNode = _node("AdaptiveAvgPool2DBackward0")
AdaptiveMaxPool2DNode = _node("AdaptiveMaxPool2DBackward0")


class Gather:
    """out = x.flat[idx]; adjoint scatter-adds into x's shape (``mask`` zeroes
    the entries whose gradient is dropped, e.g. embedding's padding_idx)."""

    def __init__(self, idx: np.ndarray, in_shape, mask=None):
        self.idx, self.in_shape, self.mask = idx, tuple(in_shape), mask

    def value(self, x):
        return np.ascontiguousarray(x).reshape(-1)[self.idx]

    def fwd(self, x):
        out = Gather.value(self, x)
        if self.mask is not None:
            out = out * self.mask.astype(out.dtype)
        return out

    def adj(self, g):
        w = np.ascontiguousarray(g).reshape(-1)
        if self.mask is not None:
            w = w * self.mask.reshape(-1)
        out = np.bincount(self.idx.reshape(-1), weights=w, minlength=math.prod(self.in_shape))
        return out.astype(g.dtype, copy=False).reshape(self.in_shape)


class PlaneGather:
    """out[n, c, i] = x[n, c].flat[idx[n, c, i]]: a max pool once its argmax is
    fixed. The adjoint scatter-adds within each plane (the C max-pool
    backward); ``value`` hands back the pooled values the kernel already made."""

    def __init__(self, idx: np.ndarray, in_shape, y: np.ndarray):
        self.idx, self.in_shape, self.y = idx, tuple(in_shape), y

    def value(self, x):
        y, self.y = self.y, None  # used once, by the forward
        return y

    def fwd(self, x):
        n, c = self.in_shape[:2]
        flat = np.ascontiguousarray(x).reshape(n, c, -1)
        return np.take_along_axis(flat, self.idx.reshape(n, c, -1), axis=2).reshape(self.idx.shape)

    def adj(self, g):
        return kernels.max_pool2d_backward(g, self.idx, self.in_shape)


class AvgPool:
    """Window sums divided by ``div`` (OH, OW); the padded extent is (hp, wp)."""

    def __init__(self, in_shape, k, s, pads, ohw, div):
        self.in_shape, self.k, self.s, self.pads, self.ohw, self.div = tuple(in_shape), k, s, pads, ohw, div

    value = None

    def fwd(self, x):
        (pt, pb), (pl, pr) = self.pads
        xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr))) if (pt or pb or pl or pr) else x
        n, c = xp.shape[:2]
        sn, sc, sh, sw = xp.strides
        oh, ow = self.ohw
        win = as_strided(xp, (n, c, oh, ow, self.k[0], self.k[1]),
                         (sn, sc, sh * self.s[0], sw * self.s[1], sh, sw), writeable=False)
        return (win.sum(axis=(4, 5)) / self.div).astype(x.dtype, copy=False)

    def adj(self, g):
        (pt, pb), (pl, pr) = self.pads
        n, c, h, w = self.in_shape
        oh, ow = self.ohw
        gp = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=g.dtype)
        gd = (g / self.div).astype(g.dtype, copy=False)
        for i in range(self.k[0]):
            rs = slice(i, i + self.s[0] * (oh - 1) + 1, self.s[0])
            for j in range(self.k[1]):
                gp[:, :, rs, j:j + self.s[1] * (ow - 1) + 1:self.s[1]] += gd
        return np.ascontiguousarray(gp[:, :, pt:pt + h, pl:pl + w])


AvgPool.value = AvgPool.fwd


class Separable:
    """out = A_h @ x @ A_w^T on the last two dims (adaptive average pooling)."""

    def __init__(self, ah, aw):
        self.ah, self.aw = ah, aw

    def fwd(self, x):
        ah, aw = self.ah.astype(x.dtype), self.aw.astype(x.dtype)
        return np.ascontiguousarray(np.matmul(np.matmul(ah, x), aw.T))

    value = fwd

    def adj(self, g):
        ah, aw = self.ah.astype(g.dtype), self.aw.astype(g.dtype)
        return np.ascontiguousarray(np.matmul(np.matmul(ah.T, g), aw))


# -- argument handling -----------------------------------------------------------------
def _pair(v, name="kernel_size"):
    if isinstance(v, (tuple, list)):
        v = tuple(int(e) for e in v)
        if len(v) == 1:
            return v * 2
        if len(v) != 2:
            raise RuntimeError(f"max_pool2d: {name} must either be a single int, or a tuple of two ints")
        return v
    return (int(v), int(v))


def _pool_out(n, k, s, p, d, ceil_mode):
    num = n + 2 * p - d * (k - 1) - 1 + ((s - 1) if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_setup(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    d = input._data
    if d.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    if 0 in d.shape[-3:]:  # only a 4-D input's batch may be empty
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{list(d.shape)}")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else _pair(stride, "stride")
    p, dil = _pair(padding, "padding"), _pair(dilation, "dilation")
    if any(e <= 0 for e in k):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if any(e <= 0 for e in s):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if any(e <= 0 for e in dil):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dil[0]} dilationW: {dil[1]}")
    for i in range(2):
        if p[i] < 0 or p[i] > ((k[i] - 1) * dil[i] + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p[i]}, "
                               f"kernel_size={k[i]} and dilation={dil[i]}")
    unbatched = d.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x._data.shape
    oh = _pool_out(h, k[0], s[0], p[0], dil[0], ceil_mode)
    ow = _pool_out(w, k[1], s[1], p[1], dil[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{oh}x{ow}). Output size "
                           "is too small")
    # pad the right/bottom further where ceil_mode lets the last window run past the padding
    pads = tuple((p[i], max(p[i], (o - 1) * s[i] + dil[i] * (k[i] - 1) + 1 - (sz + p[i])))
                 for i, (o, sz) in enumerate(((oh, h), (ow, w))))
    return x, unbatched, k, s, p, dil, (oh, ow), pads


def _finish(y, idx, unbatched, return_indices):
    if unbatched:
        y = y.squeeze(0)
        idx = idx[0] if idx is not None else None
    if return_indices:
        return y, _make(idx)
    return y


# -- max pooling -----------------------------------------------------------------------
def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``. The gradient
    goes to the first maximum of each window (in window order); indices are
    flat positions in each input plane (H*W), int64.

    Example::

        >>> F.max_pool2d(tinygrad_cn.arange(16.).reshape(1, 1, 4, 4), 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])
    """
    x, unbatched, k, s, p, dil, (oh, ow), pads = _pool_setup("max_pool2d", input, kernel_size, stride, padding,
                                                             dilation, ceil_mode)
    yd, idx = kernels.max_pool2d(x._data, k, s, p, dil, (oh, ow))
    y = MaxPool2DNode.apply(x, PlaneGather(idx, x._data.shape, yd), False, True)
    return _finish(y, idx, unbatched, return_indices)


def _as_2d(input, name):
    d = input._data
    if d.ndim not in (2, 3):
        if name == "avg_pool1d":
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {d.ndim}-dimensional tensor for argument #1 "
                               "'self' (while checking arguments for avg_pool1d)")
        raise RuntimeError(f"{name}: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{list(d.shape)}")
    return input.unsqueeze(-2)


def _one(v, default=None):
    if v is None:
        return default
    if isinstance(v, (tuple, list)):
        return (1, int(v[0])) if len(v) else default
    return (1, int(v))


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """1-D max pooling over (N, C, L) or (C, L), as ``torch.nn.functional.max_pool1d``."""
    x = _as_2d(input, "max_pool1d")
    k = _one(kernel_size)
    out = max_pool2d(x, k, _one(stride, k), (0, _one(padding)[1]), (1, _one(dilation)[1]), ceil_mode, True)
    y, idx = out[0].squeeze(-2), out[1].squeeze(-2)
    return (y, idx) if return_indices else y


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d`` (divisor:
    ``divisor_override``, else the window's size clipped to the padded input
    when ``count_include_pad``, else its count of real elements)."""
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    x, unbatched, k, s, p, _, (oh, ow), pads = _pool_setup("avg_pool2d", input, kernel_size, stride, padding, 1,
                                                           ceil_mode)
    h, w = x._data.shape[2:]

    def counts(sz, i, o):
        lo, hi = (0, sz + 2 * p[i]) if count_include_pad else (p[i], p[i] + sz)
        starts = np.arange(o) * s[i]
        return np.minimum(starts + k[i], hi) - np.maximum(starts, lo)

    if divisor_override is not None:
        div = float(divisor_override)
    else:
        div = np.outer(counts(h, 0, oh), counts(w, 1, ow)).astype(np.float64)
    y = AvgPool2DNode.apply(x, AvgPool(x._data.shape, k, s, pads, (oh, ow), div), False, False)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over (N, C, L) or (C, L), as ``torch.nn.functional.avg_pool1d``."""
    x = _as_2d(input, "avg_pool1d")
    k = _one(kernel_size)
    return avg_pool2d(x, k, _one(stride, k), (0, _one(padding)[1]), ceil_mode, count_include_pad).squeeze(-2)


# -- adaptive --------------------------------------------------------------------------
def _adaptive_setup(name, input, output_size):
    d = input._data
    if d.ndim not in (3, 4) or any(e == 0 for e in d.shape[-2:]):
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but got{':' if 'max' in name else ''} "
                           f"{list(d.shape)}")
    os_ = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(os_) != 2:
        raise RuntimeError(f"{name}: output_size must be 2")
    os_ = tuple(d.shape[-2 + i] if os_[i] is None else int(os_[i]) for i in range(2))
    if any(e < 0 for e in os_):
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 but received "
                           f"{{{os_[0]}, {os_[1]}}}")
    unbatched = d.ndim == 3
    return (input.unsqueeze(0) if unbatched else input), unbatched, os_


def _bounds(n, o):
    i = np.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH)), as
    ``torch.nn.functional.adaptive_avg_pool2d``; computed as A_h @ x @ A_w^T."""
    x, unbatched, (oh, ow) = _adaptive_setup("adaptive_avg_pool2d", input, output_size)
    h, w = x._data.shape[2:]
    mats = []
    for n, o in ((h, oh), (w, ow)):
        lo, hi = _bounds(n, o)
        a = np.zeros((o, n))
        for r in range(o):
            a[r, lo[r]:hi[r]] = 1.0 / (hi[r] - lo[r])
        mats.append(a)
    y = AdaptiveAvgPool2DNode.apply(x, Separable(*mats), False, False)
    return y.squeeze(0) if unbatched else y


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows, as ``torch.nn.functional.adaptive_max_pool2d``
    (gradient to the first maximum of each window)."""
    x, unbatched, (oh, ow) = _adaptive_setup("adaptive_max_pool2d", input, output_size)
    xd = x._data
    n, c, h, w = xd.shape
    hlo, hhi = _bounds(h, oh)
    wlo, whi = _bounds(w, ow)
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            win = xd[:, :, hlo[i]:hhi[i], wlo[j]:whi[j]]
            kw = whi[j] - wlo[j]
            a = win.reshape(n, c, -1).argmax(-1)
            idx[:, :, i, j] = (hlo[i] + a // kw) * w + wlo[j] + a % kw
    flat = idx + (np.arange(n * c, dtype=np.int64) * (h * w)).reshape(n, c, 1, 1)
    y = AdaptiveMaxPool2DNode.apply(x, Gather(flat, xd.shape), False, True)
    return _finish(y, idx, unbatched, return_indices)


__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]
