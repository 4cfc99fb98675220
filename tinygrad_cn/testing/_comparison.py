"""``assert_close``: torch.testing.assert_close for tinygrad_cn.

Kept free of hypothesis and torch so ``import tinygrad_cn.testing`` is cheap.
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

__all__ = ["assert_close", "default_tolerances"]

# torch.testing's defaults (rtol, atol) per dtype; integers and bools are exact.
_TOLERANCES = {
    np.dtype(np.float16): (1e-3, 1e-5),
    np.dtype(np.float32): (1.3e-6, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-7),
}


def default_tolerances(*dtypes) -> tuple:
    """The (rtol, atol) torch uses for a comparison of values of ``dtypes``.

    With several dtypes (``check_dtype=False``) the loosest one wins, as in torch.

    Example::

        >>> default_tolerances(np.float32)
        (1.3e-06, 1e-05)
    """
    rtols, atols = [0.0], [0.0]
    for d in dtypes:
        rtol, atol = _TOLERANCES.get(np.dtype(d), (0.0, 0.0))
        rtols.append(rtol)
        atols.append(atol)
    return max(rtols), max(atols)


# -- classifying leaves -------------------------------------------------------

def _is_torch_tensor(x) -> bool:
    # Recognised by type name: torch is an optional oracle, never imported here.
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and hasattr(x, "numpy")


def _tensor_like_to_numpy(x) -> Optional[np.ndarray]:
    """The array behind a Tensor, ndarray or torch tensor; None for anything else."""
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    if _is_torch_tensor(x):
        return x.detach().cpu().numpy()
    return None


def _dtype_name(x, arr: np.ndarray) -> str:
    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return repr(x.dtype)
    if _is_torch_tensor(x):
        return str(x.dtype)
    return f"numpy.{arr.dtype}"


def _is_number(x) -> bool:
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, np.ndarray)


def _is_sequence(x) -> bool:
    return isinstance(x, Sequence) and not isinstance(x, (str, bytes))


# -- the public entry point ---------------------------------------------------

MsgT = Optional[Union[str, Callable[[str], str]]]


def assert_close(actual: Any, expected: Any, *, rtol: Optional[float] = None, atol: Optional[float] = None,
                 equal_nan: bool = False, check_dtype: bool = True, msg: MsgT = None,
                 check_device: bool = True, check_layout: bool = True, check_stride: bool = False) -> None:
    """Assert that ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Elements pass when ``|actual - expected| <= atol + rtol * |expected|``;
    matching infinities pass, NaN passes only with ``equal_nan=True``. When
    ``rtol``/``atol`` are omitted they default by dtype as in torch (float32:
    1.3e-6 / 1e-5, float64: 1e-7 / 1e-7, float16: 1e-3 / 1e-5, integers: exact).

    Accepts tinygrad_cn Tensors, NumPy arrays, torch tensors, Python/NumPy
    numbers and (nested) sequences and mappings of those. Unlike torch, a
    Tensor may be compared with an ndarray or a torch tensor directly: every
    tensor-like is compared by shape, dtype (unless ``check_dtype=False``) and
    values. ``msg`` replaces the message, or (if callable) maps it.
    ``check_device``, ``check_layout`` and ``check_stride`` are accepted for
    compatibility: there is one device and one layout, and strides never
    change values.

    Example::

        >>> assert_close(tinygrad_cn.tensor([1.0, 2.0]), np.array([1.0, 2.0], dtype=np.float32))
        >>> assert_close([1.0, 2.0], [1.0, 2.5])
        Traceback (most recent call last):
        AssertionError: Scalars are not close! ...
    """
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, "
                         f"but got no {'rtol' if rtol is None else 'atol'}.")
    error = _compare(actual, expected, rtol, atol, equal_nan, check_dtype, path=())
    if error is None:
        return
    text, path = error
    if path:
        text += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)
    if msg is not None:
        text = msg(text) if callable(msg) else msg
    raise AssertionError(text)


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, path):
    """Return None when close, else (message, path of the failing item)."""
    a_arr, e_arr = _tensor_like_to_numpy(actual), _tensor_like_to_numpy(expected)
    if a_arr is not None or e_arr is not None:
        if a_arr is None and _is_number(actual):
            a_arr, check_dtype = np.asarray(actual), False
        if e_arr is None and _is_number(expected):
            e_arr, check_dtype = np.asarray(expected), False
        if a_arr is None or e_arr is None:
            raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} "
                            f"and {type(expected)}.")
        return _compare_arrays(actual, expected, a_arr, e_arr, rtol, atol, equal_nan, check_dtype, path)
    if _is_number(actual) and _is_number(expected):
        return _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, path)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual.keys()) != set(expected.keys()):
            return (f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                    f"{sorted(map(repr, set(expected) - set(actual)))}\nAdditional keys in the actual mapping: "
                    f"{sorted(map(repr, set(actual) - set(expected)))}", path)
        for key in expected:
            err = _compare(actual[key], expected[key], rtol, atol, equal_nan, check_dtype, path + (key,))
            if err is not None:
                return err
        return None
    if _is_sequence(actual) and _is_sequence(expected):
        if len(actual) != len(expected):
            return f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path
        for i, (a, e) in enumerate(zip(actual, expected)):
            err = _compare(a, e, rtol, atol, equal_nan, check_dtype, path + (i,))
            if err is not None:
                return err
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype, path):
    if check_dtype and _number_kind(actual) != _number_kind(expected):
        return f"The (d)types do not match: {type(actual)} != {type(expected)}.", path
    a, e = np.asarray(actual), np.asarray(expected)
    if rtol is None:
        rtol, atol = default_tolerances(a.dtype, e.dtype)
    mismatch = ~_isclose(a, e, rtol, atol, equal_nan)
    if not mismatch.any():
        return None
    exact = rtol == 0 and atol == 0
    abs_diff, rel_diff = _diffs(a, e)
    lines = [f"Scalars are not {'equal' if exact else 'close'}!", "",
             f"Expected {expected} but got {actual}.",
             f"Absolute difference: {_fmt(abs_diff, a, e)}" + ("" if exact else f" (up to {atol} allowed)"),
             f"Relative difference: {float(rel_diff)}" + ("" if exact else f" (up to {rtol} allowed)")]
    return "\n".join(lines), path


def _number_kind(x):
    if isinstance(x, (bool, np.bool_)):
        return bool
    if isinstance(x, (numbers.Integral, np.integer)):
        return int
    if isinstance(x, (numbers.Real, np.floating)):
        return float
    return complex


def _compare_arrays(actual, expected, a, e, rtol, atol, equal_nan, check_dtype, path):
    if a.shape != e.shape:
        return (f"The values for attribute 'shape' do not match: {list(a.shape)} != {list(e.shape)}.", path)
    if check_dtype and a.dtype != e.dtype:
        return (f"The values for attribute 'dtype' do not match: {_dtype_name(actual, a)} != "
                f"{_dtype_name(expected, e)}.", path)
    if rtol is None:
        rtol, atol = default_tolerances(a.dtype, e.dtype)
    mismatch = ~_isclose(a, e, rtol, atol, equal_nan)
    if not mismatch.any():
        return None
    exact = rtol == 0 and atol == 0
    abs_diff, rel_diff = _diffs(a, e)
    if a.ndim == 0:
        lines = [f"Scalars are not {'equal' if exact else 'close'}!", "",
                 f"Expected {e.item()} but got {a.item()}.",
                 f"Absolute difference: {_fmt(abs_diff, a, e)}" + ("" if exact else f" (up to {atol} allowed)"),
                 f"Relative difference: {float(rel_diff)}" + ("" if exact else f" (up to {rtol} allowed)")]
        return "\n".join(lines), path
    n_bad, n = int(mismatch.sum()), mismatch.size
    if equal_nan:  # NaN against NaN matched: it is not the greatest difference
        both = np.isnan(a.astype(np.float64)) & np.isnan(e.astype(np.float64))
        abs_diff, rel_diff = np.where(both, 0.0, abs_diff), np.where(both, 0.0, rel_diff)
    abs_idx, rel_idx = _argmax_nan(abs_diff), _argmax_nan(rel_diff)
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {n_bad} / {n} ({n_bad / n:.1%})",
             f"Greatest absolute difference: {_fmt(abs_diff[abs_idx], a, e)} at index {abs_idx}"
             + ("" if exact else f" (up to {atol} allowed)"),
             f"Greatest relative difference: {float(rel_diff[rel_idx])} at index {rel_idx}"
             + ("" if exact else f" (up to {rtol} allowed)")]
    return "\n".join(lines), path


def _isclose(a: np.ndarray, e: np.ndarray, rtol: float, atol: float, equal_nan: bool) -> np.ndarray:
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        # Exact integer comparison: no float rounding of large int64 values.
        return np.asarray(a.astype(np.int64) == e.astype(np.int64)) if rtol == 0 and atol == 0 else \
            np.abs(a.astype(np.float64) - e.astype(np.float64)) <= atol + rtol * np.abs(e.astype(np.float64))
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        # An infinity is close only to the same infinity (inf <= inf would pass it).
        close = (np.abs(a64 - e64) <= atol + rtol * np.abs(e64)) & np.isfinite(a64) & np.isfinite(e64)
        close |= a64 == e64
    if equal_nan:
        close |= np.isnan(a64) & np.isnan(e64)
    return np.asarray(close)


def _diffs(a: np.ndarray, e: np.ndarray):
    a64, e64 = a.astype(np.float64), e.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        abs_diff = np.abs(a64 - e64)
        abs_diff = np.where(a64 == e64, 0.0, abs_diff)  # inf == inf differs by 0, not nan
        rel_diff = abs_diff / np.abs(e64)
        rel_diff = np.where(abs_diff == 0, 0.0, rel_diff)
    return abs_diff, rel_diff


def _argmax_nan(x: np.ndarray) -> tuple:
    """Multi-index of the largest value, NaN counting as largest (as torch.max does)."""
    flat = x.reshape(-1)
    nans = np.flatnonzero(np.isnan(flat))
    i = int(nans[0]) if nans.size else int(np.argmax(flat))
    return tuple(int(k) for k in np.unravel_index(i, x.shape))


def _fmt(diff, a: np.ndarray, e: np.ndarray) -> str:
    d = float(diff)
    if a.dtype.kind in "biu" and e.dtype.kind in "biu" and np.isfinite(d):
        return str(int(d))
    return str(d)
