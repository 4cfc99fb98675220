"""Shared machinery of the benchmark suite (benchmarks/run.py).

A section builds a list of ``Case`` (one benchmark: our callable, the NumPy
and the torch equivalents, the bytes or flops one call moves) and hands it to
``run_cases``, which times every library in its own block and returns ``Row``
(seconds per call per library and thread count). ``format_table`` and
``plot_section`` turn rows into the printed/Markdown table and a PNG.

Kernels that are not written yet are looked up by name (``Case.needs``): a
case whose kernel is missing is not timed at all, its row says so, and the
name is recorded in ``MISSING`` for the summary. The suite therefore runs on
today's tree and picks each kernel up as soon as it lands.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

import tinygrad_cn._C as C
from tinygrad_cn._C import kernels, reference

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # NumPy's BLAS then runs on its default thread count
    threadpool_limits = None

try:
    import torch
except ImportError:  # torch is optional: its columns read n/a
    torch = None

LIBS = ("ours", "numpy", "torch")

#: (section, kernel name) of every case skipped because the kernel is missing.
MISSING = []


# --------------------------------------------------------------------------
# kernels that may not exist yet
# --------------------------------------------------------------------------

def kernel_origin(name):
    """'C' when the compiled extension has kernels.<name>, 'numpy reference'
    when only the NumPy fallback has it, None when neither does."""
    fn = getattr(kernels, name, None)
    if fn is None:
        return None
    if kernels.compiled and fn is not getattr(reference, name, None):
        return "C"
    return "numpy reference"


# --------------------------------------------------------------------------
# end-to-end training steps (suite_mlp, suite_cnn)
# --------------------------------------------------------------------------

def torch_sgd_step(model, x, y, weights, lr):
    """One torch training step (cross-entropy, SGD) of ``model`` started from
    ``weights`` (NumPy arrays in ``model.parameters()`` order)."""
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(w))
    criterion = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = criterion(model(tx), ty)
        loss.backward()
        opt.step()
        return loss
    return step


def same_weights_check(makers):
    """Two steps of each library from the same weights: loss 1 checks the
    forward; loss 2, computed after one update, the gradients and the update.
    ``makers`` maps a library to a function returning its step function, with
    "numpy" as the reference -> ({lib: [loss1, loss2]}, verdict)."""
    losses = {}
    for lib, make in makers.items():
        step = make()
        losses[lib] = [_as_float(step()), _as_float(step())]
    ref = np.array(losses["numpy"])
    worst = max(np.max(np.abs(np.array(v) - ref)) for v in losses.values())
    verdict = "OK" if worst <= 1e-4 * max(1.0, np.max(np.abs(ref))) else "MISMATCH"
    return losses, "%s (max |difference| %.2g)" % (verdict, worst)


def _as_float(loss):
    return float(loss.item() if hasattr(loss, "item") else loss)


# --------------------------------------------------------------------------
# cases and rows
# --------------------------------------------------------------------------

@dataclass
class Case:
    """One benchmark. Callables take no argument and are timed as they are;
    they may share objects (e.g. one optimizer for two rows): a callable is
    timed once per block and its time reused for every case holding it."""

    name: str
    ours: Optional[Callable]
    numpy: Optional[Callable]
    torch: Optional[Callable] = None
    needs: tuple = ()           # kernels.<name> the ours callable calls
    bytes: int = 0              # minimal traffic of one call (read + written) -> GB/s
    flops: int = 0              # -> GFLOP/s (when bytes is 0)
    numpy_blas: bool = False    # NumPy side runs BLAS: time it at every thread count
    check: Optional[Callable] = None  # not timed; returns "" or a note (e.g. a mismatch)
    note: str = ""


@dataclass
class Row:
    section: str
    name: str
    threads: int
    times: dict = field(default_factory=dict)  # lib -> seconds per call (absent: n/a)
    bytes: int = 0
    flops: int = 0
    note: str = ""
    dtype: str = "float32"  # which BLAS peak a GFLOP/s row is held against

    def ratio(self, lib):
        """lib time / our time: > 1 means ours is faster."""
        if "ours" in self.times and lib in self.times:
            return self.times[lib] / self.times["ours"]
        return None

    def rate(self, lib):
        """(value, unit) achieved by lib: GB/s for memory-bound rows, GFLOP/s
        for compute rows; None when not timed or no size is known."""
        t = self.times.get(lib)
        if t is None:
            return None
        if self.bytes:
            return self.bytes / t / 1e9, "GB/s"
        if self.flops:
            return self.flops / t / 1e9, "GFLOP/s"
        return None


def same_values(ours, numpy_fn, rtol=1e-4, atol=1e-5):
    """A Case.check comparing the results of two callables (arrays or
    tuples of arrays)."""
    def check():
        a, b = ours(), numpy_fn()
        a = a if isinstance(a, tuple) else (a,)
        b = b if isinstance(b, tuple) else (b,)
        for u, v in zip(a, b):
            u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
            if u.shape != v.shape or not np.allclose(u, v, rtol=rtol, atol=atol, equal_nan=True):
                err = np.max(np.abs(u - v)) if u.shape == v.shape else "shape %s vs %s" % (u.shape, v.shape)
                return "MISMATCH vs numpy (max abs diff %s)" % err
        return ""
    return check


# --------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------

def best_seconds(fn, budget, min_samples=3):
    """Best seconds per call of fn: one warm-up call (allocations, lazy
    optimizer state), then samples until `budget` seconds are spent (at least
    `min_samples`). After the first sample, calls under ~1 ms are batched
    into samples of ~2 ms so the timer's resolution and the loop do not count."""
    fn()
    best, samples, inner, start = float("inf"), 0, 1, time.perf_counter()
    while samples < min_samples or (time.perf_counter() - start < budget and samples < 2000):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        per_call = max((time.perf_counter() - t0) / inner, 1e-9)
        best = min(best, per_call)
        samples += 1
        if samples == 1 and per_call < 1e-3:
            inner = max(1, int(2e-3 / per_call))
    return best


@contextlib.contextmanager
def library_threads(lib, nt):
    """Run a block of `lib` on nt threads, restoring the previous count."""
    if lib == "ours":
        prev = C.get_num_threads()
        C.set_num_threads(nt)
        try:
            yield
        finally:
            C.set_num_threads(prev)
    elif lib == "numpy":
        # blas only: the "openmp" API would also resize the libgomp pool
        # that our extension and torch may share.
        with (threadpool_limits(nt, user_api="blas") if threadpool_limits else contextlib.nullcontext()):
            yield
    else:
        prev = torch.get_num_threads()
        torch.set_num_threads(nt)
        try:
            yield
        finally:
            torch.set_num_threads(prev)


def time_block(lib, fns, nt, budget, min_samples, errors):
    """{key: seconds} for each callable of fns ({key: fn}), all of one
    library in one block so no other pool's spinning threads interfere.
    A callable that raises gets no time; its error goes to errors[key]."""
    out, seen = {}, {}
    with library_threads(lib, nt), np.errstate(all="ignore"):
        for key, fn in fns.items():
            if id(fn) in seen:  # shared callable: timed once
                if seen[id(fn)] in out:
                    out[key] = out[seen[id(fn)]]
                continue
            seen[id(fn)] = key
            try:
                out[key] = best_seconds(fn, budget, min_samples)
            except Exception as exc:  # e.g. torch's fused optimizer refusing a config
                errors[key] = "%s failed: %s: %s" % (lib, type(exc).__name__, str(exc).splitlines()[0][:80])
    time.sleep(0.05)  # thread pools spin for a while after a call: let them sleep before the next block
    return out


def run_cases(section, cases, threads, budget, min_samples=3, log=print):
    """Time every available case at every thread count; rows in case order
    per thread count. NumPy's element-wise code is single-threaded, so it is
    timed once (at the first thread count) unless Case.numpy_blas."""
    active, notes = [], {}
    for c in cases:
        missing = [n for n in c.needs if kernel_origin(n) is None]
        if missing:
            MISSING.extend((section, n) for n in missing)
            notes[c.name] = "skipped: kernels.%s missing" % ", kernels.".join(missing)
            continue
        if c.ours is None:  # the section could not build our side (its note says why)
            notes[c.name] = c.note or "skipped"
            continue
        origins = {kernel_origin(n) for n in c.needs}
        extra = ["ours = NumPy reference (not compiled)"] if "numpy reference" in origins else []
        if c.check is not None:
            try:
                with np.errstate(all="ignore"):
                    extra.append(c.check())
            except Exception as exc:
                extra.append("check failed: %s: %s" % (type(exc).__name__, exc))
        notes[c.name] = "; ".join(x for x in [c.note] + extra if x)
        active.append(c)

    rows, numpy_once, errors = [], {}, {}  # errors: (lib, case) -> message, kept across thread counts
    for i, nt in enumerate(threads):
        log("  [%s] timing %d cases on %d thread%s ..." % (section, len(active), nt, "s" * (nt > 1)), flush=True)
        block = {lib: {} for lib in LIBS}
        times = {"ours": time_block("ours", {c.name: c.ours for c in active}, nt, budget, min_samples, block["ours"])}
        todo = {c.name: c.numpy for c in active if c.numpy is not None and (c.numpy_blas or i == 0)}
        numpy_once.update(time_block("numpy", todo, nt, budget, min_samples, block["numpy"]))
        times["numpy"] = numpy_once
        if torch is not None:
            times["torch"] = time_block("torch", {c.name: c.torch for c in active if c.torch is not None},
                                        nt, budget, min_samples, block["torch"])
        errors.update({(lib, k): msg for lib, errs in block.items() for k, msg in errs.items()})
        for c in cases:
            row = Row(section, c.name, nt, bytes=c.bytes, flops=c.flops, note=notes[c.name])
            row.times = {lib: t[c.name] for lib, t in times.items() if c.name in t}
            failed = [errors[(lib, c.name)] for lib in LIBS if (lib, c.name) in errors]
            row.note = "; ".join(x for x in [row.note] + failed if x)
            rows.append(row)
    return rows


# --------------------------------------------------------------------------
# the machine: memory bandwidth and BLAS peak, measured at start
# --------------------------------------------------------------------------

@dataclass
class Machine:
    bandwidth: dict  # (copy size in bytes, threads) -> GB/s of np.copyto, read + written bytes
    blas: dict       # (dtype name, threads) -> GFLOP/s (np.matmul n=1024)

    def _best_up_to(self, table, nt):
        """Peak on nt threads: the best measured on at most nt threads (a
        2-thread run can always leave a core idle)."""
        return max(v for k, v in table.items() if k <= nt) if any(k <= nt for k in table) else max(table.values())

    def peak(self, row):
        """(value, unit) the row's achieved rate is measured against: the
        BLAS peak, or the copy bandwidth measured at the traffic closest (in
        ratio) to the row's, since what fits in cache runs faster."""
        if row.bytes:
            sizes = sorted({size for size, _ in self.bandwidth})
            size = min(sizes, key=lambda s: abs(np.log(2 * s / row.bytes)))
            table = {nt: v for (s, nt), v in self.bandwidth.items() if s == size}
            return self._best_up_to(table, row.threads), "GB/s"
        if row.flops:
            table = {nt: v for (dt, nt), v in self.blas.items() if dt == row.dtype} or \
                {nt: v for (dt, nt), v in self.blas.items() if dt == "float32"}
            return self._best_up_to(table, row.threads), "GFLOP/s"
        return None


#: np.copyto sizes measured at start: one 4M float32 array (what the
#: element-wise and row-wise cases stream) and the 64 MB of the issue.
BANDWIDTH_SIZES = (16 << 20, 64 << 20)


def _best(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _copy_bandwidth(dst, src, nt, pool, repeats):
    """GB/s of np.copyto(dst, src) (read + written bytes), split over nt
    threads of pool (np.copyto releases the GIL)."""
    if nt == 1:
        return 2 * src.nbytes / _best(lambda: np.copyto(dst, src), repeats) / 1e9
    parts = list(zip(np.array_split(dst, nt), np.array_split(src, nt)))

    def copy_parallel():
        for f in [pool.submit(np.copyto, d, s) for d, s in parts]:
            f.result()
    return 2 * src.nbytes / _best(copy_parallel, repeats) / 1e9


def _blas_gflops(a, nt, repeats):
    out = np.empty_like(a)
    with library_threads("numpy", nt):
        seconds = _best(lambda: np.matmul(a, a, out=out), repeats)
    time.sleep(0.05)  # let the BLAS pool stop spinning
    return 2 * a.shape[0] ** 3 / seconds / 1e9


def measure_machine(threads, quick, dtypes=("float32",)):
    """Bandwidth: best np.copyto at BANDWIDTH_SIZES on each thread count.
    BLAS peak: np.matmul n=1024 in each of dtypes, NumPy's BLAS limited to
    each thread count. On a shared machine most samples are disturbed: the
    samples of each figure are spread over a few rounds (a burst of load
    then spoils one round, not the figure) and the best one is kept."""
    rounds, reps = (3, 3) if quick else (5, 6)
    counts = sorted(set(threads) | {1})
    buffers = {size: (np.empty(size // 4, np.float32), np.ones(size // 4, np.float32)) for size in BANDWIDTH_SIZES}
    base = np.random.default_rng(0).standard_normal((1024, 1024))
    mats = {np.dtype(dt).name: base.astype(dt) for dt in dtypes}
    bw, blas = {}, {}
    with ThreadPoolExecutor(max(counts)) as pool:
        for _ in range(rounds):
            for size, (dst, src) in buffers.items():
                for nt in counts:
                    bw[(size, nt)] = max(bw.get((size, nt), 0.0), _copy_bandwidth(dst, src, nt, pool, 2 * reps))
            for name, a in mats.items():
                for nt in counts:
                    blas[(name, nt)] = max(blas.get((name, nt), 0.0), _blas_gflops(a, nt, reps))
    return Machine(bw, blas)


# --------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------

def fmt_time(t):
    if t is None:
        return "n/a"
    if t >= 1:
        return "%.3g s" % t
    if t >= 1e-3:
        return "%.3g ms" % (t * 1e3)
    return "%.3g us" % (t * 1e6)


def fmt_ratio(r):
    return "n/a" if r is None else "%.2f" % r


HEADER = ("case", "thr", "ours", "numpy", "torch", "numpy/ours", "torch/ours", "ours achieved", "of peak", "note")


def row_cells(row, machine):
    rate = row.rate("ours")
    peak = machine.peak(row)
    achieved = "%.1f %s" % rate if rate else ""
    frac = "%.0f%%" % (100 * rate[0] / peak[0]) if rate and peak else ""
    return (row.name, str(row.threads), fmt_time(row.times.get("ours")), fmt_time(row.times.get("numpy")),
            fmt_time(row.times.get("torch")), fmt_ratio(row.ratio("numpy")), fmt_ratio(row.ratio("torch")),
            achieved, frac, row.note)


def format_table(rows, machine, markdown=False):
    """Lines of the table: aligned text, or a Markdown table."""
    cells = [row_cells(r, machine) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        return lines + ["| " + " | ".join(c.replace("|", "/") for c in cs) + " |" for cs in cells]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(HEADER)]
    widths[-1] = 0  # the note is last: no padding
    fmt = lambda cs: "  ".join(c.ljust(w) if i < 1 or i == len(cs) - 1 else c.rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(cs, widths))).rstrip()
    lines = [fmt(HEADER), "-" * (sum(widths) + 2 * (len(widths) - 1) + 10)]
    return lines + [fmt(c) for c in cells]


def plot_section(title, rows, machine, path):
    """Left: speedup of ours over numpy and torch per case (log scale, > 1
    is faster). Right: rate achieved by each library against the measured
    peak. One line of panels per thread count. Returns False without
    matplotlib (the caller checks that some row was timed)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    timed = [r for r in rows if "ours" in r.times]
    threads = sorted({r.threads for r in timed})
    names = list(dict.fromkeys(r.name for r in timed))
    fig, axes = plt.subplots(len(threads), 2, figsize=(13, 1.2 + 0.32 * len(names) * len(threads) + 1),
                             squeeze=False)
    colors = {"ours": "tab:blue", "numpy": "tab:orange", "torch": "tab:green"}
    for (ax_r, ax_a), nt in zip(axes, threads):
        by_name = {r.name: r for r in timed if r.threads == nt}
        ys = np.arange(len(names))
        for j, lib in enumerate(("numpy", "torch")):
            vals = [(by_name[n].ratio(lib) or np.nan) if n in by_name else np.nan for n in names]
            ax_r.barh(ys + (j - 0.5) * 0.4, vals, 0.4, color=colors[lib], label="%s time / ours" % lib)
        ax_r.axvline(1, color="k", lw=0.8)
        ax_r.set_xscale("log")
        ax_r.set_yticks(ys, names, fontsize=7)
        ax_r.invert_yaxis()
        ax_r.set_title("%s, %d thread%s: speedup (> 1: ours faster)" % (title, nt, "s" * (nt > 1)), fontsize=9)
        ax_r.legend(fontsize=7)
        unit = None
        for j, lib in enumerate(LIBS):
            vals = []
            for n in names:
                rate = by_name[n].rate(lib) if n in by_name else None
                vals.append(rate[0] if rate else np.nan)
                unit = unit or (rate[1] if rate else None)
            ax_a.barh(ys + (j - 1) * 0.27, vals, 0.27, color=colors[lib], label=lib)
        peaks = {machine.peak(by_name[n]) for n in names if n in by_name and machine.peak(by_name[n])}
        for value, u in peaks:
            ax_a.axvline(value, color="k", ls="--", lw=0.8)
            ax_a.text(value, -0.6, " measured %s" % ("bandwidth" if u == "GB/s" else "BLAS peak"), fontsize=7)
        ax_a.set_yticks(ys, [""] * len(names))
        ax_a.invert_yaxis()
        ax_a.set_xlabel(unit or "", fontsize=8)
        ax_a.set_title("achieved %s" % (unit or "rate"), fontsize=9)
        ax_a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
