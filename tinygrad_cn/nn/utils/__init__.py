"""``nn.utils``: gradient clipping and parameter/vector conversion, as torch has them."""
from __future__ import annotations

import math
from typing import Iterable, Union

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "get_total_norm", "clip_grads_with_norm_"]


def _as_list(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """The ``norm_type``-norm of all the tensors together, as one tensor."""
    tensors = _as_list(tensors)
    norm_type = float(norm_type)
    if len(tensors) == 0:
        return Tensor._make(np.array(0.0, dtype=np.float32))
    with no_grad():
        if norm_type == math.inf:
            norms = [t.detach().abs().max() for t in tensors]
            from ...ops.movement import stack
            total = stack(norms).max()
        else:
            from ...ops.movement import stack
            norms = [t.detach().norm(norm_type) for t in tensors]
            total = stack(norms).norm(norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` when that is below 1."""
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    with no_grad():
        clip_coef = float(max_norm) / (total_norm.item() + 1e-6)
        clip_coef_clamped = min(clip_coef, 1.0) if not math.isnan(clip_coef) else clip_coef
        for g in grads:
            g.mul_(clip_coef_clamped)


def clip_grad_norm_(parameters: Union[Tensor, Iterable[Tensor]], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Rescale the gradients in place so their total ``norm_type``-norm is at most ``max_norm``;
    returns the total norm from before clipping.

    Example::

        >>> total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    parameters = _as_list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total_norm)
    return total_norm


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None) -> Tensor:
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Union[Tensor, Iterable[Tensor]], clip_value: float, foreach=None) -> None:
    """Clamp every gradient in place to [-clip_value, clip_value]."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                g = p.grad
                np.clip(g._data, -clip_value, clip_value, out=g._data)
                g._vc[0] += 1


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All the parameters, flattened and concatenated into one vector (in the graph)."""
    from ...ops.movement import cat
    vec = [p.reshape(-1) for p in parameters]
    return cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy slices of ``vec`` into the parameters' data, in order."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    pointer = 0
    for param in parameters:
        n = param.numel()
        param.data = vec[pointer:pointer + n].view_as(param).data
        pointer += n

from . import rnn  # noqa: E402  torch.nn.utils.rnn
