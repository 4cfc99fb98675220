"""Fit one period of a sine with a tiny network, then watch it extrapolate.

The target is ``y = sin(2 pi x) / 4 + 0.5`` on ``x`` in [0, 2] (two periods,
values in [0.25, 0.75]). The network has layers [1, 4, 2, 2, 1]: a LeakyReLU(0.1)
after the first linear layer, sigmoids after the others (the last one keeps the
output in (0, 1), like the target). The loss is the mean squared error,
minimised by full-batch gradient descent with momentum 0.9 (``optim.SGD``;
plain GD stalls on the sigmoids' plateaus) at learning rate 0.3,
multiplied by 0.999 every 100 steps (``lr_scheduler.StepLR``).

Then the model predicts on [-1, 3]: outside the training interval it has no
reason to keep oscillating, and it does not: sigmoids saturate, so the
prediction flattens into a constant on both sides. A network interpolates what
it saw; it does not learn "sine".

Run::

    python examples/sine_regression.py           # 20,000 steps, 10-20 s
    python examples/sine_regression.py --quick   # 3,000 steps

Figures: ``figures/sine_regression.png`` (loss curve, fit and extrapolation).
"""
from __future__ import annotations

import math
from typing import List, Optional

from _common import parse_args, plt, save_figure

import numpy as np

import tinygrad_cn as torch
import tinygrad_cn.nn as nn
from tinygrad_cn.optim.lr_scheduler import StepLR


def target(x):
    return torch.sin(2 * math.pi * x) / 4 + 0.5


def make_model() -> nn.Module:
    """Layers [1, 4, 2, 2, 1]: LeakyReLU(0.1) first, then sigmoids."""
    return nn.Sequential(
        nn.Linear(1, 4), nn.LeakyReLU(0.1),
        nn.Linear(4, 2), nn.Sigmoid(),
        nn.Linear(2, 2), nn.Sigmoid(),
        nn.Linear(2, 1), nn.Sigmoid(),
    )


def fit(model: nn.Module, x, y, steps: int, lr: float = 0.3, gamma: float = 0.999, every: int = 100):
    """Full-batch SGD with momentum 0.9 on MSE with StepLR; returns the loss of every step and the final lr."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=every, gamma=gamma)  # stepped per step, not per epoch
    loss_fn = nn.MSELoss()
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        if step % max(1, steps // 10) == 0:
            print(f"step {step:6d}  loss {losses[-1]:.6f}  lr {scheduler.get_last_lr()[0]:.4f}")
    return losses, scheduler.get_last_lr()[0]


def plot(losses: List[float], x, y, x_wide, y_wide, outdir: str) -> str:
    fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(8, 3.2))
    ax_loss.plot(losses)
    ax_loss.set(xlabel="step", ylabel="MSE", yscale="log", title="training loss")
    ax_fit.axvspan(0, 2, color="0.92", label="training interval")
    ax_fit.plot(x_wide.numpy(), target(x_wide).numpy(), "k--", lw=1, label="sin(2πx)/4 + 1/2")
    ax_fit.plot(x.numpy(), y.numpy(), "k.", ms=3, label="training data")
    ax_fit.plot(x_wide.numpy(), y_wide.numpy(), "C3", lw=2, label="network")
    ax_fit.set(xlabel="x", ylabel="y", title="fit and extrapolation")
    ax_fit.legend(fontsize=7, loc="lower left")
    return save_figure(fig, outdir, "sine_regression.png")


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    torch.manual_seed(2)  # a net this small is at the mercy of its start: this one fits
    x = torch.linspace(0, 2, 101).unsqueeze(1)
    y = target(x)
    model = make_model()
    steps = 3000 if args.quick else 20000
    losses, final_lr = fit(model, x, y, steps)

    with torch.no_grad():
        x_wide = torch.linspace(-1, 3, 401).unsqueeze(1)
        y_wide = model(x_wide)
    inside = (x_wide >= 0) & (x_wide <= 2)
    err = (y_wide - target(x_wide)).abs()
    err_in = err[inside].max().item()
    err_out = err[~inside].max().item()
    # how much the prediction still moves far from the data: a flat tail moves little
    tail_range = float(np.ptp(y_wide.numpy()[:50]))
    print(f"final loss {losses[-1]:.2e} (first {losses[0]:.2e}), final lr {final_lr:.4f}")
    print(f"largest error on [0, 2]: {err_in:.3f}; outside it: {err_out:.3f}; "
          f"range of the prediction on [-1, -0.5]: {tail_range:.3f} (the target's: 0.5)")
    figure = plot(losses, x, y, x_wide, y_wide, args.outdir)
    return {"losses": losses, "final_loss": losses[-1], "final_lr": final_lr, "steps": steps,
            "max_error_inside": err_in, "max_error_outside": err_out, "tail_range": tail_range,
            "figures": [figure]}


if __name__ == "__main__":
    main()
