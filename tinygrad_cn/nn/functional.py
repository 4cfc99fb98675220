"""Functional forms of the layers, as ``torch.nn.functional``.

Example::

    >>> import tinygrad_cn.nn.functional as F
    >>> F.linear(tinygrad_cn.ones(2, 3), tinygrad_cn.ones(4, 3)).shape
    tinygrad_cn.Size([2, 4])
"""
from __future__ import annotations

from ..ops.linalg import linear, linear_relu
from ..ops.pointwise import sigmoid, tanh
from ..tensor import Tensor

__all__ = ["linear", "linear_relu", "relu", "sigmoid", "tanh"]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0) elementwise, as ``torch.nn.functional.relu``."""
    return input.relu_() if inplace else input.relu()
