"""Alternating least squares for :class:`~mfbook.core.MFObjective`.

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

One half-sweep is one compiled loop over the rows (``_als_kernels.als_rows``): for each
row it accumulates the upper triangle of the :math:`k \\times k` system from the row's
observed entries (grouped by row and by column once per objective, and cached), adds the
penalty and solves by Cholesky, with no :math:`(|\\Omega|, k, k)` temporary and no per-row
Python overhead.  A row whose system is singular (possible only without a penalty on it,
with fewer entries than unknowns) gets the minimum-norm solution from the pseudo-inverse.
Cost of a sweep: :math:`2|\\Omega|\\,(k+1)(k+2)` flops for the two sides' triangles plus
:math:`(m + n)(k+1)^3/3` for the factorizations (biased model; :math:`k` for :math:`k + 1`
in the plain model).

**Threads.**  The rows of a half-sweep are independent given the other side, so
``n_jobs`` threads solve contiguous ranges of rows at once, the ranges cut so that each
holds about the same arithmetic.  Every row goes through the same operations whatever
the split, so the result is bit-identical for every ``n_jobs`` (tested); only a half-sweep
too small to pay for the threads (under ``PARALLEL_MIN_FLOPS`` flops) runs on
one.  While threads run, BLAS is pinned to one thread (``_threads.blas_guard``).

(Earlier versions formed the Gram matrices as one sparse product :math:`S P` and solved them
in one batched LAPACK call, then in a compiled loop over full matrices one rating at a
time.  Measured on one core: about 0.7 s, then 0.15-0.2 s, per sweep on the MovieLens-1M
shaped problem of chapter 3 (:math:`k = 20`, biased); ``benchmarks/ch03_parallel.py``
measures the current kernel against the machine's peak.)
"""

from __future__ import annotations

import time
import weakref
from typing import Callable

import numpy as np

from ..core import MFObjective, OptimResult, one_blas_thread
from ._threads import balanced_bounds, blas_guard, resolve_n_jobs, run_tasks

__all__ = ["als", "als_half_sweep", "sweep_flops"]


# The grouping of Omega by row and by column, per objective (its ratings are immutable).
_PATTERNS: "weakref.WeakKeyDictionary[MFObjective, dict]" = weakref.WeakKeyDictionary()


def _pattern(objective: MFObjective, side: str) -> tuple[np.ndarray, ...]:
    """``(order, indptr, other, values)``: the entries of ``objective.ratings`` grouped by
    row (``side="rows"``) or by column, as a CSR pattern; ``order`` maps CSR position to
    entry, ``other`` holds the column (row) indices and ``values`` the ratings."""
    cache = _PATTERNS.setdefault(objective, {})
    if side not in cache:
        R = objective.ratings
        m, n = objective.shape
        idx, other, n_self = (R.rows, R.cols, m) if side == "rows" else (R.cols, R.rows, n)
        order = np.argsort(idx, kind="stable")
        indptr = np.zeros(n_self + 1, dtype=np.int64)
        np.cumsum(np.bincount(idx, minlength=n_self), out=indptr[1:])
        cache[side] = (order, indptr, np.ascontiguousarray(other[order], dtype=np.int64),
                       np.ascontiguousarray(R.values[order]))
    return cache[side]


def sweep_flops(objective: MFObjective, side: str) -> float:
    """Floating-point operations of one half-sweep of ``side``, as the kernel does them.

    Per entry, the upper triangle of :math:`a a^\\top` and the right-hand side
    (:math:`\\kappa(\\kappa + 1) + 2\\kappa` flops, :math:`\\kappa` unknowns per row); per
    row, the scaling and penalty, the Cholesky factorization (:math:`\\kappa^3/3`) and the
    two triangular solves (:math:`2\\kappa^2`).
    """
    kk = objective.rank + objective.biased
    n_rows = objective.shape[0] if side == "rows" else objective.shape[1]
    per_row = kk ** 3 / 3 + 2 * kk ** 2 + kk * (kk + 1) / 2 + 2 * kk
    return float(objective.ratings.nnz * (kk * (kk + 1) + 2 * kk) + n_rows * per_row)


# Below this many flops a half-sweep runs on one thread (about 0.2 ms of work here, a few
# times what handing work to another thread and waiting for it costs).
PARALLEL_MIN_FLOPS = 2e6


def _row_bounds(objective: MFObjective, side: str, n_threads: int) -> np.ndarray:
    """Boundaries of ``n_threads`` contiguous row ranges of about equal work (cached)."""
    cache = _PATTERNS.setdefault(objective, {})
    key = ("bounds", side, n_threads)
    if key not in cache:
        kk = objective.rank + objective.biased
        counts = np.diff(_pattern(objective, side)[1])
        cost = counts * (kk * (kk + 1) + 2 * kk) + kk ** 3 / 3 + 2 * kk ** 2
        cache[key] = balanced_bounds(cost, n_threads)
    return cache[key]


def als_half_sweep(objective: MFObjective, theta: np.ndarray, side: str, *,
                   n_jobs: int | None = None) -> np.ndarray:
    """Return ``theta`` with the row block (``side="rows"``) or column block minimized exactly.

    Parameters
    ----------
    objective : MFObjective
        Any conventions (sum or mean, half, uniform or count weights, plain or biased).
    theta : ndarray
        Current parameters (not modified).
    side : {"rows", "cols"}
        The block to minimize over, given the other.
    n_jobs : int, optional
        Threads solving the rows (scikit-learn's meaning: None = 1, -1 = all cores).  The
        result is bit-identical for every value.

    Raises
    ------
    ValueError
        If ``side`` is not ``"rows"`` or ``"cols"``, ``theta`` has the wrong size, or
        ``n_jobs`` is 0.
    TypeError
        If ``n_jobs`` is not an integer or None.
    """
    from ._als_kernels import als_rows   # numba is imported on first use only

    if side not in ("rows", "cols"):
        raise ValueError(f"side must be 'rows' or 'cols', got {side!r}")
    n_threads = resolve_n_jobs(n_jobs)
    theta = np.array(objective.check_theta(theta), dtype=np.float64)
    m, n = objective.shape
    k = objective.rank
    order, indptr, other, vals = _pattern(objective, side)
    weights = objective.row_weights if side == "rows" else objective.col_weights
    n_rows = len(indptr) - 1
    if n_threads > 1 and sweep_flops(objective, side) >= PARALLEL_MIN_FLOPS:
        bounds = _row_bounds(objective, side, n_threads)
    else:
        bounds = np.array([0, n_rows], dtype=np.int64)
    failed = np.empty(n_rows, dtype=np.int64)
    args = (theta, m, n, k, objective.biased, objective.mu, objective.error_scale,
            objective.reg, objective.reg_bias, weights, indptr, other, vals, side == "rows")
    tasks = [args + (int(lo), int(hi), failed) for lo, hi in zip(bounds[:-1], bounds[1:])]
    with blas_guard(len(tasks)):
        counts = run_tasks(als_rows, tasks)
    bad = np.concatenate([failed[lo:lo + c] for lo, c in zip(bounds[:-1], counts)])
    if bad.size:
        _least_squares_rows(objective, theta, side, bad)
    return theta


def _least_squares_rows(objective: MFObjective, theta: np.ndarray, side: str,
                        index: np.ndarray) -> None:
    """Minimum-norm solutions (pseudo-inverse) of the singular block systems, in place.

    Only possible without a penalty on the row, for a row with fewer entries than unknowns.
    """
    order, indptr, other, vals = _pattern(objective, side)
    f = objective.unpack(theta)
    biased = objective.biased
    k = objective.rank
    if side == "rows":
        feats, own, own_bias, other_bias, weights = f.V, f.U, f.row_bias, f.col_bias, objective.row_weights
    else:
        feats, own, own_bias, other_bias, weights = f.U, f.V, f.col_bias, f.row_bias, objective.col_weights
    penalty = np.full(k + biased, objective.reg)
    if biased:
        penalty[-1] = objective.reg_bias
    for i in index:
        cols = other[indptr[i]:indptr[i + 1]]
        y = vals[indptr[i]:indptr[i + 1]]
        A = feats[cols]
        if biased:
            A = np.hstack([A, np.ones((len(cols), 1))])
            y = y - objective.mu - other_bias[cols]
        G = objective.error_scale * (A.T @ A) + np.diag(weights[i] * penalty)
        x = np.linalg.pinv(G) @ (objective.error_scale * (A.T @ y))
        own[i] = x[:k]
        if biased:
            own_bias[i] = x[k]


def als(
    objective: MFObjective,
    theta0: np.ndarray,
    n_sweeps: int,
    *,
    rtol: float | None = None,
    callback: Callable[[int, np.ndarray, float], bool | None] | None = None,
    n_jobs: int | None = None,
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
    n_jobs : int, optional
        Threads of each half-sweep (scikit-learn's meaning: None = 1, -1 = all cores).
        The result (parameters, losses, gradient norms) is bit-identical for every value:
        BLAS is pinned to one thread for the whole run, so that its threads neither
        compete with the solver's nor change the rounding of the loss and gradient
        computed between sweeps (a multi-threaded BLAS sums in another order).

    Returns
    -------
    OptimResult
        ``losses[t]`` and ``grad_norms[t]`` after ``t`` sweeps (``t = 0`` is ``theta0``),
        ``snapshots`` holding the parameters after every sweep.
    """
    theta = objective.check_theta(theta0).copy()
    if isinstance(n_sweeps, bool) or not isinstance(n_sweeps, (int, np.integer)) or n_sweeps < 0:
        raise ValueError(f"n_sweeps must be an integer >= 0, got {n_sweeps!r}")
    n_threads = resolve_n_jobs(n_jobs)
    with one_blas_thread():
        return _als_loop(objective, theta, n_sweeps, rtol, callback, n_threads)


def _als_loop(objective: MFObjective, theta: np.ndarray, n_sweeps: int, rtol: float | None,
              callback: Callable[[int, np.ndarray, float], bool | None] | None,
              n_threads: int) -> OptimResult:
    start = time.perf_counter()
    loss, grad = objective.loss_grad(theta)
    losses, gnorms, snaps = [loss], [float(np.linalg.norm(grad))], [theta.copy()]
    status, message = "completed", f"performed {n_sweeps} sweeps"
    for sweep in range(1, n_sweeps + 1):
        theta = als_half_sweep(objective, theta, "rows", n_jobs=n_threads)
        theta = als_half_sweep(objective, theta, "cols", n_jobs=n_threads)
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
