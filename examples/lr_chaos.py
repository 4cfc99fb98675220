"""Learning rate and chaos: gradient descent on a 1-D well is the logistic map.

Take the loss ``f(x) = x^2/2 - x^3/3``: a minimum at 0 with curvature 1 and a
gentle cubic (anharmonic) term. Gradient descent with learning rate ``lr``
iterates ``x <- x - lr * (x - x^2)``, and with ``y = lr (1 - x) / (1 + lr)`` this
is exactly the logistic map ``y <- r y (1 - y)`` with ``r = 1 + lr``. So:

* ``lr < 2``: the iterates converge to the minimum (``|1 - lr f''(0)| < 1``);
* ``lr = 2``: period doubling; the iterates bounce between two points;
* ``lr = sqrt(6) ~ 2.449``: period 4, then 8, 16, ... (Feigenbaum's cascade);
* ``lr ~ 2.57``: chaos, with windows of order (period 3 at ``sqrt(8) ~ 2.83``);
* ``lr > 3``: the iterate jumps over the maximum at x = 1 and runs away.

The bifurcation diagram puts the learning rate on the x axis and the late
iterates on the y axis. Every point comes from tinygrad_cn's autograd: one
tensor holds ``x`` for every learning rate at once, ``loss.backward()`` gives
``f'(x)`` for all of them, and the update runs under ``no_grad``.

The second figure is the everyday version: an MLP on the digits trained with a
learning rate that is too large. Decayed slowly (``ExponentialLR(0.999)``) its
loss stays erratic for a long time; decayed faster (``0.98``) it calms down as
soon as the rate drops below the stability bound.

Run::

    python examples/lr_chaos.py          # about 10 s
    python examples/lr_chaos.py --quick

Figures: ``figures/lr_bifurcation.png``, ``figures/lr_too_large.png``.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from _common import parse_args, plt, save_figure

import numpy as np

import tinygrad_cn as torch
import tinygrad_cn.nn as nn
import tinygrad_cn.nn.functional as F
from tinygrad_cn.datasets import load_digits
from tinygrad_cn.optim.lr_scheduler import ExponentialLR


def potential(x):
    """f(x) = x^2/2 - x^3/3: f'(x) = x - x^2, f''(0) = 1."""
    return x ** 2 / 2 - x ** 3 / 3


def late_iterates(lrs: np.ndarray, x0: float = 0.3, burn_in: int = 600, keep: int = 64) -> np.ndarray:
    """Run GD for every learning rate at once (float64); return the last ``keep`` iterates, (keep, len(lrs))."""
    lr = torch.tensor(lrs, dtype=torch.float64)
    x = torch.full((len(lrs),), x0, dtype=torch.float64, requires_grad=True)
    kept = []
    for step in range(burn_in + keep):
        loss = potential(x).sum()  # the sum's gradient is f'(x) element by element
        x.grad = None
        loss.backward()
        with torch.no_grad():
            x -= lr * x.grad
        if step >= burn_in:
            kept.append(x.detach().numpy().copy())
    return np.stack(kept)


def period(orbit: np.ndarray, tol: float = 1e-6, max_period: int = 32) -> int:
    """Smallest p with orbit[t + p] == orbit[t] on the kept tail; 0 when none up to ``max_period`` (chaos)."""
    for p in range(1, max_period + 1):
        if np.all(np.abs(orbit[p:] - orbit[:-p]) < tol):
            return p
    return 0


def plot_bifurcation(lrs: np.ndarray, orbits: np.ndarray, outdir: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(np.broadcast_to(lrs, orbits.shape).ravel(), orbits.ravel(), ",k", alpha=0.4)
    for lr, label in ((2.0, "2"), (np.sqrt(6), "√6"), (2.5699, "2.57")):
        ax.axvline(lr, color="C3", lw=0.6, ls="--")
        ax.text(lr + 0.01, 0.03, label, color="C3", fontsize=8, transform=ax.get_xaxis_transform())
    ax.set(xlabel="learning rate", ylabel="late iterates x", xlim=(lrs[0], lrs[-1]),
           title="GD on x²/2 − x³/3: period doubling into chaos")
    return save_figure(fig, outdir, "lr_bifurcation.png", dpi=100)


def train_too_large(gamma: float, steps: int, lr: float = 2.0) -> List[float]:
    """Full-batch SGD on the digits with an MLP, starting above the stable learning rate."""
    torch.manual_seed(0)
    x, y, _, _ = load_digits(test_size=0.2, seed=0)
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = ExponentialLR(optimizer, gamma=gamma)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def plot_losses(runs: Dict[str, List[float]], outdir: str) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for label, losses in runs.items():
        ax.plot(losses, label=label, lw=1)
    ax.set(xlabel="step", ylabel="training loss", yscale="log", title="MLP on digits, lr starting at 2.0")
    ax.legend(fontsize=8)
    return save_figure(fig, outdir, "lr_too_large.png")


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    lrs = np.linspace(1.5, 3.0, 300 if args.quick else 1200)
    orbits = late_iterates(lrs)
    probe_lrs = [1.8, 2.2, 2.5, 2.55, 2.7, 2.84]
    probe_orbits = late_iterates(np.array(probe_lrs), burn_in=4000)  # long burn-in: near a doubling it converges slowly
    probes = {lr: period(probe_orbits[:, i]) for i, lr in enumerate(probe_lrs)}
    for lr in probes:
        print(f"lr {lr:4.2f}: " + (f"period {probes[lr]}" if probes[lr] else "no period up to 32 (chaos)"))
    figures = [plot_bifurcation(lrs, orbits, args.outdir)]

    steps = 150 if args.quick else 400
    runs = {f"ExponentialLR(γ={g})": train_too_large(g, steps) for g in (0.999, 0.98)}
    for label, losses in runs.items():
        tail = np.array(losses[-50:])
        print(f"{label}: last loss {losses[-1]:.4f}, spread of the last 50 losses {np.ptp(tail):.4f}")
    figures.append(plot_losses(runs, args.outdir))
    return {"periods": probes, "lrs": lrs, "orbits": orbits, "runs": runs, "figures": figures}


if __name__ == "__main__":
    main()
