"""Where optimizers end: polishing end points to critical points, and comparing them.

An optimizer stopped after a fixed number of steps is near, not at, a critical point.  To
ask whether two runs found *different* minima, each end point is first polished to a
critical point (:func:`polish`, L-BFGS), the critical points are compared through their
predictions :math:`UV^\\top` (:func:`group_by_product`), and each is classified by the
Hessian eigenvalues that remain once the directions of the symmetry orbit are removed
(:func:`hessian_extremes_modulo_symmetry`).

With a penalty :math:`\\lambda > 0` the loss is invariant under
:math:`(U, V) \\mapsto (UQ, VQ)` for orthogonal :math:`Q`.  At a critical point every
tangent of that orbit is a zero-eigenvalue direction of the Hessian (see
:func:`mfbook.landscape.symmetry_tangents`), so the smallest eigenvalue of the full Hessian
is 0 at every minimum and says nothing.  The informative quantity is the smallest
eigenvalue of the Hessian compressed to the orthogonal complement :math:`T^\\perp` of the
orbit's tangent space :math:`T`:

.. math::
    \\lambda_{\\min}^{\\perp} = \\min_{\\delta \\perp T,\\ \\lVert\\delta\\rVert = 1}
        \\delta^\\top \\nabla^2 L\\, \\delta .

:math:`\\lambda_{\\min}^{\\perp} > 0` at a critical point means a strict local minimum modulo
the symmetry; :math:`< 0`, a strict saddle.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import minimize

from ..core import (DivergenceError, MFObjective, OptimResult, SeedLike, check_array, check_int,
                    check_real, product_distance,
                    scipy_outcome)
from ._curvature import HessianExtremes, hessian_extremes
from ._symmetry import orthonormal_span, symmetry_tangents

__all__ = [
    "polish",
    "symmetry_basis",
    "hessian_extremes_modulo_symmetry",
    "group_by_product",
]


def _check_objective(objective: object) -> MFObjective:
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be an MFObjective, got {type(objective).__name__}")
    return objective


def polish(
    objective: MFObjective,
    theta0: np.ndarray,
    *,
    gtol: float = 1e-9,
    maxiter: int = 20000,
    memory: int = 30,
) -> OptimResult:
    """Run L-BFGS from ``theta0`` until the gradient vanishes to ``gtol``.

    SciPy's L-BFGS-B without bounds :cite:`liu1989limited`, with ``ftol = 0`` so that the
    only stopping rules are :math:`\\max_i |\\partial L/\\partial\\theta_i| \\le` ``gtol`` and
    ``maxiter``.  Started at the end point of another optimizer, it finds the critical point
    that end point was heading to (L-BFGS decreases the loss at every iteration, so it stays
    in the same basin unless the end point was far from converged).

    Returns
    -------
    OptimResult
        ``losses`` and ``grad_norms`` (Euclidean) per iteration, ``status`` ``"converged"``
        if ``gtol`` was met, ``"completed"`` if SciPy stopped normally (e.g. at
        ``maxiter``), ``"failed"`` otherwise (line-search failure); ``message`` is SciPy's.

    Raises
    ------
    DivergenceError
        If the loss at ``theta0`` or at the end is not finite.
    """
    objective = _check_objective(objective)
    theta0 = objective.check_theta(theta0)
    gtol = check_real("gtol", gtol, minimum=0.0, min_open=True)
    maxiter = check_int("maxiter", maxiter, minimum=1)
    memory = check_int("memory", memory, minimum=1)
    loss0, g0 = objective.loss_grad(theta0)
    if not (np.isfinite(loss0) and np.all(np.isfinite(g0))):
        raise DivergenceError(f"L-BFGS: the loss or gradient at theta0 is not finite ({loss0!r})")
    losses, gnorms = [loss0], [float(np.linalg.norm(g0))]

    def record(intermediate_result) -> None:
        losses.append(float(intermediate_result.fun))
        gnorms.append(float(np.linalg.norm(objective.grad(intermediate_result.x))))

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        # A line-search trial step may overflow; report it as an infinite loss (SciPy then
        # backtracks) instead of letting the finiteness check of the objective raise.
        if not np.all(np.isfinite(theta)):
            return np.inf, np.zeros_like(theta)
        return objective.loss_grad(theta)

    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=record,
                          options={"maxiter": int(maxiter), "maxfun": 2 * int(maxiter),
                                   "gtol": float(gtol), "ftol": 0.0, "maxcor": int(memory)})
    wall = time.perf_counter() - start
    if np.all(np.isfinite(res.x)):
        loss, grad = objective.loss_grad(res.x)
    else:
        loss, grad = np.inf, np.full(objective.dim, np.inf)
    res.fun = loss
    converged = bool(np.isfinite(loss)) and float(np.max(np.abs(grad))) <= gtol
    status, message = scipy_outcome(res, optimizer=f"L-BFGS(memory={memory})",
                                    converged=converged)
    return OptimResult(
        x=res.x, fun=float(loss), losses=np.array(losses), grad_norms=np.array(gnorms),
        snapshots=np.empty((0, objective.dim)), snapshot_steps=np.empty(0, dtype=int),
        n_steps=int(res.nit), wall_time=wall,
        status=status, message=message,
        optimizer=f"L-BFGS(memory={memory})")


def symmetry_basis(objective: MFObjective, theta: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """An orthonormal basis of the tangent space of the symmetry orbit through ``theta``.

    The columns of :func:`mfbook.landscape.symmetry_tangents` span the tangent space but are
    neither orthonormal nor independent (a rotation mixing two zero columns of the factors
    does not move the point).  The left singular vectors whose singular values exceed
    ``tol`` times the largest one form the basis.

    Returns
    -------
    ndarray, shape (d, q)
        ``q`` is the orbit dimension (0 without a symmetry).
    """
    objective = _check_objective(objective)
    tol = check_real("tol", tol, minimum=0.0)
    return orthonormal_span(symmetry_tangents(objective, theta), tol)


def hessian_extremes_modulo_symmetry(
    objective: MFObjective,
    theta: np.ndarray,
    *,
    k: int = 1,
    tol: float = 1e-8,
    seed: SeedLike = 0,
) -> HessianExtremes:
    """Extreme eigenvalues of the Hessian restricted to the complement of the symmetry orbit.

    With :math:`Q` the orthonormal basis of :func:`symmetry_basis` and
    :math:`P = I - QQ^\\top`, the eigenvalues of :math:`P\\nabla^2 L P` on the range of
    :math:`P` are computed by Lanczos (:func:`mfbook.landscape.hessian_extremes`), in two
    passes: the largest from :math:`P\\nabla^2 LP` itself, the smallest from
    :math:`P\\nabla^2 LP + \\sigma QQ^\\top` with :math:`\\sigma` the largest eigenvalue, which
    moves the orbit directions from 0 to the top of the spectrum.  At a critical point
    :math:`\\nabla^2 L\\,Q = 0`, so these are exactly the eigenvalues of the Hessian that the
    symmetry does not force to zero.

    Returns
    -------
    HessianExtremes
        ``smallest`` and ``largest`` (``k`` each, ascending) and the number of products.
    """
    objective = _check_objective(objective)
    theta = objective.check_theta(theta)
    k = check_int("k", k, minimum=1)
    tol = check_real("tol", tol, minimum=0.0)
    Q = symmetry_basis(objective, theta)
    d = objective.dim
    if not 1 <= k < d - Q.shape[1] - 1:
        raise ValueError(f"k must satisfy 1 <= k < {d - Q.shape[1] - 1}, got {k}")

    def compressed(v: np.ndarray) -> np.ndarray:
        p = v - Q @ (Q.T @ v)
        Hp = objective.hvp(theta, p)
        return Hp - Q @ (Q.T @ Hp)

    top = hessian_extremes(compressed, d, k=k, tol=tol, seed=seed)
    sigma = max(float(top.largest[-1]), 0.0)
    shifted = hessian_extremes(lambda v: compressed(v) + sigma * (Q @ (Q.T @ v)), d,
                               k=k, tol=tol, seed=seed)
    return HessianExtremes(shifted.smallest, top.largest, top.n_products + shifted.n_products)


def group_by_product(
    objective: MFObjective,
    thetas: np.ndarray,
    *,
    rtol: float = 1e-4,
) -> np.ndarray:
    """Label parameter vectors that predict the same matrix with the same integer.

    Greedy: each point joins the first group whose first member is within distance
    ``rtol`` times the larger of the two norms :math:`\\lVert UV^\\top\\rVert_F`
    (:func:`mfbook.core.product_distance`), else starts a new group (two zero products
    are the same).
    Labels are numbered in order of first appearance, from 0.  Use it on *polished* points;
    end points of unconverged runs differ by their distance to convergence.

    Returns
    -------
    ndarray of int, shape (B,)
    """
    objective = _check_objective(objective)
    thetas = np.atleast_2d(check_array("thetas", thetas, nonempty=False))
    if thetas.ndim != 2 or thetas.shape[1] != objective.dim:
        raise ValueError(f"thetas must have shape (B, {objective.dim}), got {thetas.shape}")
    rtol = check_real("rtol", rtol, minimum=0.0, min_open=True)
    def norm(U: np.ndarray, V: np.ndarray) -> float:   # ||U V^T||_F
        return product_distance(U, V, U[:, :0], V[:, :0], relative=False)

    reps: list[tuple[np.ndarray, np.ndarray, float]] = []
    labels = np.empty(len(thetas), dtype=int)
    for i, theta in enumerate(thetas):
        U, V = objective.unpack(theta)[:2]
        size = norm(U, V)
        for label, (Ur, Vr, size_r) in enumerate(reps):
            if product_distance(Ur, Vr, U, V, relative=False) <= rtol * max(size, size_r):
                labels[i] = label
                break
        else:
            labels[i] = len(reps)
            reps.append((U, V, size))
    return labels
