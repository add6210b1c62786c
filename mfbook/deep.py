"""Regularized deep matrix factorization: loss, derivatives and every critical point.

The objective (chapter 4), for a fully observed target :math:`Y \\in \\mathbb R^{m\\times n}`,
depth :math:`L \\ge 2` and layers :math:`W_l \\in \\mathbb R^{d_l \\times d_{l-1}}`
(:math:`d_0 = n`, :math:`d_L = m`, hidden widths :math:`d_1, \\dots, d_{L-1}`):

.. math::

    F(W_1, \\dots, W_L) = \\lVert W_L W_{L-1} \\cdots W_1 - Y\\rVert_F^2
        + \\sum_{l=1}^{L} \\lambda_l \\lVert W_l\\rVert_F^2 ,

a **sum** of squared errors, no factor :math:`\\tfrac12`, one penalty weight per layer.
Writing :math:`P = W_L\\cdots W_1`, :math:`E = P - Y`, :math:`A_{l} = W_l\\cdots W_1`
(:math:`A_0 = I_n`) and :math:`B_l = W_L\\cdots W_{l+1}` (:math:`B_L = I_m`):

.. math::

    \\nabla_{W_l} F = 2\\big(B_l^\\top E A_{l-1}^\\top + \\lambda_l W_l\\big).

Every critical point with all :math:`\\lambda_l > 0` is described in closed form by
:func:`enumerate_critical_points`: with :math:`\\Lambda = (\\prod_l \\lambda_l)^{1/L}` the
geometric mean of the weights and :math:`Y = \\sum_i y_i \\mathbf u_i \\mathbf v_i^\\top`
the SVD of the target, a critical point picks a set :math:`S` of at most
:math:`\\min_l d_l` singular triplets and, for each :math:`i \\in S`, a positive root
:math:`s_i` of the **reduced scalar equation**

.. math::

    s^{L-2}\\,(y_i - s^L) = \\Lambda ,

the stationarity condition of :math:`\\varphi(s) = (s^L - y)^2 + L\\Lambda s^2`
(:func:`reduced_loss`).  Its product is :math:`P = \\sum_{i\\in S} s_i^L \\mathbf u_i
\\mathbf v_i^\\top` and its layers are balanced,
:math:`\\lambda_{l+1} W_{l+1}^\\top W_{l+1} = \\lambda_l W_l W_l^\\top`.
:func:`classify` decides the type of each (global minimum, spurious local minimum,
strict saddle, non-strict saddle) from :math:`S`, the roots and the singular values;
:func:`hessian_check` and :func:`normal_curvature` check the decision with the Hessian,
discounting the zero eigenvalues of the orthogonal symmetry
:math:`W_l \\mapsto R_l W_l R_{l-1}^\\top`.

Parameters are one flat vector ``theta = [W_1.ravel(), ..., W_L.ravel()]``, so the
optimizers of :mod:`mfbook.optim` and the tools of :mod:`mfbook.landscape` apply unchanged.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
from scipy.optimize import brentq

from .data import SeedLike, as_generator
from .landscape import (HessianExtremes, classify_critical_point, hessian_extremes,
                        orthonormal_span)
from .optim import GradientDescent, OptimResult, minimize

__all__ = [
    "DeepMF",
    "reduced_loss",
    "reduced_derivative",
    "reduced_second_derivative",
    "ScalarRoot",
    "reduced_roots",
    "Thresholds",
    "thresholds",
    "DEEP_KINDS",
    "HESSIAN_KIND",
    "DeepCriticalPoint",
    "classify",
    "critical_point",
    "scaling_direction",
    "rotate_pair",
    "pair_direction",
    "enumerate_critical_points",
    "count_critical_points",
    "global_minimum",
    "HessianCheck",
    "hessian_check",
    "normal_curvature",
    "nearest_critical_point",
    "BatchedRuns",
    "batched_gradient_descent",
    "soft_threshold_singular_values",
    "target_with_singular_values",
    "depth_penalty",
]


def _check_depth(depth: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    return int(depth)


def _check_positive(name: str, value: float) -> float:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


# ====================================================================== the objective
class DeepMF:
    """Loss, gradient and curvature of regularized deep matrix factorization.

    Parameters
    ----------
    Y : array_like, shape (m, n)
        The fully observed target.
    hidden : sequence of int
        Hidden widths :math:`d_1, \\dots, d_{L-1}` (at least one), so the depth is
        :math:`L = ` ``len(hidden) + 1`` and :math:`W_l` has shape :math:`d_l \\times
        d_{l-1}` with :math:`d_0 = n`, :math:`d_L = m`.
    reg : float or sequence of float
        :math:`\\lambda \\ge 0` for every layer, or one :math:`\\lambda_l \\ge 0` per layer
        (``L`` values, layer 1 first).  The closed-form analysis needs all
        :math:`\\lambda_l > 0`.

    Notes
    -----
    The loss is the sum form of the book (:doc:`notation`); the "half" form
    :math:`\\tfrac12\\lVert P - Y\\rVert_F^2 + \\tfrac{\\lambda}{2}\\sum_l\\lVert W_l\\rVert_F^2`
    is :math:`F/2`: same critical points, Hessian halved.  For :math:`L = 2` the objective
    is :class:`mfbook.objective.MFObjective` with ``reg=λ`` on the fully observed
    :math:`Y`, with :math:`U = W_2` and :math:`V = W_1^\\top`.

    Examples
    --------
    >>> import numpy as np
    >>> f = DeepMF(np.diag([3.0, 1.0]), hidden=[2, 2], reg=0.5)
    >>> f.depth, f.dims, f.dim
    (3, (2, 2, 2, 2), 12)
    >>> float(f.loss(np.zeros(f.dim)))   # ||Y||_F^2 at the origin
    10.0
    """

    def __init__(self, Y: np.ndarray, hidden: Sequence[int], reg: float | Sequence[float]) -> None:
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim != 2 or Y.size == 0 or not np.all(np.isfinite(Y)):
            raise ValueError(f"Y must be a non-empty finite 2-d array, got shape {Y.shape}")
        if isinstance(hidden, (int, np.integer)):
            raise ValueError(f"hidden must be a sequence of widths such as [3, 3], got {hidden!r}")
        hidden = tuple(hidden)
        if len(hidden) == 0 or any(isinstance(d, bool) or not isinstance(d, (int, np.integer))
                                   or d < 1 for d in hidden):
            raise ValueError(
                "hidden must be a non-empty sequence of integers >= 1 (depth >= 2), "
                f"got {hidden!r}")
        m, n = Y.shape
        self.Y = Y
        self.shape = (m, n)
        self.depth = len(hidden) + 1
        self.dims = (n, *(int(d) for d in hidden), m)
        reg_arr = np.broadcast_to(np.asarray(reg, dtype=np.float64), ()) if np.ndim(reg) == 0 \
            else np.asarray(reg, dtype=np.float64)
        if reg_arr.ndim == 0:
            reg_arr = np.full(self.depth, float(reg_arr))
        if (reg_arr.shape != (self.depth,) or not np.all(np.isfinite(reg_arr))
                or np.any(reg_arr < 0)):
            raise ValueError(
                f"reg must be a number >= 0 or {self.depth} numbers >= 0 (one per layer), "
                f"got {reg!r}")
        self.reg = reg_arr.copy()
        self.shapes = [(self.dims[l], self.dims[l - 1]) for l in range(1, self.depth + 1)]
        sizes = [a * b for a, b in self.shapes]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.dim = int(self.offsets[-1])
        self.min_width = int(min(self.dims))
        U, y, Vt = np.linalg.svd(Y, full_matrices=False)
        self.svd = (U, y, Vt.T)

    # ------------------------------------------------------------------ parameters
    @property
    def reg_geometric(self) -> float:
        """:math:`\\Lambda = (\\prod_l \\lambda_l)^{1/L}`, the weight of the reduced problem."""
        if np.any(self.reg <= 0):
            return 0.0
        return float(np.exp(np.mean(np.log(self.reg))))

    @property
    def singular_values(self) -> np.ndarray:
        """Singular values :math:`y_1 \\ge y_2 \\ge \\dots` of :math:`Y` (``min(m, n)`` of them)."""
        return self.svd[1]

    def layers(self, theta: np.ndarray) -> list[np.ndarray]:
        """Views :math:`W_1, \\dots, W_L` inside ``theta`` of shape ``(d,)`` or ``(B, d)``."""
        theta = self._check_theta(theta, allow_batch=True)
        lead = theta.shape[:-1]
        return [theta[..., self.offsets[l]:self.offsets[l + 1]].reshape(*lead, *self.shapes[l])
                for l in range(self.depth)]

    def pack(self, layers: Sequence[np.ndarray]) -> np.ndarray:
        """Flatten :math:`W_1, \\dots, W_L` (layer 1 first) into a parameter vector."""
        if len(layers) != self.depth:
            raise ValueError(
                f"layers must hold {self.depth} matrices (W_1 first), got {len(layers)}")
        parts = []
        for l, W in enumerate(layers):
            W = np.asarray(W, dtype=np.float64)
            if W.shape != self.shapes[l]:
                raise ValueError(
                    f"layer W_{l + 1} must have shape {self.shapes[l]}, got {W.shape}")
            parts.append(W.ravel())
        return np.concatenate(parts)

    def random_params(self, std: float = 0.1, seed: SeedLike = None) -> np.ndarray:
        """Every entry :math:`\\sim \\mathcal N(0, \\text{std}^2)`, one draw of length ``dim``."""
        if not (np.isfinite(std) and std >= 0):
            raise ValueError(f"std must be a finite number >= 0, got {std!r}")
        return as_generator(seed).normal(0.0, std, self.dim)

    # ------------------------------------------------------------------ evaluation
    def product(self, theta: np.ndarray) -> np.ndarray:
        """:math:`P = W_L \\cdots W_1`, shape ``(m, n)`` (or ``(B, m, n)`` for a batch)."""
        Ws = self.layers(theta)
        P = Ws[0]
        for W in Ws[1:]:
            P = np.matmul(W, P)
        return P

    def _penalty(self, Ws: list[np.ndarray]) -> np.ndarray:
        return sum(lam * np.sum(W**2, axis=(-2, -1)) for lam, W in zip(self.reg, Ws))

    def loss(self, theta: np.ndarray) -> float | np.ndarray:
        """:math:`F(\\theta)`; a batch ``(B, d)`` gives ``(B,)`` losses."""
        theta = self._check_theta(theta, allow_batch=True)
        Ws = self.layers(theta)
        E = self.product(theta) - self.Y
        value = np.sum(E**2, axis=(-2, -1)) + self._penalty(Ws)
        return float(value) if theta.ndim == 1 else value

    def _prefix_suffix(self, Ws: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``A[l] = W_l...W_1`` (``A[0] = I_n``) and ``B[l] = W_L...W_{l+1}`` (``B[L] = I_m``)."""
        m, n = self.shape
        lead = Ws[0].shape[:-2]
        A = [np.broadcast_to(np.eye(n), (*lead, n, n))]
        for W in Ws:
            A.append(np.matmul(W, A[-1]))
        B = [None] * (self.depth + 1)
        B[self.depth] = np.broadcast_to(np.eye(m), (*lead, m, m))
        for l in range(self.depth, 0, -1):
            B[l - 1] = np.matmul(B[l], Ws[l - 1])
        return A, B

    def loss_grad(self, theta: np.ndarray) -> tuple[float | np.ndarray, np.ndarray]:
        """:math:`F` and :math:`\\nabla F`; a batch ``(B, d)`` gives ``(B,)`` and ``(B, d)``.

        .. math::
            \\nabla_{W_l} F = 2\\big(B_l^\\top (P - Y) A_{l-1}^\\top + \\lambda_l W_l\\big),
            \\quad A_{l-1} = W_{l-1}\\cdots W_1,\\ B_l = W_L \\cdots W_{l+1}.
        """
        theta = self._check_theta(theta, allow_batch=True)
        Ws = self.layers(theta)
        A, B = self._prefix_suffix(Ws)
        E = A[-1] - self.Y
        value = np.sum(E**2, axis=(-2, -1)) + self._penalty(Ws)
        grads = []
        for l in range(1, self.depth + 1):
            G = np.matmul(np.matmul(np.swapaxes(B[l], -1, -2), E), np.swapaxes(A[l - 1], -1, -2))
            G = 2.0 * (G + self.reg[l - 1] * Ws[l - 1])
            grads.append(G.reshape(*theta.shape[:-1], -1))
        grad = np.concatenate(grads, axis=-1)
        return (float(value) if theta.ndim == 1 else value), grad

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """:math:`\\nabla F(\\theta)` (see :meth:`loss_grad`)."""
        return self.loss_grad(theta)[1]

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Same as :meth:`loss_grad`, so the objective can be handed to an optimizer."""
        return self.loss_grad(theta)

    def hvp(self, theta: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """Exact Hessian-vector product :math:`\\nabla^2 F(\\theta)\\,\\Delta`.

        ``direction`` has shape ``(d,)`` or ``(B, d)`` (a batch of directions, one result
        each).  Differentiating :meth:`loss_grad` along :math:`\\Delta = (\\Delta_1, \\dots,
        \\Delta_L)`:

        .. math::
            (\\nabla^2 F\\,\\Delta)_{W_l} = 2\\big(\\dot B_l^\\top E A_{l-1}^\\top
              + B_l^\\top \\dot P A_{l-1}^\\top + B_l^\\top E \\dot A_{l-1}^\\top
              + \\lambda_l \\Delta_l\\big),

        with :math:`\\dot A_l = \\Delta_l A_{l-1} + W_l \\dot A_{l-1}` (:math:`\\dot A_0 = 0`),
        :math:`\\dot B_{l-1} = \\dot B_l W_l + B_l\\Delta_l` (:math:`\\dot B_L = 0`) and
        :math:`\\dot P = \\dot A_L`: :math:`O(L)` matrix products per direction.
        """
        theta = self._check_theta(theta)
        direction = np.asarray(direction, dtype=np.float64)
        if direction.ndim not in (1, 2) or direction.shape[-1] != self.dim:
            raise ValueError(
                f"direction must have shape ({self.dim},) or (B, {self.dim}), "
                f"got {direction.shape}")
        Ws = self.layers(theta)
        A, B = self._prefix_suffix(Ws)
        E = A[-1] - self.Y
        D = self.layers(direction)
        lead = direction.shape[:-1]
        dA = [np.zeros((*lead, *A[0].shape))]
        for l in range(1, self.depth + 1):
            dA.append(np.matmul(D[l - 1], A[l - 1]) + np.matmul(Ws[l - 1], dA[-1]))
        dB = [None] * (self.depth + 1)
        dB[self.depth] = np.zeros((*lead, *B[self.depth].shape))
        for l in range(self.depth, 0, -1):
            dB[l - 1] = np.matmul(dB[l], Ws[l - 1]) + np.matmul(B[l], D[l - 1])
        dP = dA[-1]
        out = []
        for l in range(1, self.depth + 1):
            Bt, At = np.swapaxes(B[l], -1, -2), np.swapaxes(A[l - 1], -1, -2)
            term = (np.matmul(np.matmul(np.swapaxes(dB[l], -1, -2), E), At)
                    + np.matmul(np.matmul(Bt, dP), At)
                    + np.matmul(np.matmul(Bt, E), np.swapaxes(dA[l - 1], -1, -2)))
            out.append((2.0 * (term + self.reg[l - 1] * D[l - 1])).reshape(*lead, -1))
        return np.concatenate(out, axis=-1)

    def hessian(self, theta: np.ndarray, max_dim: int = 4000) -> np.ndarray:
        """The dense Hessian, column blocks from batched :meth:`hvp` (``dim <= max_dim``)."""
        theta = self._check_theta(theta)
        if self.dim > max_dim:
            raise ValueError(
                f"dense Hessian of dimension {self.dim} exceeds max_dim={max_dim}; "
                "use hvp() with hessian_extremes / normal_curvature instead")
        eye = np.eye(self.dim)
        H = np.concatenate([self.hvp(theta, eye[i:i + 256]) for i in range(0, self.dim, 256)])
        return 0.5 * (H + H.T)

    # ------------------------------------------------------------------ structure
    def balance_residuals(self, theta: np.ndarray) -> np.ndarray:
        """:math:`\\lVert\\lambda_{l+1} W_{l+1}^\\top W_{l+1} - \\lambda_l W_l W_l^\\top\\rVert_F`,
        ``l = 1..L-1``: zero at every critical point when all :math:`\\lambda_l > 0`."""
        Ws = self.layers(self._check_theta(theta))
        return np.array([np.linalg.norm(self.reg[l + 1] * Ws[l + 1].T @ Ws[l + 1]
                                        - self.reg[l] * Ws[l] @ Ws[l].T)
                         for l in range(self.depth - 1)])

    def aligned_values(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """The end-to-end values :math:`p_i = \\mathbf u_i^\\top P\\,\\mathbf v_i` in the singular
        bases of :math:`Y`, and the misalignment :math:`\\lVert P - \\sum_i p_i \\mathbf u_i
        \\mathbf v_i^\\top\\rVert_F` (zero at every critical point)."""
        U, _, V = self.svd
        P = self.product(self._check_theta(theta))
        p = np.einsum("mi,mn,ni->i", U, P, V)
        return p, float(np.linalg.norm(P - (U * p) @ V.T))

    def symmetry_tangents(self, theta: np.ndarray) -> np.ndarray:
        """Tangents of the orbit :math:`W_l \\mapsto R_l W_l R_{l-1}^\\top` through ``theta``.

        :math:`R_l \\in O(d_l)` for the hidden layers (:math:`R_0 = I_n`, :math:`R_L = I_m`)
        leaves :math:`P` and every :math:`\\lVert W_l\\rVert_F` unchanged, hence :math:`F`.
        With :math:`R_h = e^{tK}`, :math:`K = E_{ab} - E_{ba}` skew, the velocity is
        :math:`\\dot W_h = K W_h`, :math:`\\dot W_{h+1} = -W_{h+1} K`, other layers fixed.

        Returns
        -------
        ndarray, shape (d, q) with :math:`q = \\sum_{h=1}^{L-1} d_h(d_h - 1)/2`.
        """
        theta = self._check_theta(theta)
        Ws = self.layers(theta)
        cols = []
        for h in range(1, self.depth):          # hidden layer h sits between W_h and W_{h+1}
            d = self.dims[h]
            for a, b in itertools.combinations(range(d), 2):
                t = np.zeros(self.dim)
                Wh, Wn = Ws[h - 1], Ws[h]
                dWh = np.zeros_like(Wh)
                dWh[a], dWh[b] = Wh[b], -Wh[a]            # K W_h with K = E_ab - E_ba
                dWn = np.zeros_like(Wn)
                dWn[:, a], dWn[:, b] = Wn[:, b], -Wn[:, a]  # -W_{h+1} K
                t[self.offsets[h - 1]:self.offsets[h]] = dWh.ravel()
                t[self.offsets[h]:self.offsets[h + 1]] = dWn.ravel()
                cols.append(t)
        return np.array(cols).T if cols else np.zeros((self.dim, 0))

    def orbit_dimension(self, rank: int) -> int:
        """Dimension of the symmetry orbit of a balanced point whose layers have rank ``rank``.

        The stabilizer of such a point is :math:`\\prod_h O(d_h - r)` (rotations of the
        unused hidden directions), so the orbit has dimension
        :math:`\\sum_{h=1}^{L-1} \\big(r d_h - r(r+1)/2\\big)`.
        """
        if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or \
                not 0 <= rank <= self.min_width:
            raise ValueError(f"rank must be an integer in 0..{self.min_width}, got {rank!r}")
        return int(sum(rank * d - rank * (rank + 1) // 2 for d in self.dims[1:-1]))

    def numerical_orbit_dimension(self, theta: np.ndarray, tol: float = 1e-8) -> int:
        """Rank of :meth:`symmetry_tangents` (singular values above ``tol`` times the largest)."""
        T = self.symmetry_tangents(theta)
        if T.shape[1] == 0:
            return 0
        s = np.linalg.svd(T, compute_uv=False)
        if s[0] == 0:
            return 0
        return int(np.sum(s > tol * s[0]))

    # ------------------------------------------------------------------ validation
    def _check_theta(self, theta: np.ndarray, allow_batch: bool = False) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim not in ((1, 2) if allow_batch else (1,)) or theta.shape[-1] != self.dim:
            expected = f"({self.dim},)" + (f" or (B, {self.dim})" if allow_batch else "")
            raise ValueError(f"theta must have shape {expected} for dims {self.dims}, "
                             f"got {theta.shape}")
        return theta

    def _require_positive_reg(self) -> None:
        if np.any(self.reg <= 0):
            raise ValueError(
                f"the closed-form analysis needs every lambda_l > 0, got reg={self.reg.tolist()}")

    def __repr__(self) -> str:
        reg = f"{self.reg[0]:g}" if np.all(self.reg == self.reg[0]) else \
            "[" + ", ".join(f"{r:g}" for r in self.reg) + "]"
        return f"DeepMF(shape={self.shape}, depth={self.depth}, dims={self.dims}, reg={reg})"


# ====================================================================== the reduced problem
def reduced_loss(s: np.ndarray, y: float, lam: float, depth: int) -> np.ndarray:
    """:math:`\\varphi(s) = (s^L - y)^2 + L\\lambda s^2`: the loss of one singular value.

    At a balanced point aligned with :math:`Y` whose layers all have singular value
    :math:`s` on the pair :math:`(\\mathbf u_i, \\mathbf v_i)`, the contribution of that
    pair to :math:`F` is :math:`\\varphi(s)` with :math:`y = y_i` (and :math:`\\lambda`
    the geometric mean :math:`\\Lambda` when the :math:`\\lambda_l` differ).  ``s`` may be
    any array (negative values give :math:`(s^L - y)^2` with the sign of :math:`s^L`).
    """
    L = _check_depth(depth)
    s = np.asarray(s, dtype=np.float64)
    return (s**L - y) ** 2 + L * lam * s**2


def reduced_derivative(s: np.ndarray, y: float, lam: float, depth: int) -> np.ndarray:
    """:math:`\\varphi'(s) = 2Ls\\,\\big(s^{L-2}(s^L - y) + \\lambda\\big)`."""
    L = _check_depth(depth)
    s = np.asarray(s, dtype=np.float64)
    return 2 * L * s * (s ** (L - 2) * (s**L - y) + lam)


def reduced_second_derivative(s: np.ndarray, y: float, lam: float, depth: int) -> np.ndarray:
    """:math:`\\varphi''(s) = 2L\\big((2L-1)s^{2L-2} - (L-1)y\\,s^{L-2} + \\lambda\\big)`."""
    L = _check_depth(depth)
    s = np.asarray(s, dtype=np.float64)
    return 2 * L * ((2 * L - 1) * s ** (2 * L - 2) - (L - 1) * y * s ** (L - 2) + lam)


class ScalarRoot(NamedTuple):
    """A positive root of the reduced equation :math:`s^{L-2}(y - s^L) = \\lambda`."""

    s: float
    """Layer singular value :math:`s > 0` (of the rescaled, balanced layers)."""
    p: float
    """End-to-end singular value :math:`p = s^L`."""
    branch: str
    """``"upper"`` (:math:`\\varphi'' > 0`), ``"lower"`` (:math:`\\varphi'' < 0`) or
    ``"double"`` (the two merge, :math:`\\varphi'' = 0`)."""


class Thresholds(NamedTuple):
    """Thresholds on a singular value :math:`y` of :math:`Y` for given :math:`\\lambda, L`."""

    y_exist: float
    """Below it no non-zero critical value exists: for :math:`L = 2`, :math:`\\lambda`; for
    :math:`L \\ge 3` the double-root value :math:`y^\\ast = \\tfrac{2L-2}{L-2}\\,s_\\ast^L`."""
    s_double: float
    """The double root :math:`s_\\ast = (\\lambda (L-2)/L)^{1/(2L-2)}` at
    :math:`y = y^\\ast` (0 for :math:`L = 2`)."""
    y_global: float
    """Above it the upper root beats :math:`s = 0`, :math:`\\varphi(s_+) < y^2`:
    :math:`y_g = (L-1)\\lambda\\,((L-2)\\lambda)^{-(L-2)/(2L-2)}` (:math:`\\lambda` for
    :math:`L = 2`)."""


def thresholds(lam: float, depth: int) -> Thresholds:
    """The thresholds of the reduced problem, from the closed forms derived in chapter 4.

    With :math:`h(s) = s^{L-2}(y - s^L)`, non-zero critical points need :math:`\\max_s h
    \\ge \\lambda`; the maximum is at :math:`s^L = y(L-2)/(2L-2)`, which gives
    :math:`s_\\ast` and :math:`y^\\ast`.  The upper root ties with zero,
    :math:`\\varphi(s) = y^2`, when :math:`s^{2L-2} - 2y s^{L-2} + L\\lambda = 0` and
    :math:`s^{2L-2} - y s^{L-2} + \\lambda = 0` hold together, i.e.
    :math:`s^{2L-2} = (L-2)\\lambda` and :math:`y\\,s^{L-2} = (L-1)\\lambda`.
    """
    L = _check_depth(depth)
    lam = _check_positive("lam", lam)
    if L == 2:
        return Thresholds(lam, 0.0, lam)
    s_star = (lam * (L - 2) / L) ** (1.0 / (2 * L - 2))
    y_star = s_star**L * (2 * L - 2) / (L - 2)
    s_g = ((L - 2) * lam) ** (1.0 / (2 * L - 2))
    y_g = (L - 1) * lam / s_g ** (L - 2)
    return Thresholds(float(y_star), float(s_star), float(y_g))


def reduced_roots(y: float, lam: float, depth: int, *, rtol: float = 1e-10) -> list[ScalarRoot]:
    """The positive roots of :math:`s^{L-2}(y - s^L) = \\lambda`, ascending.

    * :math:`L = 2`: :math:`s = \\sqrt{y - \\lambda}` if :math:`y > \\lambda` (one root, of
      branch ``"upper"``), else none.
    * :math:`L \\ge 3`: :math:`h(s) = s^{L-2}(y - s^L)` rises from 0 to its maximum at
      :math:`s_m = (y(L-2)/(2L-2))^{1/L}` and falls to :math:`-\\infty`.  If
      :math:`h(s_m) > \\lambda` there are two roots, ``"lower"`` in :math:`(0, s_m)` and
      ``"upper"`` in :math:`(s_m, y^{1/L})`, found by bracketing (Brent's method);
      if :math:`|h(s_m) - \\lambda| \\le` ``rtol`` :math:`\\lambda`, one ``"double"`` root
      :math:`s_m`; otherwise none.
    """
    L = _check_depth(depth)
    lam = _check_positive("lam", lam)
    if not (np.isfinite(y) and y >= 0):
        raise ValueError(f"y must be a finite number >= 0 (a singular value), got {y!r}")
    if L == 2:
        if y - lam > rtol * lam:
            s = float(np.sqrt(y - lam))
            return [ScalarRoot(s, s * s, "upper")]
        return []
    if y == 0:
        return []
    s_m = (y * (L - 2) / (2 * L - 2)) ** (1.0 / L)
    h = lambda s: s ** (L - 2) * (y - s**L) - lam  # noqa: E731
    h_max = h(s_m) + lam
    if abs(h_max - lam) <= rtol * lam:
        return [ScalarRoot(float(s_m), float(s_m**L), "double")]
    if h_max < lam:
        return []
    lo = brentq(h, 0.0, s_m, xtol=1e-300, rtol=1e-15, maxiter=500)
    hi = brentq(h, s_m, y ** (1.0 / L), xtol=1e-300, rtol=1e-15, maxiter=500)
    return [ScalarRoot(float(lo), float(lo**L), "lower"),
            ScalarRoot(float(hi), float(hi**L), "upper")]


# ====================================================================== critical points
DEEP_KINDS = ("global minimum", "spurious local minimum", "strict saddle", "non-strict saddle")
"""The four types of critical point of :math:`F` with all :math:`\\lambda_l > 0`."""

HESSIAN_KIND = {
    "global minimum": "minimum",
    "spurious local minimum": "minimum",
    "strict saddle": "strict saddle",
    "non-strict saddle": "degenerate",
}
"""What :func:`mfbook.landscape.classify_critical_point` must say for each type, once the
orbit dimension is passed as ``symmetry_dim``: second order cannot tell a non-strict saddle
from a degenerate minimum, so it reports ``"degenerate"``."""


@dataclass
class DeepCriticalPoint:
    """One critical point (one orbit of the orthogonal symmetry) of :class:`DeepMF`."""

    active: tuple[int, ...]
    """Indices (0-based, into the singular values of :math:`Y`) of the active pairs :math:`S`."""
    branches: tuple[str, ...]
    """Root chosen for each active pair: ``"upper"``, ``"lower"`` or ``"double"``."""
    s: np.ndarray
    """Singular values of the rescaled balanced layers, one per active pair."""
    p: np.ndarray
    """End-to-end singular values :math:`p_i = s_i^L` of the product."""
    loss: float
    """:math:`F = \\lVert Y\\rVert_F^2 + \\sum_{i\\in S} (\\varphi_i(s_i) - y_i^2)`."""
    kind: str
    """One of :data:`DEEP_KINDS`, from :func:`classify`."""
    reason: str
    """The condition that decided :attr:`kind`."""
    theta: np.ndarray
    """A representative point (hidden bases: the first :math:`|S|` unit vectors)."""

    @property
    def rank(self) -> int:
        """Rank :math:`|S|` of the product and of every layer."""
        return len(self.active)

    @property
    def label(self) -> str:
        """Short text such as ``"{1+, 3-}"`` (1-based indices, ``+``/``-``/``*`` for the
        upper, lower and double root); ``"{}"`` for the origin."""
        mark = {"upper": "+", "lower": "-", "double": "*"}
        parts = (f"{i + 1}{mark[b]}" for i, b in zip(self.active, self.branches))
        return "{" + ", ".join(parts) + "}"


def _positive_indices(model: DeepMF, check_distinct: bool = True) -> np.ndarray:
    y = model.singular_values
    tol = 1e-12 * max(1.0, float(y[0]))
    pos = np.flatnonzero(y > tol)
    if check_distinct and pos.size > 1:
        gaps = -np.diff(y[pos])
        if np.any(gaps <= 1e-9 * y[0]):
            raise ValueError(
                "the closed-form enumeration needs distinct non-zero singular values of Y; equal "
                "ones give continua of critical points (rotate the pair), got "
                f"{', '.join(f'{v:.6g}' for v in y[pos])}")
    return pos


def _validate_selection(model: DeepMF, active: Sequence[int], branches: Sequence[str]
                        ) -> tuple[tuple[int, ...], tuple[str, ...]]:
    active = tuple(int(i) for i in active)
    branches = tuple(branches)
    q = len(model.singular_values)
    if len(active) != len(branches):
        raise ValueError(f"active and branches must have the same length, got {len(active)} "
                         f"and {len(branches)}")
    if len(set(active)) != len(active) or any(not 0 <= i < q for i in active):
        raise ValueError(f"active must hold distinct indices in 0..{q - 1}, got {active}")
    if len(active) > model.min_width:
        raise ValueError(f"at most min(d_0, ..., d_L) = {model.min_width} pairs can be active "
                         f"(the width limit), got {len(active)}")
    bad = [b for b in branches if b not in ("upper", "lower", "double")]
    if bad:
        raise ValueError(f"branches must be 'upper', 'lower' or 'double', got {bad}")
    return active, branches


def _root_for(model: DeepMF, i: int, branch: str) -> ScalarRoot:
    y = float(model.singular_values[i])
    roots = [r for r in reduced_roots(y, model.reg_geometric, model.depth) if r.branch == branch]
    if not roots:
        th = thresholds(model.reg_geometric, model.depth)
        raise ValueError(
            f"singular value y_{i + 1} = {y:.6g} has no {branch!r} root for Lambda = "
            f"{model.reg_geometric:.6g}, L = {model.depth} (roots exist for y > {th.y_exist:.6g})")
    return roots[0]


def _topk_losses(model: DeepMF) -> np.ndarray:
    """Loss of the point that activates the top-k pairs on their upper roots, k = 0..K."""
    y = model.singular_values
    lam, L = model.reg_geometric, model.depth
    out = [float(np.sum(model.Y**2))]
    for i in range(min(model.min_width, len(y))):
        up = [r for r in reduced_roots(float(y[i]), lam, L) if r.branch in ("upper", "double")]
        if not up:
            break
        r = up[-1]
        out.append(out[-1] + float(reduced_loss(r.s, y[i], lam, L)) - float(y[i]) ** 2)
    return np.array(out)


def global_minimum(model: DeepMF) -> float:
    """The global minimum value of :math:`F`: the best of the local minima, which activate
    the top :math:`k` pairs on their upper roots for some :math:`k` (see :func:`classify`)."""
    model._require_positive_reg()
    return float(np.min(_topk_losses(model)))


def classify(model: DeepMF, active: Sequence[int], branches: Sequence[str]) -> tuple[str, str]:
    """Type of the critical point that activates pairs ``active`` on roots ``branches``.

    Rules (derived in chapter 4; :math:`y_j` the singular values of :math:`Y`, :math:`S` the
    active set, :math:`\\Lambda` the geometric mean of the :math:`\\lambda_l`), applied in
    order:

    1. an active pair on the **lower** root: *strict saddle* -- scaling that pair in every
       layer has curvature :math:`\\varphi''(s_i) < 0`;
    2. an active :math:`i` and an inactive :math:`j` with :math:`y_j > y_i`: *strict saddle* --
       turning :math:`(\\mathbf u_i, \\mathbf v_i)` towards :math:`(\\mathbf u_j, \\mathbf v_j)`
       changes the loss by :math:`-2p_i(y_j - y_i)\\,t^2 + O(t^3)`;
    3. :math:`L = 2`, a free width (:math:`|S| < \\min_l d_l`) and an inactive :math:`j` with
       :math:`y_j > \\Lambda`: *strict saddle* -- switching :math:`j` on has curvature
       :math:`\\varphi''(0) = 4(\\Lambda - y_j) < 0`;
    4. an active pair on the **double** root (:math:`y_i = y^\\ast`): *non-strict saddle* --
       the Hessian is positive semi-definite but :math:`\\varphi(s_\\ast - t) -
       \\varphi(s_\\ast) = -\\varphi'''(s_\\ast)\\,t^3/6 + O(t^4)` with
       :math:`\\varphi'''(s_\\ast) > 0`;
    5. otherwise a *local minimum* (then :math:`S` is a top set :math:`\\{1..k\\}` on upper
       roots), *global* if its loss equals :func:`global_minimum` (within ``1e-9``
       relative), else *spurious*.

    Returns
    -------
    (kind, reason) : tuple of str
    """
    model._require_positive_reg()
    active, branches = _validate_selection(model, active, branches)
    y = model.singular_values
    L, lam = model.depth, model.reg_geometric
    _positive_indices(model)
    for i, b in zip(active, branches):
        if b == "lower":
            return "strict saddle", f"pair {i + 1} on its lower root"
    inactive = [j for j in range(len(y)) if j not in active]
    for i in active:
        worse = [j for j in inactive if y[j] > y[i]]
        if worse:
            return "strict saddle", f"turn pair {i + 1} towards pair {worse[0] + 1}"
    if L == 2 and len(active) < model.min_width:
        on = [j for j in inactive if y[j] > lam * (1 + 1e-12)]
        if on:
            return "strict saddle", f"switch on pair {on[0] + 1} (y > lambda)"
    for i, b in zip(active, branches):
        if b == "double":
            return "non-strict saddle", f"pair {i + 1} at the double root"
    value = _selection_loss(model, active, branches)
    best = global_minimum(model)
    if value <= best + 1e-9 * max(1.0, abs(best)):
        return "global minimum", f"top {len(active)}, upper roots, lowest F"
    return "spurious local minimum", f"top {len(active)}, upper roots"


def _selection_loss(model: DeepMF, active: Sequence[int], branches: Sequence[str]) -> float:
    y = model.singular_values
    value = float(np.sum(model.Y**2))
    for i, b in zip(active, branches):
        r = _root_for(model, i, b)
        phi = float(reduced_loss(r.s, y[i], model.reg_geometric, model.depth))
        value += phi - float(y[i]) ** 2
    return value


def _bases(model: DeepMF, active: Sequence[int], seed: SeedLike = None) -> list[np.ndarray]:
    """:math:`Q_0 = V_S, Q_1, \\dots, Q_{L-1}, Q_L = U_S` (hidden: unit vectors or random)."""
    U, _, V = model.svd
    r = len(active)
    rng = as_generator(seed) if seed is not None else None
    bases = [V[:, list(active)]]
    for d in model.dims[1:-1]:
        if rng is None:
            bases.append(np.eye(d)[:, :r])
        else:
            Qh, _ = np.linalg.qr(rng.standard_normal((d, max(r, 1))))
            bases.append(Qh[:, :r])
    bases.append(U[:, list(active)])
    return bases


def _balanced_layers(model: DeepMF, bases: list[np.ndarray], s: np.ndarray) -> list[np.ndarray]:
    lam = model.reg_geometric
    return [np.sqrt(lam / model.reg[l - 1]) * (bases[l] * s) @ bases[l - 1].T
            for l in range(1, model.depth + 1)]


def scaling_direction(model: DeepMF, point: DeepCriticalPoint, k: int) -> np.ndarray:
    """:math:`\\partial\\theta/\\partial s_k` at a constructed point: the direction that scales
    the ``k``-th active pair (position in ``point.active``) in every layer at once.

    Along it :math:`F(\\theta + t\\,d) = F(\\theta) + \\varphi(s_k + t) - \\varphi(s_k)`
    exactly (:func:`reduced_loss` of that pair), so its curvature is
    :math:`\\varphi''(s_k)` and, at a double root, the loss changes at third order.
    """
    if not 0 <= k < point.rank:
        raise ValueError(f"k must index an active pair, 0..{point.rank - 1}, got {k!r}")
    e = np.zeros(point.rank)
    e[k] = 1.0
    return model.pack(_balanced_layers(model, _bases(model, point.active), e))


def rotate_pair(model: DeepMF, point: DeepCriticalPoint, k: int, j: int,
                angle: float) -> np.ndarray:
    """Turn the singular vectors of active pair ``k`` (position in ``point.active``) towards
    the inactive pair ``j`` (index into the singular values of :math:`Y`) by ``angle``.

    :math:`\\mathbf v_i \\to \\cos t\\,\\mathbf v_i + \\sin t\\,\\mathbf v_j` in :math:`W_1` and
    :math:`\\mathbf u_i \\to \\cos t\\,\\mathbf u_i + \\sin t\\,\\mathbf u_j` in :math:`W_L`; the
    norms of the layers do not change and
    :math:`F = F(\\theta) - 2p_i(y_j - y_i)\\sin^2 t` exactly.
    """
    if not 0 <= k < point.rank:
        raise ValueError(f"k must index an active pair, 0..{point.rank - 1}, got {k!r}")
    if j in point.active or not 0 <= j < len(model.singular_values):
        raise ValueError(
            f"j must be an inactive pair in 0..{len(model.singular_values) - 1}, got {j!r}")
    bases = _bases(model, point.active)
    U, _, V = model.svd
    c, sn = np.cos(angle), np.sin(angle)
    bases[0] = bases[0].copy()
    bases[-1] = bases[-1].copy()
    bases[0][:, k] = c * bases[0][:, k] + sn * V[:, j]
    bases[-1][:, k] = c * bases[-1][:, k] + sn * U[:, j]
    return model.pack(_balanced_layers(model, bases, point.s))


def pair_direction(model: DeepMF, i: int, hidden_unit: int = 0) -> np.ndarray:
    """The balanced rank-one point of pair ``i`` with layer singular value 1.

    :math:`W_1 = c_1\\,\\mathbf e_h \\mathbf v_i^\\top`, :math:`W_l = c_l\\,\\mathbf e_h\\mathbf e_h^\\top`,
    :math:`W_L = c_L\\,\\mathbf u_i\\mathbf e_h^\\top` with :math:`c_l = \\sqrt{\\Lambda/\\lambda_l}`
    and :math:`h` = ``hidden_unit``.  On the line :math:`t\\,d_i`, :math:`F = \\varphi_i(t) +
    \\sum_{j \\ne i} y_j^2` (:func:`reduced_loss`, any real :math:`t`); with two pairs on
    *different* hidden units the plane :math:`a\\,d_i + b\\,d_j` is separable,
    :math:`F = \\varphi_i(a) + \\varphi_j(b) + \\sum_{k \\ne i, j} y_k^2`.
    """
    if not 0 <= i < len(model.singular_values):
        raise ValueError(
            f"i must index a singular value, 0..{len(model.singular_values) - 1}, got {i!r}")
    hidden = model.dims[1:-1]
    if not 0 <= hidden_unit < min(hidden):
        raise ValueError(f"hidden_unit must be in 0..{min(hidden) - 1}, got {hidden_unit!r}")
    U, _, V = model.svd
    bases = [V[:, [i]]] + [np.eye(d)[:, [hidden_unit]] for d in hidden] + [U[:, [i]]]
    model._require_positive_reg()
    return model.pack(_balanced_layers(model, bases, np.ones(1)))


def critical_point(model: DeepMF, active: Sequence[int], branches: Sequence[str], *,
                   seed: SeedLike = None) -> DeepCriticalPoint:
    """Construct (and classify) the critical point with active pairs ``active`` on ``branches``.

    The layers are

    .. math::
        W_l = \\sqrt{\\Lambda/\\lambda_l}\\; Q_l\\,\\mathrm{diag}(s_S)\\,Q_{l-1}^\\top,
        \\qquad Q_0 = V_S,\\ Q_L = U_S,

    with :math:`U_S, V_S` the singular vectors of :math:`Y` of the active pairs and
    :math:`Q_h \\in \\mathbb R^{d_h \\times |S|}` orthonormal: the first :math:`|S|` unit
    vectors, or (``seed`` given) random orthonormal columns -- another point of the same
    orbit.  Then :math:`P = U_S\\,\\mathrm{diag}(s^L)\\,V_S^\\top` and every gradient block is
    :math:`2\\sqrt{\\Lambda/\\lambda_l}\\,Q_l\\,\\mathrm{diag}\\big(s^{L-1}(s^L - y) +
    \\Lambda s\\big)\\,Q_{l-1}^\\top = 0`.
    """
    model._require_positive_reg()
    active, branches = _validate_selection(model, active, branches)
    roots = [_root_for(model, i, b) for i, b in zip(active, branches)]
    s = np.array([r.s for r in roots])
    layers = _balanced_layers(model, _bases(model, active, seed), s)
    theta = model.pack(layers)
    kind, reason = classify(model, active, branches)
    return DeepCriticalPoint(active, branches, s, s**model.depth,
                             _selection_loss(model, active, branches), kind, reason, theta)


def count_critical_points(model: DeepMF) -> int:
    """Number of critical orbits: :math:`\\sum_{k=0}^{\\min_l d_l} e_k(t_1, t_2, \\dots)`,
    with :math:`t_i` the number of positive roots for :math:`y_i` and :math:`e_k` the
    elementary symmetric polynomials (choose :math:`k` active pairs, one root each)."""
    model._require_positive_reg()
    pos = _positive_indices(model)
    t = [len(reduced_roots(float(model.singular_values[i]), model.reg_geometric, model.depth))
         for i in pos]
    e = np.zeros(len(t) + 1, dtype=object)
    e[0] = 1
    for ti in t:                       # multiply the generating polynomial by (1 + t_i x)
        e[1:] = e[1:] + ti * e[:-1]
    return int(sum(e[: model.min_width + 1]))


def enumerate_critical_points(model: DeepMF, *, max_count: int = 20000) -> list[DeepCriticalPoint]:
    """Every critical point of ``model`` (one representative per symmetry orbit), by loss.

    All :math:`\\lambda_l > 0` and distinct non-zero singular values of :math:`Y` are
    required (equal ones give continua).  The orbits are: every set :math:`S` of at most
    :math:`\\min_l d_l` singular pairs whose :math:`y_i` have a positive root, times one root
    per pair (:func:`reduced_roots`); their number is :func:`count_critical_points`.

    Raises
    ------
    ValueError
        If there are more than ``max_count`` of them.
    """
    n_total = count_critical_points(model)
    if n_total > max_count:
        raise ValueError(f"{n_total} critical orbits exceed max_count={max_count}")
    pos = _positive_indices(model)
    options = {int(i): reduced_roots(float(model.singular_values[i]), model.reg_geometric,
                                     model.depth) for i in pos}
    eligible = [i for i in options if options[i]]
    out = []
    for k in range(min(model.min_width, len(eligible)) + 1):
        for S in itertools.combinations(eligible, k):
            for choice in itertools.product(*(options[i] for i in S)):
                out.append(critical_point(model, S, [c.branch for c in choice]))
    return sorted(out, key=lambda c: (round(c.loss, 10), c.label))


# ====================================================================== numerical checks
class HessianCheck(NamedTuple):
    """The second-order verdict at a point, from the dense Hessian."""

    eigenvalues: np.ndarray
    """All Hessian eigenvalues, ascending."""
    orbit_dim: int
    """Zero eigenvalues explained by the symmetry (rank of the orbit tangents)."""
    n_negative: int
    n_zero: int
    n_positive: int
    kind: str
    """:func:`mfbook.landscape.classify_critical_point` with ``symmetry_dim=orbit_dim``."""
    tol: float
    """Eigenvalues with absolute value at most ``tol`` count as zero."""
    min_normal: float
    """Smallest eigenvalue of the Hessian restricted to the orthogonal complement of the
    orbit tangents (the curvature that decides)."""


def _orbit_basis(model: DeepMF, theta: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    return orthonormal_span(model.symmetry_tangents(theta), tol)


def hessian_check(model: DeepMF, theta: np.ndarray, *, rtol: float = 1e-7) -> HessianCheck:
    """Classify ``theta`` with the dense Hessian, discounting the orbit's zero eigenvalues.

    Eigenvalues with :math:`|\\mu| \\le` ``rtol`` :math:`\\cdot \\max(1, \\max|\\mu|)` count as
    zero.  The orbit dimension is measured (rank of :meth:`DeepMF.symmetry_tangents`), not
    assumed; :attr:`HessianCheck.min_normal` is the smallest eigenvalue of
    :math:`N^\\top \\nabla^2F\\,N` with :math:`N` an orthonormal basis of the complement of
    the tangents.
    """
    H = model.hessian(theta)
    ev = np.linalg.eigvalsh(H)
    tol = rtol * max(1.0, float(np.max(np.abs(ev))))
    Q = _orbit_basis(model, theta)
    orbit_dim = Q.shape[1]
    if orbit_dim:
        full, _ = np.linalg.qr(np.concatenate([Q, np.eye(model.dim)], axis=1))
        N = full[:, orbit_dim:model.dim]
        min_normal = float(np.linalg.eigvalsh(N.T @ H @ N)[0])
    else:
        min_normal = float(ev[0])
    n_neg, n_pos = int(np.sum(ev < -tol)), int(np.sum(ev > tol))
    kind = classify_critical_point(ev, tol=tol, symmetry_dim=orbit_dim)
    return HessianCheck(ev, orbit_dim, n_neg, len(ev) - n_neg - n_pos, n_pos, kind, tol,
                        min_normal)


def normal_curvature(model: DeepMF, theta: np.ndarray, *, k: int = 1, tol: float = 1e-10,
                     seed: SeedLike = 0) -> HessianExtremes:
    """Extreme Hessian eigenvalues on the complement of the orbit, by Lanczos on HVPs.

    For problems too large for :meth:`DeepMF.hessian`.  With :math:`Q` an orthonormal basis
    of the orbit tangents, the operator

    .. math::
        v \\mapsto (I - QQ^\\top)\\,\\nabla^2 F\\,(I - QQ^\\top)\\,v + \\sigma\\,QQ^\\top v

    has the normal curvatures as eigenvalues and moves the orbit's zeros to
    :math:`\\sigma` (the largest eigenvalue of :math:`\\nabla^2F`, found first), so that
    :func:`mfbook.landscape.hessian_extremes` returns the smallest **normal** eigenvalues.
    """
    theta = model._check_theta(theta)
    Q = _orbit_basis(model, theta)
    top = hessian_extremes(lambda v: model.hvp(theta, v), model.dim, k=1, tol=tol, seed=seed)
    sigma = float(top.largest[-1])

    def op(v: np.ndarray) -> np.ndarray:
        w = v - Q @ (Q.T @ v)
        Hw = model.hvp(theta, w)
        return Hw - Q @ (Q.T @ Hw) + sigma * (Q @ (Q.T @ v))

    res = hessian_extremes(op, model.dim, k=k, tol=tol, seed=seed)
    return HessianExtremes(res.smallest, res.largest, res.n_products + top.n_products)


def nearest_critical_point(model: DeepMF, theta: np.ndarray,
                           points: Sequence[DeepCriticalPoint]) -> tuple[int, float]:
    """Index of the critical point whose product is closest to that of ``theta``, and the
    distance :math:`\\lVert P(\\theta) - P_c\\rVert_F` (products are symmetry-invariant)."""
    if not points:
        raise ValueError("points must not be empty")
    P = model.product(model._check_theta(theta))
    d = [float(np.linalg.norm(P - model.product(c.theta))) for c in points]
    i = int(np.argmin(d))
    return i, d[i]


class BatchedRuns(NamedTuple):
    """The result of :func:`batched_gradient_descent`."""

    ends: np.ndarray
    """End point of every run, shape ``(B, d)``."""
    diverged: np.ndarray
    """Boolean mask of the runs whose loss exceeded ``diverge_above`` (frozen there)."""
    result: OptimResult
    """The record of :func:`mfbook.optim.minimize` on the stacked problem (its losses are
    sums over the runs that had not diverged)."""


def batched_gradient_descent(model: DeepMF, starts: np.ndarray, lr: float, n_steps: int, *,
                             gtol: float | None = None,
                             diverge_above: float = 1e12) -> BatchedRuns:
    """Gradient descent from every row of ``starts`` at once, with :func:`mfbook.optim.minimize`.

    The runs are stacked into one vector :math:`x = (\\theta^{(1)}, \\dots, \\theta^{(B)})`
    and :math:`\\sum_b F(\\theta^{(b)})` is minimized.  Its gradient is the stack of the
    individual gradients, so one step of gradient descent on the sum is one step of every
    run: the runs are independent, the arithmetic is shared.  A run whose loss exceeds
    ``diverge_above`` (or is not finite) is declared diverged and frozen: its gradient is
    set to zero from then on, so it cannot stop the others.  ``gtol`` applies to the norm
    of the stacked gradient (so every run has :math:`\\lVert\\nabla F\\rVert \\le` ``gtol``
    when it stops).
    """
    starts = np.asarray(starts, dtype=np.float64)
    if starts.ndim != 2 or starts.shape[1] != model.dim or starts.shape[0] == 0:
        raise ValueError(
            f"starts must have shape (B, {model.dim}) with B >= 1, got {starts.shape}")
    if not (diverge_above > 0):
        raise ValueError(f"diverge_above must be > 0, got {diverge_above!r}")
    shape = starts.shape
    dead = np.zeros(shape[0], dtype=bool)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(over="ignore", invalid="ignore"):
            values, grads = model.loss_grad(x.reshape(shape))
        dead[:] |= ~np.isfinite(values) | (values > diverge_above)
        grads[dead] = 0.0
        return float(np.sum(values[~dead])), grads.ravel()

    res = minimize(fun, starts.ravel(), GradientDescent(lr), n_steps, gtol=gtol)
    return BatchedRuns(res.x.reshape(shape), dead.copy(), res)


# ====================================================================== depth 2 and the penalty
def soft_threshold_singular_values(Y: np.ndarray, tau: float) -> np.ndarray:
    """:math:`\\sum_i (y_i - \\tau)_+\\,\\mathbf u_i\\mathbf v_i^\\top`, the minimizer of the convex
    problem :math:`\\lVert P - Y\\rVert_F^2 + 2\\tau\\lVert P\\rVert_*` (nuclear norm
    :math:`\\lVert P\\rVert_* = \\sum_i \\sigma_i(P)`)."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.size == 0:
        raise ValueError(f"Y must be a non-empty 2-d array, got shape {Y.shape}")
    if not (np.isfinite(tau) and tau >= 0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau!r}")
    U, y, Vt = np.linalg.svd(Y, full_matrices=False)
    return (U * np.maximum(y - tau, 0.0)) @ Vt


def depth_penalty(P: np.ndarray, lam: float, depth: int) -> float:
    """:math:`\\min\\{\\lambda\\sum_l \\lVert W_l\\rVert_F^2 : W_L\\cdots W_1 = P\\} = L\\lambda
    \\sum_i \\sigma_i(P)^{2/L}` (wide enough layers), reached by balanced factors.

    By the AM-GM inequality on the layer singular values; for :math:`L = 2` it is
    :math:`2\\lambda\\lVert P\\rVert_*`, the factored form of the nuclear norm, and for
    :math:`L \\ge 3` a power of the Schatten-:math:`2/L` quasi-norm, which is not convex.
    """
    L = _check_depth(depth)
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.size == 0:
        raise ValueError(f"P must be a non-empty 2-d array, got shape {P.shape}")
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    sig = np.linalg.svd(P, compute_uv=False)
    return float(L * lam * np.sum(sig ** (2.0 / L)))


def target_with_singular_values(values: Sequence[float], shape: tuple[int, int],
                                seed: SeedLike = None) -> np.ndarray:
    """A target :math:`Y = U\\,\\mathrm{diag}(y)\\,V^\\top` with prescribed singular values.

    :math:`U \\in \\mathbb R^{m\\times q}` and :math:`V \\in \\mathbb R^{n\\times q}` have
    orthonormal columns drawn at random (QR of Gaussian matrices), :math:`q` = ``len(values)``
    :math:`\\le \\min(m, n)`.  The landscape of :class:`DeepMF` depends on :math:`Y` only
    through its singular values (the map :math:`W_1 \\mapsto W_1 V_0`,
    :math:`W_L \\mapsto U_0^\\top W_L` with orthogonal :math:`U_0, V_0` is an isometry of
    parameter space), so this loses no generality.
    """
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or y.size == 0 or not np.all(np.isfinite(y)) or np.any(y < 0):
        raise ValueError(
            f"values must be a non-empty 1-d sequence of numbers >= 0, got {values!r}")
    if len(shape) != 2 or min(shape) < y.size:
        raise ValueError(
            f"shape must be (m, n) with min(m, n) >= len(values) = {y.size}, got {shape!r}")
    rng = as_generator(seed)
    U, _ = np.linalg.qr(rng.standard_normal((shape[0], y.size)))
    V, _ = np.linalg.qr(rng.standard_normal((shape[1], y.size)))
    return (U * y) @ V.T
