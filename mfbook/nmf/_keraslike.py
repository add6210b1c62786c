"""A mini-batch training loop that behaves like Keras ``Model.fit``, and its two callbacks.

Chapter 5 reproduces a Keras experiment without TensorFlow.  What has to match, and where
each rule comes from in the Keras sources (``keras/src/callbacks/early_stopping.py``,
``keras/src/callbacks/reduce_lr_on_plateau.py``, ``keras/src/optimizers/adam.py``, and
``tensorflow/python/keras/engine/compile_utils.py`` for ``tf.keras``):

* **Batches.**  Every epoch the training entries are shuffled (``fit(shuffle=True)``, the
  default) and cut into consecutive batches of ``batch_size``; the last one is smaller.
* **Loss of a batch.**  ``loss="mse"`` is the batch mean of :math:`e^2`; each weight
  regularizer adds its value on the *whole* weight tensor to *every* batch loss
  (``l2(lam)`` is :math:`\\lambda \\sum x^2`).  The model decides how it computes both
  (see :meth:`mfbook.nmf.ExpMF.batch_loss_grad`).
* **Optimizer.**  Any :class:`mfbook.core.Optimizer`; Keras' Adam is
  ``Adam(lr, eps=1e-7, eps_hat=True)`` (epsilon added to :math:`\\sqrt{v}` before the bias
  correction).  The learning rate is read at every step, so a callback can change it.
* **Reported epoch loss.**  ``logs["loss"]`` is the mean of the batch losses (data term
  plus penalty) weighted by batch size, each computed *before* that batch's update: an
  average over a moving model, not the loss at the end of the epoch.
  ``logs["val_loss"]`` is evaluated at the end of the epoch on the validation entries,
  also including the penalty.
* **Callbacks** run at the end of each epoch, in the order given, on the same logs.

:class:`EarlyStopping` and :class:`ReduceLROnPlateau` reproduce the Keras rules exactly,
including the absolute ``min_delta`` and the ``monitor="val_loss"`` default of
:class:`ReduceLROnPlateau`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from ..core import (DIVERGENCE_FACTOR, DivergenceError, DivergenceGuard, Optimizer, Ratings,
                    SeedLike, as_generator, check_array, check_bool, check_int, check_option,
                    check_real)

__all__ = [
    "TrainState",
    "Callback",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "KerasFit",
    "fit_keras_like",
    "keras_like_batches",
]


@dataclass
class TrainState:
    """What a callback may look at or change: Keras' ``self.model``.

    Attributes
    ----------
    theta : ndarray
        The current parameters (updated in place by the optimizer).
    optimizer : Optimizer
        Has an ``lr`` attribute read at every step.
    stop_training : bool
        Set to True to end training after the current epoch.
    """

    theta: np.ndarray
    optimizer: Optimizer
    stop_training: bool = False


class Callback:
    """Base class: hooks called by :func:`fit_keras_like`."""

    def on_train_begin(self, state: TrainState) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: TrainState) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass


def _check_monitor(monitor: str) -> str:
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be the name of a logged value (a str), got {monitor!r}")
    return monitor


def _direction(monitor: str, mode: str) -> str:
    check_option("mode", mode, ("auto", "min", "max"))
    if mode != "auto":
        return mode
    return "max" if "acc" in monitor else "min"


class _MonitorCallback(Callback):
    """Shared by both callbacks (Keras' ``MonitorCallback``): read and compare the monitor."""

    monitor: str
    mode: str
    min_delta: float
    best: float

    def _current(self, logs: dict[str, float]) -> float:
        current = logs.get(self.monitor)
        if current is None:
            raise ValueError(f"{type(self).__name__} monitors {self.monitor!r}, "
                             f"not in logs {sorted(logs)}")
        return current

    def _is_improvement(self, current: float) -> bool:
        """``current < best - min_delta`` in min mode (absolute margin), mirrored in max mode."""
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta


class EarlyStopping(_MonitorCallback):
    """Keras ``EarlyStopping``: stop when the monitored value has not improved for a while.

    Rules (``mode="min"``, the automatic choice for a loss): with ``best`` starting at
    :math:`+\\infty`, an epoch **improves** iff ``current < best - min_delta`` (an
    *absolute* margin).  On improvement ``best = current``, the weights are copied if
    ``restore_best_weights`` and ``wait = 0``; otherwise ``wait += 1``, and once
    ``wait >= patience`` (and ``epoch > 0``) training stops.  At the end of training the
    copied weights are put back.

    Because improvement is measured against the last *accepted* best, a loss that keeps
    decreasing by less than ``min_delta`` per epoch still counts as improving every time
    the accumulated decrease exceeds ``min_delta``; the restored weights are those of that
    last accepted epoch, not of the epoch with the lowest loss.

    Notes
    -----
    Keras 3 restores the weights in ``on_train_end`` (so also when the epoch budget runs
    out); ``tf.keras`` 2.x restored them only when it stopped training itself.  The two
    agree for every run that stops early.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False) -> None:
        self.monitor = _check_monitor(monitor)
        self.min_delta = abs(check_real("min_delta", min_delta))
        self.patience = check_int("patience", patience, minimum=0)
        self.mode = _direction(monitor, mode)
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.on_train_begin(None)

    def on_train_begin(self, state: TrainState | None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_epoch = 0
        self.best_weights: np.ndarray | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: TrainState) -> None:
        current = self._current(logs)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = state.theta.copy()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = state.theta.copy()
            self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            state.stop_training = True

    def on_train_end(self, state: TrainState) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.theta[...] = self.best_weights


class ReduceLROnPlateau(_MonitorCallback):
    """Keras ``ReduceLROnPlateau``: divide the learning rate when the monitored value stalls.

    Defaults as in Keras: ``monitor="val_loss"``, ``factor=0.1``, ``patience=10``,
    ``min_delta=1e-4``, ``cooldown=0``, ``min_lr=0``.  Rules (``mode="min"``): an epoch
    improves iff ``current < best - min_delta`` (absolute); then ``best = current`` and
    ``wait = 0``.  Otherwise, outside a cooldown, ``wait += 1`` and when
    ``wait >= patience`` and ``lr > min_lr`` the rate becomes ``max(lr * factor, min_lr)``,
    ``wait = 0`` and a cooldown of ``cooldown`` epochs starts (during which ``wait`` is held
    at 0).  ``best`` is never reset by a reduction.  As in Keras, the rate is compared
    with ``min_lr`` in float32 and stored in float32 (Keras keeps it in a float32
    variable).  So from 1e-3 with ``min_lr=1e-4`` the first cut gives
    float32(1.0000000475e-4), which is still above float32(1e-4) = 9.9999997e-5; the
    next plateau "cuts" once more, to 9.9999997e-5 (a change of 5e-8 relative, listed in
    ``reductions`` as Keras reports it); after that nothing happens and ``wait`` keeps
    growing.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0) -> None:
        self.monitor = _check_monitor(monitor)
        self.factor = check_real("factor", factor, minimum=0.0, maximum=1.0, max_open=True)
        self.patience = check_int("patience", patience, minimum=0)
        self.mode = _direction(monitor, mode)
        self.min_delta = abs(check_real("min_delta", min_delta))
        self.cooldown = check_int("cooldown", cooldown, minimum=0)
        self.min_lr = check_real("min_lr", min_lr, minimum=0.0)
        self.on_train_begin(None)

    def on_train_begin(self, state: TrainState | None) -> None:
        self.best = np.inf if self.mode == "min" else -np.inf
        self.wait = 0
        self.cooldown_counter = 0
        self.reductions: list[int] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float], state: TrainState) -> None:
        current = self._current(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                # Keras keeps the rate in a float32 variable and compares it with the
                # float32 min_lr: at the floor no further "reduction" happens, and then
                # wait is not reset either.
                old_lr = float(np.float32(state.optimizer.lr))
                if old_lr > np.float32(self.min_lr):
                    new_lr = float(np.float32(max(old_lr * self.factor, self.min_lr)))
                    state.optimizer.lr = new_lr
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
                    if new_lr != old_lr:
                        self.reductions.append(epoch)


def keras_like_batches(n: int, batch_size: int, epochs: int,
                       seed: SeedLike = None) -> Iterator[np.ndarray]:
    """The batches of ``fit(shuffle=True)``: per epoch a fresh permutation of ``0..n-1``, cut
    into consecutive pieces of ``batch_size`` (the last one smaller).

    The permutations are ``rng.permutation(n)``, one per epoch, from ``as_generator(seed)``;
    :func:`fit_keras_like` and :func:`mfbook.nmf.fit_keras` both draw their batches here,
    so the same ``seed`` gives both trainers the same batches in the same order.  The
    generator is lazy: a run that stops early draws no further permutations.
    """
    n = check_int("n", n, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    rng = as_generator(seed)
    for _ in range(epochs):
        perm = rng.permutation(n)
        for lo in range(0, n, batch_size):
            yield perm[lo:lo + batch_size]


class BatchModel(Protocol):
    """What :func:`fit_keras_like` needs from a model (e.g. :class:`mfbook.nmf.ExpMF`)."""

    ratings: Ratings

    def batch_loss_grad(self, theta: np.ndarray, index: np.ndarray) -> tuple[float, float, np.ndarray]:
        ...

    def mse(self, theta: np.ndarray, ratings: Ratings | None = None) -> float:
        ...

    def penalty(self, theta: np.ndarray) -> float:
        ...


@dataclass
class KerasFit:
    """The record of one :func:`fit_keras_like` run (Keras' ``History`` and more).

    Attributes
    ----------
    theta : ndarray
        Final parameters, after a callback restored the best weights if it did.
    history : dict of str to ndarray, one value per epoch
        ``loss`` and ``val_loss`` exactly as Keras reports them; ``lr`` the learning rate
        used during the epoch; ``train_mse`` and ``val_mse`` the MSE (no penalty) of the
        weights at the end of the epoch; ``penalty`` the penalty there; ``step_rms`` the
        root-mean-square change of a parameter over the epoch (the distance travelled
        per coordinate); ``dist0`` the RMS distance per coordinate from the start.
    n_epochs, n_steps : int
    stopped_epoch : int or None
        Epoch (0-based) at which a callback stopped training.
    restored_epoch : int or None
        Epoch whose end-of-epoch weights were restored by :class:`EarlyStopping`.
    wall_time : float
        Seconds.
    """

    theta: np.ndarray
    history: dict[str, np.ndarray]
    n_epochs: int
    n_steps: int
    stopped_epoch: int | None
    restored_epoch: int | None
    wall_time: float
    lr_reductions: list[int] = field(default_factory=list)


def fit_keras_like(
    model: BatchModel,
    theta0: np.ndarray,
    optimizer: Optimizer,
    *,
    batch_size: int,
    epochs: int,
    val: Ratings | None = None,
    callbacks: Sequence[Callback] = (),
    seed: SeedLike = None,
    extra: Callable[[np.ndarray], dict[str, float]] | None = None,
    divergence_factor: float = DIVERGENCE_FACTOR,
) -> KerasFit:
    """Train ``model`` from ``theta0`` like ``keras.Model.fit`` (see the module docstring).

    Parameters
    ----------
    model : BatchModel
        Gives the batch loss and gradient (data term and penalty) and evaluates MSEs.
    theta0 : ndarray
        Start (not modified).
    optimizer : Optimizer
        Reset at the start, stepped once per batch; its ``lr`` may be changed by callbacks.
    batch_size, epochs : int
    val : Ratings, optional
        Validation entries, evaluated at the end of every epoch (``val_loss``).
    callbacks : sequence of Callback
        Called in order at the end of every epoch.
    seed : int or Generator
        Seed of the per-epoch shuffles.
    extra : callable, optional
        ``extra(theta)`` at the end of every epoch returns a dict of further numbers to
        record in ``history`` (diagnostics; not seen by the callbacks).
    divergence_factor : float
        A batch loss above this many times the loss at ``theta0`` counts as divergence
        (:class:`mfbook.core.DivergenceGuard`).

    Raises
    ------
    mfbook.core.DivergenceError
        At the first batch whose loss is non-finite or exceeds ``divergence_factor`` times
        the starting loss, or whose gradient is non-finite, naming the optimizer, the
        step and the learning rate.  (A learning rate far too large sends the
        log-factors to huge values in one step; without this check the run would drift
        on to a model that predicts about 0 everywhere and report nothing.)
    TypeError, ValueError
        For a bad argument, naming it.
    """
    for name in ("batch_loss_grad", "mse", "penalty", "ratings"):
        if not hasattr(model, name):
            raise TypeError(f"model must provide {name} (e.g. a mfbook.nmf.ExpMF), "
                            f"got {type(model).__name__}")
    theta = check_array("theta0", theta0, ndim=1).copy()
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a mfbook.core.Optimizer, got {type(optimizer).__name__}")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    if val is not None and not isinstance(val, Ratings):
        raise TypeError(f"val must be a mfbook.core.Ratings, got {type(val).__name__}")
    if val is not None and val.shape != model.ratings.shape:
        raise ValueError(f"val must have shape {model.ratings.shape}, got {val.shape}")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be mfbook.nmf.Callback objects, got {type(cb).__name__}")
    if extra is not None and not callable(extra):
        raise TypeError(f"extra must be callable or None, got {type(extra).__name__}")
    guard = DivergenceGuard(f"fit_keras_like ({getattr(optimizer, 'name', 'optimizer')})",
                            factor=divergence_factor)
    guard.start(model.mse(theta) + model.penalty(theta))
    N = model.ratings.nnz
    steps_per_epoch = -(-N // batch_size)
    batches = keras_like_batches(N, batch_size, epochs, seed)
    state = TrainState(theta, optimizer)
    optimizer.reset(theta)
    for cb in callbacks:
        cb.on_train_begin(state)
    keys = ("loss", "val_loss", "lr", "train_mse", "val_mse", "penalty", "step_rms", "dist0")
    hist: dict[str, list[float]] = {k: [] for k in keys}
    n_steps = 0
    stopped = None
    start = time.perf_counter()
    dim = theta.size
    for epoch in range(epochs):
        lr_epoch = float(optimizer.lr)
        theta_start = theta.copy()
        total = 0.0
        for _, idx in zip(range(steps_per_epoch), batches):
            with np.errstate(over="ignore", invalid="ignore"):
                mse_b, pen_b, grad = model.batch_loss_grad(theta, idx)
            guard.check(mse_b + pen_b, step=n_steps, lr=float(optimizer.lr))
            if not np.all(np.isfinite(grad)):
                raise DivergenceError(guard.message(
                    f"the gradient became non-finite (epoch {epoch})", step=n_steps,
                    lr=float(optimizer.lr)))
            total += len(idx) * (mse_b + pen_b)
            optimizer.step(theta, grad)
            n_steps += 1
        pen = model.penalty(theta)
        logs = {"loss": total / N}
        train_mse = model.mse(theta)
        val_mse = model.mse(theta, val) if val is not None else np.nan
        if val is not None:
            logs["val_loss"] = val_mse + pen
        hist["loss"].append(logs["loss"])
        hist["val_loss"].append(logs.get("val_loss", np.nan))
        hist["lr"].append(lr_epoch)
        hist["train_mse"].append(train_mse)
        hist["val_mse"].append(val_mse)
        hist["penalty"].append(pen)
        hist["step_rms"].append(float(np.linalg.norm(theta - theta_start)) / np.sqrt(dim))
        hist["dist0"].append(float(np.linalg.norm(theta - theta0)) / np.sqrt(dim))
        if extra is not None:
            for key, value in extra(theta).items():
                hist.setdefault(key, []).append(float(value))
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs, state)
        if state.stop_training:
            stopped = epoch
            break
    restored = None
    for cb in callbacks:
        cb.on_train_end(state)
        if isinstance(cb, EarlyStopping) and cb.restore_best_weights and cb.best_weights is not None:
            restored = cb.best_epoch
    reductions: list[int] = []
    for cb in callbacks:
        if isinstance(cb, ReduceLROnPlateau):
            reductions += cb.reductions
    return KerasFit(
        theta=theta,
        history={k: np.array(v) for k, v in hist.items()},
        n_epochs=len(hist["loss"]),
        n_steps=n_steps,
        stopped_epoch=stopped,
        restored_epoch=restored,
        wall_time=time.perf_counter() - start,
        lr_reductions=reductions,
    )
