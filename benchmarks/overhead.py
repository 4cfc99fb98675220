"""Per-op overhead on 1-element tensors: tinygrad_cn against NumPy and PyTorch.

On tiny tensors the arithmetic is free, so what is timed is the Python/C
dispatch: argument checks, dtype promotion, result allocation and, with
``requires_grad`` inputs, recording a graph node. Each figure is the best of
several timeit repeats, in microseconds per call, all in one process so the
ratios are comparable. Batches are short (500 calls) and many (200), so the
best batch is one no other process interrupted: the figures hold on a busy
machine too.

    python benchmarks/overhead.py            # the table
    python benchmarks/overhead.py --profile  # plus cProfile of ``a + b`` with grad recording

Target (DESIGN.md): our add with grad recording at or under torch's (~1.8 µs here).
"""
from __future__ import annotations

import argparse
import os
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import tinygrad_cn as tg  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the comparison column is left empty
    torch = None


def best_us(stmt, number: int, repeat: int) -> float:
    """Best-of-``repeat`` time of one call of ``stmt`` in µs."""
    timer = timeit.Timer(stmt)
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def cases(lib, grad: bool):
    """name -> zero-argument callable doing one op on 1-element inputs."""
    if lib == "numpy":
        a, b = np.array([1.5], dtype=np.float32), np.array([2.5], dtype=np.float32)
        m1, m2 = a.reshape(1, 1), b.reshape(1, 1)
        return {
            "add": lambda: a + b,
            "mul": lambda: a * b,
            "matmul": lambda: m1 @ m2,
            "sum": lambda: a.sum(),
            "relu": lambda: np.maximum(a, 0),
            "fwd+bwd (a*b+a).sum()": lambda: _numpy_fwd_bwd(a, b),
        }
    T = tg if lib == "ours" else torch
    a = T.tensor([1.5], requires_grad=grad)
    b = T.tensor([2.5], requires_grad=grad)
    m1 = T.tensor([[1.5]], requires_grad=grad)
    m2 = T.tensor([[2.5]], requires_grad=grad)
    out = {
        "add": lambda: a + b,
        "mul": lambda: a * b,
        "matmul": lambda: m1 @ m2,
        "sum": lambda: a.sum(),
        "relu": lambda: a.relu(),
    }
    if grad:
        out["fwd+bwd (a*b+a).sum()"] = lambda: (a * b + a).sum().backward()
    return out


def _numpy_fwd_bwd(a, b):
    """The same forward and backward written by hand in NumPy: the floor."""
    c = a * b + a
    c.sum()
    g = np.ones_like(c)
    return g * b + g, g * a


def run(number: int, repeat: int):
    names = ["add", "mul", "matmul", "sum", "relu", "fwd+bwd (a*b+a).sum()"]
    rows = []
    for grad in (False, True):
        ours = cases("ours", grad)
        theirs = cases("torch", grad) if torch is not None else {}
        npc = cases("numpy", grad)
        for name in names:
            if name not in ours:
                continue
            n = number // 10 if name.startswith("fwd") else number
            t_ours = best_us(ours[name], n, repeat)
            t_torch = best_us(theirs[name], n, repeat) if name in theirs else float("nan")
            t_np = best_us(npc[name], n, repeat)
            rows.append((name, "yes" if grad else "no", t_ours, t_torch, t_np))
    return rows


def print_table(rows):
    head = f"{'op (1-element float32)':<24} {'grad':>4} {'ours µs':>9} {'torch µs':>9} {'numpy µs':>9} " \
           f"{'ours/torch':>10} {'ours/numpy':>10}"
    print(head)
    print("-" * len(head))
    for name, grad, o, t, n in rows:
        ratio_t = f"{o / t:10.2f}" if t == t else f"{'-':>10}"
        t_s = f"{t:9.2f}" if t == t else f"{'-':>9}"
        print(f"{name:<24} {grad:>4} {o:9.2f} {t_s} {n:9.2f} {ratio_t} {o / n:10.2f}")


def profile_add(calls: int = 200_000, top: int = 25):
    """cProfile of ``a + b`` with requires_grad inputs: where our microseconds go."""
    import cProfile
    import pstats

    a = tg.tensor([1.5], requires_grad=True)
    b = tg.tensor([2.5], requires_grad=True)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(calls):
        a + b
    pr.disable()
    stats = pstats.Stats(pr).strip_dirs().sort_stats("tottime")
    print(f"\ncProfile of {calls} calls of `a + b` (requires_grad=True), sorted by own time:")
    stats.print_stats(top)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--number", type=int, default=500, help="calls per timing (fwd+bwd uses a tenth)")
    p.add_argument("--repeat", type=int, default=200, help="timings per op; the best is kept")
    p.add_argument("--profile", action="store_true", help="also cProfile `a + b` with grad recording")
    args = p.parse_args(argv)
    print(f"tinygrad_cn {tg.__version__}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch is not None else 'not installed'}; "
          f"best of {args.repeat} x {args.number} calls")
    print_table(run(args.number, args.repeat))
    if args.profile:
        profile_add()


if __name__ == "__main__":
    main()
