"""2-D convolution (and conv1d, conv_transpose2d) on the conv kernels of
tinygrad_cn._C (csrc/im2col.c: per-sample im2col + our GEMM; NumPy reference
in _C/ref_conv.py).

Three Functions close under differentiation, so double backward works:

* ``Conv2d(x, w, b)``          y  = conv(x, w) + b
* ``ConvGradInput(g, w)``      gx = conv^T(g, w)   (the adjoint in x: also conv_transpose2d)
* ``ConvGradWeight(x, g)``     gw = the adjoint in w

Each is bilinear in its two tensor arguments, and the derivative of each is
one of the other two (see the backward methods). ``geo`` is (stride,
((top, bottom), (left, right)) padding, dilation, groups), as the kernels
take it.
"""
from __future__ import annotations

import numpy as np

from .._C import kernels
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor

_make = Tensor._make


def _conv_fwd(x: np.ndarray, w: np.ndarray, b, geo) -> np.ndarray:
    return kernels.conv2d_forward(x, w, b, *geo)


def _fit(g: np.ndarray, xshape, wshape, geo) -> np.ndarray:
    """g padded with zeros to the output conv makes of an input of xshape:
    conv_transpose2d's output_padding adds rows/columns to x that no window
    of g reaches, and with a dilation larger than the stride a window can."""
    stride, pads, dil, _ = geo
    ohw = tuple((xshape[2 + i] + pads[i][0] + pads[i][1] - dil[i] * (wshape[2 + i] - 1) - 1) // stride[i] + 1
                for i in range(2))
    if tuple(g.shape[2:]) == ohw:
        return g
    gp = np.zeros(g.shape[:2] + ohw, dtype=g.dtype)
    gp[:, :, :g.shape[2], :g.shape[3]] = g
    return gp


def _conv_gin(g: np.ndarray, w: np.ndarray, geo, xshape) -> np.ndarray:
    return kernels.conv2d_backward_input(_fit(g, xshape, w.shape, geo), w, xshape, *geo)


def _conv_gw(x: np.ndarray, g: np.ndarray, geo, wshape) -> np.ndarray:
    return kernels.conv2d_backward_weight(x, _fit(g, x.shape, wshape, geo), wshape, *geo)


# -- Functions -------------------------------------------------------------------------
class Conv2d(Function):
    node_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, b, geo):
        ctx.save_for_backward(x, w)
        ctx.geo = geo
        return _conv_fwd(x._data, w._data, None if b is None else b._data, geo)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nx, nw, nb = ctx.needs_input_grad[:3]
        geo = ctx.geo
        gx = ConvGradInput.apply(g, w, geo, tuple(x.shape)) if nx else None
        gw = ConvGradWeight.apply(x, g, geo, tuple(w.shape)) if nw else None
        gb = _bias_grad(g) if nb else None
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
        dw = ConvGradWeight.apply(gg, g, geo, tuple(w.shape)) if nw else None
        return dg, dw, None, None


class ConvGradWeight(Function):
    node_name = "ConvolutionBackwardBackward0"

    @staticmethod
    def forward(ctx, x, g, geo, wshape):
        ctx.save_for_backward(x, g)
        ctx.geo = geo
        return _conv_gw(x._data, g._data, geo, wshape)

    @staticmethod
    def backward(ctx, gg):
        # <gg, gw(x, g)> = <conv(x, gg), g>
        x, g = ctx.saved_tensors
        nx, ng = ctx.needs_input_grad[:2]
        geo = ctx.geo
        dx = ConvGradInput.apply(g, gg, geo, tuple(x.shape)) if nx else None
        dg = _crop(Conv2d.apply(x, gg, None, geo), g.shape) if ng else None
        return dx, dg, None, None


def _bias_grad(g: Tensor) -> Tensor:
    """g summed over (N, H, W): one C pass, or tensor code under create_graph."""
    if STATE.enabled:
        return g.sum((0, 2, 3))
    return _make(kernels.conv2d_backward_bias(g._data))


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
