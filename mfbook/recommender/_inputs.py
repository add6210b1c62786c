"""The data a :class:`~mfbook.recommender.MatrixFactorization` accepts, checked.

``X`` is an ``(n, 2)`` array of (user index, item index) pairs and ``y`` the ``n`` ratings,
as scikit-learn passes them; a :class:`~mfbook.core.Ratings` may stand for both (its
values are the targets).  The rules, the same in ``fit``, ``predict`` and ``score``:

* the indices must be integers (a float index is a sign of ids read as numbers, see
  :class:`~mfbook.recommender.IdEncoder`) and non-negative, always;
* a **declared** shape, that of a ``Ratings`` or the ``shape`` parameter, is enforced: an
  index past it raises, and a ``Ratings`` of another shape than the model's raises;
* without a declared shape the model's shape is inferred from the training pairs, and a
  larger index at prediction time is a user or item never seen in training: it follows
  ``cold_start``.  This is what cross-validation needs, where a test fold may hold the
  largest index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import validate_data

from ..core import Ratings, as_generator

__all__ = ["Pairs", "training_pairs", "validation_pairs", "prediction_pairs"]


@dataclass(frozen=True)
class Pairs:
    """Checked (user, item) index pairs, with their ratings when known."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray | None
    shape: tuple[int, int] | None   # declared by a Ratings, else None

    def __len__(self) -> int:
        return len(self.rows)


def _check_index_array(name: str, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{name} must have two columns, (user index, item index), got "
                         f"{X.shape[1] if X.ndim == 2 else 0} feature(s): an array of shape "
                         f"{X.shape}")
    for what, col in (("user", 0), ("item", 1)):
        idx = X[:, col]
        if idx.size and idx.min() < 0:
            t = int(np.argmin(idx))
            raise ValueError(f"{name}: Negative values in data: {what} index {idx[t]} in row "
                             f"{t} (indices are non-negative)")
    if X.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer (user, item) indices, got dtype {X.dtype}; map raw "
            "ids to indices with mfbook.recommender.IdEncoder")
    if X.dtype.kind == "u" and X.size and int(X.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} holds an index too large for int64")
    return (np.ascontiguousarray(X[:, 0], dtype=np.int64),
            np.ascontiguousarray(X[:, 1], dtype=np.int64))


def _from_ratings(name: str, X: Ratings, y: Any, y_name: str) -> Pairs:
    if y is not None:
        raise ValueError(f"{y_name} must be None when {name} is a Ratings (its values are "
                         f"the targets), got {type(y).__name__}")
    return Pairs(np.asarray(X.rows), np.asarray(X.cols), np.asarray(X.values), X.shape)


def _from_arrays(est: Any, name: str, X: Any, y: Any, reset: bool,
                 y_required: bool) -> Pairs:
    if y is None:
        if y_required:
            raise ValueError(f"{type(est).__name__} requires y to be passed, but the target y "
                             f"is None: pass the ratings of the (user, item) pairs {name}, "
                             f"or a mfbook.core.Ratings as {name}")
        arr = validate_data(est, X, reset=reset, dtype=None, ensure_min_samples=1)
        values = None
    else:
        arr, values = validate_data(est, X, y, reset=reset, dtype=None, y_numeric=True,
                                    ensure_min_samples=1)
        values = np.ascontiguousarray(values, dtype=np.float64)
    rows, cols = _check_index_array(name, np.asarray(arr))
    return Pairs(rows, cols, values, None)


def _check_in_shape(name: str, pairs: Pairs, shape: tuple[int, int]) -> None:
    for what, idx, size in (("user", pairs.rows, shape[0]), ("item", pairs.cols, shape[1])):
        if idx.size and idx.max() >= size:
            t = int(np.argmax(idx))
            raise ValueError(
                f"{name}: {what} index {int(idx[t])} (row {t}) is out of range for the "
                f"declared shape {shape} (valid: 0..{size - 1})")


def training_pairs(est: Any, X: Any, y: Any, declared: tuple[int, int] | None
                   ) -> tuple[Ratings, bool]:
    """The training ratings and whether their shape was declared.

    ``declared`` is the ``shape`` parameter (or None).  The shape is that of a ``Ratings``
    ``X``, else ``declared``, else the largest indices plus one.
    """
    if isinstance(X, Ratings):
        pairs = _from_ratings("X", X, y, "y")
        est.n_features_in_ = 2
        if hasattr(est, "feature_names_in_"):
            del est.feature_names_in_
        if declared is not None and declared != X.shape:
            raise ValueError(f"X is a Ratings of shape {X.shape}, but the estimator was given "
                             f"shape={declared}")
        return X, True
    pairs = _from_arrays(est, "X", X, y, reset=True, y_required=True)
    if declared is not None:
        _check_in_shape("X", pairs, declared)
        shape = declared
    else:
        shape = (int(pairs.rows.max()) + 1, int(pairs.cols.max()) + 1)
    try:
        ratings = Ratings(pairs.rows, pairs.cols, pairs.values, shape)
    except ValueError as exc:    # a pair rated twice
        raise ValueError(f"X, y: {exc}; a rating matrix has one rating per (user, item) "
                         "pair") from None
    return ratings, declared is not None


def _check_shape_matches(name: str, X: Ratings, shape: tuple[int, int]) -> None:
    if X.shape != shape:
        raise ValueError(f"{name} is a Ratings of shape {X.shape}, but the model was fitted "
                         f"on a matrix of shape {shape}")


def validation_pairs(est: Any, X_val: Any, y_val: Any, shape: tuple[int, int],
                     declared: bool) -> Pairs:
    """Validation pairs for early stopping and monitoring, checked against the training shape."""
    if isinstance(X_val, Ratings):
        _check_shape_matches("X_val", X_val, shape)
        return _from_ratings("X_val", X_val, y_val, "y_val")
    if y_val is None:
        raise ValueError("y_val is required with an array X_val (or pass a Ratings as X_val)")
    pairs = _from_arrays(est, "X_val", X_val, y_val, reset=False, y_required=True)
    if declared:
        _check_in_shape("X_val", pairs, shape)
    return pairs


def split_validation(train: Ratings, fraction: float, seed: Any) -> tuple[Ratings, Pairs]:
    """Hold out ``fraction`` of the training ratings (at least one) for early stopping."""
    n_val = max(1, int(round(fraction * train.nnz)))
    if n_val >= train.nnz:
        raise ValueError(f"validation_fraction={fraction} of {train.nnz} training ratings "
                         "leaves nothing to train on")
    perm = as_generator(seed).permutation(train.nnz)
    held, kept = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    val = Pairs(train.rows[held], train.cols[held], train.values[held], train.shape)
    return train.subset(kept), val


def prediction_pairs(est: Any, X: Any, shape: tuple[int, int], declared: bool,
                     name: str = "X") -> Pairs:
    """Pairs to predict, checked against the fitted model's shape."""
    if isinstance(X, Ratings):
        _check_shape_matches(name, X, shape)
        return Pairs(np.asarray(X.rows), np.asarray(X.cols), np.asarray(X.values), X.shape)
    pairs = _from_arrays(est, name, X, None, reset=False, y_required=False)
    if declared:
        _check_in_shape(name, pairs, shape)
    return pairs
