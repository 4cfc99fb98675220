"""GEMM kernels (kernels.gemm / kernels.gemm_batched) against np.matmul.

Compiled-only checks run at every SIMD level this machine supports and skip
when the extension is not in use (unless TINYGRAD_CN_REQUIRE_C=1), as in
test_kernels.py. The reference backend is checked with the same cases.
"""


import numpy as np
import pytest

from tinygrad_cn.testing import require_compiled as _require_compiled

import tinygrad_cn._C as C
from tinygrad_cn._C import kernels, reference

try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover
    given = None

LEVELS = ("generic", "avx2", "avx512")
# Block sizes of the variants (gemm.c): MR in {4, 6, 8}, NR in {8, 16, 32},
# KC = 384, MC in {240, 480}.
EDGE_SIZES = (1, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 239, 241, 383, 384, 385, 479, 481)


def _mats(m, k, n, dtype, seed=0):
    rng = np.random.default_rng(seed * 1000003 + m * 7919 + k * 31 + n)
    return rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)


def _check(got, a, b, alpha=1.0, beta=0.0, c0=None, bias=None, relu=False):
    """got == relu?(alpha * a @ b + beta * c0 + bias) within a tolerance
    scaling with k."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    want = alpha * np.matmul(a64, b64)
    if c0 is not None and beta != 0:
        want = want + beta * c0.astype(np.float64)
    k = a.shape[-1]
    # bound on |error| relative to sum |a||b|
    scale = abs(alpha) * np.matmul(np.abs(a64), np.abs(b64))
    if c0 is not None and beta != 0:
        scale = scale + abs(beta) * np.abs(c0.astype(np.float64))
    if bias is not None:
        want = want + bias.astype(np.float64)
        scale = scale + np.abs(bias.astype(np.float64))
    if relu:
        want = np.maximum(want, 0)  # relu is 1-Lipschitz: the bound still holds
    eps = np.finfo(got.dtype).eps
    tol = (2 * k + 4) * eps * scale + np.finfo(got.dtype).tiny
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == a.dtype
    err = np.abs(got.astype(np.float64) - want)
    assert np.all(err <= tol), "max err %g (tol %g) at %s" % (err.max(), tol.flat[err.argmax()],
                                                               np.unravel_index(err.argmax(), err.shape))


BACKENDS = ("compiled", "reference")


def _backend(name):
    if name == "compiled":
        _require_compiled()
        return kernels
    return reference


# --------------------------------------------------------------------------
# explicit cases
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_edge_sizes_each_level(level, dtype):
    for s in EDGE_SIZES:
        for m, k, n in ((s, 17, 33), (9, s, 31), (13, 29, s), (s, s, 7)):
            a, b = _mats(m, k, n, dtype)
            _check(kernels.gemm(a, b), a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_sizes(level, dtype):
    for m, k, n in ((0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0)):
        a, b = _mats(m, k, n, dtype)
        r = kernels.gemm(a, b)
        np.testing.assert_array_equal(r, np.matmul(a, b))
        out = np.full((m, n), np.nan, dtype)
        kernels.gemm(a, b, out=out)
        np.testing.assert_array_equal(out, np.zeros((m, n), dtype))
        out = np.full((m, n), 2.0, dtype)
        kernels.gemm(a, b, out=out, beta=0.5)
        np.testing.assert_array_equal(out, np.matmul(a, b) + 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_views_no_copy(backend, dtype):
    K = _backend(backend)
    a, b = _mats(70, 50, 90, dtype)
    big_a = np.random.default_rng(1).standard_normal((140, 100)).astype(dtype)
    big_b = np.random.default_rng(2).standard_normal((100, 180)).astype(dtype)
    variants_a = [a, a.T.copy().T, big_a[::2, ::2], big_a[::-2, ::-2], big_a[::-1, :50][:70], np.asfortranarray(a)]
    variants_b = [b, b.T.copy().T, big_b[::2, ::2], big_b[::-2, ::-2], big_b[:50, ::-1][:, :90]]
    for av in variants_a:
        for bv in variants_b:
            _check(K.gemm(av, bv), av, bv)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_strided_alpha_beta(backend, dtype):
    K = _backend(backend)
    a, b = _mats(37, 45, 53, dtype)
    for alpha, beta in ((1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 0.25), (0.0, 2.0)):
        for make in (lambda s: np.empty(s, dtype),
                     lambda s: np.empty((s[1], s[0]), dtype).T,
                     lambda s: np.empty((2 * s[0], 2 * s[1]), dtype)[::2, ::-2],
                     lambda s: np.empty((s[0], 3 * s[1]), dtype)[::-1, 1::3]):
            out = make((37, 53))
            if beta == 0.0:
                out[...] = np.nan  # must not be read
                c0 = None
            else:
                out[...] = np.random.default_rng(3).standard_normal((37, 53))
                c0 = out.copy()
            r = K.gemm(a, b, out=out, alpha=alpha, beta=beta)
            assert r is out
            assert not np.isnan(out).any()
            _check(out, a, b, alpha, beta, c0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_out_overlapping_input(dtype):
    a, b = _mats(20, 20, 20, dtype)
    want = np.matmul(a, b)
    x = a.copy()
    kernels.gemm(x, b, out=x)
    np.testing.assert_allclose(x, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors(backend):
    K = _backend(backend)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        K.gemm(np.ones((2, 3)), np.ones((4, 5)))
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        K.gemm_batched(np.ones((1, 2, 3)), np.ones((1, 4, 5)))
    with pytest.raises(RuntimeError, match="same dtype"):
        K.gemm(np.ones((2, 3), np.float32), np.ones((3, 5), np.float64))
    with pytest.raises(RuntimeError):
        K.gemm_batched(np.ones((2, 2, 3)), np.ones((3, 3, 5)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_follows_numpy(backend):
    K = _backend(backend)
    a = np.arange(6, dtype=np.int64).reshape(2, 3)
    b = np.arange(12, dtype=np.int64).reshape(3, 4)
    r = K.gemm(a, b)
    assert r.dtype == np.int64
    np.testing.assert_array_equal(r, a @ b)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_broadcast(backend, dtype):
    K = _backend(backend)
    rng = np.random.default_rng(5)
    for ba, bb in ((3, 3), (1, 4), (4, 1), (1, 1), (0, 0), (0, 1)):
        a = rng.standard_normal((ba, 9, 13)).astype(dtype)
        b = rng.standard_normal((bb, 13, 11)).astype(dtype)
        r = K.gemm_batched(a, b)
        want = np.matmul(a, b)
        assert r.shape == want.shape
        for i in range(r.shape[0]):
            _check(r[i], a[min(i, ba - 1)], b[min(i, bb - 1)])
    # strided / transposed batch operands and out, beta
    a = rng.standard_normal((6, 30, 40)).astype(dtype)[::2, ::-1, ::2]  # (3, 30, 20)
    b = rng.standard_normal((3, 17, 20)).astype(dtype).transpose(0, 2, 1)  # (3, 20, 17)
    out = np.empty((3, 17, 30), dtype).transpose(0, 2, 1)
    out[...] = 1.0
    K.gemm_batched(a, b, out=out, alpha=2.0, beta=-1.0)
    for i in range(3):
        _check(out[i], a[i], b[i], 2.0, -1.0, np.ones((30, 17), dtype))


def test_batched_many_small_parallel(level, threads_restored):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((64, 24, 40))
    b = rng.standard_normal((1, 40, 30))
    C.set_num_threads(2)
    r2 = kernels.gemm_batched(a, b)
    C.set_num_threads(1)
    r1 = kernels.gemm_batched(a, b)
    np.testing.assert_array_equal(r1, r2)
    for i in range(64):
        _check(r1[i], a[i], b[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_identical(level, dtype, threads_restored):
    for m, k, n in ((300, 400, 200), (481, 385, 97), (97, 800, 64)):
        a, b = _mats(m, k, n, dtype)
        C.set_num_threads(1)
        r1 = kernels.gemm(a, b)
        C.set_num_threads(2)
        r2 = kernels.gemm(a, b)
        np.testing.assert_array_equal(r1, r2)
        _check(r1, a, b)


def test_large_blocks(level):
    # crosses KC, MC and (for float64) NC
    a, b = _mats(500, 800, 1100, np.float64)
    _check(kernels.gemm(a, b), a, b)
    a, b = _mats(490, 390, 2100, np.float32)
    _check(kernels.gemm(a.T.copy().T, b), a, b)


# --------------------------------------------------------------------------
# property-based
# --------------------------------------------------------------------------

if given is not None:

    @st.composite
    def _gemm_case(draw):
        dims = st.one_of(st.integers(0, 40), st.sampled_from(EDGE_SIZES), st.integers(41, 300))
        m, k, n = draw(dims), draw(dims), draw(dims)
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        ta, tb = draw(st.booleans()), draw(st.booleans())
        sa, sb = draw(st.sampled_from([1, 2, -1, -2])), draw(st.sampled_from([1, 2, -1, -2]))
        alpha = draw(st.sampled_from([1.0, -2.0, 0.5]))
        beta = draw(st.sampled_from([0.0, 1.0, -0.75]))
        seed = draw(st.integers(0, 2 ** 16))
        bias_step = draw(st.sampled_from([None, 1, -2]))  # None: no bias
        relu = draw(st.booleans())
        return m, k, n, dtype, ta, tb, sa, sb, alpha, beta, seed, bias_step, relu

    def _view(rng, shape, dtype, transposed, step):
        r, c = shape
        base = rng.standard_normal((c * abs(step), r) if transposed else (r * abs(step), c)).astype(dtype)
        v = base[::step] if step else base
        return v.T if transposed else v

    def _run_case(K, case):
        m, k, n, dtype, ta, tb, sa, sb, alpha, beta, seed, bias_step, relu = case
        rng = np.random.default_rng(seed)
        a = _view(rng, (m, k), dtype, ta, sa)
        b = _view(rng, (k, n), dtype, tb, sb)
        assert a.shape == (m, k) and b.shape == (k, n)
        out = np.empty((2 * m, n), dtype)[::-2] if sa < 0 else np.empty((m, n), dtype)
        if beta == 0.0:
            out[...] = np.nan
            c0 = None
        else:
            out[...] = rng.standard_normal((m, n))
            c0 = out.copy()
        bias = None if bias_step is None else rng.standard_normal(n * abs(bias_step)).astype(dtype)[::bias_step]
        K.gemm(a, b, out=out, alpha=alpha, beta=beta, bias=bias, activation="relu" if relu else None)
        _check(out, a, b, alpha, beta, c0, bias, relu)

    @given(_gemm_case(), st.sampled_from(LEVELS))
    def test_hypothesis_compiled(case, lvl):
        _require_compiled()
        if lvl not in C.simd_supported_levels():
            lvl = C.simd_supported_levels()[-1]
        prev = C.set_simd_level(lvl)
        try:
            _run_case(kernels, case)
        finally:
            C.set_simd_level(prev)

    @given(_gemm_case())
    def test_hypothesis_reference(case):
        _run_case(reference, case)


# --------------------------------------------------------------------------
# small-matrix path (no packing of A; B used in place when its rows are
# contiguous). _kernels.set_gemm_small_max moves the crossover so that the
# same shapes run through both paths.
# --------------------------------------------------------------------------

@pytest.fixture
def small_max_restored():
    _require_compiled()
    from tinygrad_cn._C import _kernels
    prev = _kernels.set_gemm_small_max(-1)
    yield _kernels.set_gemm_small_max
    _kernels.set_gemm_small_max(prev)


def _views(a, b):
    """(name, a_view, b_view) with the same values as a, b: contiguous,
    transposed storage, sliced columns, negative strides."""
    at = np.ascontiguousarray(a.T).T
    bt = np.ascontiguousarray(b.T).T
    a2 = np.zeros((a.shape[0], 2 * a.shape[1]), a.dtype)
    a2[:, ::2] = a
    b2 = np.zeros((b.shape[0], 2 * b.shape[1]), b.dtype)
    b2[:, ::2] = b
    b3 = np.zeros((b.shape[0], b.shape[1] + 3), b.dtype)
    b3[:, 3:] = b
    return [("contiguous", a, b), ("transposed", at, bt), ("stepped", a2[:, ::2], b2[:, ::2]),
            ("offset-rows", a, b3[:, 3:]), ("negative", a[::-1, ::-1][::-1, ::-1], np.ascontiguousarray(b[::-1, ::-1])[::-1, ::-1])]


# m, k, n around MR (6 / 8), the vector widths (8 / 16) and SM_NV vectors,
# plus the shapes the MLP and the benchmarks use
SMALL_SHAPES = ((1, 1, 1), (1, 5, 17), (5, 3, 1), (6, 7, 16), (7, 9, 15), (13, 4, 33), (12, 10, 64),
                (17, 31, 65), (32, 64, 64), (64, 64, 64), (128, 16, 10), (9, 40, 130), (2, 3, 200))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_path_shapes_and_views(level, dtype, small_max_restored):
    for limit in (10 ** 12, 0):  # small path, then packed path for the same shapes
        small_max_restored(limit)
        for m, k, n in SMALL_SHAPES:
            a, b = _mats(m, k, n, dtype)
            for name, av, bv in _views(a, b):
                _check(kernels.gemm(av, bv), a, b)
                _check(kernels.gemm_batched(av[None], bv[None]), a[None], b[None])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_path_alpha_beta_strided_out(level, dtype, small_max_restored):
    small_max_restored(10 ** 12)
    rng = np.random.default_rng(5)
    for m, k, n in ((7, 9, 15), (12, 10, 64), (13, 4, 33)):
        a, b = _mats(m, k, n, dtype)
        for layout in ("c", "f", "stepped"):
            c0 = rng.standard_normal((m, n)).astype(dtype)
            if layout == "c":
                out = c0.copy()
            elif layout == "f":
                out = np.asfortranarray(c0)
            else:
                big = np.zeros((m, 2 * n), dtype)
                big[:, ::2] = c0
                out = big[:, ::2]
            for alpha, beta in ((1.0, 1.0), (0.5, -2.0), (2.0, 0.0)):
                o = out.copy() if layout != "stepped" else out
                before = np.array(o)
                if beta == 0.0:
                    o[...] = np.nan  # beta == 0 never reads C
                r = kernels.gemm(a, b, out=o, alpha=alpha, beta=beta)
                assert r is o
                _check(o, a, b, alpha, beta, before)
                o[...] = before


def test_small_path_default_crossover():
    """Both sides of the default crossover agree with NumPy."""
    _require_compiled()
    from tinygrad_cn._C import _kernels
    lims = _kernels.gemm_small_max_flops
    assert _kernels.set_gemm_small_max(-1) == lims
    for dtype, lim in zip((np.float32, np.float64), lims):
        for m, k, n in ((32, 64, 64), (64, 64, 64), (65, 64, 64), (128, 256, 10),
                        (lim // 64, 8, 8), (lim // 64 + 1, 8, 8)):
            a, b = _mats(m, k, n, dtype)
            _check(kernels.gemm(a, b), a, b)
            _check(kernels.gemm(a, np.ascontiguousarray(b.T).T), a, b)


def test_small_max_setter(small_max_restored):
    prev = small_max_restored((5, 7))
    assert small_max_restored(-1) == (5, 7)
    small_max_restored(prev)
    assert small_max_restored(-1) == prev


# narrow n (n < vector width, A rows contiguous): dot products over k with
# B^T copied; k around the vector widths (4, 8, 16) and their multiples
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_path_narrow_n(level, dtype, small_max_restored):
    small_max_restored(10 ** 12)
    rng = np.random.default_rng(11)
    for n in range(1, 18):
        for k in (1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 65, 255, 256, 257):
            m = (n * 7 + k) % 11 + 1
            a, b = _mats(m, k, n, dtype)
            for name, av, bv in _views(a, b):
                _check(kernels.gemm(av, bv), a, b)
            if k in (15, 17, 33, 65):
                c0 = rng.standard_normal((m, n)).astype(dtype)
                for layout in ("c", "f"):
                    for alpha, beta in ((1.0, 1.0), (0.5, -2.0), (2.0, 0.0)):
                        o = np.array(c0, order="C" if layout == "c" else "F")
                        if beta == 0.0:
                            o[...] = np.nan  # beta == 0 never reads C
                        r = kernels.gemm(a, b, out=o, alpha=alpha, beta=beta)
                        assert r is o
                        _check(o, a, b, alpha, beta, c0)
    for m, k, n in ((128, 256, 10), (256, 128, 10), (4, 16, 4), (5, 33, 9), (40, 17, 31), (70, 64, 15)):
        a, b = _mats(m, k, n, dtype)
        for name, av, bv in _views(a, b):
            _check(kernels.gemm(av, bv), a, b)
    # column-major A with m >= 2 * VL takes the swapped form C^T = B^T A^T
    for m, k, n in ((40, 33, 7), (33, 9, 3), (64, 65, 15)):
        a, b = _mats(m, k, n, dtype)
        at = np.ascontiguousarray(a.T).T
        c0 = rng.standard_normal((m, n)).astype(dtype)
        for layout in ("c", "f"):
            for alpha, beta in ((1.0, 1.0), (0.5, -2.0), (2.0, 0.0)):
                o = np.array(c0, order="C" if layout == "c" else "F")
                if beta == 0.0:
                    o[...] = np.nan
                kernels.gemm(at, b, out=o, alpha=alpha, beta=beta)
                _check(o, a, b, alpha, beta, c0)


# --------------------------------------------------------------------------
# fused epilogue: act(alpha * a @ b + beta * c + bias), on every path
# --------------------------------------------------------------------------

# (m, k, n, a layout): wide small path, narrow-n dot path (row-major A),
# narrow-n swapped path (column-major A: bias moves to C^T's rows), packed
# path (run with the small path switched off), k = 0
_EPI_CASES = ((7, 33, 45, "C"), (13, 40, 10, "C"), (40, 9, 6, "F"), (50, 70, 90, "C"), (5, 0, 9, "C"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("small", [True, False])
def test_epilogue_every_path(level, dtype, small, small_max_restored):
    small_max_restored(1 << 40 if small else 0)
    for m, k, n, order in _EPI_CASES:
        a, b = _mats(m, k, n, dtype)
        a = np.asarray(a, order=order)
        bias = np.linspace(-3, 3, 2 * n).astype(dtype)[::2]  # strided, crosses zero
        for beta in (0.0, 1.0):
            c0 = np.random.default_rng(1).standard_normal((m, n)).astype(dtype)
            for act in (None, "relu"):
                out = c0.copy()
                kernels.gemm(a, b, out=out, beta=beta, bias=bias, activation=act)
                _check(out, a, b, 1.0, beta, c0, bias, act == "relu")
                if act == "relu":
                    assert (out >= 0).all()
        # columns of a transposed C (csc != 1) take the strided epilogue
        out_t = np.empty((n, m), dtype).T
        kernels.gemm(a, b, out=out_t, bias=bias, activation="relu")
        _check(out_t, a, b, bias=bias, relu=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_epilogue_relu_keeps_nan_and_errors(backend):
    K = _backend(backend)
    a = np.array([[np.nan, 0.0], [1.0, -1.0]], np.float32)
    b = np.eye(2, dtype=np.float32)
    got = K.gemm(a, b, bias=np.zeros(2, np.float32), activation="relu")
    assert np.isnan(got[0, 0]) and got[1, 1] == 0 and got[1, 0] == 1
    with pytest.raises(RuntimeError, match="bias"):
        K.gemm(a, b, bias=np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="dtype"):
        K.gemm(a, b, bias=np.zeros(2, np.float64))
    with pytest.raises(ValueError, match="activation"):
        K.gemm(a, b, activation="gelu")


def test_epilogue_threads_identical(level, threads_restored):
    a, b = _mats(300, 200, 260, np.float32)
    bias = np.random.default_rng(2).standard_normal(260).astype(np.float32)
    C.set_num_threads(1)
    one = kernels.gemm(a, b, bias=bias, activation="relu")
    C.set_num_threads(2)
    two = kernels.gemm(a, b, bias=bias, activation="relu")
    assert np.array_equal(one, two)
    _check(two, a, b, bias=bias, relu=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_transposed_b_every_level(level, dtype, small_max_restored):
    # x @ W.T (B column-major): B panels are packed by VL x VL register
    # transposes, with a scalar tail for k % VL and for ragged last panels
    small_max_restored(0)
    for m, k, n in ((9, 16, 32), (33, 37, 70), (64, 400, 96), (5, 3, 33), (17, 385, 40)):
        a, w = _mats(m, k, n, dtype)
        wt = np.ascontiguousarray(w.T)  # (n, k) row-major, as nn.Linear stores it
        _check(kernels.gemm(a, wt.T), a, w)
        _check(kernels.gemm(a, wt.T, bias=np.ones(n, dtype), activation="relu"), a, w, bias=np.ones(n, dtype),
               relu=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_split_for_few_rows(level, dtype, threads_restored):
    # m <= 256 on 2 threads: the packed GEMM splits C's columns, each thread
    # a whole product of its own (bias offset to its columns); bit-identical
    # to one thread, any layout of C
    a, b = _mats(130, 300, 517, dtype)
    bias = np.linspace(-1, 1, 517).astype(dtype)
    outs = []
    for nt in (1, 2):
        C.set_num_threads(nt)
        c = np.empty((517, 130), dtype).T
        kernels.gemm(a, b, out=c, bias=bias, activation="relu")
        outs.append(c.copy())
    assert np.array_equal(outs[0], outs[1])
    _check(outs[1], a, b, bias=bias, relu=True)
