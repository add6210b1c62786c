"""A latent factor recommender in the scikit-learn style, with four solvers.

:class:`MatrixFactorization` fits the plain model :math:`\\hat r_{ij} = \\mathbf u_i^\\top
\\mathbf v_j` or the biased model :math:`\\hat r_{ij} = \\mu + b_i + c_j + \\mathbf u_i^\\top
\\mathbf v_j` to a :class:`~mfbook.core.Ratings` set.  Hyper-parameters go to the
constructor, :meth:`~MatrixFactorization.fit` learns, and the learned state lives in
attributes ending in ``_``.

**One objective, four solvers.**  Every solver minimizes the same objective, the sum form
of the book's :class:`~mfbook.core.MFObjective` (see the *Notation* page),

.. math::

    L(\\theta) = \\sum_{(i,j) \\in \\Omega} e_{ij}^2
      + \\lambda \\Big(\\sum_i w_i \\lVert\\mathbf u_i\\rVert^2
                      + \\sum_j w'_j \\lVert\\mathbf v_j\\rVert^2\\Big)
      + \\lambda_b \\Big(\\sum_i w_i b_i^2 + \\sum_j w'_j c_j^2\\Big),

with :math:`w_i = w'_j = 1` (``reg_weighting="uniform"``, a single global penalty) or
:math:`w_i = n_i`, :math:`w'_j = n_j`, the numbers of training ratings
(``reg_weighting="count"``, the ALS-WR penalty of Zhou et al. and of Spark's ALS).  It is
available after fitting as ``objective_``.

* ``solver="als"`` alternates exact minimizations over the user block and the item block
  (:func:`mfbook.recommender.als_half_sweep`); one epoch is one sweep, users then items.
* The stochastic solvers follow unbiased estimates of :math:`\\nabla L / N`, with
  :math:`N = |\\Omega|`, so that a learning rate means the same thing on any data size.  On a
  batch :math:`B` of ratings the estimate is
  :math:`\\frac{1}{|B|}\\sum_{(i,j)\\in B}\\nabla e_{ij}^2` plus a penalty term placed in
  one of two ways (``penalty``):

  - ``"rows"``: each rating penalizes its own user and item, with
    :math:`2\\lambda (w_i / n_i)\\,\\mathbf u_i` and :math:`2\\lambda (w'_j/n_j)\\,\\mathbf v_j`
    (and likewise for the biases).  With count weights this is
    :math:`2\\lambda\\mathbf u_i`: the per-rating regularization of Funk-style SGD.
  - ``"all"``: every step penalizes every row with :math:`2(\\lambda w_i / N)\\,\\mathbf u_i`,
    the gradient of the penalty of :math:`L/N` (weight decay on the whole embedding table).

  Both average to :math:`\\nabla L/N` over one pass, so both minimize :math:`L`.  A code
  that adds :math:`2\\lambda_\\text{code}\\,U` to every mini-batch gradient of a batch
  *mean* is ``penalty="all"`` with :math:`\\lambda = N\\lambda_\\text{code}`.

  ``solver="sgd"``: one rating at a time, ratings in a fresh random order every epoch,
  :math:`\\theta \\leftarrow \\theta - \\eta\\,g`, the user and item rows updated
  simultaneously from their values before the step (the textbook loop).  Costs
  :math:`O(Nk)` per epoch for either penalty (``"all"`` is applied lazily, row by row).
  ``solver="minibatch"``: batches of ``batch_size`` consecutive ratings of the shuffled
  order, plain steps or heavy-ball momentum :math:`m \\leftarrow \\beta m - \\eta g,\\
  \\theta \\leftarrow \\theta + m`.  ``solver="adam"``: Adam with bias correction
  :cite:`kingma2015adam` on the same batches.  Plain mini-batch steps with
  ``penalty="rows"`` cost :math:`O(Nk)` per epoch; momentum, Adam and ``penalty="all"``
  change every parameter at every step, :math:`O(Nk + \\lceil N/B\\rceil (m + n) k)`.

The learning rate of epoch :math:`t = 1, 2, \\dots` is :math:`\\eta\\,\\gamma^{t-1}`
(``lr_decay`` :math:`= \\gamma`).  With validation data, ``history_`` records the validation
RMSE after every epoch, and ``early_stopping=True`` stops once it has not improved by more
than ``min_delta`` for ``patience`` epochs and restores the best parameters.

**Users and items without training ratings.**  Their factors are never fitted (a random
start for SGD, zero for ALS), so :meth:`~MatrixFactorization.predict` does not use them.
``cold_start`` decides what it does instead for a pair whose user or item has no training
rating or lies outside the training shape: ``"baseline"`` predicts the part of the model
that is known (:math:`\\mu + b_i + c_j` with the unknown bias set to 0 in the biased model,
the training mean in the plain model), ``"nan"`` returns NaN, ``"raise"`` raises a
``ValueError``.  ``known_rows_`` and ``known_cols_`` say which are known.

**Reproducing a random stream.**  ``random_state`` may be a ``numpy.random.Generator``,
used as is: the fit draws the starting factors, :math:`U` then :math:`V` from
:math:`\\mathcal N(0, \\text{init\\_std}^2)`, then one permutation of the training ratings
per epoch for the stochastic solvers.  That is the order of draws of the latent factor
project, so passing its generator replays it draw for draw.
"""

from __future__ import annotations

import inspect
import time
from typing import Any, Literal

import numpy as np

from ..core import (DivergenceError, MFObjective, Ratings, SeedLike, as_generator,
                    progress_bar, rmse)
from ._als import als_half_sweep

__all__ = ["MatrixFactorization", "SOLVERS"]

SOLVERS = ("sgd", "minibatch", "adam", "als")
_DEFAULT_BATCH = 32


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _nonneg(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not (np.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _unit(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


class MatrixFactorization:
    """Latent factor model fitted by SGD, mini-batch SGD (with momentum), Adam or ALS.

    Parameters
    ----------
    rank : int
        Number of factors :math:`k`.
    solver : {"sgd", "minibatch", "adam", "als"}
        See the module documentation.
    biased : bool
        Fit :math:`\\mu + b_i + c_j + \\mathbf u_i^\\top\\mathbf v_j` (:math:`\\mu` fixed, the
        training mean unless ``mu`` is given) instead of :math:`\\mathbf u_i^\\top\\mathbf v_j`.
    reg, reg_bias : float
        :math:`\\lambda` and :math:`\\lambda_b` of the sum-form objective; ``reg_bias``
        defaults to ``reg``.
    reg_weighting : {"uniform", "count"}
        Penalty weights :math:`w_i = 1` or :math:`w_i = n_i` (ALS-WR).
    penalty : {"rows", "all"}
        Where a stochastic step puts the penalty gradient (ignored by ALS).
    lr : float
        Learning rate :math:`\\eta` of the stochastic solvers, for steps along estimates of
        :math:`\\nabla L/N`.
    lr_decay : float
        Factor :math:`\\gamma \\in (0, 1]` applied to the learning rate after each epoch.
    n_epochs : int
        Maximum number of epochs (ALS: sweeps).
    tol : float, optional
        Stop once an epoch lowers the objective by less than ``tol`` times its value
        (for ALS, whose objective never increases, a convergence test).
    batch_size : int, optional
        Ratings per step of ``"minibatch"`` and ``"adam"`` (default 32); ``"sgd"`` uses 1.
    momentum : float
        Heavy-ball coefficient :math:`\\beta` of ``"minibatch"`` (0: plain steps).
    beta1, beta2, eps : float
        Adam's moment decay rates and :math:`\\epsilon`.
    init_std : float
        Standard deviation of the random starting factors (biases start at 0).
    mu : float, optional
        Fixed offset of the biased model (default: mean of the training ratings).
    early_stopping : bool
        Stop on the validation RMSE (needs ``valid`` in :meth:`fit`).
    patience : int
        Epochs without an improvement larger than ``min_delta`` before stopping.
    min_delta : float
        Smallest decrease of the validation RMSE that counts as an improvement.
    clip : (float, float), optional
        Clip predictions to this range (e.g. the 1-5 star scale), in :meth:`predict` and in
        every RMSE of ``history_``.  The objective itself is never clipped.
    cold_start : {"baseline", "nan", "raise"}
        Prediction for users or items without training ratings (module documentation).
    random_state : int, Generator or None
        Seed or generator of the starting point and of the shuffles.
    progress : bool or None
        Show a progress bar (None: only in a terminal, never in a notebook).

    Attributes
    ----------
    theta_ : ndarray
        All parameters as one vector, laid out as in ``objective_``.
    U_, V_ : ndarray
        Factors, shapes ``(m, k)`` and ``(n, k)`` (views into ``theta_``).
    row_bias_, col_bias_ : ndarray or None
        Biases :math:`b`, :math:`c` of the biased model.
    mu_ : float
        :math:`\\mu` of the biased model, 0 for the plain model.
    global_mean_ : float
        Mean training rating (the plain model's cold-start prediction).
    objective_ : MFObjective
        The objective :math:`L` on the training data.
    history_ : dict of ndarray
        Per epoch, starting with epoch 0 (the starting point): ``"epoch"``, ``"loss"``
        (:math:`L`), ``"train_rmse"``, ``"valid_rmse"`` (NaN without validation data),
        ``"lr"`` (learning rate used in that epoch; NaN at epoch 0 and for ALS) and
        ``"time"`` (cumulative seconds of training, evaluation excluded).
    n_epochs_ : int
        Epochs performed.
    best_epoch_ : int or None
        Epoch (0 = the starting point) with the lowest validation RMSE, an improvement
        counting only if larger than ``min_delta``; None without validation data.  With
        early stopping, the parameters of this epoch are the ones kept.
    stopped_early_ : bool
        Whether early stopping ended the fit.
    converged_ : bool
        Whether the ``tol`` test ended the fit.
    known_rows_, known_cols_ : ndarray of bool
        Users and items with at least one training rating.
    fit_time_ : float
        Seconds spent training (evaluation excluded).
    """

    def __init__(
        self,
        rank: int = 10,
        *,
        solver: Literal["sgd", "minibatch", "adam", "als"] = "sgd",
        biased: bool = False,
        reg: float = 0.0,
        reg_bias: float | None = None,
        reg_weighting: Literal["uniform", "count"] = "uniform",
        penalty: Literal["rows", "all"] = "rows",
        lr: float = 0.01,
        lr_decay: float = 1.0,
        n_epochs: int = 20,
        tol: float | None = None,
        batch_size: int | None = None,
        momentum: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        init_std: float = 0.1,
        mu: float | None = None,
        early_stopping: bool = False,
        patience: int = 10,
        min_delta: float = 0.0,
        clip: tuple[float, float] | None = None,
        cold_start: Literal["baseline", "nan", "raise"] = "baseline",
        random_state: SeedLike = None,
        progress: bool | None = None,
    ) -> None:
        self.rank = rank
        self.solver = solver
        self.biased = biased
        self.reg = reg
        self.reg_bias = reg_bias
        self.reg_weighting = reg_weighting
        self.penalty = penalty
        self.lr = lr
        self.lr_decay = lr_decay
        self.n_epochs = n_epochs
        self.tol = tol
        self.batch_size = batch_size
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.init_std = init_std
        self.mu = mu
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.clip = clip
        self.cold_start = cold_start
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as a dict (scikit-learn convention)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "MatrixFactorization":
        """Set constructor arguments by name; unknown names raise ``ValueError``."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown parameter {name!r}; valid parameters: {sorted(valid)}")
            setattr(self, name, value)
        return self

    def clone(self, **changes: Any) -> "MatrixFactorization":
        """A new, unfitted estimator with the same parameters, except ``changes``."""
        params = self.get_params()
        params.update(changes)
        return type(self)(**params)

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name in self._param_names():
            value = getattr(self, name)
            if name == "rank" or not _same(value, defaults.get(name)):
                shown.append(f"{name}={value!r}" if not isinstance(value, np.random.Generator)
                             else f"{name}=Generator")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _validated(self) -> dict[str, Any]:
        """Check every hyper-parameter; return the normalized values."""
        p: dict[str, Any] = {}
        p["rank"] = _positive_int("rank", self.rank)
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {self.solver!r}")
        p["solver"] = self.solver
        if not isinstance(self.biased, (bool, np.bool_)):
            raise ValueError(f"biased must be True or False, got {self.biased!r}")
        p["biased"] = bool(self.biased)
        p["reg"] = _nonneg("reg", self.reg)
        p["reg_bias"] = p["reg"] if self.reg_bias is None else _nonneg("reg_bias", self.reg_bias)
        if self.reg_weighting not in ("uniform", "count"):
            raise ValueError(f"reg_weighting must be 'uniform' or 'count', got {self.reg_weighting!r}")
        if self.penalty not in ("rows", "all"):
            raise ValueError(f"penalty must be 'rows' or 'all', got {self.penalty!r}")
        if not (isinstance(self.lr, (int, float, np.floating, np.integer))
                and not isinstance(self.lr, bool) and np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.lr_decay, (int, float, np.floating, np.integer))
                and not isinstance(self.lr_decay, bool) and 0.0 < self.lr_decay <= 1.0):
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay!r}")
        p["n_epochs"] = _positive_int("n_epochs", self.n_epochs)
        p["tol"] = None if self.tol is None else _nonneg("tol", self.tol)
        if self.solver == "sgd":
            if self.batch_size not in (None, 1):
                raise ValueError(
                    f"solver='sgd' updates after every rating (batch_size 1), got "
                    f"batch_size={self.batch_size!r}; use solver='minibatch' for batches")
            p["batch_size"] = 1
        elif self.batch_size is None:
            p["batch_size"] = _DEFAULT_BATCH
        else:
            p["batch_size"] = _positive_int("batch_size", self.batch_size)
        p["momentum"] = _unit("momentum", self.momentum)
        if p["momentum"] > 0 and self.solver != "minibatch":
            raise ValueError(
                f"momentum is used by solver='minibatch' only, got momentum={self.momentum!r} "
                f"with solver={self.solver!r} (Adam's momentum is beta1)")
        p["beta1"] = _unit("beta1", self.beta1)
        p["beta2"] = _unit("beta2", self.beta2)
        if not (isinstance(self.eps, (int, float, np.floating, np.integer))
                and not isinstance(self.eps, bool) and np.isfinite(self.eps)
                and self.eps > 0):
            raise ValueError(f"eps must be a finite number > 0, got {self.eps!r}")
        p["init_std"] = _nonneg("init_std", self.init_std)
        if self.mu is not None:
            if not self.biased:
                raise ValueError("mu is the offset of the biased model; it needs biased=True")
            if not np.isfinite(self.mu):
                raise ValueError(f"mu must be finite, got {self.mu!r}")
        if not isinstance(self.early_stopping, (bool, np.bool_)):
            raise ValueError(f"early_stopping must be True or False, got {self.early_stopping!r}")
        p["patience"] = _positive_int("patience", self.patience)
        p["min_delta"] = _nonneg("min_delta", self.min_delta)
        if self.clip is not None:
            try:
                lo, hi = (float(c) for c in self.clip)
            except (TypeError, ValueError):
                raise ValueError(f"clip must be None or a pair (low, high), got {self.clip!r}") from None
            if not lo < hi:
                raise ValueError(f"clip must satisfy low < high, got {self.clip!r}")
            p["clip"] = (lo, hi)
        else:
            p["clip"] = None
        if self.cold_start not in ("baseline", "nan", "raise"):
            raise ValueError(
                f"cold_start must be 'baseline', 'nan' or 'raise', got {self.cold_start!r}")
        return p

    # ------------------------------------------------------------------ fitting
    def fit(self, train: Ratings, valid: Ratings | None = None) -> "MatrixFactorization":
        """Fit the model to ``train``; ``valid`` is monitored (and used by early stopping).

        Parameters
        ----------
        train : Ratings
            The training ratings.
        valid : Ratings, optional
            Validation ratings of the same matrix shape.  They never influence a parameter
            update; with ``early_stopping=True`` they choose the epoch whose parameters are
            kept.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            On invalid hyper-parameters or data (the message names the argument).
        DivergenceError
            If the loss becomes non-finite (the learning rate is too large).
        """
        p = self._validated()
        if not isinstance(train, Ratings):
            raise ValueError(f"train must be a mfbook.core.Ratings, got {type(train).__name__}")
        if valid is not None:
            if not isinstance(valid, Ratings):
                raise ValueError(f"valid must be a mfbook.core.Ratings or None, got {type(valid).__name__}")
            if valid.shape != train.shape:
                raise ValueError(
                    f"valid must have the shape of train {train.shape}, got {valid.shape}")
        if self.early_stopping and valid is None:
            raise ValueError("early_stopping=True needs validation data: call fit(train, valid)")

        rng = as_generator(self.random_state)
        obj = MFObjective(train, p["rank"], reg=p["reg"], reg_bias=p["reg_bias"],
                          reg_weighting=self.reg_weighting, biased=p["biased"], mu=self.mu)
        self.objective_ = obj
        self.global_mean_ = train.mean()
        self.mu_ = obj.mu
        self.known_rows_ = train.row_counts() > 0
        self.known_cols_ = train.col_counts() > 0
        self._clip = p["clip"]
        self._set_theta(obj.random_params(p["init_std"], seed=rng))
        # What the per-epoch evaluation needs: the penalty weight of every parameter, and
        # writable index arrays (one compiled specialization for every caller).
        m, n = train.shape
        w = np.concatenate([obj.row_weights, obj.col_weights])
        self._penalty_weights = np.concatenate(
            [np.repeat(p["reg"] * w, p["rank"])] + ([p["reg_bias"] * w] if p["biased"] else []))
        self._train_index = (np.array(train.rows), np.array(train.cols))
        self._valid_fast = None
        self._no_valid = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
        if valid is not None:
            known = self.known_rows_[valid.rows] & self.known_cols_[valid.cols]
            if known.all():   # no cold-start rule needed: evaluate with the kernel directly
                self._valid_fast = (np.array(valid.rows), np.array(valid.cols),
                                    np.array(valid.values))

        hist: dict[str, list[float]] = {k: [] for k in
                                        ("epoch", "loss", "train_rmse", "valid_rmse", "lr", "time")}
        self._record(hist, 0, valid, np.nan, 0.0)
        best = (hist["valid_rmse"][0], 0, self.theta_.copy())   # (rmse, epoch, parameters)
        wait = 0
        self.stopped_early_ = False
        self.converged_ = False
        train_time = 0.0
        step_fn = self._als_epoch if p["solver"] == "als" else self._stochastic_setup(p, train)
        desc = {"sgd": "SGD", "minibatch": "mini-batch", "adam": "Adam", "als": "ALS"}[p["solver"]]
        with progress_bar(p["n_epochs"], desc, self.progress) as bar:
            for epoch in range(1, p["n_epochs"] + 1):
                lr = float(self.lr) * float(self.lr_decay) ** (epoch - 1)
                start = time.perf_counter()
                step_fn(rng, lr)
                train_time += time.perf_counter() - start
                self._record(hist, epoch, valid, lr if p["solver"] != "als" else np.nan,
                             train_time)
                loss = hist["loss"][-1]
                if not np.isfinite(loss):
                    raise DivergenceError(
                        f"the loss became non-finite in epoch {epoch} with solver="
                        f"{p['solver']!r} and lr={lr:.4g}; lower the learning rate")
                bar.update(train_rmse=hist["train_rmse"][-1], valid_rmse=hist["valid_rmse"][-1])
                converged = (p["tol"] is not None
                             and hist["loss"][-2] - loss <= p["tol"] * abs(loss))
                if valid is not None:
                    score = hist["valid_rmse"][-1]
                    if score < best[0] - p["min_delta"]:
                        best = (score, epoch, self.theta_.copy())
                        wait = 0
                    else:
                        wait += 1
                    if self.early_stopping and wait >= p["patience"]:
                        self.stopped_early_ = True
                        break
                if converged:
                    self.converged_ = True
                    break
        self.history_ = {k: np.asarray(v, dtype=np.float64) for k, v in hist.items()}
        self.history_["epoch"] = self.history_["epoch"].astype(int)
        self.n_epochs_ = int(self.history_["epoch"][-1])
        self.fit_time_ = train_time
        self.best_epoch_ = None if valid is None else best[1]
        if self.early_stopping and best[1] != self.n_epochs_:
            self._set_theta(best[2])
        return self

    def _set_theta(self, theta: np.ndarray) -> None:
        self.theta_ = np.ascontiguousarray(theta, dtype=np.float64)
        f = self.objective_.unpack(self.theta_)
        self.U_, self.V_ = f.U, f.V
        self.row_bias_, self.col_bias_ = f.row_bias, f.col_bias

    def _record(self, hist: dict[str, list[float]], epoch: int, valid: Ratings | None,
                lr: float, elapsed: float) -> None:
        from ._kernels import evaluate

        obj = self.objective_
        m, n = obj.shape
        vrows, vcols, vvals = self._valid_fast if self._valid_fast is not None else self._no_valid
        lo, hi = self._clip if self._clip is not None else (0.0, 0.0)
        loss, sse_train, sse_valid = evaluate(
            self.theta_, m, n, obj.rank, obj.biased, float(self.mu_), self._penalty_weights,
            *self._train_index, obj.ratings.values, vrows, vcols, vvals,
            self._clip is not None, lo, hi)
        if self._valid_fast is not None:
            valid_rmse = float(np.sqrt(sse_valid / len(vvals)))
        elif valid is not None:   # some pairs need the cold-start rule
            valid_rmse = self.rmse(valid)
        else:
            valid_rmse = np.nan
        hist["epoch"].append(epoch)
        hist["loss"].append(float(loss))
        hist["train_rmse"].append(float(np.sqrt(sse_train / obj.ratings.nnz)))
        hist["valid_rmse"].append(valid_rmse)
        hist["lr"].append(lr)
        hist["time"].append(elapsed)

    def _predict_known(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The model at in-range pairs (int64 arrays), cold-start rules not applied."""
        from ._kernels import predict_pairs

        m, n = self.objective_.shape
        out = np.empty(rows.shape[0])
        predict_pairs(self.theta_, m, n, self.objective_.rank, self.objective_.biased,
                      float(self.mu_), rows, cols, out)
        return out

    def _als_epoch(self, rng: np.random.Generator, lr: float) -> None:
        theta = als_half_sweep(self.objective_, self.theta_, "rows")
        self._set_theta(als_half_sweep(self.objective_, theta, "cols"))

    def _penalty_coefficients(self, p: dict[str, Any], train: Ratings) -> tuple[np.ndarray, np.ndarray]:
        """Per row of U then V: the coefficients c with which a step adds ``2 c x`` to the
        gradient of that row's factors and of its bias."""
        m, n = train.shape
        counts = np.concatenate([train.row_counts(), train.col_counts()]).astype(np.float64)
        weights = counts if self.reg_weighting == "count" else np.ones(m + n)
        if self.penalty == "rows":
            # Spread a row's penalty over its ratings; rows without ratings never move.
            share = np.divide(weights, counts, out=np.zeros(m + n), where=counts > 0)
        else:
            share = weights / train.nnz
        return p["reg"] * share, p["reg_bias"] * share

    def _stochastic_setup(self, p: dict[str, Any], train: Ratings):
        """Buffers of the compiled epoch functions, and a closure running one epoch."""
        from . import _kernels   # numba is imported on first use only

        m, n = train.shape
        k = p["rank"]
        pen, pen_bias = self._penalty_coefficients(p, train)
        all_rows = self.penalty == "all"
        biased = p["biased"]
        mu = float(self.mu_)
        N = train.nnz

        def shuffled(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            order = rng.permutation(N)
            return train.rows[order], train.cols[order], train.values[order]

        if p["solver"] == "sgd":
            last = np.zeros(m + n, dtype=np.int64)

            def epoch_sgd(rng: np.random.Generator, lr: float) -> None:
                rows, cols, vals = shuffled(rng)
                _kernels.sgd_epoch(rows, cols, vals, self.theta_, m, k, biased, mu, lr,
                                   pen, pen_bias, all_rows, last)
            return epoch_sgd

        method = 2 if p["solver"] == "adam" else (1 if p["momentum"] > 0 else 0)
        d = self.theta_.size
        grad = np.zeros(d)
        mom = np.zeros(d if method > 0 else 0)
        sec = np.zeros(d if method == 2 else 0)
        mark = np.full(m + n, -1, dtype=np.int64)
        beta1 = p["momentum"] if method == 1 else p["beta1"]
        state = {"step": 0}

        def epoch_batch(rng: np.random.Generator, lr: float) -> None:
            rows, cols, vals = shuffled(rng)
            state["step"] = _kernels.minibatch_epoch(
                rows, cols, vals, p["batch_size"], self.theta_, m, k, biased, mu, lr,
                pen, pen_bias, all_rows, method, beta1, p["beta2"], float(self.eps),
                state["step"], grad, mom, sec, mark)
        return epoch_batch

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "theta_"):
            raise ValueError("this MatrixFactorization is not fitted yet; call fit(train) first")

    def predict(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Predicted ratings :math:`\\hat r_{ij}` for the pairs ``(rows[t], cols[t])``.

        Pairs whose user or item has no training rating (or lies outside the training
        shape) follow ``cold_start``; predictions are clipped if ``clip`` is set.

        Raises
        ------
        ValueError
            If the model is not fitted, the index arrays are not integer arrays of the same
            shape, an index is negative, or ``cold_start="raise"`` meets an unknown user or
            item.
        """
        self._check_fitted()
        rows = np.asarray(rows)
        cols = np.asarray(cols)
        for name, arr in (("rows", rows), ("cols", cols)):
            if arr.dtype.kind not in "iu":
                raise ValueError(f"{name} must hold integer indices, got dtype {arr.dtype}")
            if arr.size and arr.min() < 0:
                raise ValueError(f"{name} must be non-negative, found {int(arr.min())}")
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have the same shape, got {rows.shape} and {cols.shape}")
        m, n = self.objective_.shape
        shape = rows.shape
        rows = rows.ravel()
        cols = cols.ravel()
        in_r = rows < m
        in_c = cols < n
        r_safe = np.where(in_r, rows, 0).astype(np.int64)
        c_safe = np.where(in_c, cols, 0).astype(np.int64)
        row_ok = in_r & self.known_rows_[r_safe]
        col_ok = in_c & self.known_cols_[c_safe]
        known = row_ok & col_ok
        if self.cold_start == "raise" and not known.all():
            bad = np.flatnonzero(~known)
            t = int(bad[0])
            raise ValueError(
                f"{len(bad)} of {known.size} pairs involve a user or item without training "
                f"ratings (first: row {int(rows[t])}, col {int(cols[t])}); "
                "use cold_start='baseline' or 'nan' to predict them")
        pred = self._predict_known(r_safe, c_safe)
        if not known.all():
            if self.objective_.biased:
                # Unknown pairs get mu plus whichever bias is known: the baseline predictor.
                b = np.where(row_ok, self.row_bias_[r_safe], 0.0)
                c = np.where(col_ok, self.col_bias_[c_safe], 0.0)
                pred = np.where(known, pred, self.mu_ + b + c)
            else:
                pred = np.where(known, pred, self.global_mean_)
        if self.cold_start == "nan":
            pred = np.where(known, pred, np.nan)
        if self._clip is not None:
            pred = np.clip(pred, *self._clip)
        return pred.reshape(shape)

    def rmse(self, ratings: Ratings) -> float:
        """Root mean squared error of :meth:`predict` on ``ratings``."""
        if not isinstance(ratings, Ratings):
            raise ValueError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
        pred = self.predict(ratings.rows, ratings.cols)
        return rmse(pred, ratings)


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (TypeError, ValueError):
        return False
