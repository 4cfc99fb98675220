"""Element-wise ops: values, dtypes, gradients and errors.

* One-line op table (``OPS``): each op is drawn by hypothesis (random shapes,
  broadcasting, contiguous / permuted / strided layouts, values kept off the
  op's kinks) and run through ``tinygrad_cn.testing.check_op``: forward and
  gradients against torch when it is installed (else float32 against our own
  float64), ``gradcheck`` in float64, and ``gradgradcheck`` for the ops that
  second-order code uses.
* Hand-written checks that need no torch: torch's promotion rules, gradient
  conventions at kinks and ties, edge values (inf, nan, 0, empty, 0-dim),
  in-place and reflected forms, and torch's error types and messages.

torch-only comparisons (dtype grids, edge values, messages) live in
tests/test_torch_oracle_pointwise.py.
"""
import math

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.testing import OpSpec, assert_close, check_op

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from tinygrad_cn.testing.strategies import broadcastable_shapes, float_tensors, shapes  # noqa: E402

# Small sizes keep finite differences cheap; a third of the profile's examples per op
# (8 under "ci") keeps the whole table well under the time budget.
S = shapes(max_dims=3, max_side=4, max_numel=12)
PAIR = broadcastable_shapes(max_dims=3, max_side=4, max_numel=12)
FEW = settings(max_examples=max(3, settings().max_examples // 3))


def stacked(n):
    """A shape with a leading axis of ``n``: one tensor whose slices are the operands
    (with ``distinct=True`` no two operands tie, so max/min/clamp stay differentiable)."""
    return shapes(max_dims=2, max_side=3).map(lambda s: (n,) + s)


INTS_AND_HALVES = [k / 2 for k in range(-6, 7)]  # the jumps of floor/ceil/round/trunc in [-3, 3]


def op(name, fn, inputs=None, gradgrad=False, dtypes=("float64", "float32"), **domain):
    return OpSpec(name, fn, inputs=inputs if inputs is not None else [S], domain=domain, gradgrad=gradgrad,
                  dtypes=dtypes)


OPS = [
    # binary arithmetic with broadcasting
    op("add", lambda x, y: x + y, PAIR),
    op("add_alpha", lambda lib, x, y: lib.add(x, y, alpha=2.5), PAIR),
    op("sub", lambda x, y: x - y, PAIR),
    op("sub_alpha", lambda lib, x, y: lib.sub(x, y, alpha=-0.5), PAIR),
    op("mul", lambda x, y: x * y, PAIR, gradgrad=True),
    op("mul_method", lambda x, y: x.mul(y), PAIR),
    op("div", lambda x, y: (x - 2) / y, PAIR, gradgrad=True, positive=True, min_value=0.5),
    op("div_function", lambda lib, x, y: lib.div(x - 2, y), PAIR, positive=True, min_value=0.5),
    op("pow_tensor_tensor", lambda x, y: x ** (y - 1), PAIR, gradgrad=True, positive=True, min_value=0.5),
    op("maximum", lambda lib, x: lib.maximum(x[0], x[1]), [stacked(2)], distinct=True),
    op("minimum", lambda lib, x: lib.minimum(x[0], x[1:2]), [stacked(2)], distinct=True),
    op("where", lambda lib, x, y: lib.where(x > 0, x * y, y), PAIR, gradgrad=True, avoid=[0.0]),
    op("where_scalar_other", lambda lib, x: lib.where(x > 0, x, 0.0), avoid=[0.0]),
    op("lerp", lambda lib, x, y: lib.lerp(x, y, 0.3), PAIR),
    # Python scalars, reflected forms
    op("add_scalar", lambda x: x + 2),
    op("radd_scalar", lambda x: 2.5 + x),
    op("rsub_scalar", lambda x: 2 - x),
    op("mul_scalar", lambda x: x * -1.5),
    op("div_scalar", lambda x: x / 4),
    op("rdiv_scalar", lambda x: 2 / x, avoid=[0.0], margin=0.3),
    op("rpow_scalar", lambda x: 2 ** x, gradgrad=True),
    op("pow_int_scalar", lambda x: x ** 3, gradgrad=True),
    op("pow_fractional_scalar", lambda x: x ** 2.5, positive=True),
    op("pow_negative_scalar", lambda x: x ** -1.5, positive=True, min_value=0.3),
    op("pow_zero_scalar", lambda x: x ** 0),
    op("pow_function", lambda lib, x: lib.pow(x, 2)),
    op("neg", lambda x: -x),
    op("remainder_scalar", lambda x: x % 1.7, avoid=[-1.7, 0.0, 1.7]),
    op("fmod_scalar", lambda lib, x: lib.fmod(x, 1.7), avoid=[-1.7, 0.0, 1.7]),
    op("div_floor", lambda lib, x: lib.div(x, 1.5, rounding_mode="floor"), avoid=[-3.0, -1.5, 0.0, 1.5, 3.0]),
    op("div_trunc", lambda lib, x: lib.div(x, 1.5, rounding_mode="trunc"), avoid=[-3.0, -1.5, 0.0, 1.5, 3.0]),
    # clamp / clip
    op("clamp", lambda x: x.clamp(-0.5, 0.8), avoid=[-0.5, 0.8]),
    op("clamp_min", lambda x: x.clamp(min=0.1), avoid=[0.1]),
    op("clip_max", lambda lib, x: lib.clip(x, max=-0.2), avoid=[-0.2]),
    op("clamp_tensor_bounds", lambda x: x[0].clamp(min=x[1], max=x[2]), [stacked(3)], gradgrad=True, distinct=True),
    op("clamp_tensor_min", lambda lib, x: lib.clamp(x[0], min=x[1]), [stacked(2)], distinct=True),
    # unary
    op("abs", lambda x: x.abs(), avoid=[0.0]),
    op("sign", lambda x: x.sign(), avoid=[0.0]),
    op("exp", lambda x: x.exp(), gradgrad=True),
    op("log", lambda x: x.log(), gradgrad=True, positive=True, min_value=0.1),
    op("log1p", lambda x: x.log1p(), positive=True),
    op("expm1", lambda x: x.expm1()),
    op("log2", lambda x: x.log2(), positive=True, min_value=0.1),
    op("log10", lambda x: x.log10(), positive=True, min_value=0.1),
    op("sqrt", lambda x: x.sqrt(), positive=True, min_value=0.1),
    op("rsqrt", lambda x: x.rsqrt(), positive=True, min_value=0.3),
    op("reciprocal", lambda x: x.reciprocal(), avoid=[0.0], margin=0.3),
    op("square", lambda x: x.square()),
    op("sin", lambda x: x.sin()),
    op("cos", lambda x: x.cos()),
    op("tan", lambda x: x.tan(), min_value=-1.2, max_value=1.2),
    op("atan", lambda x: x.atan()),
    op("sinh", lambda x: x.sinh()),
    op("cosh", lambda x: x.cosh()),
    op("tanh", lambda x: x.tanh(), gradgrad=True),
    op("sigmoid", lambda x: x.sigmoid(), gradgrad=True),
    op("sigmoid_function", lambda lib, x: lib.sigmoid(x)),
    op("relu", lambda x: x.relu(), gradgrad=True, avoid=[0.0]),
    op("erf", lambda x: x.erf()),
    op("floor", lambda x: x.floor(), avoid=INTS_AND_HALVES),
    op("ceil", lambda x: x.ceil(), avoid=INTS_AND_HALVES),
    op("round", lambda x: x.round(), avoid=INTS_AND_HALVES),
    op("trunc", lambda x: x.trunc(), avoid=INTS_AND_HALVES),
    op("frac", lambda x: x.frac(), avoid=INTS_AND_HALVES),
    op("asin", lambda x: x.asin(), min_value=-0.9, max_value=0.9),
    op("acos", lambda lib, x: lib.acos(x), min_value=-0.9, max_value=0.9),
    op("exp2", lambda lib, x: lib.exp2(x)),
    op("atan2", lambda lib, x, y: lib.atan2(x, y), PAIR, avoid=[0.0], margin=0.2),
    op("hypot", lambda lib, x, y: lib.hypot(x, y), PAIR, avoid=[0.0], margin=0.2),
    op("logaddexp", lambda lib, x, y: lib.logaddexp(x, y), PAIR, gradgrad=True),
    op("xlogy", lambda lib, x, y: lib.xlogy(x - 1, y), PAIR, positive=True, min_value=0.2),
    op("addcmul", lambda lib, x, y: lib.addcmul(x, y, x, value=0.5), PAIR),
    op("addcdiv", lambda lib, x, y: lib.addcdiv(x - 2, x, y, value=-2), PAIR, positive=True, min_value=0.5),
    op("erfc", lambda x: x.erfc()),
    op("asinh", lambda x: x.asinh()),
    op("acosh", lambda x: x.acosh(), positive=True, min_value=1.2),
    op("atanh", lambda x: x.atanh(), min_value=-0.9, max_value=0.9),
    op("rsub", lambda lib, x, y: lib.rsub(x, y, alpha=2), PAIR),
    op("float_power", lambda lib, x: lib.float_power(x, 3), dtypes=("float64",)),  # always float64
    op("deg2rad", lambda x: x.deg2rad()),
    op("logit", lambda lib, x: lib.logit(x), min_value=0.05, max_value=0.95),
    op("logit_eps", lambda x: x.logit(eps=0.1), min_value=0.0, max_value=1.0, avoid=[0.1, 0.9]),
    op("copysign", lambda lib, x, y: lib.copysign(x, y), PAIR, avoid=[0.0]),
    # at exactly 0 torch's masked gradient formula (ours too) has no second derivative
    op("sinc", lambda x: x.sinc(), gradgrad=True, avoid=[0.0]),
    # composites models use, checked to second order
    op("gelu_tanh_like", lambda x: 0.5 * x * (1 + (0.79788456 * (x + 0.044715 * x ** 3)).tanh()), gradgrad=True),
    op("silu_like", lambda x: x * x.sigmoid(), gradgrad=True),
]


@pytest.mark.parametrize("spec", OPS, ids=str)
@FEW
@given(data=st.data())
def test_op_matches_torch_and_finite_differences(spec, data):
    check_op(spec, data.draw)


# -- gradient conventions at kinks and ties (torch's choices) -------------------------------
def leaf(values, dtype=np.float64):
    return tg.tensor(np.array(values, dtype=dtype)).requires_grad_(True)


def grads(out, *inputs):
    return tg.autograd.grad(out.sum(), inputs, allow_unused=True)


def test_maximum_and_minimum_split_the_gradient_evenly_on_ties():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    ga, gb = grads(tg.maximum(a, b), a, b)
    assert ga.tolist() == [0.5, 0.0, 1.0] and gb.tolist() == [0.5, 1.0, 0.0]
    ga, gb = grads(tg.minimum(a, b), a, b)
    assert ga.tolist() == [0.5, 1.0, 0.0] and gb.tolist() == [0.5, 0.0, 1.0]


def test_clamp_scalar_bounds_pass_the_gradient_at_the_bounds():
    x = leaf([-1.0, -0.5, 0.0, 0.5, 1.0])
    (g,) = grads(x.clamp(-0.5, 0.5), x)
    assert g.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_clamp_tensor_bounds_give_ties_to_the_input_and_overshoot_to_the_bound():
    x = leaf([0.0, 1.0, 0.5, 2.0, -3.0])
    lo = leaf([0.0, 1.0, 1.0, 1.0, 1.0])
    hi = leaf([1.0, 1.0, 2.0, 1.5, 0.5])  # last: lo > hi, so the result is hi
    y = x.clamp(min=lo, max=hi)
    assert y.tolist() == [0.0, 1.0, 1.0, 1.5, 0.5]
    gx, glo, ghi = grads(y, x, lo, hi)
    assert gx.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert glo.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert ghi.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_clamp_with_only_a_tensor_min_matches_torch_masks():
    x, lo = leaf([0.0, 1.0, -1.0]), leaf([0.0, 0.5, 0.0])
    gx, glo = grads(tg.clamp(x, min=lo), x, lo)
    assert gx.tolist() == [1.0, 1.0, 0.0] and glo.tolist() == [0.0, 0.0, 1.0]


def test_pow_gradient_is_zero_where_the_exponent_is_zero_even_at_zero_base():
    a, b = leaf([0.0, 0.0, 2.0]), leaf([0.0, 2.0, 0.0])
    ga, gb = grads(a ** b, a, b)
    assert ga.tolist() == [0.0, 0.0, 0.0]
    assert gb.tolist() == [0.0, 0.0, pytest.approx(math.log(2.0))]
    x = leaf([0.0, 3.0])
    (g,) = grads(x ** 0, x)
    assert g.tolist() == [0.0, 0.0]


def test_scalar_base_pow_with_zero_base_has_zero_exponent_gradient_for_nonnegative_exponents():
    b = leaf([0.0, 2.0])
    (g,) = grads(0.0 ** b, b)
    assert g.tolist() == [0.0, 0.0]


def test_abs_sign_and_relu_gradients_at_zero_are_zero():
    for f in (lambda t: t.abs(), lambda t: t.sign(), lambda t: t.relu()):
        x = leaf([0.0, -0.0])
        (g,) = grads(f(x), x)
        assert g.tolist() == [0.0, 0.0]


def test_abs_gradient_at_nan_is_zero_as_torch_sgn():
    x = leaf([float("nan"), -2.0])
    (g,) = grads(x.abs(), x)
    assert g.tolist() == [0.0, -1.0]


@pytest.mark.parametrize("fn", [
    lambda t: t.floor(), lambda t: t.ceil(), lambda t: t.round(), lambda t: t.trunc(), lambda t: t.sign(),
    lambda t: t.round(decimals=1), lambda t: tg.div(t, 0.7, rounding_mode="floor"),
    lambda t: tg.div(t, 0.7, rounding_mode="trunc"),
], ids=["floor", "ceil", "round", "trunc", "sign", "round_decimals", "div_floor", "div_trunc"])
def test_piecewise_constant_ops_record_a_node_with_zero_gradient(fn):
    x = leaf([-1.3, 0.2, 2.5])
    y = fn(x)
    assert y.requires_grad and y.grad_fn is not None
    (g,) = grads(y, x)
    assert g.tolist() == [0.0, 0.0, 0.0]


def test_floor_divide_operator_has_no_derivative_as_in_torch():
    x = leaf([1.5, -2.5])
    y = x // 0.7
    assert y.requires_grad and y.tolist() == [2.0, -4.0]
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
        y.sum().backward()


def test_div_rounding_mode_gradient_for_the_divisor_is_zero_too():
    a, b = leaf([7.0, -7.0]), leaf([2.0, 2.0])
    ga, gb = grads(tg.div(a, b, rounding_mode="floor"), a, b)
    assert ga.tolist() == [0.0, 0.0] and gb.tolist() == [0.0, 0.0]


def test_xlogy_is_zero_at_x_zero_unless_y_is_nan_with_torch_gradient_masks():
    x, y = leaf([0.0, 0.0, 1.0, 0.0, 2.0]), leaf([0.0, -1.0, 0.0, math.nan, 3.0])
    r = tg.xlogy(x, y)
    assert r.tolist()[:3] == [0.0, 0.0, -math.inf] and math.isnan(r.tolist()[3])
    gx, gy = grads(r, x, y)
    assert gx.tolist()[:3] == [0.0, 0.0, -math.inf] and gx.tolist()[4] == pytest.approx(math.log(3.0))
    assert tg.xlogy(tg.tensor([1.0, 2.0]), 2.0).dtype == tg.float32
    assert tg.xlogy(tg.tensor([1, 2]), tg.tensor([3, 4])).dtype == tg.float32


def test_sign_predicates_and_heaviside():
    x = tg.tensor([-0.0, 0.0, -2.0, math.inf, -math.inf, math.nan])
    assert x.signbit().tolist() == [True, False, True, False, True, False]
    assert tg.isposinf(x).tolist() == [False, False, False, True, False, False]
    assert x.isneginf().tolist() == [False, False, False, False, True, False]
    assert tg.isreal(x).tolist() == [True] * 6
    assert tg.heaviside(x, tg.tensor(0.5)).tolist() == [0.5, 0.5, 0.0, 1.0, 0.0, 0.0]
    assert tg.copysign(tg.tensor([1.0, 2.0]), tg.tensor([-0.0, 0.0])).tolist() == [-1.0, 2.0]
    assert tg.sinc(tg.tensor([0.0])).tolist() == [1.0] and grads(tg.sinc(leaf([0.0])), leaf([0.0]))


def test_logit_gradient_is_infinite_at_the_ends_and_zero_outside_eps():
    x = leaf([0.0, 1.0, 0.5])
    (g,) = grads(x.logit(), x)
    assert g.tolist() == [math.inf, math.inf, 4.0]
    x = leaf([0.01, 0.5])
    (g,) = grads(x.logit(eps=0.1), x)
    assert g.tolist() == [0.0, 4.0]


def test_atan2_gradient_at_the_origin_is_zero():
    y, x = leaf([0.0, 1.0]), leaf([0.0, 0.0])
    gy, gx = grads(tg.atan2(y, x), y, x)
    assert gy.tolist() == [0.0, 0.0] and gx.tolist() == [0.0, -1.0]


def test_sqrt_gradient_at_zero_is_inf_and_log_gradient_at_zero_is_inf():
    x = leaf([0.0, 4.0])
    (g,) = grads(x.sqrt(), x)
    assert g.tolist() == [math.inf, 0.25]
    x = leaf([0.0, 4.0])
    (g,) = grads(x.log(), x)
    assert g.tolist() == [math.inf, 0.25]


def test_remainder_and_fmod_gradients_wrt_divisor_use_floor_and_trunc_quotients():
    a, b = leaf([7.0, -7.0]), leaf([2.0, 2.0])
    ga, gb = grads(a % b, a, b)
    assert ga.tolist() == [1.0, 1.0] and gb.tolist() == [-3.0, 4.0]
    a, b = leaf([7.0, -7.0]), leaf([2.0, 2.0])
    ga, gb = grads(tg.fmod(a, b), a, b)
    assert ga.tolist() == [1.0, 1.0] and gb.tolist() == [-3.0, 3.0]


def test_broadcast_gradients_sum_back_to_each_operand_shape():
    a, b = leaf(np.ones((2, 1, 3))), leaf(np.full((4, 1), 2.0))
    ga, gb = grads(a * b, a, b)
    assert ga.shape == (2, 1, 3) and gb.shape == (4, 1)
    assert np.all(ga._data == 8.0) and np.all(gb._data == 6.0)


@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_gradcheck_on_non_contiguous_views_of_binary_and_unary_ops(layout):
    base = np.random.default_rng(0).uniform(0.5, 2.0, (4, 6))
    arr = base.T if layout == "transposed" else base[::2, ::2]
    for f in (lambda a, b: a * b + a / b, lambda a, b: (a ** b).log() + a.exp().tanh() * b.sigmoid(),
              lambda a, b: tg.maximum(a, b + 0.01).sqrt() + a.clamp(0.6, 1.9) * b.relu()):
        x = tg.Tensor._make(arr).requires_grad_(True)
        y = tg.Tensor._make(np.ascontiguousarray(arr[::-1])).requires_grad_(True)
        assert not x.is_contiguous()
        assert gradcheck(f, (x, y))
        assert gradgradcheck(f, (x, y))


def test_double_backward_of_relu_away_from_zero_matches_the_identity():
    x = leaf([-1.0, 2.0, 3.0])
    (g,) = tg.autograd.grad((x.relu() ** 2).sum(), x, create_graph=True)
    assert g.tolist() == [0.0, 4.0, 6.0]
    (gg,) = tg.autograd.grad(g.sum(), x)
    assert gg.tolist() == [0.0, 2.0, 2.0]


# -- dtypes and promotion, as torch.result_type (no torch needed) ------------------------------
I64 = lambda: tg.tensor([1, 2, 3])  # noqa: E731
I32 = lambda: tg.tensor([1, 2, 3], dtype=tg.int32)  # noqa: E731
U8 = lambda: tg.tensor([1, 2, 3], dtype=tg.uint8)  # noqa: E731
F32 = lambda: tg.tensor([1.0, 2.0, 3.0])  # noqa: E731
F64 = lambda: tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)  # noqa: E731
B = lambda: tg.tensor([True, False, True])  # noqa: E731

PROMOTION = [
    ("float_literal_default_float32", lambda: tg.tensor([1.5]), tg.float32),
    ("int_literal_int64", lambda: tg.tensor([1]), tg.int64),
    ("float32_plus_python_float_stays_float32", lambda: F32() + 2.5, tg.float32),
    ("float32_times_python_int_stays_float32", lambda: F32() * 3, tg.float32),
    ("float64_plus_python_float_stays_float64", lambda: F64() + 2.5, tg.float64),
    ("int64_plus_python_float_is_float32", lambda: I64() + 2.5, tg.float32),
    ("int32_plus_python_float_is_float32", lambda: I32() + 0.5, tg.float32),
    ("int32_plus_python_int_stays_int32", lambda: I32() + 7, tg.int32),
    ("uint8_plus_python_int_stays_uint8", lambda: U8() + 7, tg.uint8),
    ("int_tensor_div_int_is_float32", lambda: I64() / 2, tg.float32),
    ("int_tensor_div_int_tensor_is_float32", lambda: I64() / I64(), tg.float32),
    ("int_floordiv_int_stays_int64", lambda: I64() // 2, tg.int64),
    ("python_int_floordiv_int32_tensor_stays_int32", lambda: 7 // I32(), tg.int32),
    ("float32_plus_float64_tensor_is_float64", lambda: F32() + F64(), tg.float64),
    ("int32_plus_int64_tensor_is_int64", lambda: I32() + I64(), tg.int64),
    ("int32_plus_float32_tensor_is_float32", lambda: I32() + F32(), tg.float32),
    ("bool_plus_bool_stays_bool", lambda: B() + B(), tg.bool),
    ("bool_plus_python_int_is_int64", lambda: B() + 1, tg.int64),
    ("bool_times_python_float_is_float32", lambda: B() * 2.5, tg.float32),
    ("bool_add_alpha_stays_bool", lambda: tg.add(B(), B(), alpha=2), tg.bool),
    ("int8_add_alpha_stays_int8", lambda: tg.add(tg.tensor([1], dtype=tg.int8), 3, alpha=2), tg.int8),
    ("square_of_bool_is_int64", lambda: B().square(), tg.int64),
    ("sign_of_bool_stays_bool", lambda: B().sign(), tg.bool),
    ("uint8_plus_int8_is_int16", lambda: U8() + tg.tensor([1], dtype=tg.int8), tg.int16),
    ("float32_vector_plus_zero_dim_float64_stays_float32", lambda: F32() + tg.tensor(1.0, dtype=tg.float64),
     tg.float32),
    ("int32_vector_plus_zero_dim_int64_stays_int32", lambda: I32() + tg.tensor(1), tg.int32),
    ("int_vector_plus_zero_dim_float64_is_float64", lambda: I64() + tg.tensor(1.0, dtype=tg.float64), tg.float64),
    ("zero_dim_float32_plus_zero_dim_float64_is_float64",
     lambda: tg.tensor(1.0) + tg.tensor(1.0, dtype=tg.float64), tg.float64),
    ("zero_dim_int64_plus_python_float_is_float32", lambda: tg.tensor(1) + 1.5, tg.float32),
    ("comparison_is_bool", lambda: F32() < F64(), tg.bool),
    ("eq_with_scalar_is_bool", lambda: I64() == 2, tg.bool),
    ("pow_int_by_python_float_is_float32", lambda: I64() ** 0.5, tg.float32),
    ("pow_int_by_python_int_stays_int64", lambda: I64() ** 2, tg.int64),
    ("python_int_pow_float32_tensor", lambda: 2 ** F32(), tg.float32),
    ("exp_of_int_is_float32", lambda: I64().exp(), tg.float32),
    ("sqrt_of_bool_is_float32", lambda: B().sqrt(), tg.float32),
    ("sigmoid_of_int_is_float32", lambda: I32().sigmoid(), tg.float32),
    ("abs_of_int_stays_int", lambda: I32().abs(), tg.int32),
    ("neg_of_int_stays_int", lambda: -I64(), tg.int64),
    ("floor_of_int_stays_int", lambda: I64().floor(), tg.int64),
    ("relu_of_int_stays_int", lambda: I64().relu(), tg.int64),
    ("maximum_int_float_is_float", lambda: tg.maximum(I64(), F32()), tg.float32),
    ("where_int_and_python_float_is_float32", lambda: tg.where(B(), I64(), 2.5), tg.float32),
    ("where_two_python_floats_is_float32", lambda: tg.where(B(), 1.0, 2), tg.float32),
    ("where_float64_and_float32", lambda: tg.where(B(), F64(), F32()), tg.float64),
    ("clamp_int_with_float_bounds_is_float32", lambda: I64().clamp(0.5, 2.5), tg.float32),
    ("clamp_int_with_int_bounds_stays_int", lambda: I32().clamp(0, 2), tg.int32),
    ("div_floor_int_stays_int", lambda: tg.div(I64(), 2, rounding_mode="floor"), tg.int64),
    ("div_trunc_float32", lambda: tg.div(F32(), 2, rounding_mode="trunc"), tg.float32),
    ("remainder_int", lambda: I64() % 2, tg.int64),
    ("float_power_is_float64", lambda: tg.float_power(F32(), 2), tg.float64),
    ("xlogy_of_ints_is_float32", lambda: tg.xlogy(I64(), I64()), tg.float32),
]


@pytest.mark.parametrize("make, expected", [p[1:] for p in PROMOTION], ids=[p[0] for p in PROMOTION])
def test_result_dtype_follows_torch_promotion(make, expected):
    assert make().dtype == expected


def test_default_dtype_float64_changes_python_float_promotion_and_is_restored():
    old = tg.get_default_dtype()
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.tensor([1.5]).dtype == tg.float64
        assert (I64() + 0.5).dtype == tg.float64
        assert (I64() / 2).dtype == tg.float64
        assert (tg.tensor([1.0], dtype=tg.float32) + 0.5).dtype == tg.float32
    finally:
        tg.set_default_dtype(old)


def test_integer_arithmetic_wraps_like_torch_for_out_of_range_scalars():
    assert (U8() - 2).tolist() == [255, 0, 1]
    assert (U8() + 300).tolist() == [45, 46, 47]


def test_integer_division_values_floor_and_trunc_differ_for_negative_quotients():
    a, b = tg.tensor([7, -7, -8, 8]), tg.tensor([2, 2, 3, -3])
    assert tg.div(a, b, rounding_mode="floor").tolist() == [3, -4, -3, -3]
    assert tg.div(a, b, rounding_mode="trunc").tolist() == [3, -3, -2, -2]
    assert (a // b).tolist() == [3, -4, -3, -3]
    assert (a % b).tolist() == [1, 1, 1, -1]
    assert tg.fmod(a, b).tolist() == [1, -1, -2, 2]
    assert (a / b).dtype == tg.float32


def test_float_floor_division_by_zero_gives_signed_infinity_like_true_division():
    q = tg.div(tg.tensor([1.0, -1.0, 0.0]), 0.0, rounding_mode="floor")
    assert q.tolist()[:2] == [math.inf, -math.inf] and math.isnan(q.tolist()[2])


# -- values at edges: inf, nan, 0, empty, 0-dim ------------------------------------------------
EDGE = np.array([0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e-30, 50.0, -50.0])


@pytest.mark.parametrize("name, ref", [
    ("exp", np.exp), ("log", np.log), ("log1p", np.log1p), ("expm1", np.expm1), ("log2", np.log2),
    ("sqrt", np.sqrt), ("rsqrt", lambda a: 1 / np.sqrt(a)), ("reciprocal", lambda a: 1 / a),
    ("square", np.square), ("sin", np.sin), ("cos", np.cos), ("tanh", np.tanh),
    ("sigmoid", lambda a: 1 / (1 + np.exp(-a))), ("relu", lambda a: np.where((a > 0) | np.isnan(a), a, 0.0)),
    ("abs", np.abs), ("sign", lambda a: np.nan_to_num(np.sign(a), nan=0.0)), ("floor", np.floor),
    ("ceil", np.ceil), ("round", np.round), ("neg", np.negative),
    ("erf", lambda a: np.array([math.erf(v) for v in a])),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_ops_at_edge_values_match_the_numpy_reference(name, ref, dtype):
    x = EDGE.astype(dtype)
    with np.errstate(all="ignore"):
        expected = np.asarray(ref(x.astype(np.float64))).astype(dtype)
        got = getattr(tg.tensor(x), name)()
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert_close(got, expected, rtol=rtol, atol=0.0, equal_nan=True)


def test_sigmoid_and_tanh_saturate_without_nan_for_huge_inputs():
    x = tg.tensor([-1e4, -100.0, 100.0, 1e4, -math.inf, math.inf])
    assert x.sigmoid().tolist() == [0.0, pytest.approx(0.0, abs=1e-40), 1.0, 1.0, 0.0, 1.0]
    assert x.tanh().tolist() == [-1.0, -1.0, 1.0, 1.0, -1.0, 1.0]
    x.requires_grad_(True)
    (g,) = grads(x.sigmoid(), x)
    assert not np.isnan(g._data).any()


def test_binary_ops_at_edge_values_follow_ieee_as_torch():
    inf, nan = math.inf, math.nan
    a_np = np.array([inf, 0.0, 0.0, 1.0, -8.0, inf, nan], dtype=np.float32)
    b_np = np.array([inf, inf, 0.0, 0.0, 1 / 3, 0.0, 0.0], dtype=np.float32)
    a, b = tg.tensor(a_np), tg.tensor(b_np)
    third = b_np[4]
    np.testing.assert_array_equal((a - b).numpy(), np.array([nan, -inf, 0.0, 1.0, -8 - third, inf, nan], np.float32))
    np.testing.assert_array_equal((a * b).numpy(), np.array([inf, nan, 0.0, 0.0, -8 * third, nan, nan], np.float32))
    np.testing.assert_array_equal((a / b).numpy(), np.array([nan, 0.0, nan, inf, -8 / third, inf, nan], np.float32))
    np.testing.assert_array_equal((a ** b).numpy(), [inf, 0.0, 1.0, 1.0, nan, 1.0, 1.0])
    np.testing.assert_array_equal(tg.maximum(a, b).numpy(), [inf, inf, 0.0, 1.0, third, inf, nan])
    np.testing.assert_array_equal(tg.minimum(a, b).numpy(), [inf, 0.0, 0.0, 0.0, -8.0, 0.0, nan])


def test_comparisons_with_nan_are_false_except_ne():
    x = tg.tensor([math.nan, 1.0])
    assert (x == x).tolist() == [False, True]
    assert (x != x).tolist() == [True, False]
    assert (x < math.inf).tolist() == [False, True]
    assert x.isnan().tolist() == [True, False]
    assert tg.tensor([math.inf, -math.inf, 0.0]).isinf().tolist() == [True, True, False]


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3, 1), ()], ids=str)
def test_empty_and_zero_dim_shapes_survive_unary_binary_and_backward(shape):
    x = tg.zeros(*shape, dtype=tg.float64).requires_grad_(True)
    for f in (lambda t: t.exp(), lambda t: t.sigmoid(), lambda t: t * 2 + 1, lambda t: tg.maximum(t, t * 0.5),
              lambda t: t.clamp(-1, 1), lambda t: tg.where(t > 0, t, -t), lambda t: t ** 2):
        y = f(x)
        assert y.shape == shape and y.dtype == tg.float64
        (g,) = grads(y, x)
        assert g.shape == shape


def test_zero_dim_tensor_broadcasts_against_empty_and_vector():
    s = tg.tensor(2.0)
    assert (s * tg.zeros(0, 3)).shape == (0, 3)
    assert (tg.ones(4) + s).tolist() == [3.0, 3.0, 3.0, 3.0]


# -- reflected, NumPy-scalar and in-place forms -------------------------------------------------
def test_reflected_operators_compute_the_swapped_operation():
    x = tg.tensor([1.0, 2.0, 4.0])
    assert (10 - x).tolist() == [9.0, 8.0, 6.0]
    assert (8 / x).tolist() == [8.0, 4.0, 2.0]
    assert (2 ** x).tolist() == [2.0, 4.0, 16.0]
    assert (9 // x).tolist() == [9.0, 4.0, 2.0]
    assert (9 % x).tolist() == [0.0, 1.0, 1.0]
    assert (3 * x).tolist() == [3.0, 6.0, 12.0]
    assert (1 + x).tolist() == [2.0, 3.0, 5.0]


def test_numpy_scalars_act_as_python_scalars_and_return_tensors():
    x = tg.tensor([1.0, 2.0])
    for y in (np.float64(2.0) * x, x * np.float64(2.0), np.int64(2) + x, x - np.float32(1.0)):
        assert isinstance(y, tg.Tensor) and y.dtype == tg.float32


INPLACE = [
    ("iadd", lambda x, y: x.__iadd__(y), lambda x, y: x + y),
    ("isub", lambda x, y: x.__isub__(y), lambda x, y: x - y),
    ("imul", lambda x, y: x.__imul__(y), lambda x, y: x * y),
    ("itruediv", lambda x, y: x.__itruediv__(y), lambda x, y: x / y),
    ("ipow", lambda x, y: x.__ipow__(2), lambda x, y: x ** 2),
    ("add_alpha_", lambda x, y: x.add_(y, alpha=2), lambda x, y: x + 2 * y),
    ("sub_alpha_", lambda x, y: x.sub_(y, alpha=2), lambda x, y: x - 2 * y),
    ("mul_", lambda x, y: x.mul_(y), lambda x, y: x * y),
    ("div_", lambda x, y: x.div_(y), lambda x, y: x / y),
    ("div_floor_", lambda x, y: x.div_(y, rounding_mode="floor"), lambda x, y: tg.div(x, y, rounding_mode="floor")),
    ("pow_", lambda x, y: x.pow_(y), lambda x, y: x ** y),
    ("clamp_", lambda x, y: x.clamp_(-1.0, 1.5), lambda x, y: x.clamp(-1.0, 1.5)),
    ("clamp_tensor_", lambda x, y: x.clamp_(min=y), lambda x, y: x.clamp(min=y)),
    ("clip_", lambda x, y: x.clip_(max=0.5), lambda x, y: x.clip(max=0.5)),
    ("neg_", lambda x, y: x.neg_(), lambda x, y: -x),
    ("abs_", lambda x, y: x.abs_(), lambda x, y: x.abs()),
    ("exp_", lambda x, y: x.exp_(), lambda x, y: x.exp()),
    ("sigmoid_", lambda x, y: x.sigmoid_(), lambda x, y: x.sigmoid()),
    ("tanh_", lambda x, y: x.tanh_(), lambda x, y: x.tanh()),
    ("relu_", lambda x, y: x.relu_(), lambda x, y: x.relu()),
    ("floor_", lambda x, y: x.floor_(), lambda x, y: x.floor()),
    ("sqrt_", lambda x, y: x.abs_().sqrt_(), lambda x, y: x.abs().sqrt()),
    ("fmod_", lambda x, y: x.fmod_(1.5), lambda x, y: tg.fmod(x, 1.5)),
    ("remainder_", lambda x, y: x.remainder_(1.5), lambda x, y: x % 1.5),
]


@pytest.mark.parametrize("inplace, reference", [p[1:] for p in INPLACE], ids=[p[0] for p in INPLACE])
def test_inplace_form_equals_out_of_place_and_returns_self(inplace, reference):
    x = tg.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    y = tg.tensor([2.0, 3.0, -1.5])
    expected = reference(x.clone(), y)
    r = inplace(x, y)
    assert r is x
    assert_close(x, expected, equal_nan=True)


def test_module_level_inplace_functions_exist_as_in_torch():
    x = tg.tensor([-1.0, 2.0])
    assert tg.relu_(x) is x and x.tolist() == [0.0, 2.0]
    assert tg.abs_(tg.tensor([-1.0])).tolist() == [1.0]
    assert tg.clamp_(tg.tensor([5.0]), max=1.0).tolist() == [1.0]
    assert tg.sigmoid_(tg.tensor([0.0])).tolist() == [0.5]


def test_inplace_int_tensor_with_float_result_raises_like_torch():
    x = tg.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        x /= 2


def test_inplace_arithmetic_is_differentiable_on_non_leaf():
    a = leaf([1.0, 2.0])
    y = a * 1.0
    y *= a
    y += 3
    (g,) = grads(y, a)
    assert g.tolist() == [2.0, 4.0]


# -- comparisons and logic ------------------------------------------------------------------------
def test_comparisons_return_bool_with_broadcasting_and_scalars():
    x = tg.tensor([[1.0, 2.0, 3.0]])
    y = tg.tensor([[2.0], [1.0]])
    cases = [(x == y, [[False, True, False], [True, False, False]]), (x != y, [[True, False, True], [False, True, True]]),
             (x < y, [[True, False, False], [False, False, False]]), (x <= y, [[True, True, False], [True, False, False]]),
             (x > 2, [[False, False, True]]), (x >= 2, [[False, True, True]]), (tg.eq(x, 2), [[False, True, False]]),
             (tg.gt(x, y), [[False, False, True], [False, True, True]]), (x.lt(2.5), [[True, True, False]]),
             (x.ne(1), [[False, True, True]]), (x.le(1), [[True, False, False]]), (tg.ge(x, 3), [[False, False, True]])]
    for got, expected in cases:
        assert got.dtype == tg.bool and got.tolist() == expected
        assert not got.requires_grad


def test_comparison_of_leaf_requiring_grad_is_not_differentiable():
    x = leaf([1.0, -1.0])
    assert not (x > 0).requires_grad and (x > 0).grad_fn is None


def test_eq_with_none_is_false_and_ne_is_true_as_torch():
    x = tg.tensor([1.0])
    assert (x == None) is False  # noqa: E711
    assert (x != None) is True  # noqa: E711


def test_logical_ops_treat_nonzero_as_true_and_return_bool():
    a = tg.tensor([0.0, 1.0, -2.0, 0.0])
    b = tg.tensor([0, 0, 3, 5])
    assert tg.logical_and(a, b).tolist() == [False, False, True, False]
    assert tg.logical_or(a, b).tolist() == [False, True, True, True]
    assert tg.logical_xor(a, b).tolist() == [False, True, False, True]
    assert tg.logical_not(a).tolist() == [True, False, False, True]
    assert a.logical_not().dtype == tg.bool
    assert tg.isfinite(tg.tensor([1.0, math.inf, math.nan])).tolist() == [True, False, False]


# -- errors, as torch raises them -------------------------------------------------------------------
@pytest.mark.parametrize("fn, a_size, b_size, dim", [
    (lambda a, b: a + b, 3, 4, 1), (lambda a, b: a * b, 3, 4, 1), (lambda a, b: a - b, 3, 4, 1),
    (lambda a, b: a / b, 3, 4, 1), (lambda a, b: a ** b, 3, 4, 1), (lambda a, b: tg.maximum(a, b), 3, 4, 1),
    (lambda a, b: tg.minimum(a, b), 3, 4, 1), (lambda a, b: a == b, 3, 4, 1), (lambda a, b: a < b, 3, 4, 1),
    (lambda a, b: tg.where(a > 0, a, b), 3, 4, 1), (lambda a, b: a % b, 3, 4, 1),
    (lambda a, b: tg.logical_and(a, b), 3, 4, 1),
], ids=["add", "mul", "sub", "div", "pow", "maximum", "minimum", "eq", "lt", "where", "remainder", "logical_and"])
def test_non_broadcastable_shapes_raise_runtime_error_naming_both_sizes(fn, a_size, b_size, dim):
    with pytest.raises(RuntimeError, match=rf"The size of tensor a \({a_size}\) must match the size of tensor b "
                                           rf"\({b_size}\) at non-singleton dimension {dim}"):
        fn(tg.ones(2, 3), tg.ones(4))


def test_broadcast_error_names_the_rightmost_mismatching_dimension():
    with pytest.raises(RuntimeError, match=r"tensor a \(3\) must match the size of tensor b \(4\) at non-singleton "
                                           r"dimension 2"):
        tg.ones(2, 3) * tg.ones(2, 1, 4)


@pytest.mark.parametrize("fn, exc, msg", [
    (lambda: B() - B(), RuntimeError, "Subtraction, the `-` operator, with two bool tensors is not supported"),
    (lambda: F32() - B(), RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not supported"),
    (lambda: B() - 1, RuntimeError, "with a bool tensor is not supported"),
    (lambda: -B(), RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported"),
    (lambda: I64() ** -1, RuntimeError, "Integers to negative integer powers are not allowed"),
    (lambda: U8() ** -1, RuntimeError, "Integers to negative integer powers are not allowed"),
    (lambda: I64() // 0, RuntimeError, "ZeroDivisionError"),
    (lambda: I64() % tg.tensor([1, 0, 1]), RuntimeError, "ZeroDivisionError"),
    (lambda: tg.div(I64(), 0, rounding_mode="trunc"), RuntimeError, "ZeroDivisionError"),
    (lambda: tg.div(F32(), 2, rounding_mode="round"), RuntimeError, "div expected rounding_mode to be one of None"),
    (lambda: B() ** B(), NotImplementedError, "\"pow\" not implemented for 'Bool'"),
    (lambda: tg.clamp(F32()), RuntimeError, "At least one of 'min' or 'max' must not be None"),
    (lambda: I64().round(decimals=1), NotImplementedError, "\"round_cpu\" not implemented for 'Long'"),
    (lambda: B().abs(), NotImplementedError, "\"abs_cpu\" not implemented for 'Bool'"),
    (lambda: B().floor(), NotImplementedError, "not implemented for 'Bool'"),
    (lambda: B().relu(), RuntimeError, "Boolean inputs not supported for relu"),
    (lambda: I64().frac(), NotImplementedError, "\"frac_cpu\" not implemented for 'Long'"),
    (lambda: tg.add(I64(), I64(), alpha=1.5), RuntimeError, "alpha must not be a floating point number"),
    (lambda: F32() + "a", TypeError, ""),
], ids=["bool_minus_bool", "float_minus_bool", "bool_minus_int", "neg_bool", "int_pow_negative",
        "uint8_pow_negative", "int_floordiv_zero", "int_remainder_zero", "int_div_trunc_zero", "bad_rounding_mode",
        "bool_pow_bool", "clamp_without_bounds", "round_int_decimals", "abs_bool", "floor_bool", "relu_bool",
        "frac_int", "int_add_float_alpha", "add_string"])
def test_invalid_operations_raise_torch_error_types(fn, exc, msg):
    with pytest.raises(exc, match=None if not msg else msg.replace("(", r"\(").replace(")", r"\)")):
        fn()


def test_module_level_aliases_exist_as_torch_has_them():
    x, y = tg.tensor([4.0, -9.0]), tg.tensor([2.0, 3.0])
    assert tg.clip(x, -1, 1).tolist() == [1.0, -1.0]
    assert tg.subtract(x, y).tolist() == [2.0, -12.0]
    assert tg.multiply(x, y).tolist() == [8.0, -27.0]
    assert tg.divide(x, y).tolist() == [2.0, -3.0]
    assert tg.true_divide(x, y).tolist() == [2.0, -3.0]
    assert tg.negative(x).tolist() == [-4.0, 9.0]
    assert tg.absolute(x).tolist() == [4.0, 9.0]
    assert tg.fmod(x, 3).tolist() == [1.0, 0.0]
    assert tg.remainder(tg.tensor([-4.0]), 3).tolist() == [2.0]
    assert x.fix().tolist() == [4.0, -9.0]


def test_round_half_to_even_and_with_decimals():
    x = tg.tensor([0.5, 1.5, 2.5, -0.5, -1.5])
    assert x.round().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    assert tg.tensor([1.25, 2.35, 123.0]).round(decimals=1).tolist() == pytest.approx([1.2, 2.4, 123.0])
    assert tg.tensor([1234.5, 1251.0]).round(decimals=-2).tolist() == [1200.0, 1300.0]


@pytest.mark.parametrize("fn", [
    lambda t: t.log(), lambda t: t.sqrt(), lambda t: t.sign(), lambda t: t.erf(), lambda t: t.abs(), lambda t: t ** 2,
    lambda t: t + t, lambda t: tg.maximum(t, t), lambda t: t > 1, lambda t: t.isnan(), lambda t: t.logical_not(),
    lambda t: t.round(decimals=1), lambda t: t.clamp(min=t), lambda t: t.int().abs(), lambda t: t.int().relu(),
], ids=["log", "sqrt", "sign", "erf", "abs", "pow", "add", "maximum", "gt", "isnan", "logical_not", "round_dec",
        "clamp_tensor", "int_abs", "int_relu"])
def test_zero_dim_results_hold_an_ndarray_not_a_numpy_scalar(fn):
    y = fn(tg.tensor(2.0))
    assert type(y._data) is np.ndarray and y.shape == ()
    y.add_(1) if y.dtype != tg.bool else y.logical_not_()  # a NumPy scalar could not be written in place
