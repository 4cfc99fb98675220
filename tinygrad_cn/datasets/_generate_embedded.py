"""Regenerate the embedded copies of scikit-learn's small datasets (run once, by a maintainer).

    python -m tinygrad_cn.datasets._generate_embedded

Needs scikit-learn (1.x); the package itself reads the files with NumPy alone. The data are
the UCI "Optical Recognition of Handwritten Digits" test set (1,797 8x8 images, values 0..16)
and the UCI "Breast Cancer Wisconsin (Diagnostic)" set (569 x 30), exactly as scikit-learn
ships them (BSD-3-Clause; the UCI data are CC BY 4.0). Values are stored losslessly: digits as
uint8, breast-cancer features as float64, labels as uint8.
"""
from __future__ import annotations

import os

import numpy as np

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def _write(name: str, **arrays: np.ndarray) -> str:
    path = os.path.join(DATA_DIR, name)
    np.savez_compressed(path, **arrays)
    return path


def main() -> None:
    from sklearn import datasets

    os.makedirs(DATA_DIR, exist_ok=True)
    digits = datasets.load_digits()
    pixels = digits.data.astype(np.uint8)
    assert (pixels == digits.data).all(), "digits are expected to be integers 0..16"
    print(_write("digits.npz", data=pixels, target=digits.target.astype(np.uint8),
                 feature_names=np.array(digits.feature_names), target_names=digits.target_names.astype(np.int64)))
    cancer = datasets.load_breast_cancer()
    print(_write("breast_cancer.npz", data=cancer.data.astype(np.float64), target=cancer.target.astype(np.uint8),
                 feature_names=np.array(cancer.feature_names), target_names=np.array(cancer.target_names)))


if __name__ == "__main__":
    main()
