"""Curvature at a point: extreme Hessian eigenvalues from products, and the verdict they give.

* :func:`hessian_extremes` -- the most negative and most positive Hessian eigenvalues from
  Hessian-vector products alone (Lanczos, through ``scipy.sparse.linalg.eigsh``);
* :func:`classify_critical_point` -- minimum, maximum, strict saddle or degenerate, from
  Hessian eigenvalues and a tolerance, discounting the zeros a symmetry explains.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from ..core import SeedLike, as_generator, check_array, check_callable, check_int, check_real

__all__ = ["HessianExtremes", "hessian_extremes", "CRITICAL_POINT_KINDS",
           "classify_critical_point"]


class HessianExtremes(NamedTuple):
    """Extreme eigenvalues of a Hessian (ascending within each array)."""

    smallest: np.ndarray
    largest: np.ndarray
    n_products: int
    """Number of Hessian-vector products used."""


def hessian_extremes(
    hvp: Callable[[np.ndarray], np.ndarray],
    dim: int,
    *,
    k: int = 1,
    tol: float = 1e-8,
    maxiter: int | None = None,
    seed: SeedLike = 0,
) -> HessianExtremes:
    """The ``k`` smallest and ``k`` largest eigenvalues of a symmetric operator.

    Only products :math:`v \\mapsto Hv` are used (Lanczos iterations of ARPACK through
    :func:`scipy.sparse.linalg.eigsh` on a :class:`~scipy.sparse.linalg.LinearOperator`),
    so the Hessian is never formed: with :meth:`mfbook.core.MFObjective.hvp` each
    product costs :math:`O(|\\Omega| k)`.  The smallest eigenvalues are found as the
    largest of :math:`\\sigma I - H`, with :math:`\\sigma` the largest eigenvalue, which
    converges much faster than asking ARPACK for the smallest algebraic ones directly.

    Parameters
    ----------
    hvp : callable
        ``hvp(v)`` returns :math:`Hv` for ``v`` of shape ``(dim,)``.  For an objective at a
        point: ``lambda v: objective.hvp(theta, v)``.
    dim : int
        Dimension of the operator.
    k : int
        How many eigenvalues at each end.
    tol, maxiter :
        Passed to ``eigsh`` (relative accuracy of the Ritz values, iteration cap).
    seed :
        Seed of the starting vector, for reproducible results.

    Raises
    ------
    ValueError
        If ``dim`` or ``k`` is not valid, or Lanczos did not converge (the message says which
        end).
    """
    check_callable("hvp", hvp)
    dim = check_int("dim", dim, minimum=2)
    k = check_int("k", k, minimum=1)
    tol = check_real("tol", tol, minimum=0.0)
    if maxiter is not None:
        maxiter = check_int("maxiter", maxiter, minimum=1)
    if not 1 <= k < dim - 1:
        raise ValueError(f"k must satisfy 1 <= k < dim - 1 = {dim - 1}, got {k}")
    counter = [0]

    def matvec(v: np.ndarray) -> np.ndarray:
        counter[0] += 1
        return np.asarray(hvp(np.ravel(v)), dtype=np.float64)

    v0 = as_generator(seed).standard_normal(dim)
    H = LinearOperator((dim, dim), matvec=matvec, dtype=np.float64)
    try:
        top = np.sort(eigsh(H, k=k, which="LA", tol=tol, maxiter=maxiter, v0=v0,
                            return_eigenvectors=False))
    except ArpackNoConvergence as exc:
        raise ValueError(f"Lanczos did not converge for the largest eigenvalues: {exc}") from None
    # Shift so that the bottom of the spectrum becomes the top: sigma - lambda >= 0.
    sigma = float(top[-1]) if top[-1] > 0 else 0.0
    shifted = LinearOperator((dim, dim), matvec=lambda v: sigma * np.ravel(v) - matvec(v),
                             dtype=np.float64)
    try:
        low = np.sort(sigma - eigsh(shifted, k=k, which="LA", tol=tol, maxiter=maxiter, v0=v0,
                                    return_eigenvectors=False))
    except ArpackNoConvergence as exc:
        raise ValueError(f"Lanczos did not converge for the smallest eigenvalues: {exc}") from None
    return HessianExtremes(low, top, counter[0])


CRITICAL_POINT_KINDS = ("minimum", "maximum", "strict saddle", "degenerate")


def classify_critical_point(
    eigenvalues: np.ndarray,
    *,
    tol: float = 1e-8,
    symmetry_dim: int = 0,
) -> str:
    """Classify a critical point from the eigenvalues of its Hessian.

    Eigenvalues with :math:`|\\lambda| \\le` ``tol`` count as zero.  ``symmetry_dim`` is
    the number of zero eigenvalues *explained by a symmetry*: directions along which the
    loss is exactly constant (the orbit of the scale or rotational symmetry through the
    point).  Zero curvature along such directions decides nothing, so they are discounted;
    the caller is responsible for knowing they exist.

    Returns
    -------
    str, one of :data:`CRITICAL_POINT_KINDS`
        * ``"strict saddle"``: a negative and a positive eigenvalue;
        * ``"minimum"``: no negative eigenvalue and at most ``symmetry_dim`` zeros (a strict
          local minimum, or a minimum modulo the symmetry);
        * ``"maximum"``: no positive eigenvalue and at most ``symmetry_dim`` zeros;
        * ``"degenerate"``: otherwise -- zero curvature beyond the symmetry, so second
          order cannot decide (a non-strict saddle, a degenerate minimum, ...).
    """
    ev = check_array("eigenvalues", eigenvalues, nonempty=False, finite=False).ravel()
    if ev.size == 0 or not np.all(np.isfinite(ev)):
        raise ValueError("eigenvalues must be a non-empty array of finite numbers")
    tol = check_real("tol", tol, minimum=0.0)
    symmetry_dim = check_int("symmetry_dim", symmetry_dim, minimum=0)
    if not 0 <= symmetry_dim <= ev.size:
        raise ValueError(f"symmetry_dim must be in 0..{ev.size}, got {symmetry_dim!r}")
    n_neg = int(np.sum(ev < -tol))
    n_pos = int(np.sum(ev > tol))
    n_zero = ev.size - n_neg - n_pos
    if n_neg and n_pos:
        return "strict saddle"
    if n_zero <= symmetry_dim and n_zero < ev.size:
        return "maximum" if n_neg else "minimum"
    return "degenerate"
