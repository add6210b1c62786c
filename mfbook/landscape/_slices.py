"""Slices of a loss landscape: planes through a point, random directions, coordinate slices.

* :func:`evaluate_plane` -- a loss on the grid :math:`\\theta_0 + \\alpha\\,d_1 + \\beta\\,d_2`,
  in batches (no Python double loop);
* :func:`random_direction` -- a Gaussian direction, optionally normalized per factor row as
  in the "filter normalization" of :cite:`li2018visualizing`, so that a slice has the same
  relative scale for every user and item vector;
* :func:`restrict_to_coordinates` -- an objective as a function of some of its coordinates,
  the others held fixed (an axis-aligned slice, with its own gradient and Hessian).
"""

from __future__ import annotations

from typing import Callable, Literal

import numpy as np

from ..core import (MFObjective, SeedLike, as_generator, check_array, check_callable, check_int,
                    check_objective, check_option)

__all__ = ["evaluate_plane", "random_direction", "Restriction", "restrict_to_coordinates"]


def evaluate_plane(
    loss: Callable[[np.ndarray], np.ndarray],
    center: np.ndarray,
    d1: np.ndarray,
    d2: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
    *,
    batch_size: int = 4096,
) -> np.ndarray:
    """Evaluate ``loss`` on the plane :math:`\\theta_0 + \\alpha d_1 + \\beta d_2`.

    Parameters
    ----------
    loss : callable
        Takes a batch of parameter vectors, shape ``(B, d)``, and returns ``(B,)`` losses
        (as :meth:`mfbook.core.MFObjective.loss` does).
    center, d1, d2 : ndarray, shape (d,)
        The point :math:`\\theta_0` and the two directions.
    alphas, betas : ndarray
        Grid coordinates along ``d1`` and ``d2``.
    batch_size : int
        Number of grid points per call of ``loss`` (bounds the memory used).

    Returns
    -------
    ndarray, shape (len(betas), len(alphas))
        ``Z[j, i] = loss(center + alphas[i] d1 + betas[j] d2)``: the ``meshgrid``
        convention, so ``plt.contour(alphas, betas, Z)`` draws it the right way round.
    """
    check_callable("loss", loss)
    center, d1, d2 = (check_array(name, a, ndim=1) for name, a in
                      (("center", center), ("d1", d1), ("d2", d2)))
    if center.ndim != 1 or d1.shape != center.shape or d2.shape != center.shape:
        raise ValueError(
            f"center, d1 and d2 must be 1-d of the same length, got {center.shape}, "
            f"{d1.shape} and {d2.shape}"
        )
    alphas = check_array("alphas", alphas, ndim=1, nonempty=False)
    betas = check_array("betas", betas, ndim=1, nonempty=False)
    if alphas.size == 0 or betas.size == 0:
        raise ValueError("alphas and betas must not be empty")
    batch_size = check_int("batch_size", batch_size, minimum=1)
    aa, bb = np.meshgrid(alphas, betas)
    coef = np.column_stack([aa.ravel(), bb.ravel()])
    out = np.empty(len(coef))
    for start in range(0, len(coef), batch_size):
        c = coef[start:start + batch_size]
        points = center + c[:, :1] * d1 + c[:, 1:] * d2
        values = np.asarray(loss(points), dtype=np.float64)
        if values.shape != (len(c),):
            raise ValueError(
                f"loss must map a (B, d) batch to shape (B,), got {values.shape} for B={len(c)}"
            )
        out[start:start + len(c)] = values
    return out.reshape(aa.shape)


def random_direction(
    objective: MFObjective,
    theta: np.ndarray,
    *,
    normalize: Literal["rows", "global", "none"] = "rows",
    seed: SeedLike = None,
) -> np.ndarray:
    """A random direction in parameter space for slicing the landscape around ``theta``.

    A standard Gaussian vector :math:`g` is rescaled:

    * ``"rows"``: every factor row is scaled to the norm of the same row of ``theta``,
      :math:`d_{\\mathbf u_i} = g_{\\mathbf u_i}\\,\\lVert\\mathbf u_i\\rVert /
      \\lVert g_{\\mathbf u_i}\\rVert` (likewise for :math:`\\mathbf v_j`, and each bias is
      scaled to :math:`|b_i|`).  This is the filter normalization of Li et al., with users
      and items in the role of filters: it removes the scale symmetry
      :math:`(\\mathbf u, \\mathbf v) \\mapsto (a\\mathbf u, \\mathbf v/a)` from the picture.
    * ``"global"``: the whole vector is scaled to :math:`\\lVert\\theta\\rVert`.
    * ``"none"``: the raw Gaussian vector.

    Rows of ``theta`` that are zero get a zero direction under ``"rows"``.
    """
    objective = check_objective("objective", objective)
    theta = objective.check_theta(theta)
    check_option("normalize", normalize, ("rows", "global", "none"))
    g = as_generator(seed).standard_normal(objective.dim)
    if normalize == "none":
        return g
    if normalize == "global":
        return g * (np.linalg.norm(theta) / np.linalg.norm(g))
    if normalize != "rows":
        raise ValueError(f"normalize must be 'rows', 'global' or 'none', got {normalize!r}")
    d = g.copy()
    ft, fd = objective.unpack(theta), objective.unpack(d)
    for target, block in ((ft.U, fd.U), (ft.V, fd.V)):
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        block *= np.linalg.norm(target, axis=1, keepdims=True) / np.where(norms > 0, norms, 1.0)
    if objective.biased:
        for target, block in ((ft.row_bias, fd.row_bias), (ft.col_bias, fd.col_bias)):
            block *= np.abs(target) / np.maximum(np.abs(block), 1e-300)
    return d

class Restriction:
    """An objective as a function of some of its coordinates, the others held fixed.

    For an objective :math:`L(\\theta)`, a base point :math:`\\theta_0` and a set
    :math:`F` of free coordinates, the restriction is
    :math:`\\ell(x) = L(\\theta_0 + P_F x)`, where :math:`P_F` puts the entries of
    :math:`x` at the positions :math:`F`.  By the chain rule its gradient and Hessian are
    the corresponding entries of the full ones,

    .. math::
        \\nabla \\ell(x) = P_F^\\top \\nabla L(\\theta), \\qquad
        \\nabla^2 \\ell(x) = P_F^\\top \\nabla^2 L(\\theta)\\, P_F ,

    a sub-vector and a principal sub-matrix.  A critical point of :math:`\\ell` is a point
    where only the *free* components of :math:`\\nabla L` vanish; it need not be a critical
    point of :math:`L`.

    Create it with :func:`restrict_to_coordinates`.
    """

    def __init__(self, objective: MFObjective, base: np.ndarray, free: np.ndarray) -> None:
        self.objective = objective
        self.base = base
        self.free = free
        self.dim = len(free)

    def embed(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\theta_0 + P_F x` for ``x`` of shape ``(p,)`` or ``(B, p)``."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[-1] != self.dim:
            raise ValueError(f"x must have shape ({self.dim},) or (B, {self.dim}), got {x.shape}")
        theta = np.broadcast_to(self.base, x.shape[:-1] + self.base.shape).copy()
        theta[..., self.free] = x
        return theta

    def loss(self, x: np.ndarray) -> float | np.ndarray:
        """:math:`\\ell(x)`; a batch ``(B, p)`` gives ``(B,)`` losses."""
        return self.objective.loss(self.embed(x))

    def loss_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """:math:`\\ell(x)` and :math:`\\nabla\\ell(x) = P_F^\\top\\nabla L`."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"x must have shape ({self.dim},), got {x.shape}")
        value, g = self.objective.loss_grad(self.embed(x))
        return value, g[self.free]

    def grad(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\nabla\\ell(x)`."""
        return self.loss_grad(x)[1]

    __call__ = loss_grad

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """:math:`\\nabla^2\\ell(x)`, the principal sub-matrix of the full Hessian."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1:
            raise ValueError(f"x must have shape ({self.dim},), got {x.shape}")
        return self.objective.hessian(self.embed(x))[np.ix_(self.free, self.free)]

    def __repr__(self) -> str:
        return f"Restriction(free={self.free.tolist()}, dim={self.dim} of {self.base.size})"


def restrict_to_coordinates(objective: MFObjective, base: np.ndarray,
                            free: np.ndarray | list[int]) -> Restriction:
    """Restrict ``objective`` to the coordinates ``free``, the others fixed at ``base``.

    Parameters
    ----------
    objective : MFObjective
        Or any object with ``loss`` (batched), ``loss_grad`` and ``hessian`` methods and a
        ``dim`` attribute.
    base : ndarray, shape (d,)
        The point whose non-free coordinates are kept; its free coordinates are ignored.
    free : sequence of int
        Distinct indices into the parameter vector.

    Examples
    --------
    The slice :math:`u_2 = v_2 = 1` of a rank-1 factorization of a 2x2 matrix, whose
    parameters are laid out as :math:`(u_1, u_2, v_1, v_2)`:

    >>> import numpy as np
    >>> from mfbook.core import Ratings
    >>> f = MFObjective(Ratings.from_dense(np.array([[3.0, 1.0], [1.0, 3.0]])), rank=1)
    >>> s = restrict_to_coordinates(f, np.array([0.0, 1.0, 0.0, 1.0]), [0, 2])
    >>> float(s.loss(np.zeros(2)))   # 3^2 + 1^2 + 1^2 + (3 - 1)^2
    15.0
    """
    objective = check_objective("objective", objective, ("loss", "loss_grad"))
    base = check_array("base", base, ndim=1).copy()
    dim = getattr(objective, "dim", None)
    if base.ndim != 1 or (dim is not None and base.size != dim):
        raise ValueError(f"base must have shape ({dim},), got {base.shape}")
    try:
        idx = np.asarray(free)
    except (TypeError, ValueError):
        idx = np.asarray([object()])
    if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
        kind = TypeError if idx.size and idx.dtype.kind not in "iu" else ValueError
        raise kind(f"free must be a non-empty 1-d sequence of integers, got {free!r}")
    if idx.min() < 0 or idx.max() >= base.size or len(np.unique(idx)) != idx.size:
        raise ValueError(f"free must hold distinct indices in 0..{base.size - 1}, got {free!r}")
    return Restriction(objective, base, idx.astype(np.int64))
