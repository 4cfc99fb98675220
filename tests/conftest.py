"""Shared pytest configuration for tinygrad_cn.

Sections (append new fixtures under a heading of their own):
  1. Hypothesis profiles
"""

import os

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
