"""First-order optimizers for any differentiable objective, and one training loop.

An *objective* here is any callable ``fun(x) -> (loss, grad)`` on a flat parameter
vector; :class:`mfbook.objective.MFObjective` is one.  Each optimizer is a small object
holding its hyper-parameters and state, with ``reset`` and an in-place ``step``;
:func:`minimize` runs it and returns an :class:`OptimResult` with everything the chapters
plot (loss and gradient-norm histories, parameter snapshots, wall time).

Update rules, with :math:`g_t = \\nabla L(x_t)` and step size :math:`\\eta`:

* gradient descent: :math:`x_{t+1} = x_t - \\eta g_t`;
* heavy ball (Polyak): :math:`m_{t+1} = \\beta m_t + g_t,\\ x_{t+1} = x_t - \\eta m_{t+1}`;
* Nesterov, in the form of Sutskever et al. (2013) used by PyTorch:
  :math:`m_{t+1} = \\beta m_t + g_t,\\ x_{t+1} = x_t - \\eta (g_t + \\beta m_{t+1})`,
  which is Nesterov's look-ahead method written in the look-ahead variable;
* Adam (Kingma and Ba, 2015): :math:`m_{t+1} = \\beta_1 m_t + (1-\\beta_1) g_t`,
  :math:`v_{t+1} = \\beta_2 v_t + (1-\\beta_2) g_t^2`,
  :math:`x_{t+1} = x_t - \\eta\\, \\hat m / (\\sqrt{\\hat v} + \\epsilon)` with the bias
  corrections :math:`\\hat m = m_{t+1}/(1-\\beta_1^{t+1})`,
  :math:`\\hat v = v_{t+1}/(1-\\beta_2^{t+1})`.  With ``eps_hat=True`` the
  :math:`\\epsilon` is added before the correction of :math:`v` (TensorFlow/Keras form):
  :math:`x_{t+1} = x_t - \\eta \\frac{\\sqrt{1-\\beta_2^{t+1}}}{1-\\beta_1^{t+1}}
  \\frac{m_{t+1}}{\\sqrt{v_{t+1}} + \\epsilon}`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np

__all__ = [
    "Optimizer",
    "GradientDescent",
    "HeavyBall",
    "Nesterov",
    "Adam",
    "OptimResult",
    "DivergenceError",
    "minimize",
]

LossGrad = Callable[[np.ndarray], tuple[float, np.ndarray]]


class DivergenceError(ValueError):
    """Raised when the loss or the gradient becomes non-finite during a run."""


def _check_lr(lr: float) -> float:
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    return float(lr)


def _check_beta(name: str, beta: float) -> float:
    if not (0.0 <= beta < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
    return float(beta)


class Optimizer(ABC):
    """Base class: hyper-parameters in the constructor, state created by :meth:`reset`."""

    name: str = "optimizer"

    @abstractmethod
    def reset(self, x0: np.ndarray) -> None:
        """Forget all state; called by :func:`minimize` at the start of every run."""

    @abstractmethod
    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        """Update ``x`` in place from the gradient at ``x``."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class GradientDescent(Optimizer):
    """Plain (full-batch) gradient descent :math:`x \\leftarrow x - \\eta \\nabla L(x)`."""

    name = "GD"

    def __init__(self, lr: float) -> None:
        self.lr = _check_lr(lr)

    def reset(self, x0: np.ndarray) -> None:
        pass

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        x -= self.lr * grad


class HeavyBall(Optimizer):
    """Polyak's heavy-ball momentum: :math:`m \\leftarrow \\beta m + g,\\ x \\leftarrow x - \\eta m`."""

    name = "Momentum"

    def __init__(self, lr: float, beta: float = 0.9) -> None:
        self.lr = _check_lr(lr)
        self.beta = _check_beta("beta", beta)
        self._m: np.ndarray | None = None

    def reset(self, x0: np.ndarray) -> None:
        self._m = np.zeros_like(x0)

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        self._m *= self.beta
        self._m += grad
        x -= self.lr * self._m


class Nesterov(Optimizer):
    """Nesterov momentum: :math:`m \\leftarrow \\beta m + g,\\ x \\leftarrow x - \\eta(g + \\beta m)`."""

    name = "Nesterov"

    def __init__(self, lr: float, beta: float = 0.9) -> None:
        self.lr = _check_lr(lr)
        self.beta = _check_beta("beta", beta)
        self._m: np.ndarray | None = None

    def reset(self, x0: np.ndarray) -> None:
        self._m = np.zeros_like(x0)

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        self._m *= self.beta
        self._m += grad
        x -= self.lr * (grad + self.beta * self._m)


class Adam(Optimizer):
    """Adam with bias correction (see the module docstring for both epsilon placements).

    ``bias_correction=False`` drops the corrections (:math:`\\hat m = m_{t+1}`,
    :math:`\\hat v = v_{t+1}`), the variant whose early steps the correction was designed
    to fix :cite:`kingma2015adam`.
    """

    name = "Adam"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        eps_hat: bool = False,
        bias_correction: bool = True,
    ) -> None:
        self.lr = _check_lr(lr)
        self.beta1 = _check_beta("beta1", beta1)
        self.beta2 = _check_beta("beta2", beta2)
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps!r}")
        self.eps = float(eps)
        self.eps_hat = bool(eps_hat)
        self.bias_correction = bool(bias_correction)
        self._m: np.ndarray | None = None
        self._v: np.ndarray | None = None
        self._t = 0

    def reset(self, x0: np.ndarray) -> None:
        self._m = np.zeros_like(x0)
        self._v = np.zeros_like(x0)
        self._t = 0

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        self._t += 1
        self._m += (1.0 - self.beta1) * (grad - self._m)
        self._v += (1.0 - self.beta2) * (grad * grad - self._v)
        if self.bias_correction:
            c1 = 1.0 - self.beta1**self._t
            c2 = 1.0 - self.beta2**self._t
        else:
            c1 = c2 = 1.0
        if self.eps_hat:
            x -= (self.lr * np.sqrt(c2) / c1) * self._m / (np.sqrt(self._v) + self.eps)
        else:
            x -= self.lr * (self._m / c1) / (np.sqrt(self._v / c2) + self.eps)


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


def minimize(
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
