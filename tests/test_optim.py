"""tinygrad_cn.optim without torch: trajectories against a float64 reference
written here from the update formulas, both implementation paths (fused
kernel and NumPy), the Optimizer base class (groups, zero_grad, closure,
state_dict round trips through tinygrad_cn.save / load, errors) and LBFGS.
"""
import math
import pydoc

import numpy as np
import pytest

import tinygrad_cn as tg
from tinygrad_cn import optim

NSTEPS = 20
SHAPES = {"W": (4, 3), "b": (5,), "s": ()}


# --------------------------------------------------------------------------
# the float64 reference: the textbook update of each optimizer
# --------------------------------------------------------------------------

def _loss_grad(p, a):
    """L = sum(cos(2 p)) + 0.5 * sum(a p^2): gradient -2 sin(2p) + a p."""
    return -2 * np.sin(2 * p) + a * p


def _loss(p, a):
    return (2 * p).cos().sum() + 0.5 * (a * p * p).sum()


class Ref:
    """One parameter's optimizer, in float64, from the formulas."""

    def __init__(self, name, kw, shape):
        self.name, self.kw, self.t = name, kw, 0
        z = lambda: np.zeros(shape)  # noqa: E731
        self.m, self.v, self.vmax, self.buf, self.ga = z(), z(), z(), None, z()
        self.s = np.full(shape, kw.get("initial_accumulator_value", 0.0))
        self.u, self.mu_product = z(), 1.0

    def step(self, p, g):
        k, n = self.kw, self.name
        self.t += 1
        t, lr, wd = self.t, k["lr"], k.get("weight_decay", 0.01 if n == "AdamW" else 0.0)
        if k.get("maximize"):
            g = -g
        decoupled = n == "AdamW" or k.get("decoupled_weight_decay")
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        b1, b2 = k.get("betas", (0.9, 0.999))
        eps = k.get("eps")
        if n == "SGD":
            mom, damp = k.get("momentum", 0.0), k.get("dampening", 0.0)
            if mom:
                self.buf = g.copy() if self.buf is None else mom * self.buf + (1 - damp) * g
                g = g + mom * self.buf if k.get("nesterov") else self.buf
            return p - lr * g
        if n in ("Adam", "AdamW"):
            eps = 1e-8 if eps is None else eps
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            v = self.v
            if k.get("amsgrad"):
                self.vmax = np.maximum(self.vmax, self.v)
                v = self.vmax
            m_hat, v_hat = self.m / (1 - b1 ** t), v / (1 - b2 ** t)
            return p - lr * m_hat / (np.sqrt(v_hat) + eps)
        if n == "Adagrad":
            eps = 1e-10 if eps is None else eps
            clr = lr / (1 + (t - 1) * k.get("lr_decay", 0.0))
            self.s = self.s + g * g
            return p - clr * g / (np.sqrt(self.s) + eps)
        if n == "RMSprop":
            eps, alpha, mom = 1e-8 if eps is None else eps, k.get("alpha", 0.99), k.get("momentum", 0.0)
            self.v = alpha * self.v + (1 - alpha) * g * g
            v = self.v
            if k.get("centered"):
                self.ga = alpha * self.ga + (1 - alpha) * g
                v = v - self.ga ** 2
            step = g / (np.sqrt(v) + eps)
            if mom > 0:
                self.buf = mom * (0 if self.buf is None else self.buf) + step
                step = self.buf
            return p - lr * step
        if n == "Adadelta":
            eps, rho = 1e-6 if eps is None else eps, k.get("rho", 0.9)
            self.v = rho * self.v + (1 - rho) * g * g
            delta = np.sqrt(self.u + eps) / np.sqrt(self.v + eps) * g
            self.u = rho * self.u + (1 - rho) * delta * delta
            return p - lr * delta
        if n == "Adamax":
            eps = 1e-8 if eps is None else eps
            self.m = b1 * self.m + (1 - b1) * g
            self.u = np.maximum(b2 * self.u, np.abs(g) + eps)
            return p - lr / (1 - b1 ** t) * self.m / self.u
        if n == "NAdam":
            eps, psi = 1e-8 if eps is None else eps, k.get("momentum_decay", 4e-3)
            mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
            mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
            self.mu_product *= mu
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            denom = np.sqrt(self.v / (1 - b2 ** t)) + eps
            p = p - lr * (1 - mu) / (1 - self.mu_product) * g / denom
            return p - lr * mu_next / (1 - self.mu_product * mu_next) * self.m / denom
        if n == "RAdam":
            eps = 1e-8 if eps is None else eps
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            m_hat = self.m / (1 - b1 ** t)
            rho_inf = 2 / (1 - b2) - 1
            rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
            if rho_t > 5:
                l_t = math.sqrt(1 - b2 ** t) / (np.sqrt(self.v) + eps)
                r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                return p - lr * m_hat * l_t * r_t
            return p - lr * m_hat
        raise AssertionError(n)


CASES = {
    "SGD": (0.05, [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5}, {"momentum": 0.9, "nesterov": True},
                   {"weight_decay": 0.1}, {"maximize": True},
                   {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05, "maximize": True}]),
    "Adam": (0.01, [{}, {"betas": (0.8, 0.99)}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"amsgrad": True},
                    {"maximize": True}, {"decoupled_weight_decay": True, "weight_decay": 0.1},
                    {"amsgrad": True, "weight_decay": 0.05, "maximize": True}]),
    "AdamW": (0.01, [{}, {"amsgrad": True}, {"weight_decay": 0.5, "maximize": True}]),
    "Adagrad": (0.1, [{}, {"lr_decay": 0.05}, {"weight_decay": 0.1}, {"initial_accumulator_value": 0.5},
                      {"eps": 1e-3}, {"maximize": True},
                      {"lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "maximize": True}]),
    "RMSprop": (0.01, [{}, {"alpha": 0.9}, {"eps": 1e-3}, {"centered": True}, {"momentum": 0.9},
                       {"weight_decay": 0.1}, {"maximize": True},
                       {"centered": True, "momentum": 0.5, "weight_decay": 0.05, "maximize": True}]),
    "Adadelta": (1.0, [{}, {"lr": 0.5}, {"rho": 0.5}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"maximize": True}]),
    "Adamax": (0.01, [{}, {"betas": (0.8, 0.99)}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"maximize": True}]),
    "NAdam": (0.01, [{}, {"betas": (0.8, 0.99)}, {"momentum_decay": 0.01}, {"weight_decay": 0.1},
                     {"decoupled_weight_decay": True, "weight_decay": 0.1}, {"maximize": True}]),
    "RAdam": (0.01, [{}, {"betas": (0.8, 0.9)}, {"weight_decay": 0.1},
                     {"decoupled_weight_decay": True, "weight_decay": 0.1}, {"maximize": True}]),
}
FUSED_CAPABLE = {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam"}
ALL = sorted(CASES)


def _start(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {k: np.asarray(rng.standard_normal(s), dtype=dtype) for k, s in SHAPES.items()}


def _curvature(dtype=np.float64):
    rng = np.random.default_rng(7)
    return {k: np.asarray(rng.uniform(0.5, 2.0, s), dtype=dtype) for k, s in SHAPES.items()}


def _run(name, kw, nsteps=NSTEPS, dtype=np.float64, start=None):
    """Our trajectory: [{name: array}] after each step (gradients from autograd)."""
    start = _start(dtype) if start is None else start
    a = {k: tg.tensor(v) for k, v in _curvature(dtype).items()}
    ps = {k: tg.tensor(v.copy(), requires_grad=True) for k, v in start.items()}
    opt = getattr(optim, name)(list(ps.values()), **kw)
    out = []
    for _ in range(nsteps):
        opt.zero_grad()
        sum(_loss(ps[k], a[k]) for k in ps).backward()
        opt.step()
        out.append({k: p.detach().numpy().copy() for k, p in ps.items()})
    return out, opt, ps


def _reference(name, kw, nsteps=NSTEPS):
    ps, a = _start(), _curvature()
    refs = {k: Ref(name, kw, SHAPES[k]) for k in ps}
    out = []
    for _ in range(nsteps):
        ps = {k: refs[k].step(ps[k], _loss_grad(ps[k], a[k])) for k in ps}
        out.append({k: v.copy() for k, v in ps.items()})
    return out


def _params():
    for name, (lr, opts) in CASES.items():
        for kw in opts:
            yield pytest.param(name, {"lr": lr, **kw}, id=f"{name}-{kw}")


@pytest.mark.parametrize("fused", [None, False], ids=["fused", "numpy"])
@pytest.mark.parametrize("name,kw", list(_params()))
def test_trajectory_matches_formulas(name, kw, fused):
    ours_kw = kw if fused is None or name not in FUSED_CAPABLE else {**kw, "fused": False}
    ours, _, _ = _run(name, ours_kw)
    for i, (a, b) in enumerate(zip(ours, _reference(name, kw))):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-6, atol=1e-6, err_msg=f"step {i + 1}, {k}")


@pytest.mark.parametrize("name", sorted(FUSED_CAPABLE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_and_numpy_paths_agree_bit_for_bit(name, dtype):
    """The kernels follow the NumPy path operation by operation."""
    lr, opts = CASES[name]
    kw = {"lr": lr, **opts[-1]}
    fused, _, _ = _run(name, kw, nsteps=10, dtype=dtype)
    numpy_, _, _ = _run(name, {**kw, "fused": False}, nsteps=10, dtype=dtype)
    for a, b in zip(fused, numpy_):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


# --------------------------------------------------------------------------
# layouts and dtypes the kernels cannot take, groups of mixed dtypes
# --------------------------------------------------------------------------

def _steps_on(tensors, name, kw, nsteps=8):
    opt = getattr(optim, name)(tensors, **kw)
    for _ in range(nsteps):
        opt.zero_grad()
        sum(((t * t).sum() + t.sin().sum()) for t in tensors).backward()
        opt.step()
    return opt


@pytest.mark.parametrize("name", ALL)
def test_non_contiguous_and_read_only_like_contiguous(name):
    base = np.random.default_rng(3).standard_normal((3, 4))
    kw = {"lr": CASES[name][0], **CASES[name][1][-1]}
    plain = tg.tensor(base.T.copy(), requires_grad=True)
    strided = tg.tensor(base.copy()).t().detach().requires_grad_()  # transposed view: not C-contiguous
    assert not strided.is_contiguous()
    _steps_on([plain], name, kw)
    _steps_on([strided], name, kw)
    np.testing.assert_allclose(strided.detach().numpy(), plain.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_float16_parameter_steps_in_float32():
    p16 = tg.tensor(np.linspace(-1, 1, 6), dtype=tg.float16, requires_grad=True)
    p32 = tg.tensor(np.linspace(-1, 1, 6).astype(np.float16).astype(np.float32), requires_grad=True)
    _steps_on([p16], "Adam", {"lr": 0.01})
    opt = _steps_on([p32], "Adam", {"lr": 0.01})
    assert p16.dtype == tg.float16
    np.testing.assert_allclose(p16.detach().numpy().astype(np.float32), p32.detach().numpy(), atol=2e-3)
    assert opt.state[p32]["exp_avg"].dtype == tg.float32


def test_mixed_dtypes_in_one_group_match_separate_optimizers():
    base = np.random.default_rng(4).standard_normal(7)
    a32, a64 = tg.tensor(base.astype(np.float32), requires_grad=True), tg.tensor(base, requires_grad=True)
    b32, b64 = tg.tensor(base.astype(np.float32), requires_grad=True), tg.tensor(base, requires_grad=True)
    _steps_on([a32, a64], "Adam", {"lr": 0.1})
    _steps_on([b32], "Adam", {"lr": 0.1})
    _steps_on([b64], "Adam", {"lr": 0.1})
    np.testing.assert_array_equal(a32.detach().numpy(), b32.detach().numpy())
    np.testing.assert_array_equal(a64.detach().numpy(), b64.detach().numpy())


def test_parameters_without_grad_are_skipped():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.detach().numpy().tolist() == [3.0, 4.0]
    assert b not in opt.state and a in opt.state
    assert float(opt.state[a]["step"]) == 1.0


def test_sgd_momentum_buffer_starts_at_the_first_gradient_of_each_parameter():
    """A parameter that gets its first gradient late has its buffer set to
    that gradient, while the others keep accumulating (two kernel calls)."""
    a = tg.tensor([1.0, -1.0], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([0.5, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    ra, rb = Ref("SGD", {"lr": 0.1, "momentum": 0.9}, (2,)), Ref("SGD", {"lr": 0.1, "momentum": 0.9}, (2,))
    xa, xb = a.detach().numpy().copy(), b.detach().numpy().copy()
    for i in range(6):
        opt.zero_grad()
        loss = (a * a).sum() + ((b * b).sum() if i >= 2 else 0)
        loss.backward()
        opt.step()
        xa = ra.step(xa, 2 * xa)
        if i >= 2:
            xb = rb.step(xb, 2 * xb)
        np.testing.assert_allclose(a.detach().numpy(), xa, rtol=1e-12)
        np.testing.assert_allclose(b.detach().numpy(), xb, rtol=1e-12)


def test_replacing_param_data_is_picked_up():
    """The cached per-group lists follow a parameter whose array was replaced."""
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    for value in ([1.0, 2.0], [10.0, 20.0]):
        p.data = tg.tensor(value)
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), np.array(value) * 0.0)  # p - 0.5 * 2p


def test_step_bumps_the_version_counter():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    (p * p).sum().backward()
    v = p._version
    opt.step()
    assert p._version > v


def test_changing_options_between_steps():
    """Options are read from the group at every step (as schedulers need)."""
    p = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * 1.0).sum().backward()
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    assert p.item() == pytest.approx(1.0 - 0.1 - 0.5)
    opt.param_groups[0]["momentum"] = 0.9  # a buffer appears
    opt.step()
    assert "momentum_buffer" in opt.state[p]


# --------------------------------------------------------------------------
# Optimizer base: groups, zero_grad, closure, errors, repr, help
# --------------------------------------------------------------------------

def test_param_groups_and_defaults():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.defaults["lr"] == 0.1
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    c = tg.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert len(opt.param_groups) == 3 and opt.param_groups[2]["nesterov"] is False
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([c])


def test_group_learning_rates_apply():
    a, b = tg.tensor([1.0], requires_grad=True), tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a + b).sum().backward()
    opt.step()
    assert (a.item(), b.item()) == (pytest.approx(0.9), pytest.approx(0.5))


def test_constructor_errors():
    p = tg.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts, but got torch.FloatTensor"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="ordering of tensors in sets will change"):
        optim.Adam([{"params": {p}}])
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors, but one of the params is int"):
        optim.Adam([1])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([p * 2])
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -1$"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match=r"^Invalid beta parameter at index 1: 1.0$"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([p], nesterov=True)
    with pytest.raises(RuntimeError, match="`fused` and `foreach` cannot be `True` together."):
        optim.Adam([p], fused=True, foreach=True)
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS([{"params": [p]}, {"params": [tg.zeros(1, requires_grad=True)]}])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p, p])


def test_zero_grad():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad()
    assert p.grad is None
    (p * p).sum().backward()
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and p.grad.numpy().tolist() == [0.0, 0.0]


def test_step_with_closure_returns_its_loss_under_enable_grad():
    p = tg.tensor([3.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0 and p.item() == pytest.approx(1.5)
    assert opt.step() is None


def test_repr():
    opt = optim.SGD([tg.zeros(1, requires_grad=True)], lr=0.1)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n"
                         "    fused: None\n    lr: 0.1\n    maximize: False\n    momentum: 0\n    nesterov: False\n"
                         "    weight_decay: 0\n)")


def test_help_shows_the_update_formula():
    text = pydoc.render_doc(optim.Adam, renderer=pydoc.plaintext)
    assert "m_t = beta1 * m_{t-1} + (1 - beta1) * g_t" in text
    assert "theta = theta - gamma * m_hat / (sqrt(v_hat) + eps)" in text
    for name in ALL + ["LBFGS"]:
        doc = getattr(optim, name).__doc__
        assert "Algorithm" in doc or "iterations" in doc, name
        assert "Example::" in doc, name


# --------------------------------------------------------------------------
# state_dict
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_through_save_continues_the_trajectory(name, tmp_path):
    lr, opts = CASES[name]
    kw = {"lr": lr, **opts[-1]}
    full, _, _ = _run(name, kw, nsteps=12)
    _, opt, ps = _run(name, kw, nsteps=6)
    path = tmp_path / "opt.tgcn"
    tg.save(opt.state_dict(), str(path))
    # a fresh model and optimizer, restored from the file
    ps2 = {k: tg.tensor(p.detach().numpy().copy(), requires_grad=True) for k, p in ps.items()}
    opt2 = getattr(optim, name)(list(ps2.values()), **{**kw, "lr": 123.0})
    opt2.load_state_dict(tg.load(str(path)))
    assert opt2.param_groups[0]["lr"] == lr
    a = {k: tg.tensor(v) for k, v in _curvature().items()}
    for i in range(6):
        opt2.zero_grad()
        sum(_loss(ps2[k], a[k]) for k in ps2).backward()
        opt2.step()
        for k in ps2:
            np.testing.assert_array_equal(ps2[k].detach().numpy(), full[6 + i][k])


def test_state_dict_format():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.1}])
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert list(sd["state"]) == [0, 1]
    assert list(sd["state"][0]) == ["step", "exp_avg", "exp_avg_sq"]
    step = sd["state"][1]["step"]
    assert step.dtype == tg.float32 and step.shape == () and step.item() == 1.0
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["betas"] == (0.9, 0.999)


def test_step_state_is_float64_under_default_float64():
    old = tg.get_default_dtype()
    tg.set_default_dtype(tg.float64)
    try:
        p = tg.zeros(2, requires_grad=True)
        opt = optim.NAdam([p])
        p.sum().backward()
        opt.step()
        assert opt.state[p]["step"].dtype == tg.float64 and opt.state[p]["mu_product"].dtype == tg.float64
    finally:
        tg.set_default_dtype(old)


def test_load_state_dict_errors():
    a, b = tg.zeros(2, requires_grad=True), tg.zeros(3, requires_grad=True)
    one, two = optim.Adam([a, b]), optim.Adam([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="^loaded state dict has a different number of parameter groups$"):
        one.load_state_dict(two.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        one.load_state_dict(optim.Adam([a]).state_dict())
    # a state tensor of another shape
    c, d = tg.zeros(4, requires_grad=True), tg.zeros(3, requires_grad=True)
    other = optim.Adam([c, d])
    (c.sum() + d.sum()).backward()
    other.step()
    with pytest.raises(ValueError, match="'exp_avg' of shape \\(4,\\) for parameter 0 of shape \\(2,\\)"):
        one.load_state_dict(other.state_dict())


def test_load_state_dict_copies_state():
    """The loaded optimizer owns its arrays: stepping it leaves the source alone."""
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([p])
    (p * p).sum().backward()
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["exp_avg"].numpy().copy()
    q = tg.tensor([1.0, 2.0], requires_grad=True)
    opt2 = optim.Adam([q])
    opt2.load_state_dict(sd)
    (q * q).sum().backward()
    opt2.step()
    np.testing.assert_array_equal(opt.state[p]["exp_avg"].numpy(), before)
    assert opt2.state[q]["step"].item() == 2.0


# --------------------------------------------------------------------------
# LBFGS
# --------------------------------------------------------------------------

def _rosenbrock_closure(opt, x):
    def closure():
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss
    return closure


def test_lbfgs_strong_wolfe_reaches_the_rosenbrock_minimum(tmp_path):
    x = tg.tensor([-1.5, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([x], lr=1, max_iter=100, history_size=10, line_search_fn="strong_wolfe",
                      tolerance_grad=1e-10, tolerance_change=1e-14)
    closure = _rosenbrock_closure(opt, x)
    first = opt.step(closure)
    assert first.item() == pytest.approx(2.5 ** 2 + 100 * 0.25 ** 2)
    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-6)
    # its state (lists of tensors, floats) survives tinygrad_cn.save / load
    tg.save(opt.state_dict(), str(tmp_path / "lbfgs.tgcn"))
    sd = tg.load(str(tmp_path / "lbfgs.tgcn"))
    assert sd["state"][0]["n_iter"] == opt.state[x]["n_iter"] and isinstance(sd["state"][0]["old_dirs"], list)
    opt2 = optim.LBFGS([x], line_search_fn="strong_wolfe")
    opt2.load_state_dict(sd)
    opt2.step(closure)


def test_lbfgs_without_line_search_descends():
    x = tg.tensor([-1.5, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([x], lr=0.1, max_iter=50)
    closure = _rosenbrock_closure(opt, x)
    first = opt.step(closure).item()
    assert opt.step(closure).item() < first
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        optim.LBFGS([x], line_search_fn="armijo").step(closure)


@pytest.mark.parametrize("fused,expect", [(None, "kernel"), (True, "kernel"), (False, "numpy"), ("foreach", "kernel")])
def test_fused_switch_selects_the_implementation(monkeypatch, fused, expect):
    """One kernel call per step for the whole group by default; the NumPy
    reference with fused=False."""
    from tinygrad_cn._C import kernels as K, reference as R
    calls = []
    for mod, tag in ((K, "kernel"), (R, "numpy")):
        real = getattr(mod, "adam_step")
        monkeypatch.setattr(mod, "adam_step", lambda *a, _real=real, _tag=tag, **k: (calls.append((_tag, len(a[0]))),
                                                                                      _real(*a, **k))[1])
    ps = [tg.zeros(3, requires_grad=True), tg.zeros(2, 2, requires_grad=True), tg.zeros(1, requires_grad=True)]
    opt = optim.Adam(ps, foreach=True) if fused == "foreach" else optim.Adam(ps, fused=fused)
    for _ in range(2):
        sum(p.sum() for p in ps).backward()
        opt.step()
    assert calls == [(expect, 3), (expect, 3)]


def test_step_counters_advance_only_for_parameters_with_gradients():
    """The cached plan changes with the set of parameters that have a
    gradient; each parameter's own step count stays right."""
    a = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([3.0], dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    ra, rb = Ref("Adam", {"lr": 0.1}, (2,)), Ref("Adam", {"lr": 0.1}, (1,))
    xa, xb = a.detach().numpy().copy(), b.detach().numpy().copy()
    for i in range(7):
        opt.zero_grad()
        with_b = i % 3 != 1
        ((a * a).sum() + ((b * b).sum() if with_b else 0)).backward()
        opt.step()
        xa = ra.step(xa, 2 * xa)
        if with_b:
            xb = rb.step(xb, 2 * xb)
        np.testing.assert_allclose(a.detach().numpy(), xa, rtol=1e-12)
        np.testing.assert_allclose(b.detach().numpy(), xb, rtol=1e-12)
    assert opt.state[a]["step"].item() == 7 and opt.state[b]["step"].item() == 5
    opt.state[a]["step"].fill_(0.0)  # the counters are the optimizer's live state, as in torch
    opt.zero_grad()
    (a * a).sum().backward()
    opt.step()
    assert opt.state[a]["step"].item() == 1


# --------------------------------------------------------------------------
# property: any shapes (empty ones too), any layout, any options
# --------------------------------------------------------------------------

try:
    from hypothesis import given, strategies as st
    from tinygrad_cn.testing.strategies import LAYOUTS, float_arrays, shapes, to_layout
except ImportError:  # hypothesis is in the `test` extra
    given = None


if given is not None:
    @st.composite
    def _problems(draw):
        name = draw(st.sampled_from(ALL))
        lr, opts = CASES[name]
        kw = {"lr": lr, **draw(st.sampled_from(opts))}
        arrays = draw(st.lists(float_arrays(shape=shapes(max_dims=3, min_side=0, max_side=4)), min_size=1,
                               max_size=3))
        layouts = draw(st.lists(st.sampled_from(LAYOUTS), min_size=len(arrays), max_size=len(arrays)))
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        return name, kw, [a.astype(dtype) for a in arrays], layouts

    @given(_problems())
    def test_layout_and_grouping_do_not_change_the_trajectory(problem):
        """Parameters in any memory layout, in one group, follow the same
        trajectory as C-contiguous copies each in an optimizer of its own."""
        name, kw, arrays, layouts = problem
        together = [tg.from_numpy(to_layout(a, lay)).requires_grad_() for a, lay in zip(arrays, layouts)]
        alone = [tg.tensor(a.copy(), requires_grad=True) for a in arrays]
        _steps_on(together, name, kw, nsteps=3)
        for t in alone:
            _steps_on([t], name, kw, nsteps=3)
        for x, y in zip(together, alone):
            tol = 1e-5 if x.dtype == tg.float32 else 1e-12
            np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "NAdam"])
def test_trains_a_module(name):
    """PyTorch-style training loop on an nn module: the loss drops."""
    torch = tg  # the same code runs under `import torch`
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((64, 4)).astype(np.float32)
    x, y = torch.tensor(xs), torch.tensor((xs[:, 0] - xs[:, 1] > 0).astype(np.int64))
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    kw = {"lr": 0.1, "momentum": 0.9} if name == "SGD" else {"lr": 0.02}
    opt = getattr(torch.optim, name)(model.parameters(), **kw)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_resetting_the_state_dict_restarts_the_optimizer():
    from collections import defaultdict
    p = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    opt.state = defaultdict(dict)  # a common way to reset an optimizer
    opt.zero_grad()
    (p * p).sum().backward()
    before = p.detach().numpy().copy()
    opt.step()
    assert opt.state[p]["step"].item() == 1.0
    np.testing.assert_allclose(before - p.detach().numpy(), [0.1, 0.1], rtol=1e-6)  # Adam's first step is lr


def test_hooks():
    from tinygrad_cn.optim.optimizer import register_optimizer_step_post_hook
    p = tg.tensor([1.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.5)
    calls = []

    def pre(o, args, kwargs):
        calls.append("pre")
        return (), {"closure": lambda: calls.append("closure") or 7.0}  # pre hooks may replace the arguments

    h_pre = opt.register_step_pre_hook(pre)
    opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
    h_glob = register_optimizer_step_post_hook(lambda o, a, k: calls.append("global post"))
    try:
        (p * 1.0).sum().backward()
        assert opt.step() == 7.0
    finally:
        h_glob.remove()
    assert calls == ["pre", "closure", "post", "global post"]
    h_pre.remove()
    calls.clear()
    opt.step()
    assert calls == ["post"]

    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    assert opt.state_dict()["extra"] == 1
    seen = []
    opt.register_load_state_dict_pre_hook(lambda o, sd: seen.append(sorted(sd)))
    opt.register_load_state_dict_post_hook(lambda o: seen.append("loaded"))
    opt.load_state_dict(opt.state_dict())
    assert seen == [["extra", "param_groups", "state"], "loaded"]


def test_custom_optimizer_subclass_torch_style():
    """An optimizer written the torch way on the base class: p.grad, self.state[p], no_grad, hooks."""
    class SignSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @tg.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self.state[p]["n"] = self.state[p].get("n", 0) + 1
                    p.add_(p.grad.sign(), alpha=-group["lr"])

    p = tg.tensor([1.0, -2.0], requires_grad=True)
    opt = SignSGD([p])
    posts = []
    opt.register_step_post_hook(lambda o, a, k: posts.append(1))
    (p * p).sum().backward()
    opt.step()
    assert p.detach().numpy().tolist() == pytest.approx([0.9, -1.9]) and posts == [1]
    assert opt.state_dict()["state"] == {0: {"n": 1}}


@pytest.mark.parametrize("name", ["Adam", "SGD", "LBFGS"])
def test_live_tensor_count_stays_flat(name):
    """No tensors pile up over training steps (cached plans, state, LBFGS history)."""
    import gc

    def live():
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, tg.Tensor))

    w = tg.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    kw = {"history_size": 3, "max_iter": 2} if name == "LBFGS" else {"lr": 0.01}
    opt = getattr(optim, name)([w], **kw)

    def closure():
        opt.zero_grad()
        loss = ((w - 0.5) ** 2).sum()
        loss.backward()
        return loss

    counts = []
    for step in range(60):
        opt.step(closure)
        if step in (20, 59):
            counts.append(live())
    assert counts[1] <= counts[0]
