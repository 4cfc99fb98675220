"""nn.functional on the compiled kernels: activations, softmax / log_softmax
and cross_entropy, end to end through autograd.

Each op: float64 gradcheck and gradgradcheck (the fused backward and the
tensor-code double backward), non-contiguous inputs, torch as an oracle
when installed. Also runs on the NumPy backend (tests/test_numpy_backend.py).
"""
import numpy as np
import pytest

import tinygrad_cn as tg
import tinygrad_cn.nn.functional as F
from tinygrad_cn.autograd import gradcheck, gradgradcheck
from tinygrad_cn.testing import assert_close

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # torch is a test oracle only
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed")

# name, our function, torch's (same keyword arguments), kwargs; inputs stay
# away from the kinks (0 for the piecewise ones, the hardtanh corners)
ACTIVATIONS = [
    ("gelu", F.gelu, "gelu", {}),
    ("gelu_tanh", F.gelu, "gelu", {"approximate": "tanh"}),
    ("silu", F.silu, "silu", {}),
    ("softplus", F.softplus, "softplus", {}),
    ("softplus_beta", F.softplus, "softplus", {"beta": 2.0, "threshold": 3.0}),
    ("logsigmoid", F.logsigmoid, "logsigmoid", {}),
    ("elu", F.elu, "elu", {}),
    ("elu_alpha", F.elu, "elu", {"alpha": 0.5}),
    ("leaky_relu", F.leaky_relu, "leaky_relu", {}),
    ("leaky_relu_slope", F.leaky_relu, "leaky_relu", {"negative_slope": 0.2}),
    ("hardtanh", F.hardtanh, "hardtanh", {}),
    ("hardtanh_range", F.hardtanh, "hardtanh", {"min_val": -0.5, "max_val": 2.0}),
    ("relu", F.relu, "relu", {}),
    ("sigmoid", F.sigmoid, "sigmoid", {}),
    ("tanh", F.tanh, "tanh", {}),
]
IDS = [a[0] for a in ACTIVATIONS]


def _away_from_kinks(rng, shape):
    x = rng.uniform(-3, 3, shape)
    for k in (0.0, 1.0, -1.0, -0.5, 2.0, 1.5):  # kinks and softplus_beta's threshold x*beta = 3
        x = np.where(np.abs(x - k) < 0.05, x + 0.1, x)
    return x


def _leaf(x, transposed=False):
    t = tg.tensor(np.ascontiguousarray(x.T)).T if transposed else tg.tensor(x)
    return t.detach().requires_grad_()


@pytest.mark.parametrize("name,fn,_,kw", ACTIVATIONS, ids=IDS)
def test_activation_gradcheck_and_double_backward(name, fn, _, kw):
    rng = np.random.default_rng(0)
    x = _leaf(_away_from_kinks(rng, (4, 5)), transposed=True)  # non-contiguous
    assert gradcheck(lambda t: fn(t, **kw), (x,))
    assert gradgradcheck(lambda t: fn(t, **kw), (x,))


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,fn,tname,kw", ACTIVATIONS, ids=IDS)
def test_activation_matches_torch(name, fn, tname, kw, dtype):
    vals = np.array([0.0, -0.0, 1e-8, -1e-8, 0.5, -0.5, 3.0, -3.0, 30.0, -30.0, 1e4, -1e4, np.inf, -np.inf,
                     np.nan, 2.5], dtype)
    # 64 elements: torch's vectorised CPU path (its scalar tail treats NaN differently for some ops)
    vals = np.tile(vals, 4)
    if name == "gelu" and dtype == np.float32:
        # torch's float32 exact gelu gives nan at +-inf (its float64 gives the limits, as we do)
        vals = np.where(np.isinf(vals), 7.0, vals).astype(dtype)
    x, xt = _leaf(vals), torch.tensor(vals, requires_grad=True)
    y, yt = fn(x, **kw), getattr(TF, tname)(xt, **kw)
    g = np.linspace(-1, 1, vals.size).astype(dtype)
    y.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    # float32: torch's own vectorised erf is ~1e-3 relative off in the tails (gelu(-3) by 1140 ulp)
    tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13, atol=1e-15)
    assert_close(y, yt.detach(), equal_nan=True, **tol)
    assert_close(x.grad, xt.grad, equal_nan=True, **tol)


def test_activation_grad_fn_names():
    x = tg.ones(3, requires_grad=True)
    assert F.gelu(x).grad_fn.name() == "GeluBackward0"
    assert F.silu(x).grad_fn.name() == "SiluBackward0"
    assert F.elu(x).grad_fn.name() == "EluBackward0"
    assert F.leaky_relu(x).grad_fn.name() == "LeakyReluBackward0"


@pytest.mark.parametrize("fn,kw", [(F.elu, {}), (F.leaky_relu, {"negative_slope": 0.1}), (F.hardtanh, {}),
                                   (F.silu, {}), (F.relu, {})], ids=["elu", "leaky_relu", "hardtanh", "silu", "relu"])
def test_inplace_forms(fn, kw):
    x0 = np.array([-2.0, -0.5, 0.5, 2.0])
    base = tg.tensor(x0, requires_grad=True)
    y = base * 1  # a non-leaf, so in-place is allowed
    out = fn(y, inplace=True, **kw)
    assert out is y
    ref = fn(tg.tensor(x0), **kw)
    assert_close(y, ref)
    y.sum().backward()
    base2 = tg.tensor(x0, requires_grad=True)
    fn(base2, **kw).sum().backward()
    assert_close(base.grad, base2.grad)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(tg.ones(2), approximate="sigmoid")


# -- softmax / log_softmax ---------------------------------------------------

@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_every_dim_gradcheck(fn, dim):
    rng = np.random.default_rng(1)
    x = _leaf(rng.standard_normal((3, 4, 5)))
    f = lambda t: getattr(F, fn)(t, dim=dim)  # noqa: E731
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax_matches_torch_at_extremes(fn, dtype):
    x = np.array([[1e4, -1e4, 0.0, 3.0], [-np.inf, 0.0, 1.0, -np.inf], [5.0, 5.0, 5.0, 5.0]], dtype)
    g = np.arange(12, dtype=dtype).reshape(3, 4) / 7
    for dim in (0, 1):
        a, at = _leaf(x), torch.tensor(x, requires_grad=True)
        y, yt = getattr(F, fn)(a, dim=dim), getattr(TF, fn)(at, dim=dim)
        y.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
        assert_close(y, yt.detach(), equal_nan=True, **tol)
        assert_close(a.grad, at.grad, equal_nan=True, **tol)


# -- cross_entropy ------------------------------------------------------------

CE_OPTIONS = [
    {},
    {"reduction": "sum"},
    {"reduction": "none"},
    {"label_smoothing": 0.1},
    {"ignore_index": 2},
    {"weight": True},
    {"weight": True, "label_smoothing": 0.2, "ignore_index": 1},
    {"weight": True, "reduction": "none", "label_smoothing": 0.05},
    {"weight": True, "reduction": "sum"},
]


def _ce_args(options, dtype, lib):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((6, 5)).astype(dtype) * 3
    target = np.array([0, 4, 2, 1, 2, 3])
    kw = dict(options)
    if kw.get("weight"):
        w = rng.uniform(0.2, 2.0, 5).astype(dtype)
        kw["weight"] = tg.tensor(w) if lib == "ours" else torch.tensor(w)
    return logits, target, kw


@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
def test_cross_entropy_gradcheck_and_double_backward(options):
    logits, target, kw = _ce_args(options, np.float64, "ours")
    x, t = _leaf(logits), tg.tensor(target)
    f = lambda z: F.cross_entropy(z, t, **kw)  # noqa: E731
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@needs_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
def test_cross_entropy_matches_torch(options, dtype):
    logits, target, kw = _ce_args(options, dtype, "ours")
    _, _, kwt = _ce_args(options, dtype, "torch")
    x, xt = _leaf(logits), torch.tensor(logits, requires_grad=True)
    y = F.cross_entropy(x, tg.tensor(target), **kw)
    yt = TF.cross_entropy(xt, torch.tensor(target), **kwt)
    g = np.linspace(0.5, 1.5, yt.numel()).astype(dtype).reshape(tuple(yt.shape))
    y.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    tol = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    assert y.dtype == x.dtype
    assert_close(y, yt.detach(), **tol)
    assert_close(x.grad, xt.grad, **tol)


@needs_torch
def test_cross_entropy_other_forms_match_torch():
    rng = np.random.default_rng(4)
    cases = [
        (rng.standard_normal((2, 3, 4, 2)), rng.integers(0, 3, (2, 4, 2))),  # (N, C, d1, d2)
        (rng.standard_normal(5), np.array(3)),  # unbatched
        (rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), 4)),  # class probabilities
    ]
    for logits, target in cases:
        for kw in ({}, {"label_smoothing": 0.1}, {"reduction": "none"}):
            x, xt = _leaf(logits), torch.tensor(logits, requires_grad=True)
            y = F.cross_entropy(x, tg.tensor(target), **kw)
            yt = TF.cross_entropy(xt, torch.tensor(target), **kw)
            y.sum().backward()
            yt.sum().backward()
            assert_close(y, yt.detach(), rtol=1e-12, atol=1e-13)
            assert_close(x.grad, xt.grad, rtol=1e-12, atol=1e-13)


def test_cross_entropy_errors():
    x = tg.zeros(3, 4)
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(x, tg.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, tg.tensor([0, 1]))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Int"):
        F.cross_entropy(x, tg.tensor([0, 1, 2], dtype=tg.int32))


def test_cross_entropy_all_ignored_mean_is_nan():
    y = F.cross_entropy(tg.zeros(2, 3), tg.tensor([-100, -100]))
    assert np.isnan(y.item())


def test_nll_loss_of_log_softmax_equals_cross_entropy():
    rng = np.random.default_rng(5)
    x = _leaf(rng.standard_normal((7, 4)))
    t = tg.tensor(rng.integers(0, 4, 7))
    assert_close(F.nll_loss(F.log_softmax(x, 1), t), F.cross_entropy(x, t), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------
# in-place forms: the kernel writes into its input when nothing is recorded
# --------------------------------------------------------------------------

INPLACE = [("elu", lambda t: F.elu(t, 0.5, inplace=True), lambda t: F.elu(t, 0.5)),
           ("leaky_relu", lambda t: F.leaky_relu(t, 0.2, inplace=True), lambda t: F.leaky_relu(t, 0.2)),
           ("hardtanh", lambda t: F.hardtanh(t, -0.5, 2.0, inplace=True), lambda t: F.hardtanh(t, -0.5, 2.0)),
           ("silu", lambda t: F.silu(t, inplace=True), F.silu),
           ("relu", lambda t: F.relu(t, inplace=True), F.relu),
           ("relu", lambda t: t.relu_(), lambda t: t.relu()),
           ("sigmoid", lambda t: t.sigmoid_(), lambda t: t.sigmoid()),
           ("tanh", lambda t: t.tanh_(), lambda t: t.tanh()),
           ("exp", lambda t: t.exp_(), lambda t: t.exp())]


@pytest.mark.parametrize("kernel,inplace,outofplace", INPLACE, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(INPLACE)])
def test_unrecorded_inplace_activation_writes_through_the_kernel(monkeypatch, kernel, inplace, outofplace):
    from tinygrad_cn._C import kernels as K
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((4, 33)).astype(np.float32))
    want = outofplace(x.clone())
    calls = []
    real = getattr(K, kernel)
    monkeypatch.setattr(K, kernel, lambda a, out=None, **kw: calls.append(out is a) or real(a, out=out, **kw))
    view = x[1:]
    version = x._version
    assert inplace(x) is x
    assert calls == [True]  # one kernel call, into x's own memory
    assert x._version == version + 1
    np.testing.assert_array_equal(x.numpy(), want.numpy())
    np.testing.assert_array_equal(view.numpy(), want.numpy()[1:])  # views see the write


def test_recorded_inplace_activation_still_differentiates():
    w = tg.randn(5, 6, dtype=tg.float64, requires_grad=True)
    h = w * 2
    F.elu(h, 0.7, inplace=True)
    h.relu_()
    h.sum().backward()
    wd = w.detach().numpy() * 2
    e = np.where(wd > 0, 1.0, 0.7 * np.exp(wd))  # d elu / d h
    alive = np.where(wd > 0, wd, 0.7 * np.expm1(wd)) > 0  # relu of the elu
    np.testing.assert_allclose(w.grad.numpy(), 2 * e * alive)
