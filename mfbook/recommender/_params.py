"""Hyper-parameters of :class:`~mfbook.recommender.MatrixFactorization`: declared, then resolved.

Two layers, as in scikit-learn's own estimators:

* :data:`PARAMETER_CONSTRAINTS` declares the type and range of every constructor argument
  (``Interval``, ``StrOptions``, ...); ``BaseEstimator._validate_params`` checks them at the
  start of ``fit`` and raises ``InvalidParameterError`` (a ``ValueError`` and a ``TypeError``)
  with scikit-learn's standard message.
* :func:`resolve` then checks what a declaration cannot say (two parameters that only make
  sense together, a clip range whose ends are in order, ``n_jobs=0``) and returns the
  normalized values the fitting code uses, so that the solvers never read the raw
  attributes.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ..core import check_int, check_real
from ._threads import resolve_n_jobs

__all__ = ["PARAMETER_CONSTRAINTS", "SOLVERS", "Resolved", "resolve"]

SOLVERS = ("sgd", "minibatch", "adam", "als")
DEFAULT_BATCH = 32

_nonneg = Interval(Real, 0, None, closed="left")
_positive = Interval(Real, 0, None, closed="neither")
_unit = Interval(Real, 0, 1, closed="left")

PARAMETER_CONSTRAINTS: dict[str, list[Any]] = {
    "rank": [Interval(Integral, 1, None, closed="left")],
    "solver": [StrOptions(set(SOLVERS))],
    "biased": ["boolean"],
    "reg": [_nonneg],
    "reg_bias": [_nonneg, None],
    "reg_weighting": [StrOptions({"uniform", "count"})],
    "penalty": [StrOptions({"rows", "all"})],
    "lr": [_positive],
    "lr_decay": [Interval(Real, 0, 1, closed="right")],
    "n_epochs": [Interval(Integral, 1, None, closed="left")],
    "tol": [_nonneg, None],
    "batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "momentum": [_unit],
    "beta1": [_unit],
    "beta2": [_unit],
    "eps": [_positive],
    "init_std": [_positive],
    "mu": [Interval(Real, None, None, closed="neither"), None],
    "clip": [StrOptions({"observed"}), tuple, None],
    "cold_start": [StrOptions({"baseline", "nan", "raise"})],
    "shape": [tuple, None],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "min_delta": [_nonneg],
    "monitor": ["boolean"],
    "n_jobs": [Integral, None],
    "als_solve": [StrOptions({"cholesky", "cg"})],
    "cg_steps": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state", np.random.Generator],
    "progress": ["boolean", None],
}
"""What each constructor argument may be (scikit-learn's declarative constraints).

``Interval`` excludes NaN and infinities, so every real parameter is also finite."""


@dataclass(frozen=True)
class Resolved:
    """The hyper-parameters as the fitting code uses them (defaults filled in)."""

    rank: int
    solver: str
    biased: bool
    reg: float
    reg_bias: float
    reg_weighting: str
    penalty: str
    lr: float
    lr_decay: float
    n_epochs: int
    tol: float | None
    batch_size: int
    momentum: float
    beta1: float
    beta2: float
    eps: float
    init_std: float
    mu: float | None
    clip: str | tuple[float, float] | None
    shape: tuple[int, int] | None
    n_jobs: int
    als_solve: str = "cholesky"
    cg_steps: int = 3


def _check_pair(name: str, value: tuple, kind: str) -> tuple:
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair ({kind}), got {value!r}")
    return value


def resolve(est: Any) -> Resolved:
    """Check the combinations of hyper-parameters of ``est`` and fill in the defaults.

    Assumes :data:`PARAMETER_CONSTRAINTS` already passed.

    Raises
    ------
    ValueError
        For a combination that cannot work; the message names both parameters.
    """
    for name, constraints in PARAMETER_CONSTRAINTS.items():
        value = getattr(est, name)
        # scikit-learn's Interval takes True for 1; a flag where a number belongs is a mistake.
        if isinstance(value, (bool, np.bool_)) and "boolean" not in constraints:
            raise TypeError(f"{name} must be a number, not a bool, got {value!r}")
    solver = est.solver
    if solver == "sgd":
        if est.batch_size not in (None, 1):
            raise ValueError(
                f"solver='sgd' updates after every rating (batch_size 1), got "
                f"batch_size={est.batch_size!r}; use solver='minibatch' for batches")
        batch = 1
    else:
        batch = DEFAULT_BATCH if est.batch_size is None else int(est.batch_size)
    if est.momentum > 0 and solver != "minibatch":
        raise ValueError(
            f"momentum is used by solver='minibatch' only, got momentum={est.momentum!r} "
            f"with solver={solver!r} (Adam's momentum is beta1)")
    if est.mu is not None and not est.biased:
        raise ValueError(f"mu={est.mu!r} is the offset of the biased model; it needs "
                         "biased=True")
    clip = est.clip
    if isinstance(clip, tuple):
        _check_pair("clip", clip, "low, high")
        lo = check_real("clip[0]", clip[0])
        hi = check_real("clip[1]", clip[1])
        if not lo < hi:
            raise ValueError(f"clip must satisfy low < high, got {clip!r}")
        clip = (lo, hi)
    shape = est.shape
    if shape is not None:
        _check_pair("shape", shape, "n_users, n_items")
        shape = (check_int("shape[0]", shape[0], minimum=1),
                 check_int("shape[1]", shape[1], minimum=1))
    reg = float(est.reg)
    return Resolved(
        rank=int(est.rank), solver=solver, biased=bool(est.biased), reg=reg,
        reg_bias=reg if est.reg_bias is None else float(est.reg_bias),
        reg_weighting=est.reg_weighting, penalty=est.penalty, lr=float(est.lr),
        lr_decay=float(est.lr_decay), n_epochs=int(est.n_epochs),
        tol=None if est.tol is None else float(est.tol), batch_size=batch,
        momentum=float(est.momentum), beta1=float(est.beta1), beta2=float(est.beta2),
        eps=float(est.eps), init_std=float(est.init_std),
        mu=None if est.mu is None else float(est.mu), clip=clip, shape=shape,
        n_jobs=resolve_n_jobs(est.n_jobs), als_solve=est.als_solve,
        cg_steps=int(est.cg_steps))
