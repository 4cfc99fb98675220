"""The backward pass: an iterative walk of the graph in dependency order.

1. Walk the graph from the roots (iteratively, so a chain of 100,000 ops is
   fine) and count, for every node, how many edges lead into it.
2. Run nodes whose count reached zero. Each node's incoming gradients are
   summed in a buffer, popped when the node runs, and its saved tensors are
   freed after it ran unless ``retain_graph``.
3. Gradients are reduced to each input's shape and dtype here, in one place,
   so no op undoes broadcasting itself.
"""
from __future__ import annotations

import numpy as np

from . import function as _function
from .function import AccumulateGrad, Function, _FREED_MSG
from .grad_mode import STATE
from . import _hooks


def _tensor():
    return _function._Tensor  # bound by tensor.py, which imports this package first


def sum_to(grad, shape):
    """Sum ``grad`` over the axes that broadcasting added or stretched."""
    gshape = grad._data.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise RuntimeError(f"gradient of shape {list(gshape)} cannot be reduced to shape {list(shape)}")
    axes = list(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and gshape[lead + i] != 1:
            axes.append(lead + i)
        elif n != gshape[lead + i]:
            raise RuntimeError(f"gradient of shape {list(gshape)} is not broadcast-compatible with "
                               f"input shape {list(shape)}")
    out = grad.sum(dim=tuple(axes), keepdim=True) if axes else grad
    return out.reshape(shape) if out._data.shape != shape else out


def _collect(roots):
    """Count incoming edges per node, iteratively; returns (deps, every node reached)."""
    deps: dict = {}
    order: list = []  # each node once, in discovery order
    seen = set()
    stack = list(dict.fromkeys(node for node, _, _ in roots))  # a node may be the root of several outputs
    seen.update(stack)
    order.extend(stack)
    while stack:
        node = stack.pop()
        for edge in node._next:
            if not edge:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                order.append(child)
                stack.append(child)
    return deps, order


def _needed(order, targets):
    """Nodes whose execution leads to a captured gradient (for ``autograd.grad``)."""
    reach = {}
    execute = {}
    # A node's verdict needs its children's, so visit in post-order (children
    # first), computed iteratively: discovery order is not topological.
    post = []
    state = {}
    for root in order:
        if root in state:
            continue
        stack = [(root, iter([e[0] for e in root._next if e]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            child = next(it, None)
            if child is None:
                stack.pop()
                post.append(node)
            elif child not in state:
                state[child] = 1
                stack.append((child, iter([e[0] for e in child._next if e])))
    for node in post:
        ex = any(reach[e[0]] for e in node._next if e)
        execute[node] = ex
        reach[node] = ex or node in targets
    return execute


class DeferredGrad:
    """A gradient that a backward returns uncomputed, so that the engine can
    add it straight into a leaf's existing ``.grad``: a matmul backward hands
    over ``dW = g^T @ x`` and the GEMM writes it with beta=1 into the buffer,
    with no temporary. ``compute(out)`` adds the gradient into the array
    ``out``, or returns it as a new array when ``out`` is None. Wherever the
    value itself is needed (hooks, a second contribution, autograd.grad,
    anomaly mode, create_graph, a non-leaf) the engine just computes it."""

    __slots__ = ("compute", "shape", "dtype")

    def __init__(self, compute, shape, dtype):
        self.compute, self.shape, self.dtype = compute, tuple(shape), np.dtype(dtype)

    def tensor(self):
        return _tensor()._make(self.compute(None))


def _materialize(g):
    return g.tensor() if isinstance(g, DeferredGrad) else g


def _accumulate(variable, grad, create_graph):
    """Add ``grad`` into ``variable.grad`` (a leaf, or a non-leaf that retains grad)."""
    if isinstance(grad, DeferredGrad):
        g = variable._grad
        if g is not None and g._data.shape == grad.shape and g._data.dtype == grad.dtype and \
                g._data.flags.writeable:
            grad.compute(g._data)
            g._vc[0] += 1
            _run_post_hooks(variable)
            return
        if g is None and grad.dtype == variable._data.dtype:
            variable._grad = grad.tensor()  # a fresh array nobody else holds: no copy
            _run_post_hooks(variable)
            return
        grad = grad.tensor()
    if variable._grad is None:
        arr = grad._data
        if create_graph:
            # Keep the graph of the gradient, but give .grad the leaf's own dense layout.
            variable._grad = grad if arr.flags.c_contiguous and arr.flags.writeable else grad.clone()
        else:
            # A copy: the same gradient array may reach several leaves, and
            # in-place updates of one .grad must not leak into another.
            variable._grad = _tensor()._make(np.array(arr, dtype=variable._data.dtype, order="C"))
    elif create_graph:
        variable._grad = variable._grad + grad
    else:
        g = variable._grad
        g._data += grad._data
        g._vc[0] += 1
    _run_post_hooks(variable)


def _run_post_hooks(variable):
    x = variable._x
    if x is not None and x.post_hooks:
        for hook in list(x.post_hooks):
            hook(variable)


def _add_grads(a, b):
    if a is None:
        return b
    a, b = _materialize(a), _materialize(b)
    if STATE.enabled:
        return a + b
    return _tensor()._make(a._data + b._data)


def _check_anomaly(node, i, g):
    d = g._data
    if d.dtype.kind == "f" and not np.isfinite(d).all():
        what = "nan" if np.isnan(d).any() else "inf"
        trace = "".join(getattr(node, "_trace", None) or ["(no forward trace recorded)\n"])
        raise RuntimeError(f"Function '{node.name()}' returned {what} values in its {i}th output.\n"
                           f"Traceback of the forward call that caused the error:\n{trace}")


def _run_hooks(hooks, grad):
    for h in list(hooks):
        r = h(grad)
        if r is not None:
            grad = r
    return grad


def run_backward(roots, retain_graph: bool, create_graph: bool, capture=None):
    """Propagate gradients from ``roots`` = [(node, output_nr, grad_tensor)].

    With ``capture`` (a dict ``(node, output_nr) -> slot``), gradients reaching
    those outputs are returned instead of accumulated into leaves, and only the
    nodes that lead to them run (``autograd.grad``).
    """
    deps, order = _collect(roots)
    execute = _needed(order, {k[0] for k in capture}) if capture is not None else None
    captured = [None] * (len(capture) if capture else 0)
    buffers: dict = {}
    for node, nr, g in roots:
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * max(nr + 1, _num_outputs(node))
        buf[nr] = _add_grads(buf[nr], g)
    ready = [n for n in dict.fromkeys(node for node, _, _ in roots) if deps.get(n, 0) == 0]
    prev_mode = STATE.enabled
    STATE.enabled = create_graph
    prof = _hooks.profiler
    # DeferredGrad may travel to a leaf only when nothing else looks at it
    defer = capture is None and not create_graph and not STATE.anomaly
    errstate = np.errstate(all="ignore")  # nan/inf in gradients is data, not a warning, as in torch
    errstate.__enter__()
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or []
            for nr, g in enumerate(grads):
                if g is not None:
                    hooks = node.hooks_for(nr)
                    if hooks:
                        grads[nr] = _run_hooks(hooks, _materialize(g))
            if capture is not None:
                for nr, g in enumerate(grads):
                    slot = capture.get((node, nr))
                    if slot is not None and g is not None:
                        captured[slot] = _add_grads(captured[slot], g)
            run = execute[node] if execute is not None else True
            if isinstance(node, AccumulateGrad):
                if run and capture is None and grads and grads[0] is not None:
                    _accumulate(node.variable, grads[0], create_graph)
                continue
            results = ()
            if run and any(g is not None for g in grads):
                results = _call_node(node, grads, retain_graph, prof, defer)
            for i, edge in enumerate(node._next):
                if not edge:
                    continue
                child, nr = edge
                g = results[i] if i < len(results) else None
                left = deps[child] - 1
                deps[child] = left
                if isinstance(g, DeferredGrad):
                    if left == 0 and child not in buffers:
                        # the leaf's only gradient: add it now, while the
                        # inputs it is computed from are still as saved
                        _run_leaf(child, g, create_graph)
                        continue
                    g = g.tensor()
                if g is not None:
                    buf = buffers.get(child)
                    if buf is None:
                        buf = buffers[child] = [None] * _num_outputs(child)
                    buf[nr] = _add_grads(buf[nr], g)
                if left == 0:
                    ready.append(child)
    finally:
        STATE.enabled = prev_mode
        errstate.__exit__(None, None, None)
    return captured


def _run_leaf(node: AccumulateGrad, g, create_graph):
    """The AccumulateGrad step for one gradient: tensor hooks, then .grad."""
    hooks = node.hooks_for(0)
    if hooks:
        g = _run_hooks(hooks, _materialize(g))
    _accumulate(node.variable, g, create_graph)


def _num_outputs(node):
    meta = getattr(node, "_out_meta", None)
    return len(meta) if meta else 1


def _call_node(node: Function, grads, retain_graph, prof, defer=False):
    if node._freed:
        raise RuntimeError(_FREED_MSG)
    if node.materialize_grads:
        meta = node._out_meta
        for i, g in enumerate(grads):
            if g is None and meta is not None and meta[i] is not None:
                grads[i] = _tensor()._make(np.zeros(meta[i][0], dtype=meta[i][1]))
    if prof is not None:
        t0 = prof.begin()
    results = type(node).backward(node, *grads)
    if not isinstance(results, tuple):
        results = (results,)
    n_in = len(node._next)
    if len(results) != n_in:
        if len(results) > n_in and all(r is None for r in results[n_in:]):
            results = results[:n_in]
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                               f"(expected {n_in}, got {len(results)})")
    Tensor = _tensor()
    out = []
    for i, (g, meta) in enumerate(zip(results, node._in_meta)):
        if g is None or meta is None:
            out.append(None)
            continue
        if isinstance(g, DeferredGrad):
            edge = node._next[i]
            if defer and edge and isinstance(edge[0], AccumulateGrad) and (g.shape, g.dtype) == meta:
                out.append(g)
                continue
            g = g.tensor()
        if not isinstance(g, Tensor):
            g = Tensor._make(np.asarray(g))
        shape, dt = meta
        if g._data.shape != shape:
            try:
                g = sum_to(g, shape)
            except RuntimeError:
                raise RuntimeError(f"Function {node.name()} returned an invalid gradient at index {i} - got "
                                   f"{list(g.shape)} but expected shape compatible with {list(shape)}") from None
        if g._data.dtype != dt:
            g = g.to(dt)
        if STATE.anomaly:
            _check_anomaly(node, i, g)
        out.append(g)
    if prof is not None:
        prof.end(node.name(), t0)
    if not retain_graph:
        node._release()
    return out


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate gradients of ``tensors`` into the leaves' ``.grad``.

    Example::

        loss = (w * x).sum()
        tinygrad_cn.autograd.backward(loss)   # same as loss.backward()
    """
    Tensor = _tensor()
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    grads = _make_grads(tensors, grad_tensors)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
        res = grad(tensors, inputs, grads, retain_graph=retain_graph, create_graph=create_graph,
                   allow_unused=True)
        for t, g in zip(inputs, res):
            if g is not None:
                _accumulate(t, g, create_graph)
        return
    roots = _roots(tensors, grads)
    run_backward(roots, retain_graph, create_graph)


def _roots(tensors, grads):
    roots = []
    for t, g in zip(tensors, grads):
        if not t._requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        node = t.grad_fn if t.grad_fn is not None else t._accumulator()
        roots.append((node, t._output_nr, g))
    return roots


def _make_grads(outputs, grads):
    Tensor = _tensor()
    if grads is None:
        grads = (None,) * len(outputs)
    elif isinstance(grads, Tensor):
        grads = (grads,)
    grads = tuple(grads)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs" if not grads else
                           f"Mismatch in number of grad_outputs: got {len(grads)}, expected {len(outputs)}")
    out = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        if g is None:
            if t._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            out.append(Tensor._make(np.ones(t._data.shape, dtype=t._data.dtype)))
            continue
        if not isinstance(g, Tensor):
            g = Tensor._make(np.asarray(g, dtype=t._data.dtype))
        if g._data.shape != t._data.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                               f"has a shape of {t.shape}.")
        out.append(g)
    return out


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Return the gradients of ``outputs`` with respect to ``inputs``, without
    touching ``.grad``.

    Example::

        x = tinygrad_cn.tensor(2.0, requires_grad=True)
        (dy,) = tinygrad_cn.autograd.grad(x ** 3, x, create_graph=True)   # 12
        (d2y,) = tinygrad_cn.autograd.grad(dy, x)                          # 12
    """
    Tensor = _tensor()
    if is_grads_batched:
        raise NotImplementedError("is_grads_batched=True is not supported")
    single_in = isinstance(inputs, Tensor)
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if single_in else tuple(inputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    grads = _make_grads(outputs, grad_outputs)
    if retain_graph is None:
        retain_graph = create_graph
    capture = {}
    slots = []
    for t in inputs:
        key = (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accumulator(), 0)
        slots.append(capture.setdefault(key, len(capture)))
    roots = _roots(outputs, grads)
    captured = run_backward(roots, retain_graph, create_graph, capture)
    result = []
    for t, slot in zip(inputs, slots):
        g = captured[slot]
        if g is None:
            if materialize_grads:
                g = Tensor._make(np.zeros_like(t._data))
            elif not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the "
                                   "graph. Set allow_unused=True if this is the desired behavior.")
        elif g._data.dtype != t._data.dtype:
            g = g.to(t.dtype)
        result.append(g)
    return tuple(result)

