"""The machinery shared by the optimizers that have a fused kernel.

One optimizer step of a group is one call of ``K.<name>_step`` per dtype:
the kernel updates every parameter and state array of the call in place
(see ``tinygrad_cn/_C/ref_optim.py`` for the signatures). The NumPy path
(``fused=False``) calls the NumPy reference of the same
kernel, which follows torch's ``_single_tensor_<name>`` formulas operation by
operation. A parameter whose array the kernels cannot take (not
C-contiguous, read-only, misaligned, float16) is updated on C-contiguous
working copies by the NumPy reference, and the results are written back.

A subclass of ``_KernelOptimizer`` says which state arrays its kernel takes
(``_array_keys``), how to create a parameter's state (``_init_state``) and
how to call the kernel (``_call``). The per-group lists of arrays are
built once and cached; they are rebuilt when the set of parameters with a
gradient, a parameter's array, an option that changes the state layout or
the ``state`` dict itself changes, and after ``load_state_dict`` /
``add_param_group``. (Replacing one entry of a parameter's state with
another tensor, ``opt.state[p]["exp_avg"] = t``, is not noticed; update the
tensor in place instead, as torch's own code does.)
"""
from __future__ import annotations

from operator import is_
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from .._C import KERNEL_DTYPES, kernels as K
from .._C import reference as R
from ..autograd.grad_mode import enable_grad
from ..tensor import Tensor
from .optimizer import Optimizer, _get_scalar_dtype, _scalar


def _kernel_ready(a: np.ndarray) -> bool:
    """True when the compiled kernels can update ``a`` in place."""
    f = a.flags
    return a.dtype in KERNEL_DTYPES and f.c_contiguous and f.writeable and f.aligned


def _grad_array(g: Tensor, dtype: np.dtype) -> np.ndarray:
    a = g._data
    if a.dtype != dtype or not a.flags.c_contiguous or not a.flags.aligned:
        a = np.ascontiguousarray(a, dtype=dtype)
    return a


def _check_fused_foreach(fused: Optional[bool], foreach: Optional[bool], differentiable: bool) -> None:
    """torch's constructor checks of the implementation switches."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if differentiable:
        raise RuntimeError("tinygrad_cn.optim: differentiable=True is not supported (the step is not recorded "
                           "by autograd)")


class _Batch:
    """One kernel call: parameters of one dtype and their state arrays."""

    __slots__ = ("tensors", "params", "states", "step_arrays", "extras", "fresh")

    def __init__(self):
        self.tensors: List[Tensor] = []
        self.params: List[np.ndarray] = []
        self.states: List[List[np.ndarray]] = []   # one list per array key
        self.step_arrays: List[np.ndarray] = []    # the 0-d arrays of state["step"]
        self.extras: List[Dict[str, Any]] = []     # each parameter's state dict
        self.fresh = False


class _Plan:
    __slots__ = ("key", "tensors", "datas", "batches", "slow", "one_shot")

    def __init__(self, key):
        self.key = key
        self.tensors: List[Tensor] = []
        self.datas: List[np.ndarray] = []
        self.batches: Dict[Any, _Batch] = {}
        self.slow: List[tuple] = []  # (tensor, fresh)
        self.one_shot = False  # rebuild next step (a fresh state was created)


class _KernelOptimizer(Optimizer):
    """An optimizer whose update is one fused kernel call per dtype."""

    _kernel: str = ""          # name of the kernel in tinygrad_cn._C.kernels
    _has_step: bool = True     # keeps state["step"] as torch does
    _split_fresh: bool = False  # fresh state needs its own call (SGD's first_step)

    def _array_keys(self, group: Dict[str, Any]) -> List[Optional[str]]:
        """State keys in the kernel's positional order after ``grads``;
        None passes None (an array list the options do not need)."""
        raise NotImplementedError

    def _init_state(self, group: Dict[str, Any], p: Tensor, state: Dict[str, Any]) -> bool:
        """Create the missing state of ``p`` in torch's key order; True if
        anything was created. By default ``step`` and then zeros for each
        key of ``_array_keys`` (which is torch's order for most)."""
        fresh = self._ensure_step(group, state) if self._has_step else False
        for key in self._array_keys(group):
            if key is not None:
                fresh |= self._ensure(state, key, p)
        return fresh

    def _call(self, fn: Callable, group: Dict[str, Any], params, grads, states, steps, extras, fresh) -> None:
        """Run the kernel ``fn`` on one batch."""
        raise NotImplementedError

    # -- helpers for subclasses ---------------------------------------------
    def _new_step(self, group: Dict[str, Any]) -> Tensor:
        return _scalar(0.0, _get_scalar_dtype(is_fused=bool(group.get("fused"))))

    def _ensure_step(self, group: Dict[str, Any], state: Dict[str, Any]) -> bool:
        """Create state["step"] (torch's 0-d float tensor) if missing; a
        plain number from an old checkpoint becomes a tensor, as torch does."""
        step = state.get("step")
        if step is None:
            state["step"] = self._new_step(group)
            return True
        if not isinstance(step, Tensor):
            state["step"] = _scalar(float(step), _get_scalar_dtype(is_fused=bool(group.get("fused"))))
        return False

    def _ensure(self, state: Dict[str, Any], key: str, p: Tensor, fill: float = 0.0) -> bool:
        """Create the state array ``key`` (``zeros_like(p)`` or filled) if missing."""
        if state.get(key) is None:
            state[key] = self._zeros(p, fill)
            return True
        return False

    @staticmethod
    def _zeros(p: Tensor, fill: float = 0.0) -> Tensor:
        return Tensor._make(np.full(p._data.shape, fill, dtype=p._data.dtype))

    # -- step ----------------------------------------------------------------
    def _invalidate(self) -> None:
        self._plans = {}

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Optional[Any]:
        """Perform a single optimization step.

        Args:
            closure: a callable that re-evaluates the model and returns the
                loss (evaluated with gradients enabled); its loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            self._step_group(group)
        return loss

    def _step_fn(self, use_kernel: bool) -> Callable:
        """The fused kernel, or its NumPy reference (torch's single-tensor formulas)."""
        return getattr(K if use_kernel else R, self._kernel)

    def _use_kernel(self, group: Dict[str, Any]) -> bool:
        # only fused=False selects the NumPy path: foreach=True asks torch for its
        # multi-tensor implementation, and the fused kernel is ours
        return group.get("fused") is not False

    def _step_group(self, group: Dict[str, Any]) -> None:
        with_grad = [p for p in group["params"] if p._grad is not None]
        if not with_grad:
            return
        keys = self._array_keys(group)
        use_kernel = self._use_kernel(group)
        options = (tuple(keys), use_kernel, bool(group.get("fused")), id(self.state))
        plans = self.__dict__.setdefault("_plans", {})
        plan = plans.get(id(group))
        # the plan holds while the same tensors (with the same arrays) have gradients, the
        # options that shape the state stay, and ``self.state`` is the same dict
        if (plan is None or plan.key != options or len(plan.tensors) != len(with_grad)
                or not all(map(is_, plan.tensors, with_grad))
                or not all(map(is_, plan.datas, [p._data for p in with_grad]))):
            plan = self._make_plan(group, with_grad, keys, options)
            plans[id(group)] = plan
        fn = self._step_fn(use_kernel)
        for batch in plan.batches.values():
            self._run_batch(fn, group, batch)
        for p, fresh in plan.slow:
            self._run_slow(group, p, keys, fresh)
        if plan.one_shot:
            del plans[id(group)]

    def _make_plan(self, group: Dict[str, Any], with_grad: List[Tensor], keys, options) -> _Plan:
        plan = _Plan(options)
        plan.tensors = list(with_grad)
        plan.datas = [p._data for p in with_grad]
        for p in with_grad:
            state = self.state.get(p)
            if state is None:
                state = {}
            fresh = self._init_state(group, p, state)
            if state:  # as torch, a parameter without state (SGD without momentum) gets no entry
                self.state[p] = state
            if fresh:
                plan.one_shot = True
            arr = p._data
            if not _kernel_ready(arr):
                plan.slow.append((p, fresh and self._split_fresh))
                continue
            bkey = (arr.dtype, fresh and self._split_fresh)
            batch = plan.batches.get(bkey)
            if batch is None:
                batch = plan.batches[bkey] = _Batch()
                batch.states = [[] if k is not None else None for k in keys]
                batch.fresh = bkey[1]
            batch.tensors.append(p)
            batch.params.append(arr)
            for lst, k in zip(batch.states, keys):
                if k is not None:
                    lst.append(state[k]._data)
            if self._has_step:
                batch.step_arrays.append(state["step"]._data)
            batch.extras.append(state)
        if self._has_step:
            for batch in plan.batches.values():
                self._share_steps(batch)
        return plan

    @staticmethod
    def _share_steps(batch: _Batch) -> None:
        """Make the batch's ``step`` tensors 0-d views of one array, so one
        in-place add advances them all (instead of one NumPy call each)."""
        arrs = batch.step_arrays
        dtypes = {a.dtype for a in arrs}
        if len(dtypes) != 1:
            return  # mixed float32/float64 counters (an old checkpoint): advanced one by one
        shared = np.array([a[()] for a in arrs], dtype=dtypes.pop())
        for i, state in enumerate(batch.extras):
            view = shared[i, ...]  # 0-d view into shared
            state["step"] = Tensor._make(view)
        batch.step_arrays = [shared]

    @staticmethod
    def _advance_steps(step_arrays: List[np.ndarray]) -> List[int]:
        """Add 1 to the step counters in place; the new counts as ints."""
        steps: List[int] = []
        for a in step_arrays:
            a += 1
            steps += a.astype(np.int64).reshape(-1).tolist()
        return steps

    def _run_batch(self, fn: Callable, group: Dict[str, Any], batch: _Batch) -> None:
        grads = [p._grad._data for p in batch.tensors]
        dtype = batch.params[0].dtype
        if not all(g.dtype == dtype and g.flags.c_contiguous for g in grads):
            grads = [_grad_array(p._grad, dtype) for p in batch.tensors]
        steps = self._advance_steps(batch.step_arrays) if self._has_step else None
        self._call(fn, group, batch.params, grads, batch.states, steps, batch.extras, batch.fresh)
        for p in batch.tensors:
            p._vc[0] += 1

    def _run_slow(self, group: Dict[str, Any], p: Tensor, keys, fresh: bool) -> None:
        """Update one parameter the kernels cannot take, on C-contiguous
        working copies (float16 computes in float32), with the NumPy path."""
        state = self.state[p]
        arr = p._data
        wd = arr.dtype if arr.dtype in KERNEL_DTYPES else np.dtype(np.float32)
        pw = np.array(arr, dtype=wd, order="C")
        gw = np.array(p._grad._data, dtype=wd, order="C")
        sts = [[np.array(state[k]._data, dtype=wd, order="C")] if k is not None else None for k in keys]
        steps = self._advance_steps([state["step"]._data]) if self._has_step else None
        self._call(self._step_fn(False), group, [pw], [gw], sts, steps, [state], fresh)
        arr[...] = pw
        for k, st in zip(keys, sts):
            if k is not None:
                state[k]._data[...] = st[0]
        p._vc[0] += 1
