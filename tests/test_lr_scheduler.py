"""Tests of ``tinygrad_cn.optim.lr_scheduler``.

Each scheduler is described once (``CASES``: optimizer kind, constructor,
number of steps) and driven three ways:

* against closed-form formulas written here (no torch needed): the spec of
  each schedule, independent of the implementation's recursive form;
* against torch's own scheduler (the oracle, skipped without torch): every
  lr, every cycled momentum and ``get_last_lr()`` equal bit for bit (stricter
  than 1e-12, and needed: the chainable and closed forms of CosineAnnealingLR
  or ExponentialLR already differ in the last bit on most steps, so only
  exact equality shows that each scheduler makes torch's choice);
* through ``state_dict()`` / ``load_state_dict()``: a fresh scheduler loaded
  mid-run continues the sequence exactly.

Then ReduceLROnPlateau on scripted metrics, composition, resuming, warnings
and torch's error messages.
"""
from __future__ import annotations

import copy
import math
import pickle
import re
import types
import warnings
from dataclasses import dataclass
from typing import Callable

import pytest

import tinygrad_cn
import tinygrad_cn.optim.lr_scheduler as lr_scheduler
from tinygrad_cn import optim

TOL = 1e-12
GROUP_LRS = (0.1, 0.03)  # two param groups, so per-group lists are exercised


# ---------------------------------------------------------------------------
# the two libraries behind one interface
# ---------------------------------------------------------------------------
def _tg_lib():
    return types.SimpleNamespace(optim=optim, sched=lr_scheduler, zeros=tinygrad_cn.zeros, tensor=tinygrad_cn.tensor,
                                 float64=tinygrad_cn.float64)


def _torch_lib():
    torch = pytest.importorskip("torch")
    return types.SimpleNamespace(optim=torch.optim, sched=torch.optim.lr_scheduler, zeros=torch.zeros,
                                 tensor=torch.tensor, float64=torch.float64)


def make_optimizer(lib, kind: str = "sgd", lrs=GROUP_LRS):
    """An optimizer with one zero parameter per group (no grads, so its step moves nothing)."""
    groups = [{"params": [lib.zeros(3, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "adam":
        return lib.optim.Adam(groups, lr=lrs[0], betas=(0.9, 0.999))
    return lib.optim.SGD(groups, lr=lrs[0], momentum=0.9)


def _default_step(sched, t: int) -> None:
    sched.step()


# scripted validation losses for ReduceLROnPlateau: improves, stalls, improves
# a little (below threshold), stalls, improves
PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.92, 0.9, 0.8, 0.79995, 0.8, 0.81, 0.85, 0.7, 0.7, 0.7, 0.7, 0.7,
                   0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]


def _plateau_step(sched, t: int) -> None:
    sched.step(PLATEAU_METRICS[t % len(PLATEAU_METRICS)])


@dataclass
class Case:
    make: Callable  # (sched_module, optimizer) -> scheduler
    steps: int = 40
    kind: str = "sgd"
    step: Callable = _default_step


CASES = {
    "LambdaLR": Case(lambda S, o: S.LambdaLR(o, lr_lambda=[lambda e: 0.9 ** e, lambda e: 1.0 / (1 + e)])),
    "MultiplicativeLR": Case(lambda S, o: S.MultiplicativeLR(o, lr_lambda=lambda e: 0.95)),
    "StepLR": Case(lambda S, o: S.StepLR(o, step_size=3, gamma=0.5)),
    "MultiStepLR": Case(lambda S, o: S.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5)),
    "ConstantLR": Case(lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=4)),
    "LinearLR": Case(lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.9, total_iters=10)),
    "ExponentialLR": Case(lambda S, o: S.ExponentialLR(o, gamma=0.93)),
    "PolynomialLR": Case(lambda S, o: S.PolynomialLR(o, total_iters=12, power=2.0)),
    "CosineAnnealingLR": Case(lambda S, o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), steps=45),
    "CosineAnnealingWarmRestarts": Case(lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2,
                                                                                    eta_min=0.0005), steps=50),
    "CosineAnnealingWarmRestarts_T1": Case(lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7)),
    "OneCycleLR_cos": Case(lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=40, pct_start=0.25),
                           steps=40),
    "OneCycleLR_linear": Case(lambda S, o: S.OneCycleLR(o, max_lr=0.4, epochs=4, steps_per_epoch=10,
                                                        anneal_strategy="linear"), steps=40),
    "OneCycleLR_three_phase": Case(lambda S, o: S.OneCycleLR(o, max_lr=0.4, total_steps=40, pct_start=0.25,
                                                             three_phase=True), steps=40),
    "OneCycleLR_adam": Case(lambda S, o: S.OneCycleLR(o, max_lr=0.01, total_steps=30, base_momentum=0.8,
                                                      max_momentum=[0.9, 0.92]), steps=30, kind="adam"),
    "CyclicLR_triangular": Case(lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5)),
    "CyclicLR_triangular2": Case(lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=5,
                                                         mode="triangular2")),
    "CyclicLR_exp_range": Case(lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5,
                                                       mode="exp_range", gamma=0.97)),
    "CyclicLR_asymmetric": Case(lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3,
                                                        step_size_down=7)),
    "CyclicLR_adam": Case(lambda S, o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=4,
                                                  base_momentum=0.85, max_momentum=0.95), kind="adam"),
    "CyclicLR_no_momentum": Case(lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6,
                                                         cycle_momentum=False)),
    "SequentialLR": Case(lambda S, o: S.SequentialLR(
        o, schedulers=[S.LinearLR(o, start_factor=0.1, total_iters=5), S.ExponentialLR(o, gamma=0.9)],
        milestones=[5])),
    "SequentialLR_three": Case(lambda S, o: S.SequentialLR(
        o, schedulers=[S.ConstantLR(o, factor=0.5, total_iters=3), S.CosineAnnealingLR(o, T_max=8),
                       S.StepLR(o, step_size=4, gamma=0.3)], milestones=[6, 14])),
    "ChainedScheduler": Case(lambda S, o: S.ChainedScheduler(
        [S.ConstantLR(o, factor=0.5, total_iters=3), S.ExponentialLR(o, gamma=0.9)], optimizer=o)),
    "ChainedScheduler_cosine_step": Case(lambda S, o: S.ChainedScheduler(
        [S.CosineAnnealingLR(o, T_max=12, eta_min=0.002), S.StepLR(o, step_size=5, gamma=0.5)])),
    "ReduceLROnPlateau": Case(lambda S, o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1,
                                                               min_lr=[0.01, 0.0]),
                              steps=len(PLATEAU_METRICS), step=_plateau_step),
    "ReduceLROnPlateau_max_abs": Case(lambda S, o: S.ReduceLROnPlateau(o, mode="max", factor=0.3, patience=1,
                                                                       threshold=0.05, threshold_mode="abs"),
                                      steps=len(PLATEAU_METRICS), step=_plateau_step),
}


def _momentum(group: dict):
    if "betas" in group:
        return group["betas"][0]
    return group.get("momentum")


def snapshot(opt, sched) -> list[float]:
    """Every number a scheduler may set: the group lrs, get_last_lr(), and the (cycled) momentum."""
    groups = opt.param_groups
    return ([float(g["lr"]) for g in groups] + [float(lr) for lr in sched.get_last_lr()]
            + [float(_momentum(g)) for g in groups])


def run(case: Case, opt, sched, steps: int, start: int = 0) -> list[list[float]]:
    """Trace of snapshots after the constructor and after each of ``steps`` (optimizer.step, scheduler.step)."""
    trace = [snapshot(opt, sched)]
    for t in range(start, start + steps):
        opt.step()
        case.step(sched, t)
        trace.append(snapshot(opt, sched))
    return trace


def build(lib, name: str):
    case = CASES[name]
    opt = make_optimizer(lib, case.kind)
    return case, opt, case.make(lib.sched, opt)


def assert_traces_close(got, want, tol: float = TOL) -> None:
    assert len(got) == len(want)
    for t, (g, w) in enumerate(zip(got, want)):
        for a, b in zip(g, w):
            assert math.isclose(a, b, rel_tol=tol, abs_tol=tol), f"step {t}: {g} != {w}"


# ---------------------------------------------------------------------------
# 1. closed-form formulas (no torch): lr of group i at epoch t, base = GROUP_LRS[i]
# ---------------------------------------------------------------------------
def _cos_anneal(start, end, pct):
    return end + (start - end) * (1 + math.cos(math.pi * pct)) / 2


def _one_cycle(max_lr, total, pct_start, t, anneal=_cos_anneal, three_phase=False, momenta=(0.85, 0.95)):
    """(lr, momentum) of the 1cycle policy: phase ends at pct*T-1 (and 2*pct*T-2), then T-1."""
    lo, hi = momenta
    initial = max_lr / 25.0
    final = initial / 1e4
    up = pct_start * total - 1
    if t <= up:
        return anneal(initial, max_lr, t / up), anneal(hi, lo, t / up)
    if three_phase:
        down = 2 * pct_start * total - 2
        if t <= down:
            pct = (t - up) / (down - up)
            return anneal(max_lr, initial, pct), anneal(lo, hi, pct)
        return anneal(initial, final, (t - down) / (total - 1 - down)), hi
    pct = (t - up) / (total - 1 - up)
    return anneal(max_lr, final, pct), anneal(lo, hi, pct)


def _triangle(t: int, up: int, down: int) -> float:
    """Height in [0, 1] of a triangular wave rising for ``up`` steps and falling for ``down``."""
    p = t % (up + down)
    return p / up if p <= up else (up + down - p) / down


def _warm_restart_position(t: int, T_0: int, T_mult: int) -> tuple[int, int]:
    """(T_cur, T_i) after t epochs: walk the cycles of length T_0, T_0*T_mult, ..."""
    T_i = T_0
    while t >= T_i:
        t -= T_i
        T_i *= T_mult
    return t, T_i


def _lin(a, b, pct):
    return a + (b - a) * pct


CLOSED_FORMS = {
    "LambdaLR": lambda t, i, b: b * (0.9 ** t if i == 0 else 1.0 / (1 + t)),
    "MultiplicativeLR": lambda t, i, b: b * 0.95 ** t,
    "StepLR": lambda t, i, b: b * 0.5 ** (t // 3),
    "MultiStepLR": lambda t, i, b: b * 0.5 ** sum(m <= t for m in (3, 7, 7, 12)),
    "ConstantLR": lambda t, i, b: b * (0.25 if t < 4 else 1.0),
    "LinearLR": lambda t, i, b: b * (0.2 + 0.7 * min(t, 10) / 10),
    "ExponentialLR": lambda t, i, b: b * 0.93 ** t,
    "PolynomialLR": lambda t, i, b: b * (1 - min(t, 12) / 12) ** 2,
    "CosineAnnealingLR": lambda t, i, b: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2,
    "CosineAnnealingWarmRestarts": lambda t, i, b: (
        lambda cur, T: 0.0005 + (b - 0.0005) * (1 + math.cos(math.pi * cur / T)) / 2)(
        *_warm_restart_position(t, 4, 2)),
    "CosineAnnealingWarmRestarts_T1": lambda t, i, b: b * (1 + math.cos(math.pi * (t % 7) / 7)) / 2,
    "OneCycleLR_cos": lambda t, i, b: _one_cycle((1.0, 0.5)[i], 40, 0.25, t)[0],
    "OneCycleLR_linear": lambda t, i, b: _one_cycle(0.4, 40, 0.3, t, anneal=_lin)[0],
    "OneCycleLR_three_phase": lambda t, i, b: _one_cycle(0.4, 40, 0.25, t, three_phase=True)[0],
    "OneCycleLR_adam": lambda t, i, b: _one_cycle(0.01, 30, 0.3, t)[0],
    "CyclicLR_triangular": lambda t, i, b: 0.01 + 0.09 * _triangle(t, 5, 5),
    "CyclicLR_triangular2": lambda t, i, b: (
        (0.01, 0.02)[i] + (0.1 - (0.01, 0.02)[i]) * _triangle(t, 5, 5) / 2 ** (t // 10)),
    "CyclicLR_exp_range": lambda t, i, b: 0.01 + 0.09 * _triangle(t, 5, 5) * 0.97 ** t,
    "CyclicLR_asymmetric": lambda t, i, b: 0.01 + 0.09 * _triangle(t, 3, 7),
    "CyclicLR_adam": lambda t, i, b: 0.001 + 0.009 * _triangle(t, 4, 4),
    "CyclicLR_no_momentum": lambda t, i, b: 0.01 + 0.09 * _triangle(t, 6, 6),
    "SequentialLR": lambda t, i, b: b * (0.1 + 0.9 * t / 5) if t < 5 else b * 0.9 ** (t - 5),
    "SequentialLR_three": lambda t, i, b: (
        b * (0.5 if t < 3 else 1.0) if t < 6 else
        b * (1 + math.cos(math.pi * (t - 6) / 8)) / 2 if t < 14 else
        b * 0.3 ** ((t - 14) // 4)),  # StepLR restarts from its base lr at its milestone
    "ChainedScheduler": lambda t, i, b: b * (0.5 if t < 3 else 1.0) * 0.9 ** t,
}

# momentum (SGD) or beta1 (Adam) closed forms for the cycling schedulers
MOMENTUM_FORMS = {
    "OneCycleLR_cos": lambda t, i: _one_cycle(1.0, 40, 0.25, t)[1],
    "OneCycleLR_linear": lambda t, i: _one_cycle(0.4, 40, 0.3, t, anneal=_lin)[1],
    "OneCycleLR_three_phase": lambda t, i: _one_cycle(0.4, 40, 0.25, t, three_phase=True)[1],
    "OneCycleLR_adam": lambda t, i: _one_cycle(0.01, 30, 0.3, t, momenta=(0.8, (0.9, 0.92)[i]))[1],
    "CyclicLR_triangular": lambda t, i: 0.9 - 0.1 * _triangle(t, 5, 5),
    "CyclicLR_triangular2": lambda t, i: 0.9 - 0.1 * _triangle(t, 5, 5) / 2 ** (t // 10),
    "CyclicLR_exp_range": lambda t, i: 0.9 - 0.1 * _triangle(t, 5, 5) * 0.97 ** t,
    "CyclicLR_asymmetric": lambda t, i: 0.9 - 0.1 * _triangle(t, 3, 7),
    "CyclicLR_adam": lambda t, i: 0.95 - 0.1 * _triangle(t, 4, 4),
}


def _lrs_and_momenta(name: str):
    case, opt, sched = build(_tg_lib(), name)
    trace = run(case, opt, sched, case.steps)
    n = len(opt.param_groups)
    return [row[:n] for row in trace], [row[2 * n:] for row in trace]


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_lr_sequence_matches_closed_form(name):
    lrs, _ = _lrs_and_momenta(name)
    want = [[CLOSED_FORMS[name](t, i, b) for i, b in enumerate(GROUP_LRS)] for t in range(len(lrs))]
    # the chainable schedulers multiply step by step, so allow rounding to accumulate a little
    assert_traces_close(lrs, want, tol=1e-11)


@pytest.mark.parametrize("name", sorted(MOMENTUM_FORMS))
def test_momentum_cycles_inversely_to_lr(name):
    _, momenta = _lrs_and_momenta(name)
    want = [[MOMENTUM_FORMS[name](t, i) for i in range(len(GROUP_LRS))] for t in range(len(momenta))]
    assert_traces_close(momenta, want)


def test_every_case_has_a_closed_form_or_a_scripted_check():
    scripted = {"ReduceLROnPlateau", "ReduceLROnPlateau_max_abs", "ChainedScheduler_cosine_step"}
    assert set(CASES) == set(CLOSED_FORMS) | scripted
    public = {n for n in lr_scheduler.__all__ if n != "LRScheduler"}
    covered = {name.split("_")[0] for name in CASES}
    assert public <= covered


def test_chained_cosine_and_step_multiply():
    """ChainedScheduler: each chainable factor applies to the lr the other left (ratio of consecutive cosines)."""
    lrs, _ = _lrs_and_momenta("ChainedScheduler_cosine_step")
    for i, b in enumerate(GROUP_LRS):
        for t in range(1, 13):  # within the first half-period the cosine ratio recursion is exact
            cos_t = (1 + math.cos(math.pi * t / 12)) / (1 + math.cos(math.pi * (t - 1) / 12))
            prev = lrs[t - 1][i]
            want = ((prev - 0.002) * cos_t + 0.002) * (0.5 if t % 5 == 0 else 1.0)
            assert math.isclose(lrs[t][i], want, rel_tol=1e-12)


# ---------------------------------------------------------------------------
# 2. torch as the oracle
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_lr_sequence_matches_torch(name):
    torch_lib = _torch_lib()
    case, opt, sched = build(_tg_lib(), name)
    _, t_opt, t_sched = build(torch_lib, name)
    assert run(case, opt, sched, case.steps) == run(case, t_opt, t_sched, case.steps)
    assert getattr(sched, "last_epoch", None) == getattr(t_sched, "last_epoch", None)
    for g, tg in zip(opt.param_groups, t_opt.param_groups):
        for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):
            assert (key in g) == (key in tg), key
            if key in g:
                assert math.isclose(g[key], tg[key], rel_tol=TOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_keys_match_torch(name):
    torch_lib = _torch_lib()
    _, _, sched = build(_tg_lib(), name)
    _, _, t_sched = build(torch_lib, name)
    assert set(sched.state_dict()) == set(t_sched.state_dict())


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
                                  "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "LambdaLR"])
def test_step_with_epoch_uses_torchs_closed_form(name):
    """The deprecated ``step(epoch)`` jumps (closed form where torch has one) and warns.

    CosineAnnealingWarmRestarts is the exception: an epoch argument (even a
    fractional one) is its documented use, so it does not warn.
    """
    torch_lib = _torch_lib()
    got, want = [], []
    for lib, out in ((_tg_lib(), got), (torch_lib, want)):
        _, opt, sched = build(lib, name)
        for epoch in (3, 4, 11, 7, 25, 26):
            opt.step()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sched.step(epoch)
            deprecated = any("The epoch parameter in `scheduler.step()`" in str(w.message) for w in caught)
            assert deprecated == (name != "CosineAnnealingWarmRestarts")
            out.append(snapshot(opt, sched))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own epoch warning is not under test here
            sched.step()
        out.append(snapshot(opt, sched))
    assert_traces_close(got, want)


def test_warm_restarts_fractional_epochs_match_torch():
    torch_lib = _torch_lib()
    traces = []
    for lib in (_tg_lib(), torch_lib):
        opt = make_optimizer(lib)
        sched = lib.sched.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2, eta_min=0.001)
        trace = []
        for epoch in range(12):
            for i in range(4):
                opt.step()
                sched.step(epoch + i / 4)
                trace.append(snapshot(opt, sched))
        traces.append(trace)
    assert_traces_close(*traces)


def test_resume_with_last_epoch_matches_torch():
    """A scheduler built with last_epoch=k (groups already carry initial_lr) continues from epoch k+1."""
    torch_lib = _torch_lib()
    traces = []
    for lib in (_tg_lib(), torch_lib):
        opt = make_optimizer(lib)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"] * 2
        scheds = [lib.sched.StepLR(opt, step_size=3, gamma=0.5, last_epoch=4),
                  lib.sched.CosineAnnealingLR(opt, T_max=10, last_epoch=4)]
        trace = []
        for _ in range(10):
            opt.step()
            for s in scheds:
                s.step()
            trace.append(snapshot(opt, scheds[-1]))
        traces.append(trace)
    assert_traces_close(*traces)


# ---------------------------------------------------------------------------
# 3. state_dict round trip
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_continues_exactly(name):
    lib = _tg_lib()
    case, opt, sched = build(lib, name)
    split = case.steps // 3
    run(case, opt, sched, split)
    state = copy.deepcopy(sched.state_dict())
    assert "optimizer" not in state
    pickle.dumps(state)  # plain data: lambdas and bound methods are left out, as in torch

    _, opt2, sched2 = build(lib, name)
    for g2, g in zip(opt2.param_groups, opt.param_groups):  # the optimizer checkpoint's part
        g2.update({k: v for k, v in g.items() if k != "params"})
    sched2.load_state_dict(state)
    rest = case.steps - split
    assert run(case, opt2, sched2, rest, start=split) == run(case, opt, sched, rest, start=split)


def test_load_state_dict_leaves_the_given_dict_unchanged():
    lib = _tg_lib()
    case, opt, sched = build(lib, "SequentialLR")
    state = sched.state_dict()
    before = copy.deepcopy(state)
    _, _, sched2 = build(lib, "SequentialLR")
    sched2.load_state_dict(state)
    assert state.keys() == before.keys() and state["_schedulers"] == before["_schedulers"]


class _Decay:
    """A callable object: its attributes travel in LambdaLR's state_dict, unlike a lambda."""

    def __init__(self, rate: float) -> None:
        self.rate = rate

    def __call__(self, epoch: int) -> float:
        return self.rate ** epoch


def test_lambda_lr_state_dict_saves_callable_objects_not_functions():
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.LambdaLR(opt, lr_lambda=[_Decay(0.5), lambda e: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    opt2 = make_optimizer(_tg_lib())
    sched2 = lr_scheduler.LambdaLR(opt2, lr_lambda=[_Decay(0.9), lambda e: 1.0])
    sched2.load_state_dict(state)
    assert sched2.lr_lambdas[0].rate == 0.5


# ---------------------------------------------------------------------------
# 4. ReduceLROnPlateau on a scripted metric
# ---------------------------------------------------------------------------
def test_reduce_on_plateau_scripted_min_rel():
    """patience=2, cooldown=1, factor=0.5, threshold 1e-4 relative, min_lr [0.01, 0]; hand-traced.

    epoch metric  best    bad  cooldown -> reduce?
      1   1.0     1.0      0
      2   0.9     0.9      0
      3   0.9     0.9      1   (equal is not better)
      4   0.95             2
      5   0.92             3  > 2          reduce (0.1->0.05, 0.03->0.015), cooldown 1
      6   0.9              1->0 (cooldown)
      7   0.8     0.8      0
      8   0.79995          1   (within 1e-4 of best: not better)
      9   0.8              2
     10   0.81             3               reduce (0.05->0.025, 0.015->0.0075), cooldown 1
     11   0.85             0 (cooldown)
     12   0.7     0.7      0
     13-15 0.7             1,2,3           reduce at 15 (0.025->0.0125, 0.0075->0.00375)
     16   0.7      cooldown
     17   0.6     0.6
     18-20 0.6             1,2,3           reduce at 20: group 0 clamps at min_lr 0.01
     21   0.6      cooldown
     22-24 0.6             1,2,3           reduce at 24: group 0 already at min_lr, stays
    """
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.01, 0.0])
    lrs = []
    for metric in PLATEAU_METRICS:
        opt.step()
        sched.step(metric)
        lrs.append(tuple(sched.get_last_lr()))
    expected = ([(0.1, 0.03)] * 4 + [(0.05, 0.015)] * 5 + [(0.025, 0.0075)] * 5 + [(0.0125, 0.00375)] * 5
                + [(0.01, 0.001875)] * 4 + [(0.01, 0.0009375)])
    assert len(lrs) == len(expected)
    for got, want in zip(lrs, expected):
        assert got == pytest.approx(want, rel=1e-15)
    assert sched.best == 0.6 and sched.last_epoch == len(PLATEAU_METRICS)


def test_reduce_on_plateau_max_mode_and_eps():
    opt = make_optimizer(_tg_lib(), lrs=(1e-8, 0.1))
    sched = lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0, eps=1e-8)
    for metric in (1.0, 2.0, 1.5):  # the third epoch is worse: reduce at once (patience 0)
        opt.step()
        sched.step(metric)
    # group 0 would change by 5e-9 < eps: skipped; group 1 halves
    assert sched.get_last_lr() == [1e-8, 0.05]


def test_reduce_on_plateau_accepts_a_zero_dim_tensor_metric():
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(tinygrad_cn.tensor(1.0))
    sched.step(tinygrad_cn.tensor(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.003])


# ---------------------------------------------------------------------------
# 5. bookkeeping, composition and warnings
# ---------------------------------------------------------------------------
def test_initial_lr_and_base_lrs():
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == list(GROUP_LRS)
    assert sched.base_lrs == list(GROUP_LRS) and sched.last_epoch == 0
    assert sched.get_last_lr() == list(GROUP_LRS)
    assert isinstance(sched, lr_scheduler.LRScheduler)
    assert issubclass(lr_scheduler._LRScheduler, lr_scheduler.LRScheduler)
    assert lr_scheduler._LRScheduler.__name__ == "_LRScheduler"


def test_get_last_lr_is_a_copy():
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    sched.get_last_lr()[0] = 123.0
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.015]


def test_sequential_lr_restarts_each_scheduler_at_its_milestone():
    opt = make_optimizer(_tg_lib(), lrs=(1.0,))
    warm = lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    decay = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    sched = lr_scheduler.SequentialLR(opt, schedulers=[warm, decay], milestones=[3])
    lrs = [sched.get_last_lr()[0]]
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 0.1, 0.1], rel=1e-15)
    assert sched.last_epoch == 6 and decay.last_epoch == 3


def _tensor_lr_run(lib, tensor_lr: bool):
    """Cosine then exponential decay, chained, on a group whose lr is (optionally) a 0-d float64 tensor."""
    opt = make_optimizer(lib, lrs=(0.1,))
    lr = lib.tensor(0.1, dtype=lib.float64) if tensor_lr else 0.1
    opt.param_groups[0]["lr"] = lr
    sched = lib.sched.ChainedScheduler([lib.sched.CosineAnnealingLR(opt, T_max=10, eta_min=0.001),
                                        lib.sched.ExponentialLR(opt, gamma=0.9)])
    trace = []
    for _ in range(30):
        opt.step()
        sched.step()
        last = sched.get_last_lr()[0]
        if tensor_lr:  # written in place, never replaced; get_last_lr() hands out copies
            assert opt.param_groups[0]["lr"] is lr and last is not lr
        trace.append((float(opt.param_groups[0]["lr"]), float(last)))
    return trace


def test_tensor_lr_is_updated_in_place_with_the_float_sequence():
    assert _tensor_lr_run(_tg_lib(), True) == _tensor_lr_run(_tg_lib(), False)


def test_tensor_lr_matches_torch():
    assert _tensor_lr_run(_tg_lib(), True) == _tensor_lr_run(_torch_lib(), True)


def test_step_before_optimizer_step_warns():
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()


def test_optimizer_step_is_wrapped_once_and_still_steps():
    w = tinygrad_cn.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    lr_scheduler.StepLR(opt, step_size=2)
    wrapped = opt.step
    lr_scheduler.ExponentialLR(opt, gamma=0.9)
    assert opt.step is wrapped and wrapped._wrapped_by_lr_sched
    (w * w).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
    assert opt._opt_called
    assert w.tolist() == pytest.approx([0.0, 0.0])  # w - 0.5 * 2w: the wrapped step still updates


def test_get_lr_outside_step_warns():
    sched = lr_scheduler.StepLR(make_optimizer(_tg_lib()), step_size=2)
    with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
        sched.get_lr()


def test_one_cycle_steps_past_total_raise():
    opt = make_optimizer(_tg_lib())
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    for _ in range(3):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


def test_training_loop_uses_the_scheduled_lr():
    """A real loop: each SGD update is exactly the scheduled lr times the gradient, and w converges."""
    w = tinygrad_cn.tensor([3.0, -2.0], dtype=tinygrad_cn.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.4)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=30, eta_min=1e-3)
    for t in range(30):
        before = w.tolist()
        lr = opt.param_groups[0]["lr"]
        assert lr == pytest.approx(1e-3 + (0.4 - 1e-3) * (1 + math.cos(math.pi * t / 30)) / 2, rel=1e-12)
        opt.zero_grad()
        ((w - 1.0) ** 2).sum().backward()
        opt.step()
        sched.step()
        assert w.tolist() == pytest.approx([b - lr * 2 * (b - 1.0) for b in before], rel=1e-12)
    assert w.tolist() == pytest.approx([1.0, 1.0], abs=1e-6)


# ---------------------------------------------------------------------------
# 6. torch's errors
# ---------------------------------------------------------------------------
BAD_ARGS = {
    "constant_factor": (lambda S, o: S.ConstantLR(o, factor=1.5), ValueError,
                        "Constant multiplicative factor expected to be between 0 and 1."),
    "linear_start": (lambda S, o: S.LinearLR(o, start_factor=0), ValueError,
                     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    "linear_end": (lambda S, o: S.LinearLR(o, end_factor=1.5), ValueError,
                   "Ending multiplicative factor expected to be between 0 and 1."),
    "lambda_count": (lambda S, o: S.LambdaLR(o, lr_lambda=[lambda e: 1.0]), ValueError,
                     "Expected 2 lr_lambdas, but got 1"),
    "multiplicative_not_callable": (lambda S, o: S.MultiplicativeLR(o, lr_lambda=0.9), TypeError,
                                    "lr_lambda should be a function, but got float"),
    "not_an_optimizer": (lambda S, o: S.StepLR(object(), step_size=2), TypeError, "object is not an Optimizer"),
    "plateau_factor": (lambda S, o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0."),
    "plateau_mode": (lambda S, o: S.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode avg is unknown!"),
    "plateau_threshold_mode": (lambda S, o: S.ReduceLROnPlateau(o, threshold_mode="x"), ValueError,
                               "threshold mode x is unknown!"),
    "plateau_min_lrs": (lambda S, o: S.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
                        "expected 2 min_lrs, got 1"),
    "one_cycle_no_steps": (lambda S, o: S.OneCycleLR(o, max_lr=0.1), ValueError,
                           "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    "one_cycle_total_steps": (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
                              "Expected positive integer total_steps, but got 0"),
    "one_cycle_epochs": (lambda S, o: S.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3), ValueError,
                         "Expected positive integer epochs, but got 0"),
    "one_cycle_pct_start": (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
                            "Expected float between 0 and 1 pct_start, but got 1.5"),
    "one_cycle_anneal": (lambda S, o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"),
                         ValueError, "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    "one_cycle_max_lr_len": (lambda S, o: S.OneCycleLR(o, max_lr=[0.1], total_steps=10), ValueError,
                             "max_lr must have the same length as optimizer.param_groups. "
                             "max_lr has 1 values, param_groups has 2."),
    "cyclic_mode": (lambda S, o: S.CyclicLR(o, base_lr=0.1, max_lr=1.0, mode="sawtooth"), ValueError,
                    "mode is invalid and scale_fn is None"),
    "warm_T_0": (lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError,
                 "Expected positive integer T_0, but got 0"),
    "warm_T_mult": (lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
                    "Expected integer T_mult >= 1, but got 0"),
    "sequential_empty": (lambda S, o: S.SequentialLR(o, schedulers=[], milestones=[]), ValueError,
                         "SequentialLR expects at least one scheduler, but got no scheduler."),
    "sequential_milestones": (lambda S, o: S.SequentialLR(o, schedulers=[S.StepLR(o, 2)], milestones=[3]),
                              ValueError, "Sequential Schedulers expects number of schedulers provided to be one "
                              "more than the number of milestone points, but got number of schedulers 1 and the "
                              "number of milestones to be equal to 1"),
    "sequential_plateau": (lambda S, o: S.SequentialLR(o, schedulers=[S.ReduceLROnPlateau(o)], milestones=[]),
                           ValueError, "SequentialLR does not support `ReduceLROnPlateau` scheduler as it requires "
                           "additional kwargs to be specified when calling `step`, but got one at index 0 in the "
                           "given schedulers sequence."),
    "chained_empty": (lambda S, o: S.ChainedScheduler([]), ValueError,
                      "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
}


@pytest.mark.parametrize("name", sorted(BAD_ARGS))
def test_bad_arguments_raise_torchs_error(name):
    make, exc, message = BAD_ARGS[name]
    with pytest.raises(exc) as info:
        make(lr_scheduler, make_optimizer(_tg_lib()))
    assert str(info.value) == message


@pytest.mark.parametrize("name", sorted(BAD_ARGS))
def test_bad_argument_messages_match_torch(name):
    torch_lib = _torch_lib()
    make, exc, _ = BAD_ARGS[name]
    with pytest.raises(exc) as ours:
        make(lr_scheduler, make_optimizer(_tg_lib()))
    with pytest.raises(exc) as theirs:
        make(torch_lib.sched, make_optimizer(torch_lib))
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("lib_name", ["tinygrad_cn", "torch"])
def test_cycling_momentum_needs_an_optimizer_with_momentum_or_betas(lib_name):
    lib = _tg_lib() if lib_name == "tinygrad_cn" else _torch_lib()
    message = "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"
    for make in (lambda o: lib.sched.CyclicLR(o, base_lr=0.01, max_lr=0.1),
                 lambda o: lib.sched.OneCycleLR(o, max_lr=0.1, total_steps=10)):
        opt = lib.optim.Adagrad([lib.zeros(2, requires_grad=True)], lr=0.1)
        with pytest.raises(ValueError, match=re.escape(message)):
            make(opt)
    opt = lib.optim.Adagrad([lib.zeros(2, requires_grad=True)], lr=0.1)
    sched = lib.sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=2, cycle_momentum=False)
    opt.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.055])


def test_resume_without_initial_lr_raises_key_error():
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        lr_scheduler.StepLR(make_optimizer(_tg_lib()), step_size=2, last_epoch=3)


def test_schedulers_must_share_the_optimizer():
    o1, o2 = make_optimizer(_tg_lib()), make_optimizer(_tg_lib())
    s1, s2 = lr_scheduler.StepLR(o1, 2), lr_scheduler.StepLR(o2, 2)
    with pytest.raises(ValueError, match="ChainedScheduler expects all schedulers to belong to the same optimizer"):
        lr_scheduler.ChainedScheduler([s1, s2])
    with pytest.raises(ValueError, match="SequentialLR expects all schedulers to belong to the same optimizer"):
        lr_scheduler.SequentialLR(o1, [s1, s2], milestones=[2])


# ---------------------------------------------------------------------------
# 7. random configurations against torch (hypothesis; profiles in conftest.py)
# ---------------------------------------------------------------------------
try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # the `test` extra installs it
    def given(*_a, **_k):
        return lambda f: pytest.mark.skip(reason="hypothesis not installed")(lambda *a, **k: None)

    st = None


def _draw_config(data):
    """A scheduler constructor with drawn arguments and the number of steps to run it."""
    draw = data.draw
    fraction = st.floats(0.05, 0.95)
    kind = draw(st.sampled_from(["OneCycleLR", "CyclicLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
                                 "PolynomialLR", "LinearLR", "MultiStepLR"]), label="scheduler")
    if kind == "OneCycleLR":
        total = draw(st.integers(4, 40), label="total_steps")
        kw = dict(max_lr=draw(st.floats(0.01, 2.0)), total_steps=total, pct_start=draw(st.floats(0.2, 0.45)),
                  anneal_strategy=draw(st.sampled_from(["cos", "linear"])), three_phase=draw(st.booleans()),
                  div_factor=draw(st.floats(2.0, 50.0)))
        return kind, kw, total
    if kind == "CyclicLR":
        kw = dict(base_lr=draw(st.floats(1e-4, 0.01)), max_lr=draw(st.floats(0.02, 1.0)),
                  step_size_up=draw(st.integers(1, 8)), step_size_down=draw(st.none() | st.integers(1, 8)),
                  mode=draw(st.sampled_from(["triangular", "triangular2", "exp_range"])), gamma=draw(fraction))
    elif kind == "CosineAnnealingLR":
        kw = dict(T_max=draw(st.integers(1, 15)), eta_min=draw(st.floats(0.0, 0.01)))
    elif kind == "CosineAnnealingWarmRestarts":
        kw = dict(T_0=draw(st.integers(1, 8)), T_mult=draw(st.integers(1, 3)), eta_min=draw(st.floats(0.0, 0.01)))
    elif kind == "PolynomialLR":
        kw = dict(total_iters=draw(st.integers(1, 20)), power=draw(st.floats(0.5, 3.0)))
    elif kind == "LinearLR":
        kw = dict(start_factor=draw(fraction), end_factor=draw(fraction), total_iters=draw(st.integers(1, 20)))
    else:
        kw = dict(milestones=draw(st.lists(st.integers(1, 30), max_size=5)), gamma=draw(fraction))
    return kind, kw, 35


@given(data=st.data() if st is not None else None)
def test_random_configurations_match_torch_bit_for_bit(data):
    torch_lib = _torch_lib()
    kind, kw, steps = _draw_config(data)
    traces = []
    for lib in (_tg_lib(), torch_lib):
        opt = make_optimizer(lib)
        sched = getattr(lib.sched, kind)(opt, **kw)
        traces.append(run(CASES["StepLR"], opt, sched, steps))  # StepLR's case: plain sched.step()
    assert traces[0] == traces[1]
