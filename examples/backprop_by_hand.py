"""Backpropagation by hand: every gradient of Linear-ReLU-Linear-MSE, next to autograd's.

The model, for a batch X of n rows::

    H = X W1 + b1        (n, hidden)      first linear layer
    A = relu(H)          (n, hidden)
    Y = A W2 + b2        (n, out)         second linear layer
    L = mean((Y - T)^2)  scalar           mean over all n * out entries

Backward, one chain-rule step at a time (``dZ`` means dL/dZ):

    dY  = 2 (Y - T) / (n * out)
    dW2 = A^T dY,   db2 = sum of dY over rows,   dA = dY W2^T
    dH  = dA * [H > 0]                          (relu passes gradient where it was active)
    dW1 = X^T dH,   db1 = sum of dH over rows,   dX = dH W1^T

The script computes each line in NumPy, asks autograd for the same (``.grad``
of the leaves, ``retain_grad()`` for the intermediates), compares them with
``np.allclose``, checks the whole model with ``gradcheck`` (float64 central
differences) and draws the graph autograd recorded (``tinygrad_cn.viz``).

Run::

    python examples/backprop_by_hand.py

Output: the walk through the chain rule, ``figures/backprop_graph.dot`` and
``figures/backprop_graph.png`` (drawn with matplotlib) and, when Graphviz is
installed, its own rendering ``figures/backprop_graph_dot.png``.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

from _common import parse_args, plt, save_figure

import numpy as np

import tinygrad_cn as torch
from tinygrad_cn.autograd import gradcheck
from tinygrad_cn.viz import draw_graph


def forward(x, w1, b1, w2, b2, t):
    """The model in tensor ops; returns the loss and the intermediates (for retain_grad)."""
    h = x @ w1 + b1
    a = h.relu()
    y = a @ w2 + b2
    loss = ((y - t) ** 2).mean()
    return loss, {"H": h, "A": a, "Y": y}


def by_hand(x, w1, b1, w2, b2, t) -> Dict[str, np.ndarray]:
    """The same forward and backward in plain NumPy, one chain-rule step per line."""
    h = x @ w1 + b1
    a = np.maximum(h, 0)
    y = a @ w2 + b2
    d = {}
    d["Y"] = 2 * (y - t) / y.size             # d mean((Y-T)^2) / dY
    d["W2"] = a.T @ d["Y"]                    # Y = A W2 + b2
    d["b2"] = d["Y"].sum(axis=0)              # b2 was broadcast over rows: sum back
    d["A"] = d["Y"] @ w2.T
    d["H"] = d["A"] * (h > 0)                 # relu'(H) is 1 where H > 0, else 0
    d["W1"] = x.T @ d["H"]                    # H = X W1 + b1
    d["b1"] = d["H"].sum(axis=0)
    d["X"] = d["H"] @ w1.T
    return d


STEPS = [
    ("Y", "dY = 2 (Y - T) / (n*out)      derivative of the mean of squares"),
    ("W2", "dW2 = A^T dY                  Y = A W2 + b2: weight gradient"),
    ("b2", "db2 = sum_rows dY             the bias was broadcast over the batch"),
    ("A", "dA = dY W2^T                  gradient flowing back into the hidden layer"),
    ("H", "dH = dA * [H > 0]             relu lets it through where it was active"),
    ("W1", "dW1 = X^T dH"),
    ("b1", "db1 = sum_rows dH"),
    ("X", "dX = dH W1^T                  (the input's gradient, for completeness)"),
]


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    rng = np.random.default_rng(0)
    n, n_in, hidden, n_out = 8, 5, 6, 3
    arrays = {"X": rng.standard_normal((n, n_in)), "W1": rng.standard_normal((n_in, hidden)) * 0.5,
              "b1": rng.standard_normal(hidden) * 0.1, "W2": rng.standard_normal((hidden, n_out)) * 0.5,
              "b2": rng.standard_normal(n_out) * 0.1, "T": rng.standard_normal((n, n_out))}

    leaves = {k: torch.tensor(v, requires_grad=(k != "T")) for k, v in arrays.items()}  # float64
    loss, inner = forward(*(leaves[k] for k in ("X", "W1", "b1", "W2", "b2", "T")))
    for t in inner.values():
        t.retain_grad()  # keep the gradients of intermediates too
    loss.backward()
    autograd = {k: leaves[k].grad.numpy() for k in ("X", "W1", "b1", "W2", "b2")}
    autograd.update({k: inner[k].grad.numpy() for k in ("Y", "A", "H")})

    hand = by_hand(*(arrays[k] for k in ("X", "W1", "b1", "W2", "b2", "T")))
    print(f"Linear({n_in}, {hidden}) - ReLU - Linear({hidden}, {n_out}) - MSE on a batch of {n}; "
          f"loss = {loss.item():.6f}\n")
    matches = {}
    for key, text in STEPS:
        matches[key] = bool(np.allclose(hand[key], autograd[key], rtol=1e-10, atol=1e-12))
        err = np.abs(hand[key] - autograd[key]).max()
        print(f"{text:<78s} shape {str(hand[key].shape):8s} "
              f"{'matches autograd' if matches[key] else 'DIFFERS'} (max |diff| {err:.1e})")

    params = tuple(leaves[k] for k in ("X", "W1", "b1", "W2", "b2"))
    ok = gradcheck(lambda *p: forward(*p, leaves["T"])[0], params)
    print(f"\ngradcheck (float64 central differences against autograd) on all five inputs: {ok}")

    graph = draw_graph(loss, params={k: leaves[k] for k in ("X", "W1", "b1", "W2", "b2")})
    dot_path = graph.save(os.path.join(args.outdir, "backprop_graph.dot"))
    print(f"\nthe graph autograd recorded ({dot_path}):\n{graph.source}")
    fig, ax = plt.subplots(figsize=(7, 6))
    graph.plot(ax=ax)  # matplotlib: no Graphviz needed
    ax.set_title("backward graph of the MSE loss (leaves show their gradient norms)", fontsize=9)
    figures = [dot_path, save_figure(fig, args.outdir, "backprop_graph.png", dpi=90)]
    try:
        figures.append(graph.render(os.path.join(args.outdir, "backprop_graph_dot"), format="png"))
        print(f"rendered with Graphviz to {figures[-1]}")
    except RuntimeError as e:
        print(f"(Graphviz rendering skipped: {e})")
    return {"loss": loss.item(), "hand": hand, "autograd": autograd, "matches": matches,
            "gradcheck": ok, "dot": graph.source, "figures": figures}


if __name__ == "__main__":
    main()
