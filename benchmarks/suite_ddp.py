"""Data-parallel training over MPI: step times at 1 and 2 ranks, and communication
time per step against the bucket size.

    python benchmarks/suite_ddp.py [--quick] [--ranks 1,2] [--big]

It launches itself under ``mpiexec -n N`` (N from --ranks; needs the ``distributed``
extra) and prints a Markdown table. Each rank uses one thread (OMP_NUM_THREADS=1) so
that two ranks fit the two cores. Measured, best of several samples:

* ``step``: one training step of the MLP 784-256-10 (float32, batch 128 per rank,
  cross-entropy, SGD) -- plain (no DDP), and under DistributedDataParallel with a
  bucket cap of 0.1, 1 and 25 MB;
* ``comm``: the all-reduce of the same gradient alone (no compute), bucketed the same way;
* the same for a deeper MLP 784-1024-1024-1024-10 (2.9M parameters), whose gradient spans
  several buckets: how much of the communication hides behind backward;
* with ``--big``: the all-reduce alone of a 25M-parameter float32 gradient (100 MB) per
  bucket size, and one training step of a 25M-parameter MLP (1024-4096-4096-1024-10) on one
  rank: the figures the projections in the README (Data-parallel training over MPI) start from.

The machine is shared and noisy: compare figures from one run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUCKETS_MB = (0.1, 1.0, 25.0)


def _best(fn, budget: float, min_samples: int = 5) -> float:
    """Best seconds per call of fn within ``budget`` seconds (the same count on every rank)."""
    import tinygrad_cn.distributed as dist
    fn()
    fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-6)
    n = np.array([max(min_samples, int(budget / once))], dtype=np.int64)
    if dist.is_initialized():  # agree on the count, or the ranks would wait for each other's extra steps
        from tinygrad_cn import tensor
        t = tensor(n)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        n = t.numpy()
    best = float("inf")
    for _ in range(int(n[0])):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _mlp(sizes):
    import tinygrad_cn as tg
    from tinygrad_cn import nn
    tg.manual_seed(0)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _step_fn(model, sizes, batch=128):
    import tinygrad_cn as tg
    from tinygrad_cn import nn, optim
    rng = np.random.default_rng(0)
    x = tg.from_numpy(rng.random((batch, sizes[0])).astype(np.float32))
    y = tg.from_numpy(rng.integers(0, sizes[-1], batch).astype(np.int64))
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    return step


def _comm_fn(numel: int, bucket_mb: float):
    """All-reduce a float32 gradient of ``numel`` elements in buckets of ``bucket_mb`` (non-blocking,
    all launched then all waited, as DDP does at the end of backward)."""
    import tinygrad_cn as tg
    import tinygrad_cn.distributed as dist
    per = max(1, int(bucket_mb * 1024 * 1024) // 4)
    flat = tg.zeros(numel)
    views = [flat[i:i + per] for i in range(0, numel, per)]

    def comm():
        for w in [dist.all_reduce(v, async_op=True) for v in views]:
            w.wait()
    return comm


def worker(args) -> None:
    import tinygrad_cn.distributed as dist
    from tinygrad_cn.nn.parallel import DistributedDataParallel as DDP
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    budget = 0.5 if args.quick else 2.0
    out = []
    sizes = (784, 256, 10)
    model = _mlp(sizes)
    numel = sum(p.numel() for p in model.parameters())
    out.append({"what": "step", "model": "mlp 784-256-10", "ddp": None,
                "seconds": _best(_step_fn(model, sizes), budget)})
    for mb in BUCKETS_MB:
        ddp = DDP(_mlp(sizes), bucket_cap_mb=mb)
        out.append({"what": "step", "model": "mlp 784-256-10", "ddp": mb, "buckets": len(ddp._buckets),
                    "seconds": _best(_step_fn(ddp, sizes), budget)})
        out.append({"what": "comm", "model": "mlp 784-256-10", "ddp": mb, "bytes": 4 * numel,
                    "seconds": _best(_comm_fn(numel, mb), budget)})
    # a deeper MLP (2.9M parameters, 11.6 MB of gradient): several buckets, so the early ones can
    # be reduced while backward computes the first layers
    deep = (784, 1024, 1024, 1024, 10)
    dnumel = sum(p.numel() for p in _mlp(deep).parameters())
    out.append({"what": "step", "model": "mlp 784-1024-1024-1024-10", "ddp": None,
                "seconds": _best(_step_fn(_mlp(deep), deep), budget)})
    for mb in BUCKETS_MB:
        ddp = DDP(_mlp(deep), bucket_cap_mb=mb)
        out.append({"what": "step", "model": "mlp 784-1024-1024-1024-10", "ddp": mb, "buckets": len(ddp._buckets),
                    "seconds": _best(_step_fn(ddp, deep), budget)})
        out.append({"what": "comm", "model": "mlp 784-1024-1024-1024-10", "ddp": mb, "bytes": 4 * dnumel,
                    "seconds": _best(_comm_fn(dnumel, mb), budget)})
    if args.big:
        big = 25_000_000
        for mb in BUCKETS_MB:
            out.append({"what": "comm", "model": "25M float32", "ddp": mb, "bytes": 4 * big,
                        "seconds": _best(_comm_fn(big, mb), budget, min_samples=3)})
        if world == 1:
            bsizes = (1024, 4096, 4096, 1024, 10)
            bm = _mlp(bsizes)
            out.append({"what": "step", "model": "mlp 1024-4096-4096-1024-10 (%.1fM)" %
                        (sum(p.numel() for p in bm.parameters()) / 1e6), "ddp": None,
                        "seconds": _best(_step_fn(bm, bsizes), budget, min_samples=3)})
    if rank == 0:
        for o in out:
            o["ranks"] = world
            print("RESULT " + json.dumps(o), flush=True)
    dist.destroy_process_group()


def launch(ranks, args) -> list:
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.access(mpiexec, os.X_OK):
        import shutil
        mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        sys.exit("mpiexec not found: pip install 'tinygrad_cn[distributed]'")
    cmd = [mpiexec, "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker"]
    cmd += ["--quick"] if args.quick else []
    cmd += ["--big"] if args.big else []
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if p.returncode:
        sys.exit(p.stdout + p.stderr)
    return [json.loads(line[7:]) for line in p.stdout.splitlines() if line.startswith("RESULT ")]


def table(rows) -> str:
    lines = ["| ranks | what | model | bucket cap (MB) | buckets | ms | steps/s or GB/s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        ms = r["seconds"] * 1e3
        if r["what"] == "comm":
            # algorithm bandwidth: gradient bytes over time (ring all-reduce moves 2(N-1)/N of it per rank)
            rate = f"{r['bytes'] / r['seconds'] / 1e9:.2f} GB/s"
        else:
            rate = f"{1 / r['seconds']:.0f} steps/s"
        cap = "-" if r["ddp"] is None else f"{r['ddp']:g}"
        lines.append(f"| {r['ranks']} | {r['what']} | {r['model']} | {cap} | {r.get('buckets', '-')} | "
                     f"{ms:.3f} | {rate} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--ranks", default="1,2")
    args = ap.parse_args()
    if args.worker:
        sys.path.insert(0, ROOT)
        worker(args)
        return
    rows = []
    for n in (int(s) for s in args.ranks.split(",")):
        rows += launch(n, args)
    print(table(rows))


if __name__ == "__main__":
    main()
