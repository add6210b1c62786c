"""Error metrics on observed entries, and distances between factorizations.

Two factorizations :math:`(U, V)` and :math:`(UQ, VQ^{-\\top})` predict the same matrix, so
comparing factors entry by entry measures the arbitrary choice of :math:`Q` as much as any
real difference.  :func:`product_distance` compares the predicted matrices
:math:`UV^\\top` instead, which is invariant to every symmetry of the factorization, and
never forms the :math:`m \\times n` matrices.
"""

from __future__ import annotations

import numpy as np

from ._ratings import Ratings
from ._validation import check_array, check_bool

__all__ = ["rmse", "mse", "product_distance", "product_svd"]


def _paired(pred: np.ndarray, target: np.ndarray | Ratings) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(target, Ratings):
        target = target.values
    pred = check_array("pred", pred, nonempty=False, finite=False)
    target = check_array("target", target, nonempty=False, finite=False)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} and {target.shape}")
    if pred.size == 0:
        raise ValueError("pred and target are empty")
    for name, arr in (("pred", pred), ("target", target)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} must be finite, found {int(np.sum(~np.isfinite(arr)))} "
                             "NaN or infinite entries (route cold-start NaN predictions "
                             "elsewhere before scoring)")
    return pred, target


def mse(pred: np.ndarray, target: np.ndarray | Ratings) -> float:
    """Mean squared error :math:`\\frac1N \\sum (\\hat r - r)^2`.

    ``target`` is an array of the shape of ``pred``, or a :class:`~mfbook.core.Ratings`
    whose values are the targets (``pred`` then in the order of its entries).
    """
    pred, target = _paired(pred, target)
    return float(np.mean((pred - target) ** 2))


def rmse(pred: np.ndarray, target: np.ndarray | Ratings) -> float:
    """Root mean squared error :math:`\\sqrt{\\frac1N \\sum (\\hat r - r)^2}` (``target`` as in
    :func:`mse`).

    Examples
    --------
    >>> rmse([1.0, 2.0], [1.0, 4.0])
    1.4142135623730951
    """
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
        d &= \\lVert U_1V_1^\\top - U_2V_2^\\top\\rVert_F
          = \\lVert A B^\\top\\rVert_F = \\lVert R_A R_B^\\top\\rVert_F, \\\\
        A &= [U_1, -U_2],\\quad B = [V_1, V_2],

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
    U1, V1, U2, V2 = (check_array(name, a, ndim=2, nonempty=False)
                      for name, a in zip(("U1", "V1", "U2", "V2"), (U1, V1, U2, V2)))
    relative = check_bool("relative", relative)
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


def product_svd(U: np.ndarray, V: np.ndarray, *, compute_uv: bool = False):
    """Thin SVD of the product :math:`UV^\\top` without forming the :math:`m \\times n` matrix.

    With thin QR factorizations :math:`U = Q_U R_U`, :math:`V = Q_V R_V` and the SVD
    :math:`R_U R_V^\\top = A\\Sigma B^\\top` of a :math:`k \\times k` matrix,

    .. math::
        UV^\\top = (Q_U A)\\,\\Sigma\\,(Q_V B)^\\top,

    at a cost of :math:`O((m + n)k^2)`.

    Parameters
    ----------
    U, V : ndarray
        Factors of shapes ``(m, k)`` and ``(n, k)``.
    compute_uv : bool
        Also return the singular vectors.

    Returns
    -------
    ndarray of the ``k`` singular values (descending), or ``(P, sigma, Q)`` with ``P`` of
    shape ``(m, k)`` and ``Q`` of shape ``(n, k)`` such that ``U @ V.T = P @ diag(sigma) @ Q.T``.

    Examples
    --------
    >>> import numpy as np
    >>> U = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
    >>> product_svd(U, np.eye(2)).tolist()
    [2.0, 1.0]
    """
    U = check_array("U", U, ndim=2)
    V = check_array("V", V, ndim=2)
    compute_uv = check_bool("compute_uv", compute_uv)
    if U.shape[1] != V.shape[1]:
        raise ValueError(
            f"U and V must be 2-d with the same number of columns, got {U.shape} and {V.shape}")
    if not compute_uv:
        core = np.linalg.qr(U, mode="r") @ np.linalg.qr(V, mode="r").T
        return np.linalg.svd(core, compute_uv=False)
    Qu, Ru = np.linalg.qr(U)
    Qv, Rv = np.linalg.qr(V)
    A, sigma, Bt = np.linalg.svd(Ru @ Rv.T)
    return Qu @ A, sigma, Qv @ Bt.T
