"""The training loop of the first-order optimizers, and the record of a run.

:func:`descend` runs an :class:`~mfbook.core.Optimizer` on any ``fun(x) -> (loss, grad)``
and returns an :class:`OptimResult` with everything the chapters plot: loss and
gradient-norm histories, parameter snapshots and wall time.  (It is not called
``minimize`` so that it never shadows :func:`scipy.optimize.minimize`, which the package
also uses.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

from ._optimizers import Optimizer
from ._validation import DivergenceError

__all__ = ["OptimResult", "descend", "LossGrad"]

LossGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass
class OptimResult:
    """The record of one optimization run.

    Attributes
    ----------
    x : ndarray
        Final parameters (the last iterate with a finite loss if the run diverged).
    fun : float
        Loss at ``x``.
    losses, grad_norms : ndarray, shape (n_steps + 1,)
        :math:`L(x_t)` and :math:`\\|\\nabla L(x_t)\\|_2` for :math:`t = 0..` ``n_steps``.
    snapshots : ndarray, shape (S, d)
        :math:`x_t` at the steps in ``snapshot_steps`` (every ``snapshot_every`` steps,
        plus the first and last iterate).
    snapshot_steps : ndarray of int, shape (S,)
    n_steps : int
        Number of updates performed.
    wall_time : float
        Seconds spent in the loop (evaluations and updates).
    status : {"completed", "converged", "stopped", "diverged"}
        ``completed``: all steps done; ``converged``: gradient norm fell below ``gtol``;
        ``stopped``: the callback asked to stop; ``diverged``: a non-finite loss or
        gradient appeared.
    message : str
    optimizer : str
        ``repr`` of the optimizer used.
    """

    x: np.ndarray
    fun: float
    losses: np.ndarray
    grad_norms: np.ndarray
    snapshots: np.ndarray
    snapshot_steps: np.ndarray
    n_steps: int
    wall_time: float
    status: str
    message: str
    optimizer: str = field(default="")

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"


def descend(
    fun: LossGrad,
    x0: np.ndarray,
    optimizer: Optimizer,
    n_steps: int,
    *,
    snapshot_every: int | None = None,
    gtol: float | None = None,
    callback: Callable[[int, np.ndarray, float, np.ndarray], bool | None] | None = None,
    on_divergence: Literal["raise", "stop"] = "raise",
) -> OptimResult:
    """Run ``optimizer`` on ``fun`` from ``x0`` for at most ``n_steps`` updates.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (loss, grad)``.
    x0 : ndarray, shape (d,)
        Starting point (not modified).
    optimizer : Optimizer
        Its state is reset first, so one instance can serve several runs.
    n_steps : int
        Maximum number of updates.
    snapshot_every : int, optional
        Store :math:`x_t` every this many steps (and always the first and last iterate).
    gtol : float, optional
        Stop (status ``converged``) once :math:`\\|\\nabla L(x_t)\\|_2 \\le` ``gtol``.
    callback : callable, optional
        ``callback(t, x, loss, grad)`` after each evaluation; returning True stops.
    on_divergence : {"raise", "stop"}
        What to do when the loss or gradient becomes non-finite: raise
        :class:`DivergenceError` (default), or stop and return the run so far with
        status ``diverged`` (for learning-rate sweeps).
    """
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x0 must be a non-empty 1-d array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 must be finite")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be an integer >= 0, got {n_steps!r}")
    if snapshot_every is not None and (not isinstance(snapshot_every, (int, np.integer))
                                       or snapshot_every < 1):
        raise ValueError(f"snapshot_every must be a positive integer, got {snapshot_every!r}")
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")

    optimizer.reset(x)
    losses = np.empty(n_steps + 1)
    grad_norms = np.empty(n_steps + 1)
    snaps: list[np.ndarray] = []
    snap_steps: list[int] = []
    x_prev = x.copy()
    status, message = "completed", f"performed {n_steps} steps"
    start = time.perf_counter()
    t = 0
    # Overflow on the way to divergence is expected and reported through the status,
    # so NumPy's warnings (which would leak into notebook outputs) are silenced here.
    with np.errstate(over="ignore", invalid="ignore"):
        while True:
            loss, grad = fun(x)
            gnorm = float(np.linalg.norm(grad))
            if not (np.isfinite(loss) and np.isfinite(gnorm)):
                what = "loss" if not np.isfinite(loss) else "gradient"
                if t == 0:
                    raise DivergenceError(f"the {what} at x0 is not finite")
                last = f"{losses[t - 1]:.6g}"
                message = (f"{what} became non-finite at step {t} with {optimizer!r}; "
                           f"last finite loss {last} (the step size is probably too large)")
                if on_divergence == "raise":
                    raise DivergenceError(message)
                status = "diverged"
                x = x_prev
                t -= 1
                break
            losses[t] = loss
            grad_norms[t] = gnorm
            if snapshot_every is not None and t % snapshot_every == 0:
                snaps.append(x.copy())
                snap_steps.append(t)
            if gtol is not None and gnorm <= gtol:
                status, message = "converged", f"gradient norm {gnorm:.3g} <= gtol after {t} steps"
                break
            if callback is not None and callback(t, x, float(loss), grad):
                status, message = "stopped", f"callback stopped the run after {t} steps"
                break
            if t == n_steps:
                break
            x_prev[...] = x
            optimizer.step(x, grad)
            t += 1
    wall = time.perf_counter() - start
    n_done = t
    if snapshot_every is not None and (not snap_steps or snap_steps[-1] != n_done):
        snaps.append(x.copy())
        snap_steps.append(n_done)
    return OptimResult(
        x=x,
        fun=float(losses[n_done]),
        losses=losses[: n_done + 1].copy(),
        grad_norms=grad_norms[: n_done + 1].copy(),
        snapshots=np.array(snaps) if snaps else np.empty((0, x.size)),
        snapshot_steps=np.array(snap_steps, dtype=int),
        n_steps=n_done,
        wall_time=wall,
        status=status,
        message=message,
        optimizer=repr(optimizer),
    )
