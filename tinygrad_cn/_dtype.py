"""dtypes as torch has them, and torch's type-promotion rules.

A ``dtype`` wraps a NumPy dtype. Tensors do not store it: ``Tensor.dtype``
looks it up from the array, so the two can never disagree.
"""
from __future__ import annotations

import numpy as np


class dtype:
    """A tensor element type, e.g. ``tinygrad_cn.float32``."""

    __slots__ = ("name", "np", "is_floating_point", "is_signed", "itemsize", "_category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.is_floating_point = category == 2
        self.is_signed = self.np.kind in "fi"
        self.itemsize = self.np.itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating: torch promotes across these

    def __repr__(self) -> str:
        return f"tinygrad_cn.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    @property
    def is_complex(self) -> bool:
        return False

    def to_complex(self):  # pragma: no cover - complex tensors are not supported
        raise RuntimeError("complex dtypes are not supported by tinygrad_cn")


float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)
float16 = dtype("float16", np.float16, 2)
int64 = dtype("int64", np.int64, 1)
int32 = dtype("int32", np.int32, 1)
int16 = dtype("int16", np.int16, 1)
int8 = dtype("int8", np.int8, 1)
uint8 = dtype("uint8", np.uint8, 1)
bool_ = dtype("bool", np.bool_, 0)

ALL = (float32, float64, float16, int64, int32, int16, int8, uint8, bool_)
_FROM_NP = {d.np: d for d in ALL}
_NAMES = {d.name: d for d in ALL}
_NAMES.update(float=float32, double=float64, half=float16, long=int64, int=int32, short=int16)


def _by_name(name: str) -> dtype:
    return _NAMES[name]


_default_float = float32


def get_default_dtype() -> dtype:
    return _default_float


def set_default_dtype(d: dtype) -> None:
    """Set the dtype of Python floats and of float factories (float32 or float64)."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def from_numpy_dtype(npd) -> dtype:
    try:
        return _FROM_NP[npd]
    except KeyError:
        npd = np.dtype(npd)
        if npd in _FROM_NP:
            return _FROM_NP[npd]
        raise TypeError(f"can't convert np.ndarray of type {npd}. The only supported types are: "
                        "float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


def to_dtype(d) -> dtype:
    """Accept our dtype, a NumPy dtype, a Python type or a name."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return _default_float
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _NAMES:
        return _NAMES[d]
    legacy = getattr(d, "_legacy_dtype", None)  # FloatTensor, LongTensor, ... (legacy.py)
    if legacy is not None:
        return legacy
    return from_numpy_dtype(np.dtype(d))


def _promote_same_level(a: dtype, b: dtype) -> dtype:
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def scalar_dtype(x) -> dtype:
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    if isinstance(x, (float, np.floating)):
        return _default_float
    raise TypeError(f"unsupported scalar type {type(x).__name__}")


def result_type(*operands) -> dtype:
    """torch.result_type: dimensioned tensors outrank zero-dim tensors, which outrank
    Python scalars; a lower rank only wins when its category (bool<int<float) is higher."""
    levels: list = [None, None, None]  # scalars, zero-dim tensors, dimensioned tensors
    for x in operands:
        arr = getattr(x, "_data", None)
        if arr is None:
            lvl, d = 0, scalar_dtype(x)
        else:
            lvl, d = (2 if arr.ndim else 1), _FROM_NP[arr.dtype]
        cur = levels[lvl]
        levels[lvl] = d if cur is None else _promote_same_level(cur, d)
    result = None
    for d in (levels[2], levels[1], levels[0]):
        if d is not None and (result is None or d._category > result._category):
            result = d
    return result


def promote_types(type1, type2) -> dtype:
    """torch.promote_types: the smallest dtype both convert to (a float beats any integer)."""
    return _promote_same_level(to_dtype(type1), to_dtype(type2))


class finfo:
    """torch.finfo: machine limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type=None):
        d = to_dtype(type) if type is not None else _default_float
        if not d.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{d.name}'")
        fi = np.finfo(d.np)
        self.bits = fi.bits
        self.eps = float(fi.eps)
        self.max = float(fi.max)
        self.min = float(fi.min)
        self.tiny = self.smallest_normal = float(fi.smallest_normal)
        self.resolution = 10.0 ** -fi.precision
        self.dtype = d.name

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """torch.iinfo: the range of an integer dtype."""

    def __init__(self, type):
        d = to_dtype(type)
        if d.is_floating_point or d is bool_:
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{d.name}'")
        ii = np.iinfo(d.np)
        self.bits, self.max, self.min, self.dtype = ii.bits, int(ii.max), int(ii.min), d.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
