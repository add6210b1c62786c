"""One epoch of each solver of :class:`~mfbook.recommender.MatrixFactorization`.

:func:`epoch_function` returns a function ``step(theta, rng, lr) -> theta`` that runs one
epoch: a shuffled pass of per-sample SGD, of mini-batch steps (plain, heavy ball or Adam),
or one ALS sweep (users, then items).  The stochastic solvers follow unbiased estimates of
:math:`\\nabla L / N`; their penalty coefficients per row are computed here once per fit
(:func:`penalty_coefficients`), the compiled loops live in ``_kernels``.

Random draws: each stochastic epoch on one thread draws one permutation of the training
ratings from ``rng``; per-sample SGD on ``n_jobs > 1`` threads draws its block schedule
instead (``_dsgd.sgd_epoch_blocks``: a permutation of the strata, then one seed per block);
ALS draws nothing.

Threads (``n_jobs``): an ALS half-sweep solves its rows on several threads with
bit-identical results; per-sample SGD on ``p > 1`` threads follows the block schedule of
DSGD, a different visiting order, so its model differs from the one-thread model but is the
same for the same seed and the same ``p``; mini-batch and Adam run on one thread.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core import MFObjective, Ratings
from ._als import als_half_sweep
from ._params import Resolved

__all__ = ["EpochFunction", "epoch_function", "penalty_coefficients"]

EpochFunction = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]


def penalty_coefficients(p: Resolved, train: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """Per row of :math:`U` then :math:`V`: the coefficients :math:`c` with which a
    stochastic step adds :math:`2c\\,x` to the gradient of that row's factors (first
    array) and of its bias (second).

    ``penalty="rows"``: :math:`c_i = \\lambda w_i / n_i` on the rows a rating touches (0 for
    rows without ratings, which never move); ``penalty="all"``: :math:`c_i = \\lambda w_i / N`
    on every row at every step.
    """
    m, n = train.shape
    counts = np.concatenate([train.row_counts(), train.col_counts()]).astype(np.float64)
    weights = counts if p.reg_weighting == "count" else np.ones(m + n)
    if p.penalty == "rows":
        share = np.divide(weights, counts, out=np.zeros(m + n), where=counts > 0)
    else:
        share = weights / train.nnz
    return p.reg * share, p.reg_bias * share


def _als_epoch(objective: MFObjective, n_jobs: int, solve: str = "cholesky",
               cg_steps: int = 3) -> EpochFunction:
    def step(theta: np.ndarray, rng: np.random.Generator, lr: float) -> np.ndarray:
        theta = als_half_sweep(objective, theta, "rows", n_jobs=n_jobs, solve=solve,
                               cg_steps=cg_steps)
        return als_half_sweep(objective, theta, "cols", n_jobs=n_jobs, solve=solve,
                              cg_steps=cg_steps)
    return step


def _stochastic_epoch(p: Resolved, train: Ratings, mu: float, dim: int,
                      n_jobs: int) -> EpochFunction:
    from . import _kernels   # numba is imported on first use only

    m, n = train.shape
    k = p.rank
    pen, pen_bias = penalty_coefficients(p, train)
    all_rows = p.penalty == "all"
    N = train.nnz
    rows_all, cols_all, vals_all = train.rows, train.cols, train.values

    def shuffled(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = rng.permutation(N)
        return rows_all[order], cols_all[order], vals_all[order]

    if p.solver == "sgd":
        from ._dsgd import sgd_epoch_blocks

        last = np.zeros(m + n, dtype=np.int64)

        def epoch_sgd(theta: np.ndarray, rng: np.random.Generator, lr: float) -> np.ndarray:
            if n_jobs == 1:
                rows, cols, vals = shuffled(rng)
                _kernels.sgd_epoch(rows, cols, vals, theta, m, k, p.biased, mu, lr,
                                   pen, pen_bias, all_rows, last)
            else:
                # The block schedule shuffles within blocks itself: a global permutation
                # would be a sequential pass as costly as the updates.
                sgd_epoch_blocks(rows_all, cols_all, vals_all, theta, m, k, p.biased, mu, lr,
                                 pen, pen_bias, all_rows, last, n_jobs=n_jobs,
                                 random_state=rng)
            return theta
        return epoch_sgd

    method = 2 if p.solver == "adam" else (1 if p.momentum > 0 else 0)
    grad = np.zeros(dim)
    mom = np.zeros(dim if method > 0 else 0)
    sec = np.zeros(dim if method == 2 else 0)
    mark = np.full(m + n, -1, dtype=np.int64)
    beta1 = p.momentum if method == 1 else p.beta1
    state = {"step": 0}

    def epoch_batch(theta: np.ndarray, rng: np.random.Generator, lr: float) -> np.ndarray:
        rows, cols, vals = shuffled(rng)
        state["step"] = _kernels.minibatch_epoch(
            rows, cols, vals, p.batch_size, theta, m, k, p.biased, mu, lr,
            pen, pen_bias, all_rows, method, beta1, p.beta2, p.eps,
            state["step"], grad, mom, sec, mark)
        return theta
    return epoch_batch


def epoch_function(p: Resolved, objective: MFObjective) -> EpochFunction:
    """The epoch of solver ``p.solver`` on ``objective`` (its ratings, penalty and mu)."""
    if p.solver == "als":
        return _als_epoch(objective, p.n_jobs, p.als_solve, p.cg_steps)
    return _stochastic_epoch(p, objective.ratings, float(objective.mu), objective.dim,
                             p.n_jobs)
