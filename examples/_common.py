"""Plumbing shared by the examples: command line, output folder, progress bars, figures.

Every example runs as ``python examples/NAME.py`` (full run, figures into
``examples/figures/``) or ``python examples/NAME.py --quick --outdir DIR``
(fewer steps, as the tests run it), and exposes ``main(argv=None) -> dict``.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from typing import Iterable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")
sys.path.insert(0, os.path.dirname(HERE))  # run from a checkout without installing

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display needed, same pictures everywhere
import matplotlib.pyplot as plt  # noqa: E402,F401  (re-exported for the examples)


def parse_args(description: str, argv: Optional[List[str]] = None) -> argparse.Namespace:
    """``--quick`` (fewer steps) and ``--outdir`` (where the PNGs go, created if needed)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer steps, as the tests run it")
    parser.add_argument("--outdir", default=FIGURES, help="folder for the figures (default: examples/figures)")
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    return args


def progress(iterable: Iterable, desc: str, total: Optional[int] = None, enable: bool = True):
    """A tqdm bar when tqdm is installed (and ``enable``), the bare iterable otherwise."""
    if enable:
        try:
            from tqdm import tqdm
            return tqdm(iterable, desc=desc, total=total, leave=False, file=sys.stdout, disable=None)  # None: off when not a terminal
        except ImportError:
            pass
    return iterable


def save_figure(fig, outdir: str, name: str, dpi: int = 80) -> str:
    """Save ``fig`` as ``outdir/name`` (PNG, small enough to commit) and close it."""
    path = os.path.join(outdir, name)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    plt.close(fig)
    try:  # a 128-colour palette: plots lose nothing visible and the file shrinks 2-4x
        from PIL import Image
        Image.open(buf).convert("RGB").quantize(colors=128).save(path, optimize=True)
    except ImportError:
        with open(path, "wb") as f:
            f.write(buf.getvalue())
    print(f"saved {path}")
    return path
