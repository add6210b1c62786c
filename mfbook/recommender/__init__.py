"""The recommender: a latent factor estimator and the solvers behind it.

* :class:`MatrixFactorization` -- the estimator, a scikit-learn regressor on (user, item)
  index pairs (SGD, mini-batch SGD with momentum, Adam, ALS), plain or biased, with early
  stopping, a cold-start policy, and conversions from Surprise's and Spark's
  hyper-parameters;
* :class:`IdEncoder` -- raw user and item ids to indices and back (scikit-learn's
  ``OrdinalEncoder``), unknown ids routed to the estimator's cold-start rule;
* :func:`predefined_split` -- a fixed validation set as scikit-learn's ``PredefinedSplit``,
  for ``GridSearchCV`` and ``cross_val_score``;
* :func:`als` and :func:`als_half_sweep` -- alternating least squares on any
  :class:`~mfbook.core.MFObjective`, one exact block minimization per half-sweep;
* :mod:`mfbook.recommender.reference` -- the same solvers as plain Python loops, slow on
  purpose, to check the compiled ones against.

The compiled inner loops (numba) are private; they are imported on first use only, so
importing this package does not load numba.

Fitting a MovieLens-format file, raw ids and all:

>>> import numpy as np
>>> from sklearn.pipeline import make_pipeline
>>> data = np.array([[196, 242, 3], [186, 302, 3], [22, 377, 1], [196, 302, 4],
...                  [22, 242, 2], [186, 377, 5]])
>>> model = make_pipeline(IdEncoder(), MatrixFactorization(rank=2, random_state=0))
>>> model = model.fit(data[:, :2], data[:, 2])
>>> bool(1 <= model.predict([[196, 377]])[0] <= 5)    # clipped to the observed range
True
"""

from ._als import als, als_half_sweep
from ._encoding import IdEncoder
from ._estimator import SOLVERS, MatrixFactorization
from ._selection import predefined_split

__all__ = ["MatrixFactorization", "IdEncoder", "predefined_split", "SOLVERS", "als",
           "als_half_sweep"]
