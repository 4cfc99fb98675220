"""NumPy reference of the element-wise activations and their fused backward (csrc/activations.c).

Same names and signatures as the compiled bindings in _activations.pxi.
"""
import numpy as np  # noqa: F401

__all__ = []
