"""The reduced scalar problem that every critical point of :class:`DeepMF` solves."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core import check_array, check_int, check_real
from scipy.optimize import brentq


__all__ = ["reduced_loss", "reduced_derivative", "reduced_second_derivative", "ScalarRoot",
           "reduced_roots", "Thresholds", "thresholds"]


def _check_depth(depth: int) -> int:
    depth = check_int("depth", depth)
    if depth < 2:
        raise ValueError(f"depth must be an integer >= 2, got {depth!r}")
    return depth


def _check_positive(name: str, value: float) -> float:
    value = check_real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _check_scalar_args(s: np.ndarray, y: float, lam: float) -> tuple[np.ndarray, float, float]:
    s = check_array("s", s, nonempty=False)
    y = check_real("y", y)
    lam = check_real("lam", lam, minimum=0.0)
    return s, y, lam



def reduced_loss(s: np.ndarray, y: float, lam: float, depth: int) -> np.ndarray:
    """:math:`\\varphi(s) = (s^L - y)^2 + L\\lambda s^2`: the loss of one singular value.

    At a balanced point aligned with :math:`Y` whose layers all have singular value
    :math:`s` on the pair :math:`(\\mathbf u_i, \\mathbf v_i)`, the contribution of that
    pair to :math:`F` is :math:`\\varphi(s)` with :math:`y = y_i` (and :math:`\\lambda`
    the geometric mean :math:`\\Lambda` when the :math:`\\lambda_l` differ).  ``s`` may be
    any array (negative values give :math:`(s^L - y)^2` with the sign of :math:`s^L`).
    """
    L = _check_depth(depth)
    s, y, lam = _check_scalar_args(s, y, lam)
    return (s**L - y) ** 2 + L * lam * s**2


def reduced_derivative(s: np.ndarray, y: float, lam: float, depth: int) -> np.ndarray:
    """:math:`\\varphi'(s) = 2Ls\\,\\big(s^{L-2}(s^L - y) + \\lambda\\big)`."""
    L = _check_depth(depth)
    s, y, lam = _check_scalar_args(s, y, lam)
    return 2 * L * s * (s ** (L - 2) * (s**L - y) + lam)


def reduced_second_derivative(s: np.ndarray, y: float, lam: float, depth: int) -> np.ndarray:
    """:math:`\\varphi''(s) = 2L\\big((2L-1)s^{2L-2} - (L-1)y\\,s^{L-2} + \\lambda\\big)`."""
    L = _check_depth(depth)
    s, y, lam = _check_scalar_args(s, y, lam)
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
    y = check_real("y", y)
    if not y >= 0:
        raise ValueError(f"y must be a finite number >= 0 (a singular value), got {y!r}")
    rtol = check_real("rtol", rtol, minimum=0.0, min_open=True)
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
