"""Collectives on tensors, with torch's names and argument orders.

Each works in place on the tensor's array; a non-contiguous (or float16, reduced in
float32) tensor goes through a contiguous staging copy that ``Work.wait`` copies back.
Every call is non-blocking underneath (``MPI_I*``): ``async_op=True`` returns the
``Work`` handle, otherwise it is waited for (with the group's timeout) before returning.
"""
from __future__ import annotations

from datetime import timedelta
from typing import List, Optional

import numpy as np

from . import _mpi
from .process_group import ProcessGroup, ReduceOp, Work, _group


def _check_tensor(t, name: str) -> None:
    from ..tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type tinygrad_cn.Tensor\n"
                        f"             but got {type(t)} instead.")


def _check_rank(r: int, pg: ProcessGroup, name: str) -> None:
    if not 0 <= r < pg.size():
        raise ValueError(f"Invalid {name} rank {r}: the group has {pg.size()} ranks")


def _staging(arr: np.ndarray, dtype=None) -> np.ndarray:
    """``arr`` itself when MPI can use it in place, else a contiguous copy (in ``dtype``)."""
    dtype = arr.dtype if dtype is None else np.dtype(dtype)
    if arr.flags.c_contiguous and arr.flags.writeable and arr.dtype == dtype:
        return arr
    return np.ascontiguousarray(arr, dtype=dtype)


def _raw(buf: np.ndarray):
    """A contiguous array as MPI bytes: data movement needs no datatype (float16 included)."""
    return [buf.reshape(-1).view(np.uint8), _mpi.mpi().BYTE]


def _typed(buf: np.ndarray):
    return [buf, _mpi.mpi_type(buf.dtype)]


def _store(t, buf: np.ndarray) -> None:
    """Write a result into the tensor's own array (when staged) and bump its version, as an in-place op."""
    if buf is not t._data:
        np.copyto(t._data, buf, casting="unsafe")
    t._vc[0] += 1


def _root(rank: Optional[int], group_rank: Optional[int], name: str, default: Optional[int] = None) -> int:
    """torch's ``src``/``group_src`` (``dst``/``group_dst``) pair: one of them, equal in the default group."""
    if rank is not None and group_rank is not None and rank != group_rank:
        raise ValueError(f"Can not specify both {name} and group_{name}")
    r = rank if rank is not None else group_rank if group_rank is not None else default
    if r is None:
        raise ValueError(f"Either {name} or group_{name} must be specified")
    return r


def _finish(work: Work, async_op: bool) -> Optional[Work]:
    if async_op:
        return work
    work.wait()
    return None


def _check_op(op, dtype: np.dtype) -> None:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op must be a tinygrad_cn.distributed.ReduceOp, got {op!r}")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind == "f":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with {dtype.name} tensors")


def _avg(buf: np.ndarray, n: int) -> None:
    """Divide a sum by the world size in place; integers truncate toward zero (as NCCL's AVG)."""
    if buf.dtype.kind == "f":
        buf /= n
    elif buf.dtype.kind in "iu":
        np.copyto(buf, np.sign(buf) * (np.abs(buf) // n))


def _mpi_reduce_op(op: ReduceOp, dtype: np.dtype):
    MPI = _mpi.mpi()
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
        if dtype == np.bool_:
            return {ReduceOp.BAND: MPI.LAND, ReduceOp.BOR: MPI.LOR, ReduceOp.BXOR: MPI.LXOR}[op]
        return {ReduceOp.BAND: MPI.BAND, ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}[op]
    return _mpi.mpi_op(op, dtype)


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
               async_op: bool = False) -> Optional[Work]:
    """Reduce ``tensor`` over all ranks; every rank ends with the result, in place.

    Example::

        >>> t = tinygrad_cn.tensor([float(dist.get_rank() + 1)])
        >>> dist.all_reduce(t, op=dist.ReduceOp.SUM)     # 2 ranks: t == [3.]
    """
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    arr = tensor._data
    _check_op(op, arr.dtype)
    buf = _staging(arr, _mpi.reduce_dtype(arr.dtype))
    req = pg.comm.Iallreduce(_mpi.mpi().IN_PLACE, _typed(buf), _mpi_reduce_op(op, buf.dtype))

    def finish():
        if op is ReduceOp.AVG:
            _avg(buf, pg.size())
        _store(tensor, buf)
    return _finish(Work([req], finish, pg, "all_reduce"), async_op)


def broadcast(tensor, src: Optional[int] = None, group: Optional[ProcessGroup] = None, async_op: bool = False,
              group_src: Optional[int] = None) -> Optional[Work]:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank.

    Example::

        >>> t = tinygrad_cn.tensor([float(dist.get_rank())])
        >>> dist.broadcast(t, src=0)                      # every rank: t == [0.]
    """
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    src = _root(src, group_src, "src")
    _check_rank(src, pg, "src")
    buf = _staging(tensor._data)
    req = pg.comm.Ibcast(_raw(buf), root=src)
    finish = None if pg.rank() == src else (lambda: _store(tensor, buf))
    return _finish(Work([req], finish, pg, "broadcast"), async_op)


def _check_list(tensors, tensor, pg: ProcessGroup, name: str) -> None:
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type List[Tensor]")
    if len(tensors) != pg.size():
        raise RuntimeError(f"{name} must have one tensor per rank: got {len(tensors)} for a world of {pg.size()}")
    for i, t in enumerate(tensors):
        _check_tensor(t, name)
        if t._data.shape != tensor._data.shape:
            raise RuntimeError(f"{name}[{i}] has shape {list(t.shape)} but the tensor has shape "
                               f"{list(tensor.shape)}")
        if t._data.dtype != tensor._data.dtype:
            raise RuntimeError(f"{name}[{i}] has dtype {t.dtype} but the tensor has dtype {tensor.dtype}")


def _unstack(tensors, recv: np.ndarray) -> None:
    for t, part in zip(tensors, recv):
        np.copyto(t._data, part)
        t._vc[0] += 1


def all_gather(tensor_list: List, tensor, group: Optional[ProcessGroup] = None,
               async_op: bool = False) -> Optional[Work]:
    """Every rank's ``tensor`` into ``tensor_list[rank]`` on every rank.

    Example::

        >>> out = [tinygrad_cn.zeros(2) for _ in range(dist.get_world_size())]
        >>> dist.all_gather(out, tinygrad_cn.full((2,), float(dist.get_rank())))
    """
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    _check_list(tensor_list, tensor, pg, "tensor_list")
    send = _staging(tensor._data)
    recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
    req = pg.comm.Iallgather(_raw(send), _raw(recv))
    return _finish(Work([req], lambda: _unstack(tensor_list, recv), pg, "all_gather"), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group: Optional[ProcessGroup] = None,
                           async_op: bool = False) -> Optional[Work]:
    """Every rank's ``input_tensor`` concatenated (along dim 0) into ``output_tensor``."""
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    pg = _group(group)
    if output_tensor._data.size != input_tensor._data.size * pg.size() or \
            output_tensor._data.dtype != input_tensor._data.dtype:
        raise RuntimeError(f"output tensor of shape {list(output_tensor.shape)} cannot hold {pg.size()} input "
                           f"tensors of shape {list(input_tensor.shape)} ({input_tensor.dtype})")
    send = _staging(input_tensor._data)
    recv = _staging(output_tensor._data)
    req = pg.comm.Iallgather(_raw(send), _raw(recv))
    return _finish(Work([req], lambda: _store(output_tensor, recv), pg, "all_gather_into_tensor"), async_op)


def reduce(tensor, dst: Optional[int] = None, op: ReduceOp = ReduceOp.SUM, group: Optional[ProcessGroup] = None,
           async_op: bool = False, group_dst: Optional[int] = None) -> Optional[Work]:
    """Reduce ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (the others are unchanged)."""
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    dst = _root(dst, group_dst, "dst")
    _check_rank(dst, pg, "dst")
    arr = tensor._data
    _check_op(op, arr.dtype)
    buf = _staging(arr, _mpi.reduce_dtype(arr.dtype))
    mop = _mpi_reduce_op(op, buf.dtype)
    if pg.rank() == dst:
        req = pg.comm.Ireduce(_mpi.mpi().IN_PLACE, _typed(buf), mop, root=dst)

        def finish():
            if op is ReduceOp.AVG:
                _avg(buf, pg.size())
            _store(tensor, buf)
    else:
        req = pg.comm.Ireduce(_typed(buf), None, mop, root=dst)
        finish = None
    return _finish(Work([req], finish, pg, "reduce"), async_op)


def gather(tensor, gather_list: Optional[List] = None, dst: Optional[int] = None,
           group: Optional[ProcessGroup] = None, async_op: bool = False,
           group_dst: Optional[int] = None) -> Optional[Work]:
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (None on the other ranks)."""
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    dst = _root(dst, group_dst, "dst", default=0)
    _check_rank(dst, pg, "dst")
    send = _staging(tensor._data)
    if pg.rank() == dst:
        if not gather_list:
            raise ValueError("Argument ``gather_list`` must be specified on destination rank.")
        _check_list(gather_list, tensor, pg, "gather_list")
        recv = np.empty((pg.size(),) + send.shape, dtype=send.dtype)
        req = pg.comm.Igather(_raw(send), _raw(recv), root=dst)
        finish = lambda: _unstack(gather_list, recv)  # noqa: E731
    else:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
        req = pg.comm.Igather(_raw(send), None, root=dst)
        finish = None
    return _finish(Work([req], finish, pg, "gather"), async_op)


def scatter(tensor, scatter_list: Optional[List] = None, src: Optional[int] = None,
            group: Optional[ProcessGroup] = None, async_op: bool = False,
            group_src: Optional[int] = None) -> Optional[Work]:
    """``scatter_list[i]`` on rank ``src`` into ``tensor`` on rank ``i``."""
    _check_tensor(tensor, "tensor")
    pg = _group(group)
    src = _root(src, group_src, "src", default=0)
    _check_rank(src, pg, "src")
    recv = _staging(tensor._data)
    if pg.rank() == src:
        if not scatter_list:
            raise ValueError("Argument ``scatter_list`` must be specified on source rank.")
        _check_list(scatter_list, tensor, pg, "scatter_list")
        send = np.stack([t._data for t in scatter_list]) if recv.size else \
            np.empty((pg.size(),) + recv.shape, dtype=recv.dtype)
        req = pg.comm.Iscatter(_raw(send), _raw(recv), root=src)
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
        req = pg.comm.Iscatter(None, _raw(recv), root=src)
    return _finish(Work([req], lambda: _store(tensor, recv), pg, "scatter"), async_op)


def barrier(group: Optional[ProcessGroup] = None, async_op: bool = False, device_ids=None,
            timeout: Optional[timedelta] = None) -> Optional[Work]:
    """Wait until every rank of the group reaches the barrier (``timeout`` overrides the group's)."""
    pg = _group(group)
    work = Work([pg.comm.Ibarrier()], None, pg, "barrier")
    if async_op:
        return work
    work.wait(timeout)
    return None
