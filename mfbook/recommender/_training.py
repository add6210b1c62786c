"""The epoch loop of :class:`~mfbook.recommender.MatrixFactorization`.

:func:`run_epochs` runs the epochs of one solver and decides when to stop; it evaluates
only what was asked for:

* the objective :math:`L` and the training RMSE, one pass over the training ratings, when
  ``monitor=True`` or when the ``tol`` convergence test needs :math:`L`;
* the validation RMSE when validation data are given (early stopping needs it);
* otherwise, for the divergence rule alone, an estimate of :math:`L` from a fixed, evenly
  spaced subset of at most :data:`GUARD_SAMPLE` training ratings (all of them on smaller
  problems, where the estimate is exact) plus the full penalty, which costs a small
  fraction of an epoch.

Every epoch ends with :class:`~mfbook.core.DivergenceGuard`'s rule: a non-finite objective,
or one above :data:`~mfbook.core.DIVERGENCE_FACTOR` times its value at the starting point,
raises :class:`~mfbook.core.DivergenceError` naming the solver, the epoch (the guard's
"step") and the learning rate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..core import DivergenceGuard, MFObjective, progress_bar
from ._params import Resolved
from ._solvers import EpochFunction

__all__ = ["GUARD_SAMPLE", "TrainResult", "Evaluator", "run_epochs"]

GUARD_SAMPLE = 10_000
"""Most training ratings that the divergence estimate of the objective reads per epoch."""

_DESC = {"sgd": "SGD", "minibatch": "mini-batch", "adam": "Adam", "als": "ALS"}
_EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))


@dataclass
class TrainResult:
    """What :func:`run_epochs` returns: final parameters and the per-epoch record."""

    theta: np.ndarray
    history: dict[str, np.ndarray]
    n_epochs: int
    best_epoch: int | None
    stopped_early: bool
    converged: bool
    fit_time: float


class Evaluator:
    """Per-epoch quantities of one fit, each computed only if needed.

    Parameters
    ----------
    objective : MFObjective
        The training objective (sum form).
    clip : (float, float) or None
        Range the RMSEs clip predictions to.
    full : bool
        Compute :math:`L` and the training RMSE exactly every epoch.
    valid : (rows, cols, values) or None
        Validation pairs whose users and items all have training ratings.
    valid_rmse : callable or None
        ``valid_rmse(theta)`` for validation data that need the cold-start rule.
    """

    def __init__(self, objective: MFObjective, clip: tuple[float, float] | None, full: bool,
                 valid: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
                 valid_rmse: Callable[[np.ndarray], float] | None) -> None:
        R = objective.ratings
        w = np.concatenate([objective.row_weights, objective.col_weights])
        k = objective.rank
        self.penalty_weights = np.concatenate(
            [np.repeat(objective.reg * w, k)]
            + ([objective.reg_bias * w] if objective.biased else []))
        self.args = (objective.shape[0], objective.shape[1], k, objective.biased,
                     float(objective.mu))
        self.clip = clip
        self.full = full
        self.train = (np.array(R.rows), np.array(R.cols), np.array(R.values))
        N = R.nnz
        pick = np.unique(np.linspace(0, N - 1, min(N, GUARD_SAMPLE)).astype(np.int64))
        self.sample = tuple(np.ascontiguousarray(a[pick]) for a in self.train)
        self.sample_scale = N / len(pick)
        self.valid = valid
        self.valid_rmse = valid_rmse

    def __call__(self, theta: np.ndarray) -> dict[str, float]:
        """``{"loss" or "loss_estimate": ..., "train_rmse", "valid_rmse"}`` at ``theta``."""
        from ._kernels import evaluate

        clip = self.clip is not None
        lo, hi = self.clip if clip else (0.0, 0.0)
        out: dict[str, float] = {}
        sse_valid = np.nan
        if self.full:
            vdata = self.valid if self.valid is not None else _EMPTY
            total, sse_clipped, sse_valid = evaluate(
                theta, *self.args, self.penalty_weights, *self.train, *vdata, clip, lo, hi)
            out["loss"] = float(total)
            out["train_rmse"] = float(np.sqrt(sse_clipped / len(self.train[2])))
        else:
            # Unclipped: evaluate() returns SSE + penalty and the SSE alone.
            total, sse, _ = evaluate(theta, *self.args, self.penalty_weights, *self.sample,
                                     *_EMPTY, False, 0.0, 0.0)
            out["loss_estimate"] = float(total - sse + self.sample_scale * sse)
            if self.valid is not None:
                _, _, sse_valid = evaluate(theta, *self.args, self.penalty_weights, *_EMPTY,
                                           *self.valid, clip, lo, hi)
        if self.valid is not None:
            out["valid_rmse"] = float(np.sqrt(sse_valid / len(self.valid[2])))
        elif self.valid_rmse is not None:
            out["valid_rmse"] = float(self.valid_rmse(theta))
        return out


def run_epochs(p: Resolved, theta: np.ndarray, step: EpochFunction, evaluate: Evaluator,
               rng: np.random.Generator, *, early_stopping: bool, n_iter_no_change: int,
               min_delta: float, progress: bool | None) -> TrainResult:
    """Run up to ``p.n_epochs`` epochs of ``step`` from ``theta``.

    Stops early (validation RMSE not improved by more than ``min_delta`` for
    ``n_iter_no_change`` epochs; the best epoch's parameters are restored) or at
    convergence (an epoch lowers :math:`L` by at most ``p.tol`` times its value).
    """
    has_valid = evaluate.valid is not None or evaluate.valid_rmse is not None
    keys = ["epoch", "lr", "time"] + (["loss", "train_rmse"] if evaluate.full else []) \
        + (["valid_rmse"] if has_valid else [])
    hist: dict[str, list[float]] = {key: [] for key in keys}
    guard = DivergenceGuard(f"MatrixFactorization(solver={p.solver!r})")

    def record(epoch: int, lr: float, elapsed: float, values: dict[str, float]) -> None:
        hist["epoch"].append(epoch)
        hist["lr"].append(lr)
        hist["time"].append(elapsed)
        for key in keys[3:]:
            hist[key].append(values[key])

    values = evaluate(theta)
    guard.start(values.get("loss", values.get("loss_estimate")))
    record(0, np.nan, 0.0, values)
    best = (values.get("valid_rmse", np.inf), 0, theta.copy())
    wait, stopped, converged, elapsed = 0, False, False, 0.0
    stochastic = p.solver != "als"
    prev_loss = values.get("loss")
    with progress_bar(p.n_epochs, _DESC[p.solver], progress) as bar:
        for epoch in range(1, p.n_epochs + 1):
            lr = p.lr * p.lr_decay ** (epoch - 1)
            start = time.perf_counter()
            theta = step(theta, rng, lr)
            elapsed += time.perf_counter() - start
            values = evaluate(theta)
            loss = values.get("loss", values.get("loss_estimate"))
            guard.check(loss, step=epoch, lr=lr if stochastic else None)
            record(epoch, lr if stochastic else np.nan, elapsed, values)
            bar.update(**{k: v for k, v in values.items() if k.endswith("rmse")})
            if has_valid:
                if values["valid_rmse"] < best[0] - min_delta:
                    best = (values["valid_rmse"], epoch, theta.copy())
                    wait = 0
                else:
                    wait += 1
                if early_stopping and wait >= n_iter_no_change:
                    stopped = True
                    break
            if p.tol is not None and prev_loss - loss <= p.tol * abs(loss):
                converged = True
                break
            prev_loss = loss
    history = {key: np.asarray(v, dtype=np.float64) for key, v in hist.items()}
    history["epoch"] = history["epoch"].astype(int)
    n_done = int(history["epoch"][-1])
    if early_stopping and best[1] != n_done:
        theta = best[2]
    return TrainResult(theta=theta, history=history, n_epochs=n_done,
                       best_epoch=best[1] if has_valid else None, stopped_early=stopped,
                       converged=converged, fit_time=elapsed)
