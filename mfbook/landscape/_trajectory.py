"""Optimizer trajectories: PCA projections, their pitfalls, curvature and arrival times.

A run of :func:`mfbook.core.descend` stores snapshots :math:`\\theta_{t_1}, \\dots,
\\theta_{t_S}` of the parameters.  This module turns them into the pictures and numbers the
book shows, together with the checks that keep those pictures honest:

* :func:`trajectory_pca` -- principal components of the snapshots (centred at their mean,
  at the last snapshot, or at a given point), with the explained variance of each
  component and the map back to parameter space;
* :func:`loss_on_projection` -- the loss at the *projected* points
  :math:`c + P P^\\top(\\theta_t - c)`, to compare with the true loss of the snapshots
  (a contour plot in the PCA plane shows the former, a loss curve the latter);
* :func:`random_walk` and :func:`random_walk_variance_limit` -- a Gaussian random walk
  recorded like a trajectory, and the limit of the explained variance of its principal
  components, :math:`6/(\\pi^2 j^2)` (Antognini and Sohl-Dickstein, 2018): a baseline
  showing that "most of the variance lies in two components" is no evidence of structure;
* :func:`hessian_extremes_along` -- the most negative and most positive Hessian
  eigenvalue at every snapshot, by Lanczos on Hessian-vector products
  (:func:`mfbook.landscape.hessian_extremes`);
* :func:`steps_to_reach` and :func:`time_to_reach` -- the first step, and the wall time,
  at which a loss history falls to a level;
* :func:`escape_time` -- the number of optimizer steps until the loss falls to a level, the
  time spent escaping a saddle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from ..core import (MFObjective, Optimizer, OptimResult, SeedLike, as_generator, check_array,
                    check_bool, check_callable, check_int, check_real, descend)
from ._curvature import hessian_extremes

__all__ = [
    "TrajectoryPCA",
    "trajectory_pca",
    "loss_on_projection",
    "random_walk",
    "random_walk_variance_limit",
    "HessianPath",
    "hessian_extremes_along",
    "steps_to_reach",
    "time_to_reach",
    "escape_time",
]


def _as_snapshots(snapshots: np.ndarray, name: str = "snapshots") -> np.ndarray:
    X = check_array(name, snapshots, finite=False, nonempty=False)
    if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"{name} must have shape (S, d) with S >= 2, got {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite")
    return X


@dataclass(frozen=True)
class TrajectoryPCA:
    """Principal components of a set of parameter snapshots (see :func:`trajectory_pca`).

    Attributes
    ----------
    center : ndarray, shape (d,)
        The point :math:`c` the snapshots are measured from.
    components : ndarray, shape (q, d)
        Orthonormal principal directions :math:`p_1, \\dots, p_q` (rows), by decreasing
        variance.
    singular_values : ndarray, shape (min(S, d),)
        All singular values :math:`s_1 \\ge s_2 \\ge \\dots` of the centred snapshot matrix.
    coords : ndarray, shape (S, q)
        Coordinates :math:`(\\theta_t - c)^\\top p_j` of the snapshots.
    """

    center: np.ndarray
    components: np.ndarray
    singular_values: np.ndarray
    coords: np.ndarray

    @property
    def n_components(self) -> int:
        return self.components.shape[0]

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        """:math:`s_j^2 / \\sum_i s_i^2` for the kept components, shape (q,)."""
        s2 = self.singular_values**2
        total = s2.sum()
        if total == 0:
            return np.zeros(self.n_components)
        return s2[: self.n_components] / total

    def project(self, points: np.ndarray) -> np.ndarray:
        """Coordinates :math:`P^\\top(\\theta - c)` of points of shape ``(d,)`` or ``(B, d)``."""
        points = np.asarray(points, dtype=np.float64)
        if points.shape[-1] != self.center.size or points.ndim not in (1, 2):
            raise ValueError(
                f"points must have shape ({self.center.size},) or (B, {self.center.size}), "
                f"got {points.shape}")
        return (points - self.center) @ self.components.T

    def reconstruct(self, coords: np.ndarray) -> np.ndarray:
        """The points :math:`c + P a` of parameter space with PCA coordinates ``a``."""
        coords = np.asarray(coords, dtype=np.float64)
        if coords.shape[-1] != self.n_components or coords.ndim not in (1, 2):
            raise ValueError(
                f"coords must have shape ({self.n_components},) or (B, {self.n_components}), "
                f"got {coords.shape}")
        return self.center + coords @ self.components

    def residual_norms(self, points: np.ndarray) -> np.ndarray:
        """Distance of each point to the PCA plane, :math:`\\lVert(I - PP^\\top)(\\theta - c)\\rVert`."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        return np.linalg.norm(points - self.reconstruct(self.project(points)), axis=1)


def trajectory_pca(
    snapshots: np.ndarray,
    n_components: int = 2,
    *,
    center: Literal["mean", "last"] | np.ndarray = "mean",
) -> TrajectoryPCA:
    """Principal component analysis of snapshots :math:`\\theta_{t_1}, \\dots, \\theta_{t_S}`.

    With :math:`X` the ``S x d`` matrix of the snapshots minus the centre :math:`c` and its
    thin SVD :math:`X = W \\operatorname{diag}(s) P^\\top`, the principal directions are the
    first ``n_components`` columns of :math:`P` and the explained variance ratios are
    :math:`s_j^2/\\sum_i s_i^2`.

    Parameters
    ----------
    snapshots : ndarray, shape (S, d)
        One snapshot per row, ``S >= 2`` (``OptimResult.snapshots``, or several runs stacked).
    n_components : int
        Number of directions kept, ``1 <= n_components <= min(S, d)``.
    center : {"mean", "last"} or ndarray
        ``"mean"``: the mean snapshot, i.e. ordinary PCA (what ``sklearn.decomposition.PCA``
        does); ``"last"``: the last snapshot, the final point of the run, as in
        :cite:`li2018visualizing`; or any point of shape ``(d,)``.  The explained variance is
        then the share of :math:`\\sum_t \\lVert\\theta_t - c\\rVert^2`.

    Returns
    -------
    TrajectoryPCA
    """
    X = _as_snapshots(snapshots)
    S, d = X.shape
    n_components = check_int("n_components", n_components)
    if not 1 <= n_components <= min(S, d):
        raise ValueError(f"n_components must be an integer in 1..{min(S, d)}, got {n_components!r}")
    if isinstance(center, str):
        if center == "mean":
            c = X.mean(axis=0)
        elif center == "last":
            c = X[-1].copy()
        else:
            raise ValueError(f"center must be 'mean', 'last' or an array, got {center!r}")
    else:
        c = np.asarray(center, dtype=np.float64)
        if c.shape != (d,):
            raise ValueError(f"center must have shape ({d},), got {c.shape}")
    Xc = X - c
    _, s, Pt = np.linalg.svd(Xc, full_matrices=False)
    comps = Pt[:n_components].copy()
    # Fix the sign of each direction (largest |entry| positive) so results are reproducible.
    idx = np.argmax(np.abs(comps), axis=1)
    comps *= np.sign(comps[np.arange(n_components), idx])[:, None]
    return TrajectoryPCA(center=c, components=comps, singular_values=s, coords=Xc @ comps.T)


def loss_on_projection(
    loss: Callable[[np.ndarray], np.ndarray],
    pca: TrajectoryPCA,
    points: np.ndarray | None = None,
    *,
    batch_size: int = 64,
) -> np.ndarray:
    """The loss at the projections :math:`c + PP^\\top(\\theta - c)` of points on the PCA plane.

    A contour plot drawn in PCA coordinates shows this function; the loss the optimizer
    actually had at :math:`\\theta_t` is :math:`L(\\theta_t)`.  The two agree only if the
    snapshot lies in the plane (:meth:`TrajectoryPCA.residual_norms` is 0).

    Parameters
    ----------
    loss : callable
        Maps a batch ``(B, d)`` to ``(B,)`` losses (:meth:`MFObjective.loss` does).
    pca : TrajectoryPCA
    points : ndarray, shape (S, d), optional
        Defaults to the coordinates stored in ``pca`` (the snapshots it was fitted on).
    batch_size : int
        Points per call of ``loss``.
    """
    check_callable("loss", loss)
    if not isinstance(pca, TrajectoryPCA):
        raise TypeError(f"pca must be a TrajectoryPCA, got {type(pca).__name__}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    coords = pca.coords if points is None else np.atleast_2d(pca.project(points))
    out = np.empty(len(coords))
    for start in range(0, len(coords), batch_size):
        chunk = pca.reconstruct(coords[start:start + batch_size])
        out[start:start + len(chunk)] = np.asarray(loss(chunk), dtype=np.float64).reshape(-1)
    return out


def random_walk(
    n_steps: int,
    dim: int,
    *,
    record_every: int = 1,
    step_std: float = 1.0,
    seed: SeedLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A Gaussian random walk :math:`x_{t+1} = x_t + \\xi_t`, :math:`\\xi_t \\sim N(0, \\sigma^2 I_d)`,
    recorded like an optimizer run.

    Only the recorded positions are drawn: between two records :math:`\\Delta t` steps apart
    the increment is one draw from :math:`N(0, \\Delta t\\,\\sigma^2 I_d)`, which has exactly
    the distribution of the sum of the :math:`\\Delta t` steps.  Memory is therefore
    proportional to the number of records, not of steps.

    Parameters
    ----------
    n_steps, dim : int
        Number of steps and dimension (both >= 1).
    record_every : int
        Record :math:`x_t` for :math:`t = 0, r, 2r, \\dots` and always :math:`t =` ``n_steps``,
        the schedule of ``descend(..., snapshot_every=r)``.
    step_std : float
        :math:`\\sigma > 0`.
    seed : int or Generator

    Returns
    -------
    steps : ndarray of int, shape (S,)
    positions : ndarray, shape (S, dim), starting at :math:`x_0 = 0`
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    record_every = check_int("record_every", record_every, minimum=1)
    step_std = check_real("step_std", step_std, minimum=0.0, min_open=True)
    steps = np.arange(0, n_steps + 1, record_every)
    if steps[-1] != n_steps:
        steps = np.append(steps, n_steps)
    gaps = np.diff(steps)
    rng = as_generator(seed)
    increments = rng.standard_normal((gaps.size, dim)) * (step_std * np.sqrt(gaps))[:, None]
    positions = np.vstack([np.zeros((1, dim)), np.cumsum(increments, axis=0)])
    return steps, positions


def random_walk_variance_limit(n_components: int) -> np.ndarray:
    """:math:`6/(\\pi^2 j^2)`, :math:`j = 1..` ``n_components``: the explained variance ratios
    of the principal components of a random walk, in the limit of many steps and a dimension
    much larger than the number of steps (they sum to 1 over all :math:`j`)."""
    n_components = check_int("n_components", n_components, minimum=1)
    j = np.arange(1, n_components + 1)
    return 6.0 / (np.pi**2 * j**2)


@dataclass(frozen=True)
class HessianPath:
    """Extreme Hessian eigenvalues at a sequence of points (see :func:`hessian_extremes_along`)."""

    smallest: np.ndarray
    """Most negative (smallest algebraic) eigenvalue at each point, shape (S,)."""
    largest: np.ndarray
    """Largest eigenvalue at each point, shape (S,)."""
    n_products: np.ndarray
    """Hessian-vector products used at each point, shape (S,)."""


def hessian_extremes_along(
    objective: MFObjective,
    snapshots: np.ndarray,
    *,
    tol: float = 1e-6,
    seed: SeedLike = 0,
) -> HessianPath:
    """:math:`\\lambda_{\\min}(\\nabla^2 L(\\theta_t))` and :math:`\\lambda_{\\max}` at every snapshot.

    Each point is one call of :func:`mfbook.landscape.hessian_extremes` on
    :meth:`MFObjective.hvp` (Lanczos through ARPACK; the Hessian is never formed).  ARPACK's
    ``tol`` is relative: :math:`\\lambda_{\\max}` is accurate to about ``tol`` times itself,
    and :math:`\\lambda_{\\min}` to about ``tol`` times :math:`\\lambda_{\\max}` (it is
    computed as the top of :math:`\\lambda_{\\max} I - \\nabla^2 L`).

    Parameters
    ----------
    objective : MFObjective
    snapshots : ndarray, shape (S, d)
    tol : float
        Relative accuracy asked of ARPACK.  Do not loosen it much to save time: ARPACK's
        test bounds the residual of a Ritz pair, not the distance to the *extreme*
        eigenvalue, and with ``tol=1e-3`` Lanczos was seen to stop at an interior eigenvalue
        (reporting :math:`-10^{-5}` where the dense Hessian of a small test problem had
        :math:`-10^{-3}`); the default agreed with the dense eigenvalues there.
    seed :
        Seed of the Lanczos starting vector (the same at every point).
    """
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be an MFObjective, got {type(objective).__name__}")
    X = np.atleast_2d(check_array("snapshots", snapshots))
    if X.ndim != 2 or X.shape[1] != objective.dim:
        raise ValueError(f"snapshots must have shape (S, {objective.dim}), got {X.shape}")
    tol = check_real("tol", tol, minimum=0.0, maximum=1.0, min_open=True, max_open=True)
    low, high, count = [], [], []
    for theta in X:
        ext = hessian_extremes(lambda v, th=theta: objective.hvp(th, v), objective.dim,
                               k=1, tol=tol, seed=seed)
        low.append(float(ext.smallest[0]))
        high.append(float(ext.largest[0]))
        count.append(ext.n_products)
    return HessianPath(np.array(low), np.array(high), np.array(count, dtype=int))


def steps_to_reach(losses: np.ndarray, level: float, *, settle: bool = False) -> int | None:
    """The first index :math:`t` with ``losses[t] <= level``, or ``None`` if there is none.

    With ``settle=True``: the first :math:`t` from which the loss *stays* at or below
    ``level`` until the end of the history (``None`` if the last loss is above it).  For a
    monotone method the two coincide; for an oscillating one (a large step, Adam) the
    second is the honest arrival time.
    """
    losses = check_array("losses", losses, ndim=1, nonempty=False, finite=False)
    if np.isnan(losses).any():
        raise ValueError(f"losses must not hold NaN, found {int(np.isnan(losses).sum())}")
    level = check_real("level", level)
    settle = check_bool("settle", settle)
    above = ~(losses <= level)
    if not settle:
        hit = np.flatnonzero(~above)
        return int(hit[0]) if hit.size else None
    if losses.size == 0 or above[-1]:
        return None
    last_above = np.flatnonzero(above)
    return int(last_above[-1] + 1) if last_above.size else 0


def time_to_reach(result: OptimResult, level: float, *, settle: bool = False) -> float | None:
    """Wall time until ``result.losses`` reaches ``level`` (see :func:`steps_to_reach`), in seconds.

    Estimated as ``wall_time * t / n_steps`` with ``t`` from :func:`steps_to_reach`: every
    step of a full-batch method costs the same (one gradient and one update), so the time
    spent is proportional to the number of steps.  ``None`` if the level is never reached.
    """
    t = steps_to_reach(result.losses, level, settle=settle)
    if t is None:
        return None
    if result.n_steps == 0:
        return 0.0
    return result.wall_time * t / result.n_steps


def escape_time(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    optimizer: Optimizer,
    level: float,
    max_steps: int,
) -> int | None:
    """Number of optimizer updates until the loss first reaches ``level`` or below.

    Started near a saddle point whose loss is above ``level``, this is the time the
    optimizer needs to escape the saddle.  Runs :func:`mfbook.core.descend` and stops it
    with a callback as soon as :math:`L(x_t) \\le` ``level``.

    Returns
    -------
    int or None
        The first :math:`t` with :math:`L(x_t) \\le` ``level`` (0 if already at ``x0``), or
        ``None`` if it was not reached within ``max_steps`` updates.
    """
    level = check_real("level", level)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    res = descend(fun, x0, optimizer, int(max_steps),
                   callback=lambda t, x, loss, g: loss <= level)
    if res.status == "stopped":
        return res.n_steps
    return None
