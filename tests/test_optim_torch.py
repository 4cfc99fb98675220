"""tinygrad_cn.optim against torch.optim (the oracle), step by step.

The same code drives both libraries (``lib`` is tinygrad_cn or torch): the
same start weights, the same loss, hence the same gradients, 20 steps. Each
optimizer runs with every option of the issue, on the fused-kernel path
(``fused`` default) and on the NumPy path (``fused=False``), against torch's
default (single-tensor) implementation. float64 trajectories must agree to
1e-6 (they agree to about 1e-13); float32 to 1e-5.

Skips without torch.
"""
import numpy as np
import pytest

import tinygrad_cn as tg

torch = pytest.importorskip("torch")

NSTEPS = 20

#: optimizer name -> (lr used in the test, option dicts); one dict per option
#: and a few combinations.
CASES = {
    "SGD": (0.05, [{}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5}, {"momentum": 0.9, "nesterov": True},
                   {"weight_decay": 0.1}, {"maximize": True},
                   {"momentum": 0.8, "nesterov": True, "weight_decay": 0.05, "maximize": True}]),
    "Adam": (0.01, [{}, {"betas": (0.8, 0.99)}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"amsgrad": True},
                    {"maximize": True}, {"decoupled_weight_decay": True, "weight_decay": 0.1},
                    {"amsgrad": True, "weight_decay": 0.05, "maximize": True}]),
    "AdamW": (0.01, [{}, {"amsgrad": True}, {"weight_decay": 0.5, "maximize": True}, {"betas": (0.5, 0.9)}]),
    "Adagrad": (0.1, [{}, {"lr_decay": 0.05}, {"weight_decay": 0.1}, {"initial_accumulator_value": 0.5},
                      {"eps": 1e-3}, {"maximize": True},
                      {"lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.1, "maximize": True}]),
    "RMSprop": (0.01, [{}, {"alpha": 0.9}, {"eps": 1e-3}, {"centered": True}, {"momentum": 0.9},
                       {"weight_decay": 0.1}, {"maximize": True},
                       {"centered": True, "momentum": 0.5, "weight_decay": 0.05, "maximize": True}]),
    "Adadelta": (1.0, [{}, {"lr": 0.5}, {"rho": 0.5}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"maximize": True},
                       {"rho": 0.8, "weight_decay": 0.1, "maximize": True}]),
    "Adamax": (0.01, [{}, {"betas": (0.8, 0.99)}, {"eps": 1e-3}, {"weight_decay": 0.1}, {"maximize": True},
                      {"weight_decay": 0.1, "maximize": True}]),
    "NAdam": (0.01, [{}, {"betas": (0.8, 0.99)}, {"momentum_decay": 0.01}, {"weight_decay": 0.1},
                     {"decoupled_weight_decay": True, "weight_decay": 0.1}, {"maximize": True}]),
    "RAdam": (0.01, [{}, {"betas": (0.8, 0.9)}, {"weight_decay": 0.1},
                     {"decoupled_weight_decay": True, "weight_decay": 0.1}, {"maximize": True}]),
}
FUSED_CAPABLE = {"SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam"}


def _start(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.standard_normal((5, 3)).astype(dtype) * 0.5,
            "b": rng.standard_normal(3).astype(dtype) * 0.1,
            "c": rng.standard_normal((2, 2)).astype(dtype)}


def _loss(lib, ps, X):
    """A smooth, bounded loss (maximize must not diverge) with a different
    gradient scale per parameter."""
    h = (X @ ps["W"] + ps["b"]).tanh()
    return (h * h).sum() + ps["c"].cos().sum() * 2 + (ps["c"] * 0.5).sin().sum()


def _trajectory(lib, name, kw, dtype, nsteps=NSTEPS, noncontig=False):
    """[{name: array}] after each step, for lib in (tinygrad_cn, torch)."""
    start = _start(dtype)
    X = lib.tensor(np.random.default_rng(1).standard_normal((4, 5)).astype(dtype))
    ps = {}
    for k, v in start.items():
        if noncontig and k == "W":  # a transposed leaf: its array is not C-contiguous
            ps[k] = lib.tensor(np.ascontiguousarray(v.T)).t().detach().requires_grad_()
        else:
            ps[k] = lib.tensor(v.copy(), requires_grad=True)
    opt = getattr(lib.optim, name)(list(ps.values()), **kw)
    out = []
    for _ in range(nsteps):
        opt.zero_grad()
        _loss(lib, ps, X).backward()
        opt.step()
        out.append({k: p.detach().numpy().copy() for k, p in ps.items()})
    return out


def _compare(ours, theirs, tol):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=tol, atol=tol, err_msg=f"step {i + 1}, param {k}")


def _params():
    for name, (lr, opts) in CASES.items():
        for kw in opts:
            yield pytest.param(name, {"lr": lr, **kw}, id=f"{name}-{kw}")


@pytest.mark.parametrize("fused", [None, False], ids=["fused", "numpy"])
@pytest.mark.parametrize("name,kw", list(_params()))
def test_trajectory_float64(name, kw, fused):
    ours_kw = dict(kw) if fused is None or name not in FUSED_CAPABLE else {**kw, "fused": False}
    ours = _trajectory(tg, name, ours_kw, np.float64)
    theirs = _trajectory(torch, name, kw, np.float64)
    _compare(ours, theirs, 1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_trajectory_float32(name):
    lr, opts = CASES[name]
    kw = {"lr": lr, **opts[-1]}  # the richest combination
    _compare(_trajectory(tg, name, kw, np.float32), _trajectory(torch, name, kw, np.float32), 1e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "NAdam"])
def test_non_contiguous_parameter_matches(name):
    """A parameter whose array the kernels cannot take goes through the NumPy
    path on working copies and still follows torch."""
    lr, opts = CASES[name]
    kw = {"lr": lr, **opts[-1]}
    _compare(_trajectory(tg, name, kw, np.float64, noncontig=True),
             _trajectory(torch, name, kw, np.float64, noncontig=True), 1e-6)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD", "Adagrad"])
def test_matches_torch_fused(name):
    lr, opts = CASES[name]
    kw = {"lr": lr, **opts[-1]}
    _compare(_trajectory(tg, name, kw, np.float64), _trajectory(torch, name, {**kw, "fused": True}, np.float64),
             1e-6)


# --------------------------------------------------------------------------
# LBFGS
# --------------------------------------------------------------------------

def _lbfgs_trajectory(lib, kw, nsteps=2):
    """Two step() calls (up to 40 iterations). Agreement is at rounding level
    (1e-14); much further, near the minimum, the quasi-Newton pairs become
    nearly degenerate and a fixed-step run amplifies 1 ulp (dot products
    summed in another order) into visible differences in either library."""
    x = lib.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    y = lib.tensor(np.array([0.3, -0.2, 0.1]), requires_grad=True)
    opt = lib.optim.LBFGS([x, y], **kw)

    def closure():
        opt.zero_grad()
        loss = (1 - x[0]) ** 2 + 5 * (x[1] - x[0] ** 2) ** 2 + ((y - 0.5) ** 2).sum() * 3
        loss.backward()
        return loss

    out = []
    for _ in range(nsteps):
        loss = opt.step(closure)
        out.append((float(loss.detach()), x.detach().numpy().copy(), y.detach().numpy().copy()))
    return out, opt


@pytest.mark.parametrize("kw", [{}, {"lr": 0.5, "max_iter": 7}, {"history_size": 3},
                                {"line_search_fn": "strong_wolfe"},
                                {"line_search_fn": "strong_wolfe", "history_size": 2, "max_iter": 10,
                                 "tolerance_change": 1e-5}],
                         ids=lambda kw: str(kw))
def test_lbfgs_matches_torch(kw):
    ours, opt_a = _lbfgs_trajectory(tg, {"lr": 0.1, **kw} if "line_search_fn" not in kw else kw)
    theirs, opt_b = _lbfgs_trajectory(torch, {"lr": 0.1, **kw} if "line_search_fn" not in kw else kw)
    for (la, xa, ya), (lb, xb, yb) in zip(ours, theirs):
        assert la == pytest.approx(lb, rel=1e-6, abs=1e-9)
        np.testing.assert_allclose(xa, xb, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ya, yb, rtol=1e-6, atol=1e-9)
    sa, sb = opt_a.state_dict()["state"][0], opt_b.state_dict()["state"][0]
    assert sa["func_evals"] == sb["func_evals"] and sa["n_iter"] == sb["n_iter"]


# --------------------------------------------------------------------------
# the same API surface: state names, dtypes, repr, state_dict, errors
# --------------------------------------------------------------------------

ALL = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam"]
RICH = {"SGD": {"momentum": 0.9}, "RMSprop": {"momentum": 0.9, "centered": True}, "Adam": {"amsgrad": True}}


@pytest.mark.parametrize("name", ALL)
def test_state_dict_looks_like_torch(name):
    kw = {"lr": CASES[name][0], **RICH.get(name, {})}

    def run(lib):
        ps = {k: lib.tensor(v, requires_grad=True) for k, v in _start(np.float32).items()}
        opt = getattr(lib.optim, name)(list(ps.values()), **kw)
        X = lib.tensor(np.ones((4, 5), np.float32))
        for _ in range(3):
            opt.zero_grad()
            _loss(lib, ps, X).backward()
            opt.step()
        return opt.state_dict()

    a, b = run(tg), run(torch)
    assert list(a["state"]) == list(b["state"])
    for i in b["state"]:
        assert list(a["state"][i]) == list(b["state"][i])  # same names, same order
        for key, vb in b["state"][i].items():
            va = a["state"][i][key]
            assert tuple(va.shape) == tuple(vb.shape), key
            assert str(va.dtype).split(".")[-1] == str(vb.dtype).split(".")[-1], key
            np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=1e-5, atol=1e-6)
    ga, gb = dict(a["param_groups"][0]), dict(b["param_groups"][0])
    ga.pop("fused", None) if "fused" not in gb else None  # our extra switch on optimizers torch cannot fuse
    assert ga == gb


@pytest.mark.parametrize("name", ALL + ["LBFGS"])
def test_repr_matches_torch(name):
    def make(lib):
        return getattr(lib.optim, name)([lib.zeros(2, requires_grad=True)])

    ours, theirs = repr(make(tg)), repr(make(torch))
    if "fused" not in theirs:
        ours = ours.replace("    fused: None\n", "")
    assert ours == theirs


BAD = [
    ("SGD", {"lr": -1}), ("SGD", {"momentum": -0.5}), ("SGD", {"weight_decay": -1}),
    ("SGD", {"nesterov": True}), ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}),
    ("Adam", {"lr": -1}), ("Adam", {"eps": -1}), ("Adam", {"betas": (1.0, 0.999)}), ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"weight_decay": -1}), ("Adam", {"betas": (0, 0.9)}), ("AdamW", {"lr": -0.1}),
    ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"initial_accumulator_value": -1}), ("Adagrad", {"eps": -1}),
    ("RMSprop", {"alpha": -1}), ("RMSprop", {"momentum": -1}), ("RMSprop", {"eps": -1}),
    ("Adadelta", {"rho": 1.5}), ("Adadelta", {"lr": -1}), ("Adamax", {"betas": (0.9, 1.0)}),
    ("NAdam", {"momentum_decay": -1}), ("RAdam", {"eps": -1}), ("LBFGS", {"lr": -1}),
]


@pytest.mark.parametrize("name,kw", BAD, ids=lambda v: str(v))
def test_invalid_options_raise_like_torch(name, kw):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as ours:
        getattr(tg.optim, name)([tg.zeros(2, requires_grad=True)], **kw)
    assert str(ours.value) == str(theirs.value)


def test_load_state_dict_errors_like_torch():
    def opts(lib):
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
        return lib.optim.Adam([a, b]), lib.optim.Adam([{"params": [a]}, {"params": [b]}]), lib.optim.Adam([a])

    for lib_opts in (opts(tg), opts(torch)):
        one, two, small = lib_opts
        with pytest.raises(ValueError, match="different number of parameter groups"):
            one.load_state_dict(two.state_dict())
        with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
            one.load_state_dict(small.state_dict())


@pytest.mark.parametrize("name,group_kw", [("SGD", {"momentum": 0.5, "nesterov": True}), ("Adam", {"amsgrad": True}),
                                           ("RMSprop", {"centered": True}), ("Adagrad", {"lr_decay": 0.1}),
                                           ("NAdam", {"weight_decay": 0.1})])
def test_groups_and_intermittent_gradients_match_torch(name, group_kw):
    """Two groups with their own options, float32 and float64 parameters in
    one group, and a parameter that only gets a gradient on some steps."""
    def run(lib):
        rng = np.random.default_rng(5)
        a = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        b = lib.tensor(rng.standard_normal(4).astype(np.float32), requires_grad=True)
        c = lib.tensor(rng.standard_normal(2), requires_grad=True)
        opt = getattr(lib.optim, name)([{"params": [a, b]}, {"params": [c], "lr": 0.003, **group_kw}], lr=0.01)
        out = []
        for i in range(12):
            opt.zero_grad()
            loss = (a.sin() * 2).sum() + (b.double() ** 2).sum()
            if i % 3 != 2:
                loss = loss + (c.cos() ** 3).sum()
            loss.backward()
            opt.step()
            out.append({"a": a.detach().numpy().copy(), "b": b.detach().numpy().copy(),
                        "c": c.detach().numpy().copy()})
        return out

    _compare(run(tg), run(torch), 1e-6)


@pytest.mark.parametrize("name", ALL + ["LBFGS"])
def test_constructor_signature_matches_torch(name):
    """Same argument names, kinds, order and defaults (our only extra is
    ``fused`` on the optimizers torch cannot fuse)."""
    import inspect

    def sig(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls.__init__).parameters.values()]

    ours, theirs = sig(getattr(tg.optim, name)), sig(getattr(torch.optim, name))
    if "fused" not in [p[0] for p in theirs]:
        ours = [p for p in ours if p[0] != "fused"]
    assert ours == theirs
