"""The exp-parametrized factorization: positive factors written as exponentials.

The model of the Keras question in chapter 5 keeps two embedding tables, row (product)
log-factors :math:`P \\in \\mathbb{R}^{m \\times k}` and column (store) log-factors
:math:`S \\in \\mathbb{R}^{n \\times k}`, and predicts

.. math::

    \\hat r_{ij} = \\sum_{a=1}^{k} e^{P_{ia} + S_{ja}}
               = \\big(e^{P} (e^{S})^\\top\\big)_{ij},

so every factor :math:`A = e^P`, :math:`B = e^S` (elementwise) is positive and so is
every prediction.  The objective is the one Keras minimizes with ``loss="mse"`` and an
``l2(lam)`` regularizer on both embedding tables, evaluated on the full training set:

.. math::

    L(P, S) = \\frac{1}{N}\\sum_{(i,j)\\in\\Omega} e_{ij}^2
              + \\lambda\\big(\\lVert P\\rVert_F^2 + \\lVert S\\rVert_F^2\\big),
    \\qquad e_{ij} = r_{ij} - \\hat r_{ij}.

The penalty is on the *log*-factors: it pulls every factor towards :math:`e^0 = 1`, not
towards zero.  With :math:`E` the sparse residual matrix on :math:`\\Omega`, the gradient is

.. math::

    \\nabla_P L = -\\frac{2}{N}\\, A \\circ (E B) + 2\\lambda P, \\qquad
    \\nabla_S L = -\\frac{2}{N}\\, B \\circ (E^\\top A) + 2\\lambda S,

(:math:`\\circ` the elementwise product): the gradient of the plain factorization
:math:`\\hat r = A B^\\top` with respect to :math:`A` (see :mod:`mfbook.core`),
multiplied by :math:`\\partial A / \\partial P = A`.  That chain-rule factor is what
chapter 5 is about: a factor that should be small gets a proportionally small gradient.

The parameters are one flat vector ``theta = [P.ravel(), S.ravel()]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from . import _dense
from ._dense import product_entries
from ..core import (DivergenceError, DivergenceGuard, Ratings, SeedLike, as_generator,
                    check_array, check_int, check_real, product_svd)
from ..core import one_blas_thread as _one_blas_thread

__all__ = ["ExpMF", "LBFGSRecord", "fit_lbfgs"]


class ExpMF:
    """Loss, gradient and Hessian-vector product of :math:`\\hat r_{ij} = \\sum_a e^{P_{ia}+S_{ja}}`.

    Parameters
    ----------
    ratings : Ratings
        The observed entries :math:`\\Omega` (the training set).
    rank : int
        Number of factors :math:`k`.
    reg : float
        :math:`\\lambda \\ge 0`, the Keras ``l2`` factor applied to both log-factor tables.

    Notes
    -----
    All evaluations cost :math:`O(|\\Omega| k)`.  :meth:`batch_loss_grad` evaluates the
    objective on a subset of the entries (a mini-batch), with the penalty on the *whole*
    tables, exactly as Keras adds an embedding regularizer to every batch loss.

    Examples
    --------
    >>> import numpy as np
    >>> from mfbook.core import Ratings
    >>> R = Ratings.from_dense(np.array([[2.0, 2.0], [2.0, 2.0]]))
    >>> f = ExpMF(R, rank=2)
    >>> float(f.loss(np.zeros(f.dim)))    # every prediction is e^0 + e^0 = 2
    0.0
    """

    def __init__(self, ratings: Ratings, rank: int, *, reg: float = 0.0) -> None:
        if not isinstance(ratings, Ratings):
            raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
        self.ratings = ratings
        self.rank = check_int("rank", rank, minimum=1)
        self.reg = check_real("reg", reg, minimum=0.0)
        m, n = ratings.shape
        self.shape = (m, n)
        self.dim = (m + n) * self.rank
        order = np.lexsort((ratings.cols, ratings.rows))
        self._csr_order = order
        self._lin = ratings.rows * n + ratings.cols
        self._csr_indices = ratings.cols[order].astype(np.int32)
        self._csr_indptr = np.concatenate([[0], np.cumsum(ratings.row_counts())]).astype(np.int32)

    # ------------------------------------------------------------------ parameters
    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Views ``(P, S)`` of shapes ``(m, k)`` and ``(n, k)`` inside ``theta``."""
        theta = self.check_theta(theta)
        m, n = self.shape
        k = self.rank
        return theta[: m * k].reshape(m, k), theta[m * k:].reshape(n, k)

    def pack(self, P: np.ndarray, S: np.ndarray) -> np.ndarray:
        """Flatten log-factors ``P`` (m x k) and ``S`` (n x k) into a parameter vector."""
        m, n = self.shape
        k = self.rank
        P = check_array("P", P, shape=(m, k))
        S = check_array("S", S, shape=(n, k))
        return np.concatenate([P.ravel(), S.ravel()])

    def from_factors(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Parameters whose factors are ``A = exp(P)`` and ``B = exp(S)`` (both must be > 0)."""
        A = np.asarray(A, dtype=np.float64)
        B = np.asarray(B, dtype=np.float64)
        if np.any(A <= 0) or np.any(B <= 0):
            raise ValueError("A and B must be strictly positive to have a logarithm")
        return self.pack(np.log(A), np.log(B))

    def keras_uniform_init(self, seed: SeedLike = None, limit: float = 0.05) -> np.ndarray:
        """The Keras ``Embedding`` default start: every log-factor uniform on ``[-limit, limit)``.

        Keras' default ``embeddings_initializer="uniform"`` is
        ``RandomUniform(minval=-0.05, maxval=0.05)``; ``P`` is drawn first, then ``S``.
        """
        if not limit > 0:
            raise ValueError(f"limit must be > 0, got {limit!r}")
        rng = as_generator(seed)
        m, n = self.shape
        k = self.rank
        P = rng.uniform(-limit, limit, (m, k))
        S = rng.uniform(-limit, limit, (n, k))
        return self.pack(P, S)

    # ------------------------------------------------------------------ evaluation
    def predict(self, theta: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """:math:`\\hat r_{ij} = \\sum_a e^{P_{ia} + S_{ja}}` at the given entries."""
        P, S = self.unpack(theta)
        rows, cols = self._check_index(rows, cols)
        return product_entries(np.exp(P), np.exp(S), rows, cols)

    def penalty(self, theta: np.ndarray) -> float:
        """:math:`\\lambda(\\lVert P\\rVert_F^2 + \\lVert S\\rVert_F^2)`, as Keras adds it to every batch loss."""
        theta = self.check_theta(theta)
        return self.reg * float(theta @ theta)

    def mse(self, theta: np.ndarray, ratings: Ratings | None = None) -> float:
        """Mean squared error on ``ratings`` (the training set by default), without penalty."""
        R = self.ratings if ratings is None else ratings
        if R.shape != self.shape:
            raise ValueError(f"ratings must have shape {self.shape}, got {R.shape}")
        e = R.values - self.predict(theta, R.rows, R.cols)
        return float(e @ e) / R.nnz

    def loss(self, theta: np.ndarray) -> float:
        """:math:`L(\\theta)` on the whole training set."""
        return self.mse(theta) + self.penalty(theta)

    def _error_matrix(self, e: np.ndarray) -> sp.csr_matrix | np.ndarray:
        """The m x n matrix holding ``e`` on Omega and 0 elsewhere (dense if small)."""
        m, n = self.shape
        if m * n <= _dense.DENSE_LIMIT:
            return np.bincount(self._lin, e, m * n).reshape(m, n)
        return sp.csr_matrix((e[self._csr_order], self._csr_indices, self._csr_indptr),
                             shape=self.shape)

    def loss_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """:math:`L(\\theta)` and :math:`\\nabla L(\\theta)` on the whole training set (full batch)."""
        P, S = self.unpack(theta)
        A, B = np.exp(P), np.exp(S)
        R = self.ratings
        e = R.values - product_entries(A, B, R.rows, R.cols)
        N = R.nnz
        E = self._error_matrix(e)
        with _one_blas_thread():
            EB, ETA = E @ B, E.T @ A
        gP = (-2.0 / N) * A * EB + 2.0 * self.reg * P
        gS = (-2.0 / N) * B * ETA + 2.0 * self.reg * S
        loss = float(e @ e) / N + self.reg * float(theta @ theta)
        return loss, np.concatenate([gP.ravel(), gS.ravel()])

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Same as :meth:`loss_grad`, so the objective can be handed to an optimizer."""
        return self.loss_grad(theta)

    def batch_loss_grad(self, theta: np.ndarray, index: np.ndarray) -> tuple[float, float, np.ndarray]:
        """Mini-batch loss as Keras computes it, and its gradient.

        Parameters
        ----------
        theta : ndarray, shape (dim,)
        index : array of int, shape (B,)
            Positions of the batch entries in ``self.ratings``.

        Returns
        -------
        mse : float
            :math:`\\frac1B \\sum_{b} e_b^2` over the batch.
        penalty : float
            :math:`\\lambda(\\lVert P\\rVert_F^2 + \\lVert S\\rVert_F^2)` on the whole tables.
        grad : ndarray, shape (dim,)
            Gradient of ``mse + penalty``; the penalty part is dense (every row of both
            tables), the data part touches only the rows and columns in the batch.
        """
        theta = self.check_theta(theta)
        index = np.asarray(index)
        if index.ndim != 1 or index.size == 0 or index.dtype.kind not in "iu":
            raise ValueError(f"index must be a non-empty 1-d integer array, got shape {index.shape}")
        m, n = self.shape
        k = self.rank
        P, S = self.unpack(theta)
        A, B = np.exp(P), np.exp(S)
        R = self.ratings
        rows, cols, vals = R.rows[index], R.cols[index], R.values[index]
        c = -2.0 / len(index)
        if m * n <= _dense.DENSE_LIMIT:
            # Residuals of the batch scattered into a dense m x n matrix (zero elsewhere),
            # then two small products: grad_P = c A o (E_b B), grad_S = c B o (E_b^T A).
            lin = rows * n + cols
            with _one_blas_thread():
                e = vals - (A @ B.T).ravel()[lin]
                Eb = np.bincount(lin, e, m * n).reshape(m, n)
                gP = c * A * (Eb @ B)
                gS = c * B * (Eb.T @ A)
        else:
            terms = A[rows] * B[cols]                   # (B, k): e^{P_ia + S_ja}
            e = vals - terms.sum(axis=1)
            w = c * e[:, None] * terms                  # d(mse)/dP_ia = d(mse)/dS_ja per entry
            ar = np.arange(k)
            gP = np.bincount((rows[:, None] * k + ar).ravel(), w.ravel(), m * k)
            gS = np.bincount((cols[:, None] * k + ar).ravel(), w.ravel(), n * k)
        grad = np.concatenate([gP.ravel(), gS.ravel()]) + 2.0 * self.reg * theta
        return float(e @ e) / len(index), self.reg * float(theta @ theta), grad

    def hvp(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Hessian-vector product :math:`\\nabla^2 L(\\theta)\\,\\delta` in :math:`O(|\\Omega| k)`.

        With :math:`\\delta A = A \\circ \\delta P`, :math:`\\delta B = B \\circ \\delta S` and
        :math:`\\delta\\hat r_{ij} = \\sum_a A_{ia}B_{ja}(\\delta P_{ia} + \\delta S_{ja})`
        (:math:`\\delta\\hat R` the sparse matrix of these on :math:`\\Omega`), differentiating
        the gradient gives

        .. math::

            (\\nabla^2 L\\,\\delta)_P = -\\frac{2}{N}\\Big[\\delta P \\circ A \\circ (E B)
                - A \\circ (\\delta\\hat R\\, B) + A \\circ (E\\, \\delta B)\\Big] + 2\\lambda\\,\\delta P,

        and symmetrically for :math:`S`.  The first term (residual times the curvature of
        the exponential) and the third (residual times the bilinear coupling) vanish where
        the fit is exact; the second is the Gauss-Newton term.
        """
        P, S = self.unpack(theta)
        dP, dS = self.unpack(np.asarray(direction, dtype=np.float64))
        A, B = np.exp(P), np.exp(S)
        R = self.ratings
        N = R.nnz
        e = R.values - product_entries(A, B, R.rows, R.cols)
        # delta r_ij = sum_a A_ia B_ja (dP_ia + dS_ja) = ((A o dP) B^T + A (B o dS)^T)_ij
        dr = product_entries(A * dP, B, R.rows, R.cols) + product_entries(A, B * dS, R.rows, R.cols)
        E, Dr = self._error_matrix(e), self._error_matrix(dr)
        dA, dB = A * dP, B * dS
        with _one_blas_thread():
            EB, DrB, EdB = E @ B, Dr @ B, E @ dB
            ETA, DrTA, ETdA = E.T @ A, Dr.T @ A, E.T @ dA
        hP = (-2.0 / N) * (dP * A * EB - A * DrB + A * EdB) + 2.0 * self.reg * dP
        hS = (-2.0 / N) * (dS * B * ETA - B * DrTA + B * ETdA) + 2.0 * self.reg * dS
        return np.concatenate([hP.ravel(), hS.ravel()])

    # ------------------------------------------------------------------ symmetry
    def symmetric_part(self, v: np.ndarray) -> np.ndarray:
        """Orthogonal projection onto the subspace where all :math:`k` components are equal.

        In that subspace :math:`P_{ia} = p_i` and :math:`S_{ja} = s_j` for every :math:`a`,
        so the model is :math:`k\\,e^{p_i + s_j}`: rank one.  The projection replaces each
        row of ``P`` and ``S`` by its mean over the components; ``v - symmetric_part(v)``
        is the symmetry-breaking part.  The subspace is invariant under gradient descent
        and Adam (identical components receive identical gradients).
        """
        P, S = self.unpack(v)
        return self.pack(np.repeat(P.mean(axis=1, keepdims=True), self.rank, axis=1),
                         np.repeat(S.mean(axis=1, keepdims=True), self.rank, axis=1))

    def singular_values(self, theta: np.ndarray) -> np.ndarray:
        """Singular values of the model matrix :math:`e^P (e^S)^\\top` (k of them, descending).

        Computed by :func:`mfbook.core.product_svd` from the two thin factors.
        """
        P, S = self.unpack(theta)
        with _one_blas_thread():
            return product_svd(np.exp(P), np.exp(S))

    # ------------------------------------------------------------------ validation
    def check_theta(self, theta: np.ndarray) -> np.ndarray:
        theta = check_array("theta", theta, finite=False)
        if theta.shape != (self.dim,):
            raise ValueError(
                f"theta must have shape ({self.dim},) for m={self.shape[0]}, n={self.shape[1]}, "
                f"k={self.rank}; got {theta.shape}"
            )
        if not np.all(np.isfinite(theta)):
            raise ValueError(f"theta must be finite, found {int(np.sum(~np.isfinite(theta)))} "
                             "NaN or infinite entries")
        return theta

    def _check_index(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.asarray(rows)
        cols = np.asarray(cols)
        m, n = self.shape
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have the same shape, got {rows.shape} and {cols.shape}")
        if rows.size and (rows.min() < 0 or rows.max() >= m or cols.min() < 0 or cols.max() >= n):
            raise ValueError(f"rows/cols out of range for shape {self.shape}")
        return rows, cols

    def __repr__(self) -> str:
        return (f"ExpMF(shape={self.shape}, nnz={self.ratings.nnz}, rank={self.rank}, "
                f"reg={self.reg:g})")


@dataclass
class LBFGSRecord:
    """The record of :func:`fit_lbfgs`: one entry per iteration (index 0 is the start).

    Attributes
    ----------
    theta : ndarray
        Final parameters.
    loss, train_mse, val_mse, times : ndarray
        Objective, training MSE, validation MSE (NaN without ``val``) and cumulative
        seconds spent inside the optimizer (evaluations for the record excluded).
    n_iter : int
    message : str
        SciPy's termination message.
    """

    theta: np.ndarray
    loss: np.ndarray
    train_mse: np.ndarray
    val_mse: np.ndarray
    times: np.ndarray
    n_iter: int
    message: str


def fit_lbfgs(model: ExpMF, theta0: np.ndarray, *, maxiter: int = 1000,
              val: Ratings | None = None, memory: int = 10) -> LBFGSRecord:
    """Full-batch L-BFGS (SciPy's L-BFGS-B without bounds) on :meth:`ExpMF.loss_grad`.

    The tolerances are switched off (``ftol = gtol = 0``) so that the run lasts
    ``maxiter`` iterations unless the line search fails; the mean-squared objective has
    gradients far below SciPy's default ``gtol`` long before the fit is accurate.
    """
    if not isinstance(model, ExpMF):
        raise TypeError(f"model must be a mfbook.nmf.ExpMF, got {type(model).__name__}")
    theta0 = model.check_theta(theta0)
    maxiter = check_int("maxiter", maxiter, minimum=1)
    memory = check_int("memory", memory, minimum=1)
    if val is not None and not isinstance(val, Ratings):
        raise TypeError(f"val must be a mfbook.core.Ratings, got {type(val).__name__}")
    with np.errstate(over="ignore", invalid="ignore"):
        DivergenceGuard("L-BFGS").start(model.loss(theta0))
    rec: dict[str, list[float]] = {"loss": [], "train": [], "val": [], "t": []}
    clock = {"start": time.perf_counter(), "pause": 0.0}

    def record(x: np.ndarray) -> None:
        t0 = time.perf_counter()
        rec["t"].append(t0 - clock["start"] - clock["pause"])
        mse = model.mse(x)
        rec["train"].append(mse)
        rec["loss"].append(mse + model.penalty(x))
        rec["val"].append(model.mse(x, val) if val is not None else np.nan)
        clock["pause"] += time.perf_counter() - t0

    record(theta0)
    with np.errstate(over="ignore", invalid="ignore"):
        res = minimize(model.loss_grad, theta0, jac=True, method="L-BFGS-B", callback=record,
                       options={"maxiter": maxiter, "maxfun": 2 * maxiter,
                                "ftol": 0.0, "gtol": 0.0, "maxcor": memory})
    if not np.isfinite(res.fun) or not np.all(np.isfinite(res.x)):
        raise DivergenceError(f"L-BFGS diverged after {res.nit} iterations: the loss became "
                              f"{res.fun!r} ({res.message})")
    return LBFGSRecord(theta=res.x, loss=np.array(rec["loss"]), train_mse=np.array(rec["train"]),
                       val_mse=np.array(rec["val"]), times=np.array(rec["t"]),
                       n_iter=int(res.nit), message=str(res.message))
