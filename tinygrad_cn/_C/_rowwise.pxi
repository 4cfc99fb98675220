# row-wise softmax / log_softmax / cross-entropy (csrc/rowwise.c): Cython bindings, included by _kernels.pyx.
