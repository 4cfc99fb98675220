"""``make_tensor``: torch.testing.make_tensor for tinygrad_cn."""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

__all__ = ["make_tensor"]


def _shape_of(shape: tuple) -> tuple:
    # make_tensor(2, 3), make_tensor((2, 3)) and make_tensor([2, 3]) are all accepted.
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def make_tensor(*shape, dtype, device=None, low: Optional[float] = None, high: Optional[float] = None,
                requires_grad: bool = False, noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format=None):
    """A tensor of ``shape`` and ``dtype`` with values uniform in ``[low, high)``.

    Defaults as torch: floats in [-9, 9), signed integers in [-9, 10),
    unsigned in [0, 10), bools either. ``noncontiguous`` takes every other
    element of a buffer twice as long in the last dim (offset by one);
    ``exclude_zero`` replaces zeros by 1 (integers) or the smallest normal.
    Values come from the library's global generator (``manual_seed``).

    Example::

        >>> t = make_tensor(2, 3, dtype=tinygrad_cn.float64, low=-1, high=1, noncontiguous=True)
        >>> t.shape, t.is_contiguous()
        (tinygrad_cn.Size([2, 3]), False)
    """
    import tinygrad_cn as tg
    from .._dtype import to_dtype
    from ..tensor import Tensor, check_device
    check_device(device)
    shape = _shape_of(shape)
    np_dtype = to_dtype(dtype).np
    if requires_grad and np_dtype.kind != "f":
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got "
                         f"dtype={dtype}")
    noncontiguous = noncontiguous and math.prod(shape) > 1
    alloc = (*shape[:-1], 2 * shape[-1]) if noncontiguous else shape
    if np_dtype.kind == "b":
        arr = tg.randint(0, 2, alloc)._data.astype(np.bool_)
    elif np_dtype.kind in "iu":
        lo = 0 if np_dtype.kind == "u" else -9
        lo = math.ceil(low) if low is not None else lo
        hi = math.ceil(high) if high is not None else 10
        arr = tg.randint(lo, hi, alloc)._data.astype(np_dtype)
    else:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo > hi:
            raise ValueError(f"`low` must be less than or equal to `high`, but got {lo} > {hi}")
        u = tg.rand(*alloc, dtype=tg.float64)._data
        arr = (lo + (hi - lo) * u).astype(np_dtype)
    if noncontiguous:
        arr = arr[..., 1::2]  # offset by one as well, as torch does
    if exclude_zero:
        arr[arr == 0] = 1 if np_dtype.kind in "biu" else np.finfo(np_dtype).tiny
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t
