"""The test toolkit tests itself: strategies draw what they promise, assert_close
fails when it should, and check_op catches wrong ops."""
import contextlib
import math
import os
import subprocess
import sys

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import Phase, find, given, settings, strategies as st  # noqa: E402

import tinygrad_cn as tg  # noqa: E402
from tinygrad_cn.autograd import Function  # noqa: E402
from tinygrad_cn.autograd.gradcheck import GradcheckError  # noqa: E402
from tinygrad_cn.testing import (OpSpec, assert_close, check_op, default_tolerances, make_tensor,  # noqa: E402
                                 run_op_checks)
from tinygrad_cn.testing import _op_test  # noqa: E402
from tinygrad_cn.testing.strategies import (LAYOUTS, broadcastable_shapes, distinct_float_tensors,  # noqa: E402
                                            float_arrays, float_tensors, shapes, to_layout)


# `find` searches until a draw has a property; without shrinking it returns the
# first one, which is all these tests need, and fast.
FIND = settings(max_examples=500, phases=[Phase.generate], database=None)


def find_fast(strategy, condition):
    return find(strategy, condition, settings=FIND)


# -- shapes ---------------------------------------------------------------------------

@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_bounds(shape):
    assert 1 <= len(shape) <= 3
    assert all(2 <= s <= 4 for s in shape)


@given(shapes(max_dims=4, max_side=6, max_numel=20))
def test_shapes_respect_max_numel(shape):
    assert math.prod(shape) <= 20


@given(broadcastable_shapes())
def test_broadcastable_pairs_really_broadcast(pair):
    a, b = pair
    expected = np.broadcast_shapes(a, b)
    out = tg.zeros(*a, dtype=tg.float64) + tg.zeros(*b, dtype=tg.float64)
    assert tuple(out.shape) == expected


@given(broadcastable_shapes(num_shapes=3))
def test_broadcastable_triples(shapes3):
    assert len(shapes3) == 3
    np.broadcast_shapes(*shapes3)


def test_broadcastable_pairs_include_stretched_ones_and_fewer_dims():
    stretched = find_fast(broadcastable_shapes(min_dims=1),
                     lambda p: len(p[0]) == len(p[1]) and any(x == 1 and y > 1 for x, y in zip(*p)))
    assert stretched
    fewer = find_fast(broadcastable_shapes(min_dims=2), lambda p: len(p[0]) != len(p[1]))
    assert len(fewer[0]) != len(fewer[1])
    scalar = find_fast(broadcastable_shapes(), lambda p: p[0] == () and p[1] != ())
    assert scalar[0] == ()


# -- layouts ------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_to_layout_keeps_shape_and_values(layout):
    values = np.arange(24.0).reshape(2, 3, 4)
    arr = to_layout(values, layout)
    assert arr.shape == values.shape
    np.testing.assert_array_equal(arr, values)
    assert arr.flags.c_contiguous == (layout == "contiguous")


def test_strided_layout_pads_with_nan():
    arr = to_layout(np.ones((3, 2)), "strided")
    assert arr.strides == (2 * 4 * 8, 2 * 8)  # every other element of a (6, 4) buffer
    assert np.isnan(arr.base).sum() == arr.base.size - arr.size  # a kernel reading the gaps sees NaN


def test_float_tensors_sometimes_noncontiguous_and_sometimes_contiguous():
    strat = float_tensors(shape=shapes(min_dims=2, max_dims=3, min_side=2))
    assert not find_fast(strat, lambda t: not t.is_contiguous()).is_contiguous()
    assert find_fast(strat, lambda t: t.is_contiguous()).is_contiguous()
    permuted = find_fast(strat, lambda t: t._data.strides != tuple(sorted(t._data.strides, reverse=True)))
    assert not permuted.is_contiguous()


@given(float_tensors(contiguous=False))
def test_contiguous_false_forces_noncontiguous_layouts(t):
    if t.numel() > 1:
        assert not t.is_contiguous()


@given(float_tensors(contiguous=True))
def test_contiguous_true_forces_c_order(t):
    assert t.is_contiguous()


@given(st.data())
def test_layout_does_not_change_values(data):
    values = data.draw(float_arrays(shape=(3, 4)))
    layout = data.draw(st.sampled_from(LAYOUTS))
    arr = to_layout(values, layout)
    np.testing.assert_array_equal(tg.Tensor._make(arr).numpy(), values)


# -- values -------------------------------------------------------------------------------------

@given(float_tensors(min_value=-2.0, max_value=5.0, requires_grad=True))
def test_float_tensors_values_bounds_and_flags(t):
    assert t.dtype == tg.float64 and t.requires_grad and t.is_leaf
    v = t.detach().numpy()
    assert np.all(np.isfinite(v)) and np.all(v >= -2.0) and np.all(v <= 5.0)


@given(float_tensors(dtype=tg.float32))
def test_float_tensors_dtype(t):
    assert t.dtype == tg.float32


@given(float_tensors(avoid=[0.0, 1.0], margin=0.05))
def test_avoid_keeps_values_off_kinks(t):
    v = t.detach().numpy()
    assert np.all(np.abs(v) >= 0.05 - 1e-12)
    assert np.all(np.abs(v - 1.0) >= 0.05 - 1e-12)


@given(float_tensors(shape=shapes(min_dims=1, max_numel=30), distinct=True, margin=0.01))
def test_distinct_values_are_spread_apart(t):
    v = np.sort(t.detach().numpy().reshape(-1))
    assert np.all(np.diff(v) >= 0.01 - 1e-12)
    assert np.all(v >= -3.0) and np.all(v <= 3.0)


@given(float_tensors(shape=shapes(min_dims=1, max_numel=30), distinct=True, avoid=[0.0], margin=0.02))
def test_distinct_and_avoid_together(t):
    v = np.sort(t.detach().numpy().reshape(-1))
    assert np.all(np.diff(v) >= 0.01) and np.all(np.abs(v) >= 0.01)


@given(distinct_float_tensors([(3,), shapes(max_dims=2, max_side=3), ()], margin=0.02, requires_grad=True))
def test_distinct_across_tensors(ts):
    assert len(ts) == 3 and ts[0].shape == (3,) and ts[2].shape == ()
    assert all(t.requires_grad for t in ts)
    v = np.sort(np.concatenate([t.detach().numpy().reshape(-1) for t in ts]))
    assert np.all(np.diff(v) >= 0.02 - 1e-12)


@given(float_tensors(positive=True))
def test_positive_values(t):
    assert np.all(t.detach().numpy() > 0)


@given(float_tensors(min_value=-0.01, max_value=0.01, avoid=[0.0], margin=0.05))
def test_avoid_pushes_values_out_of_the_margin(t):
    # Every drawn value starts within the margin: all must have been moved out.
    assert np.all(np.abs(t.detach().numpy()) >= 0.05 - 1e-12)


def test_avoid_is_not_vacuous():
    # Without `avoid`, values near zero do get drawn: the option does something.
    near = find_fast(float_tensors(shape=(4,)), lambda t: bool(np.any(np.abs(t.numpy()) < 0.01)))
    assert np.any(np.abs(near.numpy()) < 0.01)


def test_impossible_distinct_request_is_an_error():
    # One draw, no shrinking: the error is raised before any value is drawn.
    @settings(max_examples=1, phases=[Phase.generate], database=None)
    @given(float_tensors(shape=(100,), distinct=True, margin=0.1))
    def draw_one(t):
        pass

    with pytest.raises(ValueError, match="cannot fit"):
        draw_one()


# -- assert_close ------------------------------------------------------------------------------

def test_default_tolerances_follow_torch():
    assert default_tolerances(np.float32) == (1.3e-6, 1e-5)
    assert default_tolerances(np.float64) == (1e-7, 1e-7)
    assert default_tolerances(np.float16) == (1e-3, 1e-5)
    assert default_tolerances(np.int64) == (0.0, 0.0)
    assert default_tolerances(np.float64, np.float32) == (1.3e-6, 1e-5)


@pytest.mark.parametrize("actual,expected,kwargs", [
    (tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0]), {}),
    (tg.tensor([1.0, 2.0]), tg.tensor([1.0, 2.0 + 1e-6]), {}),  # within float32's tolerance
    (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-8]), {}),
    (tg.tensor([1.0, 2.0]), np.array([1.0, 2.0], dtype=np.float32), {}),
    (tg.tensor([1.0]), tg.tensor([1.0], dtype=tg.float64), {"check_dtype": False}),
    (tg.tensor([float("nan"), 1.0]), tg.tensor([float("nan"), 1.0]), {"equal_nan": True}),
    (tg.tensor([float("inf"), -float("inf")]), tg.tensor([float("inf"), -float("inf")]), {}),
    (tg.tensor([1.0]), tg.tensor([1.5]), {"rtol": 0.0, "atol": 0.6}),
    ([1.0, (2.0, 3)], [1.0, (2.0, 3)], {}),
    ({"a": tg.ones(2)}, {"a": tg.ones(2)}, {}),
    (1.0, 1.0 + 1e-9, {}),
    (tg.tensor(2.0), 2.0, {}),
])
def test_assert_close_passes(actual, expected, kwargs):
    assert_close(actual, expected, **kwargs)


@pytest.mark.parametrize("actual,expected,kwargs,match", [
    (tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 2.0, 4.0]), {},
     r"(?s)Tensor-likes are not close!.*Mismatched elements: 1 / 3 \(33.3%\).*Greatest absolute difference: 1.0 at "
     r"index \(2,\).*Greatest relative difference: 0.25 at index \(2,\)"),
    (tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([[1.0, 2.0], [3.0, 4.5]]), {}, r"at index \(1, 1\)"),
    (np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-6]), {}, "not close"),  # too far for float64
    (tg.tensor([1.0, 2.0]), tg.tensor([1.0]), {}, "attribute 'shape' do not match"),
    (tg.tensor([1.0]), tg.tensor([1.0], dtype=tg.float64), {}, "attribute 'dtype' do not match"),
    (tg.tensor([float("nan")]), tg.tensor([float("nan")]), {}, "nan"),
    (tg.tensor([float("inf")]), tg.tensor([-float("inf")]), {}, "not close"),
    (tg.tensor([1.0]), tg.tensor([float("inf")]), {}, "not close"),
    (tg.tensor([1, 2]), tg.tensor([1, 3]), {}, "not equal"),
    ([1.0, 2.0], [1.0], {}, "length of the sequences mismatch: 2 != 1"),
    ([1.0, [2.0, 3.0]], [1.0, [2.0, 3.5]], {}, r"The failure occurred for item \[1\]\[1\]"),
    ({"a": 1.0}, {"b": 1.0}, {}, "keys of the mappings do not match"),
    (1, 1.0, {}, r"\(d\)types do not match"),
    (1.0, 2.0, {}, "Scalars are not close!"),
    (tg.ones(2), tg.zeros(2), {"msg": "custom message"}, "^custom message$"),
    (tg.ones(2), tg.zeros(2), {"msg": lambda m: "prefix: " + m}, "^prefix: Tensor-likes"),
])
def test_assert_close_fails(actual, expected, kwargs, match):
    with pytest.raises(AssertionError, match=match):
        assert_close(actual, expected, **kwargs)


def test_assert_close_argument_errors():
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        assert_close(1.0, 1.0, rtol=0.1)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(object(), object())


def test_assert_close_compares_torch_tensors_when_available():
    torch = pytest.importorskip("torch")
    assert_close(tg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError):
        assert_close(tg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]))


# -- make_tensor ---------------------------------------------------------------------------------

def test_make_tensor():
    t = make_tensor(2, 3, dtype=tg.float64, low=-1, high=1, noncontiguous=True, requires_grad=True)
    assert t.shape == (2, 3) and not t.is_contiguous() and t.requires_grad
    assert np.all(np.abs(t.detach().numpy()) <= 1)
    i = make_tensor((4, 5), dtype=tg.int64, exclude_zero=True)
    assert i.dtype == tg.int64 and np.all(i.numpy() != 0) and np.all(np.abs(i.numpy()) <= 10)
    with pytest.raises(ValueError, match="requires_grad=True"):
        make_tensor(2, dtype=tg.int64, requires_grad=True)


# -- check_op ----------------------------------------------------------------------------------------

class SinWrongGrad(Function):
    """sin with cos replaced by a shifted cos in backward."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.cos() + 0.01)


OPS = [
    OpSpec("exp", lambda x: x.exp()),
    OpSpec("log", lambda x: x.log(), domain=dict(positive=True)),
    OpSpec("relu", lambda x: x.relu(), domain=dict(avoid=[0.0]), gradgrad=False),
    OpSpec("mul_broadcast", lambda x, y: x * y, inputs=broadcastable_shapes(max_dims=3, max_side=3)),
    OpSpec("sigmoid", lambda lib, x: lib.sigmoid(x)),
    OpSpec("max", lambda x: x.max(), domain=dict(distinct=True)),
    OpSpec("maximum", lambda lib, x, y: lib.maximum(x, y), inputs=broadcastable_shapes(max_dims=2, max_side=3),
           domain=dict(distinct=True), gradgrad=False),
    OpSpec("matmul", lambda a, b: a @ b, inputs=[(2, 3), (3, 2)]),
    OpSpec("sum_dim", lambda x, d: x.sum(d), inputs=[shapes(min_dims=2, max_dims=3, max_side=3), st.integers(0, 1)]),
    OpSpec("pow_const_target", lambda x, t: (x - t) ** 2, inputs=[(3,), float_tensors(shape=(3,))]),
]


@pytest.mark.parametrize("spec", OPS, ids=str)
@given(data=st.data())
def test_check_op_passes_on_correct_ops(spec, data):
    check_op(spec, data.draw)


@given(data=st.data())
def test_check_op_catches_a_wrong_gradient(data):
    spec = OpSpec("sin_wrong", SinWrongGrad.apply, torch_fn=lambda x: x.sin(), inputs=[(3,)])
    with pytest.raises((AssertionError, GradcheckError)):
        check_op(spec, data.draw)


@contextlib.contextmanager
def torch_hidden():
    """Make check_op behave as if torch were not installed."""
    saved = _op_test._TORCH
    _op_test._TORCH = None
    try:
        yield
    finally:
        _op_test._TORCH = saved


@given(data=st.data())
def test_check_op_without_torch_still_catches_a_wrong_gradient(data):
    spec = OpSpec("sin_wrong", SinWrongGrad.apply, inputs=[(3,)], dtypes=("float64",))
    with torch_hidden(), pytest.raises(GradcheckError, match="Jacobian mismatch"):
        check_op(spec, data.draw)


def _wrong_in_float32(x):
    return x * 2 if x.dtype == tg.float64 else x * 2.01


@given(data=st.data())
def test_check_op_without_torch_compares_narrow_dtypes_with_float64(data):
    spec = OpSpec("scale", _wrong_in_float32, inputs=[(4,)], domain=dict(min_value=1.0, max_value=2.0))
    with torch_hidden(), pytest.raises(AssertionError, match="in float32 differs from the float64 result"):
        check_op(spec, data.draw)


def test_check_op_against_torch_catches_wrong_forward():
    pytest.importorskip("torch")
    x = tg.tensor([0.5, 1.0], dtype=tg.float64, requires_grad=True)
    with pytest.raises(AssertionError, match="differs from torch's"):
        check_op(lambda t: t.exp(), x, torch_fn=lambda t: t.exp() + 1e-3)


def test_run_op_checks_on_concrete_inputs():
    x = tg.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=tg.float64, requires_grad=True)
    run_op_checks(lambda t: t.tanh() * t, (x,))
    y = tg.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]).T).requires_grad_()  # not contiguous
    check_op(lambda a, b: a @ b, x, y)


# -- import hygiene ----------------------------------------------------------------------------------------

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_testing_imports_without_hypothesis_or_torch():
    code = ("import sys; sys.modules['hypothesis'] = None; sys.modules['torch'] = None\n"
            "import tinygrad_cn.testing as T\n"
            "T.assert_close([1.0], [1.0])\n"
            "try:\n    T.float_tensors\nexcept ImportError:\n    print('strategies need hypothesis')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert "strategies need hypothesis" in out.stdout


def test_torch_is_not_imported_by_the_toolkit():
    code = ("import sys, tinygrad_cn.testing, tinygrad_cn.testing.strategies\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
