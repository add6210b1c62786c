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
from ._validation import (DivergenceError, DivergenceGuard, check_callable, check_int,
                          check_option, check_real, real_array)

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
        ``stopped``: the callback asked to stop; ``diverged``: the loss became
        non-finite or exceeded :data:`~mfbook.core.DIVERGENCE_FACTOR` times its starting
        value, or the gradient became non-finite (:class:`~mfbook.core.DivergenceGuard`).
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
        What to do when the run diverges (the loss is non-finite or above
        :data:`~mfbook.core.DIVERGENCE_FACTOR` times the starting loss, or the gradient
        is non-finite; :class:`~mfbook.core.DivergenceGuard`): raise
        :class:`DivergenceError` (default), or stop and return the run so far with
        status ``diverged`` (for learning-rate sweeps).
    """
    check_callable("fun", fun)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a mfbook.core.Optimizer, got {type(optimizer).__name__}")
    x = real_array("x0", x0, bools=True).copy()   # a copy: the loop updates x in place
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x0 must be a non-empty 1-d array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, found {int(np.sum(~np.isfinite(x)))} NaN or "
                         "infinite entries")
    n_steps = check_int("n_steps", n_steps, minimum=0)
    if snapshot_every is not None:
        snapshot_every = check_int("snapshot_every", snapshot_every, minimum=1)
    if gtol is not None:
        gtol = check_real("gtol", gtol, minimum=0.0)
    if callback is not None:
        check_callable("callback", callback)
    check_option("on_divergence", on_divergence, ("raise", "stop"))
    guard = DivergenceGuard(optimizer.name)
    lr = getattr(optimizer, "lr", None)
    lr = float(lr) if isinstance(lr, (int, float, np.floating)) else None

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
            if t > 0 and not np.all(np.isfinite(x)):
                # The step overflowed.  An objective that accepts such a point (a stack of
                # runs freezing its diverged members) is asked; one that refuses it, as
                # MFObjective does, has diverged.
                try:
                    loss, grad = fun(x)
                except (ValueError, FloatingPointError):
                    loss, grad = np.inf, x
            else:
                loss, grad = fun(x)
            loss = float(loss)
            gnorm = float(np.linalg.norm(grad))
            if t == 0:
                for what, value in (("loss", loss), ("gradient norm", gnorm)):
                    if not np.isfinite(value):
                        raise DivergenceError(f"{optimizer.name}: the {what} at x0 is not "
                                              f"finite ({value!r}); check fun and x0")
                guard.start(loss)
            why = guard.reason(loss) if t > 0 else None
            if why is None and not np.isfinite(gnorm):
                why = "the gradient became non-finite"
            if why is not None:
                message = (guard.message(why, step=t, lr=lr)
                           + f"; last accepted loss {losses[t - 1]:.6g}")
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
