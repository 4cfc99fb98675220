"""Functional forms of the layers, as ``torch.nn.functional``.

Example::

    >>> import tinygrad_cn.nn.functional as F
    >>> F.linear(tinygrad_cn.ones(2, 3), tinygrad_cn.ones(4, 3)).shape
    tinygrad_cn.Size([2, 4])
"""
from __future__ import annotations

from ..ops.activation import elu, gelu, hardtanh, leaky_relu, logsigmoid, silu, softplus
from ..ops.linalg import linear, linear_relu
from ..ops.loss import cross_entropy, nll_loss
from ..ops.linalg import _TYPE_WORDS
from ..ops.pointwise import sigmoid, tanh, where
from ..tensor import Tensor
from . import _functional_conv, _functional_norm
from ._functional_conv import *  # noqa: F401,F403  convolution, pooling, padding, dropout, embedding
from ._functional_norm import *  # noqa: F401,F403  normalisation, losses, attention, interpolation

__all__ = ["linear", "linear_relu", "bilinear", "prelu", "relu", "relu_", "sigmoid", "tanh", "gelu", "silu", "softplus", "logsigmoid",
           "elu", "elu_", "leaky_relu", "leaky_relu_", "hardtanh", "hardtanh_", "softmax", "log_softmax",
           "cross_entropy", "nll_loss"] + _functional_conv.__all__ + _functional_norm.__all__


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise, as ``torch.nn.functional.relu``."""
    return input.relu_() if inplace else input.relu()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x), as ``torch.nn.functional.prelu``:
    ``weight`` a scalar or 1-D, one slope for all or one per channel (dim 1;
    an input of fewer than 2 dims has one channel).

    Example::

        >>> F.prelu(tinygrad_cn.tensor([-2.0, 3.0]), tinygrad_cn.tensor([0.25]))
        tensor([-0.5000,  3.0000])
    """
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    if input._data.dtype != weight._data.dtype:
        words = [_TYPE_WORDS.get(t._data.dtype.name, t._data.dtype.name) for t in (input, weight)]
        raise RuntimeError(f"prelu: Type promoting not supported. Got {words[0]} and {words[1]}")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                               f"{n} and channel size = {channels}.")
        w = weight.reshape((n,) + (1,) * (input.ndim - 2))
    else:
        w = weight.reshape(())
    return where(input > 0, input, w * input)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_o = x1^T A_o x2 + b_o over the last dims, as ``torch.nn.functional.bilinear``:
    weight (out, in1, in2), bias (out,) or None, inputs (..., in1) and (..., in2).

    Example::

        >>> F.bilinear(tinygrad_cn.ones(2, 3), tinygrad_cn.ones(2, 4), tinygrad_cn.ones(5, 3, 4)).shape
        tinygrad_cn.Size([2, 5])
    """
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got {weight.ndim} dimensions")
    o, i1, i2 = weight.shape
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    for d, (a, b) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if a != b:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got {a} and {b}")
    if input1.shape[-1] != i1:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {i1}")
    if input2.shape[-1] != i2:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {i2}")
    if bias is not None and tuple(bias.shape) != (o,):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[-1] if bias.ndim else 0}"
                           f" but expected {o}")
    lead = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, i1), input2.reshape(-1, i2)
    # x1 @ A_o for every o in one GEMM: (N, i1) @ (i1, o*i2), then the dot with x2
    t = (x1 @ weight.permute(1, 0, 2).reshape(i1, o * i2)).reshape(-1, o, i2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (o,))


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, as ``torch.nn.functional.softmax``."""
    return input.softmax(dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, as ``torch.nn.functional.log_softmax``."""
    return input.log_softmax(dim, dtype=dtype)
