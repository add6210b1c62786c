"""Entries of a product of two factors, densely when the matrix is small enough.

Matrices with at most :data:`DENSE_LIMIT` entries are handled densely: a small matrix
product and a gather beat gathering k-vectors entry by entry (by 10-50x at 1000 x 100).
"""

from __future__ import annotations

import numpy as np

from ..core import one_blas_thread

__all__ = ["DENSE_LIMIT", "product_entries"]

# A module attribute, read at call time, so that tests can force either path.
DENSE_LIMIT = 1 << 22


def product_entries(A: np.ndarray, B: np.ndarray, rows: np.ndarray,
                    cols: np.ndarray) -> np.ndarray:
    """:math:`(AB^\\top)_{ij}` at the pairs ``(rows[t], cols[t])``."""
    m, n = A.shape[0], B.shape[0]
    if m * n <= DENSE_LIMIT:
        with one_blas_thread():
            full = A @ B.T
        return full.ravel()[rows * n + cols]
    return (A[rows] * B[cols]).sum(axis=1)
