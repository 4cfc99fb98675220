"""Time the element-wise kernels against NumPy (and torch, if importable).

    python benchmarks/bench_elementwise.py [--n 4194304] [--repeat 30] [--dtype float32]

Forward: exp, sigmoid, tanh, relu. Backward (from the forward output y and an
upstream gradient g): relu, sigmoid, tanh. Each is timed best-of-N in this one
process, at 1 and 2 threads, for
  * ours   -- tinygrad_cn._C.kernels (compiled if built)
  * numpy  -- the natural NumPy formulation (e.g. 1/(1+np.exp(-x)))
  * torch  -- torch.sigmoid etc. / torch.ops.aten.*_backward (if installed);
              torch's thread count is set to match.
Ratios are numpy/ours and torch/ours (> 1 means ours is faster).
NumPy's element-wise ufuncs are single-threaded; its column is the same work
at both thread counts.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygrad_cn._C as C  # noqa: E402
from tinygrad_cn._C import kernels  # noqa: E402

try:
    import torch
except Exception:  # torch is optional
    torch = None


def best_of(fn, repeat, warmup=3):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def numpy_cases(x, y_sig, y_tanh, y_relu, g):
    def sigmoid_np():
        return 1 / (1 + np.exp(-x))

    return {
        "exp": lambda: np.exp(x),
        "sigmoid": sigmoid_np,
        "tanh": lambda: np.tanh(x),
        "relu": lambda: np.maximum(x, 0),
        "relu_backward": lambda: g * (y_relu > 0),  # np.where(y > 0, g, 0) is ~5x slower
        "sigmoid_backward": lambda: g * (1 - y_sig) * y_sig,
        "tanh_backward": lambda: g * (1 - y_tanh * y_tanh),
    }


def our_cases(x, y_sig, y_tanh, y_relu, g):
    k = kernels
    return {
        "exp": lambda: k.exp(x),
        "sigmoid": lambda: k.sigmoid(x),
        "tanh": lambda: k.tanh(x),
        "relu": lambda: k.relu(x),
        "relu_backward": lambda: k.relu_backward(y_relu, g),
        "sigmoid_backward": lambda: k.sigmoid_backward(y_sig, g),
        "tanh_backward": lambda: k.tanh_backward(y_tanh, g),
    }


def torch_cases(x, y_sig, y_tanh, y_relu, g):
    if torch is None:
        return {}
    tx, ts, tt, tr, tg = (torch.from_numpy(a) for a in (x, y_sig, y_tanh, y_relu, g))
    aten = torch.ops.aten
    return {
        "exp": lambda: torch.exp(tx),
        "sigmoid": lambda: torch.sigmoid(tx),
        "tanh": lambda: torch.tanh(tx),
        "relu": lambda: torch.relu(tx),
        "relu_backward": lambda: aten.threshold_backward(tg, tr, 0),
        "sigmoid_backward": lambda: aten.sigmoid_backward(tg, ts),
        "tanh_backward": lambda: aten.tanh_backward(tg, tt),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = ap.parse_args()

    cfg = C.show_config(print_=False)
    print("tinygrad_cn: compiled=%s simd=%s openmp=%s | numpy %s | torch %s"
          % (cfg["compiled"], cfg["simd"], cfg["openmp"], np.__version__,
             torch.__version__ if torch is not None else "not installed"))
    print("n=%d %s, best of %d, times in ms\n" % (args.n, args.dtype, args.repeat))

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(args.n) * 3).astype(args.dtype)
    g = rng.standard_normal(args.n).astype(args.dtype)
    y_sig = kernels.sigmoid(x)
    y_tanh = kernels.tanh(x)
    y_relu = kernels.relu(x)
    inputs = (x, y_sig, y_tanh, y_relu, g)

    ours = our_cases(*inputs)
    nump = numpy_cases(*inputs)
    tor = torch_cases(*inputs)
    names = list(ours)

    np_times = {}
    with np.errstate(all="ignore"):
        for name in names:
            np_times[name] = best_of(nump[name], args.repeat)

    header = "%-17s %7s %9s %9s %9s %10s %10s" % ("kernel", "threads", "ours", "numpy", "torch", "numpy/ours", "torch/ours")
    print(header)
    print("-" * len(header))
    saved = C.get_num_threads()
    saved_torch = torch.get_num_threads() if torch is not None else None
    try:
        for nt in [int(t) for t in args.threads.split(",")]:
            C.set_num_threads(nt)
            if torch is not None:
                torch.set_num_threads(nt)
            # All of ours first, then all of torch: both keep OpenMP threads
            # spinning for a while after a call, which would slow the other.
            t_ours = {name: best_of(ours[name], args.repeat) for name in names}
            t_torch = {name: best_of(tor[name], args.repeat) if name in tor else float("nan") for name in names}
            for name in names:
                print("%-17s %7d %9.3f %9.3f %9.3f %10.2f %10.2f" % (
                    name, C.get_num_threads(), t_ours[name] * 1e3, np_times[name] * 1e3, t_torch[name] * 1e3,
                    np_times[name] / t_ours[name], t_torch[name] / t_ours[name]))
            print()
    finally:
        C.set_num_threads(saved)
        if torch is not None:
            torch.set_num_threads(saved_torch)


if __name__ == "__main__":
    main()
