"""The matrix factorization objective: loss, gradient, Hessian, Hessian-vector product.

Model and conventions (the book's *Notation and conventions* page explains them):

.. math::

    \\hat r_{ij} = \\mathbf u_i^\\top \\mathbf v_j
    \\quad\\text{(plain)}, \\qquad
    \\hat r_{ij} = \\mu + b_i + c_j + \\mathbf u_i^\\top \\mathbf v_j
    \\quad\\text{(biased)},

.. math::

    L(\\theta) = h \\Big[\\, s \\sum_{(i,j)\\in\\Omega} (r_{ij} - \\hat r_{ij})^2
        + \\lambda \\Big(\\sum_i w_i \\|\\mathbf u_i\\|^2 + \\sum_j w'_j \\|\\mathbf v_j\\|^2\\Big)
        + \\lambda_b \\Big(\\sum_i w_i b_i^2 + \\sum_j w'_j c_j^2\\Big) \\Big]

with :math:`h = 1/2` if ``half`` else 1, :math:`s = 1/|\\Omega|` if ``mean`` else 1, and
weights :math:`w_i = w'_j = 1` (``reg_weighting="uniform"``) or the numbers of observed
entries :math:`w_i = n_i`, :math:`w'_j = n_j` (``reg_weighting="count"``, the ALS-WR
penalty, which is also the expectation of per-rating regularization in SGD).

The parameters are one flat vector ``theta = [U.ravel(), V.ravel(), b, c]`` (the
biases only in the biased model; :math:`\\mu` is a fixed constant, the mean of the
observed values unless given).  Every method costs :math:`O(|\\Omega| k)`; only
:meth:`MFObjective.hessian` builds a dense matrix, of size :math:`d \\times d`.  When
:math:`\\Omega` covers at least 1/16 of a matrix of at least 4,096 entries, products are
formed densely in reused :math:`m \\times n` buffers (then :math:`mnk \\le 16|\\Omega|k`,
so the bound holds, and BLAS is faster than gathering factor rows entry by entry);
otherwise nothing of size :math:`m \\times n` is ever allocated.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from ._ratings import Ratings, SeedLike, as_generator
from ._validation import (check_array, check_bool, check_indices, check_int,
                          check_option, check_real, real_array)

__all__ = ["Factors", "MFObjective"]

# Dense fast path limits (see MFObjective.__init__): density at least 1/DENSE_RATIO and
# between DENSE_MIN_ENTRIES and DENSE_MAX_ENTRIES entries in the m x n work arrays.  Below
# the minimum the dense path gains nothing, and the triplet path keeps exact symmetries of
# tiny problems exact: with it, gradient descent from u = v on a symmetric 2 x 2 target keeps
# u = v bit for bit (chapter 1), which BLAS kernels for A and A^T products do not promise.
DENSE_RATIO = 16
DENSE_MIN_ENTRIES = 1 << 12
DENSE_MAX_ENTRIES = 1 << 22


class Factors(NamedTuple):
    """The parameters of a factorization model, unpacked from a flat vector."""

    U: np.ndarray
    """Row (user) factors, shape ``(..., m, k)``."""
    V: np.ndarray
    """Column (item) factors, shape ``(..., n, k)``."""
    row_bias: np.ndarray | None = None
    """Row biases :math:`b`, shape ``(..., m)`` (biased model only)."""
    col_bias: np.ndarray | None = None
    """Column biases :math:`c`, shape ``(..., n)`` (biased model only)."""
    mu: float = 0.0
    """Global offset :math:`\\mu` (0 in the plain model)."""


class MFObjective:
    """Loss, gradient and curvature of a (biased) matrix factorization on observed entries.

    Parameters
    ----------
    ratings : Ratings
        The observed entries :math:`\\Omega` and their values.
    rank : int
        The number of factors :math:`k \\geq 1`.
    reg : float
        :math:`\\lambda \\geq 0`, weight of the factor penalty.
    mean : bool
        Average the squared errors over :math:`|\\Omega|` (``True``) or sum them.
    half : bool
        Multiply the whole objective by 1/2.
    reg_weighting : {"uniform", "count"}
        Penalise every factor row equally, or row :math:`i` in proportion to its number
        of observed entries :math:`n_i` (ALS-WR).
    biased : bool
        Use the biased model :math:`\\mu + b_i + c_j + \\mathbf u_i^\\top \\mathbf v_j`.
    reg_bias : float, optional
        :math:`\\lambda_b`, weight of the bias penalty; defaults to ``reg``.
    mu : float, optional
        The fixed global offset of the biased model; defaults to the mean rating.
    dense : bool, optional
        Form the predictions and error matrices in dense ``m x n`` work arrays (``True``)
        or only on the observed entries (``False``).  The default chooses dense when at
        least 1/16 of the matrix is observed and it has between 4,096 and about 4M
        entries; both paths give the same numbers up to rounding.

    Attributes
    ----------
    dim : int
        Number of parameters :math:`d = (m + n)k` (plus :math:`m + n` biases).
    shape : (int, int)
        :math:`(m, n)`.
    row_weights, col_weights : ndarray
        The penalty weights :math:`w_i` and :math:`w'_j` (ones, or the counts
        :math:`n_i`, :math:`n_j`).  Part of the public interface: ALS builds its normal
        equations from them.
    error_scale : float
        :math:`s`: :math:`1/|\\Omega|` with ``mean=True``, else 1.
    mu : float
        The fixed offset of the biased model (0 for the plain model).
    dense : bool
        Whether the dense work arrays are used.

    Examples
    --------
    >>> import numpy as np
    >>> from mfbook.core import Ratings
    >>> R = Ratings.from_dense(np.array([[3.0, 1.0], [1.0, 3.0]]))
    >>> f = MFObjective(R, rank=1)
    >>> float(f.loss(np.zeros(f.dim)))   # 3^2 + 1^2 + 1^2 + 3^2
    20.0
    """

    def __init__(
        self,
        ratings: Ratings,
        rank: int,
        *,
        reg: float = 0.0,
        mean: bool = False,
        half: bool = False,
        reg_weighting: Literal["uniform", "count"] = "uniform",
        biased: bool = False,
        reg_bias: float | None = None,
        mu: float | None = None,
        dense: bool | None = None,
    ) -> None:
        if not isinstance(ratings, Ratings):
            raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
        rank = check_int("rank", rank, minimum=1)
        reg = check_real("reg", reg, minimum=0.0)
        if reg_bias is not None:
            reg_bias = check_real("reg_bias", reg_bias, minimum=0.0)
        mean = check_bool("mean", mean)
        half = check_bool("half", half)
        biased = check_bool("biased", biased)
        check_option("reg_weighting", reg_weighting, ("uniform", "count"))
        if mu is not None:
            mu = check_real("mu", mu)
        self.ratings = ratings
        self.rank = int(rank)
        self.reg = float(reg)
        self.reg_bias = float(reg if reg_bias is None else reg_bias)
        self.mean = bool(mean)
        self.half = bool(half)
        self.reg_weighting = reg_weighting
        self.biased = bool(biased)
        if mu is not None and not biased:
            raise ValueError("mu is only used by the biased model (biased=True)")
        self.mu = float(ratings.mean() if mu is None else mu) if biased else 0.0

        m, n = ratings.shape
        k = self.rank
        self.shape = (m, n)
        self.dim = (m + n) * k + ((m + n) if biased else 0)
        self._h = 0.5 if half else 1.0
        self.error_scale = 1.0 / ratings.nnz if mean else 1.0
        if reg_weighting == "count":
            self.row_weights = ratings.row_counts().astype(np.float64)
            self.col_weights = ratings.col_counts().astype(np.float64)
        else:
            self.row_weights = np.ones(m)
            self.col_weights = np.ones(n)
        # A CSR pattern of Omega built once; each evaluation only swaps in new values.
        order = np.lexsort((ratings.cols, ratings.rows))
        self._csr_order = order
        self._csr_indices = ratings.cols[order].astype(np.int32)
        self._work: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # Dense fast path: when Omega covers at least 1/DENSE_RATIO of the matrix, the
        # m x n products cost at most DENSE_RATIO times |Omega| k, so the O(|Omega| k)
        # bound still holds, and one BLAS product beats gathering k-vectors entry by entry
        # (about 2x faster for loss_grad on the StreamRec problem, 10% observed).
        if dense is not None:
            dense = check_bool("dense", dense)
        if dense is None:
            dense = (DENSE_MIN_ENTRIES <= m * n
                     <= min(DENSE_RATIO * ratings.nnz, DENSE_MAX_ENTRIES))
        self.dense = bool(dense)
        self._linear = ratings.rows * n + ratings.cols
        self._dense_work: dict[str, np.ndarray] = {}
        self._csr_indptr = np.concatenate(
            [[0], np.cumsum(ratings.row_counts())]
        ).astype(np.int32)

    # ------------------------------------------------------------------ parameters
    def unpack(self, theta: np.ndarray) -> Factors:
        """Views of ``U, V`` (and the biases) inside ``theta``, shape ``(d,)`` or ``(B, d)``."""
        theta = self.check_theta(theta, allow_batch=True)
        m, n = self.shape
        k = self.rank
        lead = theta.shape[:-1]
        U = theta[..., : m * k].reshape(*lead, m, k)
        V = theta[..., m * k : (m + n) * k].reshape(*lead, n, k)
        if not self.biased:
            return Factors(U, V)
        b = theta[..., (m + n) * k : (m + n) * k + m]
        c = theta[..., (m + n) * k + m :]
        return Factors(U, V, b, c, self.mu)

    def pack(
        self,
        U: np.ndarray,
        V: np.ndarray,
        row_bias: np.ndarray | None = None,
        col_bias: np.ndarray | None = None,
    ) -> np.ndarray:
        """Flatten factors (and biases, zero if omitted) into a parameter vector."""
        m, n = self.shape
        k = self.rank
        U = check_array("U", U, shape=(m, k))
        V = check_array("V", V, shape=(n, k))
        parts = [U.ravel(), V.ravel()]
        if self.biased:
            b = np.zeros(m) if row_bias is None else np.asarray(row_bias, dtype=np.float64)
            c = np.zeros(n) if col_bias is None else np.asarray(col_bias, dtype=np.float64)
            if b.shape != (m,) or c.shape != (n,):
                raise ValueError(
                    f"row_bias and col_bias must have shapes {(m,)} and {(n,)}, "
                    f"got {b.shape} and {c.shape}"
                )
            parts += [b, c]
        elif row_bias is not None or col_bias is not None:
            raise ValueError("biases given to a plain model (create it with biased=True)")
        return np.concatenate(parts)

    def random_params(self, std: float = 0.1, seed: SeedLike = None) -> np.ndarray:
        """A random starting point: factors :math:`\\sim \\mathcal N(0, \\text{std}^2)`, biases 0.

        The factors are one draw ``rng.normal(0, std, (m + n) k)`` laid out as
        ``[U.ravel(), V.ravel()]``.
        """
        std = check_real("std", std, minimum=0.0)
        m, n = self.shape
        theta = np.zeros(self.dim)
        theta[: (m + n) * self.rank] = as_generator(seed).normal(0.0, std, (m + n) * self.rank)
        return theta

    # ------------------------------------------------------------------ evaluation
    def predict(self, theta: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Predictions :math:`\\hat r_{ij}` at the given entries (``theta`` may be batched)."""
        f = self.unpack(theta)
        m, n = self.shape
        rows, cols = (check_indices(name, np.reshape(idx, -1), size=size).reshape(np.shape(idx))
                      for name, idx, size in (("rows", rows, m), ("cols", cols, n)))
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have the same shape, got {rows.shape} and {cols.shape}")
        # np.take is several times faster than fancy indexing for this row gather.
        pred = np.einsum("...nk,...nk->...n", np.take(f.U, rows, axis=-2),
                         np.take(f.V, cols, axis=-2))
        if self.biased:
            pred = (pred + f.mu + np.take(f.row_bias, rows, axis=-1)
                    + np.take(f.col_bias, cols, axis=-1))
        return pred

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """:math:`e_{ij} = r_{ij} - \\hat r_{ij}` on :math:`\\Omega`, in the order of ``ratings``."""
        theta = self.check_theta(theta, allow_batch=True)
        if theta.ndim == 2:
            return self.ratings.values - self.predict(theta, self.ratings.rows, self.ratings.cols)
        f = self.unpack(theta)
        pred = self._gathered_dot(f.U, f.V, "uv")
        if self.biased:
            pred = (pred + f.mu + np.take(f.row_bias, self.ratings.rows)
                    + np.take(f.col_bias, self.ratings.cols))
        return self.ratings.values - pred

    def _gathered_dot(self, A: np.ndarray, B: np.ndarray, slot: str) -> np.ndarray:
        """:math:`(a_i^\\top b_j)` over Omega for row factors A and column factors B.

        The two ``(|Omega|, k)`` gathers go into buffers kept by the objective: allocating
        them afresh on every call costs more in page faults than the gather itself.
        """
        if self.dense:
            product = self._dense_buffer("product")
            np.matmul(A, B.T, out=product)
            return np.take(product.ravel(), self._linear)
        shape = (self.ratings.nnz, self.rank)
        bufs = self._work.get(slot)
        if bufs is None:
            bufs = self._work[slot] = (np.empty(shape), np.empty(shape))
        np.take(A, self.ratings.rows, axis=0, out=bufs[0])
        np.take(B, self.ratings.cols, axis=0, out=bufs[1])
        return np.einsum("nk,nk->n", bufs[0], bufs[1])

    def _penalty(self, f: Factors) -> np.ndarray:
        pen = self.reg * (
            np.einsum("i,...ik->...", self.row_weights, f.U**2)
            + np.einsum("j,...jk->...", self.col_weights, f.V**2)
        )
        if self.biased:
            pen = pen + self.reg_bias * (
                np.einsum("i,...i->...", self.row_weights, f.row_bias**2)
                + np.einsum("j,...j->...", self.col_weights, f.col_bias**2)
            )
        return pen

    def loss(self, theta: np.ndarray) -> float | np.ndarray:
        """:math:`L(\\theta)`.  A batch ``(B, d)`` of parameter vectors gives ``(B,)`` losses."""
        theta = self.check_theta(theta, allow_batch=True)
        e = self.residuals(theta)
        value = self._h * (self.error_scale * np.sum(e**2, axis=-1) + self._penalty(self.unpack(theta)))
        return float(value) if theta.ndim == 1 else value

    def _dense_buffer(self, slot: str) -> np.ndarray:
        """A zero-initialised ``m x n`` work array kept by the objective (dense path only).

        Error matrices only ever have their entries on Omega written, so the others stay
        zero across calls; the product buffer is overwritten whole.
        """
        buf = self._dense_work.get(slot)
        if buf is None:
            buf = self._dense_work[slot] = np.zeros(self.shape)
        return buf

    def _error_matrix(self, e: np.ndarray, slot: str = "e") -> sp.csr_matrix | np.ndarray:
        """The ``m x n`` matrix holding ``e`` on Omega and zeros elsewhere.

        Sparse (CSR) in general; a reused dense array on the dense path, one per ``slot``
        so that two such matrices can be alive at once (as in :meth:`hvp`).
        """
        if self.dense:
            E = self._dense_buffer(slot)
            E.ravel()[self._linear] = e
            return E
        return sp.csr_matrix(
            (e[self._csr_order], self._csr_indices, self._csr_indptr), shape=self.shape
        )

    def loss_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """:math:`L(\\theta)` and :math:`\\nabla L(\\theta)`.

        .. math::
            \\nabla_{\\mathbf u_i} L &= h\\Big[-2s \\sum_{j:(i,j)\\in\\Omega} e_{ij} \\mathbf v_j
                + 2\\lambda w_i \\mathbf u_i\\Big], \\\\
            \\frac{\\partial L}{\\partial b_i} &= h\\Big[-2s \\sum_{j} e_{ij} + 2\\lambda_b w_i b_i\\Big]

        and symmetrically for :math:`\\mathbf v_j` and :math:`c_j`.
        """
        theta = self.check_theta(theta)
        f = self.unpack(theta)
        e = self.residuals(theta)
        loss = self._h * (self.error_scale * float(e @ e) + float(self._penalty(f)))
        E = self._error_matrix(e)
        c2 = 2.0 * self._h
        gU = c2 * (-self.error_scale * (E @ f.V) + self.reg * self.row_weights[:, None] * f.U)
        gV = c2 * (-self.error_scale * (E.T @ f.U) + self.reg * self.col_weights[:, None] * f.V)
        parts = [gU.ravel(), gV.ravel()]
        if self.biased:
            m, n = self.shape
            gb = c2 * (-self.error_scale * np.bincount(self.ratings.rows, e, m)
                       + self.reg_bias * self.row_weights * f.row_bias)
            gc = c2 * (-self.error_scale * np.bincount(self.ratings.cols, e, n)
                       + self.reg_bias * self.col_weights * f.col_bias)
            parts += [gb, gc]
        return loss, np.concatenate(parts)

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """:math:`\\nabla L(\\theta)` (see :meth:`loss_grad`)."""
        return self.loss_grad(theta)[1]

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Same as :meth:`loss_grad`, so the objective can be handed to an optimizer."""
        return self.loss_grad(theta)

    def hvp(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Hessian-vector product :math:`\\nabla^2 L(\\theta)\\,\\delta` in :math:`O(|\\Omega| k)`.

        With :math:`\\delta\\hat r_{ij} = \\delta\\mathbf u_i^\\top \\mathbf v_j
        + \\mathbf u_i^\\top \\delta\\mathbf v_j + \\delta b_i + \\delta c_j`,

        .. math::
            (\\nabla^2 L\\,\\delta)_{\\mathbf u_i} &= h\\Big[2s \\sum_{j}
                \\big(\\delta\\hat r_{ij}\\,\\mathbf v_j - e_{ij}\\,\\delta\\mathbf v_j\\big)
                + 2\\lambda w_i\\,\\delta\\mathbf u_i\\Big], \\\\
            (\\nabla^2 L\\,\\delta)_{b_i} &= h\\Big[2s \\sum_j \\delta\\hat r_{ij}
                + 2\\lambda_b w_i\\,\\delta b_i\\Big],

        and symmetrically for :math:`\\mathbf v_j` and :math:`c_j`: a Gauss-Newton term
        :math:`2sJ^\\top J\\delta` plus the residual term coming from the bilinear
        :math:`\\mathbf u_i^\\top\\mathbf v_j`.
        """
        theta = self.check_theta(theta)
        direction = self.check_theta(direction, name="direction")
        f = self.unpack(theta)
        d = self.unpack(direction)
        rows, cols = self.ratings.rows, self.ratings.cols
        e = self.residuals(theta)
        dr = self._gathered_dot(d.U, f.V, "uv") + self._gathered_dot(f.U, d.V, "uv")
        if self.biased:
            dr = dr + np.take(d.row_bias, rows) + np.take(d.col_bias, cols)
        Dr = self._error_matrix(dr, "dr")
        E = self._error_matrix(e)
        c2 = 2.0 * self._h
        hU = c2 * (self.error_scale * (Dr @ f.V - E @ d.V) + self.reg * self.row_weights[:, None] * d.U)
        hV = c2 * (self.error_scale * (Dr.T @ f.U - E.T @ d.U) + self.reg * self.col_weights[:, None] * d.V)
        parts = [hU.ravel(), hV.ravel()]
        if self.biased:
            m, n = self.shape
            parts.append(c2 * (self.error_scale * np.bincount(rows, dr, m)
                               + self.reg_bias * self.row_weights * d.row_bias))
            parts.append(c2 * (self.error_scale * np.bincount(cols, dr, n)
                               + self.reg_bias * self.col_weights * d.col_bias))
        return np.concatenate(parts)

    def hessian(self, theta: np.ndarray, max_dim: int = 5000) -> np.ndarray:
        """The dense Hessian :math:`\\nabla^2 L(\\theta)`, for problems with ``dim <= max_dim``.

        .. math::
            \\nabla^2 L = h\\Big[2s\\big(J^\\top J - \\textstyle\\sum_{(i,j)\\in\\Omega}
            e_{ij} \\nabla^2 \\hat r_{ij}\\big) + 2\\,\\mathrm{diag}(\\lambda w)\\Big]

        where row :math:`(i,j)` of the Jacobian :math:`J` holds :math:`\\mathbf v_j` at the
        position of :math:`\\mathbf u_i`, :math:`\\mathbf u_i` at that of
        :math:`\\mathbf v_j` (and 1 at :math:`b_i`, :math:`c_j`), and
        :math:`\\nabla^2 \\hat r_{ij}` couples :math:`u_{ia}` with :math:`v_{ja}` by 1.
        Use :meth:`hvp` for larger problems.
        """
        theta = self.check_theta(theta)
        if self.dim > max_dim:
            raise ValueError(
                f"dense Hessian of dimension {self.dim} exceeds max_dim={max_dim}; "
                "use hvp() with an iterative eigensolver instead"
            )
        m, n = self.shape
        k = self.rank
        f = self.unpack(theta)
        rows, cols = self.ratings.rows, self.ratings.cols
        nnz = self.ratings.nnz
        e = self.residuals(theta)
        a = np.arange(k)
        u_pos = rows[:, None] * k + a  # (nnz, k): positions of u_i in theta
        v_pos = m * k + cols[:, None] * k + a
        jac_cols = [u_pos, v_pos]
        jac_vals = [f.V[cols], f.U[rows]]
        if self.biased:
            jac_cols += [((m + n) * k + rows)[:, None], ((m + n) * k + m + cols)[:, None]]
            jac_vals += [np.ones((nnz, 1)), np.ones((nnz, 1))]
        J_cols = np.concatenate(jac_cols, axis=1)
        J_vals = np.concatenate(jac_vals, axis=1)
        J = sp.csr_matrix(
            (J_vals.ravel(), J_cols.ravel(),
             np.arange(0, J_cols.size + 1, J_cols.shape[1])),
            shape=(nnz, self.dim),
        )
        H = 2.0 * self.error_scale * (J.T @ J).toarray()
        cross = -2.0 * self.error_scale * np.repeat(e, k)
        np.add.at(H, (u_pos.ravel(), v_pos.ravel()), cross)
        np.add.at(H, (v_pos.ravel(), u_pos.ravel()), cross)
        diag = np.concatenate([
            np.repeat(self.reg * self.row_weights, k),
            np.repeat(self.reg * self.col_weights, k),
        ])
        if self.biased:
            diag = np.concatenate([diag, self.reg_bias * self.row_weights, self.reg_bias * self.col_weights])
        H[np.diag_indices_from(H)] += 2.0 * diag
        return self._h * H

    # ------------------------------------------------------------------ validation
    def check_theta(self, theta: np.ndarray, allow_batch: bool = False,
                    name: str = "theta", finite: bool = True) -> np.ndarray:
        """``theta`` as a float64 array of shape ``(d,)`` (or ``(B, d)`` with ``allow_batch``).

        The one check of a parameter vector that every tool working on this objective calls
        (ALS, the landscape and minima tools, the estimator), so that a wrong vector gets
        the same message everywhere; ``name`` is the argument name shown.  NaN and
        infinite entries are refused unless ``finite=False``: a non-finite starting point
        would otherwise run to a silently meaningless result.
        """
        theta = real_array(name, theta, bools=True)
        ok_ndim = theta.ndim in ((1, 2) if allow_batch else (1,))
        if not ok_ndim or theta.shape[-1] != self.dim:
            expected = f"({self.dim},)" + (f" or (B, {self.dim})" if allow_batch else "")
            raise ValueError(
                f"{name} must have shape {expected} for m={self.shape[0]}, "
                f"n={self.shape[1]}, k={self.rank}{', biased' if self.biased else ''}; "
                f"got {theta.shape}"
            )
        if finite and not np.isfinite(theta).all():
            bad = ~np.isfinite(theta)
            first = np.argwhere(bad)[0]
            at = int(first[-1])
            raise ValueError(
                f"{name} must be finite, found {int(bad.sum())} NaN or infinite entries "
                f"(first: {float(theta[tuple(first)])!r} at position {at})")
        return theta

    def __repr__(self) -> str:
        parts = [f"shape={self.shape}", f"nnz={self.ratings.nnz}", f"rank={self.rank}",
                 f"reg={self.reg:g}", f"mean={self.mean}", f"half={self.half}",
                 f"reg_weighting={self.reg_weighting!r}"]
        if self.biased:
            parts += ["biased=True", f"reg_bias={self.reg_bias:g}", f"mu={self.mu:.6f}"]
        return f"MFObjective({', '.join(parts)})"
