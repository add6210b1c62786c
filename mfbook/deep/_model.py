"""The objective of regularized deep matrix factorization: loss, gradient, HVP, Hessian."""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from ..core import SeedLike, as_generator, check_array, check_real, real_array

__all__ = ["DeepMF"]


def check_model(model: object, name: str = "model") -> "DeepMF":
    """``model`` if it is a :class:`DeepMF`, else :class:`TypeError` naming ``name``."""
    if not isinstance(model, DeepMF):
        raise TypeError(f"{name} must be a mfbook.deep.DeepMF, got {type(model).__name__}")
    return model


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
    is :class:`mfbook.core.MFObjective` with ``reg=λ`` on the fully observed
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
        Y = check_array("Y", Y, finite=False, nonempty=False)
        if Y.ndim != 2 or Y.size == 0 or not np.all(np.isfinite(Y)):
            raise ValueError(f"Y must be a non-empty finite 2-d array, got shape {Y.shape}")
        if isinstance(hidden, (int, np.integer)):
            raise ValueError(f"hidden must be a sequence of widths such as [3, 3], got {hidden!r}")
        try:
            hidden = tuple(hidden)
        except TypeError:
            raise TypeError(f"hidden must be a sequence of widths such as [3, 3], "
                            f"got {hidden!r}") from None
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
        reg_arr = check_array("reg", reg, finite=False, nonempty=False)
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
        theta = self.check_theta(theta, allow_batch=True)
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
        std = check_real("std", std, minimum=0.0)
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
        theta = self.check_theta(theta, allow_batch=True)
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
            \\\\
            A_{l-1} = W_{l-1}\\cdots W_1,\\quad B_l = W_L \\cdots W_{l+1}.
        """
        theta = self.check_theta(theta, allow_batch=True)
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
        theta = self.check_theta(theta)
        direction = self.check_theta(direction, allow_batch=True, name="direction")
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
        theta = self.check_theta(theta)
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
        Ws = self.layers(self.check_theta(theta))
        return np.array([np.linalg.norm(self.reg[l + 1] * Ws[l + 1].T @ Ws[l + 1]
                                        - self.reg[l] * Ws[l] @ Ws[l].T)
                         for l in range(self.depth - 1)])

    def aligned_values(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """The end-to-end values :math:`p_i = \\mathbf u_i^\\top P\\,\\mathbf v_i` in the singular
        bases of :math:`Y`, and the misalignment :math:`\\lVert P - \\sum_i p_i \\mathbf u_i
        \\mathbf v_i^\\top\\rVert_F` (zero at every critical point)."""
        U, _, V = self.svd
        P = self.product(self.check_theta(theta))
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
        theta = self.check_theta(theta)
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
    def check_theta(self, theta: np.ndarray, allow_batch: bool = False, name: str = "theta",
                    finite: bool = True) -> np.ndarray:
        """``theta`` as float64 of shape ``(d,)`` (or ``(B, d)``), finite unless told not."""
        theta = real_array(name, theta, bools=True)
        if theta.ndim not in ((1, 2) if allow_batch else (1,)) or theta.shape[-1] != self.dim:
            expected = f"({self.dim},)" + (f" or (B, {self.dim})" if allow_batch else "")
            raise ValueError(f"{name} must have shape {expected} for dims {self.dims}, "
                             f"got {theta.shape}")
        if finite and not np.isfinite(theta).all():
            raise ValueError(f"{name} must be finite, found {int(np.sum(~np.isfinite(theta)))} "
                             "NaN or infinite entries")
        return theta

    def require_positive_reg(self) -> None:
        if np.any(self.reg <= 0):
            raise ValueError(
                f"the closed-form analysis needs every lambda_l > 0, got reg={self.reg.tolist()}")

    def __repr__(self) -> str:
        reg = f"{self.reg[0]:g}" if np.all(self.reg == self.reg[0]) else \
            "[" + ", ".join(f"{r:g}" for r in self.reg) + "]"
        return f"DeepMF(shape={self.shape}, depth={self.depth}, dims={self.dims}, reg={reg})"
