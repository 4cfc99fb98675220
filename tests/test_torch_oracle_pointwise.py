"""Element-wise ops against torch itself (skipped without torch).

Each check runs one lambda, written once against the torch API, with both
modules: ``fn(m, ...)`` where ``m`` is ``tinygrad_cn`` or ``torch``.

* dtype promotion over every pair of dtypes, 0-dim and dimensioned operands
  and Python scalars: the result dtype, the values, or the exception type;
* unary ops over every dtype;
* special values (±0, ±1, ±inf, nan, tiny, large) in float32 and float64:
  values and gradients, NaN positions included;
* error types and messages.
"""
import itertools
import math

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.testing import assert_close

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool"]
SCALARS = [2, 2.5, True, -1]


def _dtype_name(t) -> str:
    return str(t.dtype).rsplit(".", 1)[-1]


def _make(m, dtype, zero_dim, values=(1, 2)):
    vals = [bool(v) or True for v in values] if dtype == "bool" else list(values)
    return m.tensor(vals[0] if zero_dim else vals, dtype=getattr(m, dtype))


def _run(fn, m, *args):
    """('ok', dtype, values) or ('raise', exception type name)."""
    try:
        with np.errstate(all="ignore"):
            r = fn(m, *args)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return ("raise", type(e).__name__ if type(e).__name__ != "ZeroDivisionError" else "RuntimeError")
    return ("ok", _dtype_name(r), r)


def _compare(label, ours, theirs, mismatches):
    if ours[0] != theirs[0] or ours[:2] != theirs[:2]:
        mismatches.append(f"{label}: torch {theirs[:2]}, ours {ours[:2]}")
        return
    if ours[0] == "ok":
        try:
            assert_close(ours[2], theirs[2], check_dtype=False, equal_nan=True)
        except AssertionError as e:
            mismatches.append(f"{label}: values differ: {str(e).splitlines()[0]}")


BINARY = {
    "add": lambda m, a, b: a + b,
    "sub": lambda m, a, b: a - b,
    "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b,
    "floor_divide": lambda m, a, b: a // b,
    "remainder": lambda m, a, b: a % b,
    "fmod": lambda m, a, b: m.fmod(a, b) if isinstance(a, (m.Tensor,)) else m.fmod(b, a),
    "pow": lambda m, a, b: a ** b,
    "maximum": lambda m, a, b: m.maximum(a, b),
    "eq": lambda m, a, b: a == b,
    "lt": lambda m, a, b: a < b,
    "where": lambda m, a, b: m.where(m.tensor([True, False]), a, b),
    "add_alpha": lambda m, a, b: m.add(a, b, alpha=2),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_dtype_promotion_grid_matches_torch(name):
    """Every dtype pair, each operand 0-dim or 1-dim: same dtype and values, or the same error."""
    fn = BINARY[name]
    mismatches = []
    for (d1, d2), (z1, z2) in itertools.product(itertools.product(DTYPES, DTYPES), [(0, 0), (0, 1), (1, 0), (1, 1)]):
        ours = _run(lambda m: fn(m, _make(m, d1, z1), _make(m, d2, z2)), tg)
        theirs = _run(lambda m: fn(m, _make(m, d1, z1), _make(m, d2, z2)), torch)
        _compare(f"{name}({d1}{'[0d]' if z1 else ''}, {d2}{'[0d]' if z2 else ''})", ours, theirs, mismatches)
    assert not mismatches, "\n".join(mismatches[:20]) + f"\n({len(mismatches)} mismatches)"


@pytest.mark.parametrize("name", list(BINARY))
def test_tensor_with_python_scalar_promotion_matches_torch_both_orders(name):
    fn = BINARY[name]
    mismatches = []
    for d, z, s, reflected in itertools.product(DTYPES, (0, 1), SCALARS, (False, True)):
        def call(m):
            t = _make(m, d, z)
            return fn(m, s, t) if reflected else fn(m, t, s)
        _compare(f"{name}({'scalar ' + repr(s) + ', ' if reflected else ''}{d}{'[0d]' if z else ''}"
                 f"{'' if reflected else ', ' + repr(s)})", _run(lambda m: call(m), tg), _run(lambda m: call(m), torch),
                 mismatches)
    assert not mismatches, "\n".join(mismatches[:20]) + f"\n({len(mismatches)} mismatches)"


def test_uint8_and_int8_arithmetic_wrap_as_torch():
    for expr in (lambda m: m.tensor([0, 1, 255], dtype=m.uint8) - 2, lambda m: m.tensor([0, 1, 255], dtype=m.uint8) + 300,
                 lambda m: m.tensor([120, -120], dtype=m.int8) * 2, lambda m: m.tensor([3], dtype=m.uint8) * -1):
        assert expr(tg).tolist() == expr(torch).tolist()


UNARY = ["exp", "log", "log1p", "expm1", "log2", "sqrt", "rsqrt", "reciprocal", "square", "sin", "cos", "tanh",
         "sigmoid", "relu", "erf", "abs", "sign", "floor", "ceil", "round", "trunc", "neg", "isnan", "isinf",
         "logical_not", "frac"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_result_dtype_for_every_input_dtype_matches_torch(name):
    mismatches = []
    for d in DTYPES:
        def call(m):
            return getattr(m, name)(_make(m, d, False, values=(1, 3)))
        _compare(f"{name}({d})", _run(lambda m: call(m), tg), _run(lambda m: call(m), torch), mismatches)
    assert not mismatches, "\n".join(mismatches)


# -- special values ----------------------------------------------------------------------------
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, math.inf, -math.inf, math.nan, 1e-30, 60.0, -60.0, 1e4, -1e4]

UNARY_DIFF = {
    "exp": lambda m, x: x.exp(), "log": lambda m, x: x.log(), "log1p": lambda m, x: x.log1p(),
    "expm1": lambda m, x: x.expm1(), "log2": lambda m, x: x.log2(), "sqrt": lambda m, x: x.sqrt(),
    "rsqrt": lambda m, x: x.rsqrt(), "reciprocal": lambda m, x: x.reciprocal(), "square": lambda m, x: x.square(),
    "sin": lambda m, x: x.sin(), "cos": lambda m, x: x.cos(), "tanh": lambda m, x: x.tanh(),
    "sigmoid": lambda m, x: x.sigmoid(), "relu": lambda m, x: x.relu(), "erf": lambda m, x: x.erf(),
    "abs": lambda m, x: x.abs(), "sign": lambda m, x: x.sign(), "floor": lambda m, x: x.floor(),
    "round": lambda m, x: x.round(), "neg": lambda m, x: -x, "clamp": lambda m, x: x.clamp(-1.0, 1.0),
    "pow_2": lambda m, x: x ** 2, "pow_half": lambda m, x: x ** 0.5, "rpow": lambda m, x: 2 ** x,
    "pow_0": lambda m, x: x ** 0, "mul_scalar": lambda m, x: x * 3, "div_by_scalar": lambda m, x: x / 3,
    "rdiv": lambda m, x: 1 / x, "div_floor": lambda m, x: m.div(x, 2, rounding_mode="floor"),
    "remainder": lambda m, x: x % 2,
    "where_gt0": lambda m, x: m.where(x > 0, x, x * 2),
}


def _values_and_grads(m, fn, arr):
    x = m.tensor(arr).requires_grad_(True) if m is torch else tg.tensor(arr).requires_grad_(True)
    with np.errstate(all="ignore"):
        y = fn(m, x)
        g = np.random.default_rng(0).uniform(0.5, 1.5, size=arr.shape).astype(arr.dtype)
        (gx,) = m.autograd.grad(y, x, m.tensor(g) if m is torch else tg.tensor(g), allow_unused=True)
    return y, gx


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(UNARY_DIFF))
def test_special_values_forward_and_gradient_match_torch(name, dtype):
    arr = np.array(SPECIAL, dtype=dtype)
    fn = UNARY_DIFF[name]
    y, g = _values_and_grads(tg, fn, arr)
    ty, tgrad = _values_and_grads(torch, fn, arr)
    # compiled exp/tanh/sigmoid are within a couple of ulp of torch's, not bit-equal
    rtol = 4e-7 if dtype == np.float64 else 4e-6
    assert_close(y, ty, rtol=rtol, atol=0.0, equal_nan=True, msg=lambda m: f"{name} values:\n{m}")
    if tgrad is None:
        assert g is None or not np.any(g._data), f"{name}: torch has no gradient"
    else:
        assert_close(g, tgrad, rtol=rtol, atol=1e-30, equal_nan=True, msg=lambda m: f"{name} gradient:\n{m}")


BINARY_DIFF = {
    "add": lambda m, a, b: a + b, "sub": lambda m, a, b: a - b, "mul": lambda m, a, b: a * b,
    "div": lambda m, a, b: a / b, "pow": lambda m, a, b: a ** b, "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b), "remainder": lambda m, a, b: a % b,
    "fmod": lambda m, a, b: m.fmod(a, b), "div_floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
    "clamp_tensor": lambda m, a, b: m.clamp(a, min=b), "where": lambda m, a, b: m.where(a > b, a, b),
}
PAIR_VALUES = [0.0, -0.0, 1.0, -1.5, 2.0, math.inf, -math.inf, math.nan]


@pytest.mark.parametrize("name", list(BINARY_DIFF))
def test_special_value_pairs_forward_and_gradients_match_torch(name):
    pairs = np.array(list(itertools.product(PAIR_VALUES, PAIR_VALUES)), dtype=np.float64)
    fn = BINARY_DIFF[name]

    def run(m):
        a = m.tensor(pairs[:, 0]).requires_grad_(True)
        b = m.tensor(pairs[:, 1]).requires_grad_(True)
        with np.errstate(all="ignore"):
            y = fn(m, a, b)
            ga, gb = m.autograd.grad(y.sum(), (a, b), allow_unused=True)
        return y, ga, gb

    ours, theirs = run(tg), run(torch)
    for what, o, t in zip(("value", "grad a", "grad b"), ours, theirs):
        if t is None or o is None:
            assert (o is None or not np.any(o._data)) and (t is None or not t.any()), f"{name} {what}"
            continue
        t = t.detach().numpy()
        bad = ~np.isclose(o._data, t, rtol=1e-12, atol=0.0, equal_nan=True)
        detail = [(tuple(pairs[i]), o._data[i], t[i]) for i in np.flatnonzero(bad)[:8]]
        assert not bad.any(), f"{name} {what}: (a, b), ours, torch: {detail}"


def test_floor_divide_backward_raises_like_torch():
    for m in (torch, tg):
        x = m.tensor([1.5, -2.5], requires_grad=True)
        with pytest.raises(RuntimeError, match="derivative for aten::floor_divide is not implemented"):
            (x // 2).sum().backward()


# -- errors ------------------------------------------------------------------------------------
ERRORS = {
    "broadcast_add": lambda m: m.ones(2, 3) + m.ones(4),
    "broadcast_mul_3d": lambda m: m.ones(2, 3) * m.ones(2, 1, 4),
    "broadcast_where": lambda m: m.where(m.ones(2, 3) > 0, m.ones(4), 0.0),
    "broadcast_maximum": lambda m: m.maximum(m.ones(5, 1), m.ones(2, 3)),
    "bool_minus_bool": lambda m: m.tensor([True]) - m.tensor([False]),
    "float_minus_bool": lambda m: m.tensor([1.0]) - m.tensor([False]),
    "bool_minus_scalar": lambda m: m.tensor([True]) - 1,
    "neg_bool": lambda m: -m.tensor([True]),
    "int_pow_negative": lambda m: m.tensor([2]) ** -1,
    "int_floordiv_zero": lambda m: m.tensor([2]) // 0,
    "int_remainder_zero": lambda m: m.tensor([2]) % m.tensor([0]),
    "div_bad_mode": lambda m: m.div(m.ones(2), 2, rounding_mode="nearest"),
    "clamp_no_bounds": lambda m: m.clamp(m.ones(2)),
    "bool_pow_bool": lambda m: m.tensor([True]) ** m.tensor([True]),
    "bool_floordiv": lambda m: m.tensor([True]) // True,
    "round_int_decimals": lambda m: m.tensor([3]).round(decimals=1),
    "inplace_int_by_float": lambda m: m.tensor([1, 2]).add_(1.5),
    "inplace_broadcast_to_bigger": lambda m: m.ones(3).add_(m.ones(2, 3)),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_have_torch_type_and_message(name):
    fn = ERRORS[name]
    with pytest.raises(Exception) as theirs:
        fn(torch)
    with pytest.raises(Exception) as ours:
        fn(tg)
    assert ours.type is theirs.type, f"torch raises {theirs.type.__name__}: {theirs.value}; ours {ours.value!r}"
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


def test_result_type_function_matches_torch_for_mixed_operands():
    cases = [lambda m: (m.ones(2, dtype=m.int32), 2.5), lambda m: (m.ones(2, dtype=m.int32), m.tensor(2.5)),
             lambda m: (m.ones(2), m.tensor(1.0, dtype=m.float64)), lambda m: (m.tensor(1), 2),
             lambda m: (m.ones(2, dtype=m.uint8), m.ones(2, dtype=m.int8)), lambda m: (True, m.ones(2, dtype=m.bool))]
    for make in cases:
        assert str(tg.result_type(*make(tg))).rsplit(".")[-1] == str(torch.result_type(*make(torch))).rsplit(".")[-1]
