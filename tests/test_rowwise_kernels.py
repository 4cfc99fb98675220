"""Row-wise kernels (csrc/rowwise.c): softmax, log_softmax, their backward
passes and the fused cross-entropy, compiled against the NumPy reference at
every SIMD level the CPU supports, the backward passes against finite
differences of the reference forward, and both against torch (skipped
without torch).

The compiled tests skip when the extension is not built, unless
TINYGRAD_CN_REQUIRE_C=1, which turns a missing extension into a failure.
"""


import numpy as np
import pytest

from tinygrad_cn.testing import require_compiled as _require_compiled

import tinygrad_cn._C as C
from tinygrad_cn._C import kernels, reference

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # torch is an oracle only
    torch = None

try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:
    given = None

SOFTMAX_FWD = ("softmax", "log_softmax")
SOFTMAX_BWD = ("softmax_backward", "log_softmax_backward")
DTYPES = (np.float32, np.float64)
LEVELS = ("generic", "avx2", "avx512")
# around the vector widths (4/8/16 float32 lanes, 2/4/8 float64 lanes)
SHAPES = ((0, 5), (3, 0), (1, 1), (2, 3), (2, 7), (3, 8), (2, 15), (2, 16), (3, 17), (2, 31), (2, 32), (2, 33),
          (4, 63), (3, 65), (2, 3, 7), (2, 0, 4), (9,), ())
# compiled against the reference (its own error: np.exp is 2.4 ulp in float32)
TOL = {np.float32: dict(rtol=3e-6, atol=3e-7), np.float64: dict(rtol=1e-13, atol=1e-15)}
# against torch
TORCH_TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------

@pytest.fixture(params=["compiled", "reference"])
def backend(request):
    if request.param == "compiled":
        _require_compiled()
        return kernels
    return reference


def _close(got, want, dtype, tol=None):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, equal_nan=True, **(tol or TOL[dtype]))


def _check_backward(name, got, y, g, dtype):
    """A backward kernel against float64 math on the same inputs, to within a
    few ulps of the terms that enter each element: summing a row of gout
    loses up to ~eps * sum|terms|, which dominates in float32."""
    eps = np.finfo(dtype).eps
    yd, gd = y.astype(np.float64), g.astype(np.float64)
    with np.errstate(all="ignore"):
        if name == "softmax_backward":
            want = (gd - (gd * yd).sum(-1, keepdims=True)) * yd
            scale = np.abs(gd * yd) + np.abs(yd) * np.abs(gd * yd).sum(-1, keepdims=True)
        else:
            p = np.exp(yd)
            want = gd - p * gd.sum(-1, keepdims=True)
            scale = np.abs(gd) + p * np.abs(gd).sum(-1, keepdims=True)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want)
    ok = (err <= 16 * eps * scale + np.finfo(dtype).tiny) | (np.isnan(got) & np.isnan(want))
    assert ok.all(), "%s: %d bad, worst %g at %s" % (name, (~ok).sum(), err[~ok].max(), np.argwhere(~ok)[0])


def _check(name, got, args, dtype, tol=None):
    if name in SOFTMAX_BWD:
        _check_backward(name, got, args[0], args[1], dtype)
    else:
        _close(got, getattr(reference, name)(*args), dtype, tol)


def _logits(rng, shape, dtype, scale=3.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _softmax_args(name, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = _logits(rng, shape, dtype)
    if name in SOFTMAX_FWD:
        return (x,)
    y = getattr(reference, name.replace("_backward", ""))(x)
    return (y, rng.standard_normal(shape).astype(dtype))


def _ce_case(rng, n, c, dtype, weighted, ignore_index, n_ignored=1):
    x = _logits(rng, (n, c), dtype)
    t = rng.integers(0, c, n) if c > 0 else np.full(n, ignore_index)
    t[:min(n_ignored, n)] = ignore_index
    rng.shuffle(t)
    w = rng.uniform(0.2, 2.0, c).astype(dtype) if weighted else None
    return x, t.astype(np.int64), w


def _grad_loss(rng, n, reduction, dtype):
    if reduction == "none":
        return rng.standard_normal(n).astype(dtype)
    return np.asarray(rng.uniform(0.5, 2.0), dtype=dtype)


CE_COMBOS = [(w, ii, eps, red) for w in (False, True) for ii in (-100, 2) for eps in (0.0, 0.1, 1.0)
             for red in ("mean", "sum", "none")]


# --------------------------------------------------------------------------
# compiled against the reference, at every SIMD level
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SOFTMAX_FWD + SOFTMAX_BWD)
def test_softmax_family_matches_reference(level, name, dtype):
    for i, shape in enumerate(SHAPES):
        args = _softmax_args(name, shape, dtype, seed=i)
        _check(name, getattr(kernels, name)(*args), args, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_sum_to_one(level, dtype):
    x = _logits(np.random.default_rng(1), (5, 37), dtype)
    np.testing.assert_allclose(kernels.softmax(x).sum(-1), 1.0, rtol=1e-6 if dtype == np.float32 else 1e-14)
    np.testing.assert_allclose(np.exp(kernels.log_softmax(x).astype(np.float64)).sum(-1), 1.0,
                               rtol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SOFTMAX_FWD + SOFTMAX_BWD)
def test_large_rows_one_and_two_threads(level, threads_restored, name, dtype):
    """Above the parallel threshold: 2 threads give the bits of 1 thread."""
    args = _softmax_args(name, (211, 257), dtype, seed=5)  # 54k elements, odd row length
    C.set_num_threads(1)
    one = getattr(kernels, name)(*args)
    C.set_num_threads(2)
    two = getattr(kernels, name)(*args)
    np.testing.assert_array_equal(one, two)
    _check(name, two, args, dtype)


@pytest.mark.parametrize("shape", ((2049, 1024), (467, 4500)), ids=["buffered-rows", "long-rows"])
@pytest.mark.parametrize("name", SOFTMAX_FWD)
def test_streaming_stores_give_the_same_bits(level, threads_restored, name, shape):
    """Outputs of 8 MiB or more are written with streaming stores (rows up to
    4096 through an L1 buffer); fewer rows at a time take the ordinary
    stores. The bits must be the same, also into a misaligned `out`."""
    (x,) = _softmax_args(name, shape, np.float32, seed=9)
    f = getattr(kernels, name)
    by_blocks = np.concatenate([f(x[i:i + 200]) for i in range(0, shape[0], 200)])
    for threads in (1, 2):
        C.set_num_threads(threads)
        np.testing.assert_array_equal(f(x), by_blocks)
        misaligned = np.empty(x.size + 1, np.float32)[1:].reshape(shape)
        np.testing.assert_array_equal(f(x, out=misaligned), by_blocks)
    # log_softmax near 0 is (x - m) - log(s) with terms up to ~20 here: an
    # absolute error of a few ulps of those, met among two million values
    _check(name, by_blocks, (x,), np.float32, tol=dict(rtol=3e-6, atol=1e-5))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_matches_reference(level, dtype):
    rng = np.random.default_rng(2)
    for k, (weighted, ii, eps, red) in enumerate(CE_COMBOS):
        n, c = (7, 5) if k % 2 else (4, 33)
        x, t, w = _ce_case(rng, n, c, dtype, weighted, ii)
        kw = dict(weight=w, ignore_index=ii, label_smoothing=eps, reduction=red)
        loss, lse = kernels.cross_entropy(x, t, **kw)
        rloss, rlse = reference.cross_entropy(x, t, **kw)
        _close(loss, rloss, dtype)
        assert lse.dtype == np.float64 and lse.shape == (n,)
        np.testing.assert_allclose(lse, rlse, rtol=1e-6 if dtype == np.float32 else 1e-14)
        gl = _grad_loss(rng, n, red, dtype)
        got = kernels.cross_entropy_backward(x, t, lse, gl, **kw)
        _close(got, reference.cross_entropy_backward(x, t, rlse, gl, **kw), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_large_one_and_two_threads(level, threads_restored, dtype):
    rng = np.random.default_rng(3)
    x, t, w = _ce_case(rng, 300, 129, dtype, True, -100, n_ignored=7)
    for red in ("mean", "none"):
        kw = dict(weight=w, label_smoothing=0.05, reduction=red)
        gl = _grad_loss(rng, 300, red, dtype)
        res = []
        for nt in (1, 2):
            C.set_num_threads(nt)
            loss, lse = kernels.cross_entropy(x, t, **kw)
            res.append((loss, lse, kernels.cross_entropy_backward(x, t, lse, gl, **kw)))
        for a, b in zip(*res):
            np.testing.assert_array_equal(a, b)
        _close(res[1][0], reference.cross_entropy(x, t, **kw)[0], dtype)
        _close(res[1][2], reference.cross_entropy_backward(x, t, res[1][1], gl, **kw), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_rows(level, dtype):
    """+-1e4 logits stay finite; -inf entries give 0 / -inf; rows with +inf,
    NaN or only -inf are NaN (as torch)."""
    inf, nan = np.inf, np.nan
    for c in (3, 19):
        x = np.zeros((8, c), dtype)
        x[0] = np.linspace(-1e4, 1e4, c)
        x[1, 0] = -inf
        x[2, 1] = inf
        x[3, 2] = nan
        x[4] = -inf
        x[5] = 1e4
        x[6, :] = -1e4
        x[6, 1] = 1e4
        x[7, ::2] = -inf
        sm, lsm = kernels.softmax(x), kernels.log_softmax(x)
        _close(sm, reference.softmax(x), dtype)
        _close(lsm, reference.log_softmax(x), dtype)
        assert np.isfinite(sm[[0, 1, 5, 6, 7]]).all()
        assert np.isnan(sm[2:5]).all() and np.isnan(lsm[2:5]).all()
        assert sm[1, 0] == 0 and lsm[1, 0] == -inf
        assert sm[0, -1] == 1 and lsm[0, -1] == 0 and sm[6, 1] == 1
        np.testing.assert_allclose(sm[5], 1.0 / c, rtol=1e-6)
        assert (sm[7, ::2] == 0).all() and (lsm[7, ::2] == -inf).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extremes(level, dtype):
    x = np.zeros((5, 6), dtype)
    x[0] = np.linspace(-1e4, 1e4, 6)
    x[1, 3] = -np.inf
    x[2, 0] = np.nan
    x[3] = 1e4
    x[4, 1] = np.inf
    t = np.array([5, 2, 1, 0, 3])
    for eps in (0.0, 0.2):
        loss, lse = kernels.cross_entropy(x, t, label_smoothing=eps, reduction="none")
        rloss, rlse = reference.cross_entropy(x, t, label_smoothing=eps, reduction="none")
        _close(loss, rloss, dtype, dict(rtol=1e-6, atol=1e-4 if dtype == np.float32 else 1e-9))
        assert np.isnan(loss[[2, 4]]).all() and np.isfinite(loss[[0, 3]]).all()
        assert (loss[1] == np.inf) == (eps > 0)
        g = kernels.cross_entropy_backward(x, t, lse, np.ones(5, dtype), label_smoothing=eps, reduction="none")
        rg = reference.cross_entropy_backward(x, t, rlse, np.ones(5, dtype), label_smoothing=eps, reduction="none")
        _close(g, rg, dtype, dict(rtol=1e-5, atol=1e-6 if dtype == np.float32 else 1e-12))
        assert np.isnan(g[[2, 4]]).all() and np.isfinite(g[[0, 1, 3]]).all()


def test_out_inplace_and_noncontiguous(level):
    rng = np.random.default_rng(4)
    base = rng.standard_normal((6, 40))
    for name in SOFTMAX_FWD:
        f = getattr(kernels, name)
        want = getattr(reference, name)(base)
        x = base.copy()
        assert f(x, out=x) is x
        _close(x, want, np.float64)
        # views: every other column, transposed, reversed rows
        for v in (base[:, ::2], base.T, base[::-1], base.astype(np.float32)[:, 1:]):
            _close(f(v), getattr(reference, name)(v), v.dtype.type)
    y = reference.softmax(base)
    g = rng.standard_normal(base.shape)
    out = g.copy()
    kernels.softmax_backward(y, out, out=out)
    _close(out, reference.softmax_backward(y, g), np.float64)
    with pytest.raises(ValueError):
        kernels.softmax(base, out=np.empty((6, 41)))
    with pytest.raises(TypeError):
        kernels.softmax(base, out=np.empty((6, 40), np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_noncontiguous(level, dtype):
    """Strided logits, target, weight, lse and grad_loss are copied, not misread."""
    rng = np.random.default_rng(10)
    x = _logits(rng, (14, 9), dtype).T[:, ::2]  # (9, 7), neither C- nor F-contiguous
    t = rng.integers(0, 7, 18)[::2]
    w = rng.uniform(0.5, 1.5, 14).astype(dtype)[::2]
    gl = rng.standard_normal(18).astype(dtype)[::-2]
    xc = np.ascontiguousarray(x)
    kw = dict(weight=w, label_smoothing=0.1, reduction="none")
    loss, lse = kernels.cross_entropy(x, t, **kw)
    rloss, rlse = reference.cross_entropy(xc, np.ascontiguousarray(t), weight=w.copy(), label_smoothing=0.1,
                                          reduction="none")
    _close(loss, rloss, dtype)
    lse_view = np.repeat(lse, 2)[::2]
    _close(kernels.cross_entropy_backward(x, t, lse_view, gl, **kw),
           reference.cross_entropy_backward(xc, t, rlse, gl.copy(), **kw), dtype)


def test_other_dtypes_use_the_reference(backend):
    x16 = np.linspace(-3, 3, 12, dtype=np.float16).reshape(3, 4)
    got = backend.softmax(x16)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), reference.softmax(x16.astype(np.float64)), rtol=1e-3)
    assert backend.log_softmax(np.arange(6).reshape(2, 3)).dtype == np.float64
    loss, lse = backend.cross_entropy(x16, np.array([0, 1, 3]))
    assert loss.dtype == np.float16 and lse.dtype == np.float64
    # mixed dtypes in the backward fall back too
    y = reference.softmax(np.ones((2, 3)))
    _close(backend.softmax_backward(y, np.ones((2, 3), np.float32)), np.zeros((2, 3)), np.float64)


def test_cross_entropy_edge_cases(backend):
    x = np.zeros((2, 3))
    # all targets ignored: mean is 0/0 = NaN (as torch), sum 0, gradient 0
    t = np.array([-100, -100])
    for eps in (0.0, 0.3):
        loss, lse = backend.cross_entropy(x, t, label_smoothing=eps)
        assert loss.shape == () and np.isnan(loss)
        assert backend.cross_entropy(x, t, label_smoothing=eps, reduction="sum")[0] == 0
        g = backend.cross_entropy_backward(x, t, lse, np.float64(1.0), label_smoothing=eps)
        assert (g == 0).all()
    # empty batch
    e = np.zeros((0, 4), np.float32)
    t0 = np.zeros(0, np.int64)
    assert np.isnan(backend.cross_entropy(e, t0)[0])
    assert backend.cross_entropy(e, t0, reduction="sum")[0] == 0
    assert backend.cross_entropy(e, t0, reduction="none")[0].shape == (0,)
    assert backend.cross_entropy_backward(e, t0, np.zeros(0), np.float32(1)).shape == (0, 4)
    # out-of-range targets, as torch ("Target 5 is out of bounds.")
    for bad in (3, 5, -1):
        with pytest.raises(IndexError, match="Target %d is out of bounds" % bad):
            backend.cross_entropy(x, np.array([0, bad]))
        with pytest.raises(IndexError, match="Target %d is out of bounds" % bad):
            backend.cross_entropy_backward(x, np.array([bad, 0]), np.zeros(2), np.float64(1), label_smoothing=0.1)
    # argument errors
    with pytest.raises(ValueError):
        backend.cross_entropy(x, np.array([0, 1]), reduction="avg")
    with pytest.raises(RuntimeError, match="label_smoothing"):
        backend.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(TypeError):
        backend.cross_entropy(x, np.array([0.0, 1.0]))
    with pytest.raises(ValueError):
        backend.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(ValueError):
        backend.cross_entropy(x, np.array([0, 1]), weight=np.ones(4))
    with pytest.raises(ValueError):
        backend.cross_entropy(np.zeros((2, 3, 4)), np.array([0, 1]))
    with pytest.raises(ValueError):
        backend.cross_entropy_backward(x, np.array([0, 1]), np.zeros(2), np.ones(2))  # mean needs a scalar
    # int32 targets and a float64 weight with float32 logits are accepted
    x32 = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    t32 = np.array([0, 3, 1], np.int32)
    loss, _ = backend.cross_entropy(x32, t32, weight=np.arange(1.0, 5.0))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss, reference.cross_entropy(x32.astype(np.float64), t32,
                                                             weight=np.arange(1.0, 5.0))[0], rtol=1e-6)


# --------------------------------------------------------------------------
# backward against finite differences of the reference forward (float64)
# --------------------------------------------------------------------------

def _numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += h
        xm[idx] -= h
        g[idx] = (f(xp) - f(xm)) / (2 * h)
    return g


@pytest.mark.parametrize("name", SOFTMAX_FWD)
def test_softmax_backward_finite_differences(backend, name):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 5))
    gout = rng.standard_normal((3, 5))
    fwd = getattr(reference, name)
    num = _numeric_grad(lambda z: float((fwd(z) * gout).sum()), x)
    got = getattr(backend, name + "_backward")(fwd(x), gout)
    np.testing.assert_allclose(got, num, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("weighted,ii,eps,red", CE_COMBOS[::2])
def test_cross_entropy_backward_finite_differences(backend, weighted, ii, eps, red):
    rng = np.random.default_rng(7)
    x, t, w = _ce_case(rng, 4, 5, np.float64, weighted, ii)
    kw = dict(weight=w, ignore_index=ii, label_smoothing=eps, reduction=red)
    gl = _grad_loss(rng, 4, red, np.float64)
    num = _numeric_grad(lambda z: float((reference.cross_entropy(z, t, **kw)[0] * gl).sum()), x)
    lse = backend.cross_entropy(x, t, **kw)[1]
    np.testing.assert_allclose(backend.cross_entropy_backward(x, t, lse, gl, **kw), num, rtol=1e-7, atol=1e-8)


# --------------------------------------------------------------------------
# hypothesis: random shapes and values, compiled against reference
# --------------------------------------------------------------------------

if given is not None:
    @st.composite
    def _rows_case(draw):
        nd = draw(st.integers(1, 3))
        shape = tuple(draw(st.lists(st.integers(0, 5), min_size=nd - 1, max_size=nd - 1))) + (draw(st.integers(1, 70)),)
        return (shape, draw(st.sampled_from(DTYPES)), draw(st.sampled_from([0.1, 3.0, 30.0, 1e4])),
                draw(st.integers(0, 2 ** 31)), draw(st.sampled_from(LEVELS)), draw(st.booleans()))

    @given(_rows_case())
    def test_hypothesis_softmax_family(case):
        _require_compiled()
        shape, dtype, scale, seed, lvl, special = case
        rng = np.random.default_rng(seed)
        x = _logits(rng, shape, dtype, scale)
        if special and x.size:
            flat = x.reshape(-1)
            flat[rng.integers(0, x.size, 3)] = rng.choice([-np.inf, np.inf, np.nan], 3)
        g = rng.standard_normal(shape).astype(dtype)
        if lvl not in C.simd_supported_levels():
            lvl = C.simd_supported_levels()[-1]
        prev = C.set_simd_level(lvl)
        try:
            tol = dict(rtol=1e-5, atol=1e-5 * max(scale, 1)) if dtype == np.float32 else \
                dict(rtol=1e-12, atol=1e-13 * max(scale, 1))
            for name in SOFTMAX_FWD:
                y = reference.__dict__[name](x)
                _close(getattr(kernels, name)(x), y, dtype, tol)
                _check(name + "_backward", getattr(kernels, name + "_backward")(y, g), (y, g), dtype)
        finally:
            C.set_simd_level(prev)

    @st.composite
    def _ce_hcase(draw):
        return (draw(st.integers(0, 9)), draw(st.integers(1, 40)), draw(st.sampled_from(DTYPES)),
                draw(st.booleans()), draw(st.sampled_from([-100, 0, 3])), draw(st.sampled_from([0.0, 0.05, 0.5])),
                draw(st.sampled_from(["mean", "sum", "none"])), draw(st.integers(0, 2 ** 31)),
                draw(st.sampled_from(LEVELS)))

    @given(_ce_hcase())
    def test_hypothesis_cross_entropy(case):
        _require_compiled()
        n, c, dtype, weighted, ii, eps, red, seed, lvl = case
        rng = np.random.default_rng(seed)
        x, t, w = _ce_case(rng, n, c, dtype, weighted, ii, n_ignored=int(rng.integers(0, 3)))
        kw = dict(weight=w, ignore_index=ii, label_smoothing=eps, reduction=red)
        gl = _grad_loss(rng, n, red, dtype)
        if lvl not in C.simd_supported_levels():
            lvl = C.simd_supported_levels()[-1]
        prev = C.set_simd_level(lvl)
        try:
            loss, lse = kernels.cross_entropy(x, t, **kw)
            g = kernels.cross_entropy_backward(x, t, lse, gl, **kw)
        finally:
            C.set_simd_level(prev)
        rloss, rlse = reference.cross_entropy(x, t, **kw)
        _close(loss, rloss, dtype, dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else None)
        _close(g, reference.cross_entropy_backward(x, t, rlse, gl, **kw), dtype,
               dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else None)


# --------------------------------------------------------------------------
# against torch
# --------------------------------------------------------------------------

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed (oracle only)")


def _torch_tol(dtype, scale=1.0):
    tol = dict(TORCH_TOL[dtype])
    tol["atol"] *= scale
    return tol


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", SOFTMAX_FWD)
def test_softmax_against_torch(backend, name, dtype):
    rng = np.random.default_rng(8)
    x = _logits(rng, (6, 3, 21), dtype)
    x[0, 0] = np.linspace(-1e4, 1e4, 21)
    x[0, 1, 3] = -np.inf
    x[0, 2, 4] = np.nan
    x[1, 0] = -np.inf
    x[1, 1, 5] = np.inf
    gout = rng.standard_normal(x.shape).astype(dtype)
    tx = torch.from_numpy(x).requires_grad_(True)
    ty = getattr(torch, name)(tx, -1)
    ty.backward(torch.from_numpy(gout))
    y = getattr(backend, name)(x)
    _close(y, ty.detach().numpy(), dtype, _torch_tol(dtype))
    finite = np.isfinite(y).all(-1) & np.isfinite(x).all(-1)  # torch's backward of inf rows differs only in NaN
    gin = getattr(backend, name + "_backward")(y, gout)
    _close(gin[finite], tx.grad.numpy()[finite], dtype, _torch_tol(dtype))


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted,ii,eps,red", CE_COMBOS)
def test_cross_entropy_against_torch(backend, dtype, weighted, ii, eps, red):
    rng = np.random.default_rng(9)
    x, t, w = _ce_case(rng, 13, 11, dtype, weighted, ii, n_ignored=3)
    x[0] *= 3000.0  # logits of several thousand
    kw = dict(weight=w, ignore_index=ii, label_smoothing=eps, reduction=red)
    gl = _grad_loss(rng, 13, red, dtype)
    tx = torch.from_numpy(x).requires_grad_(True)
    tl = F.cross_entropy(tx, torch.from_numpy(t), weight=None if w is None else torch.from_numpy(w),
                         ignore_index=ii, label_smoothing=eps, reduction=red)
    tl.backward(torch.from_numpy(np.asarray(gl)))
    loss, lse = backend.cross_entropy(x, t, **kw)
    _close(loss, tl.detach().numpy(), dtype, _torch_tol(dtype))
    g = backend.cross_entropy_backward(x, t, lse, gl, **kw)
    _close(g, tx.grad.numpy(), dtype, _torch_tol(dtype))


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_all_ignored_and_inf_against_torch(backend, dtype):
    x = np.zeros((3, 4), dtype)
    x[1, 2] = -np.inf
    for t, w, eps in ((np.array([-100, -100, -100]), None, 0.0), (np.array([-100, -100, -100]), None, 0.2),
                      (np.array([1, 0, 3]), np.array([1.0, 0.0, 2.0, 0.5], dtype), 0.0),
                      (np.array([1, 0, 3]), None, 0.3)):
        for red in ("mean", "sum", "none"):
            kw = dict(weight=w, label_smoothing=eps, reduction=red)
            tx = torch.from_numpy(x).requires_grad_(True)
            tl = F.cross_entropy(tx, torch.from_numpy(t), weight=None if w is None else torch.from_numpy(w),
                                 label_smoothing=eps, reduction=red)
            gl = np.ones(3, dtype) if red == "none" else np.asarray(1.0, dtype)
            tl.backward(torch.from_numpy(gl))
            loss, lse = backend.cross_entropy(x, t, **kw)
            _close(loss, tl.detach().numpy(), dtype, _torch_tol(dtype))
            _close(backend.cross_entropy_backward(x, t, lse, gl, **kw), tx.grad.numpy(), dtype, _torch_tol(dtype))
