"""In-place ops and views with autograd: every ``op_`` returns self and bumps
the version counter; leaves (and views of leaves) that require grad refuse
in-place writes; a tensor saved for backward and then modified makes backward
raise; in-place writes to non-leaves and to their views (CopySlices) give the
gradients of the out-of-place program; ``out=`` arguments.
Needs neither torch nor, except for the property tests, hypothesis."""
import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.ops.inplace import _INPLACE

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402

from tinygrad_cn.testing.strategies import float_tensors, shapes  # noqa: E402

X0 = np.array([[0.5, 1.5, 2.5], [0.25, 0.75, 1.25]])


def T(a, **kw):
    return tg.tensor(a, **kw)


def D(a):
    return tg.tensor(a, dtype=tg.float64)


def leaf(arr):
    return tg.Tensor._make(np.array(arr, dtype=np.float64)).requires_grad_(True)


# The arguments of each in-place op for a (2, 3) float64 self; None = no arguments.
ARGS = {
    "add": lambda: (1.0,), "sub": lambda: (D([1.0, 2.0, 3.0]),), "mul": lambda: (2.0,), "div": lambda: (2.0,),
    "pow": lambda: (2.0,), "clamp": lambda: (0.5, 1.0), "clip": lambda: (0.5, 1.0), "clamp_min": lambda: (1.0,),
    "clamp_max": lambda: (1.0,), "remainder": lambda: (0.7,), "fmod": lambda: (0.7,),
    "masked_fill": lambda: (T([[True, False, True], [False] * 3]), 9.0),
    "index_fill": lambda: (1, T([0, 2]), -1.0),
    "scatter": lambda: (1, T([[1], [0]]), D([[7.0], [8.0]])),
    "scatter_add": lambda: (1, T([[1], [0]]), D([[7.0], [8.0]])),
    "index_add": lambda: (0, T([1]), D([[1.0, 2.0, 3.0]])),
    "index_copy": lambda: (1, T([2, 0]), D([[1.0, 2.0], [3.0, 4.0]])),
    "lerp": lambda: (D([1.0, 2.0, 3.0]), 0.5), "floor_divide": lambda: (0.3,),
    "transpose": lambda: (0, 1), "swapaxes": lambda: (0, 1), "swapdims": lambda: (1, 0),
    "unsqueeze": lambda: (0,), "maximum": lambda: (D([1.0, 1.0, 1.0]),),
    "minimum": lambda: (D([1.0, 1.0, 1.0]),), "divide": lambda: (4.0,), "true_divide": lambda: (D(0.5),),
    "multiply": lambda: (3.0,), "subtract": lambda: (0.5,), "eq": lambda: (0.5,), "ne": lambda: (0.5,),
    "not_equal": lambda: (0.5,), "lt": lambda: (1.0,), "less": lambda: (1.0,), "le": lambda: (1.25,),
    "less_equal": lambda: (1.25,), "gt": lambda: (1.0,), "greater": lambda: (1.0,), "ge": lambda: (1.5,),
    "greater_equal": lambda: (1.5,), "logical_and": lambda: (D([0.0, 1.0, 1.0]),),
    "logical_or": lambda: (D([0.0, 1.0, 0.0]),), "logical_xor": lambda: (D([0.0, 1.0, 0.0]),),
    "cumsum": lambda: (1,), "cumprod": lambda: (0,), "tril": lambda: (), "triu": lambda: (1,),
    "addmm": lambda: (D([[1.0, 2.0], [3.0, 4.0]]), D([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])),
    "masked_scatter": lambda: (T([[True, False, True], [False, True, False]]), D(np.arange(6.0))),
    "addcmul": lambda: (D([1.0, 2.0, 3.0]), D([0.5, 0.25, 2.0])), "addcdiv": lambda: (D([1.0, 2.0, 3.0]), D([0.5, 0.25, 2.0])),
    "atan2": lambda: (D([1.0, -2.0, 3.0]),), "arctan2": lambda: (D([1.0, -2.0, 3.0]),),
    "copysign": lambda: (D([1.0, -2.0, 3.0]),), "heaviside": lambda: (D([0.5, 0.5, 0.5]),),
    "hypot": lambda: (D([1.0, -2.0, 3.0]),), "xlogy": lambda: (D([1.0, 2.0, 3.0]),),
}
INT_OPS = {"bitwise_and": lambda: (T([3, 5, 6]),), "bitwise_or": lambda: (T([3, 5, 6]),),
           "bitwise_xor": lambda: (T([3, 5, 6]),), "bitwise_not": lambda: ()}
NAMES = [n for n in _INPLACE if hasattr(tg.Tensor, n + "_")]


def test_inplace_table_is_complete():
    missing = [n for n in _INPLACE if not hasattr(tg.Tensor, n + "_")]
    assert not missing, f"in-place forms missing: {missing}"
    for name in ("fill_", "zero_", "copy_", "index_put_", "fill_diagonal_", "requires_grad_", "__iadd__",
                 "__isub__", "__imul__", "__itruediv__", "__ipow__"):
        assert hasattr(tg.Tensor, name), name


@pytest.mark.parametrize("name", NAMES)
def test_inplace_returns_self_bumps_version_and_matches_out_of_place(name):
    if name in INT_OPS:
        start, args = np.array([[1, 2, 3], [4, 5, 6]]), INT_OPS[name]()
    else:
        start, args = X0, ARGS.get(name, lambda: ())()
    x = tg.Tensor._make(start.copy())
    expected = getattr(tg.Tensor._make(start.copy()), name)(*args)
    data_before = x._data
    r = getattr(x, name + "_")(*args)
    assert r is x
    assert x._version == 1
    assert x.dtype == tg.Tensor._make(start).dtype, "an in-place op keeps self's dtype"
    assert tuple(x.shape) == tuple(expected.shape)
    np.testing.assert_allclose(x._data, expected._data.astype(x._data.dtype), equal_nan=True)
    assert np.shares_memory(x._data, data_before), "in-place means in the same memory"


@pytest.mark.parametrize("name,call", [
    ("fill_", lambda x: x.fill_(2.0)), ("fill_tensor", lambda x: x.fill_(D(3.0))), ("zero_", lambda x: x.zero_()),
    ("copy_", lambda x: x.copy_(D([1.0, 2.0, 3.0]))), ("index_put_", lambda x: x.index_put_((T([0]),), D(1.0))),
    ("fill_diagonal_", lambda x: x.fill_diagonal_(5.0)), ("requires_grad_", None),
])
def test_other_inplace_return_self_and_bump(name, call):
    x = tg.Tensor._make(X0.copy())
    if call is None:
        assert x.requires_grad_() is x and x._version == 0  # metadata only: no version bump
        return
    assert call(x) is x
    assert x._version == 1


@pytest.mark.parametrize("op,ref", [
    (lambda x: x.__iadd__(1.0), lambda a: a + 1), (lambda x: x.__isub__(D([1.0, 2.0, 3.0])), lambda a: a - [1, 2, 3]),
    (lambda x: x.__imul__(2.0), lambda a: a * 2), (lambda x: x.__itruediv__(4.0), lambda a: a / 4),
    (lambda x: x.__ipow__(2), lambda a: a ** 2),
])
def test_augmented_assignment_is_in_place(op, ref):
    x = tg.Tensor._make(X0.copy())
    alias = x
    r = op(x)
    assert r is alias and x._version == 1
    np.testing.assert_allclose(x._data, ref(X0))


def test_inplace_dtype_rules():
    i = T([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.add_(1.5)
    f = tg.zeros(2)
    f.add_(T([1, 2]))  # int into float: fine, stays float32
    assert f.dtype == tg.float32 and f.tolist() == [1.0, 2.0]
    f.add_(D([0.5, 0.5]))
    assert f.dtype == tg.float32 and f.tolist() == [1.5, 2.5]
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the broadcast shape \[2, 2\]"):
        f.add_(tg.ones(2, 2))


# -- refusals --------------------------------------------------------------------------------
@pytest.mark.parametrize("write", [
    lambda t: t.add_(1), lambda t: t.zero_(), lambda t: t.fill_(1.0), lambda t: t.copy_(tg.ones(3)),
    lambda t: t.__setitem__(0, 1.0), lambda t: t.mul_(t), lambda t: t.t_(), lambda t: t.unsqueeze_(0),
    lambda t: t.index_put_((T([0]),), D(1.0)), lambda t: t.masked_fill_(T([True, False, True]), 0.0),
])
def test_inplace_on_leaf_requiring_grad_raises(write):
    x = leaf([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        write(x)
    assert x._version == 0 and x.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("view", [lambda t: t[0], lambda t: t.t(), lambda t: t.view(-1), lambda t: t[:, 1:],
                                  lambda t: t.diagonal(), lambda t: t.unsqueeze(0)[0]])
def test_inplace_on_view_of_leaf_raises(view):
    x = leaf(np.ones((2, 2)))
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        view(x).mul_(2)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        view(x)[...] = 0.0


def test_inplace_on_leaf_allowed_under_no_grad_and_after_detach():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        x.mul_(3)
        x[0] = 0.0
    assert x.tolist() == [0.0, 6.0] and x.requires_grad and x.is_leaf and x._version == 2
    d = x.detach()
    d.add_(1)  # shares memory and version counter with x
    assert x.tolist() == [1.0, 7.0] and x._version == 3
    x.data.add_(1)  # .data: same memory, its own counter
    assert x.tolist() == [2.0, 8.0] and x._version == 3


def test_multi_output_views_refuse_recorded_writes():
    y = leaf(np.ones((4, 2))) * 1
    for pieces in (y.split(2), y.chunk(2), y.unbind(0), y.split([1, 3])):
        with pytest.raises(RuntimeError, match="output of a function that returns multiple views"):
            pieces[0].add_(1)
        with pytest.raises(RuntimeError, match="multiple views"):
            pieces[-1][0].mul_(2)  # a view of such a view too
    with tg.no_grad():
        y.split(2)[0].add_(1)
    a, b = tg.ones(4).split(2)  # nothing recorded: allowed
    a.add_(1)
    with pytest.raises(RuntimeError, match="multiple views"):
        b.add_(leaf([1.0, 1.0]))  # the value requires grad: recorded, refused


def test_expanded_tensor_refuses_writes():
    e = tg.zeros(3, 1).expand(3, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        e.add_(1)


# -- saved tensors modified ------------------------------------------------------------------
@pytest.mark.parametrize("program", [
    lambda x: (lambda y: ((y * y), y.add_(1)))(x * 1)[0],  # mul saves y
    lambda x: (lambda y: (y.sin(), y.mul_(2)))(x * 1)[0],  # sin saves its input
    lambda x: (lambda y: (y.exp(), None))(x * 1)[0].__imul__(2),  # exp saves its output
    lambda x: (lambda y: (y.sin(), y[0].zero_()))(x * 1)[0],  # write through a view of the saved tensor
    lambda x: (lambda s: (s, s[1:].exp_()))((x * 1).sigmoid())[0],  # saved output written through a view
    lambda x: (lambda y, v: ((v * v), y.add_(1)))(*(lambda y: (y, y[1:]))(x * 1))[0],  # base written, view saved
    lambda x: (lambda y: ((y @ y.t()), y.t_()))(x.reshape(2, 2) * 1)[0],  # metadata-changing in-place op
])
def test_modified_saved_tensor_makes_backward_raise(program):
    x = leaf([1.0, 2.0, 3.0, 4.0])
    out = program(x)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*version"):
        out.sum().backward()


def test_unmodified_saved_tensor_is_fine_and_version_is_named():
    x = leaf([1.0, 2.0])
    y = x * 1
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0"):
        z.sum().backward()
    w = x * 1
    s = w.exp()  # saves the output, not w
    w.add_(1)
    s.sum().backward()
    np.testing.assert_allclose(x.grad._data, np.exp([1.0, 2.0]))


# -- gradients of in-place programs ----------------------------------------------------------
DIFF = [n for n in NAMES if n not in INT_OPS and n not in (
    "eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater", "ge", "greater_equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "sign", "floor", "ceil", "round", "trunc", "fix",
    "floor_divide", "remainder", "fmod", "frac", "heaviside")]


@pytest.mark.parametrize("name", DIFF)
def test_inplace_on_non_leaf_gradient_matches_out_of_place(name):
    """``(x * 1).op_(...)`` gives the gradients (of x and of tensor args) of ``(x * 1).op(...)``."""
    args = ARGS.get(name, lambda: ())()
    diff_args = [a.requires_grad_(True) if isinstance(a, tg.Tensor) and a.is_floating_point() else a for a in args]
    ts = [a for a in diff_args if isinstance(a, tg.Tensor) and a.requires_grad]
    rng = np.random.default_rng(0)
    x_in, x_out = leaf(X0 + 0.1), leaf(X0 + 0.1)
    out_in = getattr(x_in * 1, name + "_")(*diff_args)
    w = tg.Tensor._make(rng.standard_normal(tuple(out_in.shape)))
    (out_in * w).sum().backward()
    grads_in = [x_in.grad] + [t.grad for t in ts]
    for t in ts:
        t.grad = None
    out_ref = getattr(x_out * 1, name)(*diff_args)
    np.testing.assert_allclose(out_in._data, out_ref._data)
    (out_ref * w).sum().backward()
    grads_ref = [x_out.grad] + [t.grad for t in ts]
    for gi, gr in zip(grads_in, grads_ref):
        assert (gi is None) == (gr is None)
        if gi is not None:
            np.testing.assert_allclose(gi._data, gr._data, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["add", "mul", "div", "pow", "exp", "sin", "tanh", "sigmoid", "clamp", "sqrt",
                                  "square", "neg", "reciprocal", "lerp", "masked_fill", "copy", "fill", "zero"])
def test_inplace_on_view_gradcheck(name):
    """Write a column view of a non-leaf in place: the base moves through CopySlices."""
    ops = {"add": lambda v, s: v.add_(s), "mul": lambda v, s: v.mul_(s), "div": lambda v, s: v.div_(s + 3),
           "pow": lambda v, s: v.pow_(2), "exp": lambda v, s: v.exp_(), "sin": lambda v, s: v.sin_(),
           "tanh": lambda v, s: v.tanh_(), "sigmoid": lambda v, s: v.sigmoid_(),
           "clamp": lambda v, s: v.clamp_(-0.5, 0.5), "sqrt": lambda v, s: v.abs_().add_(1).sqrt_(),
           "square": lambda v, s: v.square_(), "neg": lambda v, s: v.neg_(),
           "reciprocal": lambda v, s: v.add_(3).reciprocal_(), "lerp": lambda v, s: v.lerp_(s, 0.3),
           "masked_fill": lambda v, s: v.masked_fill_(T([True, False, True]), 2.0),
           "copy": lambda v, s: v.copy_(s * s), "fill": lambda v, s: v.fill_(s[0]), "zero": lambda v, s: v.zero_()}
    op = ops[name]

    def f(x, s):
        y = x * 2
        col = y[:, 1]
        op(col, s)
        return y * y

    x = leaf(np.array([[0.1, 0.2, 0.3], [0.4, -0.35, 0.6], [0.7, 0.8, -0.9]]))
    s = leaf([0.3, -0.2, 0.25])
    assert gradcheck(f, (x, s))
    assert gradgradcheck(f, (x, s))


def test_copyslices_graph_and_values():
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x * 1
    v = y[1]
    v.mul_(10)
    assert type(y.grad_fn).__name__ == y.grad_fn.name() == "CopySlices"  # torch's name
    assert "grad_fn=<CopySlices>" in repr(y)
    assert v.grad_fn is not None and v.grad_fn is not y.grad_fn
    np.testing.assert_array_equal(y._data, [[0, 1, 2], [30, 40, 50]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[1, 1, 1], [10, 10, 10]])


def test_stale_view_sees_base_write():
    """A view taken before its base was written in place differentiates through the write."""
    x = leaf(np.ones((2, 3)))
    y = x * 1
    v = y[0]
    y.mul_(2)
    v.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[2, 2, 2], [0, 0, 0]])


def test_sibling_view_sees_write_through_other_view():
    x = leaf(np.ones((2, 3)))
    y = x * 1
    a = y[:, :2]
    b = y[:, 1:]  # overlaps a in column 1
    a.mul_(3)
    b.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[0, 3, 1], [0, 3, 1]])


def test_view_of_non_grad_base_picks_up_grad():
    w = leaf([1.0, 2.0, 3.0])
    y = tg.zeros(3, dtype=tg.float64)
    v = y[1:]
    y.add_(w)
    assert v.requires_grad and v.grad_fn is not None
    (v * v).sum().backward()
    np.testing.assert_array_equal(w.grad._data, [0.0, 4.0, 6.0])


def test_chained_views_write():
    x = leaf(np.arange(12.0).reshape(3, 4))
    s = leaf([1.0, 2.0])
    y = x + 0
    y.t()[1:3][:, 0] = s * 2  # y[0, 1:3] = 2 s
    e = np.arange(12.0).reshape(3, 4)
    e[0, 1:3] = [2.0, 4.0]
    np.testing.assert_array_equal(y._data, e)
    (y * y).sum().backward()
    gx = 2 * e
    gx[0, 1:3] = 0
    np.testing.assert_array_equal(x.grad._data, gx)
    np.testing.assert_array_equal(s.grad._data, [8.0, 16.0])


def test_inplace_view_op_on_view_then_write():
    x = leaf(np.ones((2, 3)))
    y = x * 1
    r = y[1]
    r.unsqueeze_(0)
    assert r.shape == (1, 3) and y.shape == (2, 3)
    r.add_(D([[1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(y._data, [[1, 1, 1], [2, 3, 4]])
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[2, 2, 2], [4, 6, 8]])


def test_double_write_to_same_view():
    x = leaf([1.0, 2.0, 3.0])
    y = x * 1
    v = y[:2]
    v.mul_(2)
    v.mul_(3)
    y[2] = 0.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [6.0, 6.0, 0.0])


def test_fill_diagonal_gradient():
    x = leaf(np.ones((3, 3)))
    y = x * 2
    y.fill_diagonal_(0.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, 2 * (1 - np.eye(3)))


# -- hypothesis: random in-place programs on non-contiguous inputs ---------------------------
VIEW_MAKERS = [
    ("row", lambda y: y[0]),
    ("col_step", lambda y: y[:, ::2]),
    ("t", lambda y: y.t()),
    ("diag", lambda y: y.diagonal()),
    ("narrow", lambda y: y.narrow(1, 1, 1)),
    ("unsqueeze_select", lambda y: y.unsqueeze(0)[0, -1]),
    ("reshape", lambda y: y.reshape(-1)),
    ("whole", lambda y: y[...]),
]
WRITES = [
    ("mul_", lambda v, s: v.mul_(s)),
    ("add_", lambda v, s: v.add_(s * s)),
    ("exp_", lambda v, s: v.exp_()),
    ("setitem", lambda v, s: v.__setitem__(..., s.tanh())),
    ("copy_", lambda v, s: v.copy_(s)),
    ("iadd", lambda v, s: v.__iadd__(s)),
]


@given(float_tensors(shape=shapes(min_dims=2, max_dims=2, min_side=2, max_side=4), requires_grad=True,
                     min_value=-1, max_value=1),
       st.sampled_from(VIEW_MAKERS), st.sampled_from(WRITES), st.data())
def test_inplace_on_view_program_gradcheck(x, view, write, data):
    vname, make = view
    v_shape = tuple(make(x.detach()).shape)
    s = data.draw(float_tensors(shape=st.just(v_shape), requires_grad=True, min_value=-1, max_value=1))

    def program(t, src):
        y = t * 1.5
        write[1](make(y), src)
        return y * t

    out = program(x, s)
    # the write landed in the base, as computed out of place with NumPy
    y_ref = x._data * 1.5
    region = make(tg.Tensor._make(y_ref))._data
    sv = s._data
    region[...] = {"mul_": lambda r: r * sv, "add_": lambda r: r + sv * sv, "exp_": np.exp,
                   "setitem": lambda r: np.tanh(sv), "copy_": lambda r: sv, "iadd": lambda r: r + sv}[write[0]](region)
    np.testing.assert_allclose(out._data, y_ref * x._data, rtol=1e-12, atol=1e-12)
    assert gradcheck(program, (x, s))


# -- out= ------------------------------------------------------------------------------------
def test_out_arguments_write_resize_and_keep_dtype():
    a, b = T([[1.0, 2.0]]), T([[3.0, 4.0]])
    out = tg.empty(0)
    r = tg.cat([a, b], out=out)
    assert r is out and out.shape == (2, 2) and out.tolist() == [[1, 2], [3, 4]]
    out2 = tg.empty(2, 2, dtype=tg.float64)
    tg.stack([a[0], b[0]], out=out2)
    assert out2.dtype == tg.float64 and out2.tolist() == [[1, 2], [3, 4]]
    o = tg.empty(3)
    assert tg.index_select(T([5.0, 6.0, 7.0]), 0, T([2, 2, 0]), out=o) is o and o.tolist() == [7, 7, 5]
    g = tg.empty(1, 1)
    assert tg.gather(a, 1, T([[1]]), out=g) is g and g.tolist() == [[2.0]]
    vals, idx = tg.empty(0), tg.empty(0, dtype=tg.int64)
    r = tg.sort(T([3.0, 1.0, 2.0]), out=(vals, idx))
    assert r.values is vals and r.indices is idx and vals.tolist() == [1, 2, 3] and idx.tolist() == [1, 2, 0]
    tv, ti = tg.empty(0), tg.empty(0, dtype=tg.int64)
    tg.topk(T([3.0, 1.0, 2.0]), 2, out=(tv, ti))
    assert tv.tolist() == [3, 2] and ti.tolist() == [0, 2]
    m = tg.empty(0)
    assert tg.masked_select(T([1.0, -1.0]), T([True, False]), out=m) is m and m.tolist() == [1.0]
    assert out._version >= 1


def test_out_refuses_autograd():
    a = leaf([1.0])
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
        tg.cat([a, a], out=tg.empty(2, dtype=tg.float64))
    with tg.no_grad():
        o = tg.empty(2, dtype=tg.float64)
        tg.cat([a, a], out=o)
        assert o.tolist() == [1.0, 1.0]


def test_setitem_without_autograd_writes_only_the_region():
    x = tg.zeros(4, 3)
    alias = x._data
    x[1] = tg.ones(3)
    x[2:, 0] = 5
    x[T([0, 3]), T([2, 2])] = tg.tensor([7.0, 8.0])
    assert x._data is alias and x._version == 3
    assert x.tolist() == [[0, 0, 7], [1, 1, 1], [5, 0, 0], [5, 0, 8]]
    assert not x.requires_grad and x.grad_fn is None
    with pytest.raises(RuntimeError, match="shape mismatch"):
        x[0] = tg.ones(2)
    with pytest.raises(RuntimeError, match="single memory location"):
        tg.zeros(3, 1).expand(3, 2)[0] = 1.0
