"""Regression, binary and ranking losses, as torch.nn.functional.

Composed from differentiable Tensor ops (double backward for free), with
torch's formulas, reductions, legacy ``size_average``/``reduce`` arguments and
shape checks.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor
from .activation import logsigmoid
from .loss import _check_reduction, _legacy_reduction

_make = Tensor._make


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def _weighted(loss: Tensor, input: Tensor, weight, reduction: str, mean_over_weight: bool) -> Tensor:
    """torch 2.x's optional ``weight`` (input's size) of mse/l1/huber: 'mean' is sum(w l) / sum(w)
    (mse, l1) or mean(w l) (huber)."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_over_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def _broadcast_warn(input: Tensor, target: Tensor, name: str):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape!r}) that is different to the input size "
                      f"({input.shape!r}). This will likely lead to incorrect results due to broadcasting. "
                      f"Please ensure they have the same size.", stacklevel=3)


def _prepare(size_average, reduce, reduction):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return reduction


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    """Mean squared error, as ``torch.nn.functional.mse_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    _broadcast_warn(input, target, "mse_loss")
    d = input - target
    return _weighted(d * d, input, weight, reduction, True)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight=None) -> Tensor:
    """Mean absolute error, as ``torch.nn.functional.l1_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    _broadcast_warn(input, target, "l1_loss")
    return _weighted((input - target).abs(), input, weight, reduction, True)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - beta / 2, as ``torch.nn.functional.smooth_l1_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    _broadcast_warn(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    d = input - target
    if beta == 0.0:
        return _reduce(d.abs(), reduction)
    z = d.abs()
    quad = d * d * (0.5 / beta)
    return _reduce(quad.where(z < beta, z - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta / 2), as ``torch.nn.functional.huber_loss``."""
    _check_reduction(reduction)
    _broadcast_warn(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    d = input - target
    z = d.abs()
    quad = d * d * 0.5
    return _weighted(quad.where(z < delta, (z - 0.5 * delta) * delta), input, weight, reduction, False)


def _no_grad_arg(fn, name, t):
    if t is not None and t.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument '{name}'. "
                           f"This input cannot have requires_grad True.")


def _size_error(input, target):
    raise ValueError(f"Using a target size ({target.shape!r}) that is different to the input size "
                     f"({input.shape!r}) is deprecated. Please ensure they have the same size.")


_BCE_EPS = float(np.float32(1e-12))  # torch: `static const float EPSILON = 1e-12` (9.99999996e-13)


class BinaryCrossEntropy(Function):
    """-(t log x + (1 - t) log(1 - x)) per element, the logs clamped at -100.
    Its own Function because the chain rule through the clamped logs gives
    NaN at x = 0 or 1; torch's derivative (x - t) / max(x (1 - x), eps)
    stays finite there (eps is torch's float constant 1e-12, in any dtype).
    The backward is tensor code, so it differentiates again."""

    node_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        xd, td = x._data, t._data
        with np.errstate(divide="ignore", invalid="ignore"):
            log_x = np.maximum(np.log(xd), -100)
            log_1mx = np.maximum(np.log(1 - xd), -100)
            return (-(td * log_x + (1 - td) * log_1mx)).astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        nx, nt = ctx.needs_input_grad[:2]
        gx = g * (x - t) / ((1 - x) * x).clamp_min(_BCE_EPS) if nx else None
        gt = g * ((-x).log1p() - x.log()) if nt else None  # torch: unclamped (inf at x = 0 or 1)
        return gx, gt


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w (t log x + (1 - t) log(1 - x)) with the logs clamped at -100, as
    ``torch.nn.functional.binary_cross_entropy``."""
    reduction = _prepare(size_average, reduce, reduction)
    _no_grad_arg("binary_cross_entropy", "weight", weight)
    if tuple(target.shape) != tuple(input.shape):
        _size_error(input, target)
    xd = input._data
    if np.any((xd < 0) | (xd > 1)):
        raise RuntimeError("all elements of input should be between 0 and 1")
    if weight is not None:
        np.broadcast_shapes(tuple(weight.shape), tuple(input.shape))
    loss = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE of sigmoid(input) in the stable form ``(1 - t) x - (1 + (pw - 1) t) logsigmoid(x)``,
    as ``torch.nn.functional.binary_cross_entropy_with_logits``."""
    reduction = _prepare(size_average, reduce, reduction)
    _no_grad_arg("binary_cross_entropy_with_logits", "weight", weight)
    _no_grad_arg("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape!r}) must be the same as input size ({input.shape!r})")
    ls = logsigmoid(input)
    if pos_weight is not None:
        loss = (1 - target) * input - (1 + (pos_weight - 1) * target) * ls
    else:
        loss = (1 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``t (log t - input)`` of log-probabilities ``input``, as
    ``torch.nn.functional.kl_div`` ('batchmean' divides the sum by the batch size)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if reduction not in ("none", "mean", "sum", "batchmean"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target.xlogy(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim != 0 else loss.sum()
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -t (x1 - x2) + margin), as ``torch.nn.functional.margin_ranking_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {input1.shape!r}, input2: {input2.shape!r}, target: {target.shape!r} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """x where t == 1, max(0, margin - x) where t == -1, as ``torch.nn.functional.hinge_embedding_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    zeros = input * 0
    margin_clamp = (-input + margin).clamp_min(0)
    neg = margin_clamp.where(target == -1, zeros)
    pos = input.where(target != -1, zeros)
    return _reduce(pos + neg, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-t x)), as ``torch.nn.functional.soft_margin_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    return _reduce(-logsigmoid(target * input), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where t == 1, max(0, cos(x1, x2) - margin) where t == -1, as
    ``torch.nn.functional.cosine_embedding_loss`` (torch's EPSILON = 1e-12 in the magnitudes)."""
    reduction = _prepare(size_average, reduce, reduction)
    if target.ndim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-dimensional tensor found")
    want = 2 if target.ndim == 1 else 1
    if input1.ndim != want or input2.ndim != want:
        raise RuntimeError(f"{target.ndim}D target tensor expects {want}D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    prod = (input1 * input2).sum(-1)
    m1 = (input1 * input1).sum(-1) + eps
    m2 = (input2 * input2).sum(-1) + eps
    cos = prod / (m1 * m2).sqrt()
    zeros = cos * 0
    pos = (1 - cos).where(target == 1, zeros)
    neg = (cos - margin).clamp_min(0).where(target == -1, zeros)
    return _reduce(pos + neg, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood, as ``torch.nn.functional.poisson_nll_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        big = target > 1
        safe = target.where(big, target * 0 + 1)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + stirling.masked_fill(big.logical_not(), 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log(max(var, eps)) + (input - target)^2 / max(var, eps)), as
    ``torch.nn.functional.gaussian_nll_loss`` (the clamp does not change var's gradient)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = input.detach() * 0 + var
    elif np.any(var._data < 0):
        raise ValueError("var has negative entry/entries")
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var + (var.clamp_min(eps) - var).detach()
    d = input - target
    loss = 0.5 * (var.log() + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim, as ``torch.nn.functional.pairwise_distance``."""
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0), as ``torch.nn.functional.triplet_margin_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    a, pos, neg = anchor.ndim, positive.ndim, negative.ndim
    if not (a == pos == neg):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {a}D, positive {pos}D, and negative {neg}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """sum_{j != y} max(0, margin - x[y] + x[j])^p / C (times weight[y]), as
    ``torch.nn.functional.multi_margin_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = target.reshape(-1)
    c = x.shape[1]
    picked = x.gather(1, t.unsqueeze(1))
    z = (x - picked + margin).clamp_min(0)
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[t].unsqueeze(1)
    other = _make((np.arange(c)[None, :] != t._data[:, None]).astype(x._data.dtype))
    loss = (z * other).sum(1) / c
    if input.ndim < 2:
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """-mean_c(t log sigmoid(x) + (1 - t) log sigmoid(-x)) (times weight), as
    ``torch.nn.functional.multilabel_soft_margin_loss``."""
    reduction = _prepare(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    return _reduce(loss, reduction)
