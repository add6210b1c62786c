"""Learning-rate schedules, and an optimizer wrapper that applies one.

A schedule is a function :math:`s(t)` of the step number :math:`t = 0, 1, \\dots` that
multiplies the base learning rate: step :math:`t` uses :math:`\\eta_t = \\eta\\, s(t)`.

* :func:`constant_schedule` -- :math:`s(t) = 1`;
* :func:`step_schedule` -- :math:`s(t) = \\gamma^{\\lfloor t / T\\rfloor}`, the rate divided
  by :math:`1/\\gamma` every :math:`T` steps;
* :func:`inverse_time_schedule` -- :math:`s(t) = 1/(1 + t/t_0)`, whose sum diverges while
  the sum of its squares converges, the step-size conditions of stochastic approximation
  :cite:`robbins1951stochastic`;
* :func:`cosine_schedule` -- :math:`s(t) = f + (1 - f)\\tfrac12\\big(1 + \\cos(\\pi t/T)\\big)`
  for :math:`t \\le T` and :math:`f` after, from 1 down to the floor :math:`f`
  :cite:`loshchilov2017sgdr`.

:class:`Scheduled` wraps any :class:`mfbook.core.Optimizer` so that
:func:`mfbook.core.descend` (and :func:`mfbook.landscape.minibatch_descend`) run it with a
schedule, unchanged.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core import Optimizer, check_int, check_real

__all__ = ["Schedule", "constant_schedule", "step_schedule", "inverse_time_schedule",
           "cosine_schedule", "Scheduled"]

Schedule = Callable[[int], float]
"""A learning-rate multiplier :math:`s(t)` as a function of the step number."""


def constant_schedule() -> Schedule:
    """:math:`s(t) = 1`."""
    return lambda t: 1.0


def step_schedule(every: int, factor: float = 0.1) -> Schedule:
    """:math:`s(t) = \\gamma^{\\lfloor t/T\\rfloor}` with :math:`T` = ``every``, :math:`\\gamma` = ``factor``.

    Examples
    --------
    >>> s = step_schedule(10, 0.5)
    >>> [s(0), s(9), s(10), s(25)]
    [1.0, 1.0, 0.5, 0.25]
    """
    every = check_int("every", every, minimum=1)
    factor = check_real("factor", factor, minimum=0.0, maximum=1.0, min_open=True)
    return lambda t: float(factor ** (int(t) // every))


def inverse_time_schedule(t0: float) -> Schedule:
    """:math:`s(t) = 1/(1 + t/t_0)`: :math:`\\sum_t s(t) = \\infty`, :math:`\\sum_t s(t)^2 < \\infty`.

    Examples
    --------
    >>> s = inverse_time_schedule(10.0)
    >>> [s(0), s(10), s(30)]
    [1.0, 0.5, 0.25]
    """
    t0 = check_real("t0", t0, minimum=0.0, min_open=True)
    return lambda t: 1.0 / (1.0 + t / t0)


def cosine_schedule(n_steps: int, *, floor: float = 0.0) -> Schedule:
    """Half a cosine from 1 at :math:`t = 0` to ``floor`` at :math:`t =` ``n_steps``, then flat.

    Examples
    --------
    >>> s = cosine_schedule(100, floor=0.1)
    >>> [round(s(0), 6), round(s(50), 6), round(s(100), 6), round(s(200), 6)]
    [1.0, 0.55, 0.1, 0.1]
    """
    n_steps = check_int("n_steps", n_steps, minimum=1)
    floor = check_real("floor", floor, minimum=0.0, maximum=1.0)

    def schedule(t: int) -> float:
        frac = min(int(t), n_steps) / n_steps
        return floor + (1.0 - floor) * 0.5 * (1.0 + float(np.cos(np.pi * frac)))

    return schedule


class Scheduled(Optimizer):
    """``optimizer`` with its learning rate multiplied by ``schedule(t)`` at step ``t``.

    The wrapped optimizer keeps its own state (momentum buffers, Adam's moments); only its
    ``lr`` changes, to :math:`\\eta\\,s(t)` before update :math:`t` (counted from 0 after each
    :meth:`reset`).  The base rate :math:`\\eta` is the wrapped optimizer's ``lr`` when it is
    wrapped.

    Parameters
    ----------
    optimizer : Optimizer
        Any optimizer with an ``lr`` attribute.
    schedule : callable
        :math:`s(t) \\ge 0`.

    Examples
    --------
    >>> from mfbook.core import GradientDescent
    >>> opt = Scheduled(GradientDescent(1.0), step_schedule(1, 0.5))
    >>> x = np.zeros(1); opt.reset(x)
    >>> for _ in range(3):
    ...     opt.step(x, np.ones(1))
    >>> float(x[0])                  # -(1 + 0.5 + 0.25)
    -1.75
    """

    def __init__(self, optimizer: Optimizer, schedule: Schedule) -> None:
        if not isinstance(optimizer, Optimizer) or not hasattr(optimizer, "lr"):
            raise TypeError(f"optimizer must be a mfbook.core.Optimizer with an lr, "
                            f"got {type(optimizer).__name__}")
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.optimizer = optimizer
        self.schedule = schedule
        self.base_lr = float(optimizer.lr)
        self.name = optimizer.name
        self._t = 0

    def reset(self, x0: np.ndarray) -> None:
        self.optimizer.reset(x0)
        self.optimizer.lr = self.base_lr
        self._t = 0

    def step(self, x: np.ndarray, grad: np.ndarray) -> None:
        factor = float(self.schedule(self._t))
        if not (np.isfinite(factor) and factor >= 0):
            raise ValueError(f"schedule({self._t}) must be a finite number >= 0, got {factor!r}")
        self.optimizer.lr = self.base_lr * factor
        self.optimizer.step(x, grad)
        self._t += 1

    def __repr__(self) -> str:
        return f"Scheduled({self.optimizer!r}, base_lr={self.base_lr!r})"
