"""Critical points: found numerically from many starts, or in closed form from the SVD.

* :func:`find_critical_points` -- roots of the gradient from many starts (Levenberg-Marquardt
  on :math:`\\nabla L = 0`), grouped into families by symmetry-invariant quantities and
  classified;
* :func:`product_invariant` -- the summary :math:`\\operatorname{vec}(UV^\\top)` that is
  constant on a symmetry orbit, for the grouping;
* :func:`svd_critical_points` -- the critical points of a fully observed factorization in
  closed form, from the singular value decomposition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from scipy.optimize import least_squares

from ..core import MFObjective, check_array, check_callable, check_int, check_real
from ._curvature import classify_critical_point

__all__ = ["CriticalPoint", "CriticalPointSearch", "find_critical_points",
           "product_invariant", "SVDCriticalPoint", "svd_critical_points"]


@dataclass
class CriticalPoint:
    """One family of critical points found by :func:`find_critical_points`."""

    x: np.ndarray
    """The representative point."""
    loss: float
    grad_norm: float
    """:math:`\\|\\nabla L(x)\\|_2` at the representative."""
    eigenvalues: np.ndarray
    """Hessian eigenvalues at the representative, ascending."""
    kind: str
    """One of :data:`CRITICAL_POINT_KINDS`."""
    symmetry_dim: int
    """Zero eigenvalues explained by a symmetry (passed to the classifier)."""
    members: np.ndarray
    """Every converged point of the family, shape ``(count, d)``."""

    @property
    def count(self) -> int:
        """Number of starts that converged to this family."""
        return len(self.members)


@dataclass
class CriticalPointSearch:
    """The result of :func:`find_critical_points`."""

    points: list[CriticalPoint]
    """The families, sorted by loss (then by first discovery)."""
    labels: np.ndarray
    """For every start, the index of its family in ``points``, or -1 if it failed."""
    n_starts: int
    failed_points: np.ndarray
    """End points of the failed starts, shape ``(n_failed, d)``."""

    @property
    def n_failed(self) -> int:
        """Starts whose end point was not a critical point (gradient norm above ``gtol``)."""
        return int(np.sum(self.labels < 0))


def find_critical_points(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    hessian: Callable[[np.ndarray], np.ndarray],
    starts: np.ndarray,
    *,
    invariant: Callable[[np.ndarray], np.ndarray] | None = None,
    canonicalize: Callable[[np.ndarray], np.ndarray] | None = None,
    symmetry_dim: int | Callable[[np.ndarray], int] = 0,
    gtol: float = 1e-8,
    dedup_tol: float = 1e-6,
    eig_tol: float = 1e-6,
    max_nfev: int = 200,
) -> CriticalPointSearch:
    """Find critical points :math:`\\nabla L(x) = 0` from many starts and group them.

    From every start, the system :math:`\\nabla L(x) = 0` is solved as the least-squares
    problem :math:`\\min_x \\tfrac12\\|\\nabla L(x)\\|^2` by Levenberg-Marquardt
    (``scipy.optimize.least_squares(method="lm")``) with the Hessian as Jacobian, i.e.
    damped Newton steps :math:`(H^\\top H + \\mu I)\\,\\delta = -H^\\top\\nabla L`.  Unlike
    gradient descent it is attracted to saddles and maxima as much as to minima, and the
    damping keeps it working where :math:`H` is singular -- as it is on a family of critical
    points of a factorization, which is a curve or manifold, not an isolated point.  An end
    point counts as a critical point if :math:`\\|\\nabla L\\| \\le` ``gtol``; the others
    (local minima of :math:`\\|\\nabla L\\|^2` that are not roots, or runs that went to
    infinity) are reported as failed.

    The roots are then grouped into families: two roots belong together when their losses
    and their ``invariant`` vectors agree within ``dedup_tol`` (relative to
    :math:`1 + |\\cdot|`).  For a factorization, comparing raw parameters would split
    one orbit of the symmetry :math:`(U, V) \\mapsto (UA, VA^{-\\top})` into as many
    "points" as there are starts; compare :math:`UV^\\top` instead
    (:func:`product_invariant`).

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, grad)``, e.g. an :class:`~mfbook.core.MFObjective` or a
        :class:`Restriction`.
    hessian : callable
        ``hessian(x) -> (d, d)`` dense Hessian.
    starts : ndarray, shape (S, d)
        Starting points.
    invariant : callable, optional
        ``invariant(x) -> 1-d array`` constant on each symmetry orbit; default ``x`` itself
        (no symmetry).
    canonicalize : callable, optional
        Maps a root to the representative of its orbit at which the Hessian is evaluated
        (e.g. :func:`balance_factors`); default: the member with the smallest gradient norm.
    symmetry_dim : int or callable
        Number of zero Hessian eigenvalues explained by the symmetry at a point (or a function
        of the point, e.g. :func:`orbit_dimension`), passed to :func:`classify_critical_point`.
    gtol : float
        Largest gradient norm accepted as a root.
    dedup_tol : float
        Relative tolerance of the grouping.
    eig_tol : float
        Eigenvalues with :math:`|\\lambda| \\le` ``eig_tol`` :math:`\\cdot\\max(1, \\max|\\lambda|)`
        count as zero.
    max_nfev : int
        Iteration cap of each Levenberg-Marquardt run.

    Returns
    -------
    CriticalPointSearch
        Families sorted by loss, each with its representative, Hessian eigenvalues, kind and
        members, and the family label of every start.
    """
    check_callable("fun", fun)
    check_callable("hessian", hessian)
    for name, g in (("invariant", invariant), ("canonicalize", canonicalize)):
        if g is not None:
            check_callable(name, g)
    starts = check_array("starts", starts, finite=False, nonempty=False)
    if starts.ndim != 2 or starts.shape[0] == 0 or starts.shape[1] == 0:
        raise ValueError(f"starts must have shape (S, d) with S, d >= 1, got {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts must be finite")
    for name, value in (("gtol", gtol), ("dedup_tol", dedup_tol), ("eig_tol", eig_tol)):
        check_real(name, value, minimum=0.0, min_open=True)
    max_nfev = check_int("max_nfev", max_nfev, minimum=1)
    if not callable(symmetry_dim):
        symmetry_dim = check_int("symmetry_dim", symmetry_dim, minimum=0)
    d = starts.shape[1]
    inv = invariant if invariant is not None else (lambda x: x)

    def grad(x: np.ndarray) -> np.ndarray:
        if not np.all(np.isfinite(x)):    # an overflowed trial point: not a root
            return np.full(d, np.inf)
        return fun(x)[1]

    roots: list[tuple[int, np.ndarray, float, float, np.ndarray]] = []
    failed: list[np.ndarray] = []
    labels = np.full(len(starts), -1)
    with np.errstate(over="ignore", invalid="ignore"):
        for s, x0 in enumerate(starts):
            sol = least_squares(grad, x0, jac=hessian, method="lm", xtol=1e-15, ftol=1e-15,
                                gtol=1e-15, max_nfev=max_nfev)
            x = sol.x
            value, g = fun(x) if np.all(np.isfinite(x)) else (np.nan, np.full(d, np.nan))
            gnorm = float(np.linalg.norm(g))
            if np.isfinite(value) and gnorm <= gtol:
                roots.append((s, x, float(value), gnorm, np.asarray(inv(x), dtype=np.float64)))
            else:
                failed.append(x)

    # Greedy grouping: a root joins the first family whose loss and invariant both match.
    families: list[list[int]] = []
    for r, (_, _, value, _, key) in enumerate(roots):
        for fam in families:
            _, _, v0, _, k0 = roots[fam[0]]
            if (abs(value - v0) <= dedup_tol * (1 + abs(v0))
                    and np.linalg.norm(key - k0) <= dedup_tol * (1 + np.linalg.norm(k0))):
                fam.append(r)
                break
        else:
            families.append([r])

    points = []
    for fam in families:
        members = np.array([roots[r][1] for r in fam])
        best = min(fam, key=lambda r: roots[r][3])
        x = roots[best][1]
        if canonicalize is not None:
            x = np.asarray(canonicalize(x), dtype=np.float64)
            if x.shape != (d,):
                raise ValueError(f"canonicalize must return shape ({d},), got {x.shape}")
        value, g = fun(x)
        ev = np.linalg.eigvalsh(hessian(x))
        sym = int(symmetry_dim(x)) if callable(symmetry_dim) else int(symmetry_dim)
        tol = eig_tol * max(1.0, float(np.max(np.abs(ev))))
        points.append(CriticalPoint(x=x, loss=float(value), grad_norm=float(np.linalg.norm(g)),
                                    eigenvalues=ev,
                                    kind=classify_critical_point(ev, tol=tol, symmetry_dim=sym),
                                    symmetry_dim=sym, members=members))
    order = sorted(range(len(points)), key=lambda i: points[i].loss)
    relabel = {old: new for new, old in enumerate(order)}
    for i, fam in enumerate(families):
        for r in fam:
            labels[roots[r][0]] = relabel[i]
    return CriticalPointSearch(points=[points[i] for i in order], labels=labels,
                               n_starts=len(starts),
                               failed_points=np.array(failed).reshape(len(failed), d))


def product_invariant(objective: MFObjective) -> Callable[[np.ndarray], np.ndarray]:
    """The symmetry-invariant summary :math:`\\theta \\mapsto \\operatorname{vec}(UV^\\top)`.

    :math:`UV^\\top` is unchanged by :math:`(U, V) \\mapsto (UA, VA^{-\\top})` for every
    invertible :math:`A` (scale, sign flip, rotation), so two critical points with the same
    product (and loss) belong to one family.  In the biased model the biases are appended.
    """
    def key(theta: np.ndarray) -> np.ndarray:
        f = objective.unpack(theta)
        parts = [np.einsum("ik,jk->ij", f.U, f.V).ravel()]
        if objective.biased:
            parts += [f.row_bias, f.col_bias]
        return np.concatenate(parts)
    return key


# ---------------------------------------------------------------------- closed forms
class SVDCriticalPoint(NamedTuple):
    """A critical point of a fully observed factorization, from the SVD."""

    subset: tuple[int, ...]
    """Indices (0-based) of the singular triplets used, :math:`S`."""
    theta: np.ndarray
    """The balanced representative :math:`U = P_S (\\Sigma_S - \\lambda)^{1/2}`,
    :math:`V = Q_S (\\Sigma_S - \\lambda)^{1/2}`, zero columns beyond :math:`|S|`."""
    loss: float


def svd_critical_points(objective: MFObjective) -> list[SVDCriticalPoint]:
    """Every critical product of a fully observed factorization, from the SVD of :math:`R`.

    For :math:`L = \\|R - UV^\\top\\|_F^2 + \\lambda(\\|U\\|_F^2 + \\|V\\|_F^2)` (sum form),
    the gradient equations :math:`EV = \\lambda U`, :math:`E^\\top U = \\lambda V` with
    :math:`E = R - UV^\\top` are solved by

    .. math::
        U = P_S(\\Sigma_S - \\lambda I)^{1/2}, \\qquad V = Q_S(\\Sigma_S - \\lambda I)^{1/2},
        \\\\
        UV^\\top = \\sum_{i\\in S} (\\sigma_i - \\lambda)\\,\\mathbf p_i\\mathbf q_i^\\top,

    for every set :math:`S` of at most :math:`k` singular triplets
    :math:`(\\sigma_i, \\mathbf p_i, \\mathbf q_i)` with :math:`\\sigma_i > \\lambda`
    (check: :math:`EV = (P_S\\Sigma_S - P_S(\\Sigma_S - \\lambda))(\\Sigma_S-\\lambda)^{1/2}
    = \\lambda U`).  When the singular values are distinct and :math:`\\lambda = 0` these are
    all the critical products :cite:`baldi1989neural`; each is one orbit of the symmetry
    (scale and sign for :math:`k = 1`, all of :math:`GL(k)` when :math:`\\lambda = 0`, the
    orthogonal group when :math:`\\lambda > 0`), of which the balanced member is returned.
    Equal singular values give continua of critical products; one member per index set is
    returned.  The objective's conventions are honoured: with ``mean=True`` the penalty acts
    as :math:`N\\lambda` in the sum form, and ``half`` does not matter.

    Parameters
    ----------
    objective : MFObjective
        Plain model, uniform penalty weights, every entry of :math:`R` observed.

    Returns
    -------
    list of SVDCriticalPoint, sorted by loss.
    """
    if not isinstance(objective, MFObjective):
        raise ValueError(f"objective must be an MFObjective, got {type(objective).__name__}")
    m, n = objective.shape
    if objective.ratings.nnz != m * n:
        raise ValueError(
            f"svd_critical_points needs a fully observed matrix, got {objective.ratings.nnz} "
            f"of {m * n} entries")
    if objective.biased or objective.reg_weighting != "uniform":
        raise ValueError("svd_critical_points needs the plain model with reg_weighting='uniform'")
    k = objective.rank
    lam = objective.reg * (objective.ratings.nnz if objective.mean else 1.0)
    P, sig, Qt = np.linalg.svd(objective.ratings.to_dense(), full_matrices=False)
    active = [i for i in range(len(sig)) if sig[i] > lam]
    out = []
    for size in range(min(k, len(active)) + 1):
        for subset in itertools.combinations(active, size):
            U, V = np.zeros((m, k)), np.zeros((n, k))
            for col, i in enumerate(subset):
                scale = np.sqrt(sig[i] - lam)
                U[:, col] = P[:, i] * scale
                V[:, col] = Qt[i] * scale
            theta = objective.pack(U, V)
            out.append(SVDCriticalPoint(tuple(int(i) for i in subset), theta,
                                        float(objective.loss(theta))))
    return sorted(out, key=lambda c: c.loss)
