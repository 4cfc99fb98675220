"""Shape and view ops: values (against NumPy), views sharing memory and the
version counter, copies that do not, torch's errors, and gradients
(gradcheck in float64 on contiguous and non-contiguous inputs, gradgradcheck
for the ops used in second-order code). Needs neither torch nor, except for
the property tests, hypothesis."""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402

from tinygrad_cn.testing.strategies import float_tensors, shapes  # noqa: E402


def arange(*shape, dtype=np.float64):
    return tg.Tensor._make(np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape))


def leaf(arr):
    return tg.Tensor._make(np.array(arr, dtype=np.float64)).requires_grad_(True)


# -- values against NumPy ------------------------------------------------------------------
X = np.arange(24.0).reshape(2, 3, 4)
VALUES = [
    ("reshape", lambda x: x.reshape(4, -1), lambda a: a.reshape(4, -1)),
    ("reshape_tuple", lambda x: x.reshape((6, 4)), lambda a: a.reshape(6, 4)),
    ("view", lambda x: x.view(-1, 2), lambda a: a.reshape(-1, 2)),
    ("transpose", lambda x: x.transpose(0, 2), lambda a: a.transpose(2, 1, 0)),
    ("swapdims", lambda x: x.swapdims(-1, 1), lambda a: a.swapaxes(-1, 1)),
    ("permute", lambda x: x.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0)),
    ("T_2d", lambda x: x[0].T, lambda a: a[0].T),
    ("t", lambda x: x[1].t(), lambda a: a[1].T),
    ("mT", lambda x: x.mT, lambda a: a.swapaxes(-1, -2)),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda a: a[:, None]),
    ("unsqueeze_neg", lambda x: x.unsqueeze(-1), lambda a: a[..., None]),
    ("squeeze_none", lambda x: x.reshape(1, 2, 1, 12).squeeze(), lambda a: a.reshape(2, 12)),
    ("squeeze_int", lambda x: x.reshape(1, 2, 1, 12).squeeze(2), lambda a: a.reshape(1, 2, 12)),
    ("squeeze_int_not1", lambda x: x.reshape(1, 2, 1, 12).squeeze(1), lambda a: a.reshape(1, 2, 1, 12)),
    ("squeeze_tuple", lambda x: x.reshape(1, 2, 1, 12).squeeze((0, 2)), lambda a: a.reshape(2, 12)),
    ("flatten", lambda x: x.flatten(), lambda a: a.ravel()),
    ("flatten_range", lambda x: x.flatten(1, 2), lambda a: a.reshape(2, 12)),
    ("unflatten", lambda x: x.unflatten(2, (2, 2)), lambda a: a.reshape(2, 3, 2, 2)),
    ("unflatten_infer", lambda x: x.unflatten(0, (-1, 1)), lambda a: a.reshape(2, 1, 3, 4)),
    ("expand", lambda x: x[:, :1].expand(2, 3, 4), lambda a: np.broadcast_to(a[:, :1], (2, 3, 4))),
    ("expand_-1_lead", lambda x: x[:1].expand(5, -1, -1, 4), lambda a: np.broadcast_to(a[:1], (5, 1, 3, 4))),
    ("expand_as", lambda x: x[0, 0].expand_as(x), lambda a: np.broadcast_to(a[0, 0], a.shape)),
    ("repeat", lambda x: x[0].repeat(2, 1, 2), lambda a: np.tile(a[0], (2, 1, 2))),
    ("cat", lambda x: tg.cat([x, x[:, :1]], 1), lambda a: np.concatenate([a, a[:, :1]], 1)),
    ("cat_neg", lambda x: tg.cat([x[..., :1], x], -1), lambda a: np.concatenate([a[..., :1], a], -1)),
    ("stack", lambda x: tg.stack([x, x + 1], 1), lambda a: np.stack([a, a + 1], 1)),
    ("stack_last", lambda x: tg.stack([x, x], -1), lambda a: np.stack([a, a], -1)),
    ("split_int", lambda x: x.split(3, -1), lambda a: (a[..., :3], a[..., 3:])),
    ("split_sizes", lambda x: x.split([1, 2], 1), lambda a: (a[:, :1], a[:, 1:])),
    ("chunk", lambda x: x.chunk(3, 2), lambda a: (a[..., :2], a[..., 2:])),
    ("unbind", lambda x: x.unbind(1), lambda a: tuple(a[:, i] for i in range(3))),
    ("flip", lambda x: x.flip(0, 2), lambda a: a[::-1, :, ::-1]),
    ("narrow", lambda x: x.narrow(2, 1, 2), lambda a: a[..., 1:3]),
    ("narrow_neg_start", lambda x: x.narrow(1, -2, 2), lambda a: a[:, 1:3]),
    ("roll", lambda x: x.roll(1, 2), lambda a: np.roll(a, 1, 2)),
    ("roll_flat", lambda x: x.roll(-3), lambda a: np.roll(a, -3)),
    ("roll_multi", lambda x: x.roll((1, 2), (0, 2)), lambda a: np.roll(a, (1, 2), (0, 2))),
    ("tril", lambda x: x.tril(), lambda a: np.tril(a)),
    ("tril_k", lambda x: x.tril(-1), lambda a: np.tril(a, -1)),
    ("triu", lambda x: x.triu(1), lambda a: np.triu(a, 1)),
    ("diagonal", lambda x: x.diagonal(1, 1, 2), lambda a: np.diagonal(a, 1, 1, 2)),
    ("select", lambda x: x.select(2, -1), lambda a: a[..., -1]),
    ("movedim", lambda x: x.movedim(0, -1), lambda a: np.moveaxis(a, 0, -1)),
]


@pytest.mark.parametrize("name,fn,ref", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(name, fn, ref):
    out = fn(tg.Tensor._make(X.copy()))
    exp = ref(X.copy())
    outs = out if isinstance(out, tuple) else (out,)
    exps = exp if isinstance(exp, tuple) else (exp,)
    assert len(outs) == len(exps)
    for o, e in zip(outs, exps):
        assert isinstance(o, tg.Tensor)
        assert tuple(o.shape) == e.shape
        np.testing.assert_array_equal(o._data, e)


def test_split_chunk_unbind_return_tuples():
    x = arange(7, 2)
    assert isinstance(x.split(3), tuple) and [p.shape[0] for p in x.split(3)] == [3, 3, 1]
    assert [p.shape[0] for p in x.chunk(3)] == [3, 3, 1]
    assert [p.shape[0] for p in arange(6).chunk(4)] == [2, 2, 2]  # torch gives fewer chunks
    assert len(x.unbind(1)) == 2 and x.unbind(1)[0].shape == (7,)


def test_cat_promotes_dtypes():
    i32 = tg.tensor([1, 2], dtype=tg.int32)
    assert tg.cat([i32, tg.tensor([3])]).dtype == tg.int64
    assert tg.cat([i32, tg.tensor([1.5])]).dtype == tg.float32
    assert tg.cat([tg.tensor([True]), tg.tensor([2])]).dtype == tg.int64
    assert tg.cat([tg.ones(1, dtype=tg.float16), tg.ones(1)]).dtype == tg.float32
    assert tg.cat([tg.ones(1), tg.ones(1, dtype=tg.float64)]).dtype == tg.float64
    assert tg.stack([i32, tg.tensor([1.0, 2.0])]).dtype == tg.float32
    r = tg.cat([i32, tg.tensor([0.5])])
    np.testing.assert_array_equal(r._data, [1.0, 2.0, 0.5])


def test_cat_skips_legacy_empty_1d():
    x = arange(2, 3)
    assert tg.cat([x, tg.tensor([], dtype=tg.float64)]).shape == (2, 3)
    assert tg.cat([tg.empty(0), x.float()], 1).shape == (2, 3)


def test_expand_zero_and_repeat_zero():
    assert tg.zeros(1).expand(0).shape == (0,)
    assert tg.zeros(2).repeat(0, 2).shape == (0, 4)


# -- views: shared memory and version counter ------------------------------------------------
VIEWS = [
    ("reshape", lambda x: x.reshape(12)),
    ("view", lambda x: x.view(2, 6)),
    ("view_as", lambda x: x.view_as(tg.empty(6, 2))),
    ("transpose", lambda x: x.transpose(0, 1)),
    ("permute", lambda x: x.permute(1, 0)),
    ("T", lambda x: x.T),
    ("t", lambda x: x.t()),
    ("mT", lambda x: x.mT),
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze()),
    ("flatten", lambda x: x.flatten()),
    ("unflatten", lambda x: x.unflatten(1, (2, 2))),
    ("narrow", lambda x: x.narrow(1, 1, 2)),
    ("select", lambda x: x.select(0, 1)),
    ("getitem_basic", lambda x: x[1:, ::2]),
    ("getitem_int", lambda x: x[-1]),
    ("getitem_none_ellipsis", lambda x: x[None, ..., 1]),
    ("split", lambda x: x.split(2, 1)[1]),
    ("chunk", lambda x: x.chunk(2, 0)[0]),
    ("unbind", lambda x: x.unbind(1)[2]),
    ("diagonal", lambda x: x.diagonal()),
    ("movedim", lambda x: x.movedim(0, 1)),
    ("chain", lambda x: x.t()[1:].unsqueeze(0)[0, :, 1]),
]


@pytest.mark.parametrize("name,fn", VIEWS, ids=[v[0] for v in VIEWS])
def test_views_share_memory_and_version(name, fn):
    x = arange(3, 4)
    v = fn(x)
    assert np.shares_memory(v._data, x._data)
    assert v._base is not None and v._base is (x._base or x)
    # writing through the view shows in the base, and bumps the shared version
    before = x._version
    v.mul_(0).add_(-1)
    assert x._version == v._version == before + 2
    assert (x._data == -1).sum() == v.numel()
    # writing the base shows in the view
    x.fill_(7.0)
    assert np.all(v._data == 7.0)
    assert v._version == x._version == before + 3


@pytest.mark.parametrize("name,fn", VIEWS[:8], ids=[v[0] for v in VIEWS[:8]])
def test_setitem_through_view(name, fn):
    x = arange(3, 4)
    v = fn(x)
    v[0] = 100.0
    assert (x._data == 100.0).sum() == v[0].numel()
    assert x._version == 1


def test_expand_is_a_view_and_refuses_writes():
    x = arange(3, 1)
    e = x.expand(3, 4)
    assert np.shares_memory(e._data, x._data) and e._base is x
    with pytest.raises(RuntimeError, match="single memory location"):
        e.add_(1)
    x.add_(1)
    np.testing.assert_array_equal(e._data[:, 3], [1, 2, 3])


COPIES = [
    ("flip", lambda x: x.flip(0)),
    ("roll", lambda x: x.roll(1, 1)),
    ("repeat", lambda x: x.repeat(1, 1)),
    ("tile", lambda x: x.tile((1,))),
    ("clone", lambda x: x.clone()),
    ("cat", lambda x: tg.cat([x])),
    ("stack", lambda x: tg.stack([x])),
    ("tril", lambda x: x.tril(5)),
    ("triu", lambda x: x.triu(-5)),
    ("reshape_noncontig", lambda x: x.t().reshape(-1)),
    ("contiguous_of_t", lambda x: x.t().contiguous()),
    ("getitem_adv", lambda x: x[[0, 1]]),
    ("getitem_mask", lambda x: x[x > 3]),
]


@pytest.mark.parametrize("name,fn", COPIES, ids=[c[0] for c in COPIES])
def test_copies_do_not_alias(name, fn):
    x = arange(3, 4)
    c = fn(x)
    assert not np.shares_memory(c._data, x._data)
    assert c._base is None
    c.add_(1000)
    np.testing.assert_array_equal(x._data, np.arange(12.0).reshape(3, 4))
    assert x._version == 0


def test_reshape_returns_view_when_possible():
    x = arange(2, 6)
    assert x.reshape(3, 4)._base is x
    assert x[:, ::2].reshape(-1)._base is x  # strides still line up: a view
    assert x.t().reshape(-1)._base is None  # not viewable: a copy, as torch
    assert x.contiguous() is x


def test_view_refuses_non_viewable_layout():
    x = arange(3, 4).t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(-1)
    assert x.view(4, 1, 3).shape == (4, 1, 3)  # splitting/adding unit dims stays viewable
    assert x.reshape(-1).shape == (12,)


def test_unfold_and_as_strided_are_views():
    x = arange(2, 6)
    u = x.unfold(1, 3, 2)
    np.testing.assert_array_equal(u._data, [[[0, 1, 2], [2, 3, 4]], [[6, 7, 8], [8, 9, 10]]])
    assert u._base is x
    u[0, 1, 0] = -1.0  # overlapping windows share the element
    assert x[0, 2].item() == -1.0 and u[0, 0, 2].item() == -1.0
    s = arange(6).as_strided((2, 2), (1, 2), 1)
    np.testing.assert_array_equal(s._data, [[1, 3], [2, 4]])
    y = arange(3, 4).t()  # a non-contiguous tensor: as_strided addresses its storage
    np.testing.assert_array_equal(y.as_strided((2,), (1,))._data, [0, 1])


def test_overlapping_view_gradient_accumulates():
    x = tg.Tensor._make(np.arange(5.0)).requires_grad_(True)
    x.unfold(0, 3, 1).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1, 2, 3, 2, 1])
    x.grad = None
    x.as_strided((3, 2), (1, 1)).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1, 2, 2, 1, 0])


def test_view_dtype_reinterprets():
    x = tg.zeros(2, dtype=tg.float32)
    assert x.view(tg.int32).dtype == tg.int32
    assert x.view(tg.int32).tolist() == [0, 0]


def test_t_on_small_tensors():
    assert arange(3).t().shape == (3,)
    assert tg.tensor(2.0).t().shape == ()


# -- errors as torch -------------------------------------------------------------------------
ERRORS = [
    (RuntimeError, r"shape '\[5, -1\]' is invalid for input of size 12", lambda x: x.view(5, -1)),
    (RuntimeError, "only one dimension can be inferred", lambda x: x.reshape(-1, -1)),
    (RuntimeError, r"invalid for input of size 12", lambda x: x.reshape(5)),
    (IndexError, "Dimension out of range", lambda x: x.transpose(0, 2)),
    (IndexError, "Dimension out of range", lambda x: x.unsqueeze(3)),
    (IndexError, "Dimension out of range", lambda x: x.squeeze(-3)),
    (IndexError, "Dimension out of range", lambda x: x.permute(0, 2)),
    (IndexError, "Dimension out of range", lambda x: x.flatten(0, 2)),
    (IndexError, "Dimension out of range", lambda x: tg.cat([x, x], 2)),
    (IndexError, "Dimension out of range", lambda x: tg.stack([x, x], 3)),
    (IndexError, "Dimension out of range", lambda x: x.split(1, 2)),
    (IndexError, "out of range", lambda x: x.select(0, 3)),
    (RuntimeError, "duplicate dims", lambda x: x.permute(1, 1)),
    (RuntimeError, "number of dimensions", lambda x: x.permute(0)),
    (RuntimeError, "t\\(\\) expects a tensor with <= 2 dimensions", lambda x: x.unsqueeze(0).t()),
    (RuntimeError, "start_dim cannot come after end_dim", lambda x: x.unsqueeze(0).flatten(2, 1)),
    (RuntimeError, r"expanded size of the tensor \(5\) must match the existing size \(4\)",
     lambda x: x.expand(3, 5)),
    (RuntimeError, r"number of sizes provided \(1\) must be greater or equal", lambda x: x.expand(4)),
    (RuntimeError, "leading, non-existing dimension", lambda x: x.expand(-1, 3, 4)),
    (RuntimeError, "Number of dimensions of repeat dims", lambda x: x.repeat(2)),
    (RuntimeError, r"Sizes of tensors must match except in dimension 0. Expected size 4 but got size 3",
     lambda x: tg.cat([x, x.t()])),
    (RuntimeError, "Tensors must have same number of dimensions: got 2 and 1", lambda x: tg.cat([x, x[0]])),
    (RuntimeError, "zero-dimensional tensor", lambda x: tg.cat([x[0, 0], x[0, 0]])),
    (ValueError, "expected a non-empty list", lambda x: tg.cat([])),
    (RuntimeError, r"stack expects each tensor to be equal size, but got \[3, 4\] at entry 0 and \[4, 3\]",
     lambda x: tg.stack([x, x.t()])),
    (RuntimeError, "non-empty TensorList", lambda x: tg.stack([])),
    (RuntimeError, "split_with_sizes expects split_sizes to sum exactly to 3", lambda x: x.split([1, 1])),
    (RuntimeError, "chunk expects `chunks` to be greater than 0", lambda x: x.chunk(0)),
    (RuntimeError, r"start \(2\) \+ length \(2\) exceeds dimension size \(3\)", lambda x: x.narrow(0, 2, 2)),
    (RuntimeError, "at least 2 dimensions", lambda x: x[0].tril()),
    (RuntimeError, "at least 2 dimensions", lambda x: x[0].triu()),
    (RuntimeError, "shifts and dimensions must align", lambda x: x.roll((1, 2), 0)),
    (RuntimeError, "appears multiple times", lambda x: x.flip(1, -1)),
    (RuntimeError, "repeated dim", lambda x: x.movedim((0, 0), (1, 0))),
    (RuntimeError, "diagonal dimensions cannot be identical", lambda x: x.diagonal(0, 1, 1)),
    (RuntimeError, r"unflatten: Provided sizes \[3, 2\] don't multiply up to the size of dim 1 \(4\) in the input "
                   r"tensor", lambda x: x.unflatten(-1, (3, 2))),
]


@pytest.mark.parametrize("exc,match,fn", ERRORS, ids=[f"{i}-{e[0].__name__}" for i, e in enumerate(ERRORS)])
def test_errors_as_torch(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn(arange(3, 4))


# -- gradients -------------------------------------------------------------------------------
def _small(min_dims=0, max_dims=3, min_side=1, max_side=4, max_numel=24):
    return shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side, max_numel=max_numel)


def _x(min_dims=0, **kw):
    return float_tensors(shape=_small(min_dims, **kw), requires_grad=True)


def _rev(x):
    return tuple(reversed(range(x.dim())))


# (name, function of one tensor, strategy for the tensor)
GRAD_OPS = [
    ("reshape", lambda x: x.reshape(-1), _x()),
    ("reshape_rev", lambda x: x.reshape(tuple(reversed(x.shape))), _x()),
    ("view_unsqueezed", lambda x: x.view(1, *x.shape, 1), _x()),
    ("transpose", lambda x: x.transpose(0, -1), _x(1)),
    ("permute", lambda x: x.permute(_rev(x)), _x()),
    ("T_2d", lambda x: x.T, _x(2, max_dims=2)),
    ("t", lambda x: x.t(), _x(0, max_dims=2)),
    ("mT", lambda x: x.mT, _x(2)),
    ("unsqueeze", lambda x: x.unsqueeze(-1), _x()),
    ("squeeze", lambda x: x.squeeze(), _x(min_side=1, max_side=2)),
    ("squeeze_dim", lambda x: x.squeeze(0), _x(1, max_side=2)),
    ("flatten", lambda x: x.flatten(), _x()),
    ("flatten_partial", lambda x: x.flatten(1), _x(2)),
    ("unflatten", lambda x: x.unflatten(0, (1, -1, 1)), _x(1)),
    ("expand", lambda x: x.expand(2, *x.shape), _x()),
    ("expand_ones", lambda x: x.expand(*[3 if s == 1 else s for s in x.shape]), _x(max_side=2)),
    ("repeat", lambda x: x.repeat(2, *([1] * (x.dim() - 1)), 2) if x.dim() else x.repeat(3), _x(max_numel=12)),
    ("cat_self", lambda x: tg.cat([x, x * 2, x[:1]], 0), _x(1)),
    ("cat_last", lambda x: tg.cat([x.exp(), x], -1), _x(1)),
    ("stack", lambda x: tg.stack([x, x.sin()], -1), _x()),
    ("split", lambda x: x.split(2, -1), _x(1)),
    ("split_sizes", lambda x: x.split([1, x.shape[0] - 1]), _x(1, min_side=2)),
    ("chunk", lambda x: x.chunk(2, 0), _x(1)),
    ("unbind", lambda x: x.unbind(-1), _x(1)),
    ("flip", lambda x: x.flip(_rev(x)), _x()),
    ("narrow", lambda x: x.narrow(-1, 1, x.shape[-1] - 1), _x(1, min_side=2)),
    ("roll", lambda x: x.roll(1, 0), _x(1)),
    ("roll_flat", lambda x: x.roll(-2), _x(1)),
    ("tril", lambda x: x.tril(), _x(2)),
    ("triu", lambda x: x.triu(1), _x(2)),
    ("diagonal", lambda x: x.diagonal(0, -1, 0), _x(2)),
    ("movedim", lambda x: x.movedim(0, -1), _x(1)),
    ("select", lambda x: x.select(-1, 0), _x(1)),
    ("getitem_basic", lambda x: x[..., ::2], _x(1)),
    ("clone", lambda x: x.clone(), _x()),
    ("contiguous", lambda x: x.contiguous(), _x()),
    ("unfold", lambda x: x.unfold(-1, 2, 1), _x(1, min_side=2)),
    ("unfold_step", lambda x: x.unfold(0, 1, 2), _x(1)),
    # over a contiguous copy: on a strided layout the storage between elements is NaN
    ("as_strided_overlap", lambda x: x.contiguous().as_strided((x.numel() - 1, 2), (1, 1)), _x(1, min_side=2)),
    ("as_strided_skip", lambda x: x.contiguous().as_strided((2,), (x.numel() - 1,)), _x(1, min_side=2)),
    ("rot90", lambda x: x.rot90(1, (0, -1)), _x(2)),
    ("rot90_3", lambda x: x.rot90(3), _x(2)),
    ("narrow_copy", lambda x: x.narrow_copy(0, 0, 1), _x(1)),
    ("hsplit", lambda x: x.hsplit([1]), _x(1)),
]


@pytest.mark.parametrize("name,fn,strategy", GRAD_OPS, ids=[g[0] for g in GRAD_OPS])
def test_gradcheck(name, fn, strategy):
    @given(strategy)
    def check(x):
        assert gradcheck(fn, (x,))

    check()


def test_gradcheck_sees_non_contiguous_inputs():
    """The strategy must actually give the ops non-contiguous inputs."""
    seen = []

    @given(_x(2))
    def collect(x):
        seen.append(x.is_contiguous())

    collect()
    assert False in seen and True in seen


GRADGRAD_OPS = [
    ("reshape", lambda x: (x.reshape(-1) ** 2).reshape(x.shape), _x()),
    ("transpose", lambda x: x.transpose(0, -1) * x.transpose(0, -1), _x(1)),
    ("cat", lambda x: tg.cat([x * x, x.sin()], 0), _x(1)),
    ("expand", lambda x: x.expand(2, *x.shape) ** 2, _x()),
    ("permute", lambda x: x.permute(_rev(x)).exp(), _x()),
    ("split", lambda x: tuple(p * p for p in x.split(1)), _x(1)),
    ("repeat", lambda x: x.repeat(2, *([1] * max(x.dim() - 1, 0))) ** 2 if x.dim() else x * x, _x(max_numel=12)),
    ("flip", lambda x: x.flip(0) * x, _x(1)),
    ("diagonal", lambda x: x.diagonal() ** 2, _x(2)),
    ("tril", lambda x: x.tril() ** 2, _x(2)),
    ("unfold", lambda x: x.unfold(0, 1, 1) ** 2, _x(1)),
    ("as_strided", lambda x: x.contiguous().as_strided((2, 1), (1, 1)) ** 2, _x(1, min_side=2)),
]


@pytest.mark.parametrize("name,fn,strategy", GRADGRAD_OPS, ids=[g[0] for g in GRADGRAD_OPS])
def test_gradgradcheck(name, fn, strategy):
    @hypothesis.settings(max_examples=8)
    @given(strategy)
    def check(x):
        assert gradgradcheck(fn, (x,))

    check()


def test_cat_gradient_routes_to_each_input():
    a, b = leaf(np.ones((2, 2))), leaf(np.ones((1, 2)))
    out = tg.cat([a, b])
    w = tg.Tensor._make(np.arange(6.0).reshape(3, 2))
    (out * w).sum().backward()
    np.testing.assert_array_equal(a.grad._data, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b.grad._data, [[4, 5]])


def test_cat_mixed_dtype_gradient_keeps_input_dtype():
    a = tg.ones(2, dtype=tg.float32, requires_grad=True)
    b = tg.ones(2, dtype=tg.float64, requires_grad=True)
    out = tg.cat([a, b])
    assert out.dtype == tg.float64
    out.sum().backward()
    assert a.grad.dtype == tg.float32 and b.grad.dtype == tg.float64


def test_expand_gradient_sums_over_broadcast():
    x = leaf([[1.0], [2.0]])
    x.expand(3, 2, 4).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[12.0], [12.0]])


def test_split_unused_piece_gets_zero_gradient():
    x = leaf(np.arange(5.0))
    a, b = x.split([2, 3])
    (a * 3).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3, 3, 0, 0, 0])


@given(float_tensors(shape=_small(1), requires_grad=True), st.integers(0, 6))
def test_roll_then_inverse_roll_is_identity(x, k):
    y = x.roll(k, 0).roll(-k, 0)
    np.testing.assert_array_equal(y._data, x._data)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, np.ones(x.shape))
