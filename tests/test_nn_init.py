"""nn.init (statistics, shapes, gains, reproducibility) and nn.utils (clipping, vector conversion)."""
import math

import numpy as np
import pytest

import tinygrad_cn
from tinygrad_cn import nn
from tinygrad_cn.nn import init


def _np(t):
    return np.asarray(t.detach()._data)


# ==========================================================================
# 1. gains and fans
# ==========================================================================
GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", math.sqrt(5)), ("selu", None)]


@pytest.mark.parametrize("nl,param", GAINS)
def test_calculate_gain_matches_torch(nl, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(nl, param) == pytest.approx(torch.nn.init.calculate_gain(nl, param), rel=1e-12)


def test_calculate_gain_known_values_and_errors():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.0) == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


def test_fan_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tinygrad_cn.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(tinygrad_cn.empty(3, 3), mode="fan_avg")


# ==========================================================================
# 2. fills: statistics and bounds
# ==========================================================================
def test_uniform_normal_constant():
    tinygrad_cn.manual_seed(0)
    w = tinygrad_cn.empty(200, 300)
    assert init.uniform_(w, -2.0, 3.0) is w
    a = _np(w)
    assert a.min() >= -2.0 and a.max() < 3.0 and abs(a.mean() - 0.5) < 0.05
    init.normal_(w, mean=1.0, std=0.5)
    a = _np(w)
    assert abs(a.mean() - 1.0) < 0.01 and abs(a.std() - 0.5) < 0.01
    init.constant_(w, 0.3)
    assert np.all(_np(w) == np.float32(0.3))
    init.ones_(w)
    assert np.all(_np(w) == 1)
    init.zeros_(w)
    assert np.all(_np(w) == 0)
    assert w.dtype == tinygrad_cn.float32 and w.shape == (200, 300)


def test_eye_and_dirac():
    w = tinygrad_cn.empty(3, 5)
    init.eye_(w)
    assert np.array_equal(_np(w), np.eye(3, 5, dtype=np.float32))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(tinygrad_cn.empty(2, 2, 2))
    torch = pytest.importorskip("torch")
    d = tinygrad_cn.empty(4, 2, 3, 3)
    init.dirac_(d, groups=2)
    td = torch.empty(4, 2, 3, 3)
    torch.nn.init.dirac_(td, groups=2)
    assert np.array_equal(_np(d), td.numpy())


@pytest.mark.parametrize("shape", [(300, 400), (64, 32, 3, 3)])
def test_xavier(shape):
    tinygrad_cn.manual_seed(1)
    w = tinygrad_cn.empty(*shape)
    rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    fan_in, fan_out = shape[1] * rf, shape[0] * rf
    gain = init.calculate_gain("tanh")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    init.xavier_uniform_(w, gain=gain)
    a = _np(w)
    bound = math.sqrt(3) * std
    assert np.abs(a).max() <= bound * (1 + 1e-6) and np.abs(a).max() > 0.99 * bound
    assert abs(a.std() - std) < 0.03 * std
    init.xavier_normal_(w)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    assert abs(_np(w).std() - std) < 0.03 * std and abs(_np(w).mean()) < 0.03 * std


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity,a", [("relu", 0), ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0.1),
                                            ("tanh", 0)])
def test_kaiming(mode, nonlinearity, a):
    tinygrad_cn.manual_seed(2)
    w = tinygrad_cn.empty(200, 100, 3)
    fan = (100 if mode == "fan_in" else 200) * 3
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    u = _np(w)
    assert np.abs(u).max() <= math.sqrt(3) * std * (1 + 1e-6)
    assert abs(u.std() - std) < 0.03 * std
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    n = _np(w)
    assert abs(n.std() - std) < 0.03 * std and abs(n.mean()) < 0.03 * std


def test_kaiming_std_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = tinygrad_cn.empty(256, 128), torch.empty(256, 128)
    tinygrad_cn.manual_seed(0)
    torch.manual_seed(0)
    init.kaiming_normal_(ours, mode="fan_out", nonlinearity="relu")
    torch.nn.init.kaiming_normal_(theirs, mode="fan_out", nonlinearity="relu")
    assert _np(ours).std() == pytest.approx(theirs.std().item(), rel=0.03)
    init.kaiming_uniform_(ours, a=math.sqrt(5))
    torch.nn.init.kaiming_uniform_(theirs, a=math.sqrt(5))
    assert np.abs(_np(ours)).max() == pytest.approx(theirs.abs().max().item(), rel=0.01)


def test_trunc_normal():
    tinygrad_cn.manual_seed(3)
    w = tinygrad_cn.empty(100000)
    init.trunc_normal_(w, mean=0.5, std=1.0, a=-1.0, b=1.5)
    a = _np(w)
    assert a.min() >= -1.0 and a.max() <= 1.5
    assert np.all(np.isfinite(a))
    # mean of N(0.5, 1) truncated to [-1.5, 1.0] in standard units: mu + sigma*(phi(al)-phi(be))/Z
    al, be = -1.5, 1.0
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    mean = 0.5 + (phi(al) - phi(be)) / (cdf(be) - cdf(al))
    assert abs(a.mean() - mean) < 0.01
    init.trunc_normal_(w, std=0.02)
    assert abs(_np(w).std() - 0.02) < 0.001  # +-2 (i.e. 100 std) truncation does nothing visible


def test_orthogonal():
    tinygrad_cn.manual_seed(4)
    for shape in [(6, 10), (10, 6), (8, 2, 2)]:
        w = tinygrad_cn.empty(*shape)
        init.orthogonal_(w, gain=2.0)
        m = _np(w).reshape(shape[0], -1).astype(np.float64)
        if m.shape[0] <= m.shape[1]:
            np.testing.assert_allclose(m @ m.T, 4 * np.eye(m.shape[0]), atol=1e-5)
        else:
            np.testing.assert_allclose(m.T @ m, 4 * np.eye(m.shape[1]), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(tinygrad_cn.empty(3))


def test_init_in_place_outside_autograd():
    p = nn.Parameter(tinygrad_cn.empty(4, 3))
    v = p._version
    for fn in (init.uniform_, init.normal_, init.zeros_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_, init.trunc_normal_):
        out = fn(p)
        assert out is p and p.grad_fn is None and p.requires_grad and p.is_leaf
    assert p._version > v
    p.sum().backward()  # still a leaf that accumulates gradients
    assert p.grad is not None
    h = tinygrad_cn.empty(3, 3, dtype=tinygrad_cn.float64)
    init.normal_(h)
    assert h.dtype == tinygrad_cn.float64


def test_reproducible_with_manual_seed_and_generator():
    def draw():
        w = tinygrad_cn.empty(5, 5)
        init.kaiming_uniform_(w)
        init.normal_(w[0])
        return _np(w).copy()

    tinygrad_cn.manual_seed(42)
    a = draw()
    tinygrad_cn.manual_seed(42)
    b = draw()
    assert np.array_equal(a, b)
    g1, g2 = tinygrad_cn.Generator().manual_seed(7), tinygrad_cn.Generator().manual_seed(7)
    x, y = tinygrad_cn.empty(10), tinygrad_cn.empty(10)
    init.uniform_(x, generator=g1)
    init.uniform_(y, generator=g2)
    assert np.array_equal(_np(x), _np(y))


def test_zero_element_kaiming_warns():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(tinygrad_cn.empty(0, 3))


# ==========================================================================
# 3. nn.utils
# ==========================================================================
def _twin_models(torch):
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    vals = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in shapes]
    ours = [nn.Parameter(tinygrad_cn.tensor(v)) for v in vals]
    for p, g in zip(ours, grads):
        p.grad = tinygrad_cn.tensor(g)
    theirs = None
    if torch is not None:
        theirs = [torch.nn.Parameter(torch.tensor(v)) for v in vals]
        for p, g in zip(theirs, grads):
            p.grad = torch.tensor(g)
    return ours, theirs, grads


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1000.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    ours, theirs, _ = _twin_models(torch)
    nt = float(norm_type)
    to = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=nt)
    tt = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=nt)
    assert isinstance(to, tinygrad_cn.Tensor) and to.ndim == 0
    assert to.item() == pytest.approx(tt.item(), rel=1e-5)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(_np(p.grad), q.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_clip_grad_norm_without_torch():
    ours, _, grads = _twin_models(None)
    total = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    out = nn.utils.clip_grad_norm_(iter(ours), max_norm=1.0)
    assert out.item() == pytest.approx(total, rel=1e-5)
    new = math.sqrt(sum(float((_np(p.grad).astype(np.float64) ** 2).sum()) for p in ours))
    assert new == pytest.approx(1.0, rel=1e-4)
    single = nn.Parameter(tinygrad_cn.ones(3))
    single.grad = tinygrad_cn.full((3,), 2.0)
    assert nn.utils.clip_grad_norm_(single, 100.0).item() == pytest.approx(math.sqrt(12))
    assert np.allclose(_np(single.grad), 2.0)  # below max_norm: untouched
    assert nn.utils.clip_grad_norm_([nn.Parameter(tinygrad_cn.ones(2))], 1.0).item() == 0.0  # no grads


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(tinygrad_cn.ones(2))
    p.grad = tinygrad_cn.tensor([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert math.isinf(nn.utils.clip_grad_norm_([p], 1.0).item())


def test_clip_grad_value():
    ours, theirs, grads = _twin_models(None)
    assert nn.utils.clip_grad_value_(ours, 0.5) is None
    for p, g in zip(ours, grads):
        np.testing.assert_array_equal(_np(p.grad), np.clip(g, -0.5, 0.5))


def test_parameters_to_vector_and_back():
    m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = nn.utils.parameters_to_vector(m.parameters())
    assert vec.shape == (3 * 2 + 2 + 2 + 1,)
    assert np.array_equal(_np(vec), np.concatenate([_np(p).ravel() for p in m.parameters()]))
    new = tinygrad_cn.arange(11, dtype=tinygrad_cn.float32)
    nn.utils.vector_to_parameters(new, m.parameters())
    assert np.array_equal(_np(m[0].weight), np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.array_equal(_np(m[1].bias), [10.0])
    assert isinstance(m[0].weight, nn.Parameter) and m[0].weight.requires_grad
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], m.parameters())
    # gradient flows through parameters_to_vector
    (nn.utils.parameters_to_vector(m.parameters()) ** 2).sum().backward()
    np.testing.assert_allclose(_np(m[0].weight.grad), 2 * _np(m[0].weight))
