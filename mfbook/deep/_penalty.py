"""Depth 2 and the penalty: soft-thresholding, the depth-L penalty, targets with given spectra."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core import SeedLike, as_generator, check_array, check_real, check_shape
from ._reduced import _check_depth

__all__ = ["soft_threshold_singular_values", "depth_penalty", "target_with_singular_values"]


def soft_threshold_singular_values(Y: np.ndarray, tau: float) -> np.ndarray:
    """:math:`\\sum_i (y_i - \\tau)_+\\,\\mathbf u_i\\mathbf v_i^\\top`, the minimizer of the convex
    problem :math:`\\lVert P - Y\\rVert_F^2 + 2\\tau\\lVert P\\rVert_*` (nuclear norm
    :math:`\\lVert P\\rVert_* = \\sum_i \\sigma_i(P)`)."""
    Y = check_array("Y", Y, nonempty=False)
    if Y.ndim != 2 or Y.size == 0:
        raise ValueError(f"Y must be a non-empty 2-d array, got shape {Y.shape}")
    tau = check_real("tau", tau, minimum=0.0)
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
    P = check_array("P", P, nonempty=False)
    if P.ndim != 2 or P.size == 0:
        raise ValueError(f"P must be a non-empty 2-d array, got shape {P.shape}")
    lam = check_real("lam", lam, minimum=0.0)
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
    y = check_array("values", values, ndim=1, nonempty=False, finite=False)
    shape = check_shape("shape", shape)
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
