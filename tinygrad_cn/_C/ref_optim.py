"""NumPy reference of the fused optimizer updates over many tensors (csrc/optim.c).

Same names and signatures as the compiled bindings in _optim.pxi.
"""
import numpy as np  # noqa: F401

__all__ = []
