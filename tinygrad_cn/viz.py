"""See the graph behind a tensor: Graphviz DOT text of its backward graph.

:func:`draw_graph` walks ``tensor.grad_fn`` and its ``next_functions`` (the
same edges ``backward()`` follows) and describes every node: the op (the
``grad_fn`` class name, as in torch), the shape of what it produced, the leaf
tensors that require grad (named from ``params`` when given) and, after a
backward pass, their gradients' norms. :func:`make_dot` is the same with
torchviz's name and signature.

The DOT text needs nothing else. Rendering it to SVG or PNG uses the
``graphviz`` Python package and Graphviz's ``dot`` program when both are
installed (``pip install graphviz`` and ``apt install graphviz``); without
them :meth:`Digraph.render` raises a RuntimeError that says what is missing,
and the text can still be pasted into any DOT viewer.

Example::

    >>> import tinygrad_cn as torch
    >>> from tinygrad_cn.viz import draw_graph
    >>> w = torch.ones(3, requires_grad=True)
    >>> loss = (w * 2).sum()
    >>> dot = draw_graph(loss, params={"w": w})
    >>> "SumBackward0" in dot.source and "MulBackward0" in dot.source
    True
"""
from __future__ import annotations

import os
import shutil
from typing import Dict, List, Mapping, Optional, Tuple

import numpy as np

from .autograd.function import AccumulateGrad

__all__ = ["Digraph", "draw_graph", "make_dot"]

_NODE_STYLE = {
    "op": 'shape=box, style=filled, fillcolor="lightgrey"',
    "leaf": 'shape=box, style=filled, fillcolor="lightblue"',
    "output": 'shape=box, style=filled, fillcolor="darkolivegreen1"',
}


class Digraph:
    """DOT text of a graph, renderable when Graphviz is installed.

    ``str(d)`` and ``d.source`` give the text; ``d.render(path, format="png")``
    writes ``path + ".png"`` through Graphviz (as ``graphviz.Digraph.render``)
    and returns the written file's path.

    Example::

        >>> d = Digraph(["a [label=x]"], ["a -> b"])
        >>> d.source.splitlines()[0]
        'digraph {'
    """

    def __init__(self, nodes: List[str], edges: List[str]):
        self.nodes = nodes
        self.edges = edges

    @property
    def source(self) -> str:
        lines = ["digraph {", '\tgraph [rankdir=BT, fontname="monospace"]',
                 '\tnode [fontname="monospace", fontsize=10]']
        lines += ["\t" + n for n in self.nodes] + ["\t" + e for e in self.edges] + ["}"]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.source

    def _repr_svg_(self) -> Optional[str]:  # Jupyter shows the picture when Graphviz is there
        try:
            return self.pipe(format="svg").decode()
        except RuntimeError:
            return None

    def pipe(self, format: str = "svg") -> bytes:
        """The rendered image as bytes; RuntimeError when Graphviz is missing."""
        return _graphviz_source(self.source).pipe(format=format)

    def render(self, filename: str, format: str = "png", cleanup: bool = True) -> str:
        """Render to ``filename + "." + format`` with Graphviz and return that path."""
        src = _graphviz_source(self.source)
        directory, name = os.path.split(os.path.abspath(filename))
        return src.render(filename=name, directory=directory, format=format, cleanup=cleanup)

    def save(self, filename: str) -> str:
        """Write the DOT text itself to ``filename`` (no Graphviz needed) and return the path."""
        with open(filename, "w", encoding="utf-8") as f:
            f.write(self.source)
        return filename


def _graphviz_source(text: str):
    """A ``graphviz.Source``, or a RuntimeError saying which half of Graphviz is missing."""
    try:
        import graphviz
    except ImportError:
        raise RuntimeError("rendering the graph needs the graphviz Python package and the Graphviz 'dot' "
                           "program: pip install graphviz, and apt install graphviz (or brew install "
                           "graphviz); the DOT text is in .source meanwhile") from None
    if shutil.which("dot") is None:
        raise RuntimeError("the Graphviz 'dot' program is not on PATH: apt install graphviz (or brew "
                           "install graphviz); the DOT text is in .source meanwhile")
    return graphviz.Source(text)


def _shape(shape) -> str:
    return str(tuple(int(s) for s in shape))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _grad_text(grad) -> str:
    """A gradient's value when it is small enough to read, otherwise its norm."""
    arr = np.asarray(grad.detach().numpy(), dtype=np.float64)
    if arr.size <= 4:
        return "grad " + np.array2string(arr.ravel(), precision=4, separator=", ")
    return f"|grad| {np.linalg.norm(arr):.4g}"


def _leaf_label(tensor, names: Mapping[int, str], show_grads: bool) -> str:
    lines = []
    name = names.get(id(tensor))
    if name:
        lines.append(name)
    lines.append(_shape(tensor.shape))
    if show_grads and tensor.grad is not None:
        lines.append(_grad_text(tensor.grad))
    return "\n".join(lines)


def _walk(root) -> Tuple[List, Dict[int, Tuple]]:
    """Every node reachable from ``root`` (iteratively, so deep graphs are fine) and
    the shape each produced, read off the input metadata of the node that consumed it."""
    order, seen, shapes = [], {id(root)}, {}
    stack = [root]
    while stack:
        node = stack.pop()
        order.append(node)
        if isinstance(node, AccumulateGrad):
            continue
        metas = getattr(node, "_in_meta", None) or ()
        for i, (child, _) in enumerate(node.next_functions):
            if child is None:
                continue
            if i < len(metas) and metas[i] is not None:
                shapes.setdefault(id(child), metas[i][0])
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return order, shapes


def draw_graph(tensor, params: Optional[Mapping[str, object]] = None, show_grads: bool = True) -> Digraph:
    """The backward graph behind ``tensor`` as a :class:`Digraph` (DOT text, renderable).

    Ops are boxes named by their ``grad_fn`` class (``MmBackward0``...) with the
    shape they produced; leaves that require grad are blue, labelled with their
    name in ``params`` (for example ``dict(model.named_parameters())``), their shape
    and, when ``show_grads`` and a backward pass has filled ``.grad``, the gradient
    (its values when it has at most 4 elements, otherwise its norm). The output is
    green. A tensor without ``grad_fn`` gives a graph of one node.

    Example::

        >>> import tinygrad_cn as torch
        >>> lin = torch.nn.Linear(3, 1)
        >>> y = lin(torch.randn(2, 3)).sum()
        >>> y.backward()
        >>> dot = draw_graph(y, params=dict(lin.named_parameters()))
        >>> "weight" in dot.source and "|grad|" not in dot.source  # 3 values: printed, not normed
        True
    """
    names = {id(p): n for n, p in (params or {}).items()}
    root = tensor.grad_fn
    out_label = f"output\n{_shape(tensor.shape)}"
    if root is None:
        text = _leaf_label(tensor, names, show_grads) if tensor.requires_grad else out_label
        return Digraph([f"out [label={_quote(text)}, {_NODE_STYLE['output']}]"], [])
    order, shapes = _walk(root)
    shapes[id(root)] = tuple(tensor.shape)
    ids = {id(n): f"n{i}" for i, n in enumerate(order)}
    nodes, edges = [], []
    for node in order:
        nid = ids[id(node)]
        if isinstance(node, AccumulateGrad):
            label, style = _leaf_label(node.variable, names, show_grads), _NODE_STYLE["leaf"]
        else:
            shape = shapes.get(id(node))
            label = node.name() + ("\n" + _shape(shape) if shape is not None else "")
            style = _NODE_STYLE["op"]
            for child, _ in node.next_functions:
                if child is not None:
                    edges.append(f"{ids[id(child)]} -> {nid}")
        nodes.append(f"{nid} [label={_quote(label)}, {style}]")
    nodes.append(f"out [label={_quote(out_label)}, {_NODE_STYLE['output']}]")
    edges.append(f"{ids[id(root)]} -> out")
    return Digraph(nodes, edges)


def make_dot(var, params: Optional[Mapping[str, object]] = None, show_attrs: bool = False,
             show_saved: bool = False, max_attr_chars: int = 50) -> Digraph:
    """torchviz's ``make_dot(var, params=None)``: :func:`draw_graph` with gradients shown.

    ``show_attrs``, ``show_saved`` and ``max_attr_chars`` are accepted for
    torchviz compatibility and ignored (our nodes keep no named attributes).

    Example::

        >>> import tinygrad_cn as torch
        >>> x = torch.randn(2, requires_grad=True)
        >>> "ExpBackward0" in make_dot(x.exp().sum(), params={"x": x}).source
        True
    """
    return draw_graph(var, params=params, show_grads=True)
