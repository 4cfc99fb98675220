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


class Node:
    """A node of the backward graph."""

    __slots__ = ("_next", "_pre_hooks", "__weakref__")

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self):
        return tuple((e[0], e[1]) if e is not None else (None, 0) for e in self._next)

    def hooks_for(self, output_nr: int):
        hooks = self._pre_hooks
        return hooks.get(output_nr) if hooks else None

    def register_prehook(self, output_nr: int, fn) -> "RemovableHandle":
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(output_nr, [])
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
    """The node through which gradient reaches a leaf tensor's ``.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable
        self._next = ()
        self._pre_hooks = None

    def hooks_for(self, output_nr: int):
        return self.variable._hooks


class _FreedError(RuntimeError):
    pass


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
            t = self.tensor
            shape = list(t.shape) if t is not None else list(self.data.shape)
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an inplace "
                f"operation: [{shape}], which is {'output ' + str(self.output_nr) + ' of ' + node.name() if t is None else 'an input of ' + node.name()}, "
                f"is at version {self.vc[0]}; expected version {self.version} instead. Hint: enable anomaly "
                "detection to find the operation that failed to compute its gradient.")
        if self.tensor is not None:
            return self.tensor
        from ..tensor import Tensor
        t = Tensor._make(self.data)
        t._vc = self.vc
        t.grad_fn, t._output_nr, t._requires_grad = node, self.output_nr, True
        return t


class FunctionMeta(type):
    """Gives each Function subclass a torch-style node name (``MulBackward0``)."""

    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        cls._node_name = name + "Backward0" if not name.endswith("Backward") else name


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

    __slots__ = ("_saved", "_to_save", "needs_input_grad", "_in_meta", "_out_meta",
                 "_freed", "_trace", "_non_diff", "materialize_grads", "__dict__")

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

    def mark_dirty(self, *tensors) -> None:  # accepted for torch compatibility
        pass

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    # -- recording -----------------------------------------------------------
    @classmethod
    def apply(cls, *args, **kwargs):
        from ..tensor import Tensor
        ctx = cls.__new__(cls)
        ctx._pre_hooks = ctx._saved = ctx._to_save = ctx._non_diff = None
        ctx._freed = False
        ctx.materialize_grads = True
        record = False
        if STATE.enabled:
            needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
            record = True in needs
        else:
            needs = (False,) * len(args)
        ctx.needs_input_grad = needs
        prof = _hooks.profiler
        if prof is not None:
            t0 = prof.clock()
        if record:
            STATE.enabled = False
            try:
                out = cls.forward(ctx, *args, **kwargs)
            finally:
                STATE.enabled = True
        else:
            out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        outs = tuple(_as_output(o, args) for o in outs)
        if record:
            ctx._next = tuple([_edge(a) if n else None for a, n in zip(args, needs)])
            ctx._in_meta = tuple([(a._data.shape, a._data.dtype) if n else None for a, n in zip(args, needs)])
            non_diff = ctx._non_diff
            for i, o in enumerate(outs):
                if o is not None and o._data.dtype.kind == "f" and not (non_diff and any(o is t for t in non_diff)):
                    o.grad_fn, o._output_nr, o._requires_grad = ctx, i, True
            if len(outs) > 1:
                ctx._out_meta = tuple((o._data.shape, o._data.dtype) if o is not None else None for o in outs)
            else:
                ctx._out_meta = None
            if ctx._to_save:
                ctx._saved = tuple(_pack(t, outs) for t in ctx._to_save)
                ctx._to_save = None
            ctx._trace = traceback.format_stack()[:-1] if STATE.anomaly else None
        if prof is not None:
            prof.record(cls.__name__, prof.clock() - t0, outs)
        return outs[0] if single else outs

    # -- after backward ------------------------------------------------------
    def _release(self) -> None:
        """Free the tensors and arrays backward needed, unless the graph is retained.

        A node that kept only sizes and scalars stays usable, as in torch, so a
        second backward through it works."""
        saved, d = self._saved, self.__dict__
        heavy = saved is not None and any(s is not None for s in saved)
        if not heavy and d:
            heavy = any(_holds_data(v) for v in d.values())
        if heavy:
            self._saved = None
            d.clear()
            self._freed = True


def _holds_data(v) -> bool:
    from ..tensor import Tensor
    if isinstance(v, (Tensor, np.ndarray)):
        return True
    return isinstance(v, (tuple, list)) and any(isinstance(e, (Tensor, np.ndarray)) for e in v)


def _as_output(o, inputs):
    from ..tensor import Tensor
    if o is None:
        return None
    if isinstance(o, np.ndarray):
        return Tensor._make(o)
    if isinstance(o, Tensor):
        if o.grad_fn is not None or any(o is a for a in inputs):
            # An input or an already-recorded tensor returned as-is: alias it so the
            # new node does not overwrite another node's edge.
            t = Tensor._make(o._data)
            t._vc = o._vc
            return t
        return o
    return Tensor._make(np.asarray(o))


def _edge(t):
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
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
