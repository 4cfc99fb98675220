"""nn.functional: convolution, pooling, padding, dropout, embedding (see tinygrad_cn/nn/functional.py).

convolution lives in ops/conv.py, pooling in ops/pooling.py; pad and
embedding are gathers at flat indices (``pooling.Gather``), whose adjoint is
a scatter-add, so their gradients of any order are right.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..creation import _rng
from ..ops.conv import conv1d, conv2d, conv_transpose2d
from ..ops.pooling import (Gather, LinearMap, _node, adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,
                           max_pool1d, max_pool2d)
from ..tensor import Tensor

_make = Tensor._make

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
           "adaptive_avg_pool2d", "adaptive_max_pool2d", "pad", "dropout", "dropout2d", "embedding", "one_hot"]


_PAD_NODES = {"constant": _node("ConstantPadNdBackward0"), "reflect": _node("ReflectionPadBackward0"),
              "replicate": _node("ReplicationPadBackward0"), "circular": _node("CircularPadBackward0")}
_EMBEDDING_NODE = _node("EmbeddingBackward0")


# -- pad -------------------------------------------------------------------------------
class _PadGather(Gather):
    """A gather whose masked-out entries read ``fill`` in the primal value only."""

    def __init__(self, idx, in_shape, mask, fill):
        super().__init__(idx, in_shape, mask)
        self.fill = fill

    def value(self, x):
        out = super().fwd(x)
        if self.fill:
            out = np.where(self.mask, out, np.asarray(self.fill).astype(out.dtype))
        return out


def _axis_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    i = np.arange(-lo, n + hi)
    if mode == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n  # circular


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims, as ``torch.nn.functional.pad``:
    ``pad = (left, right, top, bottom, ...)`` from the last dim backwards;
    modes 'constant' (``value``, default 0; negative pads crop), 'reflect',
    'replicate', 'circular'.

    Example::

        >>> F.pad(tinygrad_cn.ones(1, 2), (1, 1)).tolist()
        [[0.0, 1.0, 1.0, 0.0]]
    """
    pad = [int(p) for p in pad]
    d = input._data
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > d.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {d.ndim}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value is not None and value != 0:
            raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
        npad = len(pad) // 2
        if npad > 3 or d.ndim not in (npad + 1, npad + 2):
            raise NotImplementedError(
                f"Padding size {len(pad)} is not supported for {d.ndim}D input tensor.\n"
                "Supported combinations for non-constant padding:\n"
                "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
                "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
                "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = d.shape
    idx = np.zeros((), dtype=np.int64)
    mask = np.ones((), dtype=bool)
    stride = 1
    out_shape = list(shape)
    for ax in range(d.ndim - 1, -1, -1):
        k = d.ndim - 1 - ax
        lo, hi = (pad[2 * k], pad[2 * k + 1]) if 2 * k < len(pad) else (0, 0)
        n = shape[ax]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                               f"but got: padding ({lo}, {hi}) at dimension {ax} of input {list(shape)}")
        if mode == "circular" and (lo > n or hi > n):
            raise RuntimeError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise RuntimeError(f"padding size is expected to be less than the input dimension")
        out_n = n + lo + hi
        if out_n < 0 or (out_n == 0 and n > 0 and (lo or hi)):
            raise RuntimeError(f"The input size {n}, plus negative padding {lo} and {hi} resulted in a negative "
                               f"output size, which is invalid. Check dimension {ax} of your input.")
        ia = _axis_index(n, lo, hi, mode)
        view = [1] * d.ndim
        view[ax] = out_n
        idx = idx + (np.maximum(ia, 0) * stride).reshape(view)
        mask = mask & (ia >= 0).reshape(view)
        out_shape[ax] = out_n
        stride *= n
    idx = np.broadcast_to(idx, out_shape)
    mask = np.broadcast_to(mask, out_shape)
    fill = 0 if value is None else value
    if d.size == 0:  # nothing to gather: all fill
        out = np.full(out_shape, fill, dtype=d.dtype)
        return _make(out) if not input.requires_grad else input.sum() * 0 + _make(out)
    op = _PadGather(np.ascontiguousarray(idx), shape, None if mask.all() else np.ascontiguousarray(mask), fill)
    return _PAD_NODES[mode].apply(input, op, False, True)


# -- dropout ---------------------------------------------------------------------------
def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(input, p, mask_shape):
    keep = _rng(None).random(mask_shape) >= p
    scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
    return _make((keep * scale).astype(input._data.dtype))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by
    1/(1-p), as ``torch.nn.functional.dropout``. The mask comes from the
    default Generator, so ``tinygrad_cn.manual_seed`` makes it reproducible."""
    _check_p(p)
    if not training:
        return input
    m = _dropout_mask(input, p, input._data.shape)
    return input.mul_(m) if inplace else input * m


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels (N, C, ...) with probability ``p``, as
    ``torch.nn.functional.dropout2d``."""
    _check_p(p)
    d = input._data
    if d.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {d.ndim}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout2d exists to provide channel-wise dropout on inputs with 2 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D "
                      "inputs).")
    elif d.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.")
    if not training:
        return input
    m = _dropout_mask(input, p, d.shape[:2] + (1,) * (d.ndim - 2))
    return input.mul_(m) if inplace else input * m


# -- embedding -------------------------------------------------------------------------
def embedding(input: Tensor, weight: Tensor, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` at the integer indices ``input``, as
    ``torch.nn.functional.embedding``. The row ``padding_idx`` gets no
    gradient; ``max_norm`` renormalises the looked-up rows of weight in place.

    Example::

        >>> F.embedding(tinygrad_cn.tensor([2, 0]), tinygrad_cn.eye(3)).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    w = weight._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got torch.{'Float' if idx.dtype == np.float32 else idx.dtype.name}"
                           "Tensor instead (while checking arguments for embedding)")
    if w.ndim != 2:
        raise RuntimeError("'weight' must be 2-D")
    v, dim = w.shape
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= v:
                raise AssertionError("Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -v:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += v
    if idx.size and (idx.min() < 0 or idx.max() >= v):
        raise IndexError("index out of range in self")
    idx = idx.astype(np.int64)
    if max_norm is not None:
        rows = np.unique(idx)
        norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
        scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[rows] = (w[rows] * scale[:, None]).astype(w.dtype)
    flat = idx[..., None] * dim + np.arange(dim)
    mask = None
    if padding_idx is not None or scale_grad_by_freq:
        wts = np.ones(idx.shape)
        if scale_grad_by_freq:
            counts = np.bincount(idx.reshape(-1), minlength=v)
            wts = wts / counts[idx]
        if padding_idx is not None:
            wts = np.where(idx == padding_idx, 0.0, wts)
        mask = np.broadcast_to(wts[..., None], flat.shape)
    return _EMBEDDING_NODE.apply(weight, Gather(flat, w.shape, mask), False, True)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of ``num_classes`` (-1:
    max + 1), as ``torch.nn.functional.one_hot``."""
    d = tensor._data
    if d.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if d.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(d.max()) + 1
    if d.size:
        if d.min() < 0:
            raise RuntimeError("Class values must be non-negative.")
        if d.max() >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    return _make((d[..., None] == np.arange(num_classes)).astype(np.int64))
