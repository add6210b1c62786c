"""Newton refinement of a critical point modulo the rotational symmetry.

L-BFGS (:func:`mfbook.landscape.polish`) stops where the decrease of the loss is lost in
rounding: for a loss near :math:`0.2` and curvature :math:`\\lambda` it cannot see steps
whose gain :math:`\\lVert g\\rVert^2/\\lambda` is below :math:`10^{-16}\\cdot 0.2`, so with
:math:`\\lambda \\approx 10^{-6}` its gradients stall around :math:`10^{-9}`.  At such a
point, is there a true critical point nearby, and is it still a strict minimum?  A Lipschitz
bound does not settle it: the distance to the critical point is about
:math:`\\lVert g\\rVert/\\lambda_{\\min}^\\perp`, over which the Hessian can change by more
than :math:`\\lambda_{\\min}^\\perp` itself.

Newton's method needs no function values.  At a point with orbit basis :math:`Q` (the
tangents of the symmetry orbit, :func:`mfbook.landscape.symmetry_basis`) and
:math:`P = I - QQ^\\top`, the step solves

.. math::
    \\big(P\\nabla^2 L\\,P + QQ^\\top\\big)\\,\\delta = -P\\nabla L

by MINRES on Hessian-vector products.  The gradient is orthogonal to the orbit at every
point (the loss is constant along it), so :math:`P\\nabla L = \\nabla L`, and the
:math:`QQ^\\top` term keeps the step off the orbit.  Near a critical point whose Hessian is
non-singular on :math:`T^\\perp` the gradient norm falls quadratically, to rounding level in a
few steps, and the total displacement bounds the distance between the starting point and
the critical point it converges to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import LinearOperator, minres

from ..core import DivergenceError, MFObjective, check_int, check_real
from ._minima import symmetry_basis

__all__ = ["NewtonRefinement", "newton_refine"]


@dataclass(frozen=True)
class NewtonRefinement:
    """The result of :func:`newton_refine`."""

    x: np.ndarray
    """The refined point."""
    grad_norms: np.ndarray
    """:math:`\\lVert\\nabla L\\rVert` at the start and after each Newton step."""
    displacement: float
    """:math:`\\lVert x - \\theta_0\\rVert`, the distance moved."""
    n_products: int
    """Hessian-vector products used by MINRES, in total."""
    converged: bool
    """Whether the gradient norm reached ``gtol``."""


def newton_refine(
    objective: MFObjective,
    theta: np.ndarray,
    *,
    gtol: float = 1e-13,
    max_steps: int = 8,
    solve_rtol: float = 1e-10,
    max_solve_iter: int = 20000,
) -> NewtonRefinement:
    """Newton steps on the complement of the symmetry orbit until :math:`\\lVert\\nabla L\\rVert \\le` ``gtol``.

    Parameters
    ----------
    objective : MFObjective
    theta : ndarray, shape (d,)
        A point close to a critical point (a polished end point).
    gtol : float
        Target Euclidean gradient norm.
    max_steps : int
        Newton steps at most.
    solve_rtol, max_solve_iter :
        Relative residual and iteration cap of each MINRES solve.

    Returns
    -------
    NewtonRefinement
    """
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be a mfbook.core.MFObjective, "
                        f"got {type(objective).__name__}")
    theta0 = objective.check_theta(theta)
    gtol = check_real("gtol", gtol, minimum=0.0, min_open=True)
    max_steps = check_int("max_steps", max_steps, minimum=0)
    solve_rtol = check_real("solve_rtol", solve_rtol, minimum=0.0, maximum=1.0, min_open=True)
    max_solve_iter = check_int("max_solve_iter", max_solve_iter, minimum=1)
    x = theta0.copy()
    d = objective.dim
    g = objective.grad(x)
    norms = [float(np.linalg.norm(g))]
    products = 0
    for _ in range(max_steps):
        if norms[-1] <= gtol:
            break
        Q = symmetry_basis(objective, x)
        count = [0]

        def matvec(v: np.ndarray, x=x, Q=Q) -> np.ndarray:
            count[0] += 1
            v = np.ravel(v)
            p = v - Q @ (Q.T @ v)
            Hp = objective.hvp(x, p)
            return Hp - Q @ (Q.T @ Hp) + Q @ (Q.T @ v)

        A = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
        rhs = -(g - Q @ (Q.T @ g))
        step, _ = minres(A, rhs, rtol=solve_rtol, maxiter=max_solve_iter)
        products += count[0]
        if not np.all(np.isfinite(step)):
            raise DivergenceError(f"Newton refinement diverged at step {len(norms)}: MINRES "
                                  "returned a non-finite step (singular Hessian?)")
        x = x + step
        g = objective.grad(x)
        norms.append(float(np.linalg.norm(g)))
    return NewtonRefinement(x=x, grad_norms=np.array(norms),
                            displacement=float(np.linalg.norm(x - theta0)),
                            n_products=products, converged=norms[-1] <= gtol)
