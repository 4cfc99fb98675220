"""Why initialisation matters: activation histograms through a 5-layer net, then BatchNorm.

A net of five ``Linear(100, 100)`` layers is fed 1,000 random inputs, and the
activations after each layer are drawn as histograms, for four ways of drawing
the weights and three activation functions:

* std 1: sigmoid saturates at 0 and 1 (gradients vanish there), tanh at +-1;
* std 0.01: everything shrinks towards the same value layer after layer, so all
  units compute nearly the same thing;
* Xavier (``nn.init.xavier_normal_``, std sqrt(2 / (fan_in + fan_out))): keeps
  the spread for sigmoid and tanh;
* He (``nn.init.kaiming_normal_``, std sqrt(2 / fan_in)): keeps it for ReLU,
  which zeroes half of its inputs.

Then the same net with ``nn.BatchNorm1d`` after every linear layer: even from
the bad std-0.01 start the activations keep their spread, and on the digits
the net with BatchNorm trains faster than the one without.

Run::

    python examples/weight_init_histograms.py          # under 10 s
    python examples/weight_init_histograms.py --quick

Figures: ``figures/init_histograms.png``, ``figures/batchnorm.png``.
"""
from __future__ import annotations

from typing import Dict, List, Optional

from _common import parse_args, plt, save_figure

import numpy as np

import tinygrad_cn as torch
import tinygrad_cn.nn as nn
import tinygrad_cn.nn.functional as F
from tinygrad_cn.datasets import load_digits

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
INITS = ["std 1", "std 0.01", "Xavier", "He"]
LAYERS, WIDTH = 5, 100


def init_weight(w, how: str, nonlinearity: str) -> None:
    """Fill ``w`` in place (under no_grad, as nn.init does) by one of the four rules."""
    if how == "std 1":
        nn.init.normal_(w, std=1.0)
    elif how == "std 0.01":
        nn.init.normal_(w, std=0.01)
    elif how == "Xavier":
        nn.init.xavier_normal_(w)
    else:
        nn.init.kaiming_normal_(w, nonlinearity="relu" if nonlinearity == "relu" else "leaky_relu")


def make_net(act: str, how: str, batchnorm: bool = False, n_in: int = WIDTH, n_out: int = WIDTH,
             layers: int = LAYERS) -> nn.Sequential:
    mods = []
    for i in range(layers):
        lin = nn.Linear(n_in if i == 0 else WIDTH, WIDTH)
        init_weight(lin.weight, how, act)
        nn.init.zeros_(lin.bias)
        mods += [lin] + ([nn.BatchNorm1d(WIDTH)] if batchnorm else []) + [ACTIVATIONS[act]()]
    if n_out != WIDTH:
        mods.append(nn.Linear(WIDTH, n_out))
    return nn.Sequential(*mods)


def layer_activations(net: nn.Sequential, x) -> List[np.ndarray]:
    """The output of every activation module, in order (forward hooks record them)."""
    seen: List[np.ndarray] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().numpy().ravel().copy()))
             for m in net if isinstance(m, tuple(ACTIVATIONS.values()))]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return seen


def plot_histograms(stats: Dict, acts: Dict, outdir: str) -> str:
    fig, axes = plt.subplots(len(INITS), len(ACTIVATIONS), figsize=(10, 8))
    for r, how in enumerate(INITS):
        for c, act in enumerate(ACTIVATIONS):
            ax = axes[r, c]
            lo, hi = (0, 1) if act == "sigmoid" else (-1, 1) if act == "tanh" else (0, 2.5)
            for i, a in enumerate(acts[how, act]):
                if act == "relu":
                    a = a[a > 0]  # half are exact zeros: a spike that would hide the rest
                ax.hist(a, bins=40, range=(lo, hi), histtype="step", density=True, label=f"layer {i + 1}")
            ax.set_yticks([])
            ax.tick_params(labelsize=7)
            ax.set_title(f"{how}, {act}: std by layer " + " ".join(f"{s:.2g}" for s in stats[how, act]),
                         fontsize=7)
    axes[0, 0].legend(fontsize=6)
    fig.suptitle("activations after each of 5 layers (1,000 random inputs; ReLU's zeros left out)", fontsize=10)
    return save_figure(fig, outdir, "init_histograms.png")


def train_digits(batchnorm: bool, epochs: int, seed: int = 0) -> List[float]:
    """A 5-layer sigmoid MLP from the std-0.01 start, plain SGD; the mean loss of each epoch."""
    torch.manual_seed(seed)
    x, y, _, _ = load_digits(test_size=0.2, seed=0)
    net = make_net("sigmoid", "std 0.01", batchnorm=batchnorm, n_in=64, n_out=10)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    return losses


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    torch.manual_seed(0)
    x = torch.randn(1000, WIDTH)
    acts, stats = {}, {}
    for how in INITS:
        for act in ACTIVATIONS:
            acts[how, act] = layer_activations(make_net(act, how), x)
            stats[how, act] = [float(a.std()) for a in acts[how, act]]
            print(f"{how:8s} {act:7s} std of each layer's activations: "
                  + "  ".join(f"{s:.3g}" for s in stats[how, act]))
    figures = [plot_histograms(stats, acts, args.outdir)]

    bn_net = make_net("sigmoid", "std 0.01", batchnorm=True)  # training mode: batch statistics
    with torch.no_grad():
        bn_acts = []
        h = x
        for m in bn_net:
            h = m(h)
            if isinstance(m, nn.Sigmoid):
                bn_acts.append(h.numpy().ravel().copy())
    bn_std = [float(a.std()) for a in bn_acts]
    print("std 0.01 sigmoid with BatchNorm1d:   " + "  ".join(f"{s:.3g}" for s in bn_std))

    epochs = 4 if args.quick else 15
    curves = {"without BatchNorm": train_digits(False, epochs), "with BatchNorm": train_digits(True, epochs)}
    for label, losses in curves.items():
        print(f"digits, 5 sigmoid layers from std 0.01, {label}: loss by epoch "
              + " ".join(f"{v:.3f}" for v in losses))

    fig, (ax_h, ax_t) = plt.subplots(1, 2, figsize=(9, 3.3))
    for i, bn in enumerate(bn_acts):
        ax_h.hist(bn, bins=40, range=(0, 1), histtype="step", density=True, color=f"C{i}", label=f"layer {i + 1}")
    ax_h.set(title="std 0.01 + sigmoid with BatchNorm: spread kept", yticks=[])
    ax_h.title.set_fontsize(9)
    ax_h.legend(fontsize=6)
    for label, losses in curves.items():
        ax_t.plot(range(1, epochs + 1), losses, marker=".", label=label)
    ax_t.set(xlabel="epoch", ylabel="training loss", title="digits, SGD lr 0.1")
    ax_t.title.set_fontsize(9)
    ax_t.legend(fontsize=8)
    figures.append(save_figure(fig, args.outdir, "batchnorm.png"))
    return {"std": stats, "bn_std": bn_std, "curves": curves, "figures": figures}


if __name__ == "__main__":
    main()
