"""tinygrad_cn.viz: DOT text of the backward graph (ops, shapes, named leaves, gradients),
an iterative walk, the torchviz alias, rendering and its error when Graphviz is missing."""
from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_cn as torch
import tinygrad_cn.nn as nn
from tinygrad_cn.viz import Digraph, draw_graph, make_dot


def _unescape(raw: str) -> str:
    return re.sub(r"\\(.)", lambda e: "\n" if e.group(1) == "n" else e.group(1), raw)


def parse(dot: Digraph):
    """Node labels by id and the edge list, read back from the DOT text itself."""
    text = dot.source
    assert text.startswith("digraph {") and text.rstrip().endswith("}")
    labels = {m.group(1): _unescape(m.group(2))
              for m in re.finditer(r'^\t(\w+) \[label="((?:[^"\\]|\\.)*)"', text, re.M)}
    edges = re.findall(r"^\t(\w+) -> (\w+)$", text, re.M)
    return labels, edges


def small_model():
    torch.manual_seed(0)
    lin1, lin2 = nn.Linear(3, 4), nn.Linear(4, 1)
    x = torch.randn(5, 3)
    loss = lin2(lin1(x).relu()).pow(2).mean()
    params = {f"lin1.{k}": v for k, v in lin1.named_parameters()}
    params.update({f"lin2.{k}": v for k, v in lin2.named_parameters()})
    return loss, params


def test_ops_shapes_and_named_leaves():
    loss, params = small_model()
    labels, edges = parse(draw_graph(loss, params=params))
    ops = [lab.split("\n")[0] for lab in labels.values()]
    for op in ("MeanBackward0", "PowBackward0", "ReluBackward0"):
        assert op in ops
    leaf_names = {lab.split("\n")[0] for lab in labels.values()} & set(params)
    assert leaf_names == set(params)  # every parameter appears, under its name
    assert "lin1.weight\n(4, 3)" in labels.values()
    assert any(lab.startswith("ReluBackward0\n(5, 4)") for lab in labels.values())
    assert "output\n()" in labels.values()
    # every edge joins declared nodes, and the graph is connected to the output
    assert all(a in labels and b in labels for a, b in edges)
    assert len(edges) == len(labels) - 1  # a tree here: each node feeds exactly one consumer


def test_gradients_shown_after_backward_and_only_when_asked():
    loss, params = small_model()
    before, _ = parse(draw_graph(loss, params=params))
    assert not any("grad" in lab for lab in before.values())
    loss.backward()
    after, _ = parse(draw_graph(loss, params=params))
    w = params["lin1.weight"]
    norm = np.linalg.norm(w.grad.numpy().astype(np.float64))
    assert f"lin1.weight\n(4, 3)\n|grad| {norm:.4g}" in after.values()
    b2 = params["lin2.bias"].grad.numpy()[0]  # one element: the value itself is printed
    assert any(lab.startswith("lin2.bias\n(1,)\ngrad [") and f"{b2:.4f}"[:5] in lab for lab in after.values())
    hidden, _ = parse(draw_graph(loss, params=params, show_grads=False))
    assert not any("grad" in lab for lab in hidden.values())


def test_shared_nodes_appear_once():
    x = torch.randn(3, requires_grad=True)
    y = (x * x + x).sum()
    labels, edges = parse(draw_graph(y, params={"x": x}))
    assert sum(lab.startswith("x\n") for lab in labels.values()) == 1
    leaf = next(k for k, lab in labels.items() if lab.startswith("x\n"))
    assert sum(a == leaf for a, _ in edges) == 3  # x feeds the multiplication twice and the addition once


def test_non_differentiable_inputs_are_left_out():
    w = torch.randn(2, 2, requires_grad=True)
    c = torch.randn(2, 2)  # a constant: no node, no edge
    labels, edges = parse(draw_graph((w @ c).sum()))
    assert len(labels) == 4  # SumBackward0, MmBackward0, the leaf w, the output
    assert sum(lab.startswith("(2, 2)") for lab in labels.values()) == 1  # unnamed leaf: shape only


def test_deep_graph_is_walked_without_recursion():
    x = torch.randn(1, requires_grad=True)
    y = x
    depth = max(sys.getrecursionlimit(), 1000) * 3
    for _ in range(depth):
        y = y * 1.0
    dot = draw_graph(y)
    assert len(dot.nodes) == depth + 2  # the muls, the leaf, the output
    rank = dot.layers()
    assert rank["out"] == 0 and max(rank.values()) == depth + 1


def test_tensor_without_graph():
    labels, edges = parse(draw_graph(torch.ones(2, 3)))
    assert list(labels.values()) == ["output\n(2, 3)"] and edges == []
    leaf = torch.ones(2, requires_grad=True)
    labels, _ = parse(draw_graph(leaf, params={"p": leaf}))
    assert list(labels.values()) == ["p\n(2,)"]


def test_make_dot_is_torchviz_compatible():
    loss, params = small_model()
    loss.backward()
    assert make_dot(loss, params=params).source == draw_graph(loss, params=params).source
    assert make_dot(loss).source == draw_graph(loss).source
    assert "|grad|" in make_dot(loss, params=params, show_attrs=True, show_saved=True).source


def test_labels_are_escaped():
    x = torch.randn(2, requires_grad=True)
    labels, _ = parse(draw_graph(x.exp().sum(), params={'say "hi"\\': x}))
    assert 'say "hi"\\\n(2,)' in labels.values()


def test_render_without_graphviz_says_what_is_missing(monkeypatch, tmp_path):
    dot = draw_graph(torch.randn(2, requires_grad=True).exp().sum())
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    with pytest.raises(RuntimeError, match="pip install graphviz"):
        dot.render(str(tmp_path / "g"))
    monkeypatch.delitem(sys.modules, "graphviz")
    pytest.importorskip("graphviz")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="'dot' program is not on PATH"):
        dot.render(str(tmp_path / "g"))


def test_render_with_graphviz(tmp_path):
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    out = draw_graph(torch.randn(2, requires_grad=True).exp().sum()).render(str(tmp_path / "g"), format="png")
    with open(out, "rb") as f:
        assert f.read(4) == b"\x89PNG"


def test_save_and_matplotlib_plot(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    loss, params = small_model()
    dot = draw_graph(loss, params=params)
    path = dot.save(str(tmp_path / "g.dot"))
    assert open(path).read() == dot.source
    ax = dot.plot()
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == sorted(lab for _, lab, _ in dot.nodes)
    assert sum(not t.get_text() for t in ax.texts) == len(dot.edges)  # one arrow per edge
    rank = dot.layers()
    leaves = [nid for nid, _, kind in dot.nodes if kind == "leaf"]
    assert all(rank[n] > rank[a] for n in leaves for a, b in dot.edges if b == "out")


def test_op_names_match_torch():
    """The same expression in torch records nodes of the same names (torch as the oracle)."""
    ref = pytest.importorskip("torch")

    def walk_names(root):
        names, stack, seen = [], [root], set()
        while stack:
            n = stack.pop()
            if n is None or id(n) in seen:
                continue
            seen.add(id(n))
            if type(n).__name__ != "AccumulateGrad":
                names.append(type(n).__name__)
            stack.extend(c for c, _ in n.next_functions)
        return sorted(names)

    def build(lib):
        w = lib.ones(3, 2, requires_grad=True)
        b = lib.zeros(2, requires_grad=True)
        x = lib.ones(4, 3)
        return ((x @ w + b).relu().exp() * 2).mean()

    ours = draw_graph(build(torch))
    our_ops = sorted(lab.split("\n")[0] for _, lab, kind in ours.nodes if kind == "op")
    assert our_ops == walk_names(build(ref).grad_fn)


def test_docstring_examples():
    import doctest

    import tinygrad_cn.viz as viz
    result = doctest.testmod(viz, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0
