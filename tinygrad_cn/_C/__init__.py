"""Backend selector for tinygrad_cn's kernels.

    from tinygrad_cn._C import kernels
    y = kernels.sigmoid(x)                 # x: any numpy array
    gx = kernels.sigmoid_backward(y, gy)

``kernels`` is a module-like namespace holding every name in
``KERNEL_NAMES`` and ``compiled`` (bool):

* element-wise (reference.py, ref_activations.py): exp, log, erf, sigmoid,
  tanh, relu, gelu, silu, softplus, logsigmoid, elu, leaky_relu, hardtanh and
  their ``*_backward`` (relu/sigmoid/tanh from the output y, the others from
  the input x);
* GEMM: gemm (with bias / relu epilogue), gemm_batched;
* row-wise (ref_rowwise.py): softmax, log_softmax, their backward,
  cross_entropy (returns loss and the per-row logsumexp, float64) and
  cross_entropy_backward;
* fused optimizer steps over many tensors (ref_optim.py): sgd_step,
  adam_step, rmsprop_step, adagrad_step, adadelta_step, adamax_step,
  nadam_step.
When the compiled extension ``tinygrad_cn._C._kernels`` is importable and
``TINYGRAD_CN_NO_C`` is not set, the functions are the compiled ones
(float32/float64 go to C; any other dtype falls back to NumPy inside the
binding). Otherwise they are the NumPy functions of ``reference``, and
``show_config()["reason"]`` says why.

``reference`` is always available, so tests can run both backends.

Runtime controls: ``set_num_threads`` / ``get_num_threads`` (like torch's),
``simd_level`` / ``set_simd_level`` / ``simd_supported_levels`` and
``show_config()``.
"""

import os
import sys
import types

import numpy as np

from . import reference

__all__ = [
    "kernels",
    "reference",
    "KERNEL_NAMES",
    "KERNEL_DTYPES",
    "show_config",
    "set_num_threads",
    "get_num_threads",
    "simd_level",
    "simd_supported_levels",
    "set_simd_level",
    "have_openmp",
]

#: Names every backend provides: everything the NumPy reference exports (its
#: ``__all__``, gathered from reference.py and ref_*.py). A kernel is added
#: to a reference module (mandatory) and to a .pxi of _kernels.pyx (optional:
#: a name the extension lacks is served by the reference).
KERNEL_NAMES = tuple(reference.__all__)

#: The element types the compiled kernels take; the framework sends other
#: dtypes (float16, integers) down its NumPy paths.
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _truthy(value):
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")


# libgomp's idle threads spin ~300,000 times after each parallel region. On two
# cores they then starve NumPy's BLAS threads: an MLP step (784-256-10, batch 128)
# measured 10-55 ms instead of 2 ms. A short spin keeps back-to-back kernels on
# two threads and lets the other pool run. libgomp reads it once, when the
# extension loads it below; the user's own setting wins.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")


def _load_extension():
    """(module or None, reason or None)."""
    flag = os.environ.get("TINYGRAD_CN_NO_C")
    if _truthy(flag):
        return None, "TINYGRAD_CN_NO_C=%s is set" % flag
    try:
        from . import _kernels
    except Exception as exc:  # ImportError, or an ABI mismatch raising something else
        import glob

        here = os.path.dirname(os.path.abspath(__file__))
        if not glob.glob(os.path.join(here, "_kernels*.so")) + glob.glob(os.path.join(here, "_kernels*.pyd")):
            return None, "compiled extension tinygrad_cn._C._kernels is not built (in %s)" % here
        return None, "compiled extension tinygrad_cn._C._kernels failed to import (%s: %s)" % (
            type(exc).__name__,
            exc,
        )
    return _kernels, None


_ext, _reason = _load_extension()


def _make_kernels():
    ns = types.ModuleType(__name__ + ".kernels", "Kernels of the active backend (see tinygrad_cn._C).")
    src = _ext if _ext is not None else reference
    for name in KERNEL_NAMES:
        setattr(ns, name, getattr(src, name, None) or getattr(reference, name))
    ns.compiled = _ext is not None
    ns.backend = "C" if _ext is not None else "numpy"
    ns.__all__ = list(KERNEL_NAMES)
    return ns


#: Kernels of the active backend.
kernels = _make_kernels()
sys.modules[kernels.__name__] = kernels  # allows `from tinygrad_cn._C.kernels import relu`


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------

class _NumThreadsError(ValueError, RuntimeError):
    """Invalid thread count. torch raises RuntimeError here; ValueError is the
    Python convention. This is both."""


_py_num_threads = 1  # NumPy backend: stored for get_num_threads() only


def set_num_threads(n):
    """Set the number of threads used by the parallel kernels (like
    ``torch.set_num_threads``): ``n`` must be an int >= 1."""
    global _py_num_threads
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError("set_num_threads expects an int, got %s" % type(n).__name__)
    n = n.__index__()
    if n < 1:
        raise _NumThreadsError("set_num_threads expects a positive integer, got %d" % n)
    if _ext is not None:
        _ext.set_num_threads(n)
    else:
        _py_num_threads = n


def get_num_threads():
    """Number of threads used by the parallel kernels (1 without OpenMP or
    on the NumPy backend unless set)."""
    if _ext is not None:
        return _ext.get_num_threads()
    return _py_num_threads


def have_openmp():
    """True when the compiled extension is in use and was built with OpenMP."""
    return _ext is not None and _ext.have_openmp()


# --------------------------------------------------------------------------
# SIMD dispatch
# --------------------------------------------------------------------------

def simd_level():
    """SIMD level of the compiled kernels ("avx512", "avx2", "generic"),
    or "none" on the NumPy backend."""
    return _ext.simd_level() if _ext is not None else "none"


def simd_supported_levels():
    """Levels that can be forced here, lowest first (empty on NumPy)."""
    return _ext.simd_supported_levels() if _ext is not None else ()


def set_simd_level(level):
    """Force a SIMD level ("generic", "avx2", "avx512"), or restore the
    detected best with None or "auto". Returns the previous level.
    Raises ValueError for an unknown name, RuntimeError if this CPU lacks it
    or the compiled backend is not in use."""
    if _ext is None:
        raise RuntimeError("no compiled kernels in use: %s" % _reason)
    return _ext.set_simd_level(level)


# --------------------------------------------------------------------------
# show_config
# --------------------------------------------------------------------------

def show_config(print_=True):
    """Print and return the backend configuration as a dict:
    compiled, simd, simd_supported, openmp, num_threads, numpy, reason."""
    import numpy

    cfg = {
        "compiled": _ext is not None,
        "simd": simd_level(),
        "simd_supported": list(simd_supported_levels()),
        "openmp": have_openmp(),
        "num_threads": get_num_threads(),
        "numpy": numpy.__version__,
        "reason": _reason,
        "extension": getattr(_ext, "__file__", None),
    }
    if print_:
        width = max(len(k) for k in cfg)
        print("tinygrad_cn kernels:")
        for key, value in cfg.items():
            print("  %-*s : %s" % (width, key, value))
    return cfg
