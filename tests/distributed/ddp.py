"""Run under ``mpiexec -n 2`` (or alone, a world of one): DistributedDataParallel and SyncBatchNorm against a
single-process run on the full batch (float64, to 1e-6), and DDP's error paths.

Every rank also runs the single-process reference itself (no communication), so
each can compare its replica with it. Prints "OK <rank>" at the end.
"""
import numpy as np

import tinygrad_cn as torch
import tinygrad_cn.distributed as dist
from tinygrad_cn import nn, optim
from tinygrad_cn.nn.parallel import DistributedDataParallel as DDP

STEPS = 20
BATCH = 16  # per rank


def mlp(seed, bn=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(6, 12)]
    if bn:
        layers.append(nn.BatchNorm1d(12))
    layers += [nn.Tanh(), nn.Linear(12, 12), nn.ReLU(), nn.Linear(12, 3)]
    return nn.Sequential(*layers).double()


def full_batch(world, seed=7):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((world * BATCH * STEPS, 6))
    y = rng.standard_normal((world * BATCH * STEPS, 3))
    return torch.from_numpy(x), torch.from_numpy(y)


def batches(x, y, step, rank, world):
    """Step ``step``'s global batch, and this rank's contiguous share of it."""
    lo = step * world * BATCH
    gx, gy = x[lo:lo + world * BATCH], y[lo:lo + world * BATCH]
    return (gx, gy), (gx[rank * BATCH:(rank + 1) * BATCH], gy[rank * BATCH:(rank + 1) * BATCH])


def make_opt(kind, params):
    if kind == "sgd":
        return optim.SGD(params, lr=0.05, momentum=0.9)
    return optim.Adam(params, lr=0.01)


def flat_params(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()] +
                          [b.numpy().ravel().astype(np.float64) for b in model.buffers()])


def same_on_every_rank(vec):
    out = [torch.zeros(len(vec), dtype=torch.float64) for _ in range(dist.get_world_size())]
    dist.all_gather(out, torch.from_numpy(vec.copy()))
    for o in out:
        np.testing.assert_array_equal(o.numpy(), vec)  # bit-identical replicas


def train(kind, rank, world, accumulate=False, bn=False, bucket_cap_mb=None):
    x, y = full_batch(world)
    ref = mlp(0, bn)
    # a different initialisation on each rank: wrapping must broadcast rank 0's
    model = mlp(rank, bn)
    if bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DDP(model, bucket_cap_mb=bucket_cap_mb)
    ref_opt, opt = make_opt(kind, ref.parameters()), make_opt(kind, ddp.parameters())
    loss_fn = nn.MSELoss()
    for step in range(STEPS):
        (gx, gy), (lx, ly) = batches(x, y, step, rank, world)
        ref_opt.zero_grad()
        loss_fn(ref(gx), gy).backward()
        ref_opt.step()
        opt.zero_grad()
        if accumulate:  # two micro-batches: the first without communication
            half = BATCH // 2
            with ddp.no_sync():
                (loss_fn(ddp(lx[:half]), ly[:half]) / 2).backward()
            (loss_fn(ddp(lx[half:]), ly[half:]) / 2).backward()
        else:
            loss_fn(ddp(lx), ly).backward()
        opt.step()
    mine, want = flat_params(ddp.module), flat_params(ref)
    same_on_every_rank(mine)
    err = np.abs(mine - want).max()
    assert err < 1e-6, f"{kind} accumulate={accumulate} bn={bn}: max |ddp - single| = {err}"
    return ddp


def check_buckets_and_state_dict(rank, world):
    ddp = train("sgd", rank, world, bucket_cap_mb=0.0002)  # ~200 bytes: several buckets in flight
    assert len(ddp._buckets) > 2, len(ddp._buckets)
    # overlap: when backward reaches the first layer, the later layers' buckets are already in flight
    launched = []
    handle = ddp.module[0].weight.register_hook(lambda g: launched.append(ddp._next_bucket))
    ddp(torch.ones(4, 6, dtype=torch.float64)).sum().backward()
    handle.remove()
    assert launched and launched[0] >= len(ddp._buckets) - 1, (launched, len(ddp._buckets))
    assert ddp._next_bucket == len(ddp._buckets) and not ddp._expect_hooks  # all reduced by the end
    assert all(k.startswith("module.") for k in ddp.state_dict())
    assert ddp.module is ddp._modules["module"]


def check_no_sync_keeps_local(rank, world):
    torch.manual_seed(0)
    ddp = DDP(nn.Linear(3, 1, bias=False).double())
    x = torch.full((2, 3), float(rank + 1), dtype=torch.float64)
    with ddp.no_sync():
        ddp(x).sum().backward()
    np.testing.assert_allclose(ddp.module.weight.grad.numpy(), np.full((1, 3), 2.0 * (rank + 1)))
    ddp(x).sum().backward()  # synchronised: average of the accumulated local gradients
    want = 2 * np.mean([2.0 * (r + 1) for r in range(world)])
    np.testing.assert_allclose(ddp.module.weight.grad.numpy(), np.full((1, 3), want))


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.used = nn.Linear(4, 1)
        self.unused = nn.Linear(4, 1)
        self.sometimes = nn.Linear(4, 1)

    def forward(self, x, with_sometimes=False):
        h = self.body(x)
        out = self.used(h)
        return out + self.sometimes(h) if with_sometimes else out


def check_unused(rank, world):
    torch.manual_seed(0)
    model = TwoHeads().double()
    ddp = DDP(model, find_unused_parameters=True)
    x = torch.ones(2, 4, dtype=torch.float64) * (rank + 1)
    for _ in range(2):  # twice: the second iteration must not complain
        ddp.zero_grad()
        ddp(x, with_sometimes=(rank == 0)).sum().backward()
    assert model.unused.weight.grad is None  # unused on every rank: left alone, as torch
    g = model.sometimes.weight.grad.numpy()  # used on rank 0 only: its gradient over the world size
    same_on_every_rank(g.ravel().copy())
    assert np.abs(g).sum() > 0
    h = model.body(torch.ones(2, 4, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(g, h.sum(0, keepdims=True) / world)

    strict = DDP(TwoHeads().double())
    strict(x).sum().backward()
    try:
        strict(x)
    except RuntimeError as e:
        assert "Expected to have finished reduction in the prior iteration" in str(e), str(e)
        assert "find_unused_parameters=True" in str(e)
    else:
        raise AssertionError("a parameter without gradient must be reported at the next forward")


def check_buffers_broadcast(rank, world):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).double()
    ddp = DDP(model)
    model[1].running_mean.fill_(float(rank))  # diverged buffers ...
    ddp.eval()
    ddp(torch.ones(2, 3, dtype=torch.float64))
    assert float(model[1].running_mean.sum()) == 0.0  # ... are rank 0's again after a forward


def check_errors():
    for kwargs, exc, text in (({"device_ids": [0]}, ValueError, "device_ids"),):
        try:
            DDP(nn.Linear(2, 2), **kwargs)
        except exc as e:
            assert text in str(e)
        else:
            raise AssertionError(text)
    try:
        DDP(nn.ReLU())
    except RuntimeError as e:
        assert "doesn't have any parameter that requires a gradient" in str(e)
    else:
        raise AssertionError("a module without parameters must be refused")


def check_sync_batchnorm_4d(rank, world):
    """SyncBatchNorm on (N, C, H, W): output, input gradient, weight and bias gradients and running
    stats equal BatchNorm2d on the whole batch (the input gradient needs the all-reduced sums)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4 * world, 3, 2, 5))
    up = rng.standard_normal(x.shape)  # a fixed upstream gradient: loss = sum(y * up)
    bn = nn.BatchNorm2d(3).double()
    sbn = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3).double())
    with torch.no_grad():
        for m in (bn, sbn):
            m.weight.copy_(torch.tensor([1.0, 2.0, -0.5], dtype=torch.float64))
            m.bias.copy_(torch.tensor([0.1, 0.0, -0.2], dtype=torch.float64))
    xf = torch.from_numpy(x.copy()).requires_grad_()
    yf = bn(xf)
    (yf * torch.from_numpy(up)).sum().backward()
    part = slice(rank * 4, (rank + 1) * 4)
    xl = torch.from_numpy(x[part].copy()).requires_grad_()
    yl = sbn(xl)
    (yl * torch.from_numpy(up[part])).sum().backward()
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)  # noqa: E731
    close(yl.detach().numpy(), yf.detach().numpy()[part])
    close(xl.grad.numpy(), xf.grad.numpy()[part])
    for name in ("weight", "bias"):
        g = getattr(sbn, name).grad.clone()
        dist.all_reduce(g)  # the per-rank parts sum to the full-batch gradient
        close(g.numpy(), getattr(bn, name).grad.numpy())
    close(sbn.running_mean.numpy(), bn.running_mean.numpy())
    close(sbn.running_var.numpy(), bn.running_var.numpy())


def check_sampler_partition(rank, world):
    """With the group's defaults, each epoch's shares are disjoint and together cover the dataset once."""
    from tinygrad_cn.utils.data.distributed import DistributedSampler
    n = 10 * world
    sampler = DistributedSampler(range(n), seed=1)
    assert (sampler.num_replicas, sampler.rank) == (world, rank)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        mine = torch.tensor(list(sampler), dtype=torch.int64)
        every = [torch.zeros(len(mine), dtype=torch.int64) for _ in range(world)]
        dist.all_gather(every, mine)
        covered = sorted(i for t in every for i in t.tolist())
        assert covered == list(range(n)), covered
        orders.append(mine.tolist())
    assert orders[0] != orders[1] != orders[2]


def main():
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    for kind in ("sgd", "adam"):
        for accumulate in (False, True):
            train(kind, rank, world, accumulate=accumulate)
    train("sgd", rank, world, bn=True)  # SyncBatchNorm == BatchNorm on the full batch
    check_buckets_and_state_dict(rank, world)
    check_no_sync_keeps_local(rank, world)
    check_unused(rank, world)
    check_buffers_broadcast(rank, world)
    check_errors()
    check_sampler_partition(rank, world)
    check_sync_batchnorm_4d(rank, world)
    dist.destroy_process_group()
    print(f"OK {rank}", flush=True)


if __name__ == "__main__":
    main()
