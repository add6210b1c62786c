"""Tools to look at a loss landscape: planes, directions, Hessian spectra, critical points.

* :func:`evaluate_plane` -- a loss on the grid
  :math:`\\theta_0 + \\alpha\\,d_1 + \\beta\\,d_2`, in batches (no Python double loop).
* :func:`random_direction` -- a Gaussian direction, optionally normalized per factor row as
  in the "filter normalization" of :cite:`li2018visualizing`, so that a slice has the same
  relative scale for every user and item vector.
* :func:`hessian_extremes` -- the most negative and most positive Hessian eigenvalues from
  Hessian-vector products alone (Lanczos, through ``scipy.sparse.linalg.eigsh``).
* :func:`classify_critical_point` -- minimum, maximum, strict saddle or degenerate, from
  Hessian eigenvalues and a tolerance.
"""

from __future__ import annotations

from typing import Callable, Literal, NamedTuple

import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from .data import SeedLike, as_generator
from .objective import MFObjective

__all__ = [
    "evaluate_plane",
    "random_direction",
    "HessianExtremes",
    "hessian_extremes",
    "CRITICAL_POINT_KINDS",
    "classify_critical_point",
]


def evaluate_plane(
    loss: Callable[[np.ndarray], np.ndarray],
    center: np.ndarray,
    d1: np.ndarray,
    d2: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
    *,
    batch_size: int = 4096,
) -> np.ndarray:
    """Evaluate ``loss`` on the plane :math:`\\theta_0 + \\alpha d_1 + \\beta d_2`.

    Parameters
    ----------
    loss : callable
        Takes a batch of parameter vectors, shape ``(B, d)``, and returns ``(B,)`` losses
        (as :meth:`mfbook.objective.MFObjective.loss` does).
    center, d1, d2 : ndarray, shape (d,)
        The point :math:`\\theta_0` and the two directions.
    alphas, betas : ndarray
        Grid coordinates along ``d1`` and ``d2``.
    batch_size : int
        Number of grid points per call of ``loss`` (bounds the memory used).

    Returns
    -------
    ndarray, shape (len(betas), len(alphas))
        ``Z[j, i] = loss(center + alphas[i] d1 + betas[j] d2)``: the ``meshgrid``
        convention, so ``plt.contour(alphas, betas, Z)`` draws it the right way round.
    """
    center, d1, d2 = (np.asarray(a, dtype=np.float64) for a in (center, d1, d2))
    if center.ndim != 1 or d1.shape != center.shape or d2.shape != center.shape:
        raise ValueError(
            f"center, d1 and d2 must be 1-d of the same length, got {center.shape}, "
            f"{d1.shape} and {d2.shape}"
        )
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    betas = np.asarray(betas, dtype=np.float64).ravel()
    if alphas.size == 0 or betas.size == 0:
        raise ValueError("alphas and betas must not be empty")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    aa, bb = np.meshgrid(alphas, betas)
    coef = np.column_stack([aa.ravel(), bb.ravel()])
    out = np.empty(len(coef))
    for start in range(0, len(coef), batch_size):
        c = coef[start:start + batch_size]
        points = center + c[:, :1] * d1 + c[:, 1:] * d2
        values = np.asarray(loss(points), dtype=np.float64)
        if values.shape != (len(c),):
            raise ValueError(
                f"loss must map a (B, d) batch to shape (B,), got {values.shape} for B={len(c)}"
            )
        out[start:start + len(c)] = values
    return out.reshape(aa.shape)


def random_direction(
    objective: MFObjective,
    theta: np.ndarray,
    *,
    normalize: Literal["rows", "global", "none"] = "rows",
    seed: SeedLike = None,
) -> np.ndarray:
    """A random direction in parameter space for slicing the landscape around ``theta``.

    A standard Gaussian vector :math:`g` is rescaled:

    * ``"rows"``: every factor row is scaled to the norm of the same row of ``theta``,
      :math:`d_{\\mathbf u_i} = g_{\\mathbf u_i}\\,\\lVert\\mathbf u_i\\rVert /
      \\lVert g_{\\mathbf u_i}\\rVert` (likewise for :math:`\\mathbf v_j`, and each bias is
      scaled to :math:`|b_i|`).  This is the filter normalization of Li et al., with users
      and items in the role of filters: it removes the scale symmetry
      :math:`(\\mathbf u, \\mathbf v) \\mapsto (a\\mathbf u, \\mathbf v/a)` from the picture.
    * ``"global"``: the whole vector is scaled to :math:`\\lVert\\theta\\rVert`.
    * ``"none"``: the raw Gaussian vector.

    Rows of ``theta`` that are zero get a zero direction under ``"rows"``.
    """
    theta = objective._check_theta(theta)
    g = as_generator(seed).standard_normal(objective.dim)
    if normalize == "none":
        return g
    if normalize == "global":
        return g * (np.linalg.norm(theta) / np.linalg.norm(g))
    if normalize != "rows":
        raise ValueError(f"normalize must be 'rows', 'global' or 'none', got {normalize!r}")
    d = g.copy()
    ft, fd = objective.unpack(theta), objective.unpack(d)
    for target, block in ((ft.U, fd.U), (ft.V, fd.V)):
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block *= np.linalg.norm(target, axis=1, keepdims=True) / np.where(norms > 0, norms, 1.0)
    if objective.biased:
        for target, block in ((ft.row_bias, fd.row_bias), (ft.col_bias, fd.col_bias)):
            block *= np.abs(target) / np.maximum(np.abs(block), 1e-300)
    return d


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
    so the Hessian is never formed: with :meth:`mfbook.objective.MFObjective.hvp` each
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
    if dim < 2:
        raise ValueError(f"dim must be >= 2, got {dim}")
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
    ev = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if ev.size == 0 or not np.all(np.isfinite(ev)):
        raise ValueError("eigenvalues must be a non-empty array of finite numbers")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
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
