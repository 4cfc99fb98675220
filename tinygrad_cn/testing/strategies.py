"""Hypothesis strategies for tensors: shapes, broadcastable shapes and float
tensors in varied memory layouts, kept away from kinks when asked.

Needs ``hypothesis`` (``pip install hypothesis``); the rest of
``tinygrad_cn.testing`` does not.

Example::

    from hypothesis import given
    from tinygrad_cn.testing.strategies import float_tensors, broadcastable_shapes

    @given(float_tensors(avoid=[0.0]))
    def test_relu_grad_is_step(x):
        ...
"""
from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor import Tensor

__all__ = ["shapes", "broadcastable_shapes", "float_tensors", "distinct_float_tensors", "float_arrays", "layouts",
           "LAYOUTS", "to_layout"]

Shape = Tuple[int, ...]

# Memory layouts a drawn array may have; the values and shape never depend on it.
#   contiguous: C order.
#   permuted:   storage written in a permuted axis order, then viewed back
#               (a transposed-then-permuted-back layout).
#   strided:    every other element of a larger buffer along some axes (step 2);
#               the skipped elements are NaN so a kernel that ignores strides
#               produces NaN and fails loudly.
LAYOUTS = ("contiguous", "permuted", "strided")


# -- shapes ------------------------------------------------------------------

@st.composite
def shapes(draw, min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5,
           max_numel: Optional[int] = None) -> Shape:
    """Array shapes with ``min_dims..max_dims`` dims of ``min_side..max_side`` each.

    ``max_numel`` bounds the element count (sides shrink towards ``min_side``
    to fit), which keeps finite-difference checks fast.

    Example::

        @given(shapes(max_dims=2))
        def test(shape): ...     # (), (3,), (1, 5), ...
    """
    ndim = draw(st.integers(min_dims, max_dims))
    sides = [draw(st.integers(min_side, max_side)) for _ in range(ndim)]
    if max_numel is not None:
        sides = _shrink_to_fit(sides, min_side, max_numel)
    return tuple(sides)


def _shrink_to_fit(sides: list, min_side: int, max_numel: int) -> list:
    # Deterministic repair instead of filtering: filters reject most big draws.
    while sides and math.prod(sides) > max_numel:
        i = int(np.argmax(sides))
        if sides[i] <= max(min_side, 1):
            break
        sides[i] -= 1
    return sides


@st.composite
def broadcastable_shapes(draw, num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4, min_side: int = 1,
                         max_side: int = 5, max_numel: Optional[int] = None) -> Tuple[Shape, ...]:
    """Tuples of ``num_shapes`` shapes that broadcast together.

    A common result shape is drawn; each operand then drops some leading dims
    and replaces some sides by 1, so pairs like ``((3, 1, 4), (2, 1))`` and
    ``((), (2, 3))`` appear as well as equal shapes.

    Example::

        @given(broadcastable_shapes())
        def test_add(pair):
            a, b = pair
            np.broadcast_shapes(a, b)    # never raises
    """
    result = draw(shapes(min_dims, max_dims, min_side, max_side, max_numel))
    out = []
    for _ in range(num_shapes):
        drop = draw(st.integers(0, len(result)))
        kept = result[drop:]
        ones = draw(st.lists(st.booleans(), min_size=len(kept), max_size=len(kept)))
        out.append(tuple(1 if one else side for one, side in zip(ones, kept)))
    return tuple(out)


# -- values --------------------------------------------------------------------

def _np_dtype(dtype) -> np.dtype:
    np_attr = getattr(dtype, "np", None)  # a tinygrad_cn.dtype
    return np.dtype(np_attr if np_attr is not None else dtype)


def _push_away(values: np.ndarray, avoid: Iterable[float], margin: float, lo: float, hi: float) -> np.ndarray:
    """Move values closer than ``margin`` to a kink to ``kink ± margin``."""
    out = values.astype(np.float64, copy=True)
    for k in avoid:
        near = np.abs(out - k) < margin
        up = np.where(out >= k, k + margin, k - margin)
        # Stay inside [lo, hi]: use the other side when the chosen one leaves it.
        up = np.where(up > hi, k - margin, np.where(up < lo, k + margin, up))
        out = np.where(near, up, out)
    return out


def _spread_apart(values: np.ndarray, margin: float, lo: float, hi: float,
                  avoid: Iterable[float] = ()) -> np.ndarray:
    """Make all values pairwise at least ``margin`` apart, keeping their order.

    Needs ``(n - 1) * margin <= hi - lo``; the result then stays in [lo, hi].
    """
    flat = values.reshape(-1).astype(np.float64)
    order = np.argsort(flat, kind="stable")
    s = flat[order]
    for i in range(1, s.size):  # upwards: open the gaps (and step over kinks)
        s[i] = max(s[i], s[i - 1] + margin)
        for k in avoid:
            if abs(s[i] - k) < margin:
                s[i] = k + margin
    if s.size and s[-1] > hi:  # downwards: pull the top back under hi
        s[-1] = hi
        for i in range(s.size - 2, -1, -1):
            s[i] = min(s[i], s[i + 1] - margin)
    out = np.empty_like(flat)
    out[order] = s
    return out.reshape(values.shape)


@st.composite
def float_arrays(draw, shape=None, dtype=np.float64, min_value: float = -3.0, max_value: float = 3.0, *,
                 avoid: Optional[Sequence[float]] = None, margin: float = 1e-2, distinct: bool = False,
                 positive: bool = False) -> np.ndarray:
    """C-contiguous float arrays with finite values in ``[min_value, max_value]``.

    ``shape``: None (draw with :func:`shapes`), a tuple, or a strategy of tuples.
    ``positive``: values in ``[max(min_value, margin), max_value]`` (for log, sqrt).
    ``avoid``: points such as ``[0.0]`` (relu, abs) no value may come within
    ``margin`` of. ``distinct``: values pairwise at least ``margin`` apart
    (max, sort, median: no ties).
    """
    np_dtype = _np_dtype(dtype)
    shape = _draw_shape(draw, shape)
    lo = max(min_value, margin) if positive else min_value
    hi = max_value
    if lo > hi:
        raise ValueError(f"empty value range [{lo}, {hi}]")
    # Drawn in float64 and rounded: hypothesis wants bounds exact in the width.
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    values = draw(hnp.arrays(np.float64, shape, elements=elements))
    if avoid:
        values = _push_away(values, avoid, margin, lo, hi)
    if distinct:
        if values.size > 1 and (values.size - 1) * margin > hi - lo:
            raise ValueError(f"cannot fit {values.size} values {margin} apart in [{lo}, {hi}]")
        values = _spread_apart(values, margin, lo, hi, avoid or ())
    arr = values.astype(np_dtype)
    if avoid or distinct:
        # Rounding to a narrow dtype may undo the spacing by an ulp or so, and
        # spreading after pushing may land near a kink: reject those rare draws.
        check = arr.astype(np.float64)
        slack = 4 * np.finfo(np_dtype).eps * (1.0 + max(abs(lo), abs(hi), *(abs(k) for k in (avoid or ()))))
        assume(all(np.all(np.abs(check - k) >= margin - slack) for k in (avoid or ())))
        if distinct and check.size > 1:
            assume(np.min(np.diff(np.sort(check.reshape(-1)))) >= margin - slack)
    return arr


def _draw_shape(draw, shape) -> Shape:
    if shape is None:
        return draw(shapes())
    if isinstance(shape, st.SearchStrategy):
        return tuple(draw(shape))
    if isinstance(shape, int):
        return (shape,)
    return tuple(shape)


# -- layouts -------------------------------------------------------------------

def layouts(contiguous: Optional[bool] = None) -> st.SearchStrategy:
    """The layout names to draw from: all, only C order, or only non-C ones."""
    if contiguous is True:
        return st.just("contiguous")
    if contiguous is False:
        return st.sampled_from(LAYOUTS[1:])
    return st.sampled_from(LAYOUTS)


def to_layout(values: np.ndarray, layout: str, *, perm: Optional[Sequence[int]] = None,
              step_axes: Optional[Sequence[int]] = None) -> np.ndarray:
    """Return an array equal to ``values`` (same shape and values) stored in ``layout``.

    Example::

        >>> a = to_layout(np.arange(6.0).reshape(2, 3), "permuted", perm=(1, 0))
        >>> a.flags.c_contiguous, a.tolist()
        (False, [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    """
    if layout == "contiguous":
        return np.array(values, order="C")
    if layout == "permuted":
        perm = tuple(perm) if perm is not None else tuple(reversed(range(values.ndim)))
        storage = np.array(values.transpose(perm), order="C")
        return storage.transpose(np.argsort(perm))
    if layout == "strided":
        axes = set(step_axes) if step_axes is not None else set(range(values.ndim))
        big = tuple(2 * n if i in axes else n for i, n in enumerate(values.shape))
        storage = np.full(big, np.nan, dtype=values.dtype)
        view = storage[tuple(slice(None, None, 2) if i in axes else slice(None) for i in range(values.ndim))]
        view[...] = values
        return view
    raise ValueError(f"unknown layout {layout!r}; expected one of {LAYOUTS}")


@st.composite
def _layout_of(draw, values: np.ndarray, contiguous: Optional[bool]) -> np.ndarray:
    # Only axes longer than 1 can make an array non-contiguous: NumPy (like
    # torch) ignores the strides of size-1 axes.
    long_axes = [i for i, n in enumerate(values.shape) if n > 1]
    layout = draw(layouts(contiguous))
    if layout == "permuted" and len(long_axes) < 2:
        layout = "strided"  # no second long axis to swap with
    if layout == "permuted":
        def reorders_long_axes(p):
            order = [a for a in p if a in long_axes]
            return order != sorted(order)
        perm = draw(st.permutations(range(values.ndim)).filter(reorders_long_axes))
        return to_layout(values, "permuted", perm=perm)
    if layout == "strided" and long_axes:
        axes = draw(st.lists(st.sampled_from(long_axes), min_size=1, max_size=len(long_axes), unique=True))
        return to_layout(values, "strided", step_axes=axes)
    return np.array(values, order="C")  # at most one element: every layout is contiguous


# -- tensors ---------------------------------------------------------------------

@st.composite
def float_tensors(draw, shape=None, dtype=np.float64, min_value: float = -3.0, max_value: float = 3.0, *,
                  requires_grad: bool = False, contiguous: Optional[bool] = None,
                  avoid: Optional[Sequence[float]] = None, margin: float = 1e-2, distinct: bool = False,
                  positive: bool = False) -> Tensor:
    """tinygrad_cn float Tensors with drawn values and memory layout.

    Values and shape are drawn as in :func:`float_arrays` (``positive``,
    ``avoid``, ``margin``, ``distinct`` have the same meaning). The layout is
    drawn too: C order, permuted storage, or a step-2 slice of a bigger buffer
    — only strides differ, never values. ``contiguous=True`` forces C order,
    ``False`` forces a non-C layout where the shape allows one (a tensor of
    at most one element is always contiguous).

    Example::

        @given(float_tensors(shape=shapes(max_dims=3), positive=True, requires_grad=True))
        def test_log(x):
            assert gradcheck(lambda t: t.log(), (x,))
    """
    values = draw(float_arrays(shape, dtype, min_value, max_value, avoid=avoid, margin=margin,
                               distinct=distinct, positive=positive))
    arr = draw(_layout_of(values, contiguous))
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


@st.composite
def distinct_float_tensors(draw, shapes_: Sequence, dtype=np.float64, min_value: float = -3.0,
                           max_value: float = 3.0, *, requires_grad: bool = False, contiguous: Optional[bool] = None,
                           avoid: Optional[Sequence[float]] = None, margin: float = 1e-2,
                           positive: bool = False) -> Tuple[Tensor, ...]:
    """Several float Tensors whose values are pairwise ``margin`` apart across
    all of them, not only within each: no ties between ``maximum(x, y)``'s
    inputs. Each tensor gets its own drawn layout.

    Example::

        @given(distinct_float_tensors([(3,), (2, 3)], requires_grad=True))
        def test_maximum(xy):
            x, y = xy
    """
    shapes_ = [tuple(draw(s)) if isinstance(s, st.SearchStrategy) else tuple(s) for s in shapes_]
    sizes = [math.prod(s) for s in shapes_]
    flat = draw(float_arrays((sum(sizes),), dtype, min_value, max_value, avoid=avoid, margin=margin,
                             distinct=True, positive=positive))
    out, start = [], 0
    for shape, size in zip(shapes_, sizes):
        arr = draw(_layout_of(flat[start:start + size].reshape(shape), contiguous))
        start += size
        t = Tensor._make(arr)
        if requires_grad:
            t.requires_grad_(True)
        out.append(t)
    return tuple(out)
