"""NumPy reference of the row-wise softmax / log_softmax / cross-entropy (csrc/rowwise.c).

Same names and signatures as the compiled bindings in _rowwise.pxi.
"""
import numpy as np  # noqa: F401

__all__ = []
