"""Sharpness: the largest Hessian eigenvalue, at a point and along a run.

Gradient descent with step :math:`\\eta` is linearly stable at a minimum only if its
sharpness :math:`\\lambda_{\\max}(\\nabla^2 L)` is below :math:`2/\\eta`.  Cohen et al.
:cite:`cohen2021gradient` observed that in neural network training the sharpness rises until
it reaches :math:`2/\\eta` and then hovers there while the loss keeps decreasing, not
monotonically (the *edge of stability*).  Whether a run does that is a measurement:
:func:`sharpness_along` gives :math:`\\lambda_{\\max}` at each snapshot, to compare with
:math:`2/\\eta`.

Only the top of the spectrum is computed (one Lanczos run per point, through
``scipy.sparse.linalg.eigsh`` on Hessian-vector products), about half the cost of
:func:`mfbook.landscape.hessian_extremes`, which also finds the bottom.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ..core import MFObjective, SeedLike, as_generator, check_array, check_real

__all__ = ["SharpnessTrace", "sharpness", "sharpness_along"]


class SharpnessTrace(NamedTuple):
    """The largest Hessian eigenvalue at a sequence of points."""

    values: np.ndarray
    """:math:`\\lambda_{\\max}(\\nabla^2 L(\\theta_s))`, shape (S,)."""
    n_products: np.ndarray
    """Hessian-vector products used at each point, shape (S,)."""


def _top(objective: MFObjective, theta: np.ndarray, tol: float,
         v0: np.ndarray) -> tuple[float, int]:
    count = [0]

    def matvec(v: np.ndarray) -> np.ndarray:
        count[0] += 1
        return objective.hvp(theta, np.ravel(v))

    H = LinearOperator((objective.dim, objective.dim), matvec=matvec, dtype=np.float64)
    try:
        top = eigsh(H, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    except ArpackNoConvergence as exc:
        raise ValueError(f"Lanczos did not converge for the largest eigenvalue: {exc}") from None
    return float(top[0]), count[0]


def sharpness(objective: MFObjective, theta: np.ndarray, *, tol: float = 1e-8,
              seed: SeedLike = 0) -> float:
    """:math:`\\lambda_{\\max}(\\nabla^2 L(\\theta))` by Lanczos on :meth:`MFObjective.hvp`.

    Parameters
    ----------
    objective : MFObjective
    theta : ndarray, shape (d,)
    tol : float
        ARPACK's relative accuracy of the Ritz value.
    seed :
        Seed of the Lanczos starting vector.

    Examples
    --------
    >>> from mfbook.core import MFObjective, Ratings
    >>> f = MFObjective(Ratings.from_dense(np.array([[3.0, 1.0], [1.0, 3.0]])), rank=1)
    >>> round(sharpness(f, np.zeros(4)), 6)      # 2 sigma_1 at the origin
    8.0
    """
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be a mfbook.core.MFObjective, "
                        f"got {type(objective).__name__}")
    theta = objective.check_theta(theta)
    return float(sharpness_along(objective, theta[None, :], tol=tol, seed=seed).values[0])


def sharpness_along(objective: MFObjective, snapshots: np.ndarray, *, tol: float = 1e-6,
                    seed: SeedLike = 0) -> SharpnessTrace:
    """The sharpness at every row of ``snapshots`` (same Lanczos start at each point).

    Parameters
    ----------
    objective : MFObjective
    snapshots : ndarray, shape (S, d)
    tol : float
        ARPACK's relative accuracy; the top eigenvalue converges fast, so the default of
        :func:`mfbook.landscape.hessian_extremes_along` is kept.
    seed :
        Seed of the starting vector.
    """
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be a mfbook.core.MFObjective, "
                        f"got {type(objective).__name__}")
    X = check_array("snapshots", snapshots, ndim=2, shape=(None, objective.dim))
    tol = check_real("tol", tol, minimum=0.0, maximum=1.0, min_open=True, max_open=True)
    v0 = as_generator(seed).standard_normal(objective.dim)
    values, counts = [], []
    for theta in X:
        lam, used = _top(objective, theta, tol, v0)
        values.append(lam)
        counts.append(used)
    return SharpnessTrace(np.array(values), np.array(counts, dtype=int))
