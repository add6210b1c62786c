"""The objective of Spark's ``implicitPrefs=True`` ALS, and its exact half-sweep.

Spark's implicit-feedback ALS (Hu, Koren and Volinsky's model, with the ALS-WR penalty)
turns every entry of the ``m x n`` matrix into a preference and a confidence,

.. math::

    p_{ij} = [r_{ij} > 0], \\qquad
    c_{ij} = 1 + \\alpha\\,\\lvert r_{ij}\\rvert \\ \\text{on } \\Omega, \\quad
    c_{ij} = 1 \\ \\text{(and } p_{ij} = 0\\text{) elsewhere},

and minimizes, over all :math:`mn` entries,

.. math::

    L(U, V) = \\sum_{i, j} c_{ij} (p_{ij} - \\mathbf u_i^\\top \\mathbf v_j)^2
      + \\lambda \\Big(\\sum_i n_i^+ \\lVert\\mathbf u_i\\rVert^2
      + \\sum_j n_j^+ \\lVert\\mathbf v_j\\rVert^2\\Big)

with :math:`n_i^+` the number of *positive* ratings of user :math:`i` (Spark counts only
those when it scales ``regParam``).  The row block is again a ridge regression,

.. math::

    \\Big(V^\\top V + \\sum_{j \\in \\Omega_i} (c_{ij} - 1)\\mathbf v_j\\mathbf v_j^\\top
      + \\lambda n_i^+ I\\Big)\\mathbf u_i = \\sum_{j\\in\\Omega_i} c_{ij}\\, p_{ij}\\, \\mathbf v_j,

where :math:`V^\\top V` carries the unobserved entries at the cost of one :math:`k \\times k`
product.  The values :math:`r_{ij}` no longer enter as targets: they only set confidences.
"""

from __future__ import annotations

import numpy as np

from ..core import Ratings, check_array, check_option, check_real

__all__ = ["implicit_loss", "implicit_half_sweep"]


def _check(ratings: Ratings, U: np.ndarray, V: np.ndarray, reg_param: float,
           alpha: float) -> tuple[np.ndarray, np.ndarray, float, float]:
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    m, n = ratings.shape
    U = check_array("U", U, ndim=2, shape=(m, None))
    V = check_array("V", V, ndim=2, shape=(n, U.shape[1]))
    return (U, V, check_real("reg_param", reg_param, minimum=0.0),
            check_real("alpha", alpha, minimum=0.0))


def _counts_positive(ratings: Ratings) -> tuple[np.ndarray, np.ndarray]:
    pos = ratings.values > 0
    m, n = ratings.shape
    return (np.bincount(ratings.rows[pos], minlength=m).astype(np.float64),
            np.bincount(ratings.cols[pos], minlength=n).astype(np.float64))


def implicit_loss(ratings: Ratings, U: np.ndarray, V: np.ndarray, reg_param: float,
                  alpha: float) -> float:
    """The implicit-feedback objective :math:`L(U, V)` above, in :math:`O(|\\Omega|k + (m+n)k^2)`.

    :math:`\\sum_{i,j} (\\mathbf u_i^\\top\\mathbf v_j)^2 = \\langle U^\\top U, V^\\top V\\rangle`
    covers every entry as if unobserved; the observed ones are then corrected.

    Raises
    ------
    TypeError, ValueError
        For a non-Ratings, factors of the wrong shapes, or a negative or non-finite
        ``reg_param`` or ``alpha``.
    """
    U, V, lam, alpha = _check(ratings, U, V, reg_param, alpha)
    x = np.einsum("ik,ik->i", U[ratings.rows], V[ratings.cols])
    c = 1.0 + alpha * np.abs(ratings.values)
    p = (ratings.values > 0).astype(np.float64)
    nu, nv = _counts_positive(ratings)
    fit = float(np.sum((U.T @ U) * (V.T @ V)) + np.sum(c * (p - x) ** 2 - x ** 2))
    return fit + lam * float(nu @ np.sum(U ** 2, axis=1) + nv @ np.sum(V ** 2, axis=1))


def implicit_half_sweep(ratings: Ratings, U: np.ndarray, V: np.ndarray, reg_param: float,
                        alpha: float, side: str) -> tuple[np.ndarray, np.ndarray]:
    """``(U, V)`` with ``U`` (``side="rows"``) or ``V`` replaced by the exact minimizer of
    :func:`implicit_loss` given the other; dense batched solves, for small problems.

    Raises
    ------
    TypeError, ValueError
        As :func:`implicit_loss`, and for ``side`` not ``"rows"`` or ``"cols"``.
    """
    U, V, lam, alpha = _check(ratings, U, V, reg_param, alpha)
    side = check_option("side", side, ("rows", "cols"))
    nu, nv = _counts_positive(ratings)
    own_idx, other_idx, other, counts = ((ratings.rows, ratings.cols, V, nu) if side == "rows"
                                         else (ratings.cols, ratings.rows, U, nv))
    size, k = counts.size, other.shape[1]
    c1 = alpha * np.abs(ratings.values)
    p = (ratings.values > 0).astype(np.float64)
    feats = other[other_idx]
    G = np.zeros((size, k, k))
    np.add.at(G, own_idx, c1[:, None, None] * feats[:, :, None] * feats[:, None, :])
    G += other.T @ other + lam * counts[:, None, None] * np.eye(k)
    b = np.zeros((size, k))
    np.add.at(b, own_idx, ((1.0 + c1) * p)[:, None] * feats)
    new = np.linalg.solve(G, b[:, :, None])[:, :, 0]
    return (new, V) if side == "rows" else (U, new)
