"""Numerical checks of the closed forms: Hessians modulo the orbit, and batched descent."""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from ..core import (DIVERGENCE_FACTOR, GradientDescent, OptimResult, SeedLike, check_int,
                    check_real, descend)
from ..landscape import (HessianExtremes, classify_critical_point, hessian_extremes,
                         orthonormal_span)
from ._model import DeepMF, check_model
from ._critical import DeepCriticalPoint

__all__ = ["HessianCheck", "hessian_check", "normal_curvature", "nearest_critical_point",
           "BatchedRuns", "batched_gradient_descent"]


class HessianCheck(NamedTuple):
    """The second-order verdict at a point, from the dense Hessian."""

    eigenvalues: np.ndarray
    """All Hessian eigenvalues, ascending."""
    orbit_dim: int
    """Zero eigenvalues explained by the symmetry (rank of the orbit tangents)."""
    n_negative: int
    n_zero: int
    n_positive: int
    kind: str
    """:func:`mfbook.landscape.classify_critical_point` with ``symmetry_dim=orbit_dim``."""
    tol: float
    """Eigenvalues with absolute value at most ``tol`` count as zero."""
    min_normal: float
    """Smallest eigenvalue of the Hessian restricted to the orthogonal complement of the
    orbit tangents (the curvature that decides)."""


def _orbit_basis(model: DeepMF, theta: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    return orthonormal_span(model.symmetry_tangents(theta), tol)


def hessian_check(model: DeepMF, theta: np.ndarray, *, rtol: float = 1e-7) -> HessianCheck:
    """Classify ``theta`` with the dense Hessian, discounting the orbit's zero eigenvalues.

    Eigenvalues with :math:`|\\mu| \\le` ``rtol`` :math:`\\cdot \\max(1, \\max|\\mu|)` count as
    zero.  The orbit dimension is measured (rank of :meth:`DeepMF.symmetry_tangents`), not
    assumed; :attr:`HessianCheck.min_normal` is the smallest eigenvalue of
    :math:`N^\\top \\nabla^2F\\,N` with :math:`N` an orthonormal basis of the complement of
    the tangents.
    """
    model = check_model(model)
    rtol = check_real("rtol", rtol, minimum=0.0)
    H = model.hessian(theta)
    ev = np.linalg.eigvalsh(H)
    tol = rtol * max(1.0, float(np.max(np.abs(ev))))
    Q = _orbit_basis(model, theta)
    orbit_dim = Q.shape[1]
    if orbit_dim:
        full, _ = np.linalg.qr(np.concatenate([Q, np.eye(model.dim)], axis=1))
        N = full[:, orbit_dim:model.dim]
        min_normal = float(np.linalg.eigvalsh(N.T @ H @ N)[0])
    else:
        min_normal = float(ev[0])
    n_neg, n_pos = int(np.sum(ev < -tol)), int(np.sum(ev > tol))
    kind = classify_critical_point(ev, tol=tol, symmetry_dim=orbit_dim)
    return HessianCheck(ev, orbit_dim, n_neg, len(ev) - n_neg - n_pos, n_pos, kind, tol,
                        min_normal)


def normal_curvature(model: DeepMF, theta: np.ndarray, *, k: int = 1, tol: float = 1e-10,
                     seed: SeedLike = 0) -> HessianExtremes:
    """Extreme Hessian eigenvalues on the complement of the orbit, by Lanczos on HVPs.

    For problems too large for :meth:`DeepMF.hessian`.  With :math:`Q` an orthonormal basis
    of the orbit tangents, the operator

    .. math::
        v \\mapsto (I - QQ^\\top)\\,\\nabla^2 F\\,(I - QQ^\\top)\\,v + \\sigma\\,QQ^\\top v

    has the normal curvatures as eigenvalues and moves the orbit's zeros to
    :math:`\\sigma` (the largest eigenvalue of :math:`\\nabla^2F`, found first), so that
    :func:`mfbook.landscape.hessian_extremes` returns the smallest **normal** eigenvalues.
    """
    model = check_model(model)
    theta = model.check_theta(theta)
    Q = _orbit_basis(model, theta)
    top = hessian_extremes(lambda v: model.hvp(theta, v), model.dim, k=1, tol=tol, seed=seed)
    sigma = float(top.largest[-1])

    def op(v: np.ndarray) -> np.ndarray:
        w = v - Q @ (Q.T @ v)
        Hw = model.hvp(theta, w)
        return Hw - Q @ (Q.T @ Hw) + sigma * (Q @ (Q.T @ v))

    res = hessian_extremes(op, model.dim, k=k, tol=tol, seed=seed)
    return HessianExtremes(res.smallest, res.largest, res.n_products + top.n_products)


def nearest_critical_point(model: DeepMF, theta: np.ndarray,
                           points: Sequence[DeepCriticalPoint]) -> tuple[int, float]:
    """Index of the critical point whose product is closest to that of ``theta``, and the
    distance :math:`\\lVert P(\\theta) - P_c\\rVert_F` (products are symmetry-invariant)."""
    model = check_model(model)
    if not points:
        raise ValueError("points must not be empty")
    P = model.product(model.check_theta(theta))
    d = [float(np.linalg.norm(P - model.product(c.theta))) for c in points]
    i = int(np.argmin(d))
    return i, d[i]


class BatchedRuns(NamedTuple):
    """The result of :func:`batched_gradient_descent`."""

    ends: np.ndarray
    """End point of every run, shape ``(B, d)``."""
    diverged: np.ndarray
    """Boolean mask of the runs whose loss exceeded ``diverge_above`` (frozen there)."""
    result: OptimResult
    """The record of :func:`mfbook.core.descend` on the stacked problem (its losses are
    sums over the runs that had not diverged)."""


def batched_gradient_descent(model: DeepMF, starts: np.ndarray, lr: float, n_steps: int, *,
                             gtol: float | None = None,
                             diverge_above: float | None = None) -> BatchedRuns:
    """Gradient descent from every row of ``starts`` at once, with :func:`mfbook.core.descend`.

    The runs are stacked into one vector :math:`x = (\\theta^{(1)}, \\dots, \\theta^{(B)})`
    and :math:`\\sum_b F(\\theta^{(b)})` is minimized.  Its gradient is the stack of the
    individual gradients, so one step of gradient descent on the sum is one step of every
    run: the runs are independent, the arithmetic is shared.  A run diverges by the rule of
    :func:`mfbook.core.divergence_reason` (its loss is not finite or exceeds
    :data:`~mfbook.core.DIVERGENCE_FACTOR` times its own starting loss; or, if
    ``diverge_above`` is given, exceeds that absolute level): it is then declared diverged
    and frozen, its gradient set to zero from then on, so it cannot stop the others.  ``gtol`` applies to the norm
    of the stacked gradient (so every run has :math:`\\lVert\\nabla F\\rVert \\le` ``gtol``
    when it stops).
    """
    model = check_model(model)
    starts = model.check_theta(starts, allow_batch=True, name="starts")
    if starts.ndim != 2 or starts.shape[1] != model.dim or starts.shape[0] == 0:
        raise ValueError(
            f"starts must have shape (B, {model.dim}) with B >= 1, got {starts.shape}")
    lr = check_real("lr", lr, minimum=0.0, min_open=True)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    if diverge_above is not None:
        diverge_above = check_real("diverge_above", diverge_above, minimum=0.0, min_open=True)
    shape = starts.shape
    dead = np.zeros(shape[0], dtype=bool)
    limit = np.full(shape[0], np.inf)
    if diverge_above is None:
        initial = model.loss(starts)
        limit = np.where(initial > 0, DIVERGENCE_FACTOR * initial, np.inf)
    else:
        limit[:] = diverge_above

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        X = x.reshape(shape)
        dead[:] |= ~np.isfinite(X).all(axis=1)
        X = np.where(dead[:, None], 0.0, X)      # frozen runs are not evaluated
        with np.errstate(over="ignore", invalid="ignore"):
            values, grads = model.loss_grad(X)
        dead[:] |= ~np.isfinite(values) | (values > limit)
        grads[dead] = 0.0
        return float(np.sum(values[~dead])), grads.ravel()

    res = descend(fun, starts.ravel(), GradientDescent(lr), n_steps, gtol=gtol)
    return BatchedRuns(res.x.reshape(shape), dead.copy(), res)
