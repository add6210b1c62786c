"""Model selection on a fixed validation set, the scikit-learn way.

scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` and friends split one data set
themselves; to choose hyper-parameters on a validation set fixed in advance (as chapter 3
does, so that every candidate is scored on the same ratings), they take the concatenated
data and a :class:`~sklearn.model_selection.PredefinedSplit`.  :func:`predefined_split`
builds both from two :class:`~mfbook.core.Ratings`.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import PredefinedSplit

from ..core import Ratings

__all__ = ["predefined_split"]


def predefined_split(fit: Ratings, valid: Ratings
                     ) -> tuple[np.ndarray, np.ndarray, PredefinedSplit]:
    """``X, y, cv`` for scikit-learn's model selection with ``valid`` as the one test fold.

    ``X`` stacks the (user, item) pairs of ``fit`` then ``valid``, ``y`` their ratings, and
    ``cv`` trains on the first ``fit.nnz`` rows and scores on the rest, in that order.  Give
    the estimator ``shape=fit.shape`` so that it fits exactly what it would fit on ``fit``.

    Examples
    --------
    >>> from mfbook.core import Ratings
    >>> fit = Ratings([0, 1], [0, 1], [4.0, 2.0], (2, 2))
    >>> valid = Ratings([0], [1], [3.0], (2, 2))
    >>> X, y, cv = predefined_split(fit, valid)
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(X)]
    [([0, 1], [2])]
    """
    for name, part in (("fit", fit), ("valid", valid)):
        if not isinstance(part, Ratings):
            raise TypeError(f"{name} must be a mfbook.core.Ratings, got {type(part).__name__}")
    if valid.shape != fit.shape:
        raise ValueError(f"valid must have the shape of fit {fit.shape}, got {valid.shape}")
    X = np.r_[np.c_[fit.rows, fit.cols], np.c_[valid.rows, valid.cols]]
    y = np.r_[fit.values, valid.values]
    fold = np.r_[np.full(fit.nnz, -1), np.zeros(valid.nnz, dtype=np.int64)]
    return X, y, PredefinedSplit(fold)
