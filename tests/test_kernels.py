"""Compiled element-wise kernels against their NumPy references.

Every test of the compiled path runs at each SIMD level this machine supports
(forced with set_simd_level). The compiled tests skip when the extension is
not built, unless TINYGRAD_CN_REQUIRE_C=1 (set by .ci/run), which turns a
missing extension into a failure.
"""

import concurrent.futures
import os
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_cn.testing import require_compiled as _require_compiled

import tinygrad_cn._C as C
from tinygrad_cn._C import kernels, reference

UNARY = ("exp", "sigmoid", "tanh", "relu")
BINARY = ("relu_backward", "sigmoid_backward", "tanh_backward")
ALL = UNARY + BINARY
EXACT = ("relu", "relu_backward", "sigmoid_backward", "tanh_backward")
SIZES = (0, 1, 7, 31, 1000, 100003)
DTYPES = (np.float32, np.float64)
LEVELS = ("generic", "avx2", "avx512")

# Accuracy against the true value (float64 math for float32 results, 80-bit
# long double math for float64 results), in ulps of the result. Measured on
# 5M points per dtype at each level (Zen 4), float32 / float64:
# exp 1.00 / 0.98, sigmoid 2.30 / 2.33, tanh 2.26 / 2.46.
# The bounds leave a little margin above those.
MAX_ULP = {"exp": 1.5, "sigmoid": 3.0, "tanh": 3.0}
# Kernel against the NumPy reference, which has its own error (np.exp in
# float32 is 2.4 ulp, so the reference sigmoid can be ~4 ulp off).
MAX_ULP_VS_REF = 8.0


# --------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------

@pytest.fixture
def compiled():
    _require_compiled()
    return kernels


def ulp_diff(a, b):
    """Per-element distance between same-dtype arrays in ulps of the larger
    magnitude; 0 where both are NaN or both the same infinity."""
    a = np.asarray(a)
    b = np.asarray(b)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    wide = np.longdouble if a.dtype == np.float64 else np.float64
    with np.errstate(invalid="ignore", over="ignore"):
        big = np.maximum(np.abs(a), np.abs(b))
        d = np.abs(a.astype(wide) - b.astype(wide)) / np.spacing(big).astype(wide)
    d = np.asarray(d, dtype=np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    d[same] = 0.0
    d[np.isnan(a) != np.isnan(b)] = np.inf
    d[np.isnan(d)] = np.inf  # an infinity against a finite value
    return d


def ulp_error(got, truth):
    """Error of `got` (float32/float64) against a wider `truth`, in ulps of
    the correctly rounded result (subnormal spacing near 0)."""
    got = np.asarray(got)
    wide = truth.dtype
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = truth.astype(got.dtype)
        sp = np.spacing(np.abs(rounded)).astype(wide)
        err = np.abs(got.astype(wide) - truth) / sp
    err = np.asarray(err, dtype=np.float64)
    same = (got == rounded) | (np.isnan(got) & np.isnan(rounded))
    err[same] = 0.0
    return err


def assert_close(name, got, ref):
    assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape, got.dtype, ref.dtype)
    if name in EXACT:
        np.testing.assert_array_equal(got, ref)
    else:
        d = ulp_diff(got, ref)
        worst = float(d.max()) if d.size else 0.0
        assert worst <= MAX_ULP_VS_REF, "%s: %.1f ulp from reference at %s" % (name, worst, np.unravel_index(d.argmax(), d.shape))


def sample_inputs(name, n, dtype, seed=0):
    """Arguments for kernel `name` with n elements, in its natural domain."""
    rng = np.random.default_rng(seed + n)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    if name in UNARY:
        return (x,)
    g = rng.standard_normal(n).astype(dtype)
    if name == "relu_backward":
        y = np.maximum(x, 0)
        y[::5] = 0  # exact zeros, the kink
    elif name == "sigmoid_backward":
        y = reference.sigmoid(x)
    else:
        y = np.tanh(x)
    return (y, g)


def run_both(name, *args):
    return getattr(kernels, name)(*args), getattr(reference, name)(*args)


def _truth(name, x):
    """True values of a float32/float64 input in wider precision."""
    wide = np.float64 if x.dtype == np.float32 else np.longdouble
    xw = x.astype(wide)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if name == "exp":
            return np.exp(xw)
        if name == "tanh":
            return np.tanh(xw)
        e = np.exp(-np.abs(xw))
        return np.where(xw >= 0, 1 / (1 + e), e / (1 + e))


def _longdouble_is_wide():
    return np.finfo(np.longdouble).nmant >= 63


# --------------------------------------------------------------------------
# backend selection and configuration
# --------------------------------------------------------------------------

def test_namespaces_have_every_kernel():
    for name in C.KERNEL_NAMES:
        assert callable(getattr(kernels, name))
        assert callable(getattr(reference, name))
    assert set(ALL) <= set(C.KERNEL_NAMES)
    assert isinstance(kernels.compiled, bool)
    assert reference.compiled is False


def test_show_config(capsys):
    cfg = C.show_config()
    out = capsys.readouterr().out
    for key in ("compiled", "simd", "openmp", "num_threads", "numpy", "reason"):
        assert key in cfg
        assert key in out
    assert cfg["compiled"] == kernels.compiled
    assert cfg["numpy"] == np.__version__
    assert cfg["num_threads"] >= 1
    if cfg["compiled"]:
        assert cfg["simd"] in LEVELS
        assert cfg["reason"] is None
    else:
        assert isinstance(cfg["reason"], str) and cfg["reason"]


def _run_python(code, **env):
    pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(C.__file__))))
    full_env = dict(os.environ)
    full_env.update(env)
    full_env["PYTHONPATH"] = pkg_parent + os.pathsep + full_env.get("PYTHONPATH", "")
    res = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_no_c_env_forces_numpy_backend():
    out = _run_python(
        "import tinygrad_cn._C as c; cfg = c.show_config(False); "
        "print(cfg['compiled'], c.kernels.compiled, cfg['reason'], c.kernels.exp is c.reference.exp, sep='|')",
        TINYGRAD_CN_NO_C="1",
    )
    compiled_flag, kernels_flag, reason, same = out.strip().split("|")
    assert compiled_flag == "False" and kernels_flag == "False"
    assert "TINYGRAD_CN_NO_C" in reason
    assert same.strip() == "True"


def test_missing_extension_falls_back_to_numpy(tmp_path):
    """A package without the built extension imports and uses NumPy."""
    import shutil

    pkg = os.path.dirname(os.path.dirname(os.path.abspath(C.__file__)))
    shutil.copytree(pkg, tmp_path / "tinygrad_cn",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    code = ("import numpy as np, tinygrad_cn._C as c; cfg = c.show_config(False); "
            "assert c.__file__.startswith(%r), c.__file__; "
            "print(cfg['compiled'], c.kernels.compiled, cfg['reason'], c.kernels.sigmoid(np.zeros(3))[0], sep='|')"
            % str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    env.pop("TINYGRAD_CN_NO_C", None)
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    compiled_flag, kernels_flag, reason, value = res.stdout.strip().split("|")
    assert compiled_flag == "False" and kernels_flag == "False"
    assert "not built" in reason
    assert float(value) == 0.5


def test_simd_env_override(compiled):
    out = _run_python("import tinygrad_cn._C as c; print(c.simd_level())", TINYGRAD_CN_SIMD="generic")
    assert out.strip() == "generic"


def test_set_num_threads_validation(threads_restored):
    for bad in (0, -1):
        with pytest.raises(RuntimeError):
            C.set_num_threads(bad)
        with pytest.raises(ValueError):
            C.set_num_threads(bad)
    for bad in ("2", 2.0, None, True):
        with pytest.raises(TypeError):
            C.set_num_threads(bad)
    C.set_num_threads(1)
    assert C.get_num_threads() == 1
    C.set_num_threads(np.int64(2))
    # A build without OpenMP runs one thread and says so; the NumPy backend, like
    # torch, reports the number it was given.
    clamped = C.kernels.compiled and not C.have_openmp()
    assert C.get_num_threads() == (1 if clamped else 2)


def test_set_simd_level_validation(compiled):
    with pytest.raises(ValueError):
        C.set_simd_level("sse9")
    with pytest.raises(TypeError):
        C.set_simd_level(3)
    best = C.simd_supported_levels()[-1]
    assert C.simd_level() == best
    prev = C.set_simd_level("generic")
    try:
        assert prev == best and C.simd_level() == "generic"
    finally:
        C.set_simd_level("auto")
    assert C.simd_level() == best
    for lvl in LEVELS:
        if lvl not in C.simd_supported_levels():
            with pytest.raises(RuntimeError):
                C.set_simd_level(lvl)


# --------------------------------------------------------------------------
# compiled vs reference: sizes, dtypes, layouts
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", ALL)
def test_kernel_matches_reference(level, name, n, dtype):
    args = sample_inputs(name, n, dtype)
    got, ref = run_both(name, *args)
    assert got.flags.c_contiguous
    assert_close(name, got, ref)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ALL)
def test_strided_and_shaped_inputs(level, name, dtype):
    base = sample_inputs(name, 2 * 3 * 50 * 7, dtype, seed=3)
    views = {
        "step2": lambda a: a[::2],
        "reversed": lambda a: a[::-1],
        "transposed": lambda a: a.reshape(42, 50).T,
        "sliced3d": lambda a: a.reshape(6, 50, 7)[:, 1:40:3, ::2],
        "0d": lambda a: a[5:6].reshape(()),
        "3d_contig": lambda a: a.reshape(6, 50, 7),
    }
    for vname, view in views.items():
        args = tuple(view(a) for a in base)
        got = getattr(kernels, name)(*args)
        want = getattr(kernels, name)(*(np.ascontiguousarray(a) for a in args))
        ref = getattr(reference, name)(*args)
        assert got.shape == args[0].shape, vname
        assert got.flags.c_contiguous, vname
        np.testing.assert_array_equal(got, want, err_msg=vname)
        assert_close(name, got, np.asarray(ref))


@pytest.mark.parametrize("name", ALL)
def test_byteswapped_and_misaligned_inputs(compiled, name):
    args = sample_inputs(name, 1001, np.float32, seed=5)
    want = getattr(kernels, name)(*args)
    swapped = tuple(a.astype(a.dtype.newbyteorder(">")) for a in args)
    np.testing.assert_array_equal(getattr(kernels, name)(*swapped), want)
    misaligned = []
    for a in args:
        buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
        m = buf[1:].view(np.float32)
        m[...] = a
        assert not m.flags.aligned
        misaligned.append(m)
    np.testing.assert_array_equal(getattr(kernels, name)(*misaligned), want)


@pytest.mark.parametrize("name", UNARY)
def test_scalars(level, name):
    """NumPy float scalars and Python floats give scalars, like the reference."""
    for x in (np.float32(0.75), np.float64(-2.5), -2.5, np.float32(-0.0)):
        got = getattr(kernels, name)(x)
        ref = getattr(reference, name)(x)
        assert type(got) is type(ref), (type(got), type(ref))
        assert_close(name, np.asarray(got), np.asarray(ref))
        np.testing.assert_array_equal(got, getattr(kernels, name)(np.asarray(x))[()])


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("name", ALL)
def test_other_dtypes_use_reference(name, dtype):
    args = tuple(a.astype(dtype) for a in sample_inputs(name, 33, np.float64, seed=7))
    with np.errstate(all="ignore"):
        got, ref = run_both(name, *args)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", BINARY)
def test_backward_mixed_dtypes_or_shapes_use_reference(name):
    y, g = sample_inputs(name, 12, np.float32, seed=9)
    got, ref = run_both(name, y, g.astype(np.float64))
    assert got.dtype == ref.dtype == np.float64
    np.testing.assert_array_equal(got, ref)
    got, ref = run_both(name, y.reshape(3, 4), g[:4])  # broadcasting
    assert got.shape == (3, 4)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("name", ALL)
def test_out_argument(compiled, name):
    args = sample_inputs(name, 50000, np.float32, seed=11)
    want = getattr(kernels, name)(*args)
    out = np.empty_like(want)
    assert getattr(kernels, name)(*args, out=out) is out
    np.testing.assert_array_equal(out, want)
    inplace = args[-1].copy()  # x for unary, gout for backward
    res = getattr(kernels, name)(*(args[:-1] + (inplace,)), out=inplace)
    assert res is inplace
    np.testing.assert_array_equal(inplace, want)
    with pytest.raises(TypeError):
        getattr(kernels, name)(*args, out=np.empty(want.shape, np.float64))
    with pytest.raises(ValueError):
        getattr(kernels, name)(*args, out=np.empty(want.size + 1, np.float32))
    with pytest.raises(ValueError):
        getattr(kernels, name)(*args, out=np.empty(2 * want.size, np.float32)[::2])


def test_inputs_are_not_modified(compiled):
    for name in ALL:
        args = sample_inputs(name, 40000, np.float64, seed=13)
        copies = [a.copy() for a in args]
        getattr(kernels, name)(*args)
        for a, c in zip(args, copies):
            np.testing.assert_array_equal(a, c)


# --------------------------------------------------------------------------
# special values
# --------------------------------------------------------------------------

SPECIAL_F32 = np.array(
    [np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 1.0, -1.0,
     3.4028235e38, -3.4028235e38, 1.1754944e-38, -1.1754944e-38, 1e-45, -1e-45, 3e-42,
     88.72, 88.7228, 88.72284, 89.0, 100.0, -87.3, -87.34, -100.0, -103.0, -103.9, -103.97, -104.0, -150.0,
     0.624, 0.625, 0.626, -0.625, 9.0, -9.0, 20.0, -20.0, 1e-4, -1e-4, 1e-8],
    dtype=np.float32,
)
SPECIAL_F64 = np.array(
    [np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, -1.0,
     1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308, 5e-324, -5e-324,
     709.7, 709.78, 709.782712893384, 709.7828, 710.0, 800.0, -708.0, -708.4, -709.0, -730.0,
     -744.44, -745.0, -745.13, -745.2, -746.0, -1000.0, 0.6249, 0.625, 0.6251, 20.0, -20.0, 1e-8, -1e-300],
    dtype=np.float64,
)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ("exp", "sigmoid", "tanh"))
def test_special_values_accuracy(level, name, dtype):
    x = SPECIAL_F32 if dtype == np.float32 else SPECIAL_F64
    if dtype == np.float64 and not _longdouble_is_wide():
        pytest.skip("long double is not wider than double here")
    got = getattr(kernels, name)(x)
    truth = _truth(name, x)
    with np.errstate(over="ignore"):
        rounded = truth.astype(dtype)
    # NaN exactly where expected; infinities and zeros exactly.
    np.testing.assert_array_equal(np.isnan(got), np.isnan(rounded))
    inf = np.isinf(rounded)
    np.testing.assert_array_equal(got[inf], rounded[inf])
    err = ulp_error(got, truth)
    err[np.isnan(rounded)] = 0
    bad = err > MAX_ULP[name]
    assert not bad.any(), list(zip(x[bad], got[bad], rounded[bad], err[bad]))


def test_special_values_exact(level):
    for dtype in DTYPES:
        f = np.dtype(dtype).type
        x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0], dtype=dtype)
        np.testing.assert_array_equal(kernels.exp(x), [np.inf, 0.0, np.nan, 1.0, 1.0])
        np.testing.assert_array_equal(kernels.sigmoid(x), [1.0, 0.0, np.nan, 0.5, 0.5])
        t = kernels.tanh(x)
        np.testing.assert_array_equal(t, [1.0, -1.0, np.nan, 0.0, -0.0])
        assert np.signbit(t[4]) and not np.signbit(t[3])
        np.testing.assert_array_equal(kernels.relu(x), [np.inf, 0.0, np.nan, 0.0, 0.0])
        tiny = np.array([np.finfo(dtype).smallest_subnormal, -np.finfo(dtype).smallest_subnormal,
                         np.finfo(dtype).tiny], dtype=dtype)
        np.testing.assert_array_equal(kernels.tanh(tiny), tiny)  # tanh(x) == x for tiny x
        np.testing.assert_array_equal(kernels.exp(tiny), np.ones(3, dtype))
        big = np.finfo(dtype).max
        np.testing.assert_array_equal(kernels.exp(np.array([big, -big], dtype)), [np.inf, 0.0])
        np.testing.assert_array_equal(kernels.sigmoid(np.array([big, -big], dtype)), [1.0, 0.0])
        np.testing.assert_array_equal(kernels.tanh(np.array([big, -big], dtype)), [1.0, -1.0])
        # relu_backward: 0 where y <= 0 (also -0), gout elsewhere, NaN in y passes gout (torch)
        y = np.array([1.0, 0.0, -0.0, -1.0, np.nan, np.inf], dtype=dtype)
        g = np.array([2.0, 3.0, 4.0, 5.0, 6.0, np.nan], dtype=dtype)
        np.testing.assert_array_equal(kernels.relu_backward(y, g), [2.0, 0.0, 0.0, 0.0, 6.0, np.nan])
        np.testing.assert_array_equal(kernels.relu_backward(y, g), reference.relu_backward(y, g))
        assert f(1.0) == kernels.relu(np.array([f(1.0)]))[0]


def test_exp_overflow_underflow_edges(level):
    # float32: largest finite result at ln(FLT_MAX) = 88.72284; subnormals down to 2**-149
    x32 = np.array([88.72, 88.7228, 88.7229, 89.0, -87.3, -103.0, -103.27, -103.28, -103.97, -104.0], np.float32)
    y32 = kernels.exp(x32)
    assert np.isfinite(y32[:2]).all() and np.isinf(y32[2:4]).all()
    assert y32[4] >= np.finfo(np.float32).tiny  # still normal
    assert 0 < y32[5] < np.finfo(np.float32).tiny  # subnormal result
    assert y32[6] == np.float32(2.0 ** -149)  # smallest subnormal
    assert y32[8] == np.float32(2.0 ** -149)  # just above half of it: rounds up
    assert y32[9] == 0.0
    # float64: largest finite at 709.782712893384, smallest subnormal 2**-1074 near -744.44
    x64 = np.array([709.7, 709.782712893384, 709.7828, -745.0, -745.2, -746.0])
    y64 = kernels.exp(x64)
    assert np.isfinite(y64[:2]).all() and np.isinf(y64[2])
    assert y64[3] == 5e-324 and y64[4] == 0.0 and y64[5] == 0.0


def test_no_floating_point_warnings():
    import warnings

    x = np.concatenate([SPECIAL_F32, -SPECIAL_F32])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            for ns in (kernels, reference):
                for name in UNARY:
                    getattr(ns, name)(x)
                    getattr(ns, name)(x.astype(np.float64))


# --------------------------------------------------------------------------
# accuracy (ulps)
# --------------------------------------------------------------------------

def _accuracy_sample(dtype, seed=1):
    rng = np.random.default_rng(seed)
    if dtype == np.float32:
        parts = [rng.uniform(-104, 89, 400_000), rng.uniform(-10, 10, 300_000), rng.uniform(-1, 1, 200_000),
                 10.0 ** rng.uniform(-44, 1.5, 100_000) * rng.choice([-1, 1], 100_000)]
    else:
        parts = [rng.uniform(-746, 710, 400_000), rng.uniform(-10, 10, 300_000), rng.uniform(-1, 1, 200_000),
                 10.0 ** rng.uniform(-320, 2.5, 100_000) * rng.choice([-1, 1], 100_000)]
    return np.concatenate(parts).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", ("exp", "sigmoid", "tanh"))
def test_ulp_accuracy(level, name, dtype):
    if dtype == np.float64 and not _longdouble_is_wide():
        pytest.skip("long double is not wider than double here")
    x = _accuracy_sample(dtype)
    got = getattr(kernels, name)(x)
    truth = _truth(name, x)
    with np.errstate(over="ignore"):
        rounded = truth.astype(dtype)
    finite = np.isfinite(rounded)
    err = ulp_error(got[finite], truth[finite])
    worst = float(err.max())
    assert worst <= MAX_ULP[name], "%s %s: max %.3f ulp at x=%r" % (
        name, np.dtype(dtype).name, worst, x[finite][err.argmax()])
    # and where the result overflows, it must be inf
    np.testing.assert_array_equal(got[~finite], rounded[~finite])


def test_exp_float32_beats_numpy_accuracy(compiled):
    """Sanity check of the measuring stick: our exp is more accurate than
    NumPy's float32 exp (1 ulp against about 2.4)."""
    x = _accuracy_sample(np.float32)
    truth = _truth("exp", x)
    with np.errstate(over="ignore"):
        finite = np.isfinite(truth.astype(np.float32))
    ours = ulp_error(kernels.exp(x)[finite], truth[finite]).max()
    with np.errstate(all="ignore"):
        theirs = ulp_error(np.exp(x)[finite], truth[finite]).max()
    assert ours <= 1.5 and ours <= theirs


# --------------------------------------------------------------------------
# threads
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_one_and_two_threads_identical(level, threads_restored, name):
    for dtype in DTYPES:
        for n in (100003, 1 << 20):
            args = sample_inputs(name, n, dtype, seed=17)
            C.set_num_threads(1)
            one = getattr(kernels, name)(*args)
            C.set_num_threads(2)
            two = getattr(kernels, name)(*args)
            assert one.tobytes() == two.tobytes(), (name, dtype, n)


# Outputs of 8 MiB or more are written with streaming stores from the first
# 64-byte boundary of each thread's share (csrc/tg_vec512.h); below, with
# ordinary stores. The values must not depend on which.
STREAM_N = (8 << 20) // 4 + 37


@pytest.mark.parametrize("name", ("exp", "sigmoid", "relu"))
def test_streaming_stores_give_the_same_bits(level, threads_restored, name):
    x = sample_inputs(name, STREAM_N, np.float32, seed=3)[0]
    pieces = np.concatenate([getattr(kernels, name)(x[i:i + 100_000]) for i in range(0, STREAM_N, 100_000)])
    for threads in (1, 2):
        C.set_num_threads(threads)
        np.testing.assert_array_equal(getattr(kernels, name)(x), pieces)
        misaligned = np.empty(STREAM_N + 1, np.float32)[1:]  # 4 bytes past a 64-byte boundary
        np.testing.assert_array_equal(getattr(kernels, name)(x, out=misaligned), pieces)
    inplace = x.copy()
    getattr(kernels, name)(inplace, out=inplace)
    np.testing.assert_array_equal(inplace, pieces)


def test_calls_from_python_threads(compiled):
    """The GIL is released for large arrays: concurrent calls must not
    interfere with each other."""
    xs = [np.random.default_rng(i).standard_normal(300_000).astype(np.float32) for i in range(6)]
    want = [kernels.sigmoid(x) for x in xs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        got = list(pool.map(kernels.sigmoid, xs))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


# --------------------------------------------------------------------------
# property tests (hypothesis)
# --------------------------------------------------------------------------

try:
    from hypothesis import given
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError:  # the `test` extra installs it; without it these tests skip
    def given(*_a, **_k):
        return lambda f: pytest.mark.skip(reason="hypothesis not installed")(lambda *a, **k: None)

    st = hnp = None

_DATA = st.data() if st is not None else None


def _float_arrays(dtype, elements=None):
    width = 32 if dtype == np.float32 else 64
    if elements is None:
        elements = st.floats(width=width, allow_nan=True, allow_infinity=True, allow_subnormal=True)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=12), elements=elements)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", UNARY)
@given(data=_DATA)
def test_property_unary_matches_reference(name, dtype, data):
    _require_compiled()
    x = data.draw(_float_arrays(dtype), label="x")
    if data.draw(st.booleans(), label="transpose") and x.ndim >= 2:
        x = x.T
    got, ref = run_both(name, x)
    assert_close(name, got, np.asarray(ref))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("name", BINARY)
@given(data=_DATA)
def test_property_backward_matches_reference(name, dtype, data):
    _require_compiled()
    y = data.draw(_float_arrays(dtype), label="y")
    g = data.draw(hnp.arrays(dtype, y.shape, elements=st.floats(width=32 if dtype == np.float32 else 64)), label="g")
    got, ref = run_both(name, y, g)
    assert_close(name, got, np.asarray(ref))


@given(data=_DATA)
def test_property_sigmoid_tanh_identities(data):
    """sigmoid(x) = (1 + tanh(x/2)) / 2 and tanh(-x) = -tanh(x), in float64
    from float32 inputs (a check that does not use the reference)."""
    x = data.draw(_float_arrays(np.float32, st.floats(-30, 30, width=32)), label="x")
    x64 = x.astype(np.float64)
    s = kernels.sigmoid(x64)
    t = kernels.tanh(x64 / 2)
    np.testing.assert_allclose(s, (1 + t) / 2, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(kernels.tanh(-x), -kernels.tanh(x))


def test_openmp_spin_is_short_by_default_and_user_setting_wins():
    # Long-spinning OpenMP threads starve NumPy's BLAS threads on two cores; the
    # default must be in place before the extension (and libgomp) loads.
    code = "import os, tinygrad_cn; print(os.environ.get('GOMP_SPINCOUNT'))"
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "10000"
    env["GOMP_SPINCOUNT"] = "123"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "123"
