"""Non-negative matrix factorization of a partially observed matrix.

We look for :math:`W \\in \\mathbb{R}_{\\ge 0}^{m \\times k}` and
:math:`H \\in \\mathbb{R}_{\\ge 0}^{n \\times k}` with :math:`r_{ij} \\approx (WH^\\top)_{ij}`
on the observed entries :math:`\\Omega` only (the mask :math:`M_{ij} = 1` on
:math:`\\Omega`, 0 elsewhere), for one of two losses:

.. math::

    F(W, H) = \\sum_{(i,j)\\in\\Omega} \\big(r_{ij} - (WH^\\top)_{ij}\\big)^2
    \\qquad\\text{(Frobenius)},

.. math::

    D(W, H) = \\sum_{(i,j)\\in\\Omega} \\Big(r_{ij}\\log\\frac{r_{ij}}{(WH^\\top)_{ij}}
              - r_{ij} + (WH^\\top)_{ij}\\Big)
    \\qquad\\text{(generalized Kullback-Leibler)}.

Three solvers, each costing :math:`O(|\\Omega| k)` per iteration:

* :func:`nmf_mu` with ``loss="frobenius"`` -- the multiplicative updates of Lee and Seung
  with the mask inside both products,
  :math:`W \\leftarrow W \\circ \\frac{(M\\circ R) H}{(M \\circ WH^\\top) H}` and the same
  for :math:`H`;
* :func:`nmf_mu` with ``loss="kl"`` --
  :math:`W_{ia} \\leftarrow W_{ia}\\,
  \\frac{\\sum_{j\\in\\Omega_i} H_{ja} r_{ij}/(WH^\\top)_{ij}}{\\sum_{j \\in\\Omega_i} H_{ja}}`;
* :func:`nmf_hals` -- hierarchical alternating least squares: one column of :math:`W`
  (then of :math:`H`) at a time, each the exact non-negative minimizer of :math:`F` with
  everything else fixed,
  :math:`W_{ia} \\leftarrow \\max\\big(\\epsilon, \\frac{\\sum_{j\\in\\Omega_i} t_{ij} H_{ja}}
  {\\sum_{j\\in\\Omega_i} H_{ja}^2}\\big)` with :math:`t` the residual without component
  :math:`a`.

Monotonicity (tested): each multiplicative update minimizes a separable auxiliary
function that majorizes the loss and touches it at the current point (Lee and Seung's
argument, unchanged by the mask, which only removes terms), so the loss never increases.
The floor :math:`\\epsilon` (``floor``) clips entries from below; because the auxiliary
function is separable, clipping its minimizer to :math:`[\\epsilon, \\infty)` is still its
minimizer over that box, and the descent property survives.  HALS is exact block
coordinate descent on the box, hence also monotone.  Keeping entries :math:`\\ge
\\epsilon > 0` avoids the "locking" of the multiplicative updates at exact zeros.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from . import _dense
from ._dense import product_entries
from ..core import Ratings, SeedLike, as_generator
from ..core import one_blas_thread

__all__ = [
    "NMFResult",
    "nmf_init",
    "masked_frobenius",
    "masked_kl",
    "nmf_mu",
    "nmf_hals",
]


@dataclass
class NMFResult:
    """The record of one NMF run.

    Attributes
    ----------
    W, H : ndarray, shapes (m, k) and (n, k)
        Final non-negative factors; the model is :math:`WH^\\top`.
    losses : ndarray, shape (n_iter + 1,)
        The objective the solver minimizes (``F`` or ``D`` of the module docstring,
        summed over the observed entries) after each iteration; ``losses[0]`` at the start.
    train_mse, val_mse : ndarray, shape (n_iter + 1,)
        Mean squared error on the training entries and on ``val`` (NaN without ``val``).
    times : ndarray, shape (n_iter + 1,)
        Cumulative seconds spent in the updates (evaluation of the records excluded).
    method : str
    """

    W: np.ndarray
    H: np.ndarray
    losses: np.ndarray
    train_mse: np.ndarray
    val_mse: np.ndarray
    times: np.ndarray
    method: str
    n_iter: int = field(init=False)

    def __post_init__(self) -> None:
        self.n_iter = len(self.losses) - 1


class _Omega:
    """The observed entries as matrices with zeros elsewhere: dense when small, else CSR.

    Both forms give the same products (``X @ H``, ``Mask @ H``, ...); the dense one is much
    faster for matrices of a few hundred thousand entries.
    """

    def __init__(self, ratings: Ratings) -> None:
        self.rows, self.cols, self.r = ratings.rows, ratings.cols, ratings.values
        m, n = self.shape = ratings.shape
        self.dense = m * n <= _dense.DENSE_LIMIT
        if self.dense:
            self.X = ratings.to_dense(fill=0.0)
            self.Mask = ratings.mask().astype(np.float64)
            self.XT, self.MaskT = self.X.T.copy(), self.Mask.T.copy()
            self._omega = self.Mask.astype(bool)
        else:
            order = np.lexsort((ratings.cols, ratings.rows))
            self._order = order
            self._indices = ratings.cols[order].astype(np.int32)
            self._indptr = np.concatenate([[0], np.cumsum(ratings.row_counts())]).astype(np.int32)
            self.X = self._csr(self.r)
            self.Mask = self._csr(np.ones_like(self.r))
            self.XT, self.MaskT = self.X.T.tocsr(), self.Mask.T.tocsr()

    def _csr(self, values: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((values[self._order], self._indices, self._indptr), shape=self.shape)

    def fitted(self, W: np.ndarray, H: np.ndarray):
        """:math:`M \\circ WH^\\top`."""
        if self.dense:
            return self.Mask * (W @ H.T)
        return self._csr(product_entries(W, H, self.rows, self.cols))

    def ratio(self, W: np.ndarray, H: np.ndarray):
        """:math:`M \\circ R / WH^\\top` (the KL update's numerator matrix)."""
        if self.dense:
            out = np.zeros(self.shape)
            np.divide(self.X, W @ H.T, out=out, where=self._omega)
            return out
        return self._csr(self.r / product_entries(W, H, self.rows, self.cols))


def _check_ratings(ratings: Ratings, rank: int, *, positive: bool) -> None:
    if not isinstance(ratings, Ratings):
        raise ValueError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or rank < 1:
        raise ValueError(f"rank must be an integer >= 1, got {rank!r}")
    if np.any(ratings.values < 0):
        raise ValueError("ratings must be non-negative for NMF, found a negative value")
    if positive and np.all(ratings.values == 0):
        raise ValueError("ratings are all zero")
    for name, counts in (("row", ratings.row_counts()), ("column", ratings.col_counts())):
        if np.any(counts == 0):
            first = int(np.flatnonzero(counts == 0)[0])
            raise ValueError(
                f"every {name} needs an observed entry for the updates to be defined; "
                f"{name} {first} has none"
            )


def _check_factor(name: str, X: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    X = np.array(X, dtype=np.float64)
    if X.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {X.shape}")
    if not np.all(np.isfinite(X)) or np.any(X < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    return X


def nmf_init(ratings: Ratings, rank: int, seed: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Random positive start with the right scale.

    :math:`W_{ia}, H_{ja} \\sim \\mathcal U(0, 2s)` with :math:`s = \\sqrt{\\bar r / k}`, so
    that :math:`\\mathbb E (WH^\\top)_{ij} = k s^2 = \\bar r`, the mean observed value.
    ``W`` is drawn first, then ``H``.
    """
    _check_ratings(ratings, rank, positive=True)
    rng = as_generator(seed)
    m, n = ratings.shape
    s = np.sqrt(ratings.mean() / rank)
    return rng.uniform(0.0, 2.0 * s, (m, rank)), rng.uniform(0.0, 2.0 * s, (n, rank))


def _frobenius(r: np.ndarray, p: np.ndarray) -> float:
    e = r - p
    return float(e @ e)


def _kl(r: np.ndarray, p: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(r > 0, r * np.log(r / p), 0.0)
    return float(np.sum(log_term - r + p))


def masked_frobenius(ratings: Ratings, W: np.ndarray, H: np.ndarray) -> float:
    """:math:`F(W,H) = \\sum_{\\Omega} (r_{ij} - (WH^\\top)_{ij})^2`."""
    return _frobenius(ratings.values, product_entries(W, H, ratings.rows, ratings.cols))


def masked_kl(ratings: Ratings, W: np.ndarray, H: np.ndarray) -> float:
    """:math:`D(W,H) = \\sum_{\\Omega} r\\log(r/\\hat r) - r + \\hat r`, with :math:`0 \\log 0 = 0`."""
    return _kl(ratings.values, product_entries(W, H, ratings.rows, ratings.cols))


def _run(ratings, rank, W0, H0, seed, n_iter, val, floor, method, update, objective) -> NMFResult:
    m, n = ratings.shape
    if W0 is None or H0 is None:
        W_init, H_init = nmf_init(ratings, rank, seed)
        W0 = W_init if W0 is None else W0
        H0 = H_init if H0 is None else H0
    W = _check_factor("W0", W0, (m, rank))
    H = _check_factor("H0", H0, (n, rank))
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 0:
        raise ValueError(f"n_iter must be an integer >= 0, got {n_iter!r}")
    if not floor >= 0:
        raise ValueError(f"floor must be >= 0, got {floor!r}")
    if val is not None and (not isinstance(val, Ratings) or val.shape != ratings.shape):
        raise ValueError(f"val must be a Ratings of shape {ratings.shape}")
    np.maximum(W, floor, out=W)
    np.maximum(H, floor, out=H)
    losses, tr, va, times = [], [], [], []
    elapsed = 0.0

    def record() -> None:
        p = product_entries(W, H, ratings.rows, ratings.cols)
        losses.append(objective(ratings.values, p))
        tr.append(float(np.mean((ratings.values - p) ** 2)))
        if val is not None:
            va.append(float(np.mean((val.values - product_entries(W, H, val.rows, val.cols)) ** 2)))
        else:
            va.append(np.nan)
        times.append(elapsed)

    record()
    for _ in range(n_iter):
        start = time.perf_counter()
        update(W, H)
        elapsed += time.perf_counter() - start
        record()
    return NMFResult(W, H, np.array(losses), np.array(tr), np.array(va), np.array(times), method)


def nmf_mu(
    ratings: Ratings,
    rank: int,
    *,
    loss: Literal["frobenius", "kl"] = "frobenius",
    n_iter: int = 200,
    W0: np.ndarray | None = None,
    H0: np.ndarray | None = None,
    seed: SeedLike = None,
    val: Ratings | None = None,
    floor: float = 1e-12,
) -> NMFResult:
    """Masked multiplicative updates (Lee and Seung) for the Frobenius or the KL loss.

    One iteration updates :math:`W` (all entries at once) and then :math:`H` with the new
    :math:`W`; see the module docstring for the formulas and for why neither the mask nor
    the floor breaks the monotone decrease of the loss.

    Parameters
    ----------
    ratings : Ratings
        Non-negative observed entries; every row and column needs at least one.
    rank : int
        :math:`k`.
    loss : {"frobenius", "kl"}
    n_iter : int
        Number of iterations (each updates both factors).
    W0, H0 : ndarray, optional
        Non-negative start; drawn by :func:`nmf_init` from ``seed`` if missing.
    val : Ratings, optional
        Held-out entries whose MSE is recorded after each iteration.
    floor : float
        Lower bound :math:`\\epsilon \\ge 0` for every entry of the factors.
    """
    _check_ratings(ratings, rank, positive=True)
    if loss not in ("frobenius", "kl"):
        raise ValueError(f"loss must be 'frobenius' or 'kl', got {loss!r}")
    om = _Omega(ratings)
    if loss == "frobenius":

        def update(W: np.ndarray, H: np.ndarray) -> None:
            with one_blas_thread():
                W *= (om.X @ H) / (om.fitted(W, H) @ H)
                np.maximum(W, floor, out=W)
                H *= (om.XT @ W) / (om.fitted(W, H).T @ W)
                np.maximum(H, floor, out=H)

        objective = _frobenius
    else:

        def update(W: np.ndarray, H: np.ndarray) -> None:
            with one_blas_thread():
                W *= (om.ratio(W, H) @ H) / (om.Mask @ H)
                np.maximum(W, floor, out=W)
                H *= (om.ratio(W, H).T @ W) / (om.MaskT @ W)
                np.maximum(H, floor, out=H)

        objective = _kl
    return _run(ratings, rank, W0, H0, seed, n_iter, val, floor, f"MU-{loss}", update, objective)


def nmf_hals(
    ratings: Ratings,
    rank: int,
    *,
    n_iter: int = 200,
    W0: np.ndarray | None = None,
    H0: np.ndarray | None = None,
    seed: SeedLike = None,
    val: Ratings | None = None,
    floor: float = 1e-12,
) -> NMFResult:
    """Masked HALS for the Frobenius loss: exact non-negative updates of one column at a time.

    One iteration sweeps the :math:`k` columns of :math:`W` and then those of :math:`H`.
    For column :math:`a` of :math:`W`, with :math:`t_{ij} = e_{ij} + W_{ia}H_{ja}` the
    residual without component :math:`a`, the loss is a sum over rows :math:`i` of
    one-dimensional quadratics in :math:`W_{ia}`, minimized on :math:`[\\epsilon, \\infty)`
    by

    .. math::
        W_{ia} = \\max\\Big(\\epsilon,\\
            \\frac{\\sum_{j\\in\\Omega_i} t_{ij} H_{ja}}{\\sum_{j \\in \\Omega_i} H_{ja}^2}\\Big).

    The residual vector on :math:`\\Omega` is updated in place, so a sweep costs
    :math:`O(|\\Omega| k)`.  Parameters as in :func:`nmf_mu`; ``floor`` must be > 0 so that
    no column of a factor becomes exactly zero (which would leave the next denominator 0).
    """
    _check_ratings(ratings, rank, positive=True)
    if not floor > 0:
        raise ValueError(f"floor must be > 0 for HALS, got {floor!r}")
    rows, cols, r = ratings.rows, ratings.cols, ratings.values
    m, n = ratings.shape
    om = _Omega(ratings)

    def update_sparse(W: np.ndarray, H: np.ndarray) -> None:
        e = r - product_entries(W, H, rows, cols)
        for a in range(rank):
            h = H[cols, a]
            t = e + W[rows, a] * h
            W[:, a] = np.maximum(floor, np.bincount(rows, t * h, m) / np.bincount(rows, h * h, m))
            e = t - W[rows, a] * h
        for a in range(rank):
            w = W[rows, a]
            t = e + w * H[cols, a]
            H[:, a] = np.maximum(floor, np.bincount(cols, t * w, n) / np.bincount(cols, w * w, n))
            e = t - w * H[cols, a]

    def update_dense(W: np.ndarray, H: np.ndarray) -> None:
        M = om.Mask
        with one_blas_thread():
            E = om.X - om.fitted(W, H)              # residuals on Omega, 0 elsewhere
            for a in range(rank):
                T = E + M * np.outer(W[:, a], H[:, a])
                W[:, a] = np.maximum(floor, (T @ H[:, a]) / (M @ H[:, a] ** 2))
                E = T - M * np.outer(W[:, a], H[:, a])
            for a in range(rank):
                T = E + M * np.outer(W[:, a], H[:, a])
                H[:, a] = np.maximum(floor, (T.T @ W[:, a]) / (om.MaskT @ W[:, a] ** 2))
                E = T - M * np.outer(W[:, a], H[:, a])

    update = update_dense if om.dense else update_sparse
    return _run(ratings, rank, W0, H0, seed, n_iter, val, floor, "HALS", update, _frobenius)
