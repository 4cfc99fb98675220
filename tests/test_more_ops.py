"""erfinv, lgamma, digamma, polygamma, diff, kron, block_diag, cartesian_prod,
cummax/cummin, logcumsumexp, trapezoid, histc, renorm: closed forms and
gradchecks (float64, hypothesis) without torch; values and gradients against
torch when it is installed."""
import math

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.testing import assert_close

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

FEW = settings(max_examples=8, deadline=None)
seeds = st.integers(0, 2 ** 16)


def rand(seed, *shape, low=-2.0, high=2.0):
    return tg.tensor(np.random.default_rng(seed).uniform(low, high, shape), requires_grad=True)


# -- closed forms ------------------------------------------------------------------------
def test_special_closed_forms():
    assert_close(tg.erfinv(tg.tensor([0.0, 0.5])), tg.tensor([0.0, 0.4769362762044699]))
    assert tg.erfinv(tg.tensor([1.0, -1.0, 2.0])).tolist()[:2] == [math.inf, -math.inf]
    assert math.isnan(tg.erfinv(tg.tensor(2.0)).item())
    y = np.linspace(-0.999999, 0.999999, 301)
    assert_close(tg.erf(tg.erfinv(tg.tensor(y))), tg.tensor(y), rtol=1e-13, atol=1e-15)
    assert_close(tg.lgamma(tg.tensor([1.0, 2.0, 5.0, 0.5])), tg.tensor([0.0, 0.0, math.log(24), math.log(math.pi) / 2]))
    assert tg.lgamma(tg.tensor([0.0, -1.0])).tolist() == [math.inf, math.inf]
    euler = 0.5772156649015329
    assert_close(tg.digamma(tg.tensor([1.0, 0.5, 11.0])),
                 tg.tensor([-euler, -euler - 2 * math.log(2), -euler + sum(1 / k for k in range(1, 11))]),
                 rtol=1e-13, atol=1e-13)
    assert tg.digamma(tg.tensor(0.0)).item() == -math.inf and math.isnan(tg.digamma(tg.tensor(-2.0)).item())
    assert_close(tg.polygamma(1, tg.tensor([1.0, 0.5])), tg.tensor([math.pi ** 2 / 6, math.pi ** 2 / 2]))
    assert_close(tg.polygamma(2, tg.tensor(1.0)), tg.tensor(-2 * 1.2020569031595942))
    assert_close(tg.tensor([1.0]).polygamma(0), tg.digamma(tg.tensor([1.0])))
    # the reflection branch: digamma(1 - x) - digamma(x) = pi cot(pi x)
    x = tg.tensor([-2.7, -0.3, 0.2], dtype=tg.float64)
    assert_close(tg.digamma(1 - x) - tg.digamma(x), math.pi / (math.pi * x).tan(), rtol=1e-12, atol=1e-12)


def test_shape_ops_closed_forms():
    assert tg.tensor([1, 4, 9, 16]).diff(n=2).tolist() == [2, 2]
    assert tg.tensor([True, True, False]).diff().tolist() == [False, True]
    assert tg.diff(tg.tensor([1., 2.]), prepend=tg.tensor(0.), append=tg.tensor([5.])).tolist() == [1., 1., 3.]
    assert tg.kron(tg.eye(2), tg.tensor([[1., 2.], [3., 4.]])).tolist() == \
        [[1, 2, 0, 0], [3, 4, 0, 0], [0, 0, 1, 2], [0, 0, 3, 4]]
    assert tg.block_diag(tg.tensor([[1, 2]]), tg.tensor(3), tg.tensor([4, 5])).tolist() == \
        [[1, 2, 0, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 4, 5]]
    assert tg.cartesian_prod(tg.tensor([1, 2]), tg.tensor([3, 4])).tolist() == [[1, 3], [1, 4], [2, 3], [2, 4]]
    r = tg.tensor([1., 3., 2., 3., float("nan"), 0.]).cummax(0)
    assert r.indices.tolist() == [0, 1, 1, 3, 4, 4] and r.values.tolist()[:4] == [1, 3, 3, 3]
    assert tg.cummin(tg.tensor([[2, 1, 1, 3]]), 1).indices.tolist() == [[0, 1, 2, 2]]
    assert_close(tg.logcumsumexp(tg.tensor([-1000., 0., 1000.]), 0), tg.tensor([-1000., 0., 1000.]))
    assert_close(tg.tensor([0., 0., 0.]).logcumsumexp(0), tg.tensor([0., math.log(2), math.log(3)]))
    assert tg.trapezoid(tg.tensor([1., 2., 3.])).item() == 4.0
    assert tg.trapezoid(tg.tensor([1., 2., 3.]), dx=2.0).item() == 8.0
    assert tg.trapezoid(tg.tensor([1., 1.]), tg.tensor([0., 3.])).item() == 3.0
    assert tg.histc(tg.tensor([1., 2., 1., 7.]), bins=4, min=0, max=3).tolist() == [0., 2., 1., 0.]
    assert tg.histc(tg.tensor([0., 1.]), bins=2).tolist() == [1., 1.]  # range from the data, max in the last bin
    x = tg.tensor([[3., 4.], [0.3, 0.4]])
    assert_close(x.renorm(2, 0, 1.0), tg.tensor([[0.6, 0.8], [0.3, 0.4]]), rtol=1e-6, atol=1e-6)


def test_cummax_gradient_goes_to_winning_positions():
    x = tg.tensor([1., 3., 2., 5.], requires_grad=True)
    x.cummax(0).values.sum().backward()
    assert x.grad.tolist() == [1., 2., 0., 1.]


def test_errors():
    with pytest.raises(RuntimeError, match="at least one-dimensional"):
        tg.diff(tg.tensor(1.))
    with pytest.raises(RuntimeError, match="2 or fewer dimensions"):
        tg.block_diag(tg.zeros(1, 1, 1))
    with pytest.raises(RuntimeError, match="Expect a 1D vector"):
        tg.cartesian_prod(tg.zeros(2, 2))
    with pytest.raises(RuntimeError, match="polygamma"):
        tg.polygamma(-1, tg.tensor(1.))


# -- gradients -------------------------------------------------------------------------------
@FEW
@given(seeds)
def test_special_grads(seed):
    x = rand(seed, 2, 3, low=0.2, high=4.0)
    for f in (tg.lgamma, tg.digamma, lambda a: tg.polygamma(1, a), lambda a: tg.polygamma(2, a)):
        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))
    neg = rand(seed, 4, low=-3.9, high=-0.1)
    hypothesis.assume((np.abs(neg.detach().numpy() - np.round(neg.detach().numpy())) > 0.1).all())
    assert gradcheck(tg.lgamma, (neg,)) and gradcheck(tg.digamma, (neg,))
    u = rand(seed, 5, low=-0.95, high=0.95)
    assert gradcheck(tg.erfinv, (u,)) and gradgradcheck(tg.erfinv, (u,))


@FEW
@given(seeds, st.integers(0, 1), st.integers(1, 2))
def test_shape_op_grads(seed, dim, n):
    x, p, q = rand(seed, 3, 4), rand(seed + 1, 3, 4), rand(seed + 2, 2, 3)
    assert gradcheck(lambda a, b: tg.diff(a, n, dim, prepend=b), (x, p))
    assert gradcheck(tg.kron, (x, q))
    assert gradcheck(lambda *t: tg.block_diag(*t), (x, q, rand(seed + 3, 2)))
    assert gradcheck(lambda *t: tg.cartesian_prod(*t), (rand(seed, 2), rand(seed + 1, 3)))


@FEW
@given(seeds, st.integers(0, 1))
def test_scan_grads(seed, dim):
    x = rand(seed, 3, 4)
    x.data.add_(tg.arange(12, dtype=tg.float64).reshape(3, 4) * 1e-3)  # no ties
    assert gradcheck(lambda a: tuple(tg.cummax(a, dim))[0], (x,))
    assert gradcheck(lambda a: tg.cummin(a, dim).values, (x,))
    assert gradcheck(lambda a: tg.logcumsumexp(a, dim), (x,))
    assert gradgradcheck(lambda a: tg.logcumsumexp(a, dim), (x,))
    assert gradcheck(lambda a: tg.trapezoid(a, dim=dim), (x,))
    xs = tg.tensor(np.cumsum(np.random.default_rng(seed).uniform(0.1, 1.0, x.shape[dim])), requires_grad=True)
    assert gradcheck(lambda a, s: tg.trapezoid(a, s, dim=dim), (x, xs))
    assert gradcheck(lambda a: a.renorm(2, dim, 1.0), (x,))
    assert gradcheck(lambda a: a.renorm(1.5, dim, 0.5), (x,))


def test_logcumsumexp_long_scan_grad():
    # past the dense n x n path the gradient is summed in log space by the sign of g
    from tinygrad_cn.ops import reduce
    old, reduce._LCSE_DENSE = reduce._LCSE_DENSE, 2
    try:
        x = rand(0, 2, 5)
        assert gradcheck(lambda a: tg.logcumsumexp(a, 1), (x,))
    finally:
        reduce._LCSE_DENSE = old


# -- against torch ----------------------------------------------------------------------------
CASES = [
    ("erfinv", lambda L, a: L.erfinv(a / 2.5)), ("lgamma", lambda L, a: L.lgamma(a)),
    ("digamma", lambda L, a: L.digamma(a)), ("polygamma1", lambda L, a: L.polygamma(1, a)),
    ("polygamma3", lambda L, a: a.polygamma(3)),
    ("diff", lambda L, a: L.diff(a, 2, 0, append=a[:1])), ("kron", lambda L, a: L.kron(a, a[:2, :1])),
    ("block_diag", lambda L, a: L.block_diag(a, a[0], a[1, 1])),
    ("cartesian_prod", lambda L, a: L.cartesian_prod(a[0], a[1, :2])),
    ("cummax", lambda L, a: L.cummax(a, 1).values), ("cummin", lambda L, a: L.cummin(a, 0).values),
    ("logcumsumexp", lambda L, a: L.logcumsumexp(a * 300, 1)),
    ("trapezoid", lambda L, a: L.trapezoid(a, a[0].detach().sort().values, dim=1)),
    ("trapz_dx", lambda L, a: L.trapz(a, dx=0.3, dim=0)),
    ("renorm", lambda L, a: a.renorm(2, 1, 1.5)), ("renorm_p1", lambda L, a: a.renorm(1, 0, 2.0)),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=5, deadline=None)
@given(seed=seeds)
def test_against_torch(name, fn, seed):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(seed).uniform(-2.4, 2.4, (3, 4))
    ours_in, theirs_in = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours, theirs = fn(tg, ours_in), fn(torch, theirs_in)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert_close(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-9, equal_nan=True)
    w = np.random.default_rng(seed + 1).standard_normal(ours.shape)
    g1 = tg.autograd.grad((ours * tg.tensor(w)).sum(), ours_in)[0]
    g2 = torch.autograd.grad((theirs * torch.tensor(w)).sum(), theirs_in)[0]
    assert_close(g1.numpy(), g2.numpy(), rtol=1e-7, atol=1e-9, equal_nan=True)


def test_indices_and_histc_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([[1., 3., 2., 3., np.nan, 5.], [0., -1., -1., 2., 1., 1.]])
    for name in ("cummax", "cummin"):
        ours, theirs = getattr(tg, name)(tg.tensor(x), 1), getattr(torch, name)(torch.tensor(x), 1)
        assert ours.indices.tolist() == theirs.indices.tolist()
        assert_close(ours.values.numpy(), theirs.values.numpy(), equal_nan=True)
    v = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    for kw in ({}, {"bins": 7}, {"bins": 5, "min": -1, "max": 1}):
        assert tg.histc(tg.tensor(v), **kw).tolist() == torch.histc(torch.tensor(v), **kw).tolist()
    ys = np.linspace(-0.9999999, 0.9999999, 999)
    assert_close(tg.erfinv(tg.tensor(ys)).numpy(), torch.erfinv(torch.tensor(ys)).numpy(), rtol=1e-13, atol=0)
