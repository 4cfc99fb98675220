"""Data-parallel training over MPI, as ``torch.distributed`` with the ``"mpi"`` backend.

Launch ``mpiexec -n N python script.py``; each process calls ``init_process_group("mpi")``
and learns its rank and the world size from MPI. ``python script.py`` alone is a world of one.

Example::

    import tinygrad_cn as torch
    import tinygrad_cn.distributed as dist
    dist.init_process_group("mpi")
    t = torch.tensor([float(dist.get_rank())])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)   # every rank: 0 + 1 + ... + (N - 1)
    dist.destroy_process_group()
"""
from .process_group import (Backend, GroupMember, ProcessGroup, ReduceOp, Work, default_pg_timeout,
                            destroy_process_group, get_backend, get_rank, get_world_size, init_process_group,
                            is_available, is_initialized, is_mpi_available)
from .collectives import (all_gather, all_gather_into_tensor, all_reduce, barrier, broadcast, gather, reduce,
                          scatter)
from . import nn  # noqa: F401  (differentiable collectives, as torch.distributed.nn)

__all__ = ["Backend", "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
           "all_reduce", "barrier", "broadcast", "default_pg_timeout", "destroy_process_group", "gather",
           "get_backend", "get_rank", "get_world_size", "init_process_group", "is_available", "is_initialized",
           "is_mpi_available", "reduce", "scatter"]
