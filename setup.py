"""Build script for tinygrad_cn's compiled core.

Project metadata lives in pyproject.toml; this file only declares the
extension modules.

Extensions
----------
* ``tinygrad_cn._C._kernels`` is built from ``tinygrad_cn/_C/_kernels.pyx``
  plus **every** ``csrc/*.c`` file. This is the one extension that holds all
  C kernels, so they share one SIMD level and one thread count. To add a
  kernel: add ``csrc/foo.c`` (declarations in ``csrc/tg_kernels.h``) and its
  bindings to ``_kernels.pyx`` (or to a ``.pxi`` file that ``_kernels.pyx``
  ``include``s). Nothing here needs to change.
* Any other ``tinygrad_cn/**/*.pyx`` becomes its own extension (module name
  from its path). It gets only the C sources it declares itself in its header
  with Cython's standard directive, e.g. ``# distutils: sources = csrc/foo.c``.

Compiler flags
--------------
``-O3 -fno-math-errno -fno-trapping-math``; never ``-ffast-math`` (it breaks
NaN/inf handling); never ``-march=native`` unless ``TINYGRAD_CN_MARCH_NATIVE=1``
(the kernels pick AVX2/AVX-512 code at run time instead). OpenMP is probed: if
a test program builds and links with ``-fopenmp``, it is used and
``TG_HAVE_OPENMP`` is defined; otherwise the build goes on without threads
(``-fopenmp-simd`` is still used when available).

A non-inplace build (as done by ``pip install .``) also copies the built
extension into the source tree, like ``build_ext --inplace``, so that running
the tests from a checkout (``python -m pytest``, which puts the checkout first
on ``sys.path``) exercises the compiled code rather than the NumPy fallback.
Set ``TINYGRAD_CN_NO_INPLACE_COPY=1`` to skip that copy.
"""

import glob
import os
import shutil
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN_PYX = "tinygrad_cn/_C/_kernels.pyx"


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _new_compiler():
    try:
        from setuptools._distutils.ccompiler import new_compiler
        from setuptools._distutils.sysconfig import customize_compiler
    except ImportError:  # pragma: no cover - very old setuptools
        from distutils.ccompiler import new_compiler
        from distutils.sysconfig import customize_compiler
    cc = new_compiler()
    customize_compiler(cc)
    return cc


def _compiles(cc, code, flags, link=True):
    """True if `code` compiles (and links into an executable) with `flags`."""
    tmp = tempfile.mkdtemp(prefix="tg_probe_")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(code)
        devnull = open(os.devnull, "w")
        saved_out, saved_err = os.dup(1), os.dup(2)
        try:  # keep the compiler's complaints out of the build log
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
            objs = cc.compile([src], output_dir=tmp, extra_postargs=flags)
            if link:
                cc.link_executable(objs, "probe", output_dir=tmp, extra_postargs=flags)
        finally:
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            devnull.close()
        return True
    except Exception:
        return False
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel num_threads(2) reduction(+:n)
    n += 1;
    return (n > 0 && omp_get_max_threads() > 0) ? 0 : 1;
}
"""

SIMD_PROBE = r"""
int main(void) {
    float a[16]; int i;
    #pragma omp simd
    for (i = 0; i < 16; ++i) a[i] = (float)i;
    return a[3] == 3.0f ? 0 : 1;
}
"""


def compiler_settings():
    """(extra_compile_args, extra_link_args, define_macros, summary)."""
    cc = _new_compiler()
    if cc.compiler_type == "msvc":  # pragma: no cover - not a target platform
        return ["/O2", "/openmp"], [], [("TG_HAVE_OPENMP", "1")], "msvc /O2 /openmp"
    cflags = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-Wno-unknown-pragmas"]
    ldflags = []
    macros = []
    if _env_flag("TINYGRAD_CN_MARCH_NATIVE"):
        cflags.append("-march=native")
    if not _env_flag("TINYGRAD_CN_NO_OPENMP") and _compiles(cc, OPENMP_PROBE, ["-fopenmp"]):
        cflags.append("-fopenmp")
        ldflags.append("-fopenmp")
        macros.append(("TG_HAVE_OPENMP", "1"))
        omp = "openmp"
    elif _compiles(cc, SIMD_PROBE, ["-fopenmp-simd"], link=False):
        cflags.append("-fopenmp-simd")
        omp = "no openmp (-fopenmp-simd only)"
    else:
        omp = "no openmp"
    return cflags, ldflags, macros, " ".join(cflags) + " | " + omp


def _module_name(pyx_path):
    return os.path.splitext(pyx_path)[0].replace("/", ".").replace(os.sep, ".")


def extensions():
    import numpy

    cflags, ldflags, macros, summary = compiler_settings()
    print("tinygrad_cn build: " + summary, file=sys.stderr)
    macros = macros + [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    include_dirs = [numpy.get_include(), "csrc"]
    csrc = sorted(glob.glob("csrc/*.c"))

    exts = []
    for pyx in sorted(glob.glob("tinygrad_cn/**/*.pyx", recursive=True)):
        pyx = pyx.replace(os.sep, "/")
        sources = [pyx] + (csrc if pyx == MAIN_PYX else [])
        exts.append(
            Extension(
                _module_name(pyx),
                sources=sources,
                include_dirs=include_dirs,
                define_macros=macros,
                extra_compile_args=cflags,
                extra_link_args=ldflags,
                depends=sorted(glob.glob("csrc/*.h")),
            )
        )

    from Cython.Build import cythonize

    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "embedsignature": True,
        },
    )


class BuildExt(build_ext):
    """build_ext that also drops the built modules into the source tree."""

    def run(self):
        super().run()
        if not self.inplace and not _env_flag("TINYGRAD_CN_NO_INPLACE_COPY"):
            try:
                self.copy_extensions_to_source()
            except Exception as exc:  # read-only tree etc.: not fatal
                print("tinygrad_cn build: could not copy extension into source tree: %s" % exc, file=sys.stderr)


os.chdir(HERE)  # globs above are relative to the project root
setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
