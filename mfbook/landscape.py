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
* :func:`restrict_to_coordinates` -- an objective as a function of some of its coordinates,
  the others held fixed (an axis-aligned slice, with its own gradient and Hessian).
* :func:`find_critical_points` -- roots of the gradient from many starts (Levenberg-Marquardt
  on :math:`\\nabla L = 0`), grouped into families by symmetry-invariant quantities and
  classified.
* :func:`svd_critical_points` -- the critical points of a fully observed factorization in
  closed form, from the singular value decomposition.
* :func:`symmetry_tangents`, :func:`orbit_dimension`, :func:`balance_factors` -- the
  directions along which the factorization symmetry moves a point, their number, and the
  balanced point of an orbit.
* :func:`escape_time` -- the number of optimizer steps until the loss falls to a level, the
  time spent escaping a saddle.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Literal, NamedTuple

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from .data import SeedLike, as_generator
from .objective import MFObjective
from .optim import Optimizer, minimize

__all__ = [
    "evaluate_plane",
    "random_direction",
    "HessianExtremes",
    "hessian_extremes",
    "CRITICAL_POINT_KINDS",
    "classify_critical_point",
    "Restriction",
    "restrict_to_coordinates",
    "CriticalPoint",
    "CriticalPointSearch",
    "find_critical_points",
    "product_invariant",
    "SVDCriticalPoint",
    "svd_critical_points",
    "symmetry_tangents",
    "orbit_dimension",
    "orthonormal_span",
    "balance_factors",
    "escape_time",
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


# ---------------------------------------------------------------------- restrictions
class Restriction:
    """An objective as a function of some of its coordinates, the others held fixed.

    For an objective :math:`L(\\theta)`, a base point :math:`\\theta_0` and a set
    :math:`F` of free coordinates, the restriction is
    :math:`\\ell(x) = L(\\theta_0 + P_F x)`, where :math:`P_F` puts the entries of
    :math:`x` at the positions :math:`F`.  By the chain rule its gradient and Hessian are
    the corresponding entries of the full ones,

    .. math::
        \\nabla \\ell(x) = P_F^\\top \\nabla L(\\theta), \\qquad
        \\nabla^2 \\ell(x) = P_F^\\top \\nabla^2 L(\\theta)\\, P_F ,

    a sub-vector and a principal sub-matrix.  A critical point of :math:`\\ell` is a point
    where only the *free* components of :math:`\\nabla L` vanish; it need not be a critical
    point of :math:`L`.

    Create it with :func:`restrict_to_coordinates`.
    """

    def __init__(self, objective: MFObjective, base: np.ndarray, free: np.ndarray) -> None:
        self.objective = objective
        self.base = base
        self.free = free
        self.dim = len(free)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\theta_0 + P_F x` for ``x`` of shape ``(p,)`` or ``(B, p)``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape ({self.dim},) or (B, {self.dim}), got {x.shape}")
        theta = np.broadcast_to(self.base, x.shape[:-1] + self.base.shape).copy()
        theta[..., self.free] = x
        return theta

    def loss(self, x: np.ndarray) -> float | np.ndarray:
        """:math:`\\ell(x)`; a batch ``(B, p)`` gives ``(B,)`` losses."""
        return self.objective.loss(self.embed(x))

    def loss_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """:math:`\\ell(x)` and :math:`\\nabla\\ell(x) = P_F^\\top\\nabla L`."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"x must have shape ({self.dim},), got {x.shape}")
        value, g = self.objective.loss_grad(self.embed(x))
        return value, g[self.free]

    def grad(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\nabla\\ell(x)`."""
        return self.loss_grad(x)[1]

    __call__ = loss_grad

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\nabla^2\\ell(x)`, the principal sub-matrix of the full Hessian."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"x must have shape ({self.dim},), got {x.shape}")
        return self.objective.hessian(self.embed(x))[np.ix_(self.free, self.free)]

    def __repr__(self) -> str:
        return f"Restriction(free={self.free.tolist()}, dim={self.dim} of {self.base.size})"


def restrict_to_coordinates(objective: MFObjective, base: np.ndarray,
                            free: np.ndarray | list[int]) -> Restriction:
    """Restrict ``objective`` to the coordinates ``free``, the others fixed at ``base``.

    Parameters
    ----------
    objective : MFObjective
        Or any object with ``loss`` (batched), ``loss_grad`` and ``hessian`` methods and a
        ``dim`` attribute.
    base : ndarray, shape (d,)
        The point whose non-free coordinates are kept; its free coordinates are ignored.
    free : sequence of int
        Distinct indices into the parameter vector.

    Examples
    --------
    The slice :math:`u_2 = v_2 = 1` of a rank-1 factorization of a 2x2 matrix, whose
    parameters are laid out as :math:`(u_1, u_2, v_1, v_2)`:

    >>> import numpy as np
    >>> from mfbook.data import Ratings
    >>> f = MFObjective(Ratings.from_dense(np.array([[3.0, 1.0], [1.0, 3.0]])), rank=1)
    >>> s = restrict_to_coordinates(f, np.array([0.0, 1.0, 0.0, 1.0]), [0, 2])
    >>> float(s.loss(np.zeros(2)))   # 3^2 + 1^2 + 1^2 + (3 - 1)^2
    15.0
    """
    base = np.array(base, dtype=np.float64)
    dim = getattr(objective, "dim", None)
    if base.ndim != 1 or (dim is not None and base.size != dim):
        raise ValueError(f"base must have shape ({dim},), got {base.shape}")
    idx = np.asarray(free)
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        raise ValueError(f"free must be a non-empty 1-d sequence of integers, got {free!r}")
    if idx.min() < 0 or idx.max() >= base.size or len(np.unique(idx)) != idx.size:
        raise ValueError(f"free must hold distinct indices in 0..{base.size - 1}, got {free!r}")
    return Restriction(objective, base, idx.astype(np.int64))


# ---------------------------------------------------------------------- critical points
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
        ``fun(x) -> (loss, grad)``, e.g. an :class:`~mfbook.objective.MFObjective` or a
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
    starts = np.asarray(starts, dtype=np.float64)
    if starts.ndim != 2 or starts.shape[0] == 0 or starts.shape[1] == 0:
        raise ValueError(f"starts must have shape (S, d) with S, d >= 1, got {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts must be finite")
    for name, value in (("gtol", gtol), ("dedup_tol", dedup_tol), ("eig_tol", eig_tol)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if isinstance(max_nfev, bool) or not isinstance(max_nfev, (int, np.integer)) or max_nfev < 1:
        raise ValueError(f"max_nfev must be a positive integer, got {max_nfev!r}")
    d = starts.shape[1]
    inv = invariant if invariant is not None else (lambda x: x)

    def grad(x: np.ndarray) -> np.ndarray:
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
        \\qquad UV^\\top = \\sum_{i\\in S} (\\sigma_i - \\lambda)\\,\\mathbf p_i\\mathbf q_i^\\top,

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


# ---------------------------------------------------------------------- symmetry
def symmetry_tangents(objective: MFObjective, theta: np.ndarray) -> np.ndarray:
    """Tangent vectors at ``theta`` to the orbit of the factorization symmetry.

    The loss is constant along :math:`t \\mapsto (U e^{tA}, V e^{-tA^\\top})`; its velocity at
    :math:`t = 0` is :math:`(UA, -VA^\\top)`.  Without a penalty every :math:`k\\times k`
    matrix :math:`A` is allowed (the scale symmetry :math:`(\\mathbf u, \\mathbf v) \\mapsto
    (a\\mathbf u, \\mathbf v/a)` when :math:`k = 1`); with :math:`\\lambda > 0` only the
    rotations, :math:`A` skew-symmetric, keep the loss.  Differentiating
    :math:`L(\\theta(t)) = L(\\theta)` twice at a critical point gives
    :math:`\\nabla^2 L\\,\\dot\\theta = 0`: each tangent is a zero-eigenvalue direction of
    the Hessian.  Bias coordinates do not move.

    Returns
    -------
    ndarray, shape (d, q)
        One column per generator :math:`A = E_{ab}` (:math:`q = k^2`) or
        :math:`A = E_{ab} - E_{ba}`, :math:`a < b` (:math:`q = k(k-1)/2`, possibly 0).
    """
    theta = objective._check_theta(theta)
    f = objective.unpack(theta)
    k = objective.rank
    if objective.reg > 0:
        gens = []
        for a, b in itertools.combinations(range(k), 2):
            A = np.zeros((k, k))
            A[a, b], A[b, a] = 1.0, -1.0
            gens.append(A)
    else:
        gens = [np.eye(k)[:, [a]] @ np.eye(k)[[b], :] for a in range(k) for b in range(k)]
    cols = []
    for A in gens:
        t = np.zeros(objective.dim)
        t[: f.U.size] = (f.U @ A).ravel()
        t[f.U.size: f.U.size + f.V.size] = (-f.V @ A.T).ravel()
        cols.append(t)
    return np.array(cols).T if cols else np.zeros((objective.dim, 0))


def orbit_dimension(objective: MFObjective, theta: np.ndarray, tol: float = 1e-8) -> int:
    """Dimension of the symmetry orbit through ``theta``: the rank of :func:`symmetry_tangents`.

    Singular values below ``tol`` times :math:`\\max(1, \\|\\theta\\|)` count as zero.  At the
    origin the orbit is a single point (dimension 0); at a rank-1 point of a :math:`k = 1`
    factorization without penalty it is the curve :math:`(a\\mathbf u, \\mathbf v/a)`
    (dimension 1).
    """
    T = symmetry_tangents(objective, theta)
    if T.shape[1] == 0:
        return 0
    s = np.linalg.svd(T, compute_uv=False)
    return int(np.sum(s > tol * max(1.0, float(np.linalg.norm(theta)))))


def orthonormal_span(T: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """An orthonormal basis of the column span of ``T``, shape ``(d, q)``.

    The left singular vectors of ``T`` whose singular values exceed ``tol`` times the largest
    one; ``q = 0`` if ``T`` has no columns or is zero.  Used to turn the (dependent, not
    orthonormal) tangents of a symmetry orbit into a basis that can be projected out.
    """
    T = np.asarray(T, dtype=np.float64)
    if T.ndim != 2:
        raise ValueError(f"T must be a 2-d array of column vectors, got shape {T.shape}")
    if T.shape[1] == 0:
        return np.zeros((T.shape[0], 0))
    W, s, _ = np.linalg.svd(T, full_matrices=False)
    if s[0] == 0:
        return np.zeros((T.shape[0], 0))
    return W[:, s > tol * s[0]]


def balance_factors(objective: MFObjective, theta: np.ndarray) -> np.ndarray:
    """The balanced factorization of the same product: :math:`U^\\top U = V^\\top V`.

    With the thin SVD :math:`UV^\\top = P\\Sigma Q^\\top` (rank :math:`r \\le k`), returns
    :math:`U = P_r\\Sigma_r^{1/2}`, :math:`V = Q_r\\Sigma_r^{1/2}` padded with zero columns,
    biases unchanged.  If :math:`U` and :math:`V` have full column rank this point lies on the
    symmetry orbit of ``theta``; it is the member with the smallest :math:`\\|U\\|_F^2 +
    \\|V\\|_F^2`.  For :math:`k = 1`: :math:`(\\mathbf u, \\mathbf v) \\mapsto
    (a\\mathbf u, \\mathbf v/a)` with :math:`a = \\sqrt{\\|\\mathbf v\\|/\\|\\mathbf u\\|}`,
    up to a common sign.
    """
    theta = objective._check_theta(theta)
    f = objective.unpack(theta)
    k = objective.rank
    # Product of two thin factors without forming the m x n matrix.
    Qu, Ru = np.linalg.qr(f.U)
    Qv, Rv = np.linalg.qr(f.V)
    Pk, sig, Wt = np.linalg.svd(Ru @ Rv.T)
    r = int(np.sum(sig > 1e-12 * max(1.0, float(sig[0]) if sig.size else 1.0)))
    U, V = np.zeros_like(f.U), np.zeros_like(f.V)
    U[:, :r] = (Qu @ Pk[:, :r]) * np.sqrt(sig[:r])
    V[:, :r] = (Qv @ Wt[:r].T) * np.sqrt(sig[:r])
    out = theta.copy()
    out[: U.size] = U.ravel()
    out[U.size: U.size + V.size] = V.ravel()
    return out


# ---------------------------------------------------------------------- dynamics
def escape_time(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    optimizer: Optimizer,
    level: float,
    max_steps: int,
) -> int | None:
    """Number of optimizer updates until the loss first reaches ``level`` or below.

    Started near a saddle point whose loss is above ``level``, this is the time the
    optimizer needs to escape the saddle.  Runs :func:`mfbook.optim.minimize` and stops it
    with a callback as soon as :math:`L(x_t) \\le` ``level``.

    Returns
    -------
    int or None
        The first :math:`t` with :math:`L(x_t) \\le` ``level`` (0 if already at ``x0``), or
        ``None`` if it was not reached within ``max_steps`` updates.
    """
    if not np.isfinite(level):
        raise ValueError(f"level must be a finite number, got {level!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
        raise ValueError(f"max_steps must be an integer >= 0, got {max_steps!r}")
    res = minimize(fun, x0, optimizer, int(max_steps),
                   callback=lambda t, x, loss, g: loss <= level)
    if res.status == "stopped":
        return res.n_steps
    return None
