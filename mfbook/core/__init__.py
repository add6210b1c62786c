"""The core of :mod:`mfbook`: observed ratings, the objective, optimizers and metrics.

Everything else in the package is built on these names, and they are the interface
between the parts of the book:

* :class:`Ratings` -- the observed entries :math:`\\Omega` of a matrix, as triplets;
* :class:`MFObjective` -- loss, gradient, Hessian-vector product and Hessian of the (biased)
  factorization, with its conventions (sum or mean, :math:`\\tfrac12`, penalty weights) as
  public attributes;
* :class:`Optimizer` and its four rules (:class:`GradientDescent`, :class:`HeavyBall`,
  :class:`Nesterov`, :class:`Adam`), run by :func:`descend` into an :class:`OptimResult`;
* :func:`rmse`, :func:`mse`, :func:`product_distance`, :func:`product_svd` -- errors on
  observed entries and symmetry-invariant comparisons of factorizations;
* :func:`central_differences` -- the finite-difference check of any derivative;
* the validation layer (:func:`check_int`, :func:`check_real`, ..., :class:`DivergenceGuard`,
  :class:`DivergenceError`) that every public function of the package uses;
* :func:`as_generator`, :func:`progress_bar`, :func:`one_blas_thread` -- random streams, a
  progress display that stays off in notebooks, BLAS thread pinning.
"""

from ._blas import one_blas_thread
from ._descent import LossGrad, OptimResult, descend
from ._metrics import mse, product_distance, product_svd, rmse
from ._numdiff import central_differences
from ._objective import Factors, MFObjective
from ._optimizers import Adam, GradientDescent, HeavyBall, Nesterov, Optimizer
from ._progress import ProgressBar, progress_bar, progress_enabled
from ._ratings import Ratings, SeedLike, as_generator
from ._validation import (DIVERGENCE_FACTOR, DivergenceError, DivergenceGuard, check_array,
                          check_bool, check_indices, check_int, check_option, check_real)
from ._validation import (check_callable, check_objective, check_shape, divergence_reason,
                          real_array, scipy_outcome)

__all__ = [
    "Ratings", "SeedLike", "as_generator",
    "MFObjective", "Factors",
    "Optimizer", "GradientDescent", "HeavyBall", "Nesterov", "Adam",
    "OptimResult", "descend", "LossGrad",
    "rmse", "mse", "product_distance", "product_svd",
    "central_differences",
    "DivergenceError", "DivergenceGuard", "DIVERGENCE_FACTOR",
    "check_int", "check_real", "check_bool", "check_option", "check_array", "check_indices",
    "check_shape", "real_array", "check_callable", "check_objective", "divergence_reason", "scipy_outcome",
    "progress_bar", "progress_enabled", "ProgressBar",
    "one_blas_thread",
]
