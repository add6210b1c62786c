"""Raw user and item ids to the indices :class:`~mfbook.recommender.MatrixFactorization` fits.

Rating files identify users and items by ids of their own: 1-based integers with gaps,
strings, hashes.  :class:`IdEncoder` maps them to ``0..n_users-1`` and ``0..n_items-1`` with
scikit-learn's :class:`~sklearn.preprocessing.OrdinalEncoder` (one column per side), and
back.  An id not seen by :meth:`~IdEncoder.fit` becomes the index one past the known range
(``n_users_`` or ``n_items_``): an index that a model fitted on the encoded training data,
without a declared ``shape``, has never seen, so its ``cold_start`` rule applies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

__all__ = ["IdEncoder"]


class IdEncoder(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Encode (user id, item id) pairs as (user index, item index), and decode them.

    Parameters
    ----------
    handle_unknown : {"cold_start", "error"}, default="cold_start"
        An id unseen in :meth:`fit` becomes ``n_users_`` (or ``n_items_``), an index the
        model treats as a new user or item; ``"error"`` raises instead.

    Attributes
    ----------
    encoder_ : OrdinalEncoder
        The fitted scikit-learn encoder; ``encoder_.categories_[0]`` holds the user ids in
        the order of their indices, ``[1]`` the item ids.
    n_users_, n_items_ : int
        Numbers of distinct user and item ids seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> ids = np.array([[196, 242], [186, 302], [196, 302]])
    >>> enc = IdEncoder().fit(ids)
    >>> enc.transform(ids).tolist()
    [[1, 0], [0, 1], [1, 1]]
    >>> enc.transform([[999, 242]]).tolist()       # unknown user: index n_users_
    [[2, 0]]
    >>> enc.inverse_transform([[0, 1]]).tolist()
    [[186, 302]]
    """

    _parameter_constraints: dict = {"handle_unknown": [StrOptions({"cold_start", "error"})]}

    def __init__(self, handle_unknown: str = "cold_start") -> None:
        self.handle_unknown = handle_unknown

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.categorical = True   # ids are category labels
        tags.input_tags.string = True
        return tags

    def fit(self, X: Any, y: Any = None) -> "IdEncoder":
        """Learn the user ids (first column of ``X``) and item ids (second column)."""
        self._validate_params()
        unknown = "use_encoded_value" if self.handle_unknown == "cold_start" else "error"
        enc = OrdinalEncoder(handle_unknown=unknown,
                             unknown_value=-1 if unknown == "use_encoded_value" else None,
                             dtype=np.int64)
        enc.fit(X)
        if len(enc.categories_) != 2:
            raise ValueError(f"X must have two columns (user id, item id), got "
                             f"{len(enc.categories_)} feature(s)")
        for side, cats in zip(("user", "item"), enc.categories_):
            if cats.dtype.kind == "f":
                raise TypeError(f"X: {side} ids must be integers or strings, got floats "
                                "(read the file with integer ids)")
        self.encoder_ = enc
        self.n_users_ = len(enc.categories_[0])
        self.n_items_ = len(enc.categories_[1])
        self.n_features_in_ = enc.n_features_in_
        if hasattr(enc, "feature_names_in_"):
            self.feature_names_in_ = enc.feature_names_in_
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Indices of the pairs ``X``, an ``(n, 2)`` int64 array; unknown ids per
        ``handle_unknown``."""
        check_is_fitted(self)
        out = self.encoder_.transform(X).astype(np.int64)
        for col, size in ((0, self.n_users_), (1, self.n_items_)):
            out[out[:, col] < 0, col] = size
        return out

    def inverse_transform(self, X: Any) -> np.ndarray:
        """The ids of the index pairs ``X``; an index of an unknown id gives None."""
        check_is_fitted(self)
        idx = np.array(X, dtype=np.int64, copy=True)
        if idx.ndim != 2 or idx.shape[1] != 2:
            raise ValueError(f"X must have shape (n, 2), got {idx.shape}")
        for col, size, side in ((0, self.n_users_, "user"), (1, self.n_items_, "item")):
            bad = (idx[:, col] < 0) | (idx[:, col] > size)
            if bad.any():
                raise ValueError(f"X: {side} index {int(idx[bad, col][0])} is out of range "
                                 f"0..{size} ({size} = unknown)")
            idx[idx[:, col] == size, col] = -1
        if self.handle_unknown == "error" and (idx < 0).any():
            raise ValueError("X holds the unknown-id index, which handle_unknown='error' "
                             "never produces")
        return self.encoder_.inverse_transform(idx)
