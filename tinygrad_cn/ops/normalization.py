"""Normalisation, attention and interpolation, as torch.nn.functional.

batch/instance/layer/group norm run through one ``Standardize`` Function:
moments and the affine output in NumPy, the closed-form backward
``dx = invstd (g w - mean(g w) - xhat mean(g w xhat))`` (``dw = sum(g xhat)``,
``db = sum(g)``), and under create_graph a differentiable recomputation, so
double backward works. Everything else is composed from differentiable
Tensor ops.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import STATE, enable_grad, no_grad
from ..tensor import Tensor

_make = Tensor._make


def _moments(a: np.ndarray, axes):
    """Mean and biased variance of ``a`` over ``axes`` (kept), in ``a``'s dtype."""
    mean = a.mean(axis=axes, keepdims=True)
    xc = a - mean
    var = np.mean(np.square(xc, out=xc), axis=axes, keepdims=True)
    return mean, var


def _standardize_composite(x: Tensor, w, b, axes, eps: float) -> Tensor:
    mean = x.mean(axes, keepdim=True)
    xc = x - mean
    var = (xc * xc).mean(axes, keepdim=True)
    y = xc * (var + eps).rsqrt()
    if w is not None:
        y = y * w
    if b is not None:
        y = y + b
    return y


def _sum_to(a: np.ndarray, shape) -> np.ndarray:
    """``a`` summed over the axes where ``shape`` (same ndim) is 1 but ``a`` is not."""
    axes = tuple(i for i, (s, t) in enumerate(zip(shape, a.shape)) if s == 1 and t != 1)
    return a.sum(axis=axes, keepdims=True) if axes else a


class Standardize(Function):
    """``(x - mean) / sqrt(var + eps) * w + b`` over ``axes`` (biased variance) from
    precomputed moments; ``w`` and ``b`` (or None) have x's ndim and broadcast against it.
    Closed-form backward: with ``g' = g w``, ``dx = invstd (g' - mean(g') - xhat mean(g' xhat))``,
    ``dw = sum(g xhat)``, ``db = sum(g)`` over w's broadcast axes; under create_graph the same
    gradients run through differentiable tensor code (double backward)."""

    node_name = "NativeBatchNormBackward0"

    @staticmethod
    def forward(ctx, x, w, b, mean, var, axes, eps):
        invstd = 1.0 / np.sqrt(var + eps)
        xhat = x._data - mean
        xhat *= invstd
        ctx.save_for_backward(x, w, b)
        ctx.xhat, ctx.invstd, ctx.axes, ctx.eps = xhat, invstd, axes, eps
        out = xhat * w._data if w is not None else xhat.copy()
        if b is not None:
            out += b._data
        return out

    @staticmethod
    def backward(ctx, g):
        axes, eps = ctx.axes, ctx.eps
        x, w, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if STATE.enabled:  # create_graph: differentiable recomputation
            from ..autograd import grad as _grad
            with enable_grad():
                ins = [t if t is not None and t.requires_grad else (t.detach() if t is not None else None)
                       for t in (x, w, b)]
                xx = ins[0] if ins[0].requires_grad else ins[0].requires_grad_()
                y = _standardize_composite(xx, ins[1], ins[2], axes, eps)
                wrt = [t for t, n in zip((xx, ins[1], ins[2]), needs[:3]) if n]
                grads = iter(_grad(y, wrt, g, create_graph=True, allow_unused=True))
                out = [next(grads) if n else None for n in needs[:3]]
            return out[0], out[1], out[2], None, None, None, None
        xhat, gd = ctx.xhat, g._data
        dt = xhat.dtype
        gw = gb = dx = None
        if needs[1]:
            gw = _make(_sum_to(gd * xhat, w._data.shape).astype(dt, copy=False))
        if needs[2]:
            gb = _make(_sum_to(gd, b._data.shape).astype(dt, copy=False))
        if needs[0]:
            gp = gd * w._data if w is not None else gd
            dx = gp - gp.mean(axis=axes, keepdims=True)
            dx -= xhat * (gp * xhat).mean(axis=axes, keepdims=True)
            dx *= ctx.invstd
            dx = _make(dx.astype(dt, copy=False))
        return dx, gw, gb, None, None, None, None


def _standardize(x: Tensor, axes, eps: float, w=None, b=None):
    """Standardised ``x`` over ``axes`` (times ``w`` plus ``b``, broadcast shapes) and the
    (mean, biased var) arrays used."""
    mean, var = _moments(x._data, axes)
    dt = x._data.dtype
    if dt.kind != "f" or any(t is not None and t._data.dtype != dt for t in (w, b)):
        return _standardize_composite(x, w, b, axes, eps), mean, var
    return Standardize.apply(x, w, b, mean, var, axes, eps), mean, var


def _channel_shape(input: Tensor):
    shape = [1] * input.ndim
    shape[1] = input.shape[1]
    return shape


def _shaped(weight, bias, shape):
    return tuple(None if t is None else t.reshape(shape) for t in (weight, bias))


def _affine(y: Tensor, weight, bias, shape):
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def _verify_batch_size(size) -> None:
    n = size[0]
    for s in size[2:]:
        n *= s
    if n == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size!r}")


def _check_stat(name, t, c):
    if t is not None and t.numel() != c:
        raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")


def _check_dtypes(input: Tensor, *params):
    """torch's CPU mixed-dtype rules: the defined parameters share one dtype, which is the input's
    (or float32 under a float16 input)."""
    from .linalg import _TYPE_WORDS
    params = [t for t in params if t is not None]
    if not params:
        return
    word = lambda d: _TYPE_WORDS.get(d.name, d.name)  # noqa: E731
    pt, dt = params[0]._data.dtype, input._data.dtype
    if pt != dt:  # "mixed type": every parameter float32 under a reduced-precision input
        if any(t._data.dtype != np.float32 for t in params):
            raise RuntimeError("mixed dtype (CPU): expect parameter to have scalar type of Float")
        if dt != np.float16:
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")
        return
    for t in params[1:]:
        if t._data.dtype != dt:
            raise RuntimeError(f"expected scalar type {word(dt)} but found {word(t._data.dtype)}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation over (N, C), (N, C, L) or (N, C, H, W) (any (N, C, *)), as
    ``torch.nn.functional.batch_norm``. In training the batch statistics normalise (biased
    variance) and the running buffers are updated in place with the unbiased variance."""
    c = input.shape[1] if input.ndim > 1 else 0
    _check_stat("running_mean", running_mean, c)
    _check_stat("running_var", running_var, c)
    _check_stat("weight", weight, c)
    _check_stat("bias", bias, c)
    if input.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {input.ndim}D input)")
    if momentum is None:
        raise TypeError("batch_norm(): argument 'momentum' (position 7) must be float, not NoneType")
    if training:
        _verify_batch_size(input.shape)
    _check_dtypes(input, weight, bias, running_mean, running_var)
    shape = _channel_shape(input)
    dims = (0,) + tuple(range(2, input.ndim))
    if training or running_mean is None or running_var is None:
        if not training:
            which = "running_mean" if running_mean is None else "running_var"
            raise RuntimeError(f"{which} must be defined in evaluation mode")
        y, mean, var = _standardize(input, dims, eps, *_shaped(weight, bias, shape))
        if running_mean is not None or running_var is not None:
            n = input.numel() // c
            with no_grad():
                m = momentum
                if running_mean is not None:
                    new = _make(mean.reshape(c).astype(running_mean._data.dtype))
                    running_mean.mul_(1 - m).add_(new * m)
                if running_var is not None:
                    unbiased = _make((var.reshape(c) * (n / (n - 1))).astype(running_var._data.dtype))
                    running_var.mul_(1 - m).add_(unbiased * m)
    else:
        y = (input - running_mean.reshape(shape)) * (running_var.reshape(shape) + eps).rsqrt()
        y = _affine(y, weight, bias, shape)
    return y


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Per-sample, per-channel normalisation over the spatial dims, as
    ``torch.nn.functional.instance_norm``."""
    if input.ndim < 2:
        raise ValueError(f"expected 2D or more input (got {input.ndim}D input)")
    c = input.shape[1]
    shape = _channel_shape(input)
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = 1
    for s in input.shape[2:]:
        spatial *= s
    if spatial == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape!r}")
    dims = tuple(range(2, input.ndim))
    y, mean, var = _standardize(input, dims, eps, *_shaped(weight, bias, shape))
    if running_mean is not None or running_var is not None:
        with no_grad():
            if running_mean is not None:
                new = _make(mean.reshape(-1, c).mean(0).astype(running_mean._data.dtype))
                running_mean.mul_(1 - momentum).add_(new * momentum)
            if running_var is not None:
                unb = _make((var.reshape(-1, c) * (spatial / (spatial - 1))).mean(0).astype(running_var._data.dtype))
                running_var.mul_(1 - momentum).add_(unb * momentum)
    return y


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalisation over the last ``len(normalized_shape)`` dims, as ``torch.nn.functional.layer_norm``."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if weight is not None and tuple(weight.shape) != normalized_shape:
        raise RuntimeError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                           f"{list(weight.shape)} and normalized_shape = {list(normalized_shape)}")
    if bias is not None and tuple(bias.shape) != normalized_shape:
        raise RuntimeError(f"Expected bias to be of same shape as normalized_shape, but got bias of shape "
                           f"{list(bias.shape)} and normalized_shape = {list(normalized_shape)}")
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*, {', '.join(str(s) for s in normalized_shape)}], but got input of size"
                           f"{list(input.shape)}")
    _check_dtypes(input, weight, bias)
    dims = tuple(range(input.ndim - k, input.ndim))
    lead = [1] * (input.ndim - k)
    return _standardize(input, dims, eps, *_shaped(weight, bias, lead + list(normalized_shape)))[0]


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x^2) + eps) * weight`` over the last ``len(normalized_shape)`` dims (eps
    defaults to the dtype's machine epsilon), as ``torch.nn.functional.rms_norm``."""
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = tuple(int(s) for s in normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with shape "
                           f"[*{', '.join(str(s) for s in normalized_shape)}], but got input of size"
                           f"{list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(input.ndim - k, input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalisation over groups of channels, as ``torch.nn.functional.group_norm``."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input "
                           f"of shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, "
                               f"but got {name} of shape {list(t.shape)} and input of shape {list(input.shape)}")
    _check_dtypes(input, weight, bias)
    x = input.reshape(n, num_groups, c // num_groups, -1)
    y = _standardize(x, (2, 3), eps, *_shaped(weight, bias, (1, num_groups, c // num_groups, 1)))[0]
    return y.reshape(input.shape)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``, as ``torch.nn.functional.normalize``."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    from .pointwise import _out
    return _out(input / denom, out)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
    """Local response normalisation across channels, as ``torch.nn.functional.local_response_norm``."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    c = input.shape[1]
    sq = input * input
    pad_lo, pad_hi = size // 2, (size - 1) // 2
    zshape = list(input.shape)
    parts = []
    if pad_lo:
        zshape[1] = pad_lo
        parts.append(_make(np.zeros(zshape, dtype=input._data.dtype)))
    parts.append(sq)
    if pad_hi:
        zshape[1] = pad_hi
        parts.append(_make(np.zeros(zshape, dtype=input._data.dtype)))
    padded = Tensor.cat(parts, 1) if len(parts) > 1 else sq
    acc = padded.narrow(1, 0, c)
    for i in range(1, size):
        acc = acc + padded.narrow(1, i, c)
    div = (acc * (alpha / size) + k).pow(beta)
    return input / div


# -- attention ---------------------------------------------------------------------
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(q k^T * scale + mask) v``, as ``torch.nn.functional.scaled_dot_product_attention``
    (boolean masks keep where True, float masks are added; ``is_causal`` keeps the lower triangle; a
    query whose every key is masked gives 0, as torch 2.x)."""
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and key.ndim >= 3 and query.shape[-3] != key.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, -3)
        value = value.repeat_interleave(rep, -3)
    scores = query.matmul(key.transpose(-2, -1)) * scale
    if is_causal:
        keep = np.tril(np.ones((L, S), dtype=bool))
        scores = scores.masked_fill(_make(~keep), float("-inf"))
    if attn_mask is not None:
        if attn_mask._data.dtype == np.bool_:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    # torch 2.x's math path (_safe_softmax): a row masked out entirely attends
    # to nothing and gives 0, not NaN; its scores are made finite first so
    # that no NaN flows back either
    dead = np.all(np.isneginf(scores._data), axis=-1, keepdims=True)
    if dead.any():
        scores = scores.masked_fill(_make(dead), 0.0)
    attn = scores.softmax(-1)
    if dead.any():
        attn = attn.masked_fill(_make(dead), 0.0)
    if dropout_p > 0.0:
        from ..creation import rand  # the library's generator, so manual_seed makes it reproducible
        keep = (rand(*attn.shape)._data >= dropout_p).astype(attn._data.dtype) / (1 - dropout_p)
        attn = attn * _make(keep)
    return attn.matmul(value)


# -- interpolation -----------------------------------------------------------------
def _out_sizes(input: Tensor, size, scale_factor):
    nsp = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        sizes = [int(size)] * nsp if isinstance(size, (int, np.integer)) else [int(s) for s in size]
        if len(sizes) != nsp:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(input.shape[2:])} and output size of {size}. "
                             f"Please provide input tensor in (N, C, d1, d2, ...,dK) format and output size in "
                             f"(o1, o2, ...,oK) format.")
        return sizes, [None] * nsp
    scales = [float(scale_factor)] * nsp if isinstance(scale_factor, (int, float)) else [float(s) for s in scale_factor]
    if len(scales) != nsp:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(input.shape[2:])} and scale_factor of shape "
                         f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                         f"scale_factor in (s1, s2, ...,sK) format.")
    return [int(math.floor(s * f)) for s, f in zip(input.shape[2:], scales)], scales


def _ratio(in_size, out_size, align_corners, scale):
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else in_size / out_size


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, *) ``input``, as ``torch.nn.functional.interpolate``
    (modes 'nearest', 'nearest-exact', 'linear', 'bilinear', 'trilinear', 'bicubic', 'area');
    one dim at a time, through index_select (nearest, linear) or a matmul with the
    (out, in) interpolation matrix (bicubic, area), so gradients of every order flow."""
    if antialias:
        # torch supports it for bilinear/bicubic downsampling only; we have no anti-aliased kernel
        raise NotImplementedError("interpolate(antialias=True) is not supported by tinygrad_cn")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    linear_modes = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}
    if mode in linear_modes and input.ndim != linear_modes[mode]:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {linear_modes[mode]}D input")
    if mode not in ("nearest", "nearest-exact", "area") and mode not in linear_modes:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) "
                                  f"for the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
                                  f"nearest-exact (got {mode})")
    sizes, scales = _out_sizes(input, size, scale_factor)
    if recompute_scale_factor:
        scales = [None] * len(sizes)
    align = bool(align_corners)
    out = input
    for k, (osz, sc) in enumerate(zip(sizes, scales)):
        d = 2 + k
        isz = input.shape[d]
        dst = np.arange(osz, dtype=np.float64)
        if mode in ("nearest", "nearest-exact"):
            r = np.float32(_ratio(isz, osz, False, sc))
            src = np.floor((dst.astype(np.float32) + (0.5 if mode == "nearest-exact" else 0.0)) * r)
            idx = np.minimum(src.astype(np.int64), isz - 1)
            out = out.index_select(d, _make(idx))
            continue
        if mode in ("area", "bicubic"):
            W = _area_matrix(isz, osz) if mode == "area" else _cubic_matrix(isz, osz, align, sc)
            Wt = _make(np.ascontiguousarray(W.T).astype(input._data.dtype))
            out = out.movedim(d, -1).matmul(Wt).movedim(-1, d)
            continue
        r = _ratio(isz, osz, align, sc)
        src = dst * r if align else np.maximum((dst + 0.5) * r - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), isz - 1)
        i1 = np.minimum(i0 + 1, isz - 1)
        lam = (src - i0).astype(input._data.dtype)
        wshape = [1] * input.ndim
        wshape[d] = osz
        lam_t = _make(lam.reshape(wshape))
        out = out.index_select(d, _make(i0)) * (1 - lam_t) + out.index_select(d, _make(i1)) * lam_t
    return out


def _area_matrix(isz: int, osz: int) -> np.ndarray:
    """Adaptive average pooling as an (osz, isz) matrix: row i averages [floor(i isz / osz), ceil((i+1) isz / osz))."""
    W = np.zeros((osz, isz))
    for i in range(osz):
        a, b = (i * isz) // osz, -((-(i + 1) * isz) // osz)
        W[i, a:b] = 1.0 / (b - a)
    return W


def _cubic_matrix(isz: int, osz: int, align: bool, scale) -> np.ndarray:
    """torch's bicubic (A = -0.75, borders clamped) along one dim as an (osz, isz) matrix."""
    A = -0.75
    r = _ratio(isz, osz, align, scale)
    dst = np.arange(osz, dtype=np.float64)
    src = dst * r if align else (dst + 0.5) * r - 0.5
    i0 = np.floor(src).astype(np.int64)
    t = src - i0

    def near(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    coeffs = (far(t + 1), near(t), near(1 - t), far(2 - t))
    W = np.zeros((osz, isz))
    rows = np.arange(osz)
    for k, c in enumerate(coeffs):
        np.add.at(W, (rows, np.clip(i0 - 1 + k, 0, isz - 1)), c)
    return W


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)
