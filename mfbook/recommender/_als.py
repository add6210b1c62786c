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

**Conjugate gradients** (``solve="cg"``).  Instead of forming and factorizing each row's
matrix, ``cg_steps`` steps of conjugate gradients, preconditioned by its diagonal and started
from the row's current parameters, run through the row's entries only
(``_als_cg_kernels.als_rows_cg``, the route of Takacs, Pilaszy and Tikk for implicit
feedback): about :math:`4|\\Omega|\\kappa` flops per side and step (:func:`cg_sweep_flops`)
instead of :math:`|\\Omega|\\kappa^2`.  Each step lowers the row's quadratic, so the loss
still never increases (tested); the half-sweep is no longer the exact block minimizer, but
warm-started from the previous sweep a few steps come close: on the ML-100K-sized problem of
``benchmarks/ch03_parallel.py`` (rank 50), three steps give the test RMSE of exact ALS
within its seed-to-seed spread at about a quarter of the flops.  The same threads, the
same bit-identity for every ``n_jobs``.

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

__all__ = ["als", "als_half_sweep", "sweep_flops", "cg_sweep_flops", "ALS_SOLVES",
           "DEFAULT_CG_STEPS"]

ALS_SOLVES = ("cholesky", "cg")
"""How a half-sweep solves its row systems: exactly, or by a few conjugate-gradient steps."""

DEFAULT_CG_STEPS = 3
"""Conjugate-gradient steps per row and half-sweep of ``solve="cg"`` (measured in
``benchmarks/ch03_parallel.py``: three steps give the test RMSE of exact ALS on the
ML-100K-sized problem, two lose a little)."""


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


def cg_sweep_flops(objective: MFObjective, side: str, cg_steps: int = DEFAULT_CG_STEPS) -> float:
    """Floating-point operations of one conjugate-gradient half-sweep (``solve="cg"``) of
    ``side``, as the kernel does them (``_als_cg_kernels.als_rows_cg``).

    With :math:`\\kappa` unknowns per row and :math:`\\kappa_8` that number rounded up to a
    multiple of 8 (the padded feature table): per entry, :math:`2\\kappa` for the product
    :math:`Q_i p` (or :math:`Q_i x_0`) of each pass and :math:`2\\kappa_8` for
    :math:`Q_i^\\top w` (plus :math:`2\\kappa_8` for the diagonal in the first pass, 2
    for :math:`\\lVert w \\rVert^2` in the last); per row and step, about
    :math:`12\\kappa` for the vector updates.  Rows that stop early (converged) do fewer;
    the count assumes none does.
    """
    from ._als_cg_kernels import padded_width

    c = check_cg_steps(cg_steps)
    kk = objective.rank + objective.biased
    kp = padded_width(kk)
    n_rows = objective.shape[0] if side == "rows" else objective.shape[1]
    per_entry = (2 * kk + 4 * kp) + (c - 1) * (2 * kk + 2 * kp) + (2 * kk + 2)
    per_row = 8 * kk + (c - 1) * 12 * kk + 4 * kk
    return float(objective.ratings.nnz * per_entry + n_rows * per_row)


def check_cg_steps(cg_steps: int) -> int:
    """``cg_steps`` as an int; ValueError naming it unless it is an integer >= 1."""
    if isinstance(cg_steps, (bool, np.bool_)) or not isinstance(cg_steps, (int, np.integer)) \
            or cg_steps < 1:
        raise ValueError(f"cg_steps must be an integer >= 1, got {cg_steps!r}")
    return int(cg_steps)


def check_solve(solve: str) -> str:
    """``solve`` if it is one of :data:`ALS_SOLVES`; ValueError naming it otherwise."""
    if not isinstance(solve, str) or solve not in ALS_SOLVES:
        raise ValueError(f"solve must be one of {ALS_SOLVES}, got {solve!r}")
    return solve


# Below this many flops a half-sweep runs on one thread (about 0.2 ms of work here, a few
# times what handing work to another thread and waiting for it costs).
PARALLEL_MIN_FLOPS = 2e6


def _row_bounds(objective: MFObjective, side: str, n_threads: int,
                cg_steps: int | None = None) -> np.ndarray:
    """Boundaries of ``n_threads`` contiguous row ranges of about equal work (cached), for
    the Cholesky kernel or (``cg_steps`` given) the conjugate-gradient one."""
    cache = _PATTERNS.setdefault(objective, {})
    key = ("bounds", side, n_threads) if cg_steps is None else ("bounds", side, n_threads,
                                                                 cg_steps)
    if key not in cache:
        kk = objective.rank + objective.biased
        counts = np.diff(_pattern(objective, side)[1])
        if cg_steps is None:
            cost = counts * (kk * (kk + 1) + 2 * kk) + kk ** 3 / 3 + 2 * kk ** 2
        else:
            cost = counts * (4 * cg_steps + 4) * kk + 12 * cg_steps * kk
        cache[key] = balanced_bounds(cost, n_threads)
    return cache[key]


def als_half_sweep(objective: MFObjective, theta: np.ndarray, side: str, *,
                   n_jobs: int | None = None, solve: str = "cholesky",
                   cg_steps: int = DEFAULT_CG_STEPS) -> np.ndarray:
    """Return ``theta`` with the row block (``side="rows"``) or column block minimized,
    exactly (``solve="cholesky"``) or approximately by conjugate gradients (``"cg"``).

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
    solve : {"cholesky", "cg"}, default="cholesky"
        ``"cholesky"``: form each row's normal equations and solve them exactly.
        ``"cg"``: ``cg_steps`` steps of conjugate gradients on each row's system, started
        from the row's current parameters, preconditioned by the diagonal, without forming
        the :math:`\\kappa \\times \\kappa` matrix: a step costs :math:`O(n_i \\kappa)`
        instead of the :math:`O(n_i \\kappa^2 + \\kappa^3)` of the exact solve (Notes).
    cg_steps : int, default=3
        Conjugate-gradient steps per row (``solve="cg"`` only); :math:`\\kappa` steps
        solve exactly, up to rounding.

    Raises
    ------
    ValueError
        If ``side`` is not ``"rows"`` or ``"cols"``, ``theta`` has the wrong size,
        ``n_jobs`` is 0, ``solve`` is unknown or ``cg_steps`` is not an integer >= 1.
    TypeError
        If ``n_jobs`` is not an integer or None.

    Notes
    -----
    Conjugate gradients (CG) in place of the exact solve is the route of Takacs, Pilaszy
    and Tikk (2011) for implicit-feedback ALS (Hu, Koren and Volinsky, 2008), applied here
    to explicit ratings: each CG step from the current parameters lowers the row's
    quadratic (CG minimizes it over a growing Krylov space that contains the start), so a
    CG half-sweep never raises the objective, and the sweeps still converge; a few steps
    per half-sweep suffice because the parameters change little from one sweep to the next.
    """
    if side not in ("rows", "cols"):
        raise ValueError(f"side must be 'rows' or 'cols', got {side!r}")
    solve = check_solve(solve)
    n_threads = resolve_n_jobs(n_jobs)
    if solve == "cg":
        return _cg_half_sweep(objective, theta, side, n_threads, check_cg_steps(cg_steps))
    check_cg_steps(cg_steps)
    from ._als_kernels import als_rows   # numba is imported on first use only

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


def _cg_half_sweep(objective: MFObjective, theta: np.ndarray, side: str, n_threads: int,
                   cg_steps: int) -> np.ndarray:
    """The half-sweep of ``solve="cg"`` (arguments checked)."""
    from ._als_cg_kernels import als_rows_cg, feature_table, padded_width

    theta = np.array(objective.check_theta(theta), dtype=np.float64)
    m, n = objective.shape
    k = objective.rank
    _, indptr, other, vals = _pattern(objective, side)
    weights = objective.row_weights if side == "rows" else objective.col_weights
    n_rows = len(indptr) - 1
    users = side == "rows"
    if n_threads > 1 and cg_sweep_flops(objective, side, cg_steps) >= PARALLEL_MIN_FLOPS:
        bounds = _row_bounds(objective, side, n_threads, cg_steps)
    else:
        bounds = np.array([0, n_rows], dtype=np.int64)
    F = feature_table(theta, m, n, k, objective.biased, users,
                      padded_width(k + objective.biased))
    args = (theta, F, m, n, k, objective.biased, objective.mu, objective.error_scale,
            objective.reg, objective.reg_bias, weights, indptr, other, vals, users)
    tasks = [args + (int(lo), int(hi), cg_steps) for lo, hi in zip(bounds[:-1], bounds[1:])]
    with blas_guard(len(tasks)):
        run_tasks(als_rows_cg, tasks)
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
    solve: str = "cholesky",
    cg_steps: int = DEFAULT_CG_STEPS,
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
    solve : {"cholesky", "cg"}, default="cholesky"
        How each half-sweep solves its rows: exactly, or by ``cg_steps`` warm-started
        conjugate-gradient steps (:func:`als_half_sweep`).  Both never raise the loss.
    cg_steps : int, default=3
        Conjugate-gradient steps per row and half-sweep (``solve="cg"`` only).

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
    solve = check_solve(solve)
    cg_steps = check_cg_steps(cg_steps)
    with one_blas_thread():
        return _als_loop(objective, theta, n_sweeps, rtol, callback, n_threads, solve,
                         cg_steps)


def _als_loop(objective: MFObjective, theta: np.ndarray, n_sweeps: int, rtol: float | None,
              callback: Callable[[int, np.ndarray, float], bool | None] | None,
              n_threads: int, solve: str = "cholesky",
              cg_steps: int = DEFAULT_CG_STEPS) -> OptimResult:
    start = time.perf_counter()
    loss, grad = objective.loss_grad(theta)
    losses, gnorms, snaps = [loss], [float(np.linalg.norm(grad))], [theta.copy()]
    status, message = "completed", f"performed {n_sweeps} sweeps"
    for sweep in range(1, n_sweeps + 1):
        theta = als_half_sweep(objective, theta, "rows", n_jobs=n_threads, solve=solve,
                               cg_steps=cg_steps)
        theta = als_half_sweep(objective, theta, "cols", n_jobs=n_threads, solve=solve,
                               cg_steps=cg_steps)
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
        optimizer="ALS" if solve == "cholesky" else f"ALS-CG({cg_steps})",
    )
