"""The examples run and their results hold: accuracies, the period-doubling window,
hand-derived gradients equal to autograd's, flat extrapolation, figures written.

Each example exposes ``main(argv) -> dict``; the tests call it in this process
with ``--quick --outdir tmp_path`` (``train_digits`` runs in full: its accuracy
bars are the point, and it takes a few seconds). One test runs an example as a
script, as a user does.
"""
from __future__ import annotations

import importlib
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
FIGURES = os.path.join(EXAMPLES, "figures")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def example():
    """Import an example module by name (examples/ goes on sys.path for this module's tests)."""
    pytest.importorskip("matplotlib")  # the `examples` extra; the thumbnail and API tests run without it
    sys.path.insert(0, EXAMPLES)
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(EXAMPLES)


def run_quick(example, name: str, outdir, quick: bool = True) -> dict:
    result = example(name).main((["--quick"] if quick else []) + ["--outdir", str(outdir)])
    assert result["figures"], "every example saves at least one figure"
    for path in result["figures"]:
        assert os.path.dirname(path) == str(outdir)
        if path.endswith(".png"):
            with open(path, "rb") as f:
                assert f.read(8) == PNG_MAGIC, path
    return result


def test_train_digits_reaches_its_accuracy_bars_and_reloads(example, tmp_path):
    r = run_quick(example, "train_digits", tmp_path, quick=False)
    assert r["mlp_acc"] >= 0.95
    assert r["cnn_acc"] >= 0.97
    # the checkpoint is a real round trip: a fresh, untrained model gets the same accuracy
    assert r["mlp_reloaded_acc"] == r["mlp_acc"]
    assert r["cnn_reloaded_acc"] == r["cnn_acc"]
    assert os.path.getsize(r["mlp_checkpoint"]) > 4 * (64 * 128 + 128 * 64)
    assert r["histories"]["CNN"]["loss"][-1] < r["histories"]["CNN"]["loss"][0] / 10


def test_sine_regression_fits_then_extrapolates_flat(example, tmp_path):
    r = run_quick(example, "sine_regression", tmp_path)
    assert r["final_loss"] < 0.8 * r["losses"][0]
    # StepLR(step_size=100, gamma=0.999), stepped once per optimisation step
    assert r["final_lr"] == pytest.approx(0.3 * 0.999 ** (r["steps"] // 100), rel=1e-9)
    assert r["tail_range"] < 0.05  # saturated sigmoids: no oscillation left far from the data


def test_lr_chaos_period_doubling_window(example, tmp_path):
    r = run_quick(example, "lr_chaos", tmp_path)
    # lr < 2 converges, 2 < lr < sqrt(6) period 2, then 4, 8, chaos past ~2.57, period-3 window at sqrt(8)
    assert r["periods"] == {1.8: 1, 2.2: 2, 2.5: 4, 2.55: 8, 2.7: 0, 2.84: 3}
    lrs, orbits = r["lrs"], r["orbits"]
    assert np.abs(orbits[:, lrs < 1.95]).max() < 1e-6  # the minimum attracts below lr = 2
    spread = np.ptp(orbits, axis=0)
    assert spread[(lrs > 2.05) & (lrs < 2.4)].min() > 1e-3  # a 2-cycle: the orbit has width
    # the 2-cycle's points are [(lr - 2) +- sqrt((lr - 2)(lr + 2))] / (2 lr)
    i = np.argmin(np.abs(lrs - 2.2))
    lr = lrs[i]
    expected = sorted([((lr - 2) + s * math.sqrt((lr - 2) * (lr + 2))) / (2 * lr) for s in (-1, 1)])
    assert sorted(set(np.round(orbits[:, i], 6))) == pytest.approx(expected, abs=1e-5)
    slow, fast = r["runs"].values()
    assert np.ptp(fast[-30:]) < np.ptp(slow[-30:])  # the slowly decayed rate is still erratic


def test_backprop_by_hand_equals_autograd(example, tmp_path):
    r = run_quick(example, "backprop_by_hand", tmp_path)
    assert set(r["matches"]) == {"Y", "W2", "b2", "A", "H", "W1", "b1", "X"}
    assert all(r["matches"].values())
    for key in r["matches"]:
        np.testing.assert_allclose(r["hand"][key], r["autograd"][key], rtol=1e-10, atol=1e-12)
    assert r["gradcheck"] is True
    assert "ReluBackward0" in r["dot"] and "MmBackward0" in r["dot"] and "W1" in r["dot"]


def test_backprop_by_hand_would_catch_a_wrong_derivation(example):
    """The comparison is not vacuous: forgetting relu's mask gives a different dW1."""
    mod = example("backprop_by_hand")
    rng = np.random.default_rng(1)
    x, w1, b1 = rng.standard_normal((6, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    w2, b2, t = rng.standard_normal((5, 2)), rng.standard_normal(2), rng.standard_normal((6, 2))
    hand = mod.by_hand(x, w1, b1, w2, b2, t)
    h = x @ w1 + b1
    assert (h < 0).any()
    no_mask = x.T @ hand["A"]  # dW1 without multiplying by [H > 0]
    assert not np.allclose(no_mask, hand["W1"])


def test_custom_function_fits_and_passes_gradcheck(example, tmp_path):
    r = run_quick(example, "custom_function", tmp_path)
    assert r["gradcheck"] is True
    assert r["final_loss"] < r["losses"][0] / 5
    a, b, c, d = r["coefficients"]
    assert b < 0 and 0.2 < d < 0.35  # the tutorial's y = a + b P3(c + d x) lands near -2.2 P3(0.255 x)


def test_gradcheck_rejects_a_wrong_custom_backward(example):
    import tinygrad_cn as torch
    from tinygrad_cn.autograd import gradcheck
    mod = example("custom_function")

    class WrongP3(mod.LegendrePolynomial3):
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 7.5 * x ** 2  # the -1.5 term forgotten

    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert gradcheck(mod.LegendrePolynomial3.apply, (x,))
    assert not gradcheck(WrongP3.apply, (x,), raise_exception=False)


def test_logistic_regression_memorises_noise_and_classifies_tumours(example, tmp_path):
    r = run_quick(example, "logistic_regression", tmp_path)
    assert r["random_train_acc"] >= 0.99  # 784 weights for 400 coin flips
    assert r["random_losses"][-1] < r["random_losses"][0] / 10
    assert r["cancer_test_acc"] >= 0.93


def test_optimizer_trajectories_all_descend(example, tmp_path):
    r = run_quick(example, "optimizer_trajectories", tmp_path)
    mod = example("optimizer_trajectories")
    assert set(r["bowl"]) == set(mod.OPTIMIZERS) == {"GD", "SGD", "Momentum", "AdaGrad", "RMSprop",
                                                     "AdaDelta", "Adam"}
    start_bowl = 0.1 * 49 + 2 * 4
    start_rosen = (1 + 1.5) ** 2 + 100 * (2 - 1.5 ** 2) ** 2
    for name in mod.OPTIMIZERS:
        assert r["bowl"][name] < start_bowl / 10, name
        assert r["rosenbrock"][name] < start_rosen, name
    # the sweep really varies the rate: three rates per optimizer, three different outcomes
    for name, finals in r["lr_sweep"].items():
        assert len(finals) == 3 and len(set(np.round(list(finals.values()), 8))) == 3, name


def test_weight_init_histograms_show_vanishing_and_batchnorm(example, tmp_path):
    r = run_quick(example, "weight_init_histograms", tmp_path)
    std = r["std"]
    assert std["std 0.01", "tanh"][-1] < 1e-3  # shrinks ~10x per layer
    assert std["std 1", "relu"][-1] > 100 * std["std 1", "relu"][0]  # explodes
    he = std["He", "relu"]
    assert 0.5 < he[-1] / he[0] < 2  # He keeps ReLU's scale
    assert min(r["bn_std"]) > 0.1  # BatchNorm restores the spread from the std-0.01 start
    curves = r["curves"]
    assert curves["with BatchNorm"][-1] < 0.5 * curves["without BatchNorm"][-1]


def test_an_example_runs_as_a_script(tmp_path):
    pytest.importorskip("matplotlib")
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "backprop_by_hand.py"), "--quick",
                           "--outdir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "dH = dA * [H > 0]" in proc.stdout and "DIFFERS" not in proc.stdout
    assert (tmp_path / "backprop_graph.png").exists() and (tmp_path / "backprop_graph.dot").exists()


EXPECTED_FIGURES = ["digits_curves.png", "sine_regression.png", "lr_bifurcation.png", "lr_too_large.png",
                    "backprop_graph.png", "backprop_graph_dot.png", "custom_function.png", "logistic_regression.png",
                    "trajectories_bowl.png", "trajectories_rosenbrock.png", "optimizer_lr_sweep.png",
                    "init_histograms.png", "batchnorm.png"]


@pytest.mark.parametrize("name", EXPECTED_FIGURES)
def test_committed_thumbnails_are_small_pngs(name):
    """The README shows these; keep them in the repository and small."""
    path = os.path.join(FIGURES, name)
    assert os.path.exists(path), f"run the examples to regenerate {path}"
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    assert os.path.getsize(path) < 100_000


def test_api_coverage_table():
    """tools/api_coverage.py counts torch's names we have, and lists the rest."""
    pytest.importorskip("torch")
    tools = os.path.join(os.path.dirname(EXAMPLES), "tools")
    sys.path.insert(0, tools)
    try:
        api_coverage = importlib.import_module("api_coverage")
    finally:
        sys.path.remove(tools)
    rows = {r["torch"]: r for r in api_coverage.coverage()}
    assert set(rows) == {t for t, _ in api_coverage.NAMESPACES} | {"torch.Tensor methods"}
    for r in rows.values():
        assert set(r["have"]) | set(r["missing"]) == set(r["names"])
        assert not set(r["have"]) & set(r["missing"])
    assert {"tensor", "randn", "no_grad", "Tensor"} <= set(rows["torch"]["have"])
    assert "Linear" in rows["torch.nn"]["have"] and "Any" not in rows["torch.optim.lr_scheduler"]["names"]
    assert "backward" in rows["torch.Tensor methods"]["have"]
    text = api_coverage.markdown(list(rows.values()))
    n, h = len(rows["torch.nn"]["names"]), len(rows["torch.nn"]["have"])
    assert f"| `torch.nn` | {n} | {h} | {100 * h / n:.0f}% |" in text


# --------------------------------------------------------------------------
# The READMEs: their code runs, the two languages agree, the pictures exist
# --------------------------------------------------------------------------
ROOT = os.path.dirname(EXAMPLES)


def _readme(name: str) -> str:
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def _code_blocks(text: str) -> list:
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def _without_comments(code: str) -> str:
    return "\n".join(re.sub(r"\s*#\s.*$", "", line) for line in code.splitlines())


def test_readmes_link_each_other_and_share_their_code():
    en, zh = _readme("README.md"), _readme("README.zh-CN.md")
    assert "(README.zh-CN.md)" in en.split("\n## ")[0] and "(README.md)" in zh.split("\n## ")[0]
    # the same code in both, comments translated
    assert [_without_comments(b) for b in _code_blocks(en)] == [_without_comments(b) for b in _code_blocks(zh)]
    assert _code_blocks(en)[0] == ('pip install ".[examples]" && python examples/train_digits.py\n'
                                   'pip install ".[test]" && python -m pytest\n')
    for text in (en, zh):
        for src in re.findall(r'<img src="([^"]+)"', text):
            assert os.path.exists(os.path.join(ROOT, src)), src
        assert "<!-- api-coverage:start -->" in text and "<!-- api-coverage:end -->" in text


def test_readme_twenty_line_example_runs(tmp_path, monkeypatch, capsys):
    block = next(b for b in _code_blocks(_readme("README.md")) if "load_digits" in b and "DataLoader" in b)
    assert len(block.strip().splitlines()) <= 22
    monkeypatch.chdir(tmp_path)  # it saves digits.pt in the working directory
    exec(compile(block, "README.md", "exec"), {})
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", capsys.readouterr().out).group(1))
    assert accuracy >= 90
    assert (tmp_path / "digits.pt").exists()


def test_readme_property_based_tests_run():
    pytest.importorskip("hypothesis")
    block = next(b for b in _code_blocks(_readme("README.md")) if "@given" in b)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        test()  # hypothesis runs each over the profile's examples
