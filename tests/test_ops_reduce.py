"""Reductions: sum, mean, prod, max/min (values and indices), amax/amin,
argmax/argmin, var/std, logsumexp, norm, cumsum/cumprod, all/any.

* One-line op table under hypothesis: random shapes and layouts, ``dim`` as
  None / int / list with negative entries, ``keepdim`` both ways; values and
  gradients against torch when installed (else float32 against float64),
  gradcheck in float64, gradgradcheck for sum, mean, var, logsumexp and
  softmax-like composites. Ties are kept out with ``distinct`` values.
* Hand-written checks (no torch needed): torch's tie conventions, zeros in
  prod, stability of logsumexp at ±1e4 and -inf, zero gradients of norm and
  std at zero, empty and 0-dim inputs, dtypes, and torch's errors.
"""
import math

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.testing import OpSpec, assert_close, check_op

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from tinygrad_cn.testing.strategies import shapes  # noqa: E402

FEW = settings(max_examples=max(3, settings().max_examples // 3))


@st.composite
def reduction(draw, dim="any", keepdim=True, min_dims=1, min_side=1):
    """[shape, dim, keepdim?]: dim None, an int (maybe negative) or a list of distinct dims.
    (var/std use ``min_side=2``: with one element they are nan, in torch too.)"""
    shape = draw(shapes(min_dims=min_dims, max_dims=3, min_side=min_side, max_side=4, max_numel=12))
    nd = len(shape)
    kind = dim if dim != "any" else draw(st.sampled_from(["none", "int", "list"]))
    if kind == "none":
        d = None
    elif kind == "int":
        d = draw(st.integers(-nd, nd - 1))
    else:  # a list, not a tuple: check_op would take a tuple for a shape
        axes = draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
        d = [a - nd if draw(st.booleans()) else a for a in axes]
    out = [shape, d]
    if keepdim:
        out.append(draw(st.booleans()))
    return out


def op(name, fn, inputs, gradgrad=False, **domain):
    return OpSpec(name, fn, inputs=inputs, domain=domain, gradgrad=gradgrad)


DISTINCT = dict(distinct=True, min_value=-3.0, max_value=3.0, margin=0.05)

OPS = [
    op("sum", lambda x, d, k: x.sum(d, k), reduction(), gradgrad=True),
    op("sum_function", lambda lib, x, d, k: lib.sum(x, d, keepdim=k), reduction("int")),
    op("mean", lambda x, d, k: x.mean(d, k), reduction(), gradgrad=True),
    op("mean_function", lambda lib, x, d, k: lib.mean(x, dim=d, keepdim=k), reduction("list")),
    op("prod_all", lambda x: x.prod(), [shapes(max_dims=3, max_side=3, max_numel=8)]),
    op("prod_dim", lambda x, d, k: x.prod(d, k), reduction("int")),
    op("amax", lambda x, d, k: x.amax(d if d is not None else (), k), reduction(), **DISTINCT),
    op("amin", lambda lib, x, d, k: lib.amin(x, d if d is not None else (), k), reduction(), **DISTINCT),
    op("max_all", lambda x: x.max(), [shapes(max_dims=3, max_side=4, max_numel=12)], **DISTINCT),
    op("min_all", lambda lib, x: lib.min(x), [shapes(max_dims=3, max_side=4, max_numel=12)], **DISTINCT),
    op("max_dim", lambda x, d, k: tuple(x.max(d, keepdim=k)), reduction("int"), **DISTINCT),
    op("min_dim", lambda lib, x, d, k: tuple(lib.min(x, dim=d, keepdim=k)), reduction("int"), **DISTINCT),
    op("argmax", lambda x, d, k: x.argmax(d, keepdim=k), reduction("int"), **DISTINCT),
    op("argmin_all", lambda x: x.argmin(), [shapes(max_dims=3, max_side=4, max_numel=12)], **DISTINCT),
    op("var", lambda x, d, k: x.var(d, keepdim=k), reduction(min_side=2), gradgrad=True),
    op("var_unbiased_false", lambda x, d, k: x.var(d, unbiased=False, keepdim=k), reduction("list")),
    op("var_correction_0", lambda x, d: x.var(d, correction=0), reduction("int", keepdim=False)),
    # std is not differentiable where it is 0 (a constant slice): distinct values keep away from it
    op("std", lambda x, d, k: x.std(d, keepdim=k), reduction("int", min_side=2), **DISTINCT),
    op("std_all", lambda x: x.std(), [shapes(min_dims=1, max_dims=2, min_side=2, max_side=3)], **DISTINCT),
    op("var_mean", lambda lib, x, d: tuple(lib.var_mean(x, d)), reduction("int", keepdim=False, min_side=2)),
    op("std_mean", lambda lib, x, d: tuple(lib.std_mean(x, d)), reduction("int", keepdim=False, min_side=2),
       **DISTINCT),
    op("logsumexp", lambda x, d, k: x.logsumexp(d if d is not None else -1, k), reduction(), gradgrad=True),
    op("logsumexp_function", lambda lib, x, d: lib.logsumexp(x, d), reduction("list", keepdim=False)),
    op("log_softmax_like", lambda x, d: x - x.logsumexp(d, keepdim=True), reduction("int", keepdim=False),
       gradgrad=True),
    op("softmax_like", lambda x, d: x.exp() / x.exp().sum(d, keepdim=True), reduction("int", keepdim=False),
       gradgrad=True),
    # norms have a kink at the zero vector: avoid=[0.0] keeps every element away from it
    op("softmax", lambda x, d: x.softmax(d), reduction("int", keepdim=False), gradgrad=True),
    op("softmax_function", lambda lib, x, d: lib.softmax(x, d), reduction("int", keepdim=False)),
    op("log_softmax", lambda x, d: x.log_softmax(d), reduction("int", keepdim=False), gradgrad=True),
    op("norm_fro", lambda x: x.norm(), [shapes(max_dims=3, max_side=4, max_numel=12)], avoid=[0.0]),
    op("norm_2_dim", lambda x, d, k: x.norm(2, d, k), reduction("int"), avoid=[0.0]),
    op("norm_1", lambda x, d: x.norm(p=1, dim=d), reduction("int", keepdim=False), avoid=[0.0]),
    op("norm_inf", lambda x, d: x.norm(p=float("inf"), dim=d), reduction("int", keepdim=False),
       avoid=[0.0], **DISTINCT),
    op("norm_3", lambda x, d: x.norm(p=3, dim=d), reduction("list", keepdim=False), avoid=[0.0]),
    op("norm_fro_dims", lambda x: x.norm(p="fro", dim=(0, 1)), [shapes(min_dims=2, max_dims=3, max_side=3)],
       avoid=[0.0]),
    op("cumsum", lambda x, d: x.cumsum(d), reduction("int", keepdim=False)),
    op("cumsum_function", lambda lib, x, d: lib.cumsum(x, dim=d), reduction("int", keepdim=False)),
    op("cumprod", lambda x, d: x.cumprod(d), reduction("int", keepdim=False)),
]


@pytest.mark.parametrize("spec", OPS, ids=str)
@FEW
@given(data=st.data())
def test_op_matches_torch_and_finite_differences(spec, data):
    check_op(spec, data.draw)


def leaf(values, dtype=np.float64):
    return tg.tensor(np.array(values, dtype=dtype)).requires_grad_(True)


def grad_of(fn, values):
    x = leaf(values)
    (g,) = tg.autograd.grad(fn(x).sum(), x)
    return g.tolist()


# -- shapes of dim / keepdim ----------------------------------------------------------------
@pytest.mark.parametrize("dim, keepdim, expected", [
    (None, False, ()), (0, False, (3, 4)), (-1, False, (2, 3)), (1, True, (2, 1, 4)), ((0, 2), False, (3,)),
    ((0, -1), True, (1, 3, 1)), ([1], False, (2, 4)), ((), False, ()),
], ids=str)
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "var", "std", "norm", "logsumexp"])
def test_reduction_output_shape_for_dim_and_keepdim(name, dim, keepdim, expected):
    x = tg.ones(2, 3, 4)
    if name == "norm":
        y = x.norm(dim=dim if dim != () else None, keepdim=keepdim)
    elif name == "logsumexp":
        if dim is None or dim == ():
            pytest.skip("torch's logsumexp needs a dim")
        y = x.logsumexp(dim, keepdim)
    elif name in ("var", "std"):
        y = getattr(x, name)(dim if dim != () else None, keepdim=keepdim)
    else:
        y = getattr(x, name)(dim, keepdim) if dim is not None else getattr(x, name)()
    assert y.shape == expected


def test_sum_and_mean_with_dim_none_and_keepdim_keep_every_dim():
    assert tg.ones(2, 3).sum(None, True).shape == (1, 1)
    assert tg.ones(2, 3).mean(None, True).shape == (1, 1)


def test_max_with_dim_returns_named_values_and_indices():
    x = tg.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]])
    r = x.max(1)
    assert r.values.tolist() == [5.0, 7.0] and r.indices.tolist() == [1, 0]
    values, indices = tg.max(x, dim=0, keepdim=True)
    assert values.tolist() == [[7.0, 5.0, 7.0]] and indices.tolist() == [[1, 0, 1]] and indices.dtype == tg.int64
    r = x.min(-1)
    assert r.values.tolist() == [1.0, 2.0] and r.indices.tolist() == [0, 1]
    assert tg.max(x, tg.tensor([6.0, 0.0, 0.0])).tolist() == [[6.0, 5.0, 3.0], [7.0, 2.0, 7.0]]


# -- ties, zeros and special values -------------------------------------------------------------
def test_amax_and_amin_split_the_gradient_evenly_among_ties():
    assert grad_of(lambda x: x.amax(1), [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]) == [[0.0, 0.5, 0.5], [1 / 3] * 3]
    assert grad_of(lambda x: x.amin(), [[1.0, 3.0], [1.0, 2.0]]) == [[0.5, 0.0], [0.5, 0.0]]
    assert grad_of(lambda x: x.amax((0, 1)), [[4.0, 1.0], [4.0, 4.0]]) == [[1 / 3, 0.0], [1 / 3, 1 / 3]]


def test_full_max_and_min_split_ties_but_max_with_dim_sends_the_gradient_to_its_index():
    assert grad_of(lambda x: x.max(), [5.0, 2.0, 5.0]) == [0.5, 0.0, 0.5]
    assert grad_of(lambda x: x.min(), [1.0, 1.0, 2.0]) == [0.5, 0.5, 0.0]
    assert grad_of(lambda x: x.max(0).values, [5.0, 2.0, 5.0]) == [1.0, 0.0, 0.0]
    assert grad_of(lambda x: x.min(1).values, [[3.0, 1.0, 1.0]]) == [[0.0, 1.0, 0.0]]


def test_argmax_and_argmin_pick_the_first_tie_and_the_first_nan():
    x = tg.tensor([[1.0, 3.0, 3.0], [2.0, math.nan, math.nan]])
    assert x.argmax(1).tolist() == [1, 1]
    assert x.argmin(1).tolist() == [0, 1]
    assert x.max(1).indices.tolist() == [1, 1]
    assert math.isnan(x.max(1).values.tolist()[1])
    assert tg.tensor([[0.0, 2.0], [2.0, 1.0]]).argmax().tolist() == 1
    assert tg.tensor([[0.0, 2.0], [2.0, 1.0]]).argmax(keepdim=True).shape == (1, 1)


def test_amax_of_a_nan_slice_is_nan_with_nan_gradient_and_full_max_splits_among_nans():
    nan = math.nan
    x = leaf([[1.0, 3.0, 3.0], [nan, 0.0, nan]])
    y = x.amax(1)
    assert y.tolist()[0] == 3.0 and math.isnan(y.tolist()[1])
    (g,) = tg.autograd.grad(y.sum(), x)
    assert g.tolist()[0] == [0.0, 0.5, 0.5] and all(math.isnan(v) for v in g.tolist()[1])
    assert grad_of(lambda t: t.max(), [[1.0, 3.0, 3.0], [nan, 0.0, nan]]) == [[0.0, 0.0, 0.0], [0.5, 0.0, 0.5]]


@pytest.mark.parametrize("values", [
    [2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 3.0, 4.0], [0.0, 0.0, 0.0, 0.0], [1.5, -2.0, 3.0, 0.5],
], ids=["one_zero", "two_zeros", "all_zeros", "no_zero"])
def test_prod_gradient_is_the_product_of_the_others_even_with_zeros(values):
    expected = [float(np.prod(np.delete(values, i))) for i in range(len(values))]
    assert grad_of(lambda x: x.prod(), values) == expected
    assert grad_of(lambda x: x.reshape(2, 2).prod(1), values) == [values[1], values[0], values[3], values[2]]
    assert gradcheck(lambda x: x.reshape(2, 2).prod(0), (leaf(values),))
    assert gradgradcheck(lambda x: x.prod(), (leaf(values),))


def test_cumprod_gradient_with_zeros_passes_gradcheck():
    assert gradcheck(lambda x: x.cumprod(1), (leaf([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5]]),))


def test_logsumexp_is_stable_at_large_magnitudes_and_minus_inf_rows():
    x = leaf([[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [-math.inf] * 3, [math.inf, 1.0, 0.0]])
    y = x.logsumexp(1)
    got = y.tolist()
    assert got[0] == pytest.approx(1e4 + math.log(2.0))
    assert got[1] == pytest.approx(-1e4 + math.log(3.0))
    assert got[2] == -math.inf and got[3] == math.inf
    (g,) = tg.autograd.grad(y.sum(), x)
    g = g.tolist()
    assert g[0] == pytest.approx([0.5, 0.5, 0.0]) and g[1] == pytest.approx([1 / 3] * 3)
    assert all(math.isnan(v) for v in g[2])  # as torch: exp(-inf - -inf)
    assert math.isnan(g[3][0]) and g[3][1:] == [0.0, 0.0]


def test_logsumexp_float32_large_values_do_not_overflow():
    y = tg.tensor([[100.0, 100.0], [-100.0, -100.0]]).logsumexp(-1)
    assert y.tolist() == pytest.approx([100.0 + math.log(2.0), -100.0 + math.log(2.0)])


@pytest.mark.parametrize("p", [2, 1, float("inf"), 3, "fro"], ids=str)
def test_norm_gradient_at_zero_is_zero(p):
    assert grad_of(lambda x: x.norm(p=p, dim=1), [[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])[0] == [0.0, 0.0, 0.0]


def test_norm_values_for_each_p():
    x = tg.tensor([[3.0, -4.0], [0.0, 1.0]])
    assert x.norm().tolist() == pytest.approx(math.sqrt(26))
    assert x.norm(dim=1).tolist() == [5.0, 1.0]
    assert x.norm(p=1, dim=1).tolist() == [7.0, 1.0]
    assert x.norm(p=float("inf"), dim=1).tolist() == [4.0, 1.0]
    assert x.norm(p=float("-inf"), dim=1).tolist() == [3.0, 0.0]
    assert x.norm(p=0, dim=1).tolist() == [2.0, 1.0]
    assert x.norm(p=3, dim=1).tolist() == pytest.approx([91 ** (1 / 3), 1.0])


def test_std_gradient_of_a_constant_is_zero_and_var_gradient_is_finite():
    assert grad_of(lambda x: x.std(), [3.0, 3.0, 3.0]) == [0.0, 0.0, 0.0]
    assert grad_of(lambda x: x.std(1, correction=0), [[2.0, 2.0], [1.0, 3.0]]) == [[0.0, 0.0], [-0.5, 0.5]]
    assert grad_of(lambda x: x.var(), [3.0, 3.0]) == [0.0, 0.0]


def test_var_correction_and_unbiased_values():
    x = tg.tensor([1.0, 2.0, 3.0, 6.0])
    assert x.var().tolist() == pytest.approx(14 / 3)
    assert x.var(unbiased=False).tolist() == pytest.approx(14 / 4)
    assert x.var(correction=2).tolist() == pytest.approx(14 / 2)
    assert x.var(False).tolist() == pytest.approx(14 / 4)
    assert x.std(0, True, True).shape == (1,)
    assert math.isnan(tg.tensor([1.0]).var().tolist())  # n - correction == 0, as torch


def test_sum_of_infinities_and_nan_propagation():
    x = tg.tensor([[math.inf, 1.0], [math.inf, -math.inf], [math.nan, 1.0]])
    s = x.sum(1).tolist()
    assert s[0] == math.inf and math.isnan(s[1]) and math.isnan(s[2])
    assert math.isnan(x.mean().tolist())
    assert x.amax(1).tolist()[:2] == [math.inf, math.inf]


# -- empty and 0-dim -----------------------------------------------------------------------------
def test_reductions_over_empty_dims_give_torch_identities():
    e = tg.zeros(2, 0)
    assert e.sum(1).tolist() == [0.0, 0.0] and tg.zeros(0).sum().tolist() == 0.0
    assert e.prod(1).tolist() == [1.0, 1.0]
    assert all(math.isnan(v) for v in e.mean(1).tolist())
    assert e.logsumexp(1).tolist() == [-math.inf, -math.inf]
    assert e.norm(dim=1).tolist() == [0.0, 0.0]
    assert all(math.isnan(v) for v in e.var(1).tolist())
    assert e.all(1).tolist() == [True, True] and e.any(1).tolist() == [False, False]
    assert e.cumsum(1).shape == (2, 0)
    assert tg.zeros(0, 3).amax(1).shape == (0,)
    assert tg.zeros(0, 3).max(1).values.shape == (0,)


def test_empty_reduction_gradients_have_the_input_shape():
    x = tg.zeros(0, 3, dtype=tg.float64).requires_grad_(True)
    for f in (lambda t: t.sum(0), lambda t: t.mean(1), lambda t: t.prod(0), lambda t: t.logsumexp(0),
              lambda t: t.norm(dim=0), lambda t: t.cumsum(0)):
        (g,) = tg.autograd.grad(f(x).sum(), x)
        assert g.shape == (0, 3)


def test_zero_dim_input_reduces_over_dim_0_or_minus_1():
    x = leaf(2.0)
    for f in (lambda t: t.sum(0), lambda t: t.sum(-1), lambda t: t.mean(0), lambda t: t.amax(0),
              lambda t: t.max(0).values, lambda t: t.logsumexp(0), lambda t: t.cumsum(0), lambda t: t.prod(),
              lambda t: t.norm(), lambda t: t.sum(0, keepdim=True)):
        y = f(x)
        assert y.shape == () and y.tolist() == pytest.approx(2.0)
        (g,) = tg.autograd.grad(y, x)
        assert g.tolist() == pytest.approx(1.0)
    assert x.max(0).indices.tolist() == 0 and x.argmax(0).tolist() == 0
    assert math.isnan(x.var().tolist()) and x.std(unbiased=False).tolist() == 0.0


# -- dtypes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, expected", [
    (lambda: tg.tensor([1, 2]).sum(), tg.int64), (lambda: tg.tensor([1, 2], dtype=tg.int32).sum(), tg.int64),
    (lambda: tg.tensor([True, False]).sum(), tg.int64), (lambda: tg.tensor([1, 2], dtype=tg.int32).prod(), tg.int64),
    (lambda: tg.tensor([1, 2], dtype=tg.int32).cumsum(0), tg.int64),
    (lambda: tg.tensor([1, 2], dtype=tg.int32).amax(), tg.int32),
    (lambda: tg.tensor([1, 2], dtype=tg.int32).max(0).values, tg.int32),
    (lambda: tg.tensor([1.0, 2.0]).argmax(), tg.int64), (lambda: tg.tensor([1.0]).sum(dtype=tg.float64), tg.float64),
    (lambda: tg.tensor([1, 2]).mean(dtype=tg.float32), tg.float32), (lambda: tg.tensor([1.0]).all(), tg.bool),
    (lambda: tg.tensor([1, 0]).any(), tg.bool), (lambda: tg.tensor([1, 0], dtype=tg.uint8).all(), tg.uint8),
    (lambda: tg.tensor([1, 0], dtype=tg.uint8).any(0), tg.uint8),
    (lambda: tg.tensor([1, 2]).logsumexp(0), tg.float32), (lambda: tg.tensor([1.0], dtype=tg.float64).var(), tg.float64),
    (lambda: tg.tensor([1.0, 2.0], dtype=tg.float64).norm(), tg.float64),
    (lambda: tg.tensor([1, 2]).cumsum(0, dtype=tg.float64), tg.float64),
], ids=["int_sum", "int32_sum", "bool_sum", "int32_prod", "int32_cumsum", "int32_amax", "int32_max_dim", "argmax",
        "sum_dtype", "mean_dtype", "all_float", "any_int", "all_uint8", "any_uint8", "logsumexp_int", "var_f64",
        "norm_f64", "cumsum_dtype"])
def test_reduction_result_dtype_as_torch(make, expected):
    assert make().dtype == expected


def test_all_and_any_values_with_dims():
    x = tg.tensor([[1, 0, 2], [3, 4, 5]])
    assert x.all(1).tolist() == [False, True] and x.any(0).tolist() == [True, True, True]
    assert x.all().tolist() is False and x.any().tolist() is True
    assert x.all(1, keepdim=True).shape == (2, 1) and tg.tensor([math.nan]).all().tolist() is True


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    lambda x: x.sum(dim=5), lambda x: x.sum(dim=-4), lambda x: x.mean(3), lambda x: x.prod(3), lambda x: x.amax(3),
    lambda x: x.amin((0, 3)), lambda x: x.max(3), lambda x: x.min(-4), lambda x: x.argmax(3), lambda x: x.argmin(3),
    lambda x: x.var(3), lambda x: x.std(3), lambda x: x.logsumexp(3), lambda x: x.norm(dim=3), lambda x: x.cumsum(3),
    lambda x: x.cumprod(3), lambda x: x.all(3), lambda x: x.any(3),
], ids=["sum", "sum_neg", "mean", "prod", "amax", "amin_tuple", "max", "min", "argmax", "argmin", "var", "std",
        "logsumexp", "norm", "cumsum", "cumprod", "all", "any"])
def test_dim_out_of_range_raises_index_error(fn):
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\]"):
        fn(tg.ones(2, 3, 4))


@pytest.mark.parametrize("fn, exc, message", [
    (lambda: tg.ones(2, 3).sum((0, 0)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: tg.ones(2, 3).mean((1, -1)), RuntimeError, "dim 1 appears multiple times in the list of dims"),
    (lambda: tg.ones(2, 3).amax((0, -2)), RuntimeError, "dim 0 appears multiple times in the list of dims"),
    (lambda: tg.zeros(0).max(), RuntimeError, "max(): Expected reduction dim to be specified for input.numel() == "
                                              "0. Specify the reduction dim with the 'dim' argument."),
    (lambda: tg.zeros(0).amax(), RuntimeError, "amax(): Expected reduction dim to be specified for "
                                               "input.numel() == 0. Specify the reduction dim with the 'dim' argument."),
    (lambda: tg.zeros(0, 3).amax(0), IndexError, "amax(): Expected reduction dim 0 to have non-zero size."),
    (lambda: tg.zeros(0, 3).max(0), IndexError, "max(): Expected reduction dim 0 to have non-zero size."),
    (lambda: tg.zeros(0).argmax(), IndexError, "argmax(): Expected reduction dim to be specified for "
                                               "input.numel() == 0."),
    (lambda: tg.tensor([1, 2]).mean(), RuntimeError, "mean(): could not infer output dtype. Input dtype must be "
                                                     "either a floating point or complex dtype. Got: Long"),
    (lambda: tg.tensor([1, 2]).var(), RuntimeError, "std and var only support floating point and complex dtypes"),
    (lambda: tg.tensor([1, 2]).std(), RuntimeError, "std and var only support floating point and complex dtypes"),
    (lambda: tg.tensor([1, 2]).norm(), RuntimeError, "linalg.vector_norm: Expected a floating point or complex "
                                                     "tensor as input. Got Long"),
], ids=["sum_dup", "mean_dup_neg", "amax_dup", "max_empty", "amax_empty", "amax_empty_dim", "max_empty_dim",
        "argmax_empty", "mean_int", "var_int", "std_int", "norm_int"])
def test_invalid_reductions_raise_torch_errors(fn, exc, message):
    with pytest.raises(exc) as info:
        fn()
    assert str(info.value) == message


# -- against torch: ties, zeros and special values (skipped without torch) --------------------------
TORCH_CASES = {
    "amax_ties": (lambda m, x: x.amax(1), [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
    "max_all_ties": (lambda m, x: x.max(), [[1.0, 3.0, 3.0], [2.0, 3.0, 0.0]]),
    "max_dim_ties": (lambda m, x: x.max(1).values, [[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]),
    "min_dim_ties": (lambda m, x: x.min(0).values, [[1.0, 3.0, 3.0], [1.0, 2.0, 3.0]]),
    "amax_nan": (lambda m, x: x.amax(1), [[1.0, math.nan, 3.0], [2.0, 2.0, 0.0]]),
    "max_all_nan": (lambda m, x: x.max(), [[1.0, math.nan, 3.0], [math.nan, 2.0, 0.0]]),
    "prod_zeros": (lambda m, x: x.prod(1), [[0.0, 2.0, 3.0], [0.0, 0.0, 3.0]]),
    "prod_all_zero": (lambda m, x: x.prod(), [[0.0, 2.0, 3.0], [1.0, 1.5, 3.0]]),
    "cumprod_zeros": (lambda m, x: x.cumprod(1), [[0.0, 2.0, 3.0], [2.0, 0.0, 0.0]]),
    # torch rounds exp(x - y) with y in float32 (0.4999 for 0.5): a looser float32 tolerance
    "logsumexp_extremes": (lambda m, x: x.logsumexp(1), [[1e4, 1e4, -1e4], [-math.inf] * 3, [math.inf, 0.0, 1.0]],
                           1e-3),
    "norm_zero_row": (lambda m, x: x.norm(dim=1), [[0.0, 0.0], [3.0, 4.0]]),
    "norm3_zero_row": (lambda m, x: x.norm(p=3, dim=1), [[0.0, 0.0], [3.0, 4.0]]),
    "norm_inf_ties": (lambda m, x: x.norm(p=float("inf"), dim=1), [[-2.0, 2.0], [0.0, 0.0]]),
    "std_constant": (lambda m, x: x.std(1), [[2.0, 2.0], [1.0, 3.0]]),
    "var_single": (lambda m, x: x.var(0), [[2.0, 1.0]]),
    "mean_empty": (lambda m, x: x[:, :0].mean(1), [[1.0], [2.0]]),
    "sum_inf": (lambda m, x: x.sum(), [[math.inf, 1.0], [2.0, 3.0]]),
    "cumsum_neg_dim": (lambda m, x: x.cumsum(-2), [[1.0, 2.0], [3.0, 4.0]]),
    "softmax_extremes": (lambda m, x: x.softmax(1) * m.tensor([1.0, 2.0, 3.0], dtype=x.dtype),
                         [[1e4, 1e4, -1e4], [-1e4, -1e4, -1e4], [50.0, 0.0, -50.0]]),
    "softmax_inf": (lambda m, x: x.softmax(1), [[math.inf, 1.0, 0.0], [-math.inf, -math.inf, -math.inf]]),
    "log_softmax_extremes": (lambda m, x: x.log_softmax(1) * m.tensor([1.0, 2.0, 3.0], dtype=x.dtype),
                             [[1e4, 0.0, -1e4], [-math.inf, 1.0, 0.0]]),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_special_cases_match_torch_values_and_gradients(name, dtype):
    torch = pytest.importorskip("torch")
    fn, values, *loose = TORCH_CASES[name]
    arr = np.array(values, dtype=dtype)
    results = []
    for m in (tg, torch):
        x = m.tensor(arr).requires_grad_(True)
        with np.errstate(all="ignore"):
            y = fn(m, x)
            (g,) = m.autograd.grad(y.sum(), x)
        results.append((y, g))
    (y, g), (ty, tgrad) = results
    rtol = (loose[0] if loose else 1e-5) if dtype == np.float32 else 1e-12
    assert_close(y, ty.detach(), rtol=rtol, atol=1e-6, equal_nan=True, msg=lambda m: f"{name} value:\n{m}")
    assert_close(g, tgrad, rtol=rtol, atol=1e-6, equal_nan=True, msg=lambda m: f"{name} gradient:\n{m}")


def test_argmax_and_indices_of_ties_match_torch():
    torch = pytest.importorskip("torch")
    arr = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [math.nan, 1.0, math.nan, 5.0]], dtype=np.float32)
    for fn in (lambda m, x: x.argmax(1), lambda m, x: x.argmin(1), lambda m, x: x.max(1).indices,
               lambda m, x: x.min(1).indices, lambda m, x: x.argmax(), lambda m, x: x[:2].argmin(0)):
        assert fn(tg, tg.tensor(arr)).tolist() == fn(torch, torch.tensor(arr)).tolist()


def test_nuclear_norm_is_the_sum_of_singular_values_with_its_gradient():
    a = np.random.default_rng(7).standard_normal((3, 4))
    x = tg.tensor(a, dtype=tg.float64, requires_grad=True)
    r = x.norm(p="nuc")
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(r.item(), s.sum(), rtol=1e-12)
    r.backward()
    np.testing.assert_allclose(x.grad.numpy(), u @ vh, rtol=1e-10, atol=1e-12)  # d sum(s) / dA = U V^T
    assert tg.autograd.gradcheck(lambda t: t.norm(p="nuc"), (tg.tensor(a, requires_grad=True),))
