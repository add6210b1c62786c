"""The latent factor recommender as a scikit-learn regressor: :class:`MatrixFactorization`.

This module holds the estimator's interface; the work is done by one module per idea:
``_params`` (the hyper-parameters), ``_inputs`` (the data), ``_solvers`` (one epoch of each
solver), ``_training`` (the epoch loop, divergence, early stopping), ``_predict`` (cold
start) and ``_conventions`` (Surprise's and Spark's parameters).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..core import MFObjective, Ratings, SeedLike, as_generator, check_array, rmse
from ._conventions import spark_als_params, surprise_svd_params
from ._inputs import (Pairs, prediction_pairs, split_validation, training_pairs,
                      validation_pairs)
from ._params import PARAMETER_CONSTRAINTS, SOLVERS, resolve
from ._predict import predict_with_cold_start
from ._solvers import epoch_function
from ._training import Evaluator, run_epochs

__all__ = ["MatrixFactorization", "SOLVERS"]


class MatrixFactorization(RegressorMixin, BaseEstimator):
    """Latent factor model of ratings, fitted by SGD, mini-batch SGD, Adam or ALS.

    A scikit-learn regressor whose samples are (user, item) pairs: ``X`` is an ``(n, 2)``
    integer array of user and item indices and ``y`` the ratings.  It predicts
    :math:`\\hat r_{ij} = \\mu + b_i + c_j + \\mathbf u_i^\\top\\mathbf v_j` (``biased=True``,
    :math:`\\mu` the mean training rating) or :math:`\\mathbf u_i^\\top\\mathbf v_j`.  The
    defaults make a good first model for explicit ratings: the biased model, 20 factors,
    the per-rating penalty of Funk-style SGD, and predictions clipped to the range of the
    training ratings.  Raw ids go through :class:`IdEncoder` first (for instance in a
    :class:`~sklearn.pipeline.Pipeline`).

    Parameters
    ----------
    rank : int, default=20
        Number of factors :math:`k`.
    solver : {"sgd", "minibatch", "adam", "als"}, default="sgd"
        Per-sample SGD, mini-batch SGD (heavy-ball momentum optional), Adam on mini-batches,
        or alternating least squares (see Notes).
    biased : bool, default=True
        Fit the biases :math:`b_i, c_j` around the fixed offset :math:`\\mu`.
    reg : float, default=0.05
        Penalty weight :math:`\\lambda` on the factors (sum-form objective, Notes).
    reg_bias : float, optional
        :math:`\\lambda_b` on the biases; default ``reg``.
    reg_weighting : {"count", "uniform"}, default="count"
        Penalty weights :math:`w_i = n_i`, the number of training ratings of row
        :math:`i` (per-rating penalty, ALS-WR, Surprise's and Spark's convention), or
        :math:`w_i = 1` (one global penalty).
    penalty : {"rows", "all"}, default="rows"
        Where a stochastic step puts the penalty gradient: on the rows the ratings of the
        step touch, or on every row (weight decay); ignored by ALS.
    lr : float, default=0.01
        Learning rate :math:`\\eta` of the stochastic solvers, for steps along estimates of
        :math:`\\nabla L/N`.  A per-rating SGD step is
        :math:`\\mathbf u_i \\leftarrow \\mathbf u_i + 2\\eta\\,(e_{ij}\\mathbf v_j -
        \\lambda\\mathbf u_i)` with count weights.
    lr_decay : float, default=1.0
        Factor :math:`\\gamma \\in (0, 1]` applied to the learning rate after each epoch.
    n_epochs : int, default=10
        Maximum number of epochs (ALS: sweeps).
    tol : float, optional
        Stop once an epoch lowers the objective by at most ``tol`` times its value (needs
        :math:`L` every epoch, which costs one pass over the training ratings).
    batch_size : int, optional
        Ratings per step of ``"minibatch"`` and ``"adam"`` (default 32); ``"sgd"`` uses 1.
    momentum : float, default=0.0
        Heavy-ball coefficient :math:`\\beta` of ``"minibatch"``.
    beta1, beta2, eps : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and :math:`\\epsilon`.
    init_std : float, default=0.1
        Standard deviation of the random starting factors (biases start at 0); must be
        positive, since factors that start at 0 never move.
    mu : float, optional
        Fixed offset of the biased model (default: the mean training rating).
    clip : "observed", (float, float) or None, default="observed"
        Clip predictions to the range of the training ratings, to a given range (e.g. the
        1-5 star scale), or not at all.  The objective itself is never clipped.
    cold_start : {"baseline", "nan", "raise"}, default="baseline"
        Prediction for a user or item without training ratings (Notes).
    shape : (int, int), optional
        The declared matrix shape ``(n_users, n_items)``: indices past it raise.  Without
        it (and without a :class:`~mfbook.core.Ratings`), the shape is inferred from the
        training pairs and larger indices at prediction time are unseen users or items.
    early_stopping : bool, default=False
        Stop when the validation RMSE has not improved by more than ``min_delta`` for
        ``n_iter_no_change`` epochs, and keep the best epoch's parameters.  The validation
        data are ``X_val, y_val`` of :meth:`fit`, or else a random ``validation_fraction``
        of the training ratings, held out.
    validation_fraction : float, default=0.1
        Share of the training ratings held out when early stopping has no ``X_val``.
    n_iter_no_change : int, default=10
        Epochs without improvement before early stopping (its patience).
    min_delta : float, default=0.0
        Smallest decrease of the validation RMSE that counts as an improvement.
    monitor : bool, default=False
        Record the objective :math:`L` and the training RMSE in ``history_`` after every
        epoch (one extra pass over the training ratings per epoch).
    n_jobs : int, optional
        Threads for ALS and per-sample SGD, scikit-learn's convention (None: 1, -1: all
        cores, -2: all but one).  ALS gives the same model for every ``n_jobs`` (the rows of
        a half-sweep are independent; bit-identical).  SGD on ``p > 1`` threads visits the
        ratings in the block-stratified order of DSGD (users and items cut into ``p``
        blocks, ``p`` disjoint blocks updated at once), so its model differs from the
        one-thread model but is reproducible for the same seed and the same ``p``
        (``n_jobs=-1`` therefore depends on the machine's core count).  Mini-batch and Adam
        run on one thread.
    als_solve : {"cholesky", "cg"}, default="cholesky"
        How an ALS half-sweep solves each row's ridge regression: exactly (normal equations
        and Cholesky), or by ``cg_steps`` steps of conjugate gradients started from the
        current factors, which never forms the :math:`k \\times k` matrices and costs
        :math:`O(n_i k)` per step instead of :math:`O(n_i k^2 + k^3)`
        (:func:`~mfbook.recommender.als_half_sweep`).  Other solvers ignore it.
    cg_steps : int, default=3
        Conjugate-gradient steps per row and half-sweep of ``als_solve="cg"``.
    random_state : int, Generator or None
        Seed of the starting point and of the shuffles; a ``numpy.random.Generator`` is used
        as is (see Notes).
    progress : bool, optional
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
    shape_ : (int, int)
        Shape of the fitted matrix, declared or inferred.
    clip_ : (float, float) or None
        The clipping range in use.
    objective_ : MFObjective
        The objective :math:`L` on the training ratings.
    history_ : dict of ndarray
        Per epoch, from epoch 0 (the starting point): always ``"epoch"``, ``"lr"`` (NaN at
        epoch 0 and for ALS) and ``"time"`` (cumulative seconds of training, evaluation
        excluded); ``"valid_rmse"`` with validation data; ``"loss"`` (:math:`L`) and
        ``"train_rmse"`` with ``monitor=True`` or ``tol``.
    n_epochs_ : int
        Epochs performed.
    best_epoch_ : int or None
        Epoch with the lowest validation RMSE (an improvement counting only if larger than
        ``min_delta``); None without validation data.
    stopped_early_, converged_ : bool
        Whether early stopping, or the ``tol`` test, ended the fit.
    known_rows_, known_cols_ : ndarray of bool
        Users and items with at least one training rating.
    fit_time_ : float
        Seconds spent in the epochs (evaluation excluded).
    n_features_in_ : int
        2, the (user, item) columns of ``X``.

    Notes
    -----
    **One objective, four solvers.**  Every solver minimizes the sum-form objective of the
    book's :class:`~mfbook.core.MFObjective`,

    .. math::

        L(\\theta) = {} & \\sum_{(i,j) \\in \\Omega} e_{ij}^2
          + \\lambda \\Big(\\sum_i w_i \\lVert\\mathbf u_i\\rVert^2
                          + \\sum_j w'_j \\lVert\\mathbf v_j\\rVert^2\\Big) \\\\
          & + \\lambda_b \\Big(\\sum_i w_i b_i^2 + \\sum_j w'_j c_j^2\\Big).

    ``solver="als"`` alternates exact minimizations over the users and the items
    (:func:`als_half_sweep`); one epoch is one sweep.  The stochastic solvers follow
    unbiased estimates of :math:`\\nabla L / N`, :math:`N = |\\Omega|`, so that a learning
    rate means the same on any data size: on a batch :math:`B`,
    :math:`\\frac{1}{|B|}\\sum_{B}\\nabla e_{ij}^2` plus the penalty, either
    :math:`2\\lambda (w_i / n_i)\\,\\mathbf u_i` on the rows of the batch
    (``penalty="rows"``; with count weights the per-rating penalty :math:`2\\lambda\\mathbf
    u_i` of Funk-style SGD) or :math:`2(\\lambda w_i / N)\\,\\mathbf u_i` on every row
    (``"all"``).  Both average to :math:`\\nabla L/N` over a pass.  ``"sgd"`` visits one
    rating at a time in a fresh random order each epoch; ``"minibatch"`` takes batches of
    that order, with plain or heavy-ball steps; ``"adam"`` uses Adam
    :cite:`kingma2015adam` on the same batches.  The learning rate of epoch :math:`t` is
    :math:`\\eta\\,\\gamma^{t-1}`.

    **Divergence.**  After every epoch the objective (exact with ``monitor`` or ``tol``,
    else estimated on a fixed subset of the training ratings) goes through
    :class:`~mfbook.core.DivergenceGuard`: non-finite or above
    :data:`~mfbook.core.DIVERGENCE_FACTOR` times its starting value raises
    :class:`~mfbook.core.DivergenceError`, naming the solver, the epoch (the "step") and
    the learning rate.

    **Cold start.**  A user or item without training ratings (or past the inferred shape)
    has no fitted factors.  ``cold_start="baseline"`` predicts what is known,
    :math:`\\mu + b_i + c_j` with the unknown bias set to 0 (biased model) or the mean
    training rating (plain model); ``"nan"`` returns NaN; ``"raise"`` raises.

    **Random stream.**  A fit draws the starting factors, :math:`U` then :math:`V` from
    :math:`\\mathcal N(0, \\text{init\\_std}^2)`, then one permutation of the training
    ratings per stochastic epoch (early stopping without ``X_val`` first draws its split).
    A ``Generator`` passed as ``random_state`` is used and advanced, which replays a
    stream draw for draw; :func:`sklearn.base.clone` deep-copies it, so a clone has its
    own generator, in the same state.

    **Other libraries' hyper-parameters** (:meth:`from_surprise`, :meth:`from_spark` do
    the conversion):

    .. list-table::
       :header-rows: 1

       * - what
         - Surprise ``SVD``
         - Spark ``ALS``
         - ``MatrixFactorization``
       * - factors
         - ``n_factors`` (100)
         - ``rank`` (10)
         - ``rank``
       * - passes
         - ``n_epochs`` (20) SGD epochs
         - ``maxIter`` (10) sweeps
         - ``n_epochs``; ``solver="sgd"`` / ``"als"``
       * - model
         - ``biased`` (True)
         - no biases
         - ``biased``
       * - penalty
         - ``reg_all`` (0.02) per rating
         - ``regParam`` (0.1) times the counts (ALS-WR)
         - ``reg``, ``reg_bias``; ``reg_weighting="count"``
       * - step
         - ``lr_all`` (0.005): :math:`p_u \\mathrel{+}= \\gamma (e q_i - \\lambda p_u)`
         - none
         - ``lr = lr_all / 2``, ``penalty="rows"``
       * - start
         - ``init_mean`` (0), ``init_std_dev`` (0.1)
         - random (only :math:`V` matters)
         - ``init_std`` (mean 0)
       * - order
         - the same each epoch
         - none
         - a fresh permutation each epoch
       * - clipping
         - the reader's ``rating_scale``
         - none
         - ``clip``
       * - unknown users
         - the baseline
         - ``coldStartStrategy`` ("nan", "drop")
         - ``cold_start``
       * - implicit feedback
         - none
         - ``implicitPrefs``, ``alpha``
         - not implemented
       * - non-negative factors
         - none
         - ``nonnegative``
         - not implemented (see :mod:`mfbook.nmf`)
       * - seed
         - ``random_state``
         - ``seed``
         - ``random_state``

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 2], [2, 1], [2, 2]])
    >>> y = np.array([5.0, 3.0, 4.0, 1.0, 2.0, 2.0])
    >>> model = MatrixFactorization(rank=2, solver="als", random_state=0).fit(X, y)
    >>> model.predict(np.array([[0, 2], [5, 0]])).shape   # user 5 is unseen: baseline
    (2,)
    """

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        rank: int = 20,
        *,
        solver: Literal["sgd", "minibatch", "adam", "als"] = "sgd",
        biased: bool = True,
        reg: float = 0.05,
        reg_bias: float | None = None,
        reg_weighting: Literal["count", "uniform"] = "count",
        penalty: Literal["rows", "all"] = "rows",
        lr: float = 0.01,
        lr_decay: float = 1.0,
        n_epochs: int = 10,
        tol: float | None = None,
        batch_size: int | None = None,
        momentum: float = 0.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        init_std: float = 0.1,
        mu: float | None = None,
        clip: Literal["observed"] | tuple[float, float] | None = "observed",
        cold_start: Literal["baseline", "nan", "raise"] = "baseline",
        shape: tuple[int, int] | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        min_delta: float = 0.0,
        monitor: bool = False,
        n_jobs: int | None = None,
        als_solve: Literal["cholesky", "cg"] = "cholesky",
        cg_steps: int = 3,
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
        self.clip = clip
        self.cold_start = cold_start
        self.shape = shape
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.min_delta = min_delta
        self.monitor = monitor
        self.n_jobs = n_jobs
        self.als_solve = als_solve
        self.cg_steps = cg_steps
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ other conventions
    @classmethod
    def from_surprise(cls, **svd_params: Any) -> "MatrixFactorization":
        """The estimator equivalent to Surprise's ``SVD(**svd_params)``.

        Accepts ``SVD``'s arguments (defaults are Surprise's) and ``rating_scale``, the
        range of Surprise's ``Reader`` (default (1, 5)), which Surprise clips to.

        Examples
        --------
        >>> est = MatrixFactorization.from_surprise(lr_all=0.01, reg_all=0.05)
        >>> est.lr, est.reg, est.reg_weighting, est.rank
        (0.005, 0.05, 'count', 100)
        """
        return cls(**surprise_svd_params(**svd_params))

    @classmethod
    def from_spark(cls, **als_params: Any) -> "MatrixFactorization":
        """The estimator equivalent to Spark MLlib's ``ALS(**als_params)``.

        Examples
        --------
        >>> est = MatrixFactorization.from_spark(rank=8, regParam=0.05, maxIter=15)
        >>> est.solver, est.rank, est.reg, est.reg_weighting, est.n_epochs, est.biased
        ('als', 8, 0.05, 'count', 15, False)
        """
        return cls(**spark_als_params(**als_params))

    # ------------------------------------------------------------------ scikit-learn protocol
    def __sklearn_is_fitted__(self) -> bool:
        # Fitted means a completed fit: a fit that failed half-way is not one.
        return hasattr(self, "theta_") and hasattr(self, "history_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True     # the columns are category codes
        tags.input_tags.positive_only = True   # indices are non-negative
        return tags

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, *, X_val: Any = None,
            y_val: Any = None) -> "MatrixFactorization":
        """Fit the model to the ratings ``y`` of the (user, item) pairs ``X``.

        Parameters
        ----------
        X : array-like of shape (n, 2) of int, or Ratings
            User and item indices of the training ratings; a
            :class:`~mfbook.core.Ratings` gives the pairs, the ratings and a declared shape.
        y : array-like of shape (n,)
            The ratings (None when ``X`` is a ``Ratings``).
        X_val, y_val : array-like or Ratings, optional
            Validation data, as in scikit-learn's ``HistGradientBoostingRegressor``.  They
            never change an update; ``history_["valid_rmse"]`` records them and, with
            ``early_stopping=True``, they choose the epoch whose parameters are kept.

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            On invalid hyper-parameters or data (the message names the argument).
        DivergenceError
            If the objective blows up (the learning rate is too large).
        """
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)   # a refit that fails leaves no stale model behind
        self._validate_params()
        p = resolve(self)
        train, declared = training_pairs(self, X, y, p.shape)
        rng = as_generator(self.random_state)
        valid: Pairs | None = None
        if X_val is not None or y_val is not None:
            if X_val is None:
                raise ValueError("y_val needs X_val")
            valid = validation_pairs(self, X_val, y_val, train.shape, declared)
        elif self.early_stopping:
            train, valid = split_validation(train, self.validation_fraction, rng)
        self._setup(p, train, declared)
        evaluator = self._evaluator(p, valid)
        theta0 = self.objective_.random_params(p.init_std, seed=rng)
        result = run_epochs(p, theta0, epoch_function(p, self.objective_), evaluator, rng,
                            early_stopping=self.early_stopping,
                            n_iter_no_change=self.n_iter_no_change,
                            min_delta=float(self.min_delta), progress=self.progress)
        self._set_theta(result.theta)
        self.history_ = result.history
        self.n_epochs_ = result.n_epochs
        self.best_epoch_ = result.best_epoch
        self.stopped_early_ = result.stopped_early
        self.converged_ = result.converged
        self.fit_time_ = result.fit_time
        return self

    def _setup(self, p: Any, train: Ratings, declared: bool) -> None:
        """The fitted state that does not depend on the solver's result."""
        obj = MFObjective(train, p.rank, reg=p.reg, reg_bias=p.reg_bias,
                          reg_weighting=p.reg_weighting, biased=p.biased, mu=p.mu)
        self.objective_ = obj
        self.rank_ = p.rank
        self.shape_ = train.shape
        self._declared = declared
        self.global_mean_ = train.mean()
        self.mu_ = float(obj.mu)
        self.known_rows_ = train.row_counts() > 0
        self.known_cols_ = train.col_counts() > 0
        if p.clip == "observed":
            self.clip_ = (float(train.values.min()), float(train.values.max()))
        else:
            self.clip_ = p.clip
        self.n_jobs_ = p.n_jobs

    def _evaluator(self, p: Any, valid: Pairs | None) -> Evaluator:
        full = bool(self.monitor) or p.tol is not None
        if valid is None:
            return Evaluator(self.objective_, self.clip_, full, None, None)
        rows, cols = valid.rows, valid.cols
        m, n = self.shape_
        inside = (rows < m) & (cols < n)
        if inside.all() and (self.known_rows_[rows] & self.known_cols_[cols]).all():
            data = (np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64),
                    np.array(valid.values, dtype=np.float64))
            return Evaluator(self.objective_, self.clip_, full, data, None)

        def valid_rmse(theta: np.ndarray) -> float:   # some pairs need the cold-start rule
            self._set_theta(theta)
            return rmse(predict_with_cold_start(self, rows, cols), valid.values)
        return Evaluator(self.objective_, self.clip_, full, None, valid_rmse)

    def _set_theta(self, theta: np.ndarray) -> None:
        self.theta_ = np.ascontiguousarray(theta, dtype=np.float64)
        f = self.objective_.unpack(self.theta_)
        self.U_, self.V_ = f.U, f.V
        self.row_bias_, self.col_bias_ = f.row_bias, f.col_bias

    # ------------------------------------------------------------------ prediction
    def predict(self, X: Any) -> np.ndarray:
        """Predicted ratings :math:`\\hat r_{ij}` of the (user, item) pairs ``X``.

        Pairs with a user or item without training ratings follow ``cold_start``;
        predictions are clipped to ``clip_``.

        Parameters
        ----------
        X : array-like of shape (n, 2) of int, or Ratings
            User and item indices (a ``Ratings`` must have the model's shape).

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ValueError, TypeError
            For indices that are not integers, negative, or past a declared shape; for a
            ``Ratings`` of another shape; with ``cold_start="raise"`` for an unknown pair.
        """
        check_is_fitted(self)
        pairs = prediction_pairs(self, X, self.shape_, self._declared)
        return predict_with_cold_start(self, pairs.rows, pairs.cols)

    def rmse(self, X: Any, y: Any = None) -> float:
        """Root mean squared error of :meth:`predict` on ``X`` (a ``Ratings``) or ``X, y``."""
        check_is_fitted(self)
        if isinstance(X, Ratings):
            if y is not None:
                raise ValueError("y must be None when X is a Ratings (its values are the "
                                 "targets)")
            return rmse(self.predict(X), X.values)
        pairs = prediction_pairs(self, X, self.shape_, self._declared)
        target = check_array("y", y, nonempty=False)
        if target.shape != pairs.rows.shape:
            raise ValueError(f"y must hold one rating per row of X ({len(pairs)}), got shape "
                             f"{target.shape}")
        return rmse(predict_with_cold_start(self, pairs.rows, pairs.cols), target)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Coefficient of determination :math:`R^2` of :meth:`predict` (scikit-learn's
        regressor score); ``X`` may be a ``Ratings`` with ``y=None``.

        For cross-validation by RMSE use ``scoring="neg_root_mean_squared_error"``.
        """
        if isinstance(X, Ratings):
            if y is not None:
                raise ValueError("y must be None when X is a Ratings (its values are the "
                                 "targets)")
            X, y = X, X.values
        return super().score(X, y, sample_weight=sample_weight)
