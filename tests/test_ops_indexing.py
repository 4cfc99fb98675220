"""Indexing: basic and advanced reads, boolean masks, ``__setitem__`` with
autograd, gather/scatter/index_select/masked ops, nonzero, sort and topk.
Values are checked against NumPy (with torch's placement rules written out
where they differ from NumPy's), gradients against finite differences.
Needs neither torch nor, except for the property tests, hypothesis."""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402

from tinygrad_cn.testing.strategies import float_tensors, shapes  # noqa: E402

X = np.arange(24.0).reshape(2, 3, 4)


def T(a, **kw):
    return tg.tensor(a, **kw)


def x_():
    return tg.Tensor._make(X.copy())


def leaf(arr):
    return tg.Tensor._make(np.array(arr, dtype=np.float64)).requires_grad_(True)


# -- reads -----------------------------------------------------------------------------------
READS = [
    ("int", lambda x: x[1], X[1]),
    ("negint", lambda x: x[-1, -2], X[-1, -2]),
    ("all_ints", lambda x: x[1, 2, 3], X[1, 2, 3]),
    ("slice", lambda x: x[:, 1:], X[:, 1:]),
    ("step", lambda x: x[:, ::2, 1::2], X[:, ::2, 1::2]),
    ("negslice", lambda x: x[..., -3:-1], X[..., -3:-1]),
    ("slice_past_end", lambda x: x[:, 1:100], X[:, 1:100]),
    ("empty_slice", lambda x: x[:, 2:1], X[:, 2:1]),
    ("none", lambda x: x[:, None], X[:, None]),
    ("ellipsis", lambda x: x[..., 0], X[..., 0]),
    ("combo", lambda x: x[1, ..., None, ::3], X[1, ..., None, ::3]),
    ("none_front_back", lambda x: x[None, ..., None], X[None, ..., None]),
    ("tensor_0d_int", lambda x: x[T(1)], X[1]),
    ("list", lambda x: x[[1, 0, 1]], X[[1, 0, 1]]),
    ("tensor", lambda x: x[:, T([2, 0])], X[:, [2, 0]]),
    ("repeat", lambda x: x[:, T([0, 0, 0])], X[:, [0, 0, 0]]),
    ("neg_adv", lambda x: x[:, T([-1])], X[:, [-1]]),
    ("2d_index", lambda x: x[T([[0, 1], [1, 1]])], X[[[0, 1], [1, 1]]]),
    ("pair", lambda x: x[[0, 1], [2, 0]], X[[0, 1], [2, 0]]),
    ("pair_bcast", lambda x: x[T([[0], [1]]), :, T([1, 3])], X[np.array([[0], [1]]), :, np.array([1, 3])]),
    ("slice_then_adv", lambda x: x[:, 1:, [0, 3]], X[:, 1:, [0, 3]]),
    ("adv_slice_adv", lambda x: x[[0, 1], :, [1, 2]], X[[0, 1], :, [1, 2]]),
    ("ellipsis_adv", lambda x: x[..., [3, 3]], X[..., [3, 3]]),
    # torch applies integers first (select), then the advanced index: dims stay in place,
    # unlike NumPy, which would move the advanced dimension to the front here
    ("int_slice_adv", lambda x: x[1, :, [0, 0]], X[1][:, [0, 0]]),
    ("int_none_adv", lambda x: x[1, None, [2, 0]], X[1][None, [2, 0]]),
    ("adv_int_adv", lambda x: x[[0, 1], 2, [1, 3]], X[:, 2][[0, 1], [1, 3]]),
    ("mask_full", lambda x: x[x > 10], X[X > 10]),
    ("mask_rows", lambda x: x[T([True, False])], X[[True, False]]),
    ("mask_list", lambda x: x[:, [True, False, True]], X[:, [True, False, True]]),
    ("mask_2d_partial", lambda x: x[x[..., 0] > 5], X[X[..., 0] > 5]),
    ("mask_then_slice", lambda x: x[:, T([False, True, True]), 1:], X[:, [False, True, True], 1:]),
    ("mask_0d_true", lambda x: x[T(True)], X[None]),
    ("mask_0d_false", lambda x: x[T(False)], X[None][:0]),
    ("bool_true", lambda x: x[True], X[None]),
    ("byte_mask", lambda x: x[T([0, 1], dtype=tg.uint8)], X[[False, True]]),
    ("int32_index", lambda x: x[T([1, 0], dtype=tg.int32)], X[[1, 0]]),
    ("nested_list_is_tuple", lambda x: x[[[0, 1], [1, 2]]], X[[0, 1], [1, 2]]),
    ("list_with_slice_is_tuple", lambda x: x[[slice(None), 1]], X[:, 1]),
    ("empty_list", lambda x: x[[]], X[np.zeros(0, dtype=np.int64)]),
    ("empty_tensor", lambda x: x[:, T([], dtype=tg.int64)], X[:, np.zeros(0, dtype=np.int64)]),
]


@pytest.mark.parametrize("name,fn,expected", READS, ids=[r[0] for r in READS])
def test_reads(name, fn, expected):
    out = fn(x_())
    assert tuple(out.shape) == expected.shape
    np.testing.assert_array_equal(out._data, expected)


def test_contains():
    x = x_()
    assert 5.0 in x and 100 not in x and tg.tensor(23.0) in x
    with pytest.raises(RuntimeError, match="only supports Tensor or scalar"):
        "a" in x


def test_basic_index_is_view_advanced_is_copy():
    x = x_()
    v = x[1, ::2]
    assert v._base is x and np.shares_memory(v._data, x._data)
    c = x[[1], ::2]
    assert c._base is None and not np.shares_memory(c._data, x._data)
    m = x[x > 3]
    assert not np.shares_memory(m._data, x._data)


def test_read_on_0d():
    s = T(5.0)
    assert s[...].shape == () and s[None].shape == (1,)
    assert s[T(True)].shape == (1,)
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        s[0]


INDEX_ERRORS = [
    (IndexError, lambda x: x[2]),
    (IndexError, lambda x: x[:, -4]),
    (IndexError, lambda x: x[0, 0, 0, 0]),
    (IndexError, lambda x: x[[0, 2]]),
    (IndexError, lambda x: x[:, T([3])]),
    (IndexError, lambda x: x[:, T([-4])]),
    (IndexError, lambda x: x[T([0.0])]),
    (IndexError, lambda x: x[T([True, False, True])]),
    (IndexError, lambda x: x[[0, 1], [0, 1, 2]]),
    (TypeError, lambda x: x["a"]),
    (IndexError, lambda x: x[T([1, 0], dtype=tg.int8)]),
    (ValueError, lambda x: x[::-1]),
    (ValueError, lambda x: x[:, ::0]),
]


@pytest.mark.parametrize("exc,fn", INDEX_ERRORS, ids=[str(i) for i in range(len(INDEX_ERRORS))])
def test_index_errors(exc, fn):
    with pytest.raises(exc):
        fn(x_())


# -- gradients of reads ----------------------------------------------------------------------
def test_repeated_indices_accumulate():
    x = leaf([1.0, 2.0, 3.0])
    x[T([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 0.0, 1.0])
    y = leaf(np.zeros((2, 2)))
    (y[[0, 0, 1], [1, 1, 1]] * T([1.0, 2.0, 4.0], dtype=tg.float64)).sum().backward()
    np.testing.assert_array_equal(y.grad._data, [[0.0, 3.0], [0.0, 4.0]])


def test_mask_gradient():
    x = leaf([[1.0, -2.0], [-3.0, 4.0]])
    (x[x > 0] * 2).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[2.0, 0.0], [0.0, 2.0]])


def test_int_with_advanced_gradient_lands_in_place():
    x = leaf(X)
    w = np.arange(6.0).reshape(3, 2)
    (x[1, :, [0, 3]] * tg.tensor(w)).sum().backward()
    expected = np.zeros_like(X)
    expected[1][:, [0, 3]] = w
    np.testing.assert_array_equal(x.grad._data, expected)


def _small(min_dims=1, max_dims=3, min_side=1, max_side=4, max_numel=24):
    return shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side, max_numel=max_numel)


def _x(min_dims=1, **kw):
    return float_tensors(shape=_small(min_dims, **kw), requires_grad=True)


@st.composite
def tensor_and_index(draw, min_dims=1, unique=False):
    """A tensor and a random torch-style index into it (ints, slices, None, ..., lists, masks).

    ``unique``: no position is addressed twice (a write to it would be order dependent)."""
    x = draw(_x(min_dims))
    items = []
    for n in x.shape:
        kind = draw(st.sampled_from(["int", "slice", "step", "list", "tensor", "mask", "full"]))
        if kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            a = draw(st.integers(-n, n))
            items.append(slice(a, None))
        elif kind == "step":
            items.append(slice(None, None, draw(st.integers(1, 3))))
        elif kind == "list":
            items.append(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4, unique=unique)))
            if draw(st.booleans()):
                items[-1] = [i - n for i in items[-1]]  # negative indices
        elif kind == "tensor":
            items.append(T(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4, unique=unique))))
        elif kind == "mask":
            items.append(T(draw(st.lists(st.booleans(), min_size=n, max_size=n))))
        else:
            items.append(slice(None))
    arrays = [i for i in items if isinstance(i, (list, tg.Tensor))]
    if len(arrays) > 1:  # keep the advanced indices broadcastable: at most one
        keep = arrays[0]
        items = [i if not isinstance(i, (list, tg.Tensor)) or i is keep else slice(None) for i in items]
    if draw(st.booleans()):
        items.insert(draw(st.integers(0, len(items))), None)
    if draw(st.booleans()) and items:
        cut = draw(st.integers(0, len(items) - 1))
        items = items[:cut] + [Ellipsis]
    return x, tuple(items)


@given(tensor_and_index())
def test_getitem_gradcheck(case):
    x, idx = case
    assert gradcheck(lambda t: t[idx], (x,))


@hypothesis.settings(max_examples=10)
@given(tensor_and_index())
def test_getitem_gradgradcheck(case):
    x, idx = case
    hypothesis.assume(x.detach()[idx].numel() > 0)  # gradcheck refuses empty (stride-0) grad outputs
    assert gradgradcheck(lambda t: t[idx] ** 2, (x,))


def test_gradcheck_accepts_empty_inputs():
    x = tg.Tensor._make(np.empty((0, 2))).requires_grad_(True)  # NumPy gives it strides (0, 0)
    assert gradcheck(lambda t: t[:, 1:], (x,))


# -- __setitem__ -----------------------------------------------------------------------------
def test_setitem_values():
    x = x_()
    x[0, 1] = 5.0
    x[1, :, ::2] = tg.tensor([-1.0, -2.0], dtype=tg.float64)
    x[..., 3] = tg.tensor(9.0)
    x[x < 1] = 0.5
    x[[0, 1], [2, 2], [0, 1]] = tg.tensor([7.0, 8.0], dtype=tg.float64)
    x[1, :, [0, 1]] = tg.tensor([[10.0, 11.0]] * 3, dtype=tg.float64)  # int + adv: dims as torch
    e = X.copy()
    e[0, 1] = 5.0
    e[1, :, ::2] = [-1.0, -2.0]
    e[..., 3] = 9.0
    e[e < 1] = 0.5
    e[[0, 1], [2, 2], [0, 1]] = [7.0, 8.0]
    e[1][:, [0, 1]] = [[10.0, 11.0]] * 3
    np.testing.assert_array_equal(x._data, e)
    assert x._version == 6


def test_setitem_casts_value_to_target_dtype():
    x = tg.zeros(3, dtype=tg.int64)
    x[0:2] = 2.7
    assert x.dtype == tg.int64 and x.tolist() == [2, 2, 0]
    y = tg.zeros(2)
    y[0] = tg.tensor(1.5, dtype=tg.float64)
    assert y.dtype == tg.float32 and y.tolist() == [1.5, 0.0]


def test_setitem_shape_mismatch_names_shapes():
    x = x_()
    with pytest.raises(RuntimeError, match=r"\[3\].*\[4\]|\[4\].*\[3\]"):
        x[0, 0] = tg.ones(3)
    with pytest.raises(IndexError):
        x[5] = 1.0


def test_setitem_value_requires_grad():
    v = leaf([1.0, 2.0])
    x = tg.zeros(2, 3, dtype=tg.float64)
    x[:, 1] = v
    assert x.requires_grad and x.grad_fn is not None
    (x * tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=tg.float64)).sum().backward()
    np.testing.assert_array_equal(v.grad._data, [2.0, 5.0])


def test_setitem_broadcast_value_gradient_sums():
    v = leaf([[3.0]])
    x = tg.zeros(3, 4, dtype=tg.float64)
    x[1:, ::2] = v
    x.sum().backward()
    np.testing.assert_array_equal(v.grad._data, [[4.0]])


def test_setitem_value_with_extra_leading_ones():
    v = leaf(np.ones((1, 1, 4)))
    x = tg.zeros(3, 4, dtype=tg.float64)
    x[0] = v
    (x * 2).sum().backward()
    assert v.grad.shape == (1, 1, 4)
    np.testing.assert_array_equal(v.grad._data, np.full((1, 1, 4), 2.0))


def test_setitem_on_non_leaf_gradient_masks_overwritten():
    a = leaf(np.arange(6.0).reshape(2, 3))
    y = a * 2
    y[0, 1:] = 0.0
    y.sum().backward()
    np.testing.assert_array_equal(a.grad._data, [[2.0, 0.0, 0.0], [2.0, 2.0, 2.0]])


def test_setitem_on_view_updates_base_graph():
    a = leaf(np.arange(6.0).reshape(2, 3))
    v = leaf([10.0, 20.0])
    y = a * a
    col = y[:, 1]  # a view of y
    col[:] = v * v
    assert y.grad_fn is not None and y[0, 1].item() == 100.0
    (y * 3).sum().backward()
    e = 6 * np.arange(6.0).reshape(2, 3)
    e[:, 1] = 0
    np.testing.assert_allclose(a.grad._data, e)
    np.testing.assert_array_equal(v.grad._data, [60.0, 120.0])


def test_setitem_on_saved_output_raises_at_backward():
    a = leaf([1.0, 2.0])
    y = a.exp()  # exp saves its output for backward
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_iadd_column_idiom():
    a = leaf(np.ones((3, 2)))
    y = a * 3
    y[:, 0] += 1
    np.testing.assert_array_equal(y._data, [[4.0, 3.0]] * 3)
    (y * y).sum().backward()
    np.testing.assert_array_equal(a.grad._data, [[24.0, 18.0]] * 3)


def test_setitem_repeated_advanced_index_value_grad():
    v = leaf([1.0, 2.0])
    x = tg.zeros(3, dtype=tg.float64)
    x[T([1, 1])] = v
    x.sum().backward()
    assert v.grad.shape == (2,)


@given(tensor_and_index(unique=True), st.data())
def test_setitem_gradcheck(case, data):
    x, idx = case
    region = x.detach()[idx]
    hypothesis.assume(region.numel() > 0)
    v = data.draw(float_tensors(shape=st.just(tuple(region.shape)), requires_grad=True))

    def f(t, val):
        y = t * 1
        y[idx] = val
        return y

    assert gradcheck(f, (x, v))


# -- gather / scatter / index_select / masks -------------------------------------------------
def test_gather_values_and_int64_only_index():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(x.gather(1, T([[0, 0], [1, 0]]))._data, [[1, 1], [4, 3]])
    np.testing.assert_array_equal(tg.gather(x, 0, T([[1, 0]]))._data, [[3, 2]])
    with pytest.raises(RuntimeError):
        x.gather(1, T([[0.0]]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.gather(1, T([[2]]))
    with pytest.raises(RuntimeError, match="out of bounds"):
        x.gather(0, T([[-1]]))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.gather(0, T([0]))
    with pytest.raises(IndexError):
        x.gather(2, T([[0]]))


def test_scatter_variants():
    z = tg.zeros(2, 3)
    idx = T([[0, 1, 2], [2, 0, 0]])
    src = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(z.scatter(1, idx[:, :2], src)._data, [[1, 2, 0], [5, 0, 4]])
    np.testing.assert_array_equal(z.scatter(1, idx[:, :1], 7.0)._data, [[7, 0, 0], [0, 0, 7]])
    np.testing.assert_array_equal(z.scatter(1, idx, src, reduce="add")._data, [[1, 2, 3], [11, 0, 4]])
    np.testing.assert_array_equal(tg.ones(2, 3).scatter(1, idx, src, reduce="multiply")._data,
                                  [[1, 2, 3], [30, 1, 4]])
    np.testing.assert_array_equal(z.scatter_add(1, idx, src)._data, [[1, 2, 3], [11, 0, 4]])
    np.testing.assert_array_equal(z.scatter(0, T([[1, 0, 1]]), src)._data, [[0, 2, 0], [1, 0, 3]])
    with pytest.raises(RuntimeError, match="dtype"):
        z.scatter(1, idx, src.double())
    with pytest.raises(RuntimeError, match="out of bounds"):
        z.scatter(1, T([[3]]), 1.0)


def test_scatter_add_gradient():
    x, s = leaf(np.zeros((2, 3))), leaf(np.ones((2, 2)))
    idx = T([[0, 0], [2, 1]])
    out = x.scatter_add(1, idx, s)
    (out * tg.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad._data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(s.grad._data, [[0.0, 0.0], [5.0, 4.0]])


def test_index_select_and_masked_ops():
    x = tg.tensor(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(x.index_select(1, T([3, 3, 0]))._data,
                                  np.arange(12.0).reshape(3, 4)[:, [3, 3, 0]])
    np.testing.assert_array_equal(x.index_select(0, T(1))._data, [[4, 5, 6, 7]])
    with pytest.raises(IndexError, match="index out of range"):
        x.index_select(0, T([3]))
    with pytest.raises(IndexError, match="index out of range"):
        x.index_select(0, T([-1]))
    m = x > 5
    np.testing.assert_array_equal(x.masked_fill(m, -1.0)._data, np.where(m._data, -1.0, x._data))
    np.testing.assert_array_equal(x.masked_fill(m, tg.tensor(2.0))._data, np.where(m._data, 2.0, x._data))
    assert x.masked_fill(m, 2).dtype == x.dtype
    assert tg.ones(2, dtype=tg.int64).masked_fill(T([True, False]), 3.7).tolist() == [3, 1]
    np.testing.assert_array_equal(x.masked_select(m)._data, np.arange(6.0, 12.0))
    np.testing.assert_array_equal(x.masked_select(T([True, False, False, True]))._data, [0, 3, 4, 7, 8, 11])
    with pytest.raises(RuntimeError, match="boolean"):
        x.masked_fill(x, 1.0)
    with pytest.raises(RuntimeError, match="0-dimensional"):
        x.masked_fill(m, tg.tensor([1.0]))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(2\) must match the size of tensor b \(4\)"):
        x.masked_fill(T([True, False]), 1.0)


def test_masked_fill_value_tensor_gets_gradient():
    x, v = leaf([[1.0, -2.0], [3.0, -4.0]]), leaf(5.0)
    out = x.masked_fill(x.detach() < 0, v)
    out.sum().backward()
    assert v.grad.item() == 2.0
    np.testing.assert_array_equal(x.grad._data, [[1.0, 0.0], [1.0, 0.0]])


def test_nonzero():
    x = tg.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    nz = x.nonzero()
    assert nz.dtype == tg.int64 and nz.tolist() == [[0, 1], [1, 0], [1, 2]]
    rows, cols = tg.nonzero(x, as_tuple=True)
    assert rows.dtype == cols.dtype == tg.int64
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 2]
    assert tg.zeros(2, 3).nonzero().shape == (0, 2)
    assert tg.tensor(3.0).nonzero().shape == (1, 0)
    assert tg.argwhere(x).tolist() == nz.tolist()
    assert not nz.requires_grad


NAN = float("nan")


def test_sort_values_indices_and_nan_placement():
    x = tg.tensor([2.0, NAN, 1.0, NAN, -float("inf"), float("inf")])
    s = x.sort()
    assert s.indices.dtype == tg.int64
    np.testing.assert_array_equal(s.values._data, [-np.inf, 1, 2, np.inf, np.nan, np.nan])
    assert s.indices.tolist() == [4, 2, 0, 5, 1, 3]
    d = x.sort(descending=True)
    np.testing.assert_array_equal(d.values._data, [np.nan, np.nan, np.inf, 2, 1, -np.inf])
    assert d.indices.tolist() == [1, 3, 5, 0, 2, 4]
    values, indices = x.sort()  # a named tuple that unpacks
    assert values is not None and indices is not None


def test_sort_stable_and_dims():
    x = tg.tensor([[1, 2, 1, 2, 1], [0, 0, 0, 0, 0]])
    assert x.sort(stable=True).indices.tolist() == [[0, 2, 4, 1, 3], [0, 1, 2, 3, 4]]
    assert x.sort(descending=True, stable=True).indices.tolist() == [[1, 3, 0, 2, 4], [0, 1, 2, 3, 4]]
    assert x.sort(0).values.tolist() == [[0, 0, 0, 0, 0], [1, 2, 1, 2, 1]]
    assert x.argsort(dim=1, descending=True, stable=True).tolist() == [[1, 3, 0, 2, 4], [0, 1, 2, 3, 4]]
    assert tg.tensor([True, False, True]).sort().indices.tolist() == [1, 0, 2]
    with pytest.raises(IndexError):
        x.sort(2)


def test_topk():
    x = tg.tensor([[1.0, 5.0, 3.0, 4.0], [8.0, 6.0, 7.0, 0.0]])
    t = x.topk(2)
    assert t.indices.dtype == tg.int64
    assert t.values.tolist() == [[5.0, 4.0], [8.0, 7.0]] and t.indices.tolist() == [[1, 3], [0, 2]]
    s = x.topk(3, dim=1, largest=False)
    assert s.values.tolist() == [[1.0, 3.0, 4.0], [0.0, 6.0, 7.0]] and s.indices.tolist() == [[0, 2, 3], [3, 1, 2]]
    c = tg.topk(x, 1, dim=0)
    assert c.values.tolist() == [[8.0, 6.0, 7.0, 4.0]] and c.indices.tolist() == [[1, 1, 1, 0]]
    assert tg.tensor([2.0, NAN, 1.0]).topk(2).indices.tolist() == [1, 0]
    assert tg.tensor(3.0).topk(1).indices.shape == ()
    with pytest.raises(RuntimeError, match="k"):
        x.topk(5)


def test_sort_and_topk_gradients_route_by_index():
    x = leaf([3.0, 1.0, 2.0])
    v, _ = x.sort(descending=True)
    (v * tg.tensor([1.0, 10.0, 100.0], dtype=tg.float64)).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1.0, 100.0, 10.0])
    y = leaf([3.0, 1.0, 2.0])
    y.topk(2, largest=False).values.sum().backward()
    np.testing.assert_array_equal(y.grad._data, [0.0, 1.0, 1.0])


@st.composite
def tensor_dim_index(draw, max_index_side=4):
    """A tensor, a dim, and an int64 index valid for gather along it."""
    x = draw(_x(1))
    d = draw(st.integers(0, x.dim() - 1))
    shape = [draw(st.integers(1, s)) for s in x.shape]
    shape[d] = draw(st.integers(1, max_index_side))
    idx = draw(st.lists(st.integers(0, x.shape[d] - 1), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return x, d, T(np.array(idx, dtype=np.int64).reshape(shape))


@given(tensor_dim_index())
def test_gather_gradcheck(case):
    x, d, idx = case
    assert gradcheck(lambda t: t.gather(d, idx), (x,))


@hypothesis.settings(max_examples=10)
@given(tensor_dim_index())
def test_gather_gradgradcheck(case):
    x, d, idx = case
    assert gradgradcheck(lambda t: t.gather(d, idx) ** 2, (x,))


@given(tensor_dim_index(), st.data())
def test_scatter_and_scatter_add_gradcheck(case, data):
    x, d, idx = case
    # scatter with repeated targets is order dependent: give each target once
    flat = idx._data.copy()
    src = data.draw(float_tensors(shape=st.just(tuple(idx.shape)), requires_grad=True))
    assert gradcheck(lambda t, s: t.scatter_add(d, idx, s), (x, src))
    uniq = _unique_along(flat, d, x.shape[d])
    if uniq is not None:
        assert gradcheck(lambda t, s: t.scatter(d, uniq, s), (x, src))


def _unique_along(idx, d, n):
    """Make index values distinct along ``d`` (when they fit), else None."""
    if idx.shape[d] > n:
        return None
    moved = np.moveaxis(idx, d, -1).copy()
    for pos in np.ndindex(*moved.shape[:-1]):
        moved[pos] = np.arange(moved.shape[-1]) % n
    return T(np.ascontiguousarray(np.moveaxis(moved, -1, d)))


def _xa():  # away from 0, where the masks below flip
    return float_tensors(shape=_small(), requires_grad=True, avoid=[0.0])


OTHER_GRAD_OPS = [
    ("index_select", lambda t: t.index_select(0, T([0, 0, t.shape[0] - 1])), _x()),
    ("index_add", lambda t: t.index_add(0, T([0, 0]), t[:1].expand(2, *t.shape[1:]) * 3), _x()),
    ("index_fill", lambda t: t.index_fill(0, T([0]), 2.0), _x()),
    ("masked_fill", lambda t: t.masked_fill(t.detach() > 0, 1.5), _xa()),
    ("masked_select", lambda t: t.masked_select(t.detach() > 0), _xa()),
    ("take", lambda t: t.take(T([0, 0, t.numel() - 1])), _x()),
    ("sort", lambda t: t.sort(-1).values, float_tensors(shape=_small(), requires_grad=True, distinct=True)),
    ("sort_desc", lambda t: t.sort(0, descending=True).values,
     float_tensors(shape=_small(), requires_grad=True, distinct=True)),
    ("topk", lambda t: t.topk(1, 0).values, float_tensors(shape=_small(), requires_grad=True, distinct=True)),
    ("kthvalue", lambda t: t.kthvalue(1, -1).values, float_tensors(shape=_small(), requires_grad=True,
                                                                   distinct=True)),
]


@pytest.mark.parametrize("name,fn,strategy", OTHER_GRAD_OPS, ids=[o[0] for o in OTHER_GRAD_OPS])
def test_gradcheck_other(name, fn, strategy):
    @hypothesis.settings(max_examples=10)
    @given(strategy)
    def check(x):
        assert gradcheck(fn, (x,))

    check()


@pytest.mark.parametrize("reduce", ["sum", "mean", "prod", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    @hypothesis.settings(max_examples=8)
    @given(tensor_dim_index(), st.data())
    def check(case, data):
        x, d, idx = case
        x = tg.Tensor._make(_spread(x._data)).requires_grad_(True)  # distinct values: no amax/amin ties
        src = data.draw(float_tensors(shape=st.just(tuple(idx.shape)), requires_grad=True, distinct=True,
                                      min_value=-3, max_value=3, margin=1e-3))
        src = tg.Tensor._make(src._data + 10.0).requires_grad_(True)  # away from x's values
        assert gradcheck(lambda t, s: t.scatter_reduce(d, idx, s, reduce, include_self=include_self), (x, src))

    check()


def _spread(a):
    return np.arange(a.size, dtype=np.float64).reshape(a.shape) * 0.37 - 1.0


def test_scatter_reduce_values():
    x = tg.tensor([1.0, 2.0, 3.0, 4.0])
    idx = T([0, 0, 2])
    src = tg.tensor([5.0, 7.0, 1.0])
    assert x.scatter_reduce(0, idx, src, "sum").tolist() == [13, 2, 4, 4]
    assert x.scatter_reduce(0, idx, src, "sum", include_self=False).tolist() == [12, 2, 1, 4]
    assert x.scatter_reduce(0, idx, src, "prod").tolist() == [35, 2, 3, 4]
    np.testing.assert_allclose(x.scatter_reduce(0, idx, src, "mean")._data, [13 / 3, 2, 2, 4], rtol=1e-6)
    assert x.scatter_reduce(0, idx, src, "mean", include_self=False).tolist() == [6, 2, 1, 4]
    assert x.scatter_reduce(0, idx, src, "amax").tolist() == [7, 2, 3, 4]
    assert x.scatter_reduce(0, idx, src, "amin", include_self=False).tolist() == [5, 2, 1, 4]
    with pytest.raises(RuntimeError, match="reduce argument"):
        x.scatter_reduce(0, idx, src, "median")


def test_scatter_reduce_amax_tie_splits_gradient():
    x = leaf([1.0, 0.0])
    s = leaf([1.0, 1.0])
    x.scatter_reduce(0, T([0, 0]), s, "amax").sum().backward()
    np.testing.assert_allclose(x.grad._data, [1 / 3, 1.0])
    np.testing.assert_allclose(s.grad._data, [1 / 3, 1 / 3])


def test_index_copy_and_fill_diagonal():
    x = tg.zeros(3, 2)
    r = x.index_copy(0, T([2, 0]), tg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert r.tolist() == [[3, 4], [0, 0], [1, 2]]
    with pytest.raises(IndexError):
        x.index_copy(0, T([3]), tg.ones(1, 2))
    a = leaf(np.zeros((3, 2)))
    src = leaf(np.ones((1, 2)))
    assert gradcheck(lambda t, s: t.index_copy(0, T([1]), s), (a, src))


def test_index_put():
    x = tg.zeros(3, 3)
    idx = (T([0, 2]), T([1, 1]))
    np.testing.assert_array_equal(x.index_put(idx, tg.tensor([1.0, 2.0]))._data,
                                  [[0, 1, 0], [0, 0, 0], [0, 2, 0]])
    r = x.index_put((T([0, 0]), T([1, 1])), tg.tensor([1.0, 2.0]), accumulate=True)
    assert r[0, 1].item() == 3.0
    assert x.index_put_(idx, tg.tensor(5.0)) is x and x._version == 1
    assert x[2, 1].item() == 5.0
