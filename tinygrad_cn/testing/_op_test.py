"""One-line op tests: the same lambda checked against torch, finite
differences and second derivatives (chainer's FunctionTestCase, tinygrad's
helper_test_op).

A test file declares specs and parametrizes over them::

    from hypothesis import given, settings, strategies as st
    from tinygrad_cn.testing import OpSpec, check_op
    from tinygrad_cn.testing.strategies import shapes, broadcastable_shapes

    OPS = [
        OpSpec("exp", lambda x: x.exp()),
        OpSpec("log", lambda x: x.log(), domain=dict(positive=True)),
        OpSpec("relu", lambda x: x.relu(), domain=dict(avoid=[0.0]), gradgrad=False),
        OpSpec("add", lambda x, y: x + y, inputs=broadcastable_shapes()),
        OpSpec("sigmoid", lambda lib, x: lib.sigmoid(x)),   # `lib` is tinygrad_cn, or torch for the oracle
    ]

    @pytest.mark.parametrize("spec", OPS, ids=str)
    @settings(deadline=None)
    @given(data=st.data())
    def test_op(spec, data):
        check_op(spec, data.draw)

For one draw of inputs, :func:`check_op` runs, in order:

1. for each dtype in ``spec.dtypes``: the forward value and the gradients
   (for random grad_outputs) against torch when torch is importable, or,
   without torch, the narrower dtypes against this library's own float64
   result;
2. ``gradcheck`` in float64 (when some input requires grad);
3. ``gradgradcheck`` in float64 (when ``spec.gradgrad``).

torch is an optional oracle: it is imported on first use only, and the parts
that need it are skipped when it is missing.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from ._comparison import assert_close

__all__ = ["OpSpec", "check_op", "run_op_checks", "torch_or_none"]

# Tolerances for a narrower dtype against this library's own float64 result
# (used when torch is missing): rounding of inputs and of every intermediate.
_SELF_TOLERANCES = {np.dtype(np.float32): (1e-4, 1e-4), np.dtype(np.float16): (1e-2, 1e-2)}


def torch_or_none():
    """The torch module when it can be imported, else None (looked up once)."""
    global _TORCH
    if _TORCH is _UNSET:
        try:
            import torch
        except ImportError:
            torch = None
        _TORCH = torch
    return _TORCH


_UNSET = object()
_TORCH: Any = _UNSET


@dataclass
class OpSpec:
    """A declarative op test.

    ``fn`` is written against the torch API and receives the inputs; if its
    first parameter is named ``lib`` it also receives the module
    (``tinygrad_cn``, or ``torch`` for the oracle), for module functions like
    ``lib.sigmoid``. ``torch_fn`` replaces ``fn`` on the torch side when the
    two differ.

    ``inputs`` lists one spec per argument, or is one strategy that draws a
    tuple of them (e.g. ``broadcastable_shapes()``). A spec is:

    * a shape tuple, or a strategy drawing one: a float tensor of that shape
      that requires grad, with values drawn by ``float_tensors(**domain)``;
    * a strategy drawing a Tensor (used as drawn, ``requires_grad`` included),
      an ndarray (a constant tensor) or anything else (passed through, e.g.
      an int ``dim``);
    * a concrete Tensor, ndarray or constant.

    Defaults to one input with a shape from ``shapes(max_dims=3, max_side=4)``.
    ``domain`` holds :func:`~tinygrad_cn.testing.strategies.float_tensors`
    options: ``positive``, ``avoid``, ``margin``, ``distinct``,
    ``min_value``, ``max_value``, ``contiguous``; with ``distinct`` the
    values of all shape-given inputs are spread apart jointly, so inputs do
    not tie with each other either.
    """

    name: str
    fn: Callable
    inputs: Any = None
    torch_fn: Optional[Callable] = None
    domain: Dict[str, Any] = field(default_factory=dict)
    gradcheck: bool = True
    gradgrad: bool = True
    dtypes: Sequence[Any] = ("float64", "float32")
    atol: Optional[float] = None
    rtol: Optional[float] = None
    grad_atol: float = 1e-5
    grad_rtol: float = 1e-3
    eps: float = 1e-6
    check_dtype: bool = True

    def __str__(self) -> str:
        return self.name

    def strategy(self):
        """A hypothesis strategy drawing this op's argument tuple."""
        from hypothesis import strategies as st
        return st.composite(lambda draw: draw_inputs(self, draw))()


def _np_dtype(dtype) -> np.dtype:
    np_attr = getattr(dtype, "np", None)
    return np.dtype(np_attr if np_attr is not None else dtype)


# -- drawing inputs ------------------------------------------------------------

def _is_shape(x) -> bool:
    return isinstance(x, tuple) and all(isinstance(s, (int, np.integer)) for s in x)


def _is_strategy(x) -> bool:
    return type(x).__module__.startswith("hypothesis") and hasattr(x, "example")


def draw_inputs(spec: OpSpec, draw) -> tuple:
    """Draw one argument tuple for ``spec`` with hypothesis' ``draw``."""
    from .strategies import distinct_float_tensors, float_tensors, shapes
    specs = spec.inputs
    if specs is None:
        specs = [shapes(max_dims=3, max_side=4)]
    elif _is_strategy(specs):
        specs = draw(specs)
    args = [draw(item) if _is_strategy(item) else item for item in specs]
    shaped = [k for k, item in enumerate(args) if _is_shape(item)]
    if spec.domain.get("distinct") and len(shaped) > 1:
        # Ties between inputs are kinks too (maximum(x, y) at x == y): spread all jointly.
        domain = {k: v for k, v in spec.domain.items() if k != "distinct"}
        tensors = draw(distinct_float_tensors([args[k] for k in shaped], requires_grad=True, **domain))
        for k, t in zip(shaped, tensors):
            args[k] = t
    else:
        for k in shaped:
            args[k] = draw(float_tensors(shape=args[k], requires_grad=True, **spec.domain))
    return tuple(args)


# -- running an op on either library -------------------------------------------

def _takes_lib(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] == "lib"


def _call(fn: Callable, lib, args: Sequence) -> Any:
    return fn(lib, *args) if _takes_lib(fn) else fn(*args)


def _as_list(out) -> list:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _is_ours(x) -> bool:
    from ..tensor import Tensor
    return isinstance(x, Tensor)


def _prepare_ours(args: Sequence, dtype: np.dtype) -> list:
    """Fresh leaf tensors of ``dtype`` (float inputs only); float64 keeps the drawn layout."""
    from ..tensor import Tensor
    res = []
    for a in args:
        if isinstance(a, np.ndarray):
            a = Tensor._make(np.array(a))
        if _is_ours(a):
            arr = a._data
            if arr.dtype.kind == "f" and arr.dtype != dtype:
                arr = arr.astype(dtype)
            t = Tensor._make(arr)  # shares the drawn array: gradcheck restores what it perturbs
            if a.requires_grad and arr.dtype.kind == "f":
                t.requires_grad_(True)
            a = t
        res.append(a)
    return res


def _to_torch(args: Sequence, torch) -> list:
    res = []
    for a in args:
        if _is_ours(a):
            t = torch.from_numpy(np.array(a._data, order="C"))
            a = t.requires_grad_(a.requires_grad)
        elif isinstance(a, np.ndarray):
            a = torch.from_numpy(np.array(a, order="C"))
        res.append(a)
    return res


def _diff_inputs(args: Sequence) -> list:
    return [a for a in args if getattr(a, "requires_grad", False)]


def _diff_outputs(outs: Sequence) -> list:
    return [k for k, o in enumerate(outs) if getattr(o, "requires_grad", False)]


def _grads(lib, outs: list, out_idx: list, inputs: list, grad_outputs: list) -> list:
    """Gradients of the selected outputs wrt ``inputs``; None (unused) becomes zeros."""
    if not out_idx or not inputs:
        return []
    if lib.__name__ == "torch":
        gouts = [lib.from_numpy(g).to(outs[k].dtype) for g, k in zip(grad_outputs, out_idx)]
    else:
        gouts = [lib.Tensor._make(g) for g in grad_outputs]
    grads = lib.autograd.grad([outs[k] for k in out_idx], inputs, gouts, allow_unused=True)
    return [np.zeros(tuple(i.shape)) if g is None else g for g, i in zip(grads, inputs)]


def _random_grad_outputs(outs: list, out_idx: list, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    res = []
    for k in out_idx:
        arr = np.asarray(outs[k]._data) if _is_ours(outs[k]) else outs[k].detach().numpy()
        res.append(rng.uniform(-1.0, 1.0, size=arr.shape).astype(arr.dtype))
    return res


# -- the checks ----------------------------------------------------------------

def _prefixed(prefix: str):
    return lambda m: f"{prefix}\n\n{m}"


def _check_against_torch(name, fn, torch_fn, args, dtype, torch, atol, rtol, check_dtype) -> None:
    import tinygrad_cn as tg
    ours_in = _prepare_ours(args, dtype)
    with tg.enable_grad():
        ours = _as_list(_call(fn, tg, ours_in))
    theirs_in = _to_torch(ours_in, torch)
    with torch.enable_grad():
        theirs = _as_list(_call(torch_fn or fn, torch, theirs_in))
    assert len(ours) == len(theirs), f"{name} ({dtype}): {len(ours)} outputs, torch gives {len(theirs)}"
    for k, (o, t) in enumerate(zip(ours, theirs)):
        assert_close(o, t, atol=atol, rtol=rtol, check_dtype=check_dtype,
                     msg=_prefixed(f"{name} ({dtype}): output {k} differs from torch's"))
    ours_idx, theirs_idx = _diff_outputs(ours), _diff_outputs(theirs)
    assert ours_idx == theirs_idx, (f"{name} ({dtype}): outputs {ours_idx} require grad, torch's {theirs_idx}")
    g_out = _random_grad_outputs(ours, ours_idx)
    ours_g = _grads(tg, ours, ours_idx, _diff_inputs(ours_in), g_out)
    theirs_g = _grads(torch, theirs, theirs_idx, _diff_inputs(theirs_in), g_out)
    for k, (o, t) in enumerate(zip(ours_g, theirs_g)):
        assert_close(o, t, atol=atol, rtol=rtol, check_dtype=False,
                     msg=_prefixed(f"{name} ({dtype}): gradient of differentiable input {k} differs from torch's"))


def _check_against_float64(name, fn, args, dtype, atol, rtol) -> None:
    """Without torch: a narrower dtype must agree with our own float64 result."""
    import tinygrad_cn as tg
    if atol is None:
        rtol, atol = _SELF_TOLERANCES.get(dtype, (1e-7, 1e-7))
    ref_in, low_in = _prepare_ours(args, np.dtype(np.float64)), _prepare_ours(args, dtype)
    with tg.enable_grad():
        ref, low = _as_list(_call(fn, tg, ref_in)), _as_list(_call(fn, tg, low_in))
    assert len(ref) == len(low), f"{name}: {len(low)} outputs in {dtype}, {len(ref)} in float64"
    for k, (r, l) in enumerate(zip(ref, low)):
        if _is_ours(l) and _is_ours(r) and r._data.dtype == np.float64:
            # What float64 inputs make float64 (not a fixed dtype), narrower inputs make narrower.
            assert l._data.dtype == dtype, f"{name}: output {k} is {l._data.dtype} for {dtype} inputs"
        assert_close(l, r, atol=atol, rtol=rtol, check_dtype=False,
                     msg=_prefixed(f"{name}: output {k} in {dtype} differs from the float64 result"))
    ref_idx, low_idx = _diff_outputs(ref), _diff_outputs(low)
    g_out = _random_grad_outputs(ref, ref_idx)
    ref_g = _grads(tg, ref, ref_idx, _diff_inputs(ref_in), g_out)
    low_g = _grads(tg, low, low_idx, _diff_inputs(low_in), [g.astype(dtype) for g in g_out])
    for k, (l, r) in enumerate(zip(low_g, ref_g)):
        assert_close(l, r, atol=atol, rtol=rtol, check_dtype=False,
                     msg=_prefixed(f"{name}: gradient of input {k} in {dtype} differs from the float64 one"))


def run_op_checks(fn: Callable, args: Sequence, *, name: Optional[str] = None, torch_fn: Optional[Callable] = None,
                  gradcheck: bool = True, gradgrad: bool = True, dtypes: Sequence[Any] = ("float64", "float32"),
                  atol: Optional[float] = None, rtol: Optional[float] = None, grad_atol: float = 1e-5,
                  grad_rtol: float = 1e-3, eps: float = 1e-6, check_dtype: bool = True, oracle: bool = True) -> None:
    """Run the op checks of :func:`check_op` on concrete inputs ``args``.

    Example::

        >>> x = tinygrad_cn.randn(3, 4, dtype=tinygrad_cn.float64, requires_grad=True)
        >>> run_op_checks(lambda t: t.tanh(), (x,))
    """
    from ..autograd.gradcheck import gradcheck as _gradcheck, gradgradcheck as _gradgradcheck
    name = name or getattr(fn, "__name__", "op")
    torch = torch_or_none() if oracle else None
    for d in dtypes:
        dtype = _np_dtype(d)
        if torch is not None:
            _check_against_torch(name, fn, torch_fn, args, dtype, torch, atol, rtol, check_dtype)
        elif dtype != np.float64:
            _check_against_float64(name, fn, args, dtype, atol, rtol)
    inputs64 = _prepare_ours(args, np.dtype(np.float64))
    if not _diff_inputs(inputs64):
        return
    call = _bind(fn)
    if gradcheck:
        _gradcheck(call, tuple(inputs64), eps=eps, atol=grad_atol, rtol=grad_rtol)
    if gradgrad:
        _gradgradcheck(call, tuple(inputs64), eps=eps, atol=grad_atol, rtol=grad_rtol)


def _bind(fn: Callable) -> Callable:
    import tinygrad_cn as tg
    if _takes_lib(fn):
        return lambda *args: fn(tg, *args)
    return fn


def check_op(spec, *args, **kwargs) -> None:
    """Check an op: ``check_op(spec, draw)`` or ``check_op(fn, *inputs, **options)``.

    With an :class:`OpSpec` and hypothesis' ``draw`` (from ``st.data()``),
    draws the inputs and runs :func:`run_op_checks` with the spec's options.
    With a function and concrete inputs, it is :func:`run_op_checks`.

    Example::

        @given(data=st.data())
        def test_tanh(data):
            check_op(OpSpec("tanh", lambda x: x.tanh()), data.draw)

        check_op(lambda x, y: x * y, x, y, gradgrad=False)
    """
    if not isinstance(spec, OpSpec):
        return run_op_checks(spec, args, **kwargs)
    (draw,) = args
    inputs = draw_inputs(spec, draw)
    run_op_checks(spec.fn, inputs, name=spec.name, torch_fn=spec.torch_fn, gradcheck=spec.gradcheck,
                  gradgrad=spec.gradgrad, dtypes=spec.dtypes, atol=spec.atol, rtol=spec.rtol,
                  grad_atol=spec.grad_atol, grad_rtol=spec.grad_rtol, eps=spec.eps, check_dtype=spec.check_dtype,
                  **kwargs)
