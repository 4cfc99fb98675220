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
from ..ops.pointwise import sigmoid, tanh
from ..tensor import Tensor
from . import _functional_conv, _functional_norm
from ._functional_conv import *  # noqa: F401,F403  convolution, pooling, padding, dropout, embedding
from ._functional_norm import *  # noqa: F401,F403  normalisation, losses, attention, interpolation

__all__ = ["linear", "linear_relu", "relu", "relu_", "sigmoid", "tanh", "gelu", "silu", "softplus", "logsigmoid",
           "elu", "elu_", "leaky_relu", "leaky_relu_", "hardtanh", "hardtanh_", "softmax", "log_softmax",
           "cross_entropy", "nll_loss"] + _functional_conv.__all__ + _functional_norm.__all__


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise, as ``torch.nn.functional.relu``."""
    return input.relu_() if inplace else input.relu()


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
