# element-wise activations and their fused backward (csrc/activations.c): Cython bindings, included by _kernels.pyx.
