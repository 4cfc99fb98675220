"""``DistributedDataParallel``: one model replica per rank, gradients averaged during backward.

How the gradient average overlaps backward (torch's Reducer, in Python):

* Parameters (those that require grad) are laid out in reverse order of registration,
  which is roughly the order backward produces their gradients, and cut into flat
  per-dtype buckets: the first of 1 MiB, the others of ``bucket_cap_mb`` (torch's sizes
  after its first-iteration rebuild; a smaller ``bucket_cap_mb`` caps the first too).
* Each parameter has a post-accumulate-grad hook. When it fires, the fresh ``.grad``
  (divided by the world size) is copied into the parameter's slot of its bucket; when a
  bucket's last slot is filled, the bucket is all-reduced with a non-blocking
  ``MPI_Iallreduce`` while backward goes on computing earlier layers.
  Buckets are launched strictly in order so that every rank issues the same sequence
  of collectives, whatever order its hooks fire in.
* The hook that launches the last bucket waits for all of them and copies the averaged
  buckets back into ``.grad``. So when ``backward()`` returns the gradients are final: the
  optimizer needs no extra call, and there is no engine-wide end-of-backward callback to
  get wrong. The one case this cannot cover, a parameter that got no gradient, is found
  at the next forward and raises (as torch does) unless ``find_unused_parameters=True``:
  then forward walks the output's graph, and every parameter it cannot reach is marked
  ready with a zero contribution straight away.
"""
from __future__ import annotations

import contextlib
from typing import Dict, List, Optional

import numpy as np

from ...autograd.function import AccumulateGrad
from ...autograd.grad_mode import is_grad_enabled
from ...distributed import _mpi
from ...distributed.process_group import ProcessGroup, _group, _wait_requests
from ...tensor import Tensor
from ..modules.module import Module

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES

_UNFINISHED = ("Expected to have finished reduction in the prior iteration before starting a new one. This error "
               "indicates that your module has parameters that were not used in producing loss. You can enable "
               "unused parameter detection by passing the keyword argument `find_unused_parameters=True` to "
               "`tinygrad_cn.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function "
               "outputs participate in calculating loss. Parameter indices which did not receive grad for rank "
               "{rank}: {missing}")

_TWICE = ("Expected to mark a variable ready only once. This error is caused by one of the following reasons: "
          "1) Use of a module parameter outside the `forward` function, or a parameter that "
          "`find_unused_parameters=True` found unused taking part in backward; 2) Reused parameters in multiple "
          "reentrant backward passes. Parameter at index {index} with name {name} has been marked as ready twice.")


class _Bucket:
    """A flat buffer holding the gradients of some parameters of one dtype, reduced as one message."""

    __slots__ = ("params", "offsets", "flat", "pending", "request")

    def __init__(self, params: List[int], sizes: List[int], dtype):
        self.params = params
        self.offsets = list(np.cumsum([0] + sizes[:-1])) if sizes else []
        self.flat = np.zeros(sum(sizes), dtype=dtype)
        self.pending = len(params)
        self.request = None


def _assign_buckets(params: List[Tensor], cap_bytes: int) -> List[List[int]]:
    """Parameter indices grouped into buckets: reverse registration order, one open bucket per
    dtype, closed once it reaches its size limit: 1 MiB (or ``cap_bytes`` if smaller) for the first,
    so that communication starts early in backward, ``cap_bytes`` after (torch's limits once it has
    rebuilt its buckets after the first iteration)."""
    limits = [min(_DEFAULT_FIRST_BUCKET_BYTES, cap_bytes), cap_bytes]
    open_: Dict[np.dtype, list] = {}
    closed = []
    for i in reversed(range(len(params))):
        dt = _mpi.reduce_dtype(params[i]._data.dtype)
        b = open_.setdefault(dt, [[], 0, 0])  # indices, bytes, which limit
        b[0].append(i)
        b[1] += params[i]._data.size * dt.itemsize
        if b[1] >= limits[b[2]]:
            closed.append(b[0])
            open_[dt] = [[], 0, 1]
    closed += [b[0] for b in open_.values() if b[0]]
    # launch order: the bucket holding the latest-registered parameter first
    return sorted(closed, key=lambda idx: -max(idx))


def _tensors_in(obj, out: list) -> list:
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _tensors_in(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _tensors_in(o, out)
    return out


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors whose gradients backward from ``outputs`` can reach."""
    leaves, seen = set(), set()
    stack = []
    for t in _tensors_in(outputs, []):
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in getattr(node, "_next", ()) or ():
            if not edge:
                continue
            child = edge[0]
            if isinstance(child, AccumulateGrad):
                leaves.add(id(child.variable))
            else:
                stack.append(child)
    return leaves


def _broadcast_coalesced(tensors: List[Tensor], src: int, pg: ProcessGroup) -> None:
    """Broadcast many tensors as one message per dtype (a handful of messages instead of hundreds)."""
    by_dtype: Dict[np.dtype, list] = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    for group in by_dtype.values():
        flat = np.concatenate([t._data.reshape(-1) for t in group])
        if flat.size == 0:
            continue
        pg.comm.Bcast([flat.view(np.uint8), _mpi.mpi().BYTE], root=src)
        if pg.rank() != src:
            off = 0
            for t in group:
                n = t._data.size
                np.copyto(t._data, flat[off:off + n].reshape(t._data.shape))
                t._vc[0] += 1
                off += n


class DistributedDataParallel(Module):
    """Data parallelism over the ranks of a process group, as ``torch.nn.parallel.DistributedDataParallel``.

    Parameters and buffers are broadcast from rank 0 when wrapping; buffers (BatchNorm
    running statistics) again at every forward when ``broadcast_buffers``; gradients are
    averaged over ranks during backward in buckets of ``bucket_cap_mb`` MiB (25 by default),
    overlapping communication with the rest of backward. ``state_dict`` keys start with
    ``module.`` as in torch.

    Example::

        dist.init_process_group("mpi")
        model = DistributedDataParallel(nn.Linear(10, 2))
        opt = optim.SGD(model.parameters(), lr=0.1)
        loss = nn.functional.mse_loss(model(x_local), y_local)
        loss.backward()          # .grad now holds the average over ranks
        opt.step()               # every rank takes the same step

        with model.no_sync():    # gradient accumulation: no communication here ...
            model(x1).sum().backward()
        model(x2).sum().backward()  # ... the accumulated gradient is averaged here
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: Optional[bool] = None, init_sync: bool = True,
                 process_group: Optional[ProcessGroup] = None,
                 bucket_cap_mb: Optional[float] = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None, skip_all_reduce_unused_params: bool = False, bucket_cap_mb_list=None,
                 batched_grad_copy: bool = False, forward_sync_buffers: Optional[bool] = None):
        super().__init__()
        if device_ids is not None or output_device is not None:
            raise ValueError("DistributedDataParallel device_ids and output_device arguments only work with "
                             "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
                             f"{device_ids}, output_device {output_device}, and module parameters "
                             "{device(type='cpu')}.")
        self.process_group = _group(process_group)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.dim = dim
        # None: torch's default, buffers broadcast at every forward
        self.broadcast_buffers = True if broadcast_buffers is None else broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view  # accepted; gradients are always copied back
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._verify_same_model()
        if init_sync:
            _broadcast_coalesced(self._params + list(module.buffers()), 0, self.process_group)
        self._build_buckets()
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                              for i, p in enumerate(self._params)]
        self._expect_hooks = False
        self._started = False

    # -- set-up ----------------------------------------------------------------
    def _verify_same_model(self) -> None:
        pg = self.process_group
        mine = np.array([len(self._params), sum(p._data.size for p in self._params)], dtype=np.int64)
        every = np.empty((pg.size(), 2), dtype=np.int64)
        pg.comm.Allgather(mine, every)
        for r in range(pg.size()):
            if every[r, 0] != every[0, 0] or every[r, 1] != every[0, 1]:
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {pg.rank()} has "
                                   f"{len(self._params)} params ({mine[1]} elements), while rank {r} has "
                                   f"inconsistent {every[r, 0]} params ({every[r, 1]} elements).")

    def _build_buckets(self) -> None:
        self._buckets: List[_Bucket] = []
        self._slot = [None] * len(self._params)  # param index -> (bucket, offset)
        for idx in _assign_buckets(self._params, self.bucket_bytes_cap):
            sizes = [self._params[i]._data.size for i in idx]
            dt = _mpi.reduce_dtype(self._params[idx[0]]._data.dtype)
            b = _Bucket(idx, sizes, dt)
            for i, off in zip(idx, b.offsets):
                self._slot[i] = (b, int(off))
            self._buckets.append(b)

    # -- one iteration -----------------------------------------------------------
    def _prepare_for_backward(self) -> None:
        for b in self._buckets:
            b.pending = len(b.params)
            b.request = None
        self._ready = [False] * len(self._params)
        self._used = np.zeros(len(self._params), dtype=np.int32)
        self._next_bucket = 0
        self._expect_hooks = True
        self._started = False

    def _make_hook(self, index: int):
        def hook(param: Tensor) -> None:
            if self._expect_hooks:
                if self._ready[index]:
                    raise RuntimeError(_TWICE.format(index=index, name=self._param_names[index]))
                self._mark_ready(index, param._grad)
        return hook

    def _mark_ready(self, index: int, grad: Optional[Tensor]) -> None:
        self._started = True
        bucket, off = self._slot[index]
        p = self._params[index]
        view = bucket.flat[off:off + p._data.size].reshape(p._data.shape)
        if grad is None:
            view[...] = 0
        else:
            np.divide(grad._data, self.process_group.size(), out=view, casting="unsafe")
            self._used[index] = 1
        self._ready[index] = True
        bucket.pending -= 1
        if bucket.pending == 0:
            self._launch_ready_buckets()
        elif self._next_bucket:
            # MPI progresses a non-blocking reduction only inside MPI calls: poke the ones in flight
            _mpi.mpi().Request.Testall([b.request for b in self._buckets[:self._next_bucket]])

    def _launch_ready_buckets(self) -> None:
        MPI = _mpi.mpi()
        comm = self.process_group.comm
        while self._next_bucket < len(self._buckets) and self._buckets[self._next_bucket].pending == 0:
            b = self._buckets[self._next_bucket]
            b.request = comm.Iallreduce(MPI.IN_PLACE, [b.flat, _mpi.mpi_type(b.flat.dtype)], MPI.SUM)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finalize()

    def _finalize(self) -> None:
        """Wait for every bucket and write the averages into ``.grad``."""
        pg = self.process_group
        used = None
        if self.find_unused_parameters:
            used = self._used.copy()
            pg.comm.Allreduce(_mpi.mpi().IN_PLACE, used, _mpi.mpi().MAX)
        _wait_requests([b.request for b in self._buckets], pg.timeout, "DistributedDataParallel gradient all-reduce")
        for i, p in enumerate(self._params):
            if used is not None and not used[i]:
                continue  # unused on every rank: .grad stays as it was, as in torch
            bucket, off = self._slot[i]
            avg = bucket.flat[off:off + p._data.size].reshape(p._data.shape)
            g = p._grad
            if g is None:
                p.grad = Tensor._make(avg.astype(p._data.dtype, copy=True))
            else:
                np.copyto(g._data, avg, casting="unsafe")
                g._vc[0] += 1
        self._expect_hooks = False
        self._started = False

    # -- public API --------------------------------------------------------------
    def forward(self, *inputs, **kwargs):
        if self._expect_hooks and self._started:
            missing = [i for i, r in enumerate(self._ready) if not r]
            raise RuntimeError(_UNFINISHED.format(rank=self.process_group.rank(), missing=missing))
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync:
            self._prepare_for_backward()
        else:
            self._expect_hooks = False
        if self.broadcast_buffers and self.require_forward_param_sync and self.process_group.size() > 1:
            buffers = list(self.module.buffers())
            if buffers:
                _broadcast_coalesced(buffers, 0, self.process_group)
        out = self.module(*inputs, **kwargs)
        if sync and self.find_unused_parameters:
            reached = _reachable_leaves(out)
            for i, p in enumerate(self._params):
                if id(p) not in reached:
                    self._mark_ready(i, None)
        return out

    @contextlib.contextmanager
    def no_sync(self):
        """Within this context backward accumulates gradients locally, without communication;
        the first synchronised backward after it averages the accumulated gradients.

        Example::

            with ddp.no_sync():
                ddp(x1).sum().backward()
            ddp(x2).sum().backward()
        """
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def extra_repr(self) -> str:
        return ""
