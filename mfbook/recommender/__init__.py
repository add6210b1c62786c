"""The recommender: a latent factor estimator and the solvers behind it.

* :class:`MatrixFactorization` -- the estimator (SGD, mini-batch SGD with momentum, Adam,
  ALS), plain or biased, with early stopping and a cold-start policy;
* :func:`als` and :func:`als_half_sweep` -- alternating least squares on any
  :class:`~mfbook.core.MFObjective`, one exact block minimization per half-sweep;
* :mod:`mfbook.recommender.reference` -- the same solvers as plain Python loops, slow on
  purpose, to check the compiled ones against.

The compiled inner loops (numba) are private; they are imported on first use only, so
importing this package does not load numba.
"""

from ._als import als, als_half_sweep
from ._estimator import SOLVERS, MatrixFactorization

__all__ = ["MatrixFactorization", "SOLVERS", "als", "als_half_sweep"]
