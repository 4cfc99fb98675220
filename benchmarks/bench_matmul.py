"""GFLOP/s of tinygrad_cn's GEMM (kernels.gemm) against np.matmul (and torch
when installed), side by side in one process.

    python benchmarks/bench_matmul.py [--quick] [--big] [--out FILE.md]

Shapes: square n = 32 ... 1024 (2048 with --big) and the MLP shapes
128x784 @ 784x256 and 128x256 @ 256x10; float32 and float64; 1 and 2
threads (NumPy's BLAS limited with threadpoolctl, torch with
torch.set_num_threads). Each library is timed in its own block (never
interleaved call by call, so one pool's spinning threads do not slow the
other), best of several repeats. Prints a Markdown table; ratio = ours / numpy.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_cn._C as C  # noqa: E402
from tinygrad_cn._C import kernels  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _time(fn, flops, budget=0.15):
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, min(2000, int(budget / 5 / one)))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return flops / best / 1e9


class _NoLimit:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def bench(m, k, n, dtype, nt):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    out = np.empty((m, n), dtype)
    flops = 2.0 * m * n * k
    row = {}
    # ours first; a pause after each foreign pool lets its threads stop spinning
    C.set_num_threads(nt)
    row["ours"] = _time(lambda: kernels.gemm(a, b, out=out), flops)
    with (threadpool_limits(nt) if threadpool_limits else _NoLimit()):
        row["numpy"] = _time(lambda: np.matmul(a, b, out=out), flops)
    time.sleep(0.05)
    if torch is not None:
        prev = torch.get_num_threads()
        torch.set_num_threads(nt)
        ta, tb, to = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        row["torch"] = _time(lambda: torch.mm(ta, tb, out=to), flops)
        torch.set_num_threads(prev)
        time.sleep(0.05)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", action="store_true", help="also n = 2048")
    ap.add_argument("--quick", action="store_true", help="float32 only")
    ap.add_argument("--out", help="also write the Markdown table to this file")
    args = ap.parse_args()

    sizes = [32, 64, 128, 256, 512, 1024] + ([2048] if args.big else [])
    shapes = [(s, s, s) for s in sizes] + [(128, 784, 256), (128, 256, 10)]
    dtypes = [np.float32] if args.quick else [np.float32, np.float64]
    prev_threads = C.get_num_threads()
    cfg = C.show_config(print_=False)
    lines = ["GEMM GFLOP/s (simd=%s, openmp=%s, backend=%s)" % (cfg["simd"], cfg["openmp"], kernels.backend), ""]
    head = "| dtype | m x k x n | threads | ours | numpy | ours/numpy |"
    sep = "|---|---|---|---|---|---|"
    if torch is not None:
        head += " torch | ours/torch |"
        sep += "---|---|"
    lines += [head, sep]
    print("\n".join(lines), flush=True)
    try:
        for dtype in dtypes:
            for (m, k, n) in shapes:
                for nt in (1, 2):
                    r = bench(m, k, n, dtype, nt)
                    line = "| %s | %dx%dx%d | %d | %.1f | %.1f | %.2f |" % (
                        np.dtype(dtype).name, m, k, n, nt, r["ours"], r["numpy"], r["ours"] / r["numpy"])
                    if torch is not None:
                        line += " %.1f | %.2f |" % (r["torch"], r["ours"] / r["torch"])
                    lines.append(line)
                    print(line, flush=True)
    finally:
        C.set_num_threads(prev_threads)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
