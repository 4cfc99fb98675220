"""GEMM against np.matmul and torch.mm, through benchmarks/bench_matmul.py.

bench_product times kernels.gemm / np.matmul / torch.mm (out= given, each
library in its own block, NumPy's BLAS and torch limited to the thread
count) and returns GFLOP/s; bench_linear_relu times F.linear_relu against
np.maximum(x @ W.T + b, 0). Both are reused as they are; this module only
picks the sizes and turns the results into suite rows.
"""

import numpy as np

from .bench_matmul import MLP_ROWS, bench_linear_relu, bench_product
from .suite_common import Row

TITLE = "Matmul (GEMM)"


def _product_rows(cfg):
    """(label, m, k, n, form, dtype) in the order they are printed."""
    if cfg.quick:
        sizes, dtypes, extra = (64, 256, 1024), (np.float32,), ()
    else:
        sizes, dtypes, extra = (32, 64, 128, 256, 512, 1024, 2048), (np.float32, np.float64), (("32x64x64",),)
    out = []
    for dtype in dtypes:
        dt = np.dtype(dtype).name
        out += [("%d^3 %s" % (s, dt), s, s, s, "nn", dtype) for s in sizes]
        if extra:
            out.append(("32x64x64 %s" % dt, 32, 64, 64, "nn", dtype))
        out += [("%s (%dx%dx%d%s) %s" % (label, m, k, n, "" if form == "nn" else ", " + form, dt), m, k, n, form,
                 dtype) for label, m, k, n, form in MLP_ROWS]
    return out


def _linear_relu_rows(cfg):
    if cfg.quick:
        return []
    return [("F.linear_relu %dx%d, W %dx%d %s" % (m, k, n, k, np.dtype(dt).name), m, k, n, dt)
            for dt in (np.float32, np.float64) for m, k, n in ((128, 784, 256), (128, 256, 10))]


def run(cfg):
    budget = 0.03 if cfg.quick else 0.15
    quick = " --quick: float32, n in 64/256/1024 and the MLP products only." if cfg.quick else ""
    cfg.notes.append("GFLOP/s = 2mnk / time, against the 'BLAS peak' measured at start (np.matmul n=1024 of "
                     "the row's dtype on at most the row's thread count). Each row times the three libraries "
                     "back to back, one block each. 'tn'/'nt' rows have one operand as a transposed view, as "
                     "the framework passes them in the MLP's backward." + quick)
    rows = []
    for nt in cfg.threads:
        cfg.log("  [matmul] %d thread%s ..." % (nt, "s" * (nt > 1)), flush=True)
        for label, m, k, n, form, dtype in _product_rows(cfg):
            flops = 2 * m * n * k
            gflops = bench_product(m, k, n, dtype, nt, form, budget=budget)
            rows.append(Row("matmul", label, nt, {lib: flops / (g * 1e9) for lib, g in gflops.items()},
                            flops=flops, dtype=np.dtype(dtype).name))
        for label, m, k, n, dtype in _linear_relu_rows(cfg):
            seconds = bench_linear_relu(m, k, n, dtype, nt, budget=budget)
            rows.append(Row("matmul", label, nt, dict(seconds), flops=2 * m * n * k, dtype=np.dtype(dtype).name,
                            note="fused bias+relu vs np.maximum(x @ W.T + b, 0)"))
    return rows
