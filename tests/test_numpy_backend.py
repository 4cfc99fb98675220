"""The op and autograd tests again, on the pure NumPy kernels.

Every compiled kernel has a NumPy reference; tests/test_kernels.py compares
the two kernel by kernel. This runs the tests that reach the kernels through
ops and backward (activations, their fused gradients, double backward) in a
fresh interpreter with TINYGRAD_CN_NO_C=1, so the fallback is proven end to
end, not only kernel by kernel.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SUITES = ["test_ops_pointwise.py", "test_chain_rule.py", "test_autograd.py", "test_pytorch_programs.py",
          "test_matmul_autograd.py", "test_nn_functional_kernels.py"]


def test_op_and_autograd_suites_pass_on_the_numpy_kernels():
    env = dict(os.environ, TINYGRAD_CN_NO_C="1", TINYGRAD_CN_REQUIRE_C="")
    probe = subprocess.run([sys.executable, "-c", "import tinygrad_cn as t; print(t.show_config(False)['compiled'])"],
                           env=env, capture_output=True, text=True, cwd=HERE.parent)
    assert probe.stdout.strip() == "False", probe.stdout + probe.stderr
    files = [str(HERE / f) for f in SUITES if (HERE / f).exists()]
    if not files:
        pytest.skip("no suites to rerun")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                         env=env, capture_output=True, text=True, cwd=HERE.parent)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
