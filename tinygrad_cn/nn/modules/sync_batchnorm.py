"""``SyncBatchNorm``: batch normalisation whose batch statistics span every rank.

In training with a process group of more than one rank, the per-channel sums (and
then the sums of squared deviations) are all-reduced, so each rank normalises with
the mean and variance of the global batch. The all-reduce is differentiable: its
backward all-reduces the incoming gradient, which is exactly the term torch's
SyncBatchNorm backward exchanges (the global sums of dy and dy * x_hat).
Evaluation, and a world of one, fall back to ordinary batch norm.
"""
from __future__ import annotations

from typing import Optional

from ...autograd.grad_mode import no_grad
from ...creation import tensor
from ...ops.movement import cat
from ...tensor import Tensor
from .. import functional as F
from .module import Module
from .normalization import _BatchNorm


def _group_size(process_group) -> int:
    """The world size a SyncBatchNorm synchronises over (1 when no group is initialised)."""
    from ... import distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(process_group)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the batch of every rank, as ``torch.nn.SyncBatchNorm``.

    Takes (N, C) or (N, C, *) input. ``convert_sync_batchnorm`` turns the BatchNorm layers of a
    model into SyncBatchNorm layers (keeping their parameters and buffers).

    Example::

        >>> bn = tinygrad_cn.nn.SyncBatchNorm(4)
        >>> bn(tinygrad_cn.randn(8, 4)).shape       # no process group: plain batch norm
        tinygrad_cn.Size([8, 4])
        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: Optional[float] = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype,
                         bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked.item()) if self.momentum is None else self.momentum
        bn_training = True if self.training else (self.running_mean is None and self.running_var is None)
        use_stats = not self.training or self.track_running_stats
        running_mean = self.running_mean if use_stats else None
        running_var = self.running_var if use_stats else None
        if not (bn_training and self.training and _group_size(self.process_group) > 1):
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, bn_training, factor,
                                self.eps)
        return self._sync_forward(input, running_mean, running_var, factor)

    def _sync_forward(self, input: Tensor, running_mean, running_var, factor: float) -> Tensor:
        from ...distributed.nn.functional import all_reduce
        c = input.size(1)
        dims = (0,) + tuple(range(2, input.dim()))
        shape = [1, c] + [1] * (input.dim() - 2)
        local_n = tensor([float(input.numel() // c)], dtype=input.dtype)
        sums = all_reduce(cat([input.sum(dims), local_n]), group=self.process_group)
        n = int(round(float(sums[c].item())))
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{input.size()!r} on each of {_group_size(self.process_group)} ranks")
        mean = sums[:c] / n
        centred = input - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(dims), group=self.process_group) / n
        y = centred * (var + self.eps).rsqrt().reshape(shape)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - factor).add_(mean.detach().to(running_mean.dtype) * factor)
            if running_var is not None:
                unbiased = var.detach() * (n / (n - 1))
                running_var.mul_(1 - factor).add_(unbiased.to(running_var.dtype) * factor)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """Return ``module`` with every BatchNorm*D layer replaced by a SyncBatchNorm sharing its
        parameters and buffers (as ``torch.nn.SyncBatchNorm.convert_sync_batchnorm``)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            dt = module.weight.dtype if module.weight is not None else (
                module.running_mean.dtype if module.running_mean is not None else None)
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, dtype=dt, bias=module.bias is not None or not module.affine)
            if module.affine:
                with no_grad():
                    out.weight = module.weight
                    out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
