"""Logistic regression by gradient descent, as in the classic Theano tutorial, then on real data.

Part 1 is the Theano tutorial's example: 400 samples of 784 random features
with random 0/1 labels, the model ``p = sigmoid(x . w + b)``, the loss

    mean cross-entropy  -y log p - (1 - y) log(1 - p)   +   0.01 * ||w||^2

and 10,000 steps of gradient descent with learning rate 0.1. The labels are
noise, yet with 784 parameters for 400 points the model learns them all:
training accuracy reaches 100%. That is memorisation, not learning.

Part 2 runs the same code on a real problem, the Breast Cancer Wisconsin data
(``tinygrad_cn.datasets.load_breast_cancer()``: 569 tumours, 30 standardised
features, malignant or benign), and reports the accuracy on held-out tumours.

Run::

    python examples/logistic_regression.py          # about 10 s
    python examples/logistic_regression.py --quick  # 1,000 steps

Figures: ``figures/logistic_regression.png`` (both loss curves).
"""
from __future__ import annotations

from typing import List, Optional

from _common import parse_args, plt, progress, save_figure

import tinygrad_cn as torch
import tinygrad_cn.nn.functional as F
from tinygrad_cn.datasets import load_breast_cancer


def cost(x, y, w, b, l2: float = 0.01):
    """Mean cross-entropy of p = sigmoid(x w + b) plus l2 * ||w||^2.

    log p and log(1 - p) are written as logsigmoid(z) and logsigmoid(-z): the
    same values, without log(0) when p rounds to 0 or 1.
    """
    z = x @ w + b
    xent = -(y * F.logsigmoid(z) + (1 - y) * F.logsigmoid(-z))
    return xent.mean() + l2 * (w ** 2).sum()


def train(x, y, steps: int, lr: float = 0.1, desc: str = "GD"):
    """Plain gradient descent on ``cost``; returns w, b and the cost of every step."""
    torch.manual_seed(0)
    w = torch.randn(x.shape[1], requires_grad=True)  # the tutorial starts from random weights
    b = torch.zeros((), requires_grad=True)
    losses = []
    for _ in progress(range(steps), desc=desc):
        loss = cost(x, y, w, b)
        w.grad = b.grad = None
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        losses.append(loss.item())
    return w, b, losses


def accuracy(x, y, w, b) -> float:
    with torch.no_grad():
        return ((x @ w + b > 0).float() == y).float().mean().item()


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    steps = 1000 if args.quick else 10000

    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(400, 784, generator=gen)
    y = torch.randint(0, 2, (400,), generator=gen).float()
    w, b, random_losses = train(x, y, steps, desc="random labels")
    random_acc = accuracy(x, y, w, b)
    print(f"random data: 400 x 784, {steps} steps, cost {random_losses[0]:.3f} -> {random_losses[-1]:.4f}")
    print(f"  target values  : {y[:12].long().tolist()} ...")
    print(f"  predictions    : {(x[:12] @ w + b > 0).long().tolist()} ...")
    print(f"  training accuracy {random_acc:.1%} (the labels are coin flips: this is memorisation)")

    x_train, y_train, x_test, y_test = load_breast_cancer(test_size=0.25, seed=0, stratify=True)
    cancer_steps = steps // 5
    w, b, cancer_losses = train(x_train, y_train.float(), cancer_steps, desc="breast cancer")
    train_acc = accuracy(x_train, y_train.float(), w, b)
    test_acc = accuracy(x_test, y_test.float(), w, b)
    print(f"breast cancer: {len(x_train)} training / {len(x_test)} test tumours, 30 features, "
          f"{cancer_steps} steps: training accuracy {train_acc:.1%}, test accuracy {test_acc:.1%}")

    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(random_losses, label="400 x 784 random features, random labels")
    ax.plot(cancer_losses, label="breast cancer (30 features)")
    ax.set(xlabel="step", ylabel="cross-entropy + 0.01·||w||²", yscale="log", title="logistic regression by GD")
    ax.legend(fontsize=8)
    figure = save_figure(fig, args.outdir, "logistic_regression.png")
    return {"random_train_acc": random_acc, "random_losses": random_losses, "cancer_train_acc": train_acc,
            "cancer_test_acc": test_acc, "cancer_losses": cancer_losses, "figures": [figure]}


if __name__ == "__main__":
    main()
