"""Element-wise activations, forward and backward, on n float32 values.

Ours is the kernel in tinygrad_cn._C.kernels; NumPy is the formula a NumPy
user would write (scipy.special.erf for the exact GELU, if scipy is there);
torch is torch.* / F.* forward and torch.ops.aten.*_backward. Forward kernels
take x, backward kernels take (y, g) for relu/sigmoid/tanh (from the output)
and (x, g, **same kwargs as forward) for the others (from the input).
"""

import math

import numpy as np

from tinygrad_cn._C import kernels as K

from .suite_common import Case, same_values, torch

try:
    from scipy.special import erf
except ImportError:  # the exact GELU has no NumPy formula without erf
    erf = None

TITLE = "Element-wise activations"
# Python floats, not np.float64 scalars: NumPy 2 keeps float32 arrays float32
# with a Python float but promotes them to float64 with an np.float64.
GELU_C = math.sqrt(2 / math.pi)  # tanh-form GELU constant
SQRT2, SQRT_2PI = math.sqrt(2), math.sqrt(2 * math.pi)


def _inputs(n):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(np.float32)  # wide enough to hit every branch
    return {
        "x": x,
        "xpos": np.abs(x) + np.float32(1e-3),  # log's domain
        "g": rng.standard_normal(n).astype(np.float32),
        "y_sig": 1 / (1 + np.exp(-x)),
        "y_tanh": np.tanh(x),
        "y_relu": np.maximum(x, 0),
    }


# --------------------------------------------------------------------------
# NumPy, written the natural way
# --------------------------------------------------------------------------

# x * x * x rather than x ** 3: NumPy sends a cube to powf, ~20x slower,
# which would make the NumPy column a straw man.
def _np_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(GELU_C * (x + 0.044715 * x * x * x)))


def _np_gelu_tanh_backward(x, g):
    t = np.tanh(GELU_C * (x + 0.044715 * x * x * x))
    return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x))


def _np_gelu_erf(x):
    return 0.5 * x * (1 + erf(x / SQRT2))


def _np_gelu_erf_backward(x, g):
    cdf = 0.5 * (1 + erf(x / SQRT2))
    pdf = np.exp(-0.5 * x * x) / SQRT_2PI
    return g * (cdf + x * pdf)


def _np_silu_backward(x, g):
    s = 1 / (1 + np.exp(-x))
    return g * s * (1 + x * (1 - s))


# --------------------------------------------------------------------------
# the registry: (name, kernel, ours, numpy, torch, arrays in+out per element)
# --------------------------------------------------------------------------

def _registry(d):
    x, xp, g = d["x"], d["xpos"], d["g"]
    ys, yt, yr = d["y_sig"], d["y_tanh"], d["y_relu"]
    T = _torch_fns(d)
    np_gelu_erf = (lambda: _np_gelu_erf(x)) if erf else None
    np_gelu_erf_bw = (lambda: _np_gelu_erf_backward(x, g)) if erf else None
    fwd = [
        ("sigmoid", "sigmoid", lambda: K.sigmoid(x), lambda: 1 / (1 + np.exp(-x))),
        ("tanh", "tanh", lambda: K.tanh(x), lambda: np.tanh(x)),
        ("relu", "relu", lambda: K.relu(x), lambda: np.maximum(x, 0)),
        ("exp", "exp", lambda: K.exp(x), lambda: np.exp(x)),
        ("log", "log", lambda: K.log(xp), lambda: np.log(xp)),
        ("gelu (tanh)", "gelu", lambda: K.gelu(x, approximate="tanh"), lambda: _np_gelu_tanh(x)),
        ("gelu (erf)", "gelu", lambda: K.gelu(x, approximate="none"), np_gelu_erf),
        ("silu", "silu", lambda: K.silu(x), lambda: x / (1 + np.exp(-x))),
        ("softplus", "softplus", lambda: K.softplus(x, beta=1.0, threshold=20.0), lambda: np.logaddexp(0, x)),
        ("elu", "elu", lambda: K.elu(x, alpha=1.0), lambda: np.where(x > 0, x, np.expm1(x))),
        ("leaky_relu", "leaky_relu", lambda: K.leaky_relu(x, negative_slope=0.01),
         lambda: np.where(x > 0, x, 0.01 * x)),
        ("hardtanh", "hardtanh", lambda: K.hardtanh(x, min_val=-1.0, max_val=1.0), lambda: np.clip(x, -1, 1)),
        ("logsigmoid", "logsigmoid", lambda: K.logsigmoid(x), lambda: -np.logaddexp(0, -x)),
    ]
    bwd = [
        # from the forward output y
        ("relu_backward", "relu_backward", lambda: K.relu_backward(yr, g), lambda: g * (yr > 0)),
        ("sigmoid_backward", "sigmoid_backward", lambda: K.sigmoid_backward(ys, g), lambda: g * ys * (1 - ys)),
        ("tanh_backward", "tanh_backward", lambda: K.tanh_backward(yt, g), lambda: g * (1 - yt * yt)),
        # from the forward input x
        ("gelu_backward (tanh)", "gelu_backward", lambda: K.gelu_backward(x, g, approximate="tanh"),
         lambda: _np_gelu_tanh_backward(x, g)),
        ("gelu_backward (erf)", "gelu_backward", lambda: K.gelu_backward(x, g, approximate="none"), np_gelu_erf_bw),
        ("silu_backward", "silu_backward", lambda: K.silu_backward(x, g), lambda: _np_silu_backward(x, g)),
        ("softplus_backward", "softplus_backward", lambda: K.softplus_backward(x, g, beta=1.0, threshold=20.0),
         lambda: np.where(x > 20, g, g / (1 + np.exp(-x)))),
        ("elu_backward", "elu_backward", lambda: K.elu_backward(x, g, alpha=1.0),
         lambda: np.where(x > 0, g, g * np.exp(x))),
        ("leaky_relu_backward", "leaky_relu_backward", lambda: K.leaky_relu_backward(x, g, negative_slope=0.01),
         lambda: np.where(x > 0, g, 0.01 * g)),
        ("hardtanh_backward", "hardtanh_backward",
         lambda: K.hardtanh_backward(x, g, min_val=-1.0, max_val=1.0), lambda: g * ((x > -1) & (x < 1))),
        ("logsigmoid_backward", "logsigmoid_backward", lambda: K.logsigmoid_backward(x, g),
         lambda: g / (1 + np.exp(x))),
    ]
    n_bytes = x.nbytes
    cases = []
    for arrays, table in ((2, fwd), (3, bwd)):  # forward reads x, writes y; backward reads two
        for name, kernel, ours, numpy_fn in table:
            cases.append(Case(name, ours, numpy_fn, T.get(name), needs=(kernel,), bytes=arrays * n_bytes,
                              check=same_values(ours, numpy_fn, rtol=1e-4, atol=1e-5) if numpy_fn else None,
                              note="" if numpy_fn else "numpy: n/a (needs scipy.special.erf)"))
    return cases


def _torch_fns(d):
    if torch is None:
        return {}
    import torch.nn.functional as TF
    x, xp, g, ys, yt, yr = (torch.from_numpy(d[k]) for k in ("x", "xpos", "g", "y_sig", "y_tanh", "y_relu"))
    aten = torch.ops.aten
    _, ls_buffer = aten.log_sigmoid_forward(x)  # the CPU backward takes the forward's buffer
    return {
        "sigmoid": lambda: torch.sigmoid(x),
        "tanh": lambda: torch.tanh(x),
        "relu": lambda: torch.relu(x),
        "exp": lambda: torch.exp(x),
        "log": lambda: torch.log(xp),
        "gelu (tanh)": lambda: TF.gelu(x, approximate="tanh"),
        "gelu (erf)": lambda: TF.gelu(x),
        "silu": lambda: TF.silu(x),
        "softplus": lambda: TF.softplus(x, beta=1.0, threshold=20.0),
        "elu": lambda: TF.elu(x, alpha=1.0),
        "leaky_relu": lambda: TF.leaky_relu(x, 0.01),
        "hardtanh": lambda: TF.hardtanh(x, -1.0, 1.0),
        "logsigmoid": lambda: TF.logsigmoid(x),
        "relu_backward": lambda: aten.threshold_backward(g, yr, 0),
        "sigmoid_backward": lambda: aten.sigmoid_backward(g, ys),
        "tanh_backward": lambda: aten.tanh_backward(g, yt),
        "gelu_backward (tanh)": lambda: aten.gelu_backward(g, x, approximate="tanh"),
        "gelu_backward (erf)": lambda: aten.gelu_backward(g, x, approximate="none"),
        "silu_backward": lambda: aten.silu_backward(g, x),
        "softplus_backward": lambda: aten.softplus_backward(g, x, 1.0, 20.0),
        "elu_backward": lambda: aten.elu_backward(g, 1.0, 1, 1, False, x),
        "leaky_relu_backward": lambda: aten.leaky_relu_backward(g, x, 0.01, False),
        "hardtanh_backward": lambda: aten.hardtanh_backward(g, x, -1.0, 1.0),
        "logsigmoid_backward": lambda: aten.log_sigmoid_backward(g, x, ls_buffer),
    }


def cases(cfg):
    n = cfg.elementwise_n
    cfg.notes.append("n = %d float32 (x = 3 * randn; log on |x| + 1e-3). NumPy's ufuncs are single-threaded: "
                     "its column is one measurement shown at every thread count. GB/s counts the arrays the "
                     "kernel must read and write (2 x 4n bytes forward, 3 x 4n backward)." % n)
    return _registry(_inputs(n))
