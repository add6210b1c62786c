"""Alternating least squares for :class:`~mfbook.objective.MFObjective`.

With :math:`V` (and the column biases) fixed, the objective is a ridge regression for each
row :math:`i` separately, solved exactly; then the roles swap.  For the row block
:math:`x_i = \\mathbf u_i` (plain model) or :math:`x_i = (\\mathbf u_i, b_i)` (biased model,
features :math:`a_j = (\\mathbf v_j, 1)` and targets :math:`y_{ij} = r_{ij} - \\mu - c_j`):

.. math::

    \\Big(s \\sum_{j:(i,j)\\in\\Omega} a_j a_j^\\top + D_i\\Big)\\, x_i
      = s \\sum_{j:(i,j)\\in\\Omega} y_{ij}\\, a_j,
    \\qquad D_i = w_i\\,\\mathrm{diag}(\\lambda, \\dots, \\lambda, \\lambda_b),

with :math:`s`, :math:`w_i`, :math:`\\lambda`, :math:`\\lambda_b` the conventions of the
objective (the factor :math:`h` cancels).  Each half-sweep exactly minimizes the objective
over one block, so the loss never increases (tested).

All the Gram matrices of one half-sweep come from a single sparse product: with
:math:`S` the :math:`m \\times n` indicator of :math:`\\Omega` and :math:`P_j =
\\operatorname{vec}(a_j a_j^\\top)`, the rows of :math:`S P` are
:math:`\\operatorname{vec}\\sum_{j \\in \\Omega_i} a_j a_j^\\top`.  That costs
:math:`O(|\\Omega| k^2)` inside SciPy's compiled sparse kernels, and the :math:`m` small
systems are then solved in one batched call (with BLAS pinned to one thread, which is
much faster for many tiny systems).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from .objective import MFObjective
from .optim import OptimResult

__all__ = ["als", "als_half_sweep"]


def _solve_blocks(G: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve the stacked systems ``G[i] x[i] = b[i]``; singular ones by least squares."""
    with threadpool_limits(1):
        try:
            return np.linalg.solve(G, b[..., None])[..., 0]
        except np.linalg.LinAlgError:
            # Only possible without a penalty, for a row with fewer entries than unknowns:
            # take the minimum-norm solution.
            return np.einsum("nij,nj->ni", np.linalg.pinv(G), b)


def als_half_sweep(objective: MFObjective, theta: np.ndarray, side: str) -> np.ndarray:
    """Return ``theta`` with the row block (``side="rows"``) or column block minimized exactly."""
    if side not in ("rows", "cols"):
        raise ValueError(f"side must be 'rows' or 'cols', got {side!r}")
    f = objective.unpack(theta)
    R = objective.ratings
    m, n = objective.shape
    k = objective.rank
    biased = objective.biased
    if side == "rows":
        idx, other_idx, n_self = R.rows, R.cols, m
        feats, weights = f.V, objective._w_row
        other_bias = f.col_bias
    else:
        idx, other_idx, n_self = R.cols, R.rows, n
        feats, weights = f.U, objective._w_col
        other_bias = f.row_bias
    if biased:
        feats = np.hstack([feats, np.ones((feats.shape[0], 1))])
        targets = R.values - objective.mu - other_bias[other_idx]
    else:
        targets = R.values
    kk = feats.shape[1]
    # Sparse indicator of Omega seen from this side (n_self x n_other), and targets on it.
    S = sp.csr_matrix((np.ones(R.nnz), (idx, other_idx)), shape=(n_self, feats.shape[0]))
    Y = sp.csr_matrix((targets, (idx, other_idx)), shape=S.shape)
    outer = (feats[:, :, None] * feats[:, None, :]).reshape(feats.shape[0], kk * kk)
    s = objective._s
    G = s * (S @ outer).reshape(n_self, kk, kk)
    rhs = s * (Y @ feats)
    penalty = np.full(kk, objective.reg)
    if biased:
        penalty[-1] = objective.reg_bias
    G[:, np.arange(kk), np.arange(kk)] += weights[:, None] * penalty
    x = _solve_blocks(G, rhs)
    theta = np.array(theta, dtype=np.float64)
    new = objective.unpack(theta)
    if side == "rows":
        new.U[...] = x[:, :k]
        if biased:
            new.row_bias[...] = x[:, k]
    else:
        new.V[...] = x[:, :k]
        if biased:
            new.col_bias[...] = x[:, k]
    return theta


def als(
    objective: MFObjective,
    theta0: np.ndarray,
    n_sweeps: int,
    *,
    rtol: float | None = None,
    callback: Callable[[int, np.ndarray, float], bool | None] | None = None,
) -> OptimResult:
    """Alternating least squares: ``n_sweeps`` sweeps of rows then columns.

    Parameters
    ----------
    objective : MFObjective
        Any conventions (sum or mean, half, uniform or count weights, plain or biased).
    theta0 : ndarray
        Starting parameters; only the column block matters for the first half-sweep.
    n_sweeps : int
        Maximum number of sweeps.
    rtol : float, optional
        Stop (status ``converged``) when a sweep lowers the loss by less than
        ``rtol * loss``.
    callback : callable, optional
        ``callback(sweep, theta, loss)`` after each sweep; returning True stops.

    Returns
    -------
    OptimResult
        ``losses[t]`` and ``grad_norms[t]`` after ``t`` sweeps (``t = 0`` is ``theta0``),
        ``snapshots`` holding the parameters after every sweep.
    """
    theta = objective._check_theta(theta0).copy()
    if isinstance(n_sweeps, bool) or not isinstance(n_sweeps, (int, np.integer)) or n_sweeps < 0:
        raise ValueError(f"n_sweeps must be an integer >= 0, got {n_sweeps!r}")
    start = time.perf_counter()
    loss, grad = objective.loss_grad(theta)
    losses, gnorms, snaps = [loss], [float(np.linalg.norm(grad))], [theta.copy()]
    status, message = "completed", f"performed {n_sweeps} sweeps"
    for sweep in range(1, n_sweeps + 1):
        theta = als_half_sweep(objective, theta, "rows")
        theta = als_half_sweep(objective, theta, "cols")
        loss, grad = objective.loss_grad(theta)
        losses.append(loss)
        gnorms.append(float(np.linalg.norm(grad)))
        snaps.append(theta.copy())
        if rtol is not None and losses[-2] - loss <= rtol * abs(loss):
            status, message = "converged", f"relative decrease below {rtol:g} after {sweep} sweeps"
            break
        if callback is not None and callback(sweep, theta, loss):
            status, message = "stopped", f"callback stopped the run after {sweep} sweeps"
            break
    return OptimResult(
        x=theta,
        fun=float(losses[-1]),
        losses=np.array(losses),
        grad_norms=np.array(gnorms),
        snapshots=np.array(snaps),
        snapshot_steps=np.arange(len(losses)),
        n_steps=len(losses) - 1,
        wall_time=time.perf_counter() - start,
        status=status,
        message=message,
        optimizer="ALS",
    )
