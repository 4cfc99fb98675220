"""tinygrad_cn benchmark suite: every kernel side by side with plain NumPy
and, when installed, torch.

    python -m benchmarks [--quick] [--only SECTION[,SECTION]] [--threads 1,2] [--no-plot] [--outdir DIR]
    python benchmarks/run.py ...          (the same)

Sections: elementwise, rowwise, optim, matmul, mlp, cnn (see each suite_*.py).
At start it prints tinygrad_cn.show_config() and measures the machine: memory
bandwidth (best np.copyto of 16 MB and of 64 MB, on 1 thread and split over
2 Python threads) and BLAS peak (np.matmul float32 n=1024, per thread count).

For each case, one line per thread count: seconds per call of ours, NumPy
and torch (best of several samples within a time budget, each library timed
in its own block), the ratios numpy/ours and torch/ours (> 1: ours is
faster), and our achieved GB/s (memory-bound kernels, bytes the kernel must
read and write) or GFLOP/s (matmul) with its fraction of the measured
bandwidth or BLAS peak. Kernels not yet in the tree are skipped and listed.

Writes <outdir>/suite.md and, with matplotlib, <outdir>/suite_<section>.png
(default outdir: benchmarks/results). --quick finishes in under a minute on
two cores; the full run takes a few minutes. The machine may be shared and
noisy: compare ratios from one run, not absolute times across runs.
"""

import argparse
import os
import sys
import time
import traceback

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import tinygrad_cn  # noqa: E402
import tinygrad_cn._C as C  # noqa: E402
from benchmarks import (suite_cnn, suite_common, suite_elementwise, suite_matmul, suite_mlp,  # noqa: E402
                        suite_optim, suite_rowwise)
from benchmarks.suite_common import MISSING, format_table, plot_section, run_cases, torch  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

#: name -> module with TITLE and either cases(cfg) -> [Case] or run(cfg) -> [Row]
SECTIONS = {
    "elementwise": suite_elementwise,
    "rowwise": suite_rowwise,
    "optim": suite_optim,
    "matmul": suite_matmul,
    "mlp": suite_mlp,
    "cnn": suite_cnn,
}


class Config:
    """What a section gets: the options, the machine, and where its notes go."""

    def __init__(self, args, machine):
        self.quick = args.quick
        self.threads = args.threads
        self.machine = machine
        # seconds of sampling per (case, library, thread count), and the
        # fewest samples of a call slower than that
        self.budget = 0.06 if args.quick else 0.4
        self.min_samples = 2 if args.quick else 3
        self.elementwise_n = 4 * 1024 * 1024
        self.notes = []

    @staticmethod
    def log(*a, **k):
        print(*a, **k)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0],
                                 epilog="sections: " + ", ".join(SECTIONS))
    ap.add_argument("--quick", action="store_true", help="smaller budget and matmul subset: under a minute")
    ap.add_argument("--only", default=None, metavar="SECTION[,SECTION]", help="run only these sections")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG plots")
    ap.add_argument("--outdir", default=RESULTS, help="where suite.md and the PNGs go (default %(default)s)")
    args = ap.parse_args(argv)
    args.sections = list(SECTIONS) if not args.only else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        ap.error("unknown section(s) %s; choose from %s" % (", ".join(unknown), ", ".join(SECTIONS)))
    try:
        args.threads = [int(t) for t in args.threads.split(",")]
        assert args.threads and min(args.threads) >= 1
    except (ValueError, AssertionError):
        ap.error("--threads takes positive integers such as 1,2")
    return args


def _versions():
    try:
        import threadpoolctl
        tpc = threadpoolctl.__version__
    except ImportError:
        tpc = "not installed (NumPy's BLAS threads are not limited)"
    return ("numpy %s, torch %s, threadpoolctl %s, python %s"
            % (np.__version__, torch.__version__ if torch is not None else "not installed", tpc,
               sys.version.split()[0]))


def _machine_lines(machine):
    """The measured peaks, for the header of the printout and the Markdown."""
    th = lambda nt: "%d thread%s" % (nt, "s" * (nt > 1))  # noqa: E731
    lines = []
    for size in sorted({s for s, _ in machine.bandwidth}):
        lines.append("memory bandwidth, np.copyto of %d MB (read + written): " % (size >> 20) + ", ".join(
            "%s %.1f GB/s" % (th(nt), v) for (s, nt), v in sorted(machine.bandwidth.items()) if s == size))
    for dtype in sorted({dt for dt, _ in machine.blas}, reverse=True):
        lines.append("BLAS peak, np.matmul %s n=1024: " % dtype + ", ".join(
            "%s %.1f GFLOP/s" % (th(nt), v) for (dt, nt), v in sorted(machine.blas.items()) if dt == dtype))
    return lines


def _markdown_header(args, config, machine):
    return ["# tinygrad_cn benchmark suite", "",
            "`python -m benchmarks%s`; threads %s. %s." % (" --quick" if args.quick else "",
                                                         ",".join(map(str, args.threads)), _versions()),
            "tinygrad_cn: compiled=%s, simd=%s, openmp=%s." % (config["compiled"], config["simd"],
                                                               config["openmp"]),
            ""] + ["- " + line for line in _machine_lines(machine)] + [
            "",
            "Times are the best seconds per call; numpy/ours and torch/ours > 1 mean ours is faster. "
            "'ours achieved' is GB/s (bytes the kernel must read and write) or GFLOP/s, and 'of peak' its "
            "fraction of the peak measured above: for GB/s the copy whose traffic is closest to the row's "
            "(this CPU's large last-level cache makes small working sets faster), on at most the row's thread "
            "count; for GFLOP/s the BLAS peak on at most that many threads. "
            "The machine may be shared and noisy: read ratios within one run (a fraction over 100% means the "
            "peak measurement itself was disturbed).", ""]


def run_section(name, cfg):
    """Rows of one section; a section that crashes is reported, not fatal."""
    mod = SECTIONS[name]
    cfg.notes = []
    try:
        if hasattr(mod, "run"):
            return mod.run(cfg), None
        return run_cases(name, mod.cases(cfg), cfg.threads, cfg.budget, cfg.min_samples), None
    except Exception as exc:
        traceback.print_exc()
        return [], "section failed: %s: %s" % (type(exc).__name__, exc)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    print("tinygrad_cn benchmark suite%s: %s; threads %s"
          % (" (--quick)" if args.quick else "", ", ".join(args.sections), ",".join(map(str, args.threads))))
    config = tinygrad_cn.show_config()
    print(_versions())
    # float64 GEMM rows are only in the full matmul table
    dtypes = ("float32",) if args.quick or "matmul" not in args.sections else ("float32", "float64")
    machine = suite_common.measure_machine(args.threads, args.quick, dtypes)
    print("\n".join(_machine_lines(machine)), flush=True)
    cfg = Config(args, machine)

    md = _markdown_header(args, config, machine)
    os.makedirs(args.outdir, exist_ok=True)
    plots_ok = not args.no_plot
    prev_threads = C.get_num_threads()
    try:
        for name in args.sections:
            t0 = time.perf_counter()
            title = SECTIONS[name].TITLE
            print("\n== %s (%s) ==" % (title, name), flush=True)
            rows, failure = run_section(name, cfg)
            notes = cfg.notes + ([failure] if failure else [])
            for note in notes:
                print(note)
            print("\n".join(format_table(rows, machine)))
            print("(%s: %.1f s)" % (name, time.perf_counter() - t0), flush=True)
            md += ["## %s" % title, ""] + [x for note in notes for x in (note, "")]
            md += format_table(rows, machine, markdown=True) + [""]
            if plots_ok and any("ours" in r.times for r in rows):
                png = "suite_%s.png" % name
                if plot_section(title, rows, machine, os.path.join(args.outdir, png)):
                    md += ["![%s](%s)" % (title, png), ""]
                else:
                    print("matplotlib is not installed (pip install '.[bench]'): no plots", file=sys.stderr)
                    plots_ok = False
    finally:
        C.set_num_threads(prev_threads)

    skipped = sorted(set(MISSING), key=lambda s: (list(SECTIONS).index(s[0]), s[1]))
    summary = ("kernels missing (rows skipped): " + ", ".join("%s/%s" % s for s in skipped)) if skipped else \
        "kernels missing: none"
    elapsed = time.perf_counter() - start
    print("\n" + summary)
    md += ["## Skipped", "", summary + ".", "", "Total time %.0f s." % elapsed, ""]
    path = os.path.join(args.outdir, "suite.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    print("wrote %s%s; total %.1f s" % (path, " and suite_*.png" if plots_ok else "", elapsed))


if __name__ == "__main__":
    main()
