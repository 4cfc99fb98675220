"""Collectives that autograd can differentiate, as ``torch.distributed.nn.functional``."""
from __future__ import annotations

from typing import Optional

from ...autograd.function import Function
from .. import collectives
from ..process_group import ProcessGroup, ReduceOp


class _AllReduceSum(Function):
    """y = sum over ranks of x. Every rank's loss depends on y, so the gradient of the
    sum of all ranks' losses with respect to this rank's x is the sum of the incoming
    gradients over ranks: backward is an all-reduce too (SyncBatchNorm relies on it)."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        y = x.detach().clone()
        collectives.all_reduce(y, ReduceOp.SUM, group=group)
        return y

    @staticmethod
    def backward(ctx, grad):
        g = grad.detach().clone()
        collectives.all_reduce(g, ReduceOp.SUM, group=ctx.group)
        return g, None


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group: Optional[ProcessGroup] = None):
    """A new tensor holding the sum of ``tensor`` over ranks, differentiable (only SUM, as the
    gradient of the others is not defined there either).

    Example::

        >>> total = dist.nn.functional.all_reduce(x.sum(0))   # gradients flow back to x on every rank
    """
    if op is not ReduceOp.SUM:
        raise NotImplementedError(f"differentiable all_reduce supports only ReduceOp.SUM, got {op}")
    return _AllReduceSum.apply(tensor, group)
