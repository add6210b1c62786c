"""Central finite differences: the independent check of every derivative in the book."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._validation import check_array, check_callable, check_real

__all__ = ["central_differences"]


def central_differences(fun: Callable[[np.ndarray], float | np.ndarray], x: np.ndarray,
                        h: float = 1e-6) -> np.ndarray:
    """Derivatives of ``fun`` at ``x`` along every coordinate, by central differences.

    .. math::
        D_i = \\frac{f(x + h e_i) - f(x - h e_i)}{2h} = \\partial_i f(x) + O(h^2),

    Applied to a loss it approximates the gradient; applied to a gradient, the Hessian
    (row :math:`i` is :math:`\\partial_i \\nabla f`, i.e. column :math:`i` of the Hessian,
    the same thing for a symmetric Hessian).  The error is :math:`O(h^2)` from truncation
    plus :math:`O(\\varepsilon_\\text{mach} |f| / h)` from rounding, so :math:`h \\approx
    10^{-5}`-:math:`10^{-6}` suits losses of order one.

    Parameters
    ----------
    fun : callable
        Maps an array of the shape of ``x`` to a number or an array.
    x : ndarray, shape (d,)
        The point.
    h : float
        Step, > 0.

    Returns
    -------
    ndarray, shape ``(d,) + shape of fun(x)``

    Examples
    --------
    >>> import numpy as np
    >>> g = central_differences(lambda z: float(z @ z), np.array([1.0, -2.0]))
    >>> np.allclose(g, [2.0, -4.0])
    True
    """
    check_callable("fun", fun)
    x = check_array("x", x, ndim=1)
    h = check_real("h", h, minimum=0.0, min_open=True)
    rows = []
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        rows.append((np.asarray(fun(x + step)) - np.asarray(fun(x - step))) / (2.0 * h))
    return np.array(rows)
