"""GFLOP/s of tinygrad_cn's GEMM against np.matmul (and torch when
installed), side by side in one process.

    python benchmarks/bench_matmul.py [--quick] [--no-plot] [--outdir DIR]

Rows:
  * square n = 32 ... 2048 and 32x64x64 (NumPy's call overhead is what
    matters there);
  * the MLP 784-256-10 at batch 128, each layer's forward product and both
    backward products with the operands as the framework passes them
    (weight gradient x^T @ g from a transposed view, input gradient g @ W^T);
  * F.linear with fused bias + relu (one GEMM pass, called through
    tinygrad_cn.nn.functional under no_grad) against NumPy's three steps
    ``np.maximum(x @ W.T + b, 0)``;
each in float32 and float64, on 1 and 2 threads (NumPy's BLAS limited with
threadpoolctl, torch with torch.set_num_threads).

Each library is timed in its own block (never interleaved call by call, so
one pool's spinning threads do not slow the other), best of 5 repeats.
Writes benchmarks/results/matmul.md (the table, ratio = ours / numpy in
GFLOP/s, so > 1 means faster) and matmul.png (GFLOP/s against n).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tinygrad_cn  # noqa: E402
import tinygrad_cn._C as C  # noqa: E402
import tinygrad_cn.nn.functional as F  # noqa: E402
from tinygrad_cn._C import kernels  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _seconds(fn, budget):
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, min(5000, int(budget / 5 / one)))
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


class _NoLimit:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def _numpy_threads(nt):
    return threadpool_limits(nt) if threadpool_limits else _NoLimit()


def _time_all(ours, numpy, torch_fn, nt, budget):
    """Seconds per call of each library's version, each in its own block."""
    C.set_num_threads(nt)
    row = {"ours": _seconds(ours, budget)}
    with _numpy_threads(nt):
        row["numpy"] = _seconds(numpy, budget)
    time.sleep(0.05)  # let the BLAS pool stop spinning
    if torch is not None and torch_fn is not None:
        prev = torch.get_num_threads()
        torch.set_num_threads(nt)
        try:
            row["torch"] = _seconds(torch_fn, budget)
        finally:
            torch.set_num_threads(prev)
        time.sleep(0.05)
    return row


def _operands(m, k, n, dtype, form):
    """a (m x k) and b (k x n), laid out as the framework passes them:
    'nn' both contiguous, 'tn' a is a transposed view, 'nt' b is one."""
    rng = np.random.default_rng(m * 7919 + k * 31 + n)
    a = rng.standard_normal((k, m) if form == "tn" else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if form == "nt" else (k, n)).astype(dtype)
    return (a.T if form == "tn" else a), (b.T if form == "nt" else b)


def bench_product(m, k, n, dtype, nt, form="nn", budget=0.15):
    a, b = _operands(m, k, n, dtype, form)
    out = np.empty((m, n), dtype)
    torch_fn = None
    if torch is not None:
        ta, tb, to = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out)
        torch_fn = lambda: torch.mm(ta, tb, out=to)  # noqa: E731
    row = _time_all(lambda: kernels.gemm(a, b, out=out), lambda: np.matmul(a, b, out=out), torch_fn, nt, budget)
    return {k_: 2.0 * m * n * k / s / 1e9 for k_, s in row.items()}


def bench_linear_relu(m, k, n, dtype, nt, budget=0.15):
    """Seconds per call: F.linear_relu (framework call, no_grad) against
    np.maximum(x @ W.T + b, 0) and torch's relu(linear)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    b = rng.standard_normal(n).astype(dtype)
    tx, tw, tb = (tinygrad_cn.from_numpy(v) for v in (x, w, b))

    def ours():
        with tinygrad_cn.no_grad():
            F.linear_relu(tx, tw, tb)

    def numpy():
        np.maximum(x @ w.T + b, 0)

    torch_fn = None
    if torch is not None:
        px, pw, pb = (torch.from_numpy(v) for v in (x, w, b))

        def torch_fn():
            with torch.no_grad():
                torch.relu(torch.nn.functional.linear(px, pw, pb))

    return _time_all(ours, numpy, torch_fn, nt, budget)


MLP_ROWS = (
    # label, m, k, n, form
    ("MLP L1 forward x@W1", 128, 784, 256, "nn"),
    ("MLP L1 grad W1 = x^T@g", 784, 128, 256, "tn"),
    ("MLP L1 grad x = g@W1^T", 128, 256, 784, "nt"),
    ("MLP L2 forward h@W2", 128, 256, 10, "nn"),
    ("MLP L2 grad W2 = h^T@g", 256, 128, 10, "tn"),
    ("MLP L2 grad h = g@W2^T", 128, 10, 256, "nt"),
)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="float32 only, n <= 1024")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG")
    ap.add_argument("--outdir", default=RESULTS, help="where matmul.md and matmul.png go")
    args = ap.parse_args()

    sizes = [32, 64, 128, 256, 512, 1024] + ([] if args.quick else [2048])
    dtypes = [np.float32] if args.quick else [np.float32, np.float64]
    prev_threads = C.get_num_threads()
    cfg = C.show_config(print_=False)
    has_torch = torch is not None
    lines = ["# GEMM: tinygrad_cn against np.matmul" + (" and torch" if has_torch else ""), "",
             "simd=%s, openmp=%s, backend=%s, numpy %s%s. GFLOP/s, best of 5; ratio = ours / numpy "
             "(> 1 is faster)." % (cfg["simd"], cfg["openmp"], kernels.backend, np.__version__,
                                   ", torch " + torch.__version__ if has_torch else ""), ""]
    head = "| dtype | product (m x k x n) | threads | ours | numpy | ours/numpy |"
    sep = "|---|---|---|---|---|---|"
    if has_torch:
        head += " torch | ours/torch |"
        sep += "---|---|"
    lines += [head, sep]
    print("\n".join(lines), flush=True)
    curves = {}  # (dtype, threads, lib) -> [(n, GFLOP/s)]

    def emit(dtype, label, nt, r):
        line = "| %s | %s | %d | %.1f | %.1f | %.2f |" % (np.dtype(dtype).name, label, nt, r["ours"], r["numpy"],
                                                          r["ours"] / r["numpy"])
        if has_torch:
            line += " %.1f | %.2f |" % (r["torch"], r["ours"] / r["torch"])
        lines.append(line)
        print(line, flush=True)

    try:
        for dtype in dtypes:
            for nt in (1, 2):
                for s in sizes:
                    r = bench_product(s, s, s, dtype, nt)
                    emit(dtype, "%d^3" % s, nt, r)
                    for lib, v in r.items():
                        curves.setdefault((np.dtype(dtype).name, nt, lib), []).append((s, v))
                emit(dtype, "32x64x64", nt, bench_product(32, 64, 64, dtype, nt))
                for label, m, k, n, form in MLP_ROWS:
                    emit(dtype, "%s (%dx%dx%d)" % (label, m, k, n), nt, bench_product(m, k, n, dtype, nt, form))
        head = "| dtype | x, W | threads | ours us | numpy us | speedup |"
        sep = "|---|---|---|---|---|---|"
        if has_torch:
            head += " torch us | vs torch |"
            sep += "---|---|"
        section = ["", "## F.linear + bias + relu: one fused GEMM pass against NumPy's three steps", "",
                   "Microseconds per call (ours through tinygrad_cn.nn.functional.linear_relu under no_grad, "
                   "NumPy as `np.maximum(x @ W.T + b, 0)`); speedup = numpy / ours.", "", head, sep]
        lines += section
        print("\n".join(section), flush=True)
        for dtype in dtypes:
            for nt in (1, 2):
                for m, k, n in ((128, 784, 256), (128, 256, 10)):
                    r = bench_linear_relu(m, k, n, dtype, nt)
                    line = "| %s | %dx%d, %dx%d | %d | %.1f | %.1f | %.2f |" % (
                        np.dtype(dtype).name, m, k, n, k, nt, r["ours"] * 1e6, r["numpy"] * 1e6,
                        r["numpy"] / r["ours"])
                    if has_torch:
                        line += " %.1f | %.2f |" % (r["torch"] * 1e6, r["torch"] / r["ours"])
                    lines.append(line)
                    print(line, flush=True)
    finally:
        C.set_num_threads(prev_threads)

    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "matmul.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    if not args.no_plot:
        _plot(curves, sizes, os.path.join(args.outdir, "matmul.png"))


def _plot(curves, sizes, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (pip install '.[bench]'): no plot", file=sys.stderr)
        return
    dts = sorted({k[0] for k in curves})
    fig, axes = plt.subplots(1, len(dts), figsize=(6 * len(dts), 4.5), squeeze=False)
    styles = {"ours": "-o", "numpy": "--s", "torch": ":^"}
    for ax, dt in zip(axes[0], dts):
        for (d, nt, lib), pts in sorted(curves.items()):
            if d != dt:
                continue
            xs, ys = zip(*pts)
            ax.plot(xs, ys, styles[lib], label="%s, %d thread%s" % (lib, nt, "s" if nt > 1 else ""))
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("n (square n x n x n)")
        ax.set_ylabel("GFLOP/s")
        ax.set_title("matmul %s" % dt)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print("wrote", path)


if __name__ == "__main__":
    main()
