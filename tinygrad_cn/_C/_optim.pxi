# fused optimizer updates over many tensors (csrc/optim.c): Cython bindings, included by _kernels.pyx.
