"""NumPy reference of the 2-D convolution and max-pooling kernels (csrc/im2col.c).

Same names and signatures as the compiled bindings in _conv.pxi:

    conv2d_forward(x, weight, bias, stride, padding, dilation, groups) -> y
    conv2d_backward_input(grad_output, weight, input_size, stride, padding, dilation, groups) -> grad_input
    conv2d_backward_weight(x, grad_output, weight_size, stride, padding, dilation, groups) -> grad_weight
    conv2d_backward_bias(grad_output) -> grad_bias
    max_pool2d(x, kernel_size, stride, padding, dilation, output_size) -> (y, indices)
    max_pool2d_backward(grad_output, indices, input_size) -> grad_input

Arrays are 4-D NCHW (any strides); weight (O, C/groups, kh, kw); bias (O,)
or None. ``stride`` and ``dilation`` are pairs; a convolution's ``padding``
is ((top, bottom), (left, right)), a pool's (top, left) with the output
plane ``output_size`` given (ceil_mode is the caller's business). Sizes are
tuples of ints: ``input_size`` (N, C, H, W), ``weight_size`` (O, C/g, kh, kw).
Max-pool indices are int64 flat positions h*W + w in each input plane,
chosen as torch does: NaN wins (the last NaN of a window), ties go to the
first maximum in window order, and padding never wins.

Convolution is im2col (one strided view copied once) and one matmul per
group. The private _conv_geometry validates arguments for both backends.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["conv2d_forward", "conv2d_backward_input", "conv2d_backward_weight", "conv2d_backward_bias",
           "max_pool2d", "max_pool2d_backward"]


def _pairs(stride, padding, dilation):
    (sh, sw), (dh, dw) = (int(s) for s in stride), (int(d) for d in dilation)
    (pt, pb), (pl, pr) = ((int(a), int(b)) for a, b in padding)
    return (sh, sw), ((pt, pb), (pl, pr)), (dh, dw)


def _conv_geometry(xshape, wshape, stride, padding, dilation, groups):
    """(stride, pads, dilation, groups, (OH, OW)) after checking that the
    shapes fit; RuntimeError naming both shapes otherwise."""
    stride, pads, dil = _pairs(stride, padding, dilation)
    groups = int(groups)
    xshape, wshape = tuple(int(e) for e in xshape), tuple(int(e) for e in wshape)
    if len(xshape) != 4 or len(wshape) != 4:
        raise RuntimeError("conv2d kernels expect a 4-D input and weight, got input %s and weight %s"
                           % (list(xshape), list(wshape)))
    if min(stride) < 1 or min(dil) < 1 or groups < 1 or min(min(p) for p in pads) < 0:
        raise RuntimeError("conv2d kernels: stride, dilation and groups must be positive and padding >= 0, got "
                           "stride %s, padding %s, dilation %s, groups %d" % (stride, pads, dil, groups))
    if wshape[0] % groups or xshape[1] != wshape[1] * groups:
        raise RuntimeError("conv2d kernels: input %s does not fit weight %s with groups=%d"
                           % (list(xshape), list(wshape), groups))
    ohw = tuple((xshape[2 + i] + pads[i][0] + pads[i][1] - dil[i] * (wshape[2 + i] - 1) - 1) // stride[i] + 1
                for i in range(2))
    if min(ohw) < 1:
        raise RuntimeError("conv2d kernels: input %s is smaller than the (dilated) kernel of weight %s"
                           % (list(xshape), list(wshape)))
    return stride, pads, dil, groups, ohw


def _cols(x, k, stride, pads, dil, ohw):
    """Columns (N, C*kh*kw, OH*OW) of the zero-padded input: one copy of a
    strided view."""
    (pt, pb), (pl, pr) = pads
    n, c, h, w = x.shape
    if pt or pb or pl or pr:  # zeros + one slice copy: np.pad is several times slower
        xp = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=x.dtype)
        xp[:, :, pt:pt + h, pl:pl + w] = x
    else:
        xp = x
    sn, sc, sh, sw = xp.strides
    v = as_strided(xp, (n, c, k[0], k[1], ohw[0], ohw[1]),
                   (sn, sc, sh * dil[0], sw * dil[1], sh * stride[0], sw * stride[1]), writeable=False)
    return v.reshape(n, c * k[0] * k[1], ohw[0] * ohw[1])


def _grouped(w, groups):
    """weight (O, C/g, kh, kw) -> (g, O/g, C/g*kh*kw)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    """y = conv(x, weight) (+ bias): cross-correlation, as torch's conv2d."""
    x, weight = np.asarray(x), np.asarray(weight)
    stride, pads, dil, groups, ohw = _conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    n, o = x.shape[0], weight.shape[0]
    cols = _cols(x, weight.shape[2:], stride, pads, dil, ohw)  # (N, C*kh*kw, L)
    cols = cols.reshape(n, groups, -1, cols.shape[-1])
    y = np.matmul(_grouped(weight, groups), cols)  # (N, g, O/g, L)
    y = y.reshape(n, o, ohw[0], ohw[1])
    if bias is not None:
        y += np.asarray(bias, dtype=y.dtype).reshape(-1, 1, 1)
    return np.ascontiguousarray(y)


def conv2d_backward_input(grad_output, weight, input_size, stride, padding, dilation, groups):
    """The adjoint of conv in x: columns = W^T @ grad_output, then col2im,
    one strided slice added per kernel offset."""
    g, weight = np.asarray(grad_output), np.asarray(weight)
    stride, pads, dil, groups, ohw = _conv_geometry(input_size, weight.shape, stride, padding, dilation, groups)
    n, c, h, w = (int(e) for e in input_size)
    if g.shape != (n, weight.shape[0]) + ohw:
        raise RuntimeError("conv2d_backward_input: grad_output %s does not match the output %s"
                           % (list(g.shape), [n, weight.shape[0], *ohw]))
    kh, kw = weight.shape[2:]
    oh, ow = ohw
    (pt, pb), (pl, pr) = pads
    wt = _grouped(weight, groups).transpose(0, 2, 1)  # (g, C/g*kh*kw, O/g)
    dcols = np.matmul(wt, g.reshape(n, groups, -1, oh * ow))  # (N, g, C/g*kh*kw, L)
    dcols = dcols.reshape(n, c, kh, kw, oh, ow)
    gx = np.zeros((n, c, h + pt + pb, w + pl + pr), dtype=dcols.dtype)
    for i in range(kh):
        r0 = i * dil[0]
        rs = slice(r0, r0 + stride[0] * (oh - 1) + 1, stride[0])
        for j in range(kw):
            c0 = j * dil[1]
            gx[:, :, rs, c0:c0 + stride[1] * (ow - 1) + 1:stride[1]] += dcols[:, :, i, j]
    return np.ascontiguousarray(gx[:, :, pt:pt + h, pl:pl + w])


def conv2d_backward_weight(x, grad_output, weight_size, stride, padding, dilation, groups):
    """The adjoint of conv in w: grad_output @ columns^T summed over samples."""
    x, g = np.asarray(x), np.asarray(grad_output)
    stride, pads, dil, groups, ohw = _conv_geometry(x.shape, weight_size, stride, padding, dilation, groups)
    o = int(weight_size[0])
    n = x.shape[0]
    if g.shape != (n, o) + ohw:
        raise RuntimeError("conv2d_backward_weight: grad_output %s does not match the output %s"
                           % (list(g.shape), [n, o, *ohw]))
    cols = _cols(x, tuple(int(e) for e in weight_size[2:]), stride, pads, dil, ohw)
    cols = cols.reshape(n, groups, -1, cols.shape[-1])  # (N, g, kk, L)
    gg = g.reshape(n, groups, o // groups, -1)  # (N, g, O/g, L)
    gw = np.einsum("ngol,ngkl->gok", gg, cols, optimize=True)
    return np.ascontiguousarray(gw.astype(np.result_type(x, g), copy=False)).reshape(tuple(int(e) for e in
                                                                                         weight_size))


def conv2d_backward_bias(grad_output):
    """grad_bias (O,): grad_output (N, O, ...) summed over every dim but 1."""
    g = np.asarray(grad_output)
    if g.ndim < 2:
        raise RuntimeError("conv2d_backward_bias expects grad_output of at least 2 dims, got %s" % (list(g.shape),))
    return g.sum(axis=(0,) + tuple(range(2, g.ndim)))


def _windows_hold_input(size, k, s, p, d, n_out):
    """Does every window (start o*s - p, k taps d apart) hold a real element?
    Else its index would point outside the plane. Only the windows that
    start in the padding or end past the input can fail; they are few."""
    def real(o):
        start = o * s - p
        t = 0 if start >= 0 else -(start // d)  # first tap at or after 0: ceil(-start / d)
        return t < k and start + t * d < size

    left = min(n_out, -(-p // s))  # windows starting before 0
    right = max(left, -(-(size + p - (k - 1) * d) // s))  # windows ending at or past `size`
    return all(real(o) for o in range(left)) and all(real(o) for o in range(right, n_out))


def _pool_check(x, kernel_size, stride, padding, dilation, output_size):
    k, s, p, d, ohw = (tuple(int(e) for e in v) for v in (kernel_size, stride, padding, dilation, output_size))
    if x.ndim != 4:
        raise RuntimeError("max_pool2d kernel expects a 4-D input, got %s" % (list(x.shape),))
    h, w = x.shape[2:]
    for i, size in enumerate((h, w)):
        if k[i] < 1 or s[i] < 1 or d[i] < 1 or ohw[i] < 1 or p[i] < 0:
            raise RuntimeError("max_pool2d kernel: bad geometry kernel %s stride %s padding %s dilation %s "
                               "output %s" % (k, s, p, d, ohw))
        if not _windows_hold_input(size, k[i], s[i], p[i], d[i], ohw[i]):
            raise RuntimeError("max_pool2d kernel: output %s does not fit input %s with kernel %s stride %s "
                               "padding %s dilation %s" % (ohw, list(x.shape), k, s, p, d))
    return k, s, p, d, ohw


def max_pool2d(x, kernel_size, stride, padding, dilation, output_size):
    """(y, indices): the maximum of each window and its flat position in the
    input plane (see the module docstring for NaN, ties and -inf)."""
    x = np.asarray(x)
    k, s, p, d, (oh, ow) = _pool_check(x, kernel_size, stride, padding, dilation, output_size)
    n, c, h, w = x.shape
    # pad right/bottom far enough for every window (ceil_mode lets the last one run past the input)
    ph = max(p[0], (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + p[0]))
    pw = max(p[1], (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + p[1]))
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = np.full((n, c, h + p[0] + ph, w + p[1] + pw), fill, dtype=x.dtype)
    xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w] = x
    sn, sc, sh, sw = xp.strides
    win = as_strided(xp, (n, c, oh, ow, k[0], k[1]), (sn, sc, sh * s[0], sw * s[1], sh * d[0], sw * d[1]),
                     writeable=False).reshape(n, c, oh, ow, k[0] * k[1])
    a = win.argmax(axis=-1)
    if x.dtype.kind == "f":
        nan = np.isnan(win)
        last_nan = k[0] * k[1] - 1 - nan[..., ::-1].argmax(axis=-1)
        a = np.where(nan.any(axis=-1), last_nan, a)
    rows = np.arange(oh).reshape(-1, 1) * s[0] - p[0] + (a // k[1]) * d[0]
    cols = np.arange(ow) * s[1] - p[1] + (a % k[1]) * d[1]
    # a window whose real elements are all the fill value may pick padding: torch then names its first real one
    pad = (rows < 0) | (rows >= h) | (cols < 0) | (cols >= w)
    if pad.any():
        r0 = np.arange(oh).reshape(-1, 1) * s[0] - p[0]
        c0 = np.arange(ow) * s[1] - p[1]
        first_r = r0 + (-(-np.maximum(-r0, 0) // d[0])) * d[0]
        first_c = c0 + (-(-np.maximum(-c0, 0) // d[1])) * d[1]
        rows = np.where(pad, np.broadcast_to(first_r, pad.shape), rows)
        cols = np.where(pad, np.broadcast_to(first_c, pad.shape), cols)
    idx = (rows * w + cols).astype(np.int64)
    y = np.take_along_axis(x.reshape(n, c, h * w), idx.reshape(n, c, oh * ow), axis=2).reshape(n, c, oh, ow)
    return y, idx


def max_pool2d_backward(grad_output, indices, input_size):
    """grad_input (N, C, H, W): grad_output added at ``indices`` of each plane."""
    g, idx = np.asarray(grad_output), np.asarray(indices)
    n, c, h, w = (int(e) for e in input_size)
    if g.shape != idx.shape or g.ndim != 4 or g.shape[:2] != (n, c):
        raise RuntimeError("max_pool2d_backward: grad_output %s and indices %s do not fit input %s"
                           % (list(g.shape), list(idx.shape), [n, c, h, w]))
    planes, hw = n * c, h * w
    if idx.size and (idx.min() < 0 or idx.max() >= hw):
        raise RuntimeError("max_pool2d_backward: an index is outside the input plane of %d elements" % hw)
    flat = idx.reshape(planes, -1) + (np.arange(planes, dtype=np.int64) * hw).reshape(-1, 1)
    out = np.bincount(flat.reshape(-1), weights=g.reshape(-1), minlength=planes * hw)
    return out.astype(g.dtype, copy=False).reshape(n, c, h, w)
