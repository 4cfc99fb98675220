"""How optimizers move: GD, SGD, momentum, AdaGrad, RMSprop, AdaDelta and Adam in 2-D.

Two classic test functions:

* the ill-conditioned bowl ``f(x1, x2) = 0.1 x1^2 + 2 x2^2`` (curvatures 0.2 and
  4: a step that suits x2 crawls along x1), from (-7, 2);
* Rosenbrock's banana ``(1 - x1)^2 + 100 (x2 - x1^2)^2``, minimum at (1, 1) at
  the end of a long curved valley, from (-1.5, 2).

Each optimizer is the library's ``tinygrad_cn.optim`` class driving one 2-element
parameter; "GD" is ``optim.SGD`` on the exact gradient and "SGD" the same on a
gradient with Gaussian noise added (what a minibatch does). The first figures
draw every trajectory over the contour plot, one panel per optimizer; the last
shows the loss against the step on Rosenbrock for three learning rates each
(the chosen one, a third of it and three times it): too small crawls, too large
oscillates or diverges.

Run::

    python examples/optimizer_trajectories.py           # about 20 s
    python examples/optimizer_trajectories.py --quick

Figures: ``figures/trajectories_bowl.png``, ``figures/trajectories_rosenbrock.png``,
``figures/optimizer_lr_sweep.png``.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Tuple

from _common import parse_args, plt, save_figure

import numpy as np

import tinygrad_cn as torch
import tinygrad_cn.optim as optim


def bowl(p):
    return 0.1 * p[0] ** 2 + 2 * p[1] ** 2


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


# name -> (optimizer class, its settings on the bowl, on Rosenbrock, gradient noise)
OPTIMIZERS: Dict[str, Tuple[type, dict, dict, float]] = {
    "GD": (optim.SGD, dict(lr=0.4), dict(lr=5e-4), 0.0),
    "SGD": (optim.SGD, dict(lr=0.4), dict(lr=5e-4), 1.0),
    "Momentum": (optim.SGD, dict(lr=0.1, momentum=0.7), dict(lr=5e-4, momentum=0.9), 0.0),
    "AdaGrad": (optim.Adagrad, dict(lr=1.5), dict(lr=0.5), 0.0),
    "RMSprop": (optim.RMSprop, dict(lr=0.3, alpha=0.9), dict(lr=0.01, alpha=0.9), 0.0),
    "AdaDelta": (optim.Adadelta, dict(lr=50.0, rho=0.9), dict(lr=10.0, rho=0.9), 0.0),
    "Adam": (optim.Adam, dict(lr=0.5), dict(lr=0.05), 0.0),
}
PROBLEMS = {"bowl": (bowl, (-7.0, 2.0), (0.0, 0.0)), "rosenbrock": (rosenbrock, (-1.5, 2.0), (1.0, 1.0))}


def run(f: Callable, start, opt_cls: type, settings: dict, steps: int, noise: float = 0.0,
        seed: int = 0) -> Tuple[np.ndarray, List[float]]:
    """Minimise f from ``start``; returns the (steps + 1, 2) trajectory and the loss at each point."""
    gen = torch.Generator().manual_seed(seed)
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = opt_cls([p], **settings)
    path, losses = [p.detach().numpy().copy()], []
    for _ in range(steps):
        opt.zero_grad()
        loss = f(p)
        losses.append(loss.item())
        if noise:  # a random linear term: its gradient is pure noise, as a minibatch's error
            loss = loss + noise * (torch.randn(2, dtype=torch.float64, generator=gen) * p).sum()
        loss.backward()
        opt.step()
        path.append(p.detach().numpy().copy())
    losses.append(f(p).item())
    return np.array(path), losses


def contour_panels(problem: str, steps: int, outdir: str) -> Tuple[str, Dict[str, float]]:
    f, start, best = PROBLEMS[problem]
    lim = ((-8, 8), (-3, 3)) if problem == "bowl" else ((-2, 2), (-1, 3))
    g1, g2 = np.meshgrid(np.linspace(*lim[0], 200), np.linspace(*lim[1], 200))
    z = f(np.stack([g1, g2]))
    levels = np.linspace(0, 20, 15) if problem == "bowl" else np.logspace(-1, 3.5, 15)
    fig, axes = plt.subplots(2, 4, figsize=(12, 5.5))
    final = {}
    for ax, (name, (cls, s_bowl, s_rosen, noise)) in zip(axes.flat, OPTIMIZERS.items()):
        settings = s_bowl if problem == "bowl" else s_rosen
        path, losses = run(f, start, cls, settings, steps, noise)
        final[name] = losses[-1]
        ax.contour(g1, g2, z, levels=levels, colors="0.75", linewidths=0.6)
        ax.plot(path[:, 0], path[:, 1], ".-", color="C3", ms=2, lw=0.8)
        ax.plot(*best, "k*", ms=8)
        ax.set(xlim=lim[0], ylim=lim[1], title=f"{name} ({', '.join(f'{k}={v}' for k, v in settings.items())})")
        ax.title.set_fontsize(8)
        ax.tick_params(labelsize=7)
        print(f"{problem:10s} {name:9s} after {steps} steps: f = {losses[-1]:.3g} at ({path[-1, 0]:.3f}, {path[-1, 1]:.3f})")
    axes.flat[-1].set_axis_off()
    title = "0.1·x1² + 2·x2²" if problem == "bowl" else "Rosenbrock (1−x1)² + 100(x2−x1²)²"
    fig.suptitle(f"{title}: {steps} steps from {start}", fontsize=10)
    return save_figure(fig, outdir, f"trajectories_{problem}.png", dpi=80), final


def lr_sweep(steps: int, outdir: str) -> Tuple[str, Dict[str, Dict[float, float]]]:
    """Loss against step on Rosenbrock at lr/3, lr and 3*lr for every optimizer."""
    fig, axes = plt.subplots(2, 4, figsize=(12, 5))
    final: Dict[str, Dict[float, float]] = {}
    for ax, (name, (cls, _, settings, noise)) in zip(axes.flat, OPTIMIZERS.items()):
        final[name] = {}
        for factor in (1 / 3, 1, 3):
            s = dict(settings, lr=settings["lr"] * factor)
            _, losses = run(rosenbrock, (-1.5, 2.0), cls, s, steps, noise)
            losses = np.array(losses)
            final[name][s["lr"]] = losses[-1]
            shown = np.where(np.isfinite(losses) & (losses < 1e6), losses, np.nan)  # diverged: cut the line
            ax.plot(shown, lw=1, label=f"lr={s['lr']:.2g}")
        ax.set(yscale="log", title=name, xlabel="step")
        ax.title.set_fontsize(9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
    axes.flat[-1].set_axis_off()
    fig.suptitle("Rosenbrock: loss against step for three learning rates", fontsize=10)
    return save_figure(fig, outdir, "optimizer_lr_sweep.png"), final


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    bowl_steps, rosen_steps = (30, 200) if args.quick else (40, 1500)
    fig_bowl, final_bowl = contour_panels("bowl", bowl_steps, args.outdir)
    fig_rosen, final_rosen = contour_panels("rosenbrock", rosen_steps, args.outdir)
    fig_sweep, sweep = lr_sweep(rosen_steps // 2, args.outdir)  # enough to tell the rates apart
    return {"bowl": final_bowl, "rosenbrock": final_rosen, "lr_sweep": sweep,
            "figures": [fig_bowl, fig_rosen, fig_sweep]}


if __name__ == "__main__":
    main()
