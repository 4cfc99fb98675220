"""Every C kernel under AddressSanitizer and UBSan (marked slow).

tests/native/bounds_check.c calls the kernels of csrc/ directly (no Python
in the process, so no interposition problems) on buffers malloc'd to their
exact extent and checks the results against plain loops; built here with
``-fsanitize=address,undefined``, any out-of-bounds access aborts it.
By hand (see the README's developer notes)::

    gcc -std=gnu11 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fopenmp -DTG_HAVE_OPENMP=1 \\
        -Icsrc csrc/*.c tests/native/*.c -lm -o /tmp/bounds && /tmp/bounds
"""
import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-std=gnu11", "-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer",
         "-fno-sanitize-recover=undefined"]


def _compile(out, sources, extra=()):
    cmd = [os.environ.get("CC", "gcc"), *FLAGS, *extra, "-I" + os.path.join(ROOT, "csrc"), *sources, "-lm",
           "-o", out]
    return subprocess.run(cmd, capture_output=True, text=True)


@pytest.mark.slow
def test_kernels_stay_in_bounds_under_asan(tmp_path):
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        pytest.skip("no C compiler")
    probe = tmp_path / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    if _compile(str(tmp_path / "probe"), [str(probe)]).returncode != 0:
        pytest.skip("the compiler cannot build with -fsanitize=address,undefined")
    sources = sorted(glob.glob(os.path.join(ROOT, "csrc", "*.c")) + glob.glob(os.path.join(ROOT, "tests", "native",
                                                                                       "*.c")))
    exe = str(tmp_path / "bounds_check")
    build = _compile(exe, sources, ["-fopenmp", "-DTG_HAVE_OPENMP=1"])
    if build.returncode != 0:  # no OpenMP runtime: the serial build is still worth checking
        build = _compile(exe, sources, ["-Wno-unknown-pragmas"])
    assert build.returncode == 0, build.stderr[-4000:]
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1")
    run = subprocess.run([exe], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0 and run.stdout.startswith("OK"), (run.stdout[-2000:], run.stderr[-6000:])
    assert int(run.stdout.split()[1]) > 1_000_000  # the checks really ran
