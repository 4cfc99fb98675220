"""Run under ``mpiexec -n 2`` (or alone, a world of one): every collective, op and dtype, on
contiguous, strided and empty tensors.

Each rank builds the data of every rank (seeded by rank), so the expected
result is computed locally with NumPy and compared. Prints "OK <rank>" at the end.
"""
import numpy as np

import tinygrad_cn as torch
import tinygrad_cn.distributed as dist
from tinygrad_cn.distributed import ReduceOp

DTYPES = [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.int16, torch.int8,
          torch.uint8, torch.bool]


def data(rank, dtype, shape=(3, 4)):
    rng = np.random.default_rng(100 + rank)
    if dtype is torch.bool:
        a = rng.integers(0, 2, shape).astype(bool)
    elif dtype.is_floating_point:
        a = rng.uniform(-3, 3, shape).astype(dtype.np)
    else:
        lo = 0 if dtype is torch.uint8 else -5
        a = rng.integers(lo, 6, shape).astype(dtype.np)
    return a


def expected(op, arrays, dtype):
    if dtype is torch.bool:
        f = np.logical_or if op in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX) else np.logical_and
        return f.reduce(arrays)
    acc = np.stack([a.astype(np.float64 if dtype.is_floating_point else np.int64) for a in arrays])
    if op is ReduceOp.SUM:
        r = acc.sum(0)
    elif op is ReduceOp.PRODUCT:
        r = acc.prod(0)
    elif op is ReduceOp.MAX:
        r = acc.max(0)
    elif op is ReduceOp.MIN:
        r = acc.min(0)
    else:
        s = acc.sum(0)
        r = s / len(arrays) if dtype.is_floating_point else np.sign(s) * (np.abs(s) // len(arrays))
    return r.astype(dtype.np)


def make(a, strided):
    """A tensor holding ``a``, as a transposed (non-contiguous) view when ``strided``."""
    if strided:
        return torch.from_numpy(np.ascontiguousarray(a.T)).t()
    return torch.from_numpy(a.copy())


def close(got, want, dtype):
    tol = 1e-2 if dtype is torch.float16 else 1e-5
    if dtype.is_floating_point:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


def check_all_reduce(rank, world):
    for dtype in DTYPES:
        for op in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT):
            for strided in (False, True):
                arrays = [data(r, dtype) for r in range(world)]
                t = make(arrays[rank], strided)
                assert t.is_contiguous() is not strided
                v0 = t._version
                work = dist.all_reduce(t, op=op, async_op=strided)  # both paths: blocking and Work
                if strided:
                    work.wait()
                    assert work.is_completed()
                assert t.dtype is dtype and not (strided and t.is_contiguous())
                assert t._version > v0
                close(t.numpy(), expected(op, arrays, dtype), dtype)
        e = torch.zeros(0, 3, dtype=dtype)
        dist.all_reduce(e)
        assert e.shape == (0, 3)


def check_bitwise(rank, world):
    arrays = [data(r, torch.int32) for r in range(world)]
    for op, f in ((ReduceOp.BAND, np.bitwise_and), (ReduceOp.BOR, np.bitwise_or), (ReduceOp.BXOR, np.bitwise_xor)):
        t = torch.from_numpy(arrays[rank].copy())
        dist.all_reduce(t, op=op)
        np.testing.assert_array_equal(t.numpy(), f.reduce(arrays))
    try:
        dist.all_reduce(torch.ones(2), op=ReduceOp.BAND)
    except RuntimeError as e:
        assert "BAND" in str(e)
    else:
        raise AssertionError("BAND on float must raise")


def check_broadcast_and_reduce(rank, world):
    for dtype in DTYPES:
        for src in range(world):
            for strided in (False, True):
                arrays = [data(r, dtype) for r in range(world)]
                t = make(arrays[rank], strided)
                dist.broadcast(t, src=src)
                np.testing.assert_array_equal(t.numpy(), arrays[src])
                t = make(arrays[rank], strided)
                dist.reduce(t, dst=src, op=ReduceOp.SUM)
                want = expected(ReduceOp.SUM, arrays, dtype) if rank == src else arrays[rank]
                close(t.numpy(), want, dtype)
        e = torch.zeros(0, dtype=dtype)
        dist.broadcast(e, src=0)
        dist.reduce(e, dst=0)


def check_gathers(rank, world):
    for dtype in DTYPES:
        for strided in (False, True):
            arrays = [data(r, dtype) for r in range(world)]
            t = make(arrays[rank], strided)
            out = [make(np.zeros_like(arrays[0]), strided) for _ in range(world)]
            dist.all_gather(out, t)
            for r in range(world):
                np.testing.assert_array_equal(out[r].numpy(), arrays[r])
            flat = torch.zeros(world * 3, 4, dtype=dtype)
            dist.all_gather_into_tensor(flat, make(arrays[rank], False))
            np.testing.assert_array_equal(flat.numpy(), np.concatenate(arrays))
            for root in range(world):
                lst = [make(np.zeros_like(arrays[0]), strided) for _ in range(world)] if rank == root else None
                w = dist.gather(make(arrays[rank], strided), lst, dst=root, async_op=True)
                w.wait()
                if rank == root:
                    for r in range(world):
                        np.testing.assert_array_equal(lst[r].numpy(), arrays[r])
                recv = make(np.zeros_like(arrays[0]), strided)
                sl = [make(data(10 + r, dtype), strided) for r in range(world)] if rank == root else None
                dist.scatter(recv, sl, src=root)
                np.testing.assert_array_equal(recv.numpy(), data(10 + rank, dtype))
        empties = [torch.zeros(0, dtype=dtype) for _ in range(world)]
        dist.all_gather(empties, torch.zeros(0, dtype=dtype))
        dist.scatter(torch.zeros(0, dtype=dtype), empties if rank == 0 else None, src=0)
        dist.gather(torch.zeros(0, dtype=dtype), empties if rank == 0 else None, dst=0)


def check_errors(rank, world):
    def raises(exc, fn, text):
        try:
            fn()
        except exc as e:
            assert text in str(e), str(e)
        else:
            raise AssertionError(f"expected {exc.__name__}: {text}")
    raises(RuntimeError, lambda: dist.all_gather([torch.zeros(2)] * (world + 1), torch.zeros(2)), "one tensor per rank")
    raises(RuntimeError, lambda: dist.all_gather([torch.zeros(3)] * world, torch.zeros(2)), "[3]")
    if rank == 0:
        raises(ValueError, lambda: dist.gather(torch.zeros(2), None, dst=0), "must be specified on destination")
        raises(ValueError, lambda: dist.scatter(torch.zeros(2), None, src=0), "must be specified on source")
    else:
        raises(ValueError, lambda: dist.gather(torch.zeros(2), [torch.zeros(2)] * world, dst=0), "must NOT")
        raises(ValueError, lambda: dist.scatter(torch.zeros(2), [torch.zeros(2)] * world, src=0), "must NOT")
    raises(ValueError, lambda: dist.broadcast(torch.zeros(2), src=world), "Invalid src rank")
    raises(ValueError, lambda: dist.broadcast(torch.zeros(2)), "Either src or group_src must be specified")
    raises(ValueError, lambda: dist.reduce(torch.zeros(2), dst=0, group_dst=1), "Can not specify both dst")
    raises(TypeError, lambda: dist.all_reduce(np.zeros(2)), "Expected parameter `tensor`")


def check_torch_defaults(rank, world):
    """gather and scatter default to rank 0; group_src/group_dst name the root in the default group."""
    t = torch.full((2,), float(rank))
    dist.broadcast(t, group_src=world - 1)
    assert t.tolist() == [world - 1.0] * 2
    lst = [torch.zeros(2) for _ in range(world)] if rank == 0 else None
    dist.gather(torch.full((2,), float(rank)), lst)
    if rank == 0:
        assert [x.tolist() for x in lst] == [[float(r)] * 2 for r in range(world)]
    out = torch.zeros(2)
    dist.scatter(out, [torch.full((2,), r + 5.0) for r in range(world)] if rank == 0 else None)
    assert out.tolist() == [rank + 5.0] * 2
    t = torch.ones(2)
    dist.reduce(t, group_dst=0)
    assert t.tolist() == ([float(world)] * 2 if rank == 0 else [1.0, 1.0])


def check_async_overlap(rank, world):
    """Several outstanding requests at once, completed out of order."""
    ts = [torch.full((1000,), float(rank + i)) for i in range(4)]
    works = [dist.all_reduce(t, async_op=True) for t in ts]
    for w in reversed(works):
        w.wait()
    for i, t in enumerate(ts):
        assert float(t[0]) == sum(r + i for r in range(world))
    dist.barrier()
    dist.barrier(async_op=True).wait()


def main():
    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    assert dist.is_initialized() and dist.is_available()
    for check in (check_all_reduce, check_bitwise, check_broadcast_and_reduce, check_gathers, check_errors,
                  check_torch_defaults, check_async_overlap):
        check(rank, world)
    dist.destroy_process_group()
    assert not dist.is_initialized()
    print(f"OK {rank}", flush=True)


if __name__ == "__main__":
    main()
