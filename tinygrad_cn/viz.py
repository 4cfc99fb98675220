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

    ``nodes`` are ``(id, label, kind)`` with kind ``"op"``, ``"leaf"`` or
    ``"output"``; ``edges`` are ``(from_id, to_id)`` in the direction the forward
    pass ran. ``str(d)`` and ``d.source`` give the DOT text;
    ``d.render(path, format="png")`` writes ``path + ".png"`` through Graphviz (as
    ``graphviz.Digraph.render``) and returns the written file's path;
    ``d.plot()`` draws it with matplotlib instead, needing no Graphviz.

    Example::

        >>> d = Digraph([("a", "x", "leaf"), ("b", "ExpBackward0", "op")], [("a", "b")])
        >>> "a -> b" in d.source and sorted(d.layers().items())
        [('a', 1), ('b', 0)]
    """

    def __init__(self, nodes: List[Tuple[str, str, str]], edges: List[Tuple[str, str]]):
        self.nodes = nodes
        self.edges = edges

    @property
    def source(self) -> str:
        lines = ["digraph {", '\tgraph [rankdir=BT, fontname="monospace"]',
                 '\tnode [fontname="monospace", fontsize=10]']
        lines += [f"\t{nid} [label={_quote(label)}, {_NODE_STYLE[kind]}]" for nid, label, kind in self.nodes]
        lines += [f"\t{a} -> {b}" for a, b in self.edges]
        return "\n".join(lines + ["}"]) + "\n"

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

    def layers(self) -> Dict[str, int]:
        """Each node's rank: the longest path from it to a sink (the output is 0, inputs highest)."""
        out_edges: Dict[str, List[str]] = {nid: [] for nid, _, _ in self.nodes}
        indeg = {nid: 0 for nid in out_edges}
        for a, b in self.edges:
            out_edges[a].append(b)
            indeg[b] += 1
        # Kahn's order from the inputs, then ranks in reverse: iterative, so deep graphs are fine
        order, ready = [], [n for n, d in indeg.items() if d == 0]
        while ready:
            n = ready.pop()
            order.append(n)
            for m in out_edges[n]:
                indeg[m] -= 1
                if indeg[m] == 0:
                    ready.append(m)
        rank: Dict[str, int] = {}
        for n in reversed(order):
            rank[n] = max((rank[m] + 1 for m in out_edges[n]), default=0)
        return rank

    def plot(self, ax=None, fontsize: float = 7):
        """Draw the graph with matplotlib (inputs at the top, the output at the bottom); returns the axes."""
        import matplotlib.pyplot as plt
        rank = self.layers()
        rows: Dict[int, List[str]] = {}
        for nid, _, _ in self.nodes:
            rows.setdefault(rank[nid], []).append(nid)
        depth = max(rows) + 1
        if ax is None:
            width = max(len(r) for r in rows.values())
            _, ax = plt.subplots(figsize=(max(4.0, 1.8 * width), max(3.0, 0.9 * depth)))
        pos = {nid: ((i + 1) / (len(row) + 1), (r + 0.5) / depth) for r, row in rows.items()
               for i, nid in enumerate(row)}
        colours = {"op": "lightgrey", "leaf": "lightblue", "output": "#caff70"}
        for a, b in self.edges:
            ax.annotate("", xy=pos[b], xytext=pos[a], arrowprops=dict(arrowstyle="->", color="0.4", lw=0.8))
        for nid, label, kind in self.nodes:
            ax.text(*pos[nid], label, ha="center", va="center", fontsize=fontsize, family="monospace",
                    bbox=dict(boxstyle="round,pad=0.3", fc=colours[kind], ec="0.3", lw=0.6))
        ax.set_axis_off()
        return ax


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
        return Digraph([("out", text, "output")], [])
    order, shapes = _walk(root)
    shapes[id(root)] = tuple(tensor.shape)
    ids = {id(n): f"n{i}" for i, n in enumerate(order)}
    nodes, edges = [], []
    for node in order:
        nid = ids[id(node)]
        if isinstance(node, AccumulateGrad):
            label, kind = _leaf_label(node.variable, names, show_grads), "leaf"
        else:
            shape = shapes.get(id(node))
            label = node.name() + ("\n" + _shape(shape) if shape is not None else "")
            kind = "op"
            for child, _ in node.next_functions:
                if child is not None:
                    edges.append((ids[id(child)], nid))
        nodes.append((nid, label, kind))
    nodes.append(("out", out_label, "output"))
    edges.append((ids[id(root)], "out"))
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
