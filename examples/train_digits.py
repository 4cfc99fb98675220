"""Train a small MLP on scikit-learn's handwritten digits with raw tinygrad_cn tensors.

This is the first example to run. It uses nothing but tensors and autograd,
written exactly as you would with PyTorch (``import tinygrad_cn as torch``):

* parameters are tensors created with ``requires_grad=True``;
* the model is ``relu(x @ W1 + b1) @ W2 + b2`` (64 -> 32 -> 10);
* the loss is cross-entropy written with ``logsumexp``;
* ``loss.backward()`` fills ``.grad``; the SGD update runs under ``no_grad()``.

Run it with::

    pip install scikit-learn
    python examples/train_digits.py

It prints the loss of each epoch and the final test accuracy (about 97%) in a
few seconds on a laptop CPU.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tinygrad_cn as torch  # noqa: E402  (the same code runs with `import torch`)

EPOCHS = 20
BATCH_SIZE = 32
LEARNING_RATE = 0.1
HIDDEN = 32


def load_data():
    """1797 8x8 images of digits, as float32 tensors scaled to [0, 1], split 80/20."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("This example needs scikit-learn for its digits dataset: pip install scikit-learn")
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # pixels are 0..16
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(x))  # a fixed shuffle: the seed is set in main()
    n_train = int(0.8 * len(x))
    train, test = order[:n_train], order[n_train:]
    return x[train], y[train], x[test], y[test]


def init_params(n_in: int, n_hidden: int, n_out: int):
    """He-initialised weights and zero biases, all leaves that require grad."""
    w1 = (torch.randn(n_in, n_hidden) * (2.0 / n_in) ** 0.5).requires_grad_()
    b1 = torch.zeros(n_hidden, requires_grad=True)
    w2 = (torch.randn(n_hidden, n_out) * (2.0 / n_hidden) ** 0.5).requires_grad_()
    b2 = torch.zeros(n_out, requires_grad=True)
    return [w1, b1, w2, b2]


def model(params, x):
    w1, b1, w2, b2 = params
    hidden = (x @ w1 + b1).relu()
    return hidden @ w2 + b2  # logits


def cross_entropy(logits, targets):
    """Mean of -log softmax(logits)[target], computed stably as logsumexp - logit."""
    target_logits = logits.gather(1, targets.unsqueeze(1)).squeeze(1)
    return (logits.logsumexp(dim=1) - target_logits).mean()


def accuracy(params, x, y) -> float:
    with torch.no_grad():
        predictions = model(params, x).argmax(dim=1)
    return (predictions == y).float().mean().item()


def main() -> int:
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = load_data()
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of {x_train.shape[1]} pixels")
    params = init_params(x_train.shape[1], HIDDEN, 10)

    start = time.perf_counter()
    for epoch in range(1, EPOCHS + 1):
        order = torch.randperm(len(x_train))
        total, batches = 0.0, 0
        for i in range(0, len(x_train), BATCH_SIZE):
            idx = order[i:i + BATCH_SIZE]
            loss = cross_entropy(model(params, x_train[idx]), y_train[idx])

            for p in params:  # clear the gradients of the last step
                p.grad = None
            loss.backward()
            with torch.no_grad():  # the update itself must not be recorded
                for p in params:
                    p -= LEARNING_RATE * p.grad

            total += loss.item()
            batches += 1
        print(f"epoch {epoch:2d}  loss {total / batches:.4f}  test accuracy {accuracy(params, x_test, y_test):.1%}")
    elapsed = time.perf_counter() - start

    test_acc = accuracy(params, x_test, y_test)
    print(f"final test accuracy: {test_acc:.2%} after {EPOCHS} epochs in {elapsed:.1f} s")
    return 0 if test_acc >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
