"""Graph nodes and ``autograd.Function``, as in torch.

A Function *instance* is both the ``ctx`` its forward and backward see and the
node of the graph (``tensor.grad_fn``). Edges point from a node to the nodes
that produced its inputs: ``(node, output_nr)`` or None where no gradient flows.
Leaves that require grad are reached through an ``AccumulateGrad`` node.
"""
from __future__ import annotations

import traceback
import weakref

import numpy as np

from .grad_mode import STATE
from . import _hooks
_Tensor = None  # tinygrad_cn.tensor.Tensor, bound by tensor.py once the class exists (see bind_tensor)


def bind_tensor(cls) -> None:
    global _Tensor
    _Tensor = cls

_new = object.__new__


class Node:
    """A node of the backward graph."""

    __slots__ = ()

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self):
        """One ``(node, output_nr)`` per tensor input, ``(None, 0)`` where no gradient flows."""
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self._next if e != ())

    def hooks_for(self, output_nr: int):
        hooks = self._pre_hooks
        return hooks.get(output_nr) if hooks else None

    def register_prehook(self, output_nr: int, fn) -> "RemovableHandle":
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(output_nr, [])
        if lst and getattr(lst[-1], "retains_grad", False) and not getattr(fn, "retains_grad", False):
            lst.insert(len(lst) - 1, fn)  # retain_grad sees the gradient after every other hook, as in torch
        else:
            lst.append(fn)
        return RemovableHandle(lst, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    __slots__ = ("_list", "_fn")

    def __init__(self, lst, fn):
        self._list, self._fn = lst, fn

    def remove(self) -> None:
        if self._fn in self._list:
            self._list.remove(self._fn)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class AccumulateGrad(Node):
    """The node through which gradient reaches a leaf tensor's ``.grad``.

    The node holds the leaf and the leaf refers to the node weakly, so there is
    no reference cycle and the node lives exactly as long as a graph uses it."""

    __slots__ = ("variable", "_next", "_pre_hooks", "__weakref__")

    def __init__(self, variable):
        self.variable = variable
        self._next = ()
        self._pre_hooks = None

    def hooks_for(self, output_nr: int):
        return self.variable._hooks


_FREED_MSG = ("Trying to backward through the graph a second time (or directly access saved tensors after "
              "they have already been freed). Saved intermediate values of the graph are freed when you call "
              ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
              "graph a second time or if you need to access saved tensors after calling backward.")


class SavedTensor:
    """A tensor saved for backward and the version it had when saved.

    An output of the node is saved as its array only (holding the output tensor
    would make a reference cycle output -> grad_fn -> output); unpacking rebuilds
    a tensor whose ``grad_fn`` is the node, so double backward flows through it.
    """

    __slots__ = ("tensor", "data", "vc", "version", "output_nr")

    def __init__(self, t, is_output_nr):
        self.vc = t._vc
        self.version = t._vc[0]
        if is_output_nr is None:
            self.tensor, self.data, self.output_nr = t, None, None
        else:
            self.tensor, self.data, self.output_nr = None, t._data, is_output_nr

    def unpack(self, node):
        if self.vc[0] != self.version:
            from ..tensor import _LEGACY_NAMES  # an error path; tensor.py imports this module
            arr = self.tensor._data if self.tensor is not None else self.data
            what = (f"output {self.output_nr} of {node.name()}" if self.tensor is None
                    else f"an input of {node.name()}")
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{_LEGACY_NAMES[arr.dtype]} {list(arr.shape)}], which is {what}, "
                f"is at version {self.vc[0]}; expected version {self.version} instead. Hint: enable anomaly "
                "detection to find the operation that failed to compute its gradient.")
        if self.tensor is not None:
            return self.tensor
        t = _Tensor._make(self.data)
        t._vc = self.vc
        t.grad_fn, t._output_nr, t._requires_grad = node, self.output_nr, True
        return t


class FunctionMeta(type):
    """Names graph nodes as torch does and gives each Function a node class.

    ``tensor.grad_fn`` is an instance of ``<Name>Backward0`` (the library's ops)
    or ``<Name>Backward`` (user Functions), a subclass of the Function itself,
    so ``type(y.grad_fn).__name__`` reads as in torch."""

    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        if ns.get("_is_node_class"):
            return
        builtin = cls.__module__.startswith("tinygrad_cn.")
        node_name = ns.get("node_name") or (
            name if name.endswith("Backward") else name + ("Backward0" if builtin else "Backward"))
        cls._node_name = node_name
        cls._node_cls = FunctionMeta(node_name, (cls,), {"_is_node_class": True, "__module__": cls.__module__,
                                                         "__qualname__": node_name})
        overrides = "setup_context" in ns and any(isinstance(b, FunctionMeta) for b in bases)
        cls._custom_setup = overrides or any(getattr(b, "_custom_setup", False) for b in bases)


class Function(Node, metaclass=FunctionMeta):
    """Base class for differentiable operations, as ``torch.autograd.Function``.

    Example::

        class Exp(Function):
            @staticmethod
            def forward(ctx, x):
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad):
                (y,) = ctx.saved_tensors
                return grad * y

        y = Exp.apply(x)

    ``forward`` runs with grad recording off and may return Tensors or NumPy
    arrays (the library's own ops return arrays: it saves a wrap). ``backward``
    receives and returns Tensors, built from differentiable ops so that
    ``create_graph=True`` records it for higher-order gradients.
    """

    # Defaults live on the class; a node's own __dict__ holds only what it set.
    _pre_hooks = _saved = _to_save = _non_diff = _out_meta = _trace = _dirty = None
    _freed = False
    materialize_grads = True

    def name(self) -> str:
        return self._node_name

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    # -- ctx API -------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            if self._freed:
                raise RuntimeError(_FREED_MSG)
            return tuple(self._to_save) if self._to_save else ()
        return tuple(s.unpack(self) if s is not None else None for s in saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = tensors

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward modified in place: they are returned as
        themselves and move to this node in the graph."""
        for t in tensors:
            if t.grad_fn is None and t._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    # -- recording -----------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        # The hot path of every op: kept flat, since each call and lookup here costs
        # a measurable share of a small op (see benchmarks/overhead.py).
        ctx = _new(cls._node_cls)
        if len(args) == 2:
            a0, a1 = args
            needs = (isinstance(a0, _Tensor) and a0._requires_grad, isinstance(a1, _Tensor) and a1._requires_grad)
        else:
            needs = tuple([isinstance(a, _Tensor) and a._requires_grad for a in args])
        ctx.needs_input_grad = needs
        state = STATE
        record = state.enabled and True in needs
        prof = _hooks.profiler
        if prof is not None:
            t0 = prof.begin()
        if record:
            state.enabled = False  # forward is not itself recorded
            try:
                out = cls._run_forward(ctx, args, kwargs) if cls._custom_setup else cls.forward(ctx, *args, **kwargs)
            finally:
                state.enabled = True
        elif cls._custom_setup:
            out = cls._run_forward(ctx, args, kwargs)
        else:
            out = cls.forward(ctx, *args, **kwargs)
        if type(out) is not np.ndarray and isinstance(out, np.generic):  # NumPy collapses 0-d results
            out = np.asarray(out)
        if type(out) is np.ndarray:
            # The library's own ops return one array: wrap it here, without the general path.
            t = _new(_Tensor)
            t._data = out
            t._grad = t._x = None
            t._vc = [0]
            t.grad_fn = None
            t._output_nr = 0
            t._requires_grad = False
            if state.inference:
                t._extras.inference = True
        elif type(out) is _Tensor and out.grad_fn is None and out._x is None and ctx._dirty is None \
                and not any(out is a for a in args):
            t = out  # a fresh tensor the forward made itself (ops that save their output)
        else:
            single = not isinstance(out, tuple)
            outs = tuple(_as_output(o, args, ctx._dirty) for o in ((out,) if single else out))
            if record:
                _record(ctx, args, needs, outs)
            if prof is not None:
                prof.end(cls.__name__, t0)
            return outs[0] if single else outs
        if record and t._data.dtype.kind == "f" and ctx._non_diff is None:
            t.grad_fn = ctx
            t._requires_grad = True
            _link(ctx, args, needs)
            if ctx._to_save:
                ctx._saved = tuple([_pack(s, (t,)) for s in ctx._to_save])
                ctx._to_save = None
            if state.anomaly:
                ctx._trace = traceback.format_stack()[:-1]
        if prof is not None:
            prof.end(cls.__name__, t0)
        return t

    @classmethod
    def _run_forward(cls, ctx, args, kwargs):
        if cls._custom_setup:  # torch 2 style: forward without ctx, then setup_context
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
            return out
        return cls.forward(ctx, *args, **kwargs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """torch 2 style: override together with a ctx-less ``forward``."""

    # -- after backward ------------------------------------------------------
    def _release(self) -> None:
        """Free the tensors and arrays backward needed, unless the graph is retained.

        A node that kept only sizes and scalars stays usable, as in torch, so a
        second backward through it works."""
        d = self.__dict__
        saved = self._saved
        heavy = [k for k, v in d.items() if k not in _ENGINE_FIELDS and _holds_data(v)]
        if heavy or (saved is not None and any(s is not None for s in saved)):
            for k in heavy:
                del d[k]
            self._saved = None
            self._freed = True


_ENGINE_FIELDS = frozenset(("_next", "_in_meta", "needs_input_grad", "_saved", "_out_meta", "_pre_hooks",
                            "_trace", "_non_diff", "_to_save"))


def _holds_data(v) -> bool:
    Tensor = _Tensor
    if isinstance(v, (Tensor, np.ndarray)):
        return True
    return isinstance(v, (tuple, list)) and any(isinstance(e, (Tensor, np.ndarray)) for e in v)


def _link(ctx, args, needs) -> None:
    """Edges to the nodes that made the inputs, and the inputs' shapes and
    dtypes, which the engine reduces each gradient to."""
    nxt = []
    meta = []
    for a, n in zip(args, needs):
        if n:
            fn = a.grad_fn
            nxt.append((fn, a._output_nr) if fn is not None else (a._accumulator(), 0))
            d = a._data
            meta.append((d.shape, d.dtype))
        else:
            nxt.append(None if isinstance(a, _Tensor) else ())  # () marks a non-tensor argument
            meta.append(None)
    ctx._next = nxt
    ctx._in_meta = meta


def _record(ctx, args, needs, outs) -> None:
    """Link a node into the graph: edges to its inputs, its outputs' grad_fn."""
    _link(ctx, args, needs)
    non_diff = ctx._non_diff
    nr = 0
    Tensor = _Tensor
    for o in outs:
        if isinstance(o, Tensor) and o._data.dtype.kind == "f" and not (non_diff and any(o is t for t in non_diff)):
            o.grad_fn = ctx
            o._output_nr = nr
            o._requires_grad = True
        nr += 1
    if nr > 1:
        ctx._out_meta = tuple((o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outs)
    if ctx._to_save:
        ctx._saved = tuple([_pack(t, outs) for t in ctx._to_save])
        ctx._to_save = None
    if STATE.anomaly:
        ctx._trace = traceback.format_stack()[:-2]


def _as_output(o, inputs, dirty):
    Tensor = _Tensor
    if isinstance(o, (np.ndarray, np.generic)):
        return Tensor._make(np.asarray(o))
    if isinstance(o, Tensor):
        if dirty and any(o is d for d in dirty):
            return o  # modified in place: the same tensor, re-pointed to this node by _record
        if o.grad_fn is not None or any(o is a for a in inputs):
            # An input or an already-recorded tensor returned as-is: alias it so the
            # new node does not overwrite another node's edge.
            t = Tensor._make(o._data)
            t._vc = o._vc
            return t
        return o
    return o  # non-tensor outputs are returned unchanged, as in torch


def _edge(t):
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    return (t._accumulator(), 0)


def _pack(t, outs):
    if t is None:
        return None
    for i, o in enumerate(outs):
        if o is t:
            return SavedTensor(t, i) if t.grad_fn is not None else SavedTensor(t, None)
    return SavedTensor(t, None)


def once_differentiable(fn):
    """Decorator for backward functions that are not themselves differentiable."""
    def wrapper(ctx, *grads):
        from .grad_mode import no_grad
        with no_grad():
            return fn(ctx, *grads)
    return wrapper
