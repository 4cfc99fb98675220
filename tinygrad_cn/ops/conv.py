"""2-D convolution (and conv1d, conv_transpose2d) as im2col + one GEMM per group.

Three Functions close under differentiation, so double backward works:

* ``Conv2d(x, w, b)``          y  = conv(x, w) + b
* ``ConvGradInput(g, w)``      gx = conv^T(g, w)   (the adjoint in x: also conv_transpose2d)
* ``ConvGradWeight(x, g)``     gw = the adjoint in w

Each is bilinear in its two tensor arguments, and the derivative of each is
one of the other two (see the backward methods). The arrays are handled by
``_conv_fwd``, ``_conv_gin`` and ``_conv_gw``: the input is padded, viewed as
sliding windows (``as_strided``), copied once into the columns matrix
(C/g*kh*kw, N*OH*OW), transposed, and multiplied by the weight on our GEMM
(``linalg.mm_arrays``). col2im accumulates strided slices, one per kernel
offset, instead of ``np.add.at``.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd.function import Function
from ..tensor import Tensor
from . import linalg as _linalg

_make = Tensor._make
# Keep the forward's columns for the weight gradient? Measured slower end to end
# (64x8x14x14 -> 16ch fwd+bwd 4.3 -> 6.0 ms): holding them forces backward's
# large arrays onto fresh pages, which costs more than rebuilding the columns
# into memory just freed. Off; the path stays for larger layers to try.
_KEEP_COLS = False


# -- arrays ----------------------------------------------------------------------------
def _padded(x: np.ndarray, pads) -> np.ndarray:
    (pt, pb), (pl, pr) = pads
    if pt or pb or pl or pr:  # zeros + one slice copy: np.pad is several times slower
        n, c, h, w = x.shape
        xp = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=x.dtype)
        xp[:, :, pt:pt + h, pl:pl + w] = x
        return xp
    return x


def _out_hw(hw, k, geo):
    stride, pads, dil, _ = geo
    return tuple((hw[i] + pads[i][0] + pads[i][1] - dil[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(2))


def _unit_stride(geo) -> bool:
    return geo[0] == (1, 1)


def _colsT(x: np.ndarray, k, geo, ohw):
    """The transposed columns matrix (C*kh*kw, N*OH*R) of the padded input and
    its row length R: one copy of a strided view (the rows of group gi are one
    block).

    With unit stride R is the padded width Wp: each (c, i, j, n) row is then
    one contiguous run of the flattened padded plane (the columns ow >= OW
    are junk, which the gradient side meets with zeros and the output drops),
    so the copy moves long runs. Otherwise R = OW and runs are output rows."""
    stride, pads, dil, _ = geo
    (pt, pb), (pl, pr) = pads
    n, c, h, w = x.shape
    it = x.itemsize
    if _unit_stride(geo):
        hp, wp = h + pt + pb, w + pl + pr
        xp = np.zeros((n, c, hp + 1, wp), dtype=x.dtype)  # one spare row: the last run ends past the plane
        xp[:, :, pt:pt + h, pl:pl + w] = x
        run = ohw[0] * wp
        v = as_strided(xp, (c, k[0], k[1], n, run), (xp.strides[1], dil[0] * wp * it, dil[1] * it, xp.strides[0], it),
                       writeable=False)
        return v.reshape(c * k[0] * k[1], n * run), wp
    xp = _padded(x, pads)
    sn, sc, sh, sw = xp.strides
    v = as_strided(xp, (c, k[0], k[1], n, ohw[0], ohw[1]),
                   (sc, sh * dil[0], sw * dil[1], sn, sh * stride[0], sw * stride[1]), writeable=False)
    return v.reshape(c * k[0] * k[1], n * ohw[0] * ohw[1]), ohw[1]


def _g_t(g: np.ndarray, rl: int) -> np.ndarray:
    """(N, O, OH, OW) -> (O, N*OH*R), zeros in the columns ow >= OW."""
    n, o, oh, ow = g.shape
    if rl == ow:
        return np.ascontiguousarray(g.transpose(1, 0, 2, 3)).reshape(o, n * oh * ow)
    out = np.zeros((o, n, oh, rl), dtype=g.dtype)
    out[..., :ow] = g.transpose(1, 0, 2, 3)
    return out.reshape(o, n * oh * rl)


def _conv_fwd(x: np.ndarray, w: np.ndarray, geo, keep=None) -> np.ndarray:
    """y^T = W (O, C/g*kh*kw) @ columns^T, one GEMM per group, then (N, O, OH, OW).
    ``keep``, a list, receives the columns for the weight gradient."""
    groups = geo[3]
    o, cg, kh, kw = w.shape
    n = x.shape[0]
    ohw = _out_hw(x.shape[2:], (kh, kw), geo)
    og, kk = o // groups, cg * kh * kw
    cols, rl = _colsT(x, (kh, kw), geo, ohw)
    if keep is not None:
        keep.append((cols, rl))
    if groups == 1:
        yt = _linalg.mm_arrays(w.reshape(o, kk), cols)
    else:
        yt = np.empty((o, cols.shape[1]), dtype=x.dtype)
        for gi in range(groups):
            yt[gi * og:(gi + 1) * og] = _linalg.mm_arrays(w[gi * og:(gi + 1) * og].reshape(og, kk),
                                                          cols[gi * kk:(gi + 1) * kk])
    return np.ascontiguousarray(yt.reshape(o, n, ohw[0], rl)[..., :ohw[1]].transpose(1, 0, 2, 3))


def _conv_gin(g: np.ndarray, w: np.ndarray, geo, xshape) -> np.ndarray:
    """The adjoint of conv in x: columns^T = W^T @ g^T (one GEMM per group),
    then col2im, one strided slice added per kernel offset (with unit stride,
    one contiguous run of the flattened padded plane per (n, c))."""
    stride, pads, dil, groups = geo
    n, c, h, wd = xshape
    o, cg, kh, kw = w.shape
    og, kk = o // groups, cg * kh * kw
    oh, ow = g.shape[2:]
    (pt, pb), (pl, pr) = pads
    hp, wp = h + pt + pb, wd + pl + pr
    unit = _unit_stride(geo)
    rl = wp if unit else ow
    gx = np.zeros((n, c, hp + 1 if unit else hp, wp), dtype=g.dtype)
    flat = gx.reshape(n, c, gx.shape[2] * wp)
    gt = _g_t(g, rl)
    for gi in range(groups):
        dcols = _linalg.mm_arrays(w[gi * og:(gi + 1) * og].reshape(og, kk).T, gt[gi * og:(gi + 1) * og])
        if unit:
            dcols = dcols.reshape(cg, kh, kw, n, oh * wp)
            target = flat[:, gi * cg:(gi + 1) * cg]
            for i in range(kh):
                for j in range(kw):
                    off = i * dil[0] * wp + j * dil[1]
                    target[:, :, off:off + oh * wp] += dcols[:, i, j].transpose(1, 0, 2)
            continue
        dcols = dcols.reshape(cg, kh, kw, n, oh, ow)
        target = gx[:, gi * cg:(gi + 1) * cg]
        for i in range(kh):
            r0 = i * dil[0]
            rs = slice(r0, r0 + stride[0] * (oh - 1) + 1, stride[0])
            for j in range(kw):
                c0 = j * dil[1]
                target[:, :, rs, c0:c0 + stride[1] * (ow - 1) + 1:stride[1]] += dcols[:, i, j].transpose(1, 0, 2, 3)
    if pt or pb or pl or pr or unit:
        gx = np.ascontiguousarray(gx[:, :, pt:pt + h, pl:pl + wd])
    return gx


def _conv_gw(x: np.ndarray, g: np.ndarray, geo, wshape, cols=None) -> np.ndarray:
    """The adjoint of conv in w: g^T @ columns, one GEMM per group (the
    columns the forward made, when given)."""
    groups = geo[3]
    o, cg, kh, kw = wshape
    og, kk = o // groups, cg * kh * kw
    cols, rl = cols if cols is not None else _colsT(x, (kh, kw), geo, g.shape[2:])
    gt = _g_t(g, rl)
    if groups == 1:
        return _linalg.mm_arrays(gt, cols.T).reshape(wshape)
    out = np.empty((o, kk), dtype=x.dtype)
    for gi in range(groups):
        out[gi * og:(gi + 1) * og] = _linalg.mm_arrays(gt[gi * og:(gi + 1) * og], cols[gi * kk:(gi + 1) * kk].T)
    return out.reshape(wshape)


# -- Functions -------------------------------------------------------------------------
class Conv2d(Function):
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, geo):
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        keep = [] if ctx.needs_input_grad[1] and _KEEP_COLS else None
        y = _conv_fwd(x._data, w._data, geo, keep)
        if keep:
            ctx.cols = keep[0]  # reused by the weight gradient; freed with the graph
        if b is not None:
            y += b._data.reshape(-1, 1, 1)
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        geo = ctx.geo
        gx = ConvGradInput.apply(g, w, geo, tuple(x.shape)) if nx else None
        gw = ConvGradWeight.apply(x, g, geo, tuple(w.shape), ctx.__dict__.get("cols")) if nw else None
        gb = g.sum((0, 2, 3)) if nb else None
        return gx, gw, gb, None


class ConvGradInput(Function):
    node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, g, w, geo, xshape):
        ctx.save_for_backward(g, w)
        ctx.geo = geo
        return _conv_gin(g._data, w._data, geo, xshape)

    @staticmethod
    def backward(ctx, gg):
        # <gg, conv^T(g, w)> = <conv(gg, w), g>
        g, w = ctx.saved_tensors
        ng, nw = ctx.needs_input_grad[:2]
        geo = ctx.geo
        dg = _crop(Conv2d.apply(gg, w, None, geo), g.shape) if ng else None
        dw = ConvGradWeight.apply(gg, g, geo, tuple(w.shape), None) if nw else None
        return dg, dw, None, None


class ConvGradWeight(Function):
    node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, g, geo, wshape, cols):
        ctx.save_for_backward(x, g)
        ctx.geo = geo
        return _conv_gw(x._data, g._data, geo, wshape, cols)

    @staticmethod
    def backward(ctx, gg):
        # <gg, gw(x, g)> = <conv(x, gg), g>
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad[:2]
        geo = ctx.geo
        dx = ConvGradInput.apply(g, gg, geo, tuple(x.shape)) if nx else None
        dg = _crop(Conv2d.apply(x, gg, None, geo), g.shape) if ng else None
        return dx, dg, None, None, None


def _crop(y, shape):
    """conv of an input that conv_transpose2d's output_padding made larger
    than any window covers has extra rows/columns at the end: drop them."""
    oh, ow = shape[2:]
    return y if tuple(y.shape[2:]) == (oh, ow) else y[:, :, :oh, :ow]


# -- public ----------------------------------------------------------------------------
def _tuple(v, n: int, name: str):
    if isinstance(v, (tuple, list)):
        v = tuple(int(e) for e in v)
        if len(v) == 1 and n > 1:
            v = v * n
        if len(v) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                               f"convolution dimensions, but got {name}={list(v)}")
        return v
    return (int(v),) * n


def _type_name(a: np.ndarray) -> str:
    return {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
            "int64": "torch.LongTensor"}.get(a.dtype.name, a.dtype.name)


def _check_conv(name, x, w, b, groups, nd):
    xd, wd = x._data, w._data
    if xd.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got input "
                           f"of size: {list(xd.shape)}")
    if wd.ndim != nd + 2:
        raise RuntimeError(f"weight should have at least three dimensions" if wd.ndim < 3 else
                           f"Expected {nd + 2}-dimensional weight for {nd + 2}-dimensional input "
                           f"{list(xd.shape)}, but got {wd.ndim}-dimensional weight of size {list(wd.shape)} instead")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if xd.dtype != wd.dtype:
        raise RuntimeError(f"Input type ({_type_name(xd)}) and weight type ({_type_name(wd)}) should be the same "
                           "or input should be a MKLDNN tensor and weight is a dense tensor")
    if xd.dtype.kind != "f":
        raise RuntimeError(f"\"conv2d\" not implemented for '{_type_name(xd)}'")
    if b is not None and b._data.dtype != xd.dtype:
        raise RuntimeError(f"Input type ({_type_name(xd)}) and bias type ({_type_name(b._data)}) should be the same")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    input (N, C, H, W) or unbatched (C, H, W); weight (O, C/groups, kh, kw);
    bias (O,) or None; padding an int, a pair, ``'valid'`` or ``'same'``.
    im2col + one GEMM per group on the compiled GEMM; backward (and double
    backward) through Functions of the same kind.

    Example::

        >>> x, w = tinygrad_cn.ones(1, 1, 4, 4), tinygrad_cn.ones(2, 1, 3, 3)
        >>> tinygrad_cn.nn.functional.conv2d(x, w, padding=1).shape
        tinygrad_cn.Size([2, 2, 4, 4])
    """
    return _conv_nd("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D convolution, as ``torch.nn.functional.conv1d``: input (N, C, L) or
    (C, L), weight (O, C/groups, k); runs as conv2d with a unit height."""
    return _conv_nd("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _conv_nd(name, input, weight, bias, stride, padding, dilation, groups, nd):
    _check_conv(name, input, weight, bias, groups, nd)
    unbatched = input._data.ndim == nd + 1
    if unbatched:
        input = input.unsqueeze(0)
    stride, dilation = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation")
    xs, ws = input._data.shape, weight._data.shape
    k = ws[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = []
            for d, kk in zip(dilation, k):
                total = d * (kk - 1)
                pads.append((total // 2, total - total // 2))
            pads = tuple(pads)
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        p = _tuple(padding, nd, "padding")
        if any(e < 0 for e in p):
            raise RuntimeError("negative padding is not supported")
        pads = tuple((e, e) for e in p)
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("dilation should be greater than zero")
    if ws[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(ws)}] instead")
    if xs[1] != ws[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(ws)}, expected input{list(xs)} to have "
                           f"{ws[1] * groups} channels, but got {xs[1]} channels instead")
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != ws[0]):
        raise RuntimeError(f"Given weight of size {list(ws)}, expected bias to be 1-dimensional with {ws[0]} "
                           f"elements, but got bias of size {list(bias._data.shape)} instead")
    padded = [xs[2 + i] + pads[i][0] + pads[i][1] for i in range(nd)]
    eff = [dilation[i] * (k[i] - 1) + 1 for i in range(nd)]
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
                           f"size: ({' x '.join(map(str, eff))}). Kernel size can't be greater than actual input size")
    if nd == 1:
        geo = ((1, stride[0]), ((0, 0), pads[0]), (1, dilation[0]), groups)
        y = Conv2d.apply(input.unsqueeze(2), weight.unsqueeze(2), bias, geo).squeeze(2)
    else:
        y = Conv2d.apply(input, weight, bias, (stride, pads, dilation, groups))
    return y.squeeze(0) if unbatched else y


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``:
    input (N, Cin, H, W) or (Cin, H, W), weight (Cin, Cout/groups, kh, kw).
    The adjoint of conv2d in its input (col2im of input @ weight)."""
    _check_conv("conv_transpose2d", input, weight, bias, groups, 2)
    unbatched = input._data.ndim == 3
    if unbatched:
        input = input.unsqueeze(0)
    stride, dilation = _tuple(stride, 2, "stride"), _tuple(dilation, 2, "dilation")
    padding, output_padding = _tuple(padding, 2, "padding"), _tuple(output_padding, 2, "output_padding")
    xs, ws = input._data.shape, weight._data.shape
    if xs[1] != ws[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected input{list(xs)} to have "
                           f"{ws[0]} channels, but got {xs[1]} channels instead")
    if ws[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
                           f"got weight of size [{list(ws)}] instead")
    for i in range(2):
        if output_padding[i] >= stride[i] and output_padding[i] >= dilation[i]:
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding_height: {output_padding[0]} output_padding_width: "
                               f"{output_padding[1]} stride_height: {stride[0]} stride_width: {stride[1]} "
                               f"dilation_height: {dilation[0]} dilation_width: {dilation[1]}")
    out_hw = [(xs[2 + i] - 1) * stride[i] - 2 * padding[i] + dilation[i] * (ws[2 + i] - 1) + output_padding[i] + 1
              for i in range(2)]
    if any(o <= 0 for o in out_hw):
        raise RuntimeError(f"Given input size per channel: ({xs[2]} x {xs[3]}). Calculated output size per channel: "
                           f"({out_hw[0]} x {out_hw[1]}). Output size is too small")
    if bias is not None and (bias._data.ndim != 1 or bias._data.shape[0] != ws[1] * groups):
        raise RuntimeError(f"Given transposed=1, weight of size {list(ws)}, expected bias to be 1-dimensional with "
                           f"{ws[1] * groups} elements, but got bias of size {list(bias._data.shape)} instead")
    geo = (stride, tuple((p, p) for p in padding), dilation, groups)
    # output_padding shows as extra rows/columns at the end that no window covers
    xshape = (xs[0], ws[1] * groups, out_hw[0], out_hw[1])
    y = ConvGradInput.apply(input, weight, geo, xshape)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y.squeeze(0) if unbatched else y


__all__ = ["conv1d", "conv2d", "conv_transpose2d"]
