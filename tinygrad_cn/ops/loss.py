"""Classification losses: nll_loss and cross_entropy, as torch.nn.functional.

cross_entropy from class indices runs on one fused kernel pass per row
(log-sum-exp forward; softmax minus the smoothed one-hot backward, never
materialising the softmax twice). Other forms (class-probability targets,
create_graph, dtypes without a kernel) are composed from log_softmax, with
torch's formulas, which also makes them the oracle of the fused path.
"""
from __future__ import annotations

import numpy as np

from .._C import KERNEL_DTYPES, kernels as K
from ..autograd.function import Function
from ..autograd.grad_mode import STATE
from ..tensor import Tensor
from .linalg import _TYPE_WORDS

_make = Tensor._make
_REDUCTIONS = ("none", "mean", "sum")


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _classes_last(input: Tensor, target: Tensor):
    """(N, C, d1, ...) logits and (N, d1, ...) targets as (M, C) and (M,)."""
    c = input.shape[1]
    moved = input.movedim(1, -1)
    return moved.reshape(-1, c), target.reshape(-1)


class _BatchSizeError(ValueError, RuntimeError):
    """Input and target batch sizes differ. torch raises ValueError here (older
    code expected RuntimeError). This is both."""


def _check_target_dtype(target: Tensor):
    """Class indices are int64 or uint8, as torch's nll_loss accepts."""
    dt = target._data.dtype
    if dt not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_TYPE_WORDS.get(dt.name, dt.name)}")


def _check_target(input: Tensor, target: Tensor):
    n_in, n_t = input.shape, target.shape
    if input.ndim == 1:
        if target.ndim != 0:
            raise _BatchSizeError(f"Expected input batch_size ({1}) to match target batch_size ({n_t[0]}).")
        return
    if target.ndim == 0 or n_in[0] != n_t[0]:
        raise _BatchSizeError(f"Expected input batch_size ({n_in[0]}) to match target batch_size "
                              f"({n_t[0] if target.ndim else 1}).")
    if input.ndim > 2 and tuple(n_in[2:]) != tuple(n_t[1:]):
        raise RuntimeError(f"Expected target size {[n_in[0]] + list(n_in[2:])}, got {list(n_t)}")


class CrossEntropy(Function):
    """Fused cross-entropy of (N, C) logits and (N,) int64 class indices."""

    node_name = "NllLossBackward0"  # what torch's F.cross_entropy shows

    @staticmethod
    def forward(ctx, logits, target, weight, ignore_index, label_smoothing, reduction):
        w = None if weight is None else weight._data
        loss, lse = K.cross_entropy(logits._data, target._data, weight=w, ignore_index=ignore_index,
                                    label_smoothing=label_smoothing, reduction=reduction)
        ctx.save_for_backward(logits)
        ctx.lse, ctx.target, ctx.weight = lse, target._data, w
        ctx.options = (ignore_index, label_smoothing, reduction)
        return np.asarray(loss)

    @staticmethod
    def backward(ctx, g):
        (logits,) = ctx.saved_tensors
        ignore_index, label_smoothing, reduction = ctx.options
        if STATE.enabled:  # create_graph: the same gradient through differentiable tensor code
            from ..autograd import grad as _grad
            from ..autograd.grad_mode import enable_grad
            weight = None if ctx.weight is None else _make(ctx.weight)
            with enable_grad():
                loss = _cross_entropy_composite(logits, _make(ctx.target), weight, ignore_index, reduction,
                                                label_smoothing)
                (gx,) = _grad(loss, logits, g, create_graph=True)
            return gx, None, None, None, None, None
        grad = K.cross_entropy_backward(logits._data, ctx.target, ctx.lse, g._data, weight=ctx.weight,
                                        ignore_index=ignore_index, label_smoothing=label_smoothing,
                                        reduction=reduction)
        return _make(grad), None, None, None, None, None


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, ...) at
    the class indices ``target`` (N, ...), as ``torch.nn.functional.nll_loss``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_target_dtype(target)
    _check_target(input, target)
    if input.ndim == 1:
        r = nll_loss(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index=ignore_index,
                     reduction=reduction)
        return r.squeeze(0) if reduction == "none" else r
    shape = (input.shape[0],) + tuple(input.shape[2:])
    logp, t = _classes_last(input, target) if input.ndim > 2 else (input, target)
    picked, w = _pick(logp, t, weight, ignore_index)
    losses = -picked * w
    if reduction == "none":
        return losses.reshape(shape)
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()


def _pick(logp: Tensor, t: Tensor, weight: Tensor | None, ignore_index: int):
    """logp[i, t_i] and the weight w[t_i] of each row (0 where ignored)."""
    c = logp.shape[1]
    td = t._data
    keep = td != ignore_index
    bad = keep & ((td < 0) | (td >= c))
    if bad.any():
        raise IndexError(f"Target {int(td[bad][0])} is out of bounds.")
    safe = _make(np.where(keep, td, 0).astype(np.int64))
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = _make(keep.astype(logp._data.dtype))
    if weight is not None:
        w = weight[safe] * w
    return picked, w


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` (C), (N, C) or (N, C, d1, ...) and
    ``target``: class indices (int64, without the C dim) or class
    probabilities (same shape as input), as ``torch.nn.functional.cross_entropy``.

    Example::

        >>> import tinygrad_cn.nn.functional as F
        >>> F.cross_entropy(tinygrad_cn.zeros(2, 4), tinygrad_cn.tensor([0, 3])).item()  # log(4)
        1.3862943649291992
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if target.is_floating_point():
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    _check_target_dtype(target)
    _check_target(input, target)
    if target._data.dtype != np.int64:  # uint8 class indices: the kernels take int64
        target = _make(target._data.astype(np.int64))
    dt = input._data.dtype
    if input.ndim == 2 and dt in KERNEL_DTYPES and (weight is None or (weight._data.dtype == dt and
                                                                        not weight.requires_grad)):
        return CrossEntropy.apply(input, target, weight, int(ignore_index), float(label_smoothing), reduction)
    return _cross_entropy_composite(input, target, weight, ignore_index, reduction, label_smoothing)


def _cross_entropy_composite(input, target, weight, ignore_index, reduction, label_smoothing):
    """torch's cross_entropy_loss_label_smoothing, in tensor code."""
    logp = input.log_softmax(1 if input.ndim > 1 else 0)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return nll
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if input.ndim == 1:
        logp, t = logp.unsqueeze(0), target.unsqueeze(0)
    else:
        logp, t = _classes_last(logp, target) if input.ndim > 2 else (logp, target)
    keep = _make(t._data != ignore_index)
    smooth = -(logp * weight if weight is not None else logp).sum(1) * keep
    if reduction == "none":
        shape = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
        smooth = smooth.reshape(shape)
    elif reduction == "sum":
        smooth = smooth.sum()
    else:
        _, w = _pick(logp, t, weight, ignore_index)
        smooth = smooth.sum() / w.sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / c)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    if target.shape != input.shape:
        raise RuntimeError(f"Expected target size {list(input.shape)}, got {list(target.shape)}")
    dim = 1 if input.ndim > 1 else 0
    c = input.shape[dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = input.log_softmax(dim)
    if weight is not None:
        shape = [1] * input.ndim
        shape[dim] = c
        logp = logp * weight.reshape(shape)
    losses = -(logp * target).sum(dim)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / (input.numel() // c)  # torch: the mean over every position, not over N
