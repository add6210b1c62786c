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

Four solvers, each costing :math:`O(|\\Omega| k)` per iteration (ANLS
:math:`O(|\\Omega| k^2 + (m+n)k^3)`):

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
* :func:`nmf_anls` -- alternating non-negative least squares: all of :math:`W` (then
  all of :math:`H`) at once, each row the exact solution of a non-negative least-squares
  problem :math:`\\min_{w \\ge 0} \\sum_{j \\in \\Omega_i} (r_{ij} - w^\\top h_j)^2`.

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
from scipy.optimize import nnls

from . import _dense
from ._dense import product_entries
from ..core import (DivergenceGuard, Ratings, SeedLike, as_generator, check_array, check_int,
                    check_real, one_blas_thread)

__all__ = [
    "NMFResult",
    "nmf_init",
    "masked_frobenius",
    "masked_kl",
    "nmf_mu",
    "nmf_hals",
    "nmf_anls",
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
    converged : bool
        True if the run stopped because the relative decrease of the loss over one
        iteration fell to ``tol`` or below (see :func:`nmf_anls`); False if it used its
        whole iteration budget.
    n_iter : int
        Iterations done.
    """

    W: np.ndarray
    H: np.ndarray
    losses: np.ndarray
    train_mse: np.ndarray
    val_mse: np.ndarray
    times: np.ndarray
    method: str
    converged: bool = False
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
        raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    check_int("rank", rank, minimum=1)
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
    X = check_array(name, X, shape=shape).copy()
    if np.any(X < 0):
        raise ValueError(f"{name} must be non-negative, found {int(np.sum(X < 0))} negative entries")
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


def _run(ratings, rank, W0, H0, seed, n_iter, val, floor, method, update, objective,
         tol=0.0) -> NMFResult:
    m, n = ratings.shape
    if W0 is None or H0 is None:
        W_init, H_init = nmf_init(ratings, rank, seed)
        W0 = W_init if W0 is None else W0
        H0 = H_init if H0 is None else H0
    W = _check_factor("W0", W0, (m, rank))
    H = _check_factor("H0", H0, (n, rank))
    n_iter = check_int("n_iter", n_iter, minimum=0)
    floor = check_real("floor", floor, minimum=0.0)
    tol = check_real("tol", tol, minimum=0.0)
    if val is not None and not isinstance(val, Ratings):
        raise TypeError(f"val must be a mfbook.core.Ratings, got {type(val).__name__}")
    if val is not None and val.shape != ratings.shape:
        raise ValueError(f"val must have shape {ratings.shape}, got {val.shape}")
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
    guard = DivergenceGuard(method)
    guard.start(losses[0])
    converged = False
    for it in range(1, n_iter + 1):
        start = time.perf_counter()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            update(W, H)
        elapsed += time.perf_counter() - start
        record()
        guard.check(losses[-1], step=it)
        if tol > 0 and losses[-2] - losses[-1] <= tol * losses[-2]:
            converged = True
            break
    return NMFResult(W, H, np.array(losses), np.array(tr), np.array(va), np.array(times), method,
                     converged)


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
    tol: float = 0.0,
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
    tol : float
        Stop early when one iteration lowers the loss by at most ``tol`` times its value
        (0, the default, runs all ``n_iter`` iterations).

    Raises
    ------
    mfbook.core.DivergenceError
        If the loss becomes non-finite (e.g. a factor column collapsed to zero with
        ``floor=0``) or grows past :data:`mfbook.core.DIVERGENCE_FACTOR` times its start.
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
    return _run(ratings, rank, W0, H0, seed, n_iter, val, floor, f"MU-{loss}", update, objective,
                tol=tol)


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
    tol: float = 0.0,
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
    ``tol`` as in :func:`nmf_mu`.
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
    return _run(ratings, rank, W0, H0, seed, n_iter, val, floor, "HALS", update, _frobenius,
                tol=tol)


def _nnls_rows(G: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Row by row :math:`\\arg\\min_{w \\ge 0} w^\\top G_i w - 2 c_i^\\top w` for SPD ``G_i``.

    The unconstrained minimizer :math:`G_i^{-1} c_i` is the answer wherever it is
    non-negative (the problem is convex); the other rows go to SciPy's exact active-set
    solver (Lawson-Hanson) in the form :math:`\\min_{w\\ge0} \\lVert L_i^\\top w - L_i^{-1}
    c_i\\rVert^2` with :math:`G_i = L_i L_i^\\top`, which has the same minimizer.
    """
    k = G.shape[1]
    # A relative jitter of 1e-12 keeps the Cholesky factor defined if a column of the
    # other factor is exactly zero (the solution moves by about 1e-12 relative).
    G = G + (1e-12 * np.trace(G, axis1=1, axis2=2) / k + 1e-300)[:, None, None] * np.eye(k)
    L = np.linalg.cholesky(G)
    y = np.linalg.solve(L, c[:, :, None])                      # L^{-1} c
    w = np.linalg.solve(np.swapaxes(L, 1, 2), y)[:, :, 0]      # G^{-1} c
    for i in np.flatnonzero(np.any(w < 0, axis=1)):
        w[i] = nnls(L[i].T, y[i, :, 0], maxiter=50 * k)[0]
    return w


def nmf_anls(
    ratings: Ratings,
    rank: int,
    *,
    n_iter: int = 500,
    tol: float = 1e-10,
    W0: np.ndarray | None = None,
    H0: np.ndarray | None = None,
    seed: SeedLike = None,
    val: Ratings | None = None,
) -> NMFResult:
    """Masked ANLS: alternating exact non-negative least squares for the Frobenius loss.

    With :math:`H` fixed, :math:`F` separates over the rows of :math:`W`; row :math:`i`
    solves

    .. math::
        \\min_{w \\ge 0}\\ \\sum_{j\\in\\Omega_i} \\big(r_{ij} - w^\\top h_j\\big)^2
        = \\min_{w \\ge 0}\\ w^\\top G_i w - 2 c_i^\\top w + \\text{const},

    .. math::
        G_i = \\sum_{j\\in\\Omega_i} h_j h_j^\\top, \\qquad
        c_i = \\sum_{j\\in\\Omega_i} r_{ij} h_j,

    a convex quadratic program in :math:`k` variables solved exactly (an unconstrained
    solve where its answer is non-negative, SciPy's Lawson-Hanson active-set ``nnls``
    otherwise).  Then the same for :math:`H` with the new :math:`W`.  Each half-step is the
    exact minimizer over one block, so the loss never increases (tested), and every limit
    point is a stationary point of the constrained problem (two-block coordinate descent
    with exact block minimization; Grippo and Sciandrone 2000).  Unlike MU and HALS no floor
    is needed: entries may be exactly zero.

    Parameters
    ----------
    ratings, rank, W0, H0, seed, val
        As in :func:`nmf_mu`.
    n_iter : int
        Largest number of iterations (each solves for :math:`W`, then :math:`H`).
    tol : float
        Stop when one iteration lowers the loss by at most ``tol`` times its value
        (``NMFResult.converged``); 0 runs all ``n_iter`` iterations.

    Notes
    -----
    The Gram matrices :math:`G_i` of all rows come from one product
    :math:`M\\,[h_j \\otimes h_j]_j` (the mask times the :math:`n \\times k^2` matrix of
    outer products), so an iteration costs :math:`O(|\\Omega|k^2)` plus the small solves.
    """
    _check_ratings(ratings, rank, positive=True)
    om = _Omega(ratings)
    k = int(rank)

    def solve(Mask, X, F: np.ndarray) -> np.ndarray:
        outer = (F[:, :, None] * F[:, None, :]).reshape(F.shape[0], k * k)
        G = np.asarray(Mask @ outer).reshape(-1, k, k)
        c = np.asarray(X @ F)
        return _nnls_rows(G, c)

    def update(W: np.ndarray, H: np.ndarray) -> None:
        with one_blas_thread():
            W[...] = solve(om.Mask, om.X, H)
            H[...] = solve(om.MaskT, om.XT, W)

    return _run(ratings, rank, W0, H0, seed, n_iter, val, 0.0, "ANLS", update, _frobenius,
                tol=tol)
