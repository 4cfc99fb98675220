"""Convolution and max-pooling kernels (csrc/im2col.c): the compiled
bindings against the NumPy reference (tinygrad_cn/_C/ref_conv.py) on drawn
geometries (stride, asymmetric padding, dilation, groups), strided and
negative-stride inputs, float32 and float64, 1 and 2 threads and every SIMD
level; the reference against the adjoint identities of convolution and
against torch (skipped without torch).

The compiled tests skip when the extension is not built, unless
TINYGRAD_CN_REQUIRE_C=1, which turns a missing extension into a failure.
"""
import numpy as np
import pytest

import tinygrad_cn._C as C
from tinygrad_cn._C import kernels, reference
from tinygrad_cn.testing import require_compiled

try:
    from hypothesis import given
    from hypothesis import strategies as st
except ImportError:
    given = None

DTYPES = (np.float32, np.float64)
LAYOUTS = ("contiguous", "transposed", "sliced", "flipped")
# compiled vs reference, relative to the largest |entry| of the result (the
# two sum in different orders)
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def _close(got, want, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == np.dtype(dtype) and got.shape == want.shape, (got.dtype, got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


def _layout(a: np.ndarray, layout: str) -> np.ndarray:
    """The values of `a` as a view with other strides."""
    if layout == "transposed":  # plane stored column-major: width stride != 1
        return np.ascontiguousarray(a.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    if layout == "sliced":  # every other element of a wider array, and channels not adjacent
        big = np.zeros(a.shape[:1] + (a.shape[1] * 2,) + a.shape[2:3] + (a.shape[3] * 2,), dtype=a.dtype)
        big[:, ::2, :, ::2] = a
        return big[:, ::2, :, ::2]
    if layout == "flipped":  # negative strides
        return np.ascontiguousarray(a[:, :, ::-1, ::-1])[:, :, ::-1, ::-1]
    return np.ascontiguousarray(a)


def _geometry_case(rng, n, cg, og, groups, k, s, pads, d, extra):
    """x, w, bias and (stride, padding, dilation, groups) with an input just
    large enough for the dilated kernel plus `extra`."""
    (pt, pb), (pl, pr) = pads
    h = max(1, d[0] * (k[0] - 1) + 1 - pt - pb + extra[0])
    w = max(1, d[1] * (k[1] - 1) + 1 - pl - pr + extra[1])
    x = rng.standard_normal((n, cg * groups, h, w))
    wt = rng.standard_normal((og * groups, cg) + tuple(k))
    b = rng.standard_normal(og * groups)
    return x, wt, b, (tuple(s), pads, tuple(d), groups)


def _run_all(backend, x, wt, b, geo):
    y = backend.conv2d_forward(x, wt, b, *geo)
    g = np.asarray(np.random.default_rng(1).standard_normal(y.shape), dtype=y.dtype)
    gx = backend.conv2d_backward_input(g, wt, x.shape, *geo)
    gw = backend.conv2d_backward_weight(x, g, wt.shape, *geo)
    return y, gx, gw


# --------------------------------------------------------------------------
# the reference is right: adjoint identities and torch
# --------------------------------------------------------------------------

@pytest.mark.parametrize("case", [
    dict(n=2, cg=3, og=2, groups=1, k=(3, 3), s=(1, 1), pads=((1, 1), (1, 1)), d=(1, 1), extra=(4, 5)),
    dict(n=1, cg=2, og=3, groups=2, k=(2, 3), s=(2, 1), pads=((0, 1), (2, 0)), d=(1, 2), extra=(3, 2)),
    dict(n=3, cg=1, og=1, groups=3, k=(1, 1), s=(1, 1), pads=((0, 0), (0, 0)), d=(1, 1), extra=(2, 3)),
    dict(n=2, cg=2, og=2, groups=1, k=(3, 2), s=(3, 2), pads=((2, 0), (1, 1)), d=(2, 1), extra=(5, 4)),
])
def test_reference_satisfies_the_adjoint_identities(case):
    # <conv(x, w), g> = <x, conv^T_x(g, w)> = <w, conv^T_w(x, g)>
    x, wt, _, geo = _geometry_case(np.random.default_rng(0), **case)
    y, gx, gw = _run_all(reference, x, wt, None, geo)
    g = np.random.default_rng(1).standard_normal(y.shape)
    lhs = float((y * g).sum())
    assert lhs == pytest.approx(float((x * gx).sum()), rel=1e-10, abs=1e-10)
    assert lhs == pytest.approx(float((wt * gw).sum()), rel=1e-10, abs=1e-10)


def test_reference_conv_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, wt, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    geo = ((2, 1), ((1, 1), (2, 2)), (1, 2), 2)
    y = reference.conv2d_forward(x, wt, b, *geo)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, wt, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(reference.conv2d_backward_input(g, wt, x.shape, *geo), tx.grad.numpy(), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(reference.conv2d_backward_weight(x, g, wt.shape, *geo), tw.grad.numpy(), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("backend_name", ["compiled", "reference"])
def test_max_pool_matches_torch_on_nan_ties_and_minus_inf(backend_name):
    torch = pytest.importorskip("torch")
    if backend_name == "compiled":
        require_compiled()
    backend = kernels if backend_name == "compiled" else reference
    x = np.array([[[[1.0, 1.0, 2.0, np.nan, 0.0],
                    [0.5, 1.0, np.nan, 3.0, -1.0],
                    [-np.inf, -np.inf, 7.0, 7.0, 2.0],
                    [-np.inf, -np.inf, 7.0, 7.0, 2.0]]]], dtype=np.float32)
    tx = torch.from_numpy(x)
    for k, s, p, d, ceil in [((2, 2), (2, 2), (0, 0), (1, 1), False), ((2, 2), (2, 2), (1, 1), (1, 1), True),
                             ((3, 2), (1, 1), (1, 0), (1, 2), False), ((2, 3), (2, 1), (0, 1), (2, 1), True)]:
        ty, ti = torch.nn.functional.max_pool2d(tx, k, s, p, d, ceil_mode=ceil, return_indices=True)
        y, idx = backend.max_pool2d(x, k, s, p, d, tuple(ty.shape[2:]))
        np.testing.assert_array_equal(y, ty.numpy())
        np.testing.assert_array_equal(idx, ti.numpy())


# --------------------------------------------------------------------------
# compiled against the reference
# --------------------------------------------------------------------------

if given is not None:
    @st.composite
    def _conv_case(draw):
        groups = draw(st.integers(1, 3))
        k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        d = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        pads = tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(2))
        return dict(n=draw(st.integers(1, 4)), cg=draw(st.integers(1, 3)), og=draw(st.integers(1, 3)), groups=groups,
                    k=k, s=(draw(st.integers(1, 3)), draw(st.integers(1, 3))), pads=pads, d=d,
                    extra=(draw(st.integers(0, 7)), draw(st.integers(0, 7))))

    @given(_conv_case(), st.sampled_from(DTYPES), st.sampled_from(LAYOUTS), st.booleans(), st.integers(1, 2))
    def test_conv_compiled_matches_reference(case, dtype, layout, with_bias, threads):
        require_compiled()
        x, wt, b, geo = _geometry_case(np.random.default_rng(3), **case)
        x, wt, b = x.astype(dtype), wt.astype(dtype), b.astype(dtype) if with_bias else None
        xv = _layout(x, layout)
        prev = C.get_num_threads()
        C.set_num_threads(threads)
        try:
            got = _run_all(kernels, xv, wt, b, geo)
        finally:
            C.set_num_threads(prev)
        want = _run_all(reference, x, wt, b, geo)
        for a, e in zip(got, want):
            _close(a, e, dtype)

    @st.composite
    def _pool_case(draw):
        k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
        s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        p = tuple(draw(st.integers(0, ((k[i] - 1) * d[i] + 1) // 2)) for i in range(2))
        hw = tuple(max(1, (k[i] - 1) * d[i] + 1 - 2 * p[i]) + draw(st.integers(0, 6)) for i in range(2))
        ceil = draw(st.booleans())
        ohw = []
        for i in range(2):  # torch's output size (pooling_output_shape)
            num = hw[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1 + (s[i] - 1 if ceil else 0)
            o = num // s[i] + 1
            if ceil and (o - 1) * s[i] >= hw[i] + p[i]:
                o -= 1
            ohw.append(o)
        return dict(shape=(draw(st.integers(1, 3)), draw(st.integers(1, 3))) + hw, k=k, s=s, p=p, d=d,
                    ohw=tuple(ohw), ties=draw(st.booleans()))

    @given(_pool_case(), st.sampled_from(DTYPES), st.sampled_from(LAYOUTS), st.integers(1, 2))
    def test_max_pool_compiled_matches_reference(case, dtype, layout, threads):
        require_compiled()
        rng = np.random.default_rng(4)
        x = rng.standard_normal(case["shape"])
        if case["ties"]:  # few distinct values: ties everywhere, first-in-window-order wins
            x = np.round(x)
        x = x.astype(dtype)
        args = (case["k"], case["s"], case["p"], case["d"], case["ohw"])
        prev = C.get_num_threads()
        C.set_num_threads(threads)
        try:
            y, idx = kernels.max_pool2d(_layout(x, layout), *args)
            g = rng.standard_normal(y.shape).astype(dtype)
            gx = kernels.max_pool2d_backward(g, idx, x.shape)
        finally:
            C.set_num_threads(prev)
        ry, ridx = reference.max_pool2d(x, *args)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(idx, ridx)
        assert y.dtype == dtype and idx.dtype == np.int64
        _close(gx, reference.max_pool2d_backward(g, ridx, x.shape), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_every_simd_level(level, dtype):
    x, wt, b, geo = _geometry_case(np.random.default_rng(5), n=3, cg=4, og=5, groups=1, k=(3, 3), s=(1, 1),
                                   pads=((1, 1), (1, 1)), d=(1, 1), extra=(9, 11))
    x, wt, b = x.astype(dtype), wt.astype(dtype), b.astype(dtype)
    for a, e in zip(_run_all(kernels, x, wt, b, geo), _run_all(reference, x, wt, b, geo)):
        _close(a, e, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [
    # many samples, small per-sample GEMMs: samples split over the threads
    dict(n=16, cg=8, og=16, groups=1, k=(3, 3), s=(1, 1), pads=((1, 1), (1, 1)), d=(1, 1), extra=(12, 12)),
    # one sample, a GEMM large enough to split itself
    dict(n=1, cg=32, og=64, groups=1, k=(3, 3), s=(1, 1), pads=((1, 1), (1, 1)), d=(1, 1), extra=(40, 40)),
    # 1x1: the input is the columns matrix, no im2col
    dict(n=5, cg=6, og=4, groups=2, k=(1, 1), s=(1, 1), pads=((0, 0), (0, 0)), d=(1, 1), extra=(9, 8)),
])
def test_conv_large_on_one_and_two_threads(shape, dtype, threads_restored):
    require_compiled()
    x, wt, b, geo = _geometry_case(np.random.default_rng(6), **shape)
    x, wt, b = x.astype(dtype), wt.astype(dtype), b.astype(dtype)
    want = _run_all(reference, x, wt, b, geo)
    got = []
    for threads in (1, 2):
        C.set_num_threads(threads)
        got.append(_run_all(kernels, x, wt, b, geo))
        for a, e in zip(got[-1], want):
            _close(a, e, dtype)
    for a, e in zip(*got):  # every sample on its own, the weight gradient summed in fixed blocks
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 16, 14, 14), (3, 5, 7), (1, 1, 1, 1), (0, 4, 3, 3), (2, 3)])
def test_bias_gradient_compiled_matches_reference(shape, dtype, threads_restored):
    require_compiled()
    g = _rng_array(shape, dtype)
    want = reference.conv2d_backward_bias(g.astype(np.float64))
    for threads in (1, 2):
        C.set_num_threads(threads)
        for view in (g, _layout(g, "transposed") if g.ndim == 4 else g.T.copy().T):
            got = kernels.conv2d_backward_bias(view)
            assert got.dtype == dtype and got.shape == (shape[1],)
            np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * max(1.0, g.size ** 0.5))


def _rng_array(shape, dtype):
    return np.random.default_rng(8).standard_normal(shape).astype(dtype)


def test_max_pool_common_case_with_nan_and_threads(threads_restored):
    require_compiled()
    x = np.random.default_rng(7).standard_normal((8, 8, 28, 28)).astype(np.float32)
    x[0, 0, 0, 1] = x[3, 2, 5, 4] = x[3, 2, 5, 5] = np.nan
    x[1, 1, 2:4, 2:4] = -np.inf
    ry, ridx = reference.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), (14, 14))
    for threads in (1, 2):
        C.set_num_threads(threads)
        y, idx = kernels.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), (14, 14))
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(idx, ridx)
    assert idx[3, 2, 2, 2] == 5 * 28 + 5  # the last NaN of the window
    assert idx[1, 1, 1, 1] == 2 * 28 + 2 and y[1, 1, 1, 1] == -np.inf


@pytest.mark.parametrize("backend_name", ["compiled", "reference"])
def test_kernels_reject_inconsistent_arguments(backend_name):
    if backend_name == "compiled":
        require_compiled()
    backend = kernels if backend_name == "compiled" else reference
    x, wt = np.ones((2, 4, 5, 5), np.float32), np.ones((6, 2, 3, 3), np.float32)
    geo = ((1, 1), ((0, 0), (0, 0)), (1, 1))
    with pytest.raises(RuntimeError, match=r"\[2, 4, 5, 5\].*\[6, 2, 3, 3\]"):
        backend.conv2d_forward(x, wt, None, *geo, 1)  # 4 channels, weight wants 2
    with pytest.raises(RuntimeError):
        backend.conv2d_forward(x, np.ones((6, 2, 7, 7), np.float32), None, *geo, 2)  # kernel larger than input
    with pytest.raises(RuntimeError, match="grad_output"):
        backend.conv2d_backward_input(np.ones((2, 6, 4, 4), np.float32), wt, x.shape, *geo, 2)
    with pytest.raises(RuntimeError, match="grad_output"):
        backend.conv2d_backward_weight(x, np.ones((2, 6, 2, 2), np.float32), wt.shape, *geo, 2)
    y, idx = backend.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), (2, 2))
    bad = idx.copy()
    bad[0, 0, 0, 0] = 25
    with pytest.raises(RuntimeError, match="outside the input plane"):
        backend.max_pool2d_backward(np.ones_like(y), bad, x.shape)
    with pytest.raises(RuntimeError):  # a window of padding only
        backend.max_pool2d(np.ones((1, 1, 1, 1), np.float32), (2, 2), (1, 1), (1, 1), (3, 3), (2, 2))


def test_other_dtypes_go_to_the_reference():
    x = np.arange(2 * 2 * 4 * 4, dtype=np.float16).reshape(2, 2, 4, 4) / 8
    wt = np.ones((3, 2, 2, 2), np.float16)
    geo = ((1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    y = kernels.conv2d_forward(x, wt, None, *geo)
    assert y.dtype == np.float16
    np.testing.assert_allclose(y, reference.conv2d_forward(x, wt, None, *geo))
    yi, idx = kernels.max_pool2d(np.arange(16, dtype=np.int64).reshape(1, 1, 4, 4), (2, 2), (2, 2), (0, 0), (1, 1),
                                 (2, 2))
    np.testing.assert_array_equal(yi[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(idx[0, 0], [[5, 7], [13, 15]])
