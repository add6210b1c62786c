"""The exp-parametrized model of chapter 5 in real Keras, trained like :func:`fit_keras_like`.

:func:`keras_expmf` builds the question's model in Keras 3 (two ``Embedding`` tables of
log-factors with an ``l2`` regularizer, ``exp``, a sum over components):

.. math::

    \\hat r_{ij} = \\sum_{a=1}^{k} e^{P_{ia}}\\, e^{S_{ja}},

with its weights set from a parameter vector of :class:`mfbook.nmf.ExpMF`.
:func:`fit_keras` trains it with ``keras.Model.fit``, Keras' own ``Adam``, and Keras' own
``EarlyStopping`` / ``ReduceLROnPlateau`` (built from the book's callback objects with the
same settings), from the same start and on the same batches in the same order as
:func:`mfbook.nmf.fit_keras_like`: both draw the per-epoch shuffles from
:func:`keras_like_batches`.  Comparing the two histories is the test that the NumPy copy
is faithful (``tests/test_keras_real.py``).

Keras is an optional dependency (``pip install "mfbook[keras]"``).  The backend is chosen
here, before the first import of Keras: JAX, unless ``KERAS_BACKEND`` is already set in the
environment *and* Keras was imported before (then the backend in use is kept and reported).
Keras computes in float32; the NumPy trainer in float64.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ..core import Adam, Ratings, SeedLike, check_int, check_real
from ._expmf import ExpMF
from ._keraslike import (Callback, EarlyStopping, KerasFit, ReduceLROnPlateau,
                         keras_like_batches)

__all__ = ["import_keras", "keras_expmf", "keras_predict_matrix", "fit_keras", "keras_version",
           "keras_mlp", "fit_keras_network"]


def import_keras() -> Any:
    """Import Keras on the JAX backend (set before the first import), or explain how to get it.

    Raises
    ------
    ImportError
        If Keras 3 or JAX is not installed, with the install command.
    """
    import sys

    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "jax"
    try:
        import keras
    except ImportError as exc:       # pragma: no cover - depends on the installation
        raise ImportError(
            "fit_keras needs Keras 3 with the JAX backend: pip install 'mfbook[keras]' "
            f"(or pip install keras jax); the import failed with: {exc}") from exc
    if not keras.__version__.startswith("3"):    # pragma: no cover
        raise ImportError(f"fit_keras needs Keras 3, found Keras {keras.__version__}")
    return keras


def keras_version() -> str:
    """``"Keras <version>, backend <name>"`` of the Keras that :func:`fit_keras` uses."""
    keras = import_keras()
    return f"Keras {keras.__version__}, backend {keras.backend.backend()}"


def keras_expmf(model: ExpMF, theta0: np.ndarray) -> Any:
    """The question's Keras model for ``model`` (shape, rank, ``l2``), started at ``theta0``.

    Parameters
    ----------
    model : ExpMF
        Gives the table sizes :math:`m, n`, the rank :math:`k` and :math:`\\lambda`.
    theta0 : ndarray, shape (model.dim,)
        Log-factors ``[P.ravel(), S.ravel()]``, copied into the two embedding tables (in
        float32).

    Returns
    -------
    keras.Model
        Inputs ``(product index, store index)``, each of shape ``(batch, 1)``; output
        :math:`\\hat r` of shape ``(batch,)``; not compiled.
    """
    if not isinstance(model, ExpMF):
        raise TypeError(f"model must be a mfbook.nmf.ExpMF, got {type(model).__name__}")
    P0, S0 = model.unpack(theta0)
    if not (np.all(np.isfinite(P0)) and np.all(np.isfinite(S0))):
        raise ValueError("theta0 must be finite")
    keras = import_keras()
    layers, ops = keras.layers, keras.ops
    m, n = model.shape
    k = model.rank
    reg = keras.regularizers.L2(model.reg) if model.reg > 0 else None
    inputs = (keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32"))
    prod_emb = layers.Embedding(m, k, embeddings_regularizer=reg, name="products")
    store_emb = layers.Embedding(n, k, embeddings_regularizer=reg, name="stores")
    x_prod = ops.exp(prod_emb(inputs[0]))         # (batch, 1, k)
    x_store = ops.exp(store_emb(inputs[1]))
    out = ops.sum(x_prod * x_store, axis=(1, 2))  # (batch,)
    net = keras.Model(inputs, out)
    prod_emb.embeddings.assign(P0.astype(np.float32))
    store_emb.embeddings.assign(S0.astype(np.float32))
    return net


def keras_theta(net: Any) -> np.ndarray:
    """The parameter vector ``[P.ravel(), S.ravel()]`` (float64) of a :func:`keras_expmf` model."""
    ops = import_keras().ops
    P = np.asarray(ops.convert_to_numpy(net.get_layer("products").embeddings), dtype=np.float64)
    S = np.asarray(ops.convert_to_numpy(net.get_layer("stores").embeddings), dtype=np.float64)
    return np.concatenate([P.ravel(), S.ravel()])


def keras_predict_matrix(model: ExpMF, theta: np.ndarray, *, batch_size: int = 2**14) -> np.ndarray:
    """The full :math:`m \times n` prediction of the Keras model with weights ``theta``.

    Computed by Keras itself (``Model.predict`` on every (row, column) pair, float32), so
    that a diagnosis such as the singular values of the fitted matrix is applied to the
    Keras model's own output, not to a NumPy re-evaluation of its weights.
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    net = keras_expmf(model, theta)
    m, n = model.shape
    rows, cols = np.divmod(np.arange(m * n, dtype=np.int32), np.int32(n))
    with _without_copy_warnings():
        pred = net.predict((rows[:, None], cols[:, None]), batch_size=batch_size, verbose=0)
    return np.asarray(pred, dtype=np.float64).reshape(m, n)



@contextlib.contextmanager
def _without_copy_warnings():
    """Silence one known warning: Keras 3.15 converts JAX arrays with
    ``np.array(x, copy=False)`` in ``get_weights``, ``predict`` and its callbacks, and NumPy 2
    warns about that on every call (it would fill the notebooks' stored outputs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                message=".*__array__ implementation.*")
        yield


def _fit(net: Any, batches: Any, steps: int, epochs: int, validation: Any, batch_size: int,
         callbacks: list[Any]) -> Any:
    """``net.fit`` on a generator of ready-made batches, in the given order (no shuffling)."""
    return net.fit(batches, steps_per_epoch=steps, epochs=epochs, verbose=0, shuffle=False,
                   validation_data=validation, validation_batch_size=batch_size,
                   callbacks=callbacks)

def _keras_callbacks(keras: Any, callbacks: Sequence[Callback]) -> list[Any]:
    out = []
    for cb in callbacks:
        if isinstance(cb, EarlyStopping):
            out.append(keras.callbacks.EarlyStopping(
                monitor=cb.monitor, min_delta=cb.min_delta, patience=cb.patience, mode=cb.mode,
                restore_best_weights=cb.restore_best_weights))
        elif isinstance(cb, ReduceLROnPlateau):
            out.append(keras.callbacks.ReduceLROnPlateau(
                monitor=cb.monitor, factor=cb.factor, patience=cb.patience, mode=cb.mode,
                min_delta=cb.min_delta, cooldown=cb.cooldown, min_lr=cb.min_lr))
        else:
            raise TypeError("callbacks must be mfbook.nmf.EarlyStopping or ReduceLROnPlateau "
                            f"objects (translated to Keras'), got {type(cb).__name__}")
    return out


def fit_keras(
    model: ExpMF,
    theta0: np.ndarray,
    optimizer: Adam,
    *,
    batch_size: int,
    epochs: int,
    val: Ratings | None = None,
    callbacks: Sequence[Callback] = (),
    seed: SeedLike = None,
    extra: Callable[[np.ndarray], dict[str, float]] | None = None,
) -> KerasFit:
    """Train :func:`keras_expmf` with ``keras.Model.fit``; arguments as in :func:`fit_keras_like`.

    Parameters
    ----------
    model : ExpMF
        The training entries (``model.ratings``), the rank and the ``l2`` factor.
    theta0 : ndarray
        Start; cast to float32 (pass ``theta0.astype(np.float32)`` to both trainers for
        an identical start).
    optimizer : mfbook.core.Adam
        Must be the Keras form (``eps_hat=True``, with bias correction); translated to
        ``keras.optimizers.Adam(lr, beta1, beta2, eps)``.
    batch_size, epochs : int
    val : Ratings, optional
        Validation entries (``validation_data`` of ``fit``, batches of ``batch_size``).
    callbacks : sequence of EarlyStopping / ReduceLROnPlateau
        Their settings are given to Keras' own callbacks of the same names.
    seed : int or Generator
        Seed of the per-epoch shuffles, drawn exactly as :func:`fit_keras_like` draws them
        (:func:`keras_like_batches`); Keras' own shuffling is off.
    extra : callable, optional
        ``extra(theta)`` at the end of every epoch, as in :func:`fit_keras_like`.

    Returns
    -------
    KerasFit
        ``history["loss"]``, ``["val_loss"]`` as Keras logged them, ``["lr"]`` the rate
        used in each epoch, ``["train_mse"]``, ``["val_mse"]`` and ``["penalty"]`` of the
        float32 weights at the end of each epoch evaluated in float64 by ``model``;
        ``theta`` the final weights (after a restore), ``stopped_epoch``,
        ``restored_epoch`` and ``lr_reductions`` as Keras' callbacks decided them.
    """
    if not isinstance(optimizer, Adam):
        raise TypeError(f"optimizer must be a mfbook.core.Adam, got {type(optimizer).__name__}")
    if not (optimizer.eps_hat and optimizer.bias_correction):
        raise ValueError("optimizer must be Keras' form of Adam: eps_hat=True and "
                         "bias_correction=True")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    if val is not None and not isinstance(val, Ratings):
        raise TypeError(f"val must be a Ratings, got {type(val).__name__}")
    if val is not None and val.shape != model.ratings.shape:
        raise ValueError(f"val must have shape {model.ratings.shape}, got {val.shape}")
    keras = import_keras()
    net = keras_expmf(model, theta0)
    net.compile(optimizer=keras.optimizers.Adam(
        learning_rate=optimizer.lr, beta_1=optimizer.beta1, beta_2=optimizer.beta2,
        epsilon=optimizer.eps), loss="mse")
    R = model.ratings
    rows = R.rows.astype(np.int32)[:, None]
    cols = R.cols.astype(np.int32)[:, None]
    y = R.values.astype(np.float32)
    N = R.nnz
    steps = -(-N // batch_size)

    def batches():
        for idx in keras_like_batches(N, batch_size, epochs, seed):
            yield (rows[idx], cols[idx]), y[idx]

    record: dict[str, list[float]] = {k: [] for k in ("lr", "train_mse", "val_mse", "penalty")}

    class _Recorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            record["lr"].append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

        def on_epoch_end(self, epoch, logs=None):
            theta = keras_theta(self.model)
            record["train_mse"].append(model.mse(theta))
            record["val_mse"].append(model.mse(theta, val) if val is not None else np.nan)
            record["penalty"].append(model.penalty(theta))
            if extra is not None:
                for key, value in extra(theta).items():
                    record.setdefault(key, []).append(float(value))

    kcbs = _keras_callbacks(keras, callbacks)
    # A cut is read from the next epoch's starting rate (the last one from the final rate).
    validation = None
    if val is not None:
        validation = ((val.rows.astype(np.int32)[:, None], val.cols.astype(np.int32)[:, None]),
                      val.values.astype(np.float32))
    start = time.perf_counter()
    with _without_copy_warnings():
        h = _fit(net, batches(), steps, epochs, validation, batch_size, [_Recorder(), *kcbs])
        theta_end = keras_theta(net)
        lr_end = float(keras.ops.convert_to_numpy(net.optimizer.learning_rate))
    wall = time.perf_counter() - start
    n_epochs = len(h.history["loss"])
    lrs = record["lr"][:n_epochs]
    after = lrs[1:] + [lr_end]
    reductions = [e for e in range(n_epochs) if after[e] < lrs[e]]
    stopped, restored = None, None
    for cb in kcbs:
        if isinstance(cb, keras.callbacks.EarlyStopping):
            if cb.stopped_epoch > 0:
                stopped = int(cb.stopped_epoch)
            if cb.restore_best_weights and cb.best_weights is not None:
                restored = int(cb.best_epoch)
    history = {"loss": np.array(h.history["loss"], dtype=np.float64),
               "val_loss": np.array(h.history.get("val_loss", [np.nan] * n_epochs),
                                    dtype=np.float64)}
    for key, values in record.items():
        history[key] = np.array(values[:n_epochs], dtype=np.float64)
    return KerasFit(theta=theta_end, history=history, n_epochs=n_epochs, n_steps=n_epochs * steps,
                    stopped_epoch=stopped, restored_epoch=restored, wall_time=wall,
                    lr_reductions=reductions)


def keras_mlp(shape: tuple[int, int], rank: int, n_steps: int, *, spacing: str = "log",
              reg: float = 1e-6) -> Any:
    """The question's second model: concatenated embeddings squeezed to one output.

    Two ``Embedding`` tables of width ``rank`` (Keras' default uniform start, ``l2(reg)``)
    are concatenated (width :math:`2k`), passed through ``n_steps`` blocks
    ``Dense(d, activation="elu")`` + ``BatchNormalization`` with widths ``d`` interpolated
    from :math:`2k` down to 1 (``spacing="log"``: geometrically, ``"linear"``: linearly,
    rounded and made strictly decreasing, first and last dropped, as in the question), and
    a final ``Dense(1, activation="exponential")``, so predictions stay positive.
    """
    m, n = (check_int("shape[0]", shape[0], minimum=1), check_int("shape[1]", shape[1], minimum=1))
    rank = check_int("rank", rank, minimum=1)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    if spacing not in ("log", "linear"):
        raise ValueError(f"spacing must be 'log' or 'linear', got {spacing!r}")
    keras = import_keras()
    layers, ops = keras.layers, keras.ops
    width = 2 * rank
    if spacing == "log":
        dims = np.exp(np.linspace(np.log(width), 0, n_steps + 2)).round().astype(int)
    else:
        dims = np.linspace(width, 1, n_steps + 2).round().astype(int)
    for i in range(len(dims) - 1, 0, -1):       # strictly decreasing, as in the question
        if dims[i - 1] <= dims[i]:
            dims[i - 1] = dims[i] + 1
    l2 = keras.regularizers.L2(reg) if reg > 0 else None
    inputs = (keras.Input((1,), dtype="int32"), keras.Input((1,), dtype="int32"))
    x = ops.concatenate([layers.Embedding(m, rank, embeddings_regularizer=l2)(inputs[0]),
                         layers.Embedding(n, rank, embeddings_regularizer=l2)(inputs[1])], axis=-1)
    for d in (dims[1:-1] if n_steps > 0 else []):
        x = layers.BatchNormalization()(layers.Dense(int(d), activation="elu")(x))
    out = ops.reshape(layers.Dense(1, activation="exponential")(x), (-1,))
    return keras.Model(inputs, out)


def fit_keras_network(net: Any, ratings: Ratings, *, lr: float, batch_size: int, epochs: int,
                      val: Ratings | None = None, callbacks: Sequence[Callback] = (),
                      seed: SeedLike = None) -> dict[str, Any]:
    """Train any Keras model on (row, column) inputs with ``Model.fit`` and Keras' Adam.

    Batches from :func:`keras_like_batches`, callbacks translated as in :func:`fit_keras`.
    Returns the Keras history (``loss``, ``val_loss``, ``learning_rate`` per epoch) and the
    final training and validation MSE of ``Model.predict`` (after any weight restore).
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    lr = check_real("lr", lr, minimum=0.0, min_open=True)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    epochs = check_int("epochs", epochs, minimum=1)
    keras = import_keras()
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=lr), loss="mse")
    as_input = lambda R: (R.rows.astype(np.int32)[:, None], R.cols.astype(np.int32)[:, None])
    rows, cols = as_input(ratings)
    y = ratings.values.astype(np.float32)
    steps = -(-ratings.nnz // batch_size)

    def batches():
        for idx in keras_like_batches(ratings.nnz, batch_size, epochs, seed):
            yield (rows[idx], cols[idx]), y[idx]

    validation = None if val is None else (as_input(val), val.values.astype(np.float32))
    start = time.perf_counter()
    with _without_copy_warnings():
        h = _fit(net, batches(), steps, epochs, validation, batch_size,
                 _keras_callbacks(keras, callbacks))
        mse = lambda R: float(np.mean((np.asarray(net.predict(as_input(R), batch_size=2**14,
                                                                verbose=0)) - R.values) ** 2))
        out = {"history": {k: [float(v) for v in vals] for k, vals in h.history.items()},
               "n_epochs": len(h.history["loss"]), "train_mse": mse(ratings),
               "val_mse": mse(val) if val is not None else float("nan"),
               "n_params": int(net.count_params())}
    out["wall_time"] = time.perf_counter() - start
    return out
