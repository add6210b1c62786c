"""Error metrics on observed entries, and distances between factorizations.

Two factorizations :math:`(U, V)` and :math:`(UQ, VQ^{-\\top})` predict the same matrix, so
comparing factors entry by entry measures the arbitrary choice of :math:`Q` as much as any
real difference.  :func:`product_distance` compares the predicted matrices
:math:`UV^\\top` instead, which is invariant to every symmetry of the factorization, and
never forms the :math:`m \\times n` matrices.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rmse", "mse", "product_distance"]


def _paired(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} and {target.shape}")
    if pred.size == 0:
        raise ValueError("pred and target are empty")
    return pred, target


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error :math:`\\frac1N \\sum (\\hat r - r)^2`."""
    pred, target = _paired(pred, target)
    return float(np.mean((pred - target) ** 2))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error :math:`\\sqrt{\\frac1N \\sum (\\hat r - r)^2}`."""
    return float(np.sqrt(mse(pred, target)))


def product_distance(
    U1: np.ndarray,
    V1: np.ndarray,
    U2: np.ndarray,
    V2: np.ndarray,
    *,
    relative: bool = True,
) -> float:
    """Frobenius distance between the predicted matrices :math:`U_1V_1^\\top` and :math:`U_2V_2^\\top`.

    .. math::
        d = \\lVert U_1V_1^\\top - U_2V_2^\\top\\rVert_F
          = \\lVert A B^\\top\\rVert_F = \\lVert R_A R_B^\\top\\rVert_F,
        \\qquad A = [U_1, -U_2],\\ B = [V_1, V_2],

    with :math:`A = Q_AR_A`, :math:`B = Q_BR_B` thin QR factorizations: the
    :math:`m \\times n` matrices are never formed, and there is no cancellation between
    large squared norms, so distances far below :math:`\\lVert U_1V_1^\\top\\rVert_F` are
    computed accurately.  The ranks :math:`k_1, k_2` may differ.

    Parameters
    ----------
    U1, V1, U2, V2 : ndarray
        Factors of shapes ``(m, k1)``, ``(n, k1)``, ``(m, k2)``, ``(n, k2)``.
    relative : bool
        Divide by :math:`\\lVert U_1V_1^\\top\\rVert_F` (which must then be non-zero).

    Returns
    -------
    float
    """
    mats = [np.asarray(a, dtype=np.float64) for a in (U1, V1, U2, V2)]
    for name, a in zip(("U1", "V1", "U2", "V2"), mats):
        if a.ndim != 2:
            raise ValueError(f"{name} must be a two-dimensional array, got shape {a.shape}")
    U1, V1, U2, V2 = mats
    if U1.shape[1] != V1.shape[1] or U2.shape[1] != V2.shape[1]:
        raise ValueError(
            f"U and V of a factorization must have the same number of columns, got "
            f"U1 {U1.shape}, V1 {V1.shape}, U2 {U2.shape}, V2 {V2.shape}")
    if U1.shape[0] != U2.shape[0] or V1.shape[0] != V2.shape[0]:
        raise ValueError(
            f"the two factorizations must predict matrices of the same shape, got "
            f"{(U1.shape[0], V1.shape[0])} and {(U2.shape[0], V2.shape[0])}")

    def frob(A: np.ndarray, B: np.ndarray) -> float:
        Ra = np.linalg.qr(A, mode="r")
        Rb = np.linalg.qr(B, mode="r")
        return float(np.linalg.norm(Ra @ Rb.T))

    dist = frob(np.hstack([U1, -U2]), np.hstack([V1, V2]))
    if not relative:
        return dist
    scale = frob(U1, V1)
    if scale == 0:
        raise ValueError("relative distance to a zero product U1 V1^T is undefined; "
                         "use relative=False")
    return dist / scale
