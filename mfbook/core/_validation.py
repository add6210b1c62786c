"""One validation layer for every public entry point of :mod:`mfbook`.

Rules that every function of the package follows, so that the same mistake gets the same
message everywhere:

* an argument of the wrong **type** (a string for a number, a float for an index, a bool
  for an integer) raises :class:`TypeError`;
* an argument of the right type with a wrong **value** (out of range, not finite, wrong
  shape, an index past the end) raises :class:`ValueError`;
* every message starts with the argument's name and shows the value (or shape) received;
* a training loop that blows up raises :class:`DivergenceError`, by the single rule of
  :class:`DivergenceGuard`.

The checkers return the value normalized (a Python ``int`` or ``float``, a contiguous NumPy
array of the stated dtype), so callers use what they return, never the raw argument.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import numpy as np

__all__ = [
    "DivergenceError",
    "DivergenceGuard",
    "DIVERGENCE_FACTOR",
    "check_int",
    "check_real",
    "check_bool",
    "check_option",
    "check_array",
    "real_array",
    "check_indices",
    "check_shape",
    "check_callable",
    "check_objective",
    "divergence_reason",
    "scipy_outcome",
]


def _show(value: Any) -> str:
    """A short description of a received value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``.

    Python and NumPy integers are accepted; ``bool`` and floats (even ``2.0``) are not, since
    a float where a count is expected is almost always a mistake upstream.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        lo = "-inf" if minimum is None else minimum
        hi = "inf" if maximum is None else maximum
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value}")
    return value


def check_real(name: str, value: Any, *, minimum: float | None = None,
               maximum: float | None = None, min_open: bool = False,
               max_open: bool = False, finite: bool = True) -> float:
    """``value`` as a ``float``, finite unless ``finite=False``, within the stated bounds.

    ``min_open`` / ``max_open`` make the bound strict (``> minimum`` / ``< maximum``).
    ``bool`` is refused (``True`` is not a learning rate).
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)}")
    value = float(value)
    if np.isnan(value) or (finite and not np.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    low_bad = minimum is not None and (value <= minimum if min_open else value < minimum)
    high_bad = maximum is not None and (value >= maximum if max_open else value > maximum)
    if (low_bad or high_bad) and maximum is None:
        op = ">" if min_open else ">="
        raise ValueError(f"{name} must be a finite number {op} {minimum:g}, got {value!r}")
    if (low_bad or high_bad) and minimum is None:
        op = "<" if max_open else "<="
        raise ValueError(f"{name} must be a finite number {op} {maximum:g}, got {value!r}")
    if low_bad or high_bad:
        lo = "(-inf" if minimum is None else ("(" if min_open else "[") + f"{minimum:g}"
        hi = "inf)" if maximum is None else f"{maximum:g}" + (")" if max_open else "]")
        raise ValueError(f"{name} must be in {lo}, {hi}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool``; only ``True``/``False`` (Python or NumPy) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_show(value)}")
    return bool(value)


def check_option(name: str, value: Any, options: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``options``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {tuple(options)}, got {_show(value)}")
    if value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def real_array(name: str, value: Any, *, bools: bool = False) -> np.ndarray:
    """``value`` as a float64 array, refusing what is not an array of real numbers.

    Ragged nested sequences, strings, objects and complex numbers raise :class:`TypeError`
    naming ``name``; booleans too unless ``bools`` (a 0/1 parameter vector is a vector).
    The first step of every array check in the package (:func:`check_array`, the
    objectives' ``check_theta``, the starting point of :func:`~mfbook.core.descend`).
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:   # ragged nested sequences
        raise TypeError(f"{name} must be an array of real numbers ({exc})") from None
    if arr.dtype.kind not in ("biuf" if bools else "iuf"):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def check_array(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None,
                shape: tuple[int | None, ...] | None = None, finite: bool = True,
                nonempty: bool = True) -> np.ndarray:
    """``value`` as a float64 array, checked for dimension, shape and finiteness.

    ``shape`` may hold ``None`` for a free axis.  Non-numeric input (strings, objects,
    complex numbers) raises :class:`TypeError`.
    """
    arr = real_array(name, value)
    if ndim is not None and arr.ndim not in ((ndim,) if isinstance(ndim, int) else ndim):
        words = {1: "one-dimensional", 2: "two-dimensional"}
        raise ValueError(f"{name} must be {words.get(ndim, f'{ndim}-dimensional')}, "
                         f"got shape {arr.shape}")
    if shape is not None and (arr.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(arr.shape, shape))):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, found {bad} NaN or infinite entries")
    return arr


def check_indices(name: str, value: Any, *, size: int | None = None) -> np.ndarray:
    """``value`` as a 1-d int64 array of indices in ``0..size-1``.

    Integer arrays are accepted as they are; floats are refused even when whole (a float
    index is a sign of ids read as numbers), and so are negative indices, which NumPy would
    silently wrap around.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of integer indices ({exc})") from None
    if arr.dtype.kind == "b" or (arr.dtype.kind not in "iu" and arr.size):
        raise TypeError(f"{name} must hold integer indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            raise ValueError(f"{name} must be non-negative indices, found {lo}")
        if size is not None and hi >= size:
            raise ValueError(f"{name} index {hi} is out of range for size {size} "
                             f"(valid: 0..{size - 1})")
    return arr


def check_shape(name: str, value: Any, *, ndim: int = 2) -> tuple[int, ...]:
    """``value`` as a tuple of ``ndim`` positive Python ints (a matrix shape).

    Floats are refused even when whole (``2.7`` would otherwise be truncated to 2), and so
    are bools.
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a tuple of {ndim} positive integers, got {_show(value)}")
    if len(value) != ndim:
        raise ValueError(f"{name} must be a tuple of {ndim} positive integers, got {_show(value)}")
    out = []
    for s in value:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{name} must be a tuple of {ndim} positive integers, "
                            f"got {_show(value)}")
        if int(s) < 1:
            raise ValueError(f"{name} must be a tuple of {ndim} positive integers, "
                             f"got {_show(value)}")
        out.append(int(s))
    return tuple(out)


def check_callable(name: str, value: Any) -> Any:
    """``value`` if it is callable, else :class:`TypeError`."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {_show(value)}")
    return value


def check_objective(name: str, value: Any,
                    methods: Sequence[str] = ("check_theta",)) -> Any:
    """``value`` if it has the interface of :class:`~mfbook.core.MFObjective` that a tool
    needs: an integer ``dim`` and the callables ``methods`` (``check_theta`` by default);
    else :class:`TypeError`.  Any objective with that interface is accepted (the tools of
    :mod:`mfbook.landscape` also work on :class:`~mfbook.deep.DeepMF`)."""
    dim = getattr(value, "dim", None)
    missing = [m for m in methods if not callable(getattr(value, m, None))]
    if isinstance(value, type) or not isinstance(dim, numbers.Integral) or missing:
        need = ", ".join(("dim",) + tuple(methods))
        raise TypeError(f"{name} must be an objective such as mfbook.core.MFObjective "
                        f"(with {need}), got {_show(value)}")
    return value


# ---------------------------------------------------------------------- divergence
DIVERGENCE_FACTOR = 1e6
"""A loss above this many times its starting value counts as divergence."""


def divergence_reason(loss: float, initial: float | None, *,
                      factor: float = DIVERGENCE_FACTOR) -> str | None:
    """The one divergence rule of :mod:`mfbook`, as a function.

    A loss :math:`L_t` counts as divergence when it is not finite, or when
    :math:`L_t > F\\,L_0` with :math:`F` = ``factor`` and :math:`L_0` = ``initial`` > 0
    (the loss at the starting point; ``None`` or a non-positive start checks finiteness
    only).  Returns why, in words, or ``None`` if the loss is fine.  Every training loop
    of the package (:func:`~mfbook.core.descend`, the estimator's solvers, the
    mini-batch, NMF and Keras-like loops) applies it through :class:`DivergenceGuard`.

    Examples
    --------
    >>> divergence_reason(5.0, 1.0) is None
    True
    >>> divergence_reason(float("nan"), 1.0)
    'the loss became nan'
    """
    loss = float(loss)
    if not np.isfinite(loss):
        return f"the loss became {loss!r}"
    if initial is not None and initial > 0 and loss > factor * initial:
        return (f"the loss grew to {loss:.6g}, more than {factor:g} times its "
                f"starting value {initial:.6g}")
    return None


class DivergenceError(ValueError):
    """A training run blew up: its loss became non-finite or grew past
    :data:`DIVERGENCE_FACTOR` times its starting value (see :class:`DivergenceGuard`).

    A subclass of :class:`ValueError`, since the usual cause is a bad argument: a learning
    rate too large for the problem.
    """


class DivergenceGuard:
    """The divergence rule shared by every training loop of :mod:`mfbook`.

    A run diverges at the first step whose loss :math:`L_t` is not finite or satisfies
    :math:`L_t > F\\,L_0` with :math:`F` = ``factor`` and :math:`L_0` the loss of the
    starting point.  Gradient methods with a sensible step decrease the loss; a factor of
    :math:`10^6` leaves room for the transient spikes of large steps and momentum while
    catching runs that would otherwise drift to an astronomic but finite loss and report
    success.

    Parameters
    ----------
    optimizer : str
        Name of the method, used in the message.
    factor : float
        :math:`F > 1`.

    Examples
    --------
    >>> guard = DivergenceGuard("GD")
    >>> guard.start(2.0)
    >>> guard.check(1.5, step=1, lr=0.1)
    >>> guard.reason(3e6) is not None
    True
    """

    def __init__(self, optimizer: str, *, factor: float = DIVERGENCE_FACTOR) -> None:
        self.optimizer = str(optimizer)
        self.factor = check_real("factor", factor, minimum=1.0, min_open=True)
        self.initial: float | None = None

    def start(self, loss: float) -> None:
        """Record the starting loss; a non-finite one raises :class:`DivergenceError`."""
        loss = float(loss)
        if not np.isfinite(loss):
            raise DivergenceError(
                f"{self.optimizer}: the loss at the starting point is not finite ({loss!r}); "
                "check the data and the starting parameters")
        self.initial = loss

    def reason(self, loss: float) -> str | None:
        """Why ``loss`` counts as divergence, or ``None`` if it does not."""
        return divergence_reason(loss, self.initial, factor=self.factor)

    def message(self, reason: str, *, step: int, lr: float | None) -> str:
        """The one wording of a divergence report: optimizer, step, learning rate."""
        at = f" with learning rate {lr:g}" if lr is not None else ""
        return (f"{self.optimizer} diverged at step {step}{at}: {reason} "
                "(the step size is probably too large)")

    def check(self, loss: float, *, step: int, lr: float | None = None) -> None:
        """Raise :class:`DivergenceError` if ``loss`` counts as divergence."""
        why = self.reason(loss)
        if why is not None:
            raise DivergenceError(self.message(why, step=step, lr=lr))


def scipy_outcome(res: Any, *, optimizer: str, converged: bool) -> tuple[str, str]:
    """``(status, message)`` of a finished SciPy optimizer run, never a silent failure.

    A non-finite final loss ``res.fun`` raises :class:`DivergenceError`; ``converged``
    (the caller's own stopping test, e.g. a gradient norm) gives ``"converged"``; a run
    that SciPy reports as successful or as stopped by its iteration limit gives
    ``"completed"``; anything else (line-search failure, ``ABNORMAL``, ...) gives
    ``"failed"``, with SciPy's message kept.
    """
    fun = float(np.asarray(res.fun).ravel()[0]) if np.size(res.fun) else float("nan")
    text = str(getattr(res, "message", ""))
    if not np.isfinite(fun):
        raise DivergenceError(f"{optimizer} diverged: the loss became {fun!r} "
                              f"(SciPy: {text})")
    if converged:
        return "converged", text
    nit_limit = "ITERATIONS REACHED LIMIT" in text.upper() or "MAXIMUM NUMBER" in text.upper() \
        or "EVALUATIONS EXCEEDS LIMIT" in text.upper()
    if bool(getattr(res, "success", False)) or nit_limit:
        return "completed", text
    return "failed", f"{optimizer} failed: {text}"
