"""``repr`` of tensors in torch's style: ``tensor([1.0000, 2.5000], requires_grad=True)``."""
from __future__ import annotations

import math

import numpy as np

from . import _dtype


class _PrintOptions:
    """torch's print options (torch._tensor_str.PRINT_OPTS)."""
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """torch.set_printoptions: ``profile`` is 'default', 'short' or 'full'."""
    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
        if profile not in presets:
            raise ValueError(f"unknown print profile {profile!r}")
        PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = presets[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """Chooses one format and one width for every element, as torch's does:
    integer-valued floats print as '1.', others with ``precision`` decimals,
    and scientific notation when the magnitudes span more than 1e3 or pass 1e8
    (or, for non-integers, go under 1e-4)."""

    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = PRINT_OPTS.precision
        flat = values.reshape(-1)
        if not self.floating:
            if flat.size:
                self.max_width = max(len(str(v)) for v in set(flat.tolist()))
        else:
            v64 = flat.astype(np.float64)
            nz = v64[np.isfinite(v64) & (v64 != 0)]
            if nz.size:
                absv = np.abs(nz)
                lo, hi = absv.min(), absv.max()
                self.int_mode = bool(np.all(nz == np.ceil(nz)))
                self.sci_mode = (hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4) if PRINT_OPTS.sci_mode is None \
                    else bool(PRINT_OPTS.sci_mode)
                uniq = set(nz.tolist())
                if self.sci_mode:
                    self.max_width = max(len(f"{v:.{p}e}") for v in uniq)
                elif self.int_mode:
                    self.max_width = max(len(f"{v:.0f}") + 1 for v in uniq)
                else:
                    self.max_width = max(len(f"{v:.{p}f}") for v in uniq)

    def format(self, v) -> str:
        if self.floating:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                ret = f"{v:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{v:.0f}"
                if math.isfinite(v):
                    ret += "."
            else:
                ret = f"{v:.{p}f}"
        else:
            ret = f"{v}"
        return (self.max_width - len(ret)) * " " + ret


def _summarized(arr: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows: edgeitems at each end of each dim."""
    e = PRINT_OPTS.edgeitems
    if arr.ndim == 0:
        return arr
    if arr.ndim == 1:
        return np.concatenate([arr[:e], arr[-e:]]) if arr.shape[0] > 2 * e else arr
    if not e:
        return arr[(slice(0, 0),) * arr.ndim]
    if arr.shape[0] > 2 * e:
        rows = [arr[i] for i in range(e)] + [arr[i] for i in range(arr.shape[0] - e, arr.shape[0])]
    else:
        rows = list(arr)
    return np.stack([_summarized(r) for r in rows])


def _vector_str(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / (fmt.max_width + 2))))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and arr.shape[0] > 2 * e:
        data = [fmt.format(v) for v in arr[:e].tolist()] + [" ..."] + [fmt.format(v) for v in arr[-e:].tolist()]
    else:
        data = [fmt.format(v) for v in arr.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str(arr: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if arr.ndim == 0:
        return fmt.format(arr.item())
    if arr.ndim == 1:
        return _vector_str(arr, indent, summarize, fmt)
    e = PRINT_OPTS.edgeitems
    if summarize and arr.shape[0] > 2 * e:
        slices = ([_tensor_str(arr[i], indent + 1, summarize, fmt) for i in range(e)] + ["..."]
                  + [_tensor_str(arr[i], indent + 1, summarize, fmt) for i in range(arr.shape[0] - e, arr.shape[0])])
    else:
        slices = [_tensor_str(arr[i], indent + 1, summarize, fmt) for i in range(arr.shape[0])]
    return "[" + ("," + "\n" * (arr.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _add_suffixes(text: str, suffixes, indent: int) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(t) -> str:
    """torch's ``repr`` (torch._tensor_str._str), element for element."""
    arr = t._data
    prefix = "tensor("
    indent = len(prefix)
    dt = _dtype.from_numpy_dtype(arr.dtype)
    default = _dtype.get_default_dtype()
    suffixes = []
    if arr.size == 0:
        if arr.ndim != 1:
            suffixes.append(f"size={tuple(arr.shape)}")
        if dt is not default:
            suffixes.append(f"dtype={dt!r}")
        body = "[]"
    else:
        if dt not in (default, _dtype.int64, _dtype.bool_):
            suffixes.append(f"dtype={dt!r}")
        if arr.dtype == np.float16:
            arr = arr.astype(np.float32)
        summarize = arr.size > PRINT_OPTS.threshold
        fmt = _Formatter(_summarized(arr) if summarize else arr)
        body = _tensor_str(arr, indent, summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
