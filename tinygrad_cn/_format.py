"""``repr`` of tensors in torch's style: ``tensor([1.0000, 2.5000], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

from . import _dtype

_DEFAULT_SHOWN = ("float32", "int64", "bool")


def _float_formatter(arr: np.ndarray):
    finite = arr[np.isfinite(arr)]
    if finite.size == 0:
        return lambda v: _special(v)
    absmax, absmin = np.abs(finite).max(), np.abs(finite[finite != 0]).min() if (finite != 0).any() else 0.0
    if np.all(finite == np.round(finite)) and absmax < 1e8:
        return lambda v: _special(v) if not np.isfinite(v) else f"{v:.0f}."
    if absmax >= 1e8 or (absmin and absmin < 1e-4) or (absmin and absmax / absmin > 1e3 and absmax > 1e3):
        return lambda v: _special(v) if not np.isfinite(v) else f"{v:.4e}"
    return lambda v: _special(v) if not np.isfinite(v) else f"{v:.4f}"


def _special(v) -> str:
    return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")


def tensor_repr(t) -> str:
    arr = t._data
    opts = {"separator": ", ", "prefix": "tensor(", "threshold": 1000, "edgeitems": 3, "max_line_width": 80}
    if arr.dtype.kind == "f":
        fmt = _float_formatter(arr.astype(np.float64))
        body = np.array2string(arr, formatter={"float_kind": fmt}, **opts)
    elif arr.dtype == np.bool_:
        body = np.array2string(arr, formatter={"bool": lambda v: "True" if v else "False"}, **opts)
    else:
        body = np.array2string(arr, **opts)
    extras = []
    if arr.size == 0 and arr.shape != (0,):
        extras.append(f"size={tuple(arr.shape)}")
    name = _dtype.from_numpy_dtype(arr.dtype).name
    if name not in _DEFAULT_SHOWN or (name == "float32" and _dtype.get_default_dtype() is not _dtype.float32):
        extras.append(f"dtype={_dtype.from_numpy_dtype(arr.dtype)!r}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        extras.append("requires_grad=True")
    suffix = "".join(", " + e for e in extras)
    return f"tensor({body}{suffix})"
