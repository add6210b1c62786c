"""The first-order optimizers on a quadratic, one eigendirection at a time.

On :math:`L(x) = \\tfrac12 x^\\top H x` with :math:`H = \\sum_i h_i q_i q_i^\\top`, gradient
descent, heavy ball and Nesterov (the rules of :mod:`mfbook.core`) are linear recursions that
never mix eigendirections.  Along an eigenvector of curvature :math:`h`, with :math:`a = \\eta h`:

* gradient descent: :math:`x_{t+1} = (1 - a)\\,x_t`, one root :math:`z = 1 - a`;
* heavy ball (:math:`m_{t+1} = \\beta m_t + g_t`, :math:`x_{t+1} = x_t - \\eta m_{t+1}`): the
  state :math:`(x_t, m_t)` evolves by a :math:`2\\times2` matrix with characteristic polynomial
  :math:`z^2 - (1 + \\beta - a)z + \\beta`;
* Nesterov (:math:`x_{t+1} = x_t - \\eta(g_t + \\beta m_{t+1})`): characteristic polynomial
  :math:`z^2 - (1 + \\beta)(1 - a)z + \\beta(1 - a)`.

The error along the eigenvector shrinks (or grows, for :math:`h < 0`) asymptotically like
:math:`\\rho^t` with :math:`\\rho` the largest root modulus, the **convergence factor**
(:func:`convergence_factor`).  Putting a root at :math:`z = -1` gives the stability limits of
:func:`stability_limit`; minimizing :math:`\\max_{h\\in[\\mu, L]}\\rho` gives the tunings of
:func:`optimal_parameters`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core import check_array, check_option, check_real

__all__ = ["QUADRATIC_METHODS", "characteristic_roots", "convergence_factor",
           "stability_limit", "OptimalTuning", "optimal_parameters"]

QUADRATIC_METHODS = ("GD", "Momentum", "Nesterov")
"""The methods modelled here, by the ``name`` of their :mod:`mfbook.core` optimizer."""


def _beta(beta: float) -> float:
    return check_real("beta", beta, minimum=0.0, maximum=1.0, max_open=True)


def characteristic_roots(method: str, lr: float, h: np.ndarray | float, *,
                         beta: float = 0.9) -> np.ndarray:
    """Roots of the per-eigendirection recursion of ``method``, shape ``h.shape + (2,)``.

    Parameters
    ----------
    method : {"GD", "Momentum", "Nesterov"}
    lr : float
        The step :math:`\\eta > 0`.
    h : float or ndarray
        Curvatures :math:`h` (Hessian eigenvalues; negative values model a saddle).
    beta : float
        Momentum :math:`0 \\le \\beta < 1` (ignored by gradient descent).

    Returns
    -------
    ndarray of complex
        The two roots of the characteristic polynomial (for gradient descent,
        :math:`1 - \\eta h` and 0), the larger modulus first.

    Examples
    --------
    >>> characteristic_roots("GD", 0.5, 1.0)
    array([0.5+0.j, 0. +0.j])
    """
    check_option("method", method, QUADRATIC_METHODS)
    lr = check_real("lr", lr, minimum=0.0, min_open=True)
    beta = _beta(beta)
    a = lr * check_array("h", np.ravel(h), ndim=1).reshape(np.shape(h))
    if method == "GD":
        roots = np.stack([1.0 - a, np.zeros_like(a)], axis=-1).astype(complex)
    else:
        if method == "Momentum":
            b, c = -(1.0 + beta - a), np.full_like(a, beta)
        else:
            b, c = -(1.0 + beta) * (1.0 - a), beta * (1.0 - a)
        sq = np.sqrt((b * b - 4.0 * c).astype(complex))
        roots = np.stack([(-b + sq) / 2.0, (-b - sq) / 2.0], axis=-1)
    order = np.argsort(-np.abs(roots), axis=-1, kind="stable")
    return np.take_along_axis(roots, order, axis=-1)


def convergence_factor(method: str, lr: float, h: np.ndarray | float, *,
                       beta: float = 0.9) -> np.ndarray | float:
    """:math:`\\rho(\\eta h)`, the largest root modulus of the recursion along curvature ``h``.

    Below 1 the error along that eigendirection shrinks by :math:`\\rho` per step in the long
    run (it takes :math:`\\ln 10 / (-\\ln\\rho)` steps per decade); above 1 it grows by
    :math:`\\rho` per step, as along a direction of negative curvature.

    Examples
    --------
    >>> round(float(convergence_factor("Momentum", 1.0, 0.5, beta=0.25)), 6)
    0.5
    """
    rho = np.abs(characteristic_roots(method, lr, h, beta=beta))[..., 0]
    return float(rho) if np.ndim(h) == 0 else rho


def stability_limit(method: str, *, beta: float = 0.9) -> float:
    """The largest :math:`\\eta h` for which the recursion is stable along curvature ``h > 0``.

    A root crosses the unit circle at :math:`z = -1` (the complex roots of the momentum methods
    have modulus :math:`\\sqrt\\beta` and :math:`\\sqrt{\\beta(1 - \\eta h)}`, both below 1):

    .. math::
        \\eta h < 2, \\qquad \\eta h < 2(1 + \\beta), \\qquad
        \\eta h < \\frac{2(1 + \\beta)}{1 + 2\\beta}

    for gradient descent, heavy ball and Nesterov.

    Examples
    --------
    >>> stability_limit("GD"), round(stability_limit("Momentum", beta=0.9), 6)
    (2.0, 3.8)
    """
    check_option("method", method, QUADRATIC_METHODS)
    beta = _beta(beta)
    if method == "GD":
        return 2.0
    if method == "Momentum":
        return 2.0 * (1.0 + beta)
    return 2.0 * (1.0 + beta) / (1.0 + 2.0 * beta)


class OptimalTuning(NamedTuple):
    """Step and momentum that minimize the worst convergence factor over :math:`[\\mu, L]`."""

    lr: float
    beta: float
    rate: float
    """The worst convergence factor :math:`\\max_{h\\in[\\mu, L]}\\rho` at that tuning."""


def optimal_parameters(method: str, mu: float, L: float) -> OptimalTuning:
    """The classical tunings for curvatures in :math:`[\\mu, L]`, :math:`\\kappa = L/\\mu`.

    * gradient descent: :math:`\\eta = 2/(\\mu + L)`, rate :math:`(\\kappa - 1)/(\\kappa + 1)`;
    * heavy ball :cite:`polyak1964some`: :math:`\\eta = 4/(\\sqrt L + \\sqrt\\mu)^2`,
      :math:`\\beta = \\big((\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1)\\big)^2`, rate
      :math:`(\\sqrt\\kappa - 1)/(\\sqrt\\kappa + 1)`;
    * Nesterov, best tuning on quadratics :cite:`lessard2016analysis`:
      :math:`\\eta = 4/(3L + \\mu)`, :math:`\\beta = (\\sqrt{3\\kappa + 1} - 2)/(\\sqrt{3\\kappa + 1} + 2)`,
      rate :math:`1 - 2/\\sqrt{3\\kappa + 1}`.

    Examples
    --------
    >>> t = optimal_parameters("Momentum", 1.0, 100.0)
    >>> round(t.rate, 6), round(t.beta, 6)
    (0.818182, 0.669421)
    """
    check_option("method", method, QUADRATIC_METHODS)
    mu = check_real("mu", mu, minimum=0.0, min_open=True)
    L = check_real("L", L, minimum=mu)
    kappa = L / mu
    if method == "GD":
        return OptimalTuning(2.0 / (mu + L), 0.0, (kappa - 1.0) / (kappa + 1.0))
    if method == "Momentum":
        s = np.sqrt(kappa)
        return OptimalTuning(float(4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2),
                             float(((s - 1.0) / (s + 1.0)) ** 2), float((s - 1.0) / (s + 1.0)))
    q = float(np.sqrt(3.0 * kappa + 1.0))
    return OptimalTuning(4.0 / (3.0 * L + mu), (q - 2.0) / (q + 2.0), 1.0 - 2.0 / q)
