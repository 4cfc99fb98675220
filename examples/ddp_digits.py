"""Data-parallel training of an MLP on the handwritten digits, over MPI.

Each process (rank) holds a replica of the model and trains on its own share of
every epoch (``DistributedSampler``); ``DistributedDataParallel`` averages the
gradients across ranks during backward, so all replicas take the same steps.
Each rank then scores its share of the test set and the counts are summed.

Run it as one process or on N::

    pip install 'tinygrad_cn[distributed]'          # mpi4py + mpich
    python examples/ddp_digits.py                     # a world of one
    mpiexec -n 2 python examples/ddp_digits.py --optim adam

It prints each rank's loss per epoch and its test accuracy, then the global test
accuracy (about 97%). Without mpi4py it trains as a single plain process.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tinygrad_cn as torch  # noqa: E402  (the same code runs with `import torch`)
import tinygrad_cn.distributed as dist  # noqa: E402
from tinygrad_cn import nn, optim  # noqa: E402
from tinygrad_cn.datasets import load_digits  # noqa: E402
from tinygrad_cn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from tinygrad_cn.utils.data import DataLoader, TensorDataset  # noqa: E402
from tinygrad_cn.utils.data.distributed import DistributedSampler  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--optim", choices=["sgd", "adam"], default="sgd")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32, help="per rank")
    p.add_argument("--hidden", type=int, default=64)
    return p.parse_args()


def setup():
    """Join the process group when MPI is there; a world of one otherwise."""
    if importlib.util.find_spec("mpi4py") is None:
        print("mpi4py is not installed: training as a single process without DistributedDataParallel")
        return 0, 1, False
    dist.init_process_group("mpi")
    return dist.get_rank(), dist.get_world_size(), True


def evaluate(model, loader, distributed: bool):
    """(correct, total) on this rank's share, and the sums over every rank."""
    correct = total = 0
    model.eval()
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(dim=1) == y).sum())
            total += len(y)
    model.train()
    counts = torch.tensor([correct, total], dtype=torch.int64)
    if distributed:
        dist.all_reduce(counts)
    return (correct, total), tuple(int(c) for c in counts)


def main() -> int:
    args = parse_args()
    rank, world, distributed = setup()
    x_train, y_train, x_test, y_test = load_digits(test_size=0.2, seed=0)
    train_set, test_set = TensorDataset(x_train, y_train), TensorDataset(x_test, y_test)
    train_sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True, seed=0)
    # no padding for the test share: drop nothing, but count only real rows
    test_sampler = DistributedSampler(test_set, num_replicas=world, rank=rank, shuffle=False)
    train_loader = DataLoader(train_set, batch_size=args.batch_size, sampler=train_sampler)
    test_loader = DataLoader(test_set, batch_size=256, sampler=test_sampler)

    torch.manual_seed(rank)  # different on purpose: DDP broadcasts rank 0's weights
    model = nn.Sequential(nn.Linear(64, args.hidden), nn.ReLU(), nn.Linear(args.hidden, 10))
    if distributed:
        model = DDP(model)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9) if args.optim == "sgd" else \
        optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    if rank == 0:
        print(f"{world} rank(s), {len(train_set)} training rows, {len(train_sampler)} per rank per epoch, "
              f"global batch {args.batch_size * world}, {args.optim}")
    start = time.perf_counter()
    for epoch in range(args.epochs):
        train_sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        total = 0.0
        for x, y in train_loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            total += loss.item() * len(y)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f"[rank {rank}] epoch {epoch + 1:2d}  train loss {total / len(train_sampler):.4f}", flush=True)
    seconds = time.perf_counter() - start
    (c, n), (gc, gn) = evaluate(model, test_loader, distributed)
    print(f"[rank {rank}] test accuracy on its share: {c}/{n} = {c / n:.4f}", flush=True)
    if distributed:
        dist.barrier()
    if rank == 0:
        # the padded test share may count a few rows twice; it is at most world - 1 rows
        print(f"test accuracy: {gc}/{gn} = {gc / gn:.4f}  ({seconds:.1f} s of training)", flush=True)
    if distributed:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
