"""tinygrad_cn.distributed, DistributedDataParallel, SyncBatchNorm and DistributedSampler.

The multi-process checks run scripts in tests/distributed/ under ``mpiexec -n 2``
(each batches many checks, since starting a job costs about a second) and skip
without mpi4py or mpiexec. The sampler and the single-process paths run in this process.
"""
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

try:
    from hypothesis import given, strategies as st
except ImportError:  # hypothesis is in the `test` extra; the property test below skips without it
    given = None

import tinygrad_cn as tg
import tinygrad_cn.distributed as dist
from tinygrad_cn import nn
from tinygrad_cn.utils.data.distributed import DistributedSampler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "tests", "distributed")


def _mpiexec():
    """mpiexec from the Python environment (pip's mpich puts it next to python), else from PATH."""
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.access(local, os.X_OK) else shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or _mpiexec() is None,
                               reason="needs mpi4py and mpiexec (pip install 'tinygrad_cn[distributed]')")


def _launcher_flags(mpiexec):
    """Open MPI's mpiexec refuses root and more ranks than cores unless told (a system MPI in CI)."""
    try:
        version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    if "Open MPI" in version or "OpenRTE" in version:
        return ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return []


def run_mpi(args, n=2, timeout=120):
    """Run ``python *args`` on ``n`` ranks; returns (returncode, stdout + stderr, seconds)."""
    mpiexec = _mpiexec()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1")  # two ranks on two cores: no oversubscription
    start = time.monotonic()
    p = subprocess.run([mpiexec, *_launcher_flags(mpiexec), "-n", str(n), sys.executable, *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr, time.monotonic() - start


def assert_ok(args, n=2):
    rc, out, _ = run_mpi(args, n)
    assert rc == 0, out
    for r in range(n):
        assert f"OK {r}" in out, out


# -- under mpiexec -n 2 ---------------------------------------------------------------------------
@needs_mpi
def test_collectives_every_op_and_dtype():
    assert_ok([os.path.join(SCRIPTS, "collectives.py")])


@needs_mpi
def test_ddp_and_sync_batchnorm_match_single_process():
    assert_ok([os.path.join(SCRIPTS, "ddp.py")])


@needs_mpi
def test_failing_rank_ends_the_job_and_names_the_rank():
    rc, out, seconds = run_mpi([os.path.join(SCRIPTS, "fail.py"), "raise"], timeout=60)
    assert rc != 0, out
    assert seconds < 20, f"the job took {seconds:.1f} s to end"
    assert "[rank 1] ValueError: boom" in out, out
    assert "uncaught ValueError on rank 1; aborting all 2 ranks" in out, out
    assert "unreachable" not in out


@needs_mpi
def test_collective_timeout_aborts_with_a_clear_message():
    rc, out, seconds = run_mpi([os.path.join(SCRIPTS, "fail.py"), "timeout"], timeout=60)
    assert rc != 0, out
    assert seconds < 20, f"the job took {seconds:.1f} s to end"
    assert "all_reduce timed out after 1 s" in out and "on rank 0" in out, out


@needs_mpi
@pytest.mark.parametrize("script", ["collectives.py", "ddp.py"])
def test_world_of_one_without_mpiexec(script):
    """A plain ``python script.py`` is a world of one (MPI singleton start-up)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, os.path.join(SCRIPTS, script)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "OK 0" in p.stdout, p.stdout + p.stderr


@needs_mpi
def test_ddp_digits_example_trains_on_two_ranks():
    rc, out, _ = run_mpi([os.path.join(ROOT, "examples", "ddp_digits.py"), "--epochs", "4", "--optim", "adam"])
    assert rc == 0, out
    assert "[rank 0] test accuracy on its share" in out and "[rank 1] test accuracy on its share" in out, out
    line = next(l for l in out.splitlines() if l.startswith("test accuracy:"))
    assert float(line.split("=")[1].split()[0]) > 0.9, line


# -- one process ----------------------------------------------------------------------------------
def test_uninitialised_group_errors():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.all_reduce(tg.ones(2))
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="Invalid backend: 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(RuntimeError, match="Requires distributed package"):
        DistributedSampler(range(4))


def test_missing_mpi4py_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `import mpi4py` fail
    with pytest.raises(RuntimeError, match=r"pip install 'tinygrad_cn\[distributed\]'"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_sync_batchnorm_without_group_is_batchnorm():
    tg.manual_seed(0)
    x = tg.randn(8, 3, 5, dtype=tg.float64, requires_grad=True)
    bn, sbn = nn.BatchNorm1d(3).double(), nn.SyncBatchNorm(3, dtype=tg.float64)
    y1, y2 = bn(x), sbn(x)
    np.testing.assert_allclose(y1.detach().numpy(), y2.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), sbn.running_var.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match="expected at least 2D input"):
        sbn(tg.ones(3))


def test_convert_sync_batchnorm_keeps_parameters_and_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.BatchNorm1d(4), nn.ReLU()), nn.BatchNorm2d(2))
    model[2].eval()
    w, rm = model[1][0].weight, model[1][0].running_mean
    out = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(out[1][0]) is nn.SyncBatchNorm and type(out[2]) is nn.SyncBatchNorm
    assert out[1][0].weight is w and out[1][0].running_mean is rm
    assert not out[2].training and out[1][0].training
    assert list(out.state_dict()) == list(model.state_dict())


# -- DistributedSampler ---------------------------------------------------------------------------
def shares(n, replicas, **kw):
    return [list(DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw)) for r in range(replicas)]


@pytest.mark.parametrize("n", [0, 1, 5, 12, 13])
@pytest.mark.parametrize("replicas", [1, 2, 3, 5])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_sampler_covers_the_dataset_once_per_epoch(n, replicas, drop_last, shuffle):
    parts = shares(n, replicas, drop_last=drop_last, shuffle=shuffle)
    counts = {len(p) for p in parts}
    assert len(counts) == 1  # every rank the same number of samples
    flat = [i for p in parts for i in p]
    if drop_last:
        assert len(flat) == (n // replicas) * replicas and len(set(flat)) == len(flat)
    else:
        assert len(flat) == math.ceil(n / replicas) * replicas
        assert set(flat) == set(range(n))  # each index at least once; the extra are padding
        if n >= replicas or n == 0:
            assert len(flat) - len(set(flat)) == len(flat) - n


def test_sampler_matches_torch_order_without_shuffle():
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n in (1, 2, 7, 10, 16):
        for replicas in (1, 2, 3, 4, 7):
            for drop_last in (False, True):
                for r in range(replicas):
                    ours = DistributedSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
                    theirs = TorchSampler(range(n), replicas, r, shuffle=False, drop_last=drop_last)
                    assert list(ours) == list(theirs) and len(ours) == len(theirs), (n, replicas, r, drop_last)


def test_sampler_shuffle_follows_seed_and_epoch():
    a = shares(20, 2, seed=3)
    assert a == shares(20, 2, seed=3)  # every rank computes the same permutation
    assert a != shares(20, 2, seed=4)
    s = DistributedSampler(range(20), num_replicas=2, rank=0, seed=3)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first
    s.set_epoch(0)
    assert list(s) == first
    assert sorted(first + a[1]) == list(range(20))


def test_sampler_padding_repeats_from_the_start():
    assert shares(5, 4, shuffle=False) == [[0, 4], [1, 0], [2, 1], [3, 2]]
    assert shares(2, 5, shuffle=False) == [[0], [1], [0], [1], [0]]
    assert shares(5, 2, shuffle=False, drop_last=True) == [[0, 2], [1, 3]]


def test_sampler_rejects_bad_rank():
    with pytest.raises(ValueError, match="Invalid rank 2, rank should be in the interval \\[0, 1\\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


if given is not None:
    @given(n=st.integers(0, 50), replicas=st.integers(1, 8), drop_last=st.booleans(), shuffle=st.booleans(),
           seed=st.integers(0, 2 ** 31), epoch=st.integers(0, 5))
    def test_sampler_partition_property(n, replicas, drop_last, shuffle, seed, epoch):
        """Equal shares; without drop_last every index appears, each of the first ``n`` slots of the
        (padded) order exactly once; with drop_last the shares are disjoint."""
        samplers = [DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=seed, drop_last=drop_last)
                    for r in range(replicas)]
        for s in samplers:
            s.set_epoch(epoch)
        parts = [list(s) for s in samplers]
        assert all(len(p) == len(samplers[0]) for p in parts)
        flat = [i for p in parts for i in p]
        assert all(0 <= i < n for i in flat)
        if drop_last:
            assert len(flat) == n - n % replicas and len(set(flat)) == len(flat)
        else:
            assert set(flat) == set(range(n)) and len(flat) == -(-n // replicas) * replicas
else:
    def test_sampler_partition_property():
        pytest.importorskip("hypothesis")
