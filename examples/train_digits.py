"""Train an MLP and a small CNN on the 8x8 handwritten digits, PyTorch style.

This is the first example to run. It is written exactly as PyTorch code
(``import tinygrad_cn as torch``): ``nn.Module`` models, a ``DataLoader``
over a ``TensorDataset``, an ``optim`` optimizer, ``F.cross_entropy``, and a
checkpoint saved with ``torch.save(model.state_dict(), path)`` and loaded back.

* data: the 1,797 digits scikit-learn ships, embedded in ``tinygrad_cn.datasets``
  (offline), split 80/20;
* MLP: 64 -> 128 -> 64 -> 10 with ReLU (test accuracy about 97%);
* CNN: two 3x3 convolutions with max-pooling, then a linear layer (about 98%).

Run::

    python examples/train_digits.py            # about 10 s on 2 cores
    python examples/train_digits.py --quick    # fewer epochs

It prints a progress bar per epoch (tqdm, when installed), the test accuracy
of each model, saves the loss and accuracy curves to ``figures/digits_curves.png``
and the checkpoints next to them, reloads each checkpoint into a fresh model
and prints its accuracy again: the same number.
"""
from __future__ import annotations

import os
import time
from typing import Dict, List, Optional

from _common import parse_args, plt, progress, save_figure

import tinygrad_cn as torch  # the same code runs with `import torch`
import tinygrad_cn.nn as nn
import tinygrad_cn.nn.functional as F
from tinygrad_cn.datasets import load_digits
from tinygrad_cn.utils.data import DataLoader, TensorDataset


class MLP(nn.Module):
    """64 pixels -> 128 -> 64 -> 10 logits."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.flatten(1)  # (n, 1, 8, 8) images or (n, 64) rows alike
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class CNN(nn.Module):
    """(n, 1, 8, 8) -> conv 16 -> pool -> conv 32 -> pool -> 10 logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)   # 8x8 -> 8x8
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)  # 4x4 -> 4x4
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # -> (n, 16, 4, 4)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # -> (n, 32, 2, 2)
        return self.fc(x.flatten(1))


def accuracy(model: nn.Module, loader: DataLoader) -> float:
    """Share of correctly classified samples, in eval mode and without recording a graph."""
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(dim=1) == y).sum().item()
            total += len(y)
    model.train()
    return correct / total


def train(model: nn.Module, train_loader: DataLoader, test_loader: DataLoader, epochs: int,
          lr: float, name: str) -> Dict[str, List[float]]:
    """Adam on cross-entropy; returns the mean loss and the test accuracy of each epoch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: Dict[str, List[float]] = {"loss": [], "test_acc": []}
    for epoch in range(1, epochs + 1):
        total, batches = 0.0, 0
        for x, y in progress(train_loader, desc=f"{name} epoch {epoch}/{epochs}"):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        history["loss"].append(total / batches)
        history["test_acc"].append(accuracy(model, test_loader))
        print(f"{name} epoch {epoch:2d}  loss {history['loss'][-1]:.4f}  test accuracy {history['test_acc'][-1]:.2%}")
    return history


def plot_curves(histories: Dict[str, Dict[str, List[float]]], outdir: str) -> str:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3.2))
    for name, h in histories.items():
        epochs = range(1, len(h["loss"]) + 1)
        ax_loss.plot(epochs, h["loss"], marker=".", label=name)
        ax_acc.plot(epochs, [100 * a for a in h["test_acc"]], marker=".", label=name)
    ax_loss.set(xlabel="epoch", ylabel="training loss", yscale="log", title="cross-entropy")
    ax_acc.set(xlabel="epoch", ylabel="test accuracy (%)", title="digits test set", ylim=(80, 100))
    ax_loss.legend()
    ax_acc.legend()
    return save_figure(fig, outdir, "digits_curves.png")


def checkpoint_roundtrip(model: nn.Module, fresh: nn.Module, path: str, test_loader: DataLoader) -> float:
    """Save the trained weights, load them into an untrained copy, return the copy's accuracy."""
    torch.save(model.state_dict(), path)
    fresh.load_state_dict(torch.load(path))
    return accuracy(fresh, test_loader)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(__doc__.splitlines()[0], argv)
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = load_digits(test_size=0.2, seed=0, images=True)
    print(f"digits: {len(x_train)} training and {len(x_test)} test images of shape {tuple(x_train.shape[1:])}")
    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=256)

    epochs = 10 if args.quick else 20
    results: dict = {}
    histories = {}
    for name, make, lr in (("MLP", MLP, 1e-3), ("CNN", CNN, 3e-3)):
        start = time.perf_counter()
        model = make()
        histories[name] = train(model, train_loader, test_loader, epochs, lr, name)
        acc = histories[name]["test_acc"][-1]
        path = os.path.join(args.outdir, f"digits_{name.lower()}.pt")
        reloaded = checkpoint_roundtrip(model, make(), path, test_loader)
        print(f"{name}: test accuracy {acc:.2%} after {epochs} epochs in {time.perf_counter() - start:.1f} s; "
              f"checkpoint {path} reloaded: {reloaded:.2%}")
        results[name.lower() + "_acc"] = acc
        results[name.lower() + "_reloaded_acc"] = reloaded
        results[name.lower() + "_checkpoint"] = path
    results["figures"] = [plot_curves(histories, args.outdir)]
    results["histories"] = histories
    return results


if __name__ == "__main__":
    main()
