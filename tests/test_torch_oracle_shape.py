"""PyTorch as the oracle for shape/view ops, indexing and in-place writes.

One line per case: ``(name, fn, inputs)``. ``fn(m, *xs)`` is called once with
``m = tinygrad_cn`` and once with ``m = torch``; values, dtypes and the
gradients of every input that requires grad must agree. When torch raises,
tinygrad_cn must raise the same exception type.

``inputs`` items: a shape tuple (a float64 randn leaf that requires grad), or
``C(array)`` (a constant, no grad). Every case also runs with the inputs laid
out non-contiguously (the same layout in both libraries, so ``view`` refuses
in both or in neither).
"""
import numpy as np
import pytest

import tinygrad_cn as tg

torch = pytest.importorskip("torch")

from tinygrad_cn.testing._comparison import assert_close  # noqa: E402


class C:
    """A constant input (no grad): ``C(np.array(...))``."""

    def __init__(self, arr):
        self.arr = np.asarray(arr)


def _ints(*rows):
    return C(np.array(rows, dtype=np.int64))


# -- helpers for cases that need statements --------------------------------------------
def _setitem(idx, value_fn):
    def f(m, x, *vs):
        y = x * 1  # a non-leaf, so writes are allowed
        y[idx] = value_fn(m, *vs)
        return y
    return f


def _iadd_col(m, x):
    y = x * 1
    y[:, 0] += 1
    return y


def _view_mul_(m, x):
    y = x * 2
    y[1:, ::2].mul_(y[:-1, 1::2].detach() + 3)
    return y


def _t_add_(m, x, v):
    y = x.clone()
    y.t().add_(v)
    return y


def _diag_view_write(m, x, v):
    y = x.clone()
    y.select(0, 1).copy_(v)
    return y


def _unsqueeze_view_write(m, x, v):
    y = x.exp()
    z = y.unsqueeze(0)
    z[0, :, 1] = v
    return y * z


def _narrow_fill(m, x):
    y = x.clone()
    y.narrow(1, 1, 2).fill_(0.5)
    return y


def _chain_views(m, x, v):
    y = x + 0
    y.transpose(0, 1)[1:][:, 0] = v
    return y


def _split_write(m, x):
    y = x * 3
    a, b = y.split([1, 3], 1)
    b.mul_(a)  # refused by torch: one of several views of one node
    return y


def _split_write_nograd(m, x):
    y = x.detach() * 3
    a, b = y.chunk(2, 1)
    b.mul_(a)  # allowed: nothing to record
    return y


def _unbind_write(m, x):
    y = x.sin()
    r0, r1 = y.unbind(0)
    r1.add_(r0 * r0)
    return y


def _masked_fill_(m, x):
    y = x * 1
    y.masked_fill_(x.detach() > 0, -1.0)
    return y


def _scatter_(m, x, s):
    y = x + 1
    y.scatter_(1, m.tensor([[0, 1], [2, 0]]), s)
    return y


def _index_add_(m, x, s):
    y = x * 1
    y.index_add_(0, m.tensor([0, 2, 0]), s)
    return y


def _bool_setitem(m, x, v):
    y = x * 1
    y[x.detach() > 0] = v.sum()
    return y


def _setitem_adv_repeat(m, x, v):
    y = x * 1
    y[m.tensor([0, 2])] = v
    return y


def _copy_broadcast(m, x, v):
    y = x * 1
    y.copy_(v)
    return y


def _inplace_chain(m, x):
    y = x * 1
    y.mul_(2).add_(1).pow_(2).neg_()
    return y


def _transpose_(m, x):
    y = x * 1
    y.transpose_(0, 1)
    return y * 2


def _squeeze_(m, x):
    y = x * 1
    y.unsqueeze_(0).squeeze_(0)
    return y


def _index_put_(m, x, v):
    y = x * 1
    y.index_put_((m.tensor([0, 1]), m.tensor([2, 0])), v)
    return y


def _index_put_acc(m, x, v):
    y = x * 1
    y.index_put_((m.tensor([0, 0]), m.tensor([2, 2])), v, accumulate=True)
    return y


def _view_unsqueeze_then_add(m, x, v):
    y = x * 1
    r = y[1]
    r.unsqueeze_(0)
    r.add_(v)
    return y


def _sort_out(m, x):
    vals, idx = m.empty(0, dtype=m.float64), m.empty(0, dtype=m.int64)
    r = m.sort(x.detach(), 1, out=(vals, idx))
    return r[0], r[1], vals, idx


def _topk_out(m, x):
    vals, idx = m.empty(0, dtype=m.float64), m.empty(0, dtype=m.int64)
    m.topk(x.detach(), 2, out=(vals, idx))
    return vals, idx


def _out_kw(op):
    def f(m, x):
        o = m.empty(1, dtype=m.float64)
        r = op(m, x.detach(), o)
        assert r is o
        return o
    return f


A, B = (3, 4), (2, 3, 4)

CASES = [
    # -- reshape and views --------------------------------------------------------------
    ("reshape", lambda m, x: x.reshape(4, -1), [B]),
    ("reshape_tuple", lambda m, x: x.reshape((2, 12)), [B]),
    ("reshape_fn", lambda m, x: m.reshape(x, (-1,)), [B]),
    ("reshape_0d", lambda m, x: x.reshape(1, 1), [()]),
    ("reshape_noncontig", lambda m, x: x.transpose(0, 2).reshape(-1), [B]),
    ("view", lambda m, x: x.view(6, 4), [B]),
    ("view_-1", lambda m, x: x.view(-1), [B]),
    ("view_transposed", lambda m, x: x.t().view(-1), [A]),
    ("view_split_dim", lambda m, x: x.t().view(2, 2, 3), [A]),
    ("view_as", lambda m, x, y: x.view_as(y), [(2, 6), (4, 3)]),
    ("reshape_as", lambda m, x, y: x.reshape_as(y), [(2, 6), (4, 3)]),
    ("transpose", lambda m, x: x.transpose(0, 2), [B]),
    ("transpose_neg", lambda m, x: m.transpose(x, -1, -2), [B]),
    ("swapaxes", lambda m, x: x.swapaxes(0, 1), [B]),
    ("permute", lambda m, x: x.permute(2, 0, 1), [B]),
    ("permute_tuple", lambda m, x: m.permute(x, (-1, 0, 1)), [B]),
    ("T", lambda m, x: x.T, [A]),
    ("t", lambda m, x: x.t(), [A]),
    ("t_1d", lambda m, x: x.t(), [(4,)]),
    ("mT", lambda m, x: x.mT, [B]),
    ("movedim", lambda m, x: m.movedim(x, 0, -1), [B]),
    ("movedim_multi", lambda m, x: x.movedim((0, 1), (2, 0)), [B]),
    ("unsqueeze0", lambda m, x: x.unsqueeze(0), [B]),
    ("unsqueeze_neg", lambda m, x: x.unsqueeze(-1), [B]),
    ("unsqueeze_mid", lambda m, x: m.unsqueeze(x, 2), [B]),
    ("squeeze_all", lambda m, x: x.squeeze(), [(1, 3, 1, 2)]),
    ("squeeze_dim", lambda m, x: x.squeeze(2), [(1, 3, 1, 2)]),
    ("squeeze_dim_not1", lambda m, x: x.squeeze(1), [(1, 3, 1, 2)]),
    ("squeeze_tuple", lambda m, x: x.squeeze((0, -2)), [(1, 3, 1, 2)]),
    ("squeeze_0d", lambda m, x: x.squeeze(), [()]),
    ("flatten", lambda m, x: x.flatten(), [B]),
    ("flatten_range", lambda m, x: m.flatten(x, 1, 2), [(2, 3, 4, 2)]),
    ("flatten_start", lambda m, x: x.flatten(1), [B]),
    ("flatten_0d", lambda m, x: x.flatten(), [()]),
    ("ravel", lambda m, x: x.ravel(), [B]),
    ("unflatten", lambda m, x: x.unflatten(2, (2, -1)), [B]),
    ("unflatten_neg", lambda m, x: x.unflatten(-1, (2, 2)), [B]),
    ("expand", lambda m, x: x.expand(2, 3, 4), [(3, 1)]),
    ("expand_-1", lambda m, x: x.expand(-1, 5), [(3, 1)]),
    ("expand_lead", lambda m, x: x.expand(2, -1, -1), [(3, 4)]),
    ("expand_tuple", lambda m, x: x.expand((4, 3, 2)), [(3, 1)]),
    ("expand_0d", lambda m, x: x.expand(3, 2), [()]),
    ("expand_as", lambda m, x, y: x.expand_as(y), [(1, 4), B]),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    ("broadcast_tensors", lambda m, x, y: m.broadcast_tensors(x, y), [(3, 1), (1, 4)]),
    ("repeat", lambda m, x: x.repeat(2, 1, 3), [(2, 3)]),
    ("repeat_same", lambda m, x: x.repeat(2, 2), [(2, 3)]),
    ("tile", lambda m, x: x.tile((2,)), [(2, 3)]),
    ("repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=0), [(2, 3)]),
    ("repeat_interleave_flat", lambda m, x: m.repeat_interleave(x, 3), [(2, 3)]),
    ("cat", lambda m, x, y: m.cat([x, y], 1), [(2, 3), (2, 2)]),
    ("cat_neg", lambda m, x, y, z: m.cat((x, y, z), -1), [(2, 1), (2, 2), (2, 3)]),
    ("cat_dim0", lambda m, x, y: m.cat([x, y]), [(1, 3), (2, 3)]),
    ("cat_empty1d", lambda m, x: m.cat([x, m.tensor([], dtype=m.float64)], 0), [(2, 3)]),
    ("cat_int_float", lambda m, x: m.cat([x, m.tensor([[1, 2, 3]])]), [(2, 3)]),
    ("cat_f32_f64", lambda m, x: m.cat([x, m.ones(1, 3)]), [(2, 3)]),
    ("concat", lambda m, x, y: m.concat([x, y], 0), [(1, 3), (2, 3)]),
    ("stack", lambda m, x, y: m.stack([x, y]), [A, A]),
    ("stack_mid", lambda m, x, y: m.stack([x, y], 1), [A, A]),
    ("stack_neg", lambda m, x, y, z: m.stack((x, y, z), -1), [A, A, A]),
    ("hstack", lambda m, x, y: m.hstack([x, y]), [(2, 3), (2, 1)]),
    ("vstack", lambda m, x, y: m.vstack([x, y]), [(3,), (2, 3)]),
    ("split_int", lambda m, x: x.split(3, 1), [(2, 7)]),
    ("split_sizes", lambda m, x: m.split(x, [1, 4, 2], dim=1), [(2, 7)]),
    ("split_dim0", lambda m, x: x.split(1), [(2, 7)]),
    ("chunk", lambda m, x: x.chunk(3, 1), [(2, 7)]),
    ("chunk_more", lambda m, x: m.chunk(x, 4, 1), [(2, 6)]),
    ("tensor_split", lambda m, x: x.tensor_split(3, 1), [(2, 7)]),
    ("tensor_split_idx", lambda m, x: x.tensor_split([1, 5], 1), [(2, 7)]),
    ("unbind", lambda m, x: x.unbind(1), [B]),
    ("unbind_fn", lambda m, x: m.unbind(x), [B]),
    ("flip", lambda m, x: x.flip(0, 2), [B]),
    ("flip_list", lambda m, x: m.flip(x, [-1]), [B]),
    ("fliplr", lambda m, x: x.fliplr(), [A]),
    ("flipud", lambda m, x: m.flipud(x), [A]),
    ("narrow", lambda m, x: x.narrow(1, 1, 2), [B]),
    ("narrow_neg", lambda m, x: m.narrow(x, -1, -3, 2), [B]),
    ("roll_flat", lambda m, x: x.roll(1), [B]),
    ("roll_dim", lambda m, x: x.roll(2, 1), [B]),
    ("roll_neg", lambda m, x: x.roll(-5, -1), [B]),
    ("roll_multi", lambda m, x: m.roll(x, (1, -1), (0, 2)), [B]),
    ("tril", lambda m, x: x.tril(), [(4, 5)]),
    ("tril_k", lambda m, x: m.tril(x, -1), [B]),
    ("triu", lambda m, x: x.triu(), [(4, 5)]),
    ("triu_k", lambda m, x: m.triu(x, 2), [B]),
    ("diagonal", lambda m, x: x.diagonal(), [(4, 5)]),
    ("diagonal_off", lambda m, x: m.diagonal(x, 1, 1, 2), [B]),
    ("diagonal_neg", lambda m, x: x.diagonal(-1), [(4, 5)]),
    ("trace", lambda m, x: x.trace(), [(4, 5)]),
    ("contiguous", lambda m, x: x.t().contiguous(), [A]),
    ("clone", lambda m, x: x.clone(), [A]),
    ("select", lambda m, x: x.select(1, -1), [B]),
    ("unfold", lambda m, x: x.unfold(1, 2, 1), [B]),
    ("unfold_step", lambda m, x: x.unfold(-1, 2, 2), [B]),
    ("unfold_then_sum", lambda m, x: x.unfold(0, 3, 2).sum(-1), [(7, 2)]),
    ("as_strided", lambda m, x: x.as_strided((3, 3), (1, 2)), [(8,)]),
    ("as_strided_offset", lambda m, x: m.as_strided(x, (2, 2), (4, 1), 1), [(3, 4)]),
    ("rot90", lambda m, x: x.rot90(), [B]),
    ("rot90_k", lambda m, x: m.rot90(x, -1, (2, 0)), [B]),
    ("rot90_2", lambda m, x: x.rot90(2, (1, 2)), [B]),
    ("hsplit", lambda m, x: x.hsplit(3), [B]),
    ("hsplit_idx", lambda m, x: m.hsplit(x, [1, 2]), [B]),
    ("vsplit", lambda m, x: x.vsplit(2), [(4, 3)]),
    ("dsplit", lambda m, x: m.dsplit(x, 2), [B]),
    ("column_stack", lambda m, x, y: m.column_stack([x, y]), [(3,), (3, 2)]),
    ("dstack", lambda m, x, y: m.dstack([x, y]), [(2, 3), (2, 3)]),
    ("row_stack", lambda m, x, y: m.row_stack([x, y]), [(3,), (2, 3)]),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), [(2, 3)]),
    ("atleast_2d_many", lambda m, x, y: m.atleast_2d(x, y), [(), (3,)]),
    ("swapaxes_fn", lambda m, x: m.swapaxes(x, 0, 2), [B]),
    ("narrow_copy", lambda m, x: x.narrow_copy(1, 0, 2), [B]),
    ("chunk_empty", lambda m, x: x[:0].chunk(2), [A]),
    ("scatter_reduce_sum", lambda m, x, s: x.scatter_reduce(1, m.tensor([[0, 0, 2], [1, 1, 1], [3, 0, 3]]), s, "sum"),
     [A, (3, 3)]),
    ("scatter_reduce_mean", lambda m, x, s: x.scatter_reduce(0, m.tensor([[0, 0, 2, 2], [0, 1, 2, 0]]), s, "mean",
                                                             include_self=False), [A, (2, 4)]),
    ("scatter_reduce_mean_self", lambda m, x, s: x.scatter_reduce(0, m.tensor([[0, 0, 2, 2], [0, 1, 2, 0]]), s,
                                                                  "mean"), [A, (2, 4)]),
    ("scatter_reduce_prod", lambda m, x, s: x.scatter_reduce(1, m.tensor([[0, 0], [1, 3], [2, 2]]), s, "prod"),
     [A, (3, 2)]),
    ("scatter_reduce_prod_noself", lambda m, x, s: x.scatter_reduce(1, m.tensor([[0, 0], [1, 3], [2, 2]]), s, "prod",
                                                                    include_self=False), [A, (3, 2)]),
    ("scatter_reduce_amax", lambda m, x, s: x.scatter_reduce(1, m.tensor([[0, 0], [1, 3], [2, 2]]), s, "amax"),
     [A, (3, 2)]),
    ("scatter_reduce_amin_noself", lambda m, x, s: x.scatter_reduce(1, m.tensor([[0, 0], [1, 3], [2, 2]]), s, "amin",
                                                                    include_self=False), [A, (3, 2)]),
    ("index_copy", lambda m, x, s: x.index_copy(1, m.tensor([3, 0]), s), [A, (3, 2)]),
    # -- basic indexing ---------------------------------------------------------------
    ("get_int", lambda m, x: x[1], [B]),
    ("get_negint", lambda m, x: x[-1, -2], [B]),
    ("get_slice", lambda m, x: x[1:3], [(5, 3)]),
    ("get_step", lambda m, x: x[::2, 1::2], [(5, 4)]),
    ("get_negslice", lambda m, x: x[-3:-1, :-1], [(5, 4)]),
    ("get_none", lambda m, x: x[:, None], [A]),
    ("get_ellipsis", lambda m, x: x[..., 1], [B]),
    ("get_combo", lambda m, x: x[1, ..., None, ::3], [B]),
    ("get_none_ellipsis", lambda m, x: x[None, ..., None], [A]),
    ("get_empty_slice", lambda m, x: x[2:1], [A]),
    ("get_0d_tensor_idx", lambda m, x: x[m.tensor(1)], [A]),
    ("get_0d_ellipsis", lambda m, x: x[...], [()]),
    ("get_0d_none", lambda m, x: x[None], [()]),
    # -- advanced indexing ---------------------------------------------------------------
    ("get_list", lambda m, x: x[[0, 2]], [A]),
    ("get_tensor", lambda m, x: x[m.tensor([2, 0, 1])], [A]),
    ("get_repeat", lambda m, x: x[m.tensor([0, 0, 1, 0])], [A]),
    ("get_neg_adv", lambda m, x: x[m.tensor([-1, 0])], [A]),
    ("get_2d_idx", lambda m, x: x[m.tensor([[0, 1], [1, 1]])], [A]),
    ("get_pair", lambda m, x: x[[0, 1, 1], [1, 2, 1]], [A]),
    ("get_pair_bcast", lambda m, x: x[m.tensor([[0], [2]]), m.tensor([1, 3])], [A]),
    ("get_slice_adv", lambda m, x: x[:, [0, 2, 0]], [B]),
    ("get_adv_slice_adv", lambda m, x: x[[0, 1], :, [1, 3]], [B]),
    ("get_adv_ellipsis", lambda m, x: x[..., [1, 0, 1]], [B]),
    ("get_adv_int", lambda m, x: x[1, [0, 2]], [B]),
    ("get_int_slice_adv", lambda m, x: x[1, 1:, [0, 0]], [B]),
    ("get_adv_none", lambda m, x: x[None, [1, 0]], [A]),
    ("get_mask", lambda m, x: x[x > 0], [B]),
    ("get_mask_rows", lambda m, x: x[m.tensor([True, False, True])], [A]),
    ("get_mask_list", lambda m, x: x[[True, False, True]], [A]),
    ("get_mask_2d_partial", lambda m, x: x[:, x[0] > 0], [A]),
    ("get_mask_0d", lambda m, x: x[m.tensor(True)], [A]),
    ("get_int32_idx", lambda m, x: x[m.tensor([1, 0], dtype=m.int32)], [A]),
    ("take", lambda m, x: x.take(m.tensor([[0, 5], [11, 5]])), [A]),
    ("take_along_dim", lambda m, x: m.take_along_dim(x, m.tensor([[0], [2], [1]]), 1), [A]),
    ("index_select", lambda m, x: x.index_select(1, m.tensor([3, 0, 3])), [A]),
    ("index_select_fn", lambda m, x: m.index_select(x, -1, m.tensor([1])), [B]),
    ("gather", lambda m, x: x.gather(1, m.tensor([[0, 0], [1, 0], [3, 2]])), [A]),
    ("gather_int32", lambda m, x: x.gather(1, m.tensor([[0], [3], [1]], dtype=m.int32)), [A]),
    ("gather_dim0", lambda m, x: m.gather(x, 0, m.tensor([[2, 0, 1, 0]])), [A]),
    ("scatter_src", lambda m, x, s: x.scatter(1, m.tensor([[0, 1], [2, 3], [1, 0]]), s), [A, (3, 2)]),
    ("scatter_bigsrc", lambda m, x, s: x.scatter(0, m.tensor([[2, 1, 0, 2]]), s), [A, (2, 5)]),
    ("scatter_value", lambda m, x: x.scatter(1, m.tensor([[0], [2], [3]]), 2.5), [A]),
    ("scatter_add", lambda m, x, s: x.scatter_add(0, m.tensor([[0, 1, 0, 0], [0, 2, 2, 1]]), s), [A, (2, 4)]),
    ("scatter_add_fn", lambda m, x, s: m.scatter_add(x, 1, m.tensor([[1, 1], [0, 0], [3, 3]]), s), [A, (3, 2)]),
    ("scatter_reduce_add", lambda m, x: x.detach().scatter(1, m.tensor([[1, 1], [0, 0], [3, 3]]),
                                                           x.detach()[:, :2], reduce="add"), [A]),
    ("scatter_reduce_mul", lambda m, x: x.detach().scatter(1, m.tensor([[1, 1], [0, 0], [3, 3]]),
                                                           x.detach()[:, :2], reduce="multiply"), [A]),
    ("scatter_value_reduce", lambda m, x: x.detach().scatter(1, m.tensor([[1, 1], [0, 0], [3, 3]]), 2.0,
                                                             reduce="multiply"), [A]),
    ("index_add", lambda m, x, s: x.index_add(0, m.tensor([0, 2, 0]), s), [A, (3, 4)]),
    ("index_add_alpha", lambda m, x, s: x.index_add(1, m.tensor([1, 1]), s, alpha=2), [A, (3, 2)]),
    ("index_fill", lambda m, x: x.index_fill(1, m.tensor([0, 2]), -1.0), [A]),
    ("masked_fill", lambda m, x: x.masked_fill(x > 0, 0.0), [B]),
    ("masked_fill_bcast", lambda m, x: x.masked_fill(m.tensor([True, False, False, True]), 7.0), [B]),
    ("masked_fill_0d", lambda m, x, v: x.masked_fill(x < 0, v.reshape(())), [A, (1,)]),
    ("masked_fill_0d_const", lambda m, x: m.masked_fill(x, x < 0, m.tensor(3.0, dtype=m.float64)), [A]),
    ("masked_select", lambda m, x: x.masked_select(x > 0), [B]),
    ("masked_select_bcast", lambda m, x: m.masked_select(x, m.tensor([True, False, True, True])), [A]),
    ("masked_scatter", lambda m, x, s: x.masked_scatter(x.detach() > 0, s), [A, (12,)]),
    ("nonzero", lambda m, x: (x > 0).nonzero(), [B]),
    ("nonzero_tuple", lambda m, x: m.nonzero(x > 0, as_tuple=True), [B]),
    ("nonzero_int", lambda m, x: x.nonzero(), [_ints([0, 3, 0], [1, 0, -2])]),
    ("argwhere", lambda m, x: m.argwhere(x > 0), [A]),
    ("sort", lambda m, x: x.sort(), [B]),
    ("sort_desc", lambda m, x: x.sort(dim=0, descending=True), [B]),
    ("sort_stable", lambda m, x: m.sort(x.round(), stable=True, dim=1), [(4, 6)]),
    ("sort_stable_desc", lambda m, x: m.sort(x.round(), dim=1, descending=True, stable=True), [(4, 6)]),
    ("sort_nan", lambda m, x: m.sort(x), [C([3.0, np.nan, -1.0, np.nan, 2.0])]),
    ("sort_nan_desc", lambda m, x: m.sort(x, descending=True), [C([3.0, np.nan, -1.0, np.nan, 2.0])]),
    ("sort_ints", lambda m, x: x.sort(descending=True), [_ints([3, 1, 3, 2])]),
    ("argsort", lambda m, x: x.argsort(dim=1), [A]),
    ("argsort_desc", lambda m, x: m.argsort(x, descending=True), [A]),
    ("msort", lambda m, x: m.msort(x), [A]),
    ("topk", lambda m, x: x.topk(2), [B]),
    ("topk_smallest", lambda m, x: x.topk(3, dim=0, largest=False), [(5, 3)]),
    ("topk_fn", lambda m, x: m.topk(x, 1, 1), [A]),
    ("kthvalue", lambda m, x: x.kthvalue(2, 1), [A]),
    ("kthvalue_keepdim", lambda m, x: x.kthvalue(1, 0, keepdim=True), [A]),
    ("topk_0d", lambda m, x: x.topk(1), [()]),
    ("gather_0d", lambda m, x: x.gather(0, m.tensor(0)), [()]),
    ("get_nested_list", lambda m, x: x[[[0, 1], [1, 0]]], [A]),
    ("get_list_with_slice", lambda m, x: x[[slice(None), 1]], [A]),
    ("get_list_of_tensors", lambda m, x: x[[m.tensor([0, 1]), m.tensor([1, 2])]], [A]),
    ("get_uint8_mask", lambda m, x: x[m.tensor([1, 0, 1], dtype=m.uint8)], [A]),
    ("get_true", lambda m, x: x[True], [A]),
    ("get_false", lambda m, x: x[False], [A]),
    ("get_int_true", lambda m, x: x[1, True], [A]),
    ("get_int_none_adv", lambda m, x: x[1, None, [0, 2]], [B]),
    ("get_adv_int_adv", lambda m, x: x[[0, 1], 2, [1, 3]], [B]),
    ("get_int_adv_2d", lambda m, x: x[0, :, m.tensor([[1, 0], [3, 3]])], [B]),
    ("sort_out", _sort_out, [A]),
    ("topk_out", _topk_out, [A]),
    ("cat_out", _out_kw(lambda m, x, o: m.cat([x, x], 1, out=o)), [A]),
    ("stack_out", _out_kw(lambda m, x, o: m.stack([x, x], out=o)), [A]),
    ("gather_out", _out_kw(lambda m, x, o: m.gather(x, 1, m.tensor([[0], [1], [0]]), out=o)), [A]),
    ("index_select_out", _out_kw(lambda m, x, o: m.index_select(x, 0, m.tensor([2, 0]), out=o)), [A]),
    ("masked_select_out", _out_kw(lambda m, x, o: m.masked_select(x, x > 0, out=o)), [A]),
    # -- setitem and in-place -------------------------------------------------------------
    ("set_int", _setitem(1, lambda m, v: v), [A, (4,)]),
    ("set_scalar", _setitem((slice(None), 1), lambda m: 5.0), [A]),
    ("set_bcast", _setitem((slice(0, 2),), lambda m, v: v), [A, (1, 4)]),
    ("set_bcast_row", _setitem((slice(None), slice(1, 3)), lambda m, v: v), [A, (2,)]),
    ("set_step", _setitem((slice(None, None, 2), slice(None, None, 3)), lambda m, v: v), [(5, 4), (3, 2)]),
    ("set_adv", _setitem(([0, 2], [1, 3]), lambda m, v: v), [A, (2,)]),
    ("set_adv_tensor", _setitem((slice(None), [3, 0]), lambda m, v: v), [A, (3, 2)]),
    ("set_ellipsis", _setitem((Ellipsis, 0), lambda m, v: v * 2), [B, (2, 3)]),
    ("set_none", _setitem((None, 1), lambda m, v: v), [A, (4,)]),
    ("set_0d_value", _setitem((0, 0), lambda m, v: v.sum()), [A, (2,)]),
    ("set_adv_repeat", _setitem_adv_repeat, [A, (4,)]),
    ("set_mask", _bool_setitem, [A, (2,)]),
    ("iadd_col", _iadd_col, [A]),
    ("view_mul_", _view_mul_, [(3, 4)]),
    ("t_add_", _t_add_, [A, (4, 3)]),
    ("select_copy_", _diag_view_write, [A, (4,)]),
    ("unsqueeze_view_set", _unsqueeze_view_write, [A, (3,)]),
    ("narrow_fill_", _narrow_fill, [A]),
    ("chain_views_set", _chain_views, [(3, 4), (3,)]),
    ("split_view_mul_", _split_write, [A]),
    ("chunk_view_mul_nograd", _split_write_nograd, [A]),
    ("unbind_view_add_", _unbind_write, [(2, 4)]),
    ("masked_fill_", _masked_fill_, [A]),
    ("scatter_", _scatter_, [A, (2, 2)]),
    ("index_add_", _index_add_, [A, (3, 4)]),
    ("copy_bcast", _copy_broadcast, [A, (4,)]),
    ("inplace_chain", _inplace_chain, [A]),
    ("transpose_", _transpose_, [A]),
    ("unsqueeze_squeeze_", _squeeze_, [A]),
    ("index_put_", _index_put_, [A, (2,)]),
    ("index_put_acc", _index_put_acc, [A, (2,)]),
    ("view_unsqueeze_then_add", _view_unsqueeze_then_add, [A, (1, 4)]),
    ("fill_diagonal_", lambda m, x: (x * 1).fill_diagonal_(2.0), [A]),
    ("fill_diagonal_wrap", lambda m, x: (x * 1).fill_diagonal_(2.0, wrap=True), [(7, 3)]),
    ("index_copy_", lambda m, x, s: (x * 1).index_copy_(0, m.tensor([2]), s), [A, (1, 4)]),
    ("unfold_write", lambda m, x: (lambda y: (y.unfold(1, 2, 2).mul_(3), y)[1])(x * 1), [A]),
    ("diagonal_write", lambda m, x, v: (lambda y: (y.diagonal(1).add_(v), y)[1])(x * 1), [A, (3,)]),
]


# -- the driver ------------------------------------------------------------------------------
def _noncontig(a: np.ndarray) -> np.ndarray:
    """The same values, stored transposed (2-D and up) or every other element (1-D)."""
    if a.ndim >= 2:
        return np.ascontiguousarray(a.T).T
    if a.ndim == 1:
        buf = np.zeros(2 * a.shape[0], dtype=a.dtype)
        buf[::2] = a
        return buf[::2]
    return a


def _inputs(spec, seed: int):
    rng = np.random.default_rng(seed)
    out = []
    for s in spec:
        if isinstance(s, C):
            out.append((s.arr, False))
        else:
            out.append((rng.standard_normal(s), True))
    return out


def _build(lib, arrs, layout):
    ts = []
    for a, grad in arrs:
        a = _noncontig(a) if layout == "noncontig" else a.copy()
        t = tg.Tensor._make(a) if lib is tg else torch.from_numpy(a)
        if grad:
            t.requires_grad_(True)
        ts.append(t)
    return ts


def _flat(out):
    if isinstance(out, (tuple, list)):
        r = []
        for o in out:
            r.extend(_flat(o))
        return r
    return [out]


def _np(t):
    if isinstance(t, tg.Tensor):
        return t._data
    return t.detach().numpy()


def _dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


def _run(lib, fn, arrs, layout):
    xs = _build(lib, arrs, layout)
    try:
        out = fn(lib, *xs)
    except Exception as e:  # noqa: BLE001 - compared below
        return xs, None, e
    return xs, out, None


# cases where torch itself raises, by layout (tinygrad_cn must raise the same type)
BOTH = ("contiguous", "noncontig")
TORCH_RAISES = {"split_view_mul_": BOTH, "unbind_view_add_": BOTH, "view_transposed": ("contiguous",),
                "view": ("noncontig",), "view_-1": ("noncontig",), "view_as": ("noncontig",)}


@pytest.mark.parametrize("layout", ["contiguous", "noncontig"])
@pytest.mark.parametrize("name,fn,spec", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(name, fn, spec, layout):
    arrs = _inputs(spec, seed=sum(map(ord, name)))
    txs, tout, terr = _run(torch, fn, arrs, layout)
    gxs, gout, gerr = _run(tg, fn, arrs, layout)
    expected = layout in TORCH_RAISES.get(name, ())
    assert (terr is not None) == expected, f"the case is broken: torch raised {terr!r}"
    if terr is not None:
        assert gerr is not None, f"torch raised {type(terr).__name__}: {terr}; tinygrad_cn did not"
        assert isinstance(gerr, type(terr)), f"torch raised {type(terr).__name__}, tinygrad_cn {gerr!r}"
        return
    if gerr is not None:
        raise gerr
    touts, gouts = _flat(tout), _flat(gout)
    assert len(touts) == len(gouts)
    assert type(gout).__name__ == type(tout).__name__ or not isinstance(tout, tuple) or \
        type(tout).__name__ in ("tuple", "list") and isinstance(gout, (tuple, list)), \
        f"output type {type(gout).__name__}, torch {type(tout).__name__}"
    for g, t in zip(gouts, touts):
        assert isinstance(g, tg.Tensor)
        assert tuple(g.shape) == tuple(t.shape), (g.shape, t.shape)
        assert _dtype_name(g) == _dtype_name(t)
        assert_close(_np(g), _np(t), equal_nan=True)
        assert g.requires_grad == t.requires_grad, "requires_grad differs"
    # gradients: a random weighting of every floating output that requires grad
    rng = np.random.default_rng(1)
    pairs = [(g, t) for g, t in zip(gouts, touts) if t.requires_grad]
    if not pairs:
        return
    ws = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    tloss = sum((t * torch.from_numpy(w)).sum() for (_, t), w in zip(pairs, ws))
    try:
        tloss.backward()
    except RuntimeError:
        return  # torch has no derivative here (e.g. scatter with reduce)
    gloss = sum((g * tg.tensor(w)).sum() for (g, _), w in zip(pairs, ws))
    gloss.backward()
    for gx, tx in zip(gxs, txs):
        if not tx.requires_grad:
            continue
        if tx.grad is None:
            assert gx.grad is None or not np.any(gx.grad._data)
            continue
        assert gx.grad is not None, "no gradient reached an input"
        assert gx.grad.shape == tx.grad.shape
        assert_close(gx.grad._data, tx.grad.numpy())


# -- torch's errors ------------------------------------------------------------------------------
ERRORS = [
    ("view_noncontig", lambda m, x: x.t().view(-1), [A]),
    ("view_bad_size", lambda m, x: x.view(5, -1), [A]),
    ("reshape_two_infer", lambda m, x: x.reshape(-1, -1), [A]),
    ("transpose_bad_dim", lambda m, x: x.transpose(0, 3), [A]),
    ("permute_dup", lambda m, x: x.permute(0, 0), [A]),
    ("permute_len", lambda m, x: x.permute(0,), [A]),
    ("permute_range", lambda m, x: x.permute(0, 2), [A]),
    ("t_3d", lambda m, x: x.t(), [B]),
    ("unsqueeze_range", lambda m, x: x.unsqueeze(3), [A]),
    ("squeeze_range", lambda m, x: x.squeeze(2), [A]),
    ("flatten_order", lambda m, x: x.flatten(2, 1), [B]),
    ("unflatten_bad", lambda m, x: x.unflatten(1, (3, 2)), [A]),
    ("expand_mismatch", lambda m, x: x.expand(3, 5), [(3, 2)]),
    ("expand_fewer", lambda m, x: x.expand(4), [(3, 1)]),
    ("expand_neg_lead", lambda m, x: x.expand(-1, 3, 1), [(3, 1)]),
    ("repeat_fewer", lambda m, x: x.repeat(2), [A]),
    ("cat_shape", lambda m, x, y: m.cat([x, y], 0), [(2, 3), (2, 4)]),
    ("cat_ndim", lambda m, x, y: m.cat([x, y]), [(2, 3), (3,)]),
    ("cat_0d", lambda m, x: m.cat([x, x]), [()]),
    ("cat_empty_list", lambda m, x: m.cat([]), [A]),
    ("cat_dim_range", lambda m, x: m.cat([x, x], 2), [A]),
    ("stack_shape", lambda m, x, y: m.stack([x, y]), [(2, 3), (3, 2)]),
    ("split_sum", lambda m, x: x.split([1, 1], 0), [A]),
    ("chunk_zero", lambda m, x: x.chunk(0), [A]),
    ("narrow_range", lambda m, x: x.narrow(0, 2, 2), [A]),
    ("tril_1d", lambda m, x: x.tril(), [(3,)]),
    ("get_int_range", lambda m, x: x[3], [A]),
    ("get_negint_range", lambda m, x: x[:, -5], [A]),
    ("get_too_many", lambda m, x: x[0, 0, 0], [A]),
    ("get_list_range", lambda m, x: x[[0, 3]], [A]),
    ("get_tensor_range", lambda m, x: x[m.tensor([0, -4])], [A]),
    ("get_float_idx", lambda m, x: x[m.tensor([0.0])], [A]),
    ("get_0d_int", lambda m, x: x[0], [()]),
    ("get_mask_shape", lambda m, x: x[m.tensor([True, False])], [A]),
    ("get_neg_step", lambda m, x: x[::-1], [A]),
    ("get_zero_step", lambda m, x: x[:, ::0], [A]),
    ("get_bcast_fail", lambda m, x: x[[0, 1], [0, 1, 2]], [A]),
    ("set_shape", _setitem(0, lambda m, v: v), [A, (3,)]),
    ("set_range", _setitem(5, lambda m: 1.0), [A]),
    ("gather_bad_dim", lambda m, x: x.gather(2, m.tensor([[0]])), [A]),
    ("gather_ndim", lambda m, x: x.gather(1, m.tensor([0])), [A]),
    ("gather_range", lambda m, x: x.gather(1, m.tensor([[0, 4]])), [A]),
    ("scatter_range", lambda m, x: x.scatter(1, m.tensor([[7]]), 1.0), [A]),
    ("index_select_range", lambda m, x: x.index_select(0, m.tensor([3])), [A]),
    ("index_select_2d", lambda m, x: x.index_select(0, m.tensor([[0]])), [A]),
    ("index_select_dim", lambda m, x: x.index_select(2, m.tensor([0])), [A]),
    ("masked_fill_float_mask", lambda m, x: x.masked_fill(x, 1.0), [A]),
    ("masked_fill_1d_value", lambda m, x: x.masked_fill(x > 0, m.tensor([1.0])), [A]),
    ("masked_fill_bad_bcast", lambda m, x: x.masked_fill(m.tensor([True, False]), 1.0), [A]),
    ("masked_select_bcast", lambda m, x: x.masked_select(m.tensor([True, False])), [A]),
    ("sort_bad_dim", lambda m, x: x.sort(2), [A]),
    ("topk_too_big", lambda m, x: x.topk(5), [A]),
    ("leaf_inplace", lambda m, x: x.add_(1), [A]),
    ("leaf_view_inplace", lambda m, x: x[0].add_(1), [A]),
    ("leaf_setitem", lambda m, x: x.__setitem__(0, 1.0), [A]),
    ("expand_inplace", lambda m, x: x.detach().expand(3, 3).add_(1), [(3, 1)]),
    ("inplace_bcast_out", lambda m, x: x.detach().add_(m.ones(2, 3, 4)), [A]),
    ("leaf_t_", lambda m, x: x.t_(), [A]),
    ("leaf_unsqueeze_", lambda m, x: x.unsqueeze_(0), [A]),
    ("roll_align", lambda m, x: x.roll((1, 2), 0), [A]),
    ("roll_no_dims", lambda m, x: x.roll((1, 2)), [A]),
    ("flip_dup", lambda m, x: x.flip(0, -2), [A]),
    ("movedim_dup", lambda m, x: x.movedim((0, 0), (1, 0)), [A]),
    ("scatter_dtype", lambda m, x: x.scatter(0, m.tensor([[0]]), m.ones(1, 1)), [A]),
    ("scatter_add_dtype", lambda m, x: x.scatter_add(0, m.tensor([[0]]), m.ones(1, 1)), [A]),
    ("scatter_bad_reduce", lambda m, x: x.scatter(0, m.tensor([[0]]), 1.0, reduce="max"), [A]),
    ("index_select_neg", lambda m, x: x.index_select(0, m.tensor([-1])), [A]),
    ("index_select_float", lambda m, x: x.index_select(0, m.tensor([0.0])), [A]),
    ("select_range", lambda m, x: x.select(0, 3), [A]),
    ("select_dim", lambda m, x: x.select(2, 0), [A]),
    ("kthvalue_range", lambda m, x: x.kthvalue(5), [A]),
    ("take_range", lambda m, x: x.take(m.tensor([12])), [A]),
    ("trace_3d", lambda m, x: x.trace(), [B]),
    ("unfold_too_big", lambda m, x: x.unfold(0, 4, 1), [A]),
    ("unfold_step0", lambda m, x: x.unfold(0, 2, 0), [A]),
    ("rot90_dims", lambda m, x: x.rot90(1, (0, 0)), [A]),
    ("rot90_1d", lambda m, x: x.rot90(), [(3,)]),
    ("hsplit_indivisible", lambda m, x: x.hsplit(3), [A]),
    ("vsplit_1d", lambda m, x: x.vsplit(1), [(3,)]),
    ("as_strided_too_big", lambda m, x: x.as_strided((3, 3), (3, 1)), [(8,)]),
    ("index_add_shape", lambda m, x: x.detach().index_add(0, m.tensor([1]), m.ones(1, 3, dtype=m.float64)), [A]),
    ("index_copy_dtype", lambda m, x: x.detach().index_copy(0, m.tensor([1]), m.ones(1, 4)), [A]),
    ("scatter_reduce_bad", lambda m, x: x.scatter_reduce(0, m.tensor([[0]]), x, "maxx"), [A]),
    ("fill_diagonal_1d", lambda m, x: x.detach().fill_diagonal_(1.0), [(3,)]),
    ("fill_diagonal_uneven", lambda m, x: x.detach().fill_diagonal_(1.0), [B]),
    ("inplace_float_to_int", lambda m, x: m.tensor([1, 2]).add_(1.5), [A]),
]


@pytest.mark.parametrize("name,fn,spec", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(name, fn, spec):
    arrs = _inputs(spec, seed=0)
    _, _, terr = _run(torch, fn, arrs, "contiguous")
    assert terr is not None, "the case is meant to raise in torch"
    _, gout, gerr = _run(tg, fn, arrs, "contiguous")
    assert gerr is not None, f"torch raised {type(terr).__name__}: {terr}; tinygrad_cn returned {gout!r}"
    assert isinstance(gerr, type(terr)), f"torch raised {type(terr).__name__}: {terr}\ntinygrad_cn raised {gerr!r}"


# -- random indices: reads and writes as torch ---------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, strategies as st  # noqa: E402


@st.composite
def _random_index(draw):
    """A shape and a torch index for it: ints, slices (steps), None, ..., lists, int and bool tensors,
    several advanced indices (broadcastable), anywhere."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    adv_shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    items, ellipsis_used = [], False
    dims = list(range(len(shape)))
    i = 0
    while i < len(dims):
        n = shape[dims[i]]
        kind = draw(st.sampled_from(["int", "slice", "list", "tensor", "mask", "none", "ellipsis", "stop"]))
        if kind == "stop":
            break
        if kind == "none":
            items.append(None)
            continue
        if kind == "ellipsis":
            if not ellipsis_used:
                ellipsis_used = True
                skip = draw(st.integers(0, len(dims) - i))
                items.append(Ellipsis)
                i += skip
            continue
        if kind == "int":
            items.append(("int", draw(st.integers(-n, n - 1))))
        elif kind == "slice":
            a = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            b = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            items.append(("slice", slice(a, b, draw(st.one_of(st.none(), st.integers(1, 3))))))
        elif kind in ("list", "tensor"):
            k = int(np.prod(adv_shape)) if adv_shape else 1
            vals = draw(st.lists(st.integers(-n, n - 1), min_size=k, max_size=k))
            arr = np.array(vals, dtype=np.int64).reshape(adv_shape)
            # a trailing-1 variant broadcasts against the others
            items.append((kind, arr))
        else:  # mask over this dim
            items.append(("mask", np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))))
        i += 1
    n_masks = sum(1 for it in items if isinstance(it, tuple) and it[0] == "mask")
    n_adv = sum(1 for it in items if isinstance(it, tuple) and it[0] in ("list", "tensor"))
    hypothesis.assume(n_masks == 0 or (n_masks == 1 and n_adv == 0))
    return shape, items


def _materialize(m, items):
    out = []
    for it in items:
        if it is None or it is Ellipsis:
            out.append(it)
        elif it[0] in ("int", "slice"):
            out.append(it[1])
        elif it[0] == "list":
            out.append(it[1].tolist())
        else:
            out.append(m.tensor(it[1]))
    return tuple(out)


@given(_random_index())
def test_random_getitem_matches_torch(case):
    shape, items = case
    a = np.random.default_rng(0).standard_normal(shape)
    t = torch.tensor(a, requires_grad=True)
    try:
        expected = t[_materialize(torch, items)]
    except (IndexError, RuntimeError, ValueError) as e:
        with pytest.raises(type(e)):
            tg.tensor(a)[_materialize(tg, items)]
        return
    x = tg.tensor(a, requires_grad=True)
    got = x[_materialize(tg, items)]
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got._data, expected.detach().numpy())
    w = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (expected * torch.from_numpy(w)).sum().backward()
    (got * tg.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad._data, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    # a view in torch (basic index) is a view here
    assert (got._base is not None) == (expected._base is not None)


@given(_random_index(), st.booleans())
def test_random_setitem_matches_torch(case, scalar):
    shape, items = case
    a = np.random.default_rng(0).standard_normal(shape)
    try:
        region = torch.tensor(a)[_materialize(torch, items)].shape
    except (IndexError, RuntimeError, ValueError):
        return
    v = np.random.default_rng(2).standard_normal(tuple(region)[1:] if len(region) and not scalar else ())
    tx, tv = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
    gx, gv = tg.tensor(a, requires_grad=True), tg.tensor(v, requires_grad=True)
    ty, gy = tx * 1, gx * 1
    ty[_materialize(torch, items)] = tv
    gy[_materialize(tg, items)] = gv
    np.testing.assert_array_equal(gy._data, ty.detach().numpy())
    (ty * ty).sum().backward()
    (gy * gy).sum().backward()
    np.testing.assert_allclose(gx.grad._data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    # repeated positions: torch leaves the winner unspecified, so compare value grads only without repeats
    flat = np.arange(int(np.prod(shape))).reshape(shape)
    hit = torch.tensor(flat)[_materialize(torch, items)].numpy().ravel()
    if len(np.unique(hit)) == hit.size:
        np.testing.assert_allclose(gv.grad._data, tv.grad.numpy(), rtol=1e-12, atol=1e-12)
