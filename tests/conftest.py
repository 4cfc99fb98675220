"""Shared pytest configuration for tinygrad_cn.

Sections (append new fixtures under a heading of their own):
  1. Hypothesis profiles
  2. Kernel fixtures: `level` (each SIMD level) and `threads_restored`
"""

import os

import pytest

# --------------------------------------------------------------------------
# 1. Hypothesis profiles
#    HYPOTHESIS_PROFILE=ci  (default) derandomized, 25 examples: reproducible CI
#    HYPOTHESIS_PROFILE=dev 100 random examples per test, for local digging
# --------------------------------------------------------------------------
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is in the `test` extra; tests needing it skip
    settings = None

if settings is not None:
    settings.register_profile(
        "ci",
        derandomize=True,
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile("dev", max_examples=100, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# --------------------------------------------------------------------------
# 2. Kernel fixtures, for the compiled-kernel tests
#    level            -- runs the test once per SIMD level ("generic", "avx2",
#                        "avx512"), skipping levels this CPU lacks (and all of
#                        them without the compiled extension, unless
#                        TINYGRAD_CN_REQUIRE_C=1 makes that a failure)
#    threads_restored -- puts tinygrad_cn's thread count back afterwards
# --------------------------------------------------------------------------
@pytest.fixture(params=("generic", "avx2", "avx512"))
def level(request):
    import tinygrad_cn._C as C
    from tinygrad_cn.testing import require_compiled

    require_compiled()
    if request.param not in C.simd_supported_levels():
        pytest.skip("SIMD level %s not supported on this CPU" % request.param)
    prev = C.set_simd_level(request.param)
    assert C.simd_level() == request.param
    yield request.param
    C.set_simd_level(prev)


@pytest.fixture
def threads_restored():
    import tinygrad_cn._C as C

    prev = C.get_num_threads()
    yield
    C.set_num_threads(prev)
