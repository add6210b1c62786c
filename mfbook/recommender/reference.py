"""Plain Python-loop reference implementations of the latent factor solvers.

The textbook algorithms written one rating, one batch or one row at a time, as a course
project would write them: slow on purpose and easy to read.  They exist to check the
compiled solvers of :class:`~mfbook.recommender.MatrixFactorization`, which must give the
same parameters from the same random stream (to 1e-10 in the chapter 3 benchmark, 1e-12 in
the tests), and to measure how much faster those are.  Do not use them to fit models.

Their defaults are the book's plain model (``biased=False``, uniform penalty weights, no
clipping), not the estimator's first-recommender defaults: pass every setting explicitly to
both when comparing them.
"""

from __future__ import annotations

import numpy as np

from ..core import Ratings, rmse

__all__ = ["loop_penalty", "loop_rmse", "loop_stochastic", "loop_als"]


def loop_penalty(train: Ratings, reg: float, reg_bias: float, weighting: str,
                 placement: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Coefficients :math:`c` per user and per item (factors, then biases) such that a step
    adds :math:`2c\\,x` to the gradient of the row :math:`x`.

    ``weighting`` is ``"uniform"`` or ``"count"`` (ALS-WR), ``placement`` ``"rows"``
    (penalize the rows a rating touches, scaled so that one epoch applies the global penalty
    once) or ``"all"`` (every row at every step, scaled by :math:`1/N`).
    """
    n_row = train.row_counts().astype(float)
    n_col = train.col_counts().astype(float)
    w_row, w_col = (n_row, n_col) if weighting == "count" else (np.ones_like(n_row), np.ones_like(n_col))
    if placement == "rows":
        s_row, s_col = w_row / n_row, w_col / n_col
    else:
        s_row, s_col = w_row / train.nnz, w_col / train.nnz
    return reg * s_row, reg * s_col, reg_bias * s_row, reg_bias * s_col


def loop_rmse(U: np.ndarray, V: np.ndarray, b: np.ndarray, c: np.ndarray, mu: float,
              R: Ratings, clip: tuple[float, float] | None) -> float:
    """RMSE on ``R``, vectorized as in the project (only the training loops are plain)."""
    pred = np.einsum("nk,nk->n", U[R.rows], V[R.cols]) + mu + b[R.rows] + c[R.cols]
    if clip is not None:
        pred = np.clip(pred, *clip)
    return rmse(pred, R)


def _start(train: Ratings, rank: int, biased: bool, random_state: int):
    """The estimator's starting point: factors :math:`\\mathcal N(0, 0.1^2)` (users, then
    items) from ``default_rng(random_state)``, zero biases, and :math:`\\mu` the training
    mean (0 for the plain model).  The generator is returned to continue the stream."""
    rng = np.random.default_rng(random_state)
    m, n = train.shape
    U = rng.normal(0, 0.1, (m, rank))
    V = rng.normal(0, 0.1, (n, rank))
    mu = train.mean() if biased else 0.0
    return rng, U, V, np.zeros(m), np.zeros(n), mu


def loop_stochastic(train: Ratings, valid: Ratings | None = None, *, rank: int, solver: str,
                    biased: bool = False, reg: float = 0.0, reg_bias: float | None = None,
                    reg_weighting: str = "uniform", penalty: str = "rows", lr: float = 0.01,
                    n_epochs: int = 20, batch_size: int | None = None, momentum: float = 0.0,
                    beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                    clip: tuple[float, float] | None = None, random_state: int = 0,
                    lr_decay: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """SGD, mini-batch SGD (heavy ball) and Adam as textbook loops over ratings.

    Same hyper-parameters, same random stream and same updates as
    :class:`~mfbook.recommender.MatrixFactorization` with ``solver`` in ``"sgd"``,
    ``"minibatch"``, ``"adam"``: factors drawn :math:`\\mathcal N(0, 0.1^2)` (users, then
    items), then one permutation of the ratings per epoch; each batch ``B`` steps along

    .. math::
        \\frac{1}{|B|}\\sum_{(i,j)\\in B} \\nabla e_{ij}^2 + (\\text{penalty gradient}),

    with the penalty on the rows the batch touches (``penalty="rows"``) or on every row
    (``"all"``).  Returns the final parameter vector (layout of
    :class:`~mfbook.core.MFObjective`) and the validation RMSE after each epoch (empty
    without ``valid``).
    """
    rng, U, V, b, c, mu = _start(train, rank, biased, random_state)
    pu, pv, pb, pc = loop_penalty(train, reg, reg if reg_bias is None else reg_bias,
                                  reg_weighting, penalty)
    batch = 1 if solver == "sgd" else batch_size
    params = [U, V, b, c]
    vel = [np.zeros_like(x) for x in params]
    sec = [np.zeros_like(x) for x in params]
    t_adam = 0
    history = []
    for epoch in range(n_epochs):
        eta = lr * lr_decay**epoch
        order = rng.permutation(train.nnz)
        for start in range(0, train.nnz, batch):
            idx = order[start:start + batch]
            g = [np.zeros_like(x) for x in params]
            for p in idx:
                i, j = train.rows[p], train.cols[p]
                e = train.values[p] - (U[i] @ V[j] + (mu + b[i] + c[j] if biased else 0.0))
                g[0][i] += -2 * e * V[j]
                g[1][j] += -2 * e * U[i]
                if biased:
                    g[2][i] += -2 * e
                    g[3][j] += -2 * e
                if penalty == "rows":
                    g[0][i] += 2 * pu[i] * U[i]
                    g[1][j] += 2 * pv[j] * V[j]
                    if biased:
                        g[2][i] += 2 * pb[i] * b[i]
                        g[3][j] += 2 * pc[j] * c[j]
            g = [x / len(idx) for x in g]
            if penalty == "all":
                g[0] += 2 * pu[:, None] * U
                g[1] += 2 * pv[:, None] * V
                g[2] += 2 * pb * b
                g[3] += 2 * pc * c
            t_adam += 1
            for x, gx, vx, sx in zip(params, g, vel, sec):
                if solver == "adam":
                    vx[...] = beta1 * vx + (1 - beta1) * gx
                    sx[...] = beta2 * sx + (1 - beta2) * gx * gx
                    x -= eta * (vx / (1 - beta1**t_adam)) / (np.sqrt(sx / (1 - beta2**t_adam)) + eps)
                else:
                    vx[...] = momentum * vx - eta * gx
                    x += vx
        if valid is not None:
            history.append(loop_rmse(U, V, b, c, mu, valid, clip))
    theta = np.concatenate([U.ravel(), V.ravel()] + ([b, c] if biased else []))
    return theta, np.array(history)


def loop_als(train: Ratings, valid: Ratings | None = None, *, rank: int, biased: bool = False,
             reg: float = 0.0, reg_bias: float | None = None, reg_weighting: str = "uniform",
             n_epochs: int = 20, clip: tuple[float, float] | None = None, random_state: int = 0,
             **_: object) -> tuple[np.ndarray, np.ndarray]:
    """ALS as the textbook loop: one regularized least-squares solve per user, then per item.

    Each row :math:`i` solves :math:`(A^\\top A + D_i)\\,x_i = A^\\top y_i` with :math:`A` the
    factors (and a column of ones in the biased model) of the entries it observed and
    :math:`D_i` the penalty (times :math:`n_i` for ``reg_weighting="count"``).  Returns the
    final parameters and the validation RMSE after each sweep (empty without ``valid``).
    """
    rng, U, V, b, c, mu = _start(train, rank, biased, random_state)
    reg_bias = reg if reg_bias is None else reg_bias
    R, mask = train.to_dense(fill=0.0), train.mask()
    history = []
    for _sweep in range(n_epochs):
        for side in ("rows", "cols"):
            X, B_, F, Fb = (U, b, V, c) if side == "rows" else (V, c, U, b)
            for i in range(X.shape[0]):
                obs = np.where(mask[i] if side == "rows" else mask[:, i])[0]
                y = (R[i, obs] if side == "rows" else R[obs, i]) - (mu + Fb[obs] if biased else 0.0)
                A = np.hstack([F[obs], np.ones((len(obs), 1))]) if biased else F[obs]
                w = len(obs) if reg_weighting == "count" else 1.0
                D = np.diag([reg * w] * rank + ([reg_bias * w] if biased else []))
                x = np.linalg.solve(A.T @ A + D, A.T @ y)
                X[i] = x[:rank]
                if biased:
                    B_[i] = x[rank]
        if valid is not None:
            history.append(loop_rmse(U, V, b, c, mu, valid, clip))
    theta = np.concatenate([U.ravel(), V.ravel()] + ([b, c] if biased else []))
    return theta, np.array(history)
