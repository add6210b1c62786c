"""Predictions of a fitted :class:`~mfbook.recommender.MatrixFactorization`, cold start included.

A pair is **known** when its user and its item both have at least one training rating; the
model predicts it as fitted.  Any other pair (a user or item without training ratings, or
an index past the inferred training shape) follows ``cold_start``:

* ``"baseline"``: the part of the model that is known, :math:`\\mu + b_i + c_j` with the
  unknown bias set to 0 (biased model), the mean training rating (plain model);
* ``"nan"``: NaN, so that the caller can route the pair elsewhere;
* ``"raise"``: a ``ValueError`` naming the first such pair.

Predictions are then clipped to the model's range (``clip_``), if any.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["predict_known", "predict_with_cold_start"]


def predict_known(est: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The fitted model at in-range pairs (int64 arrays); no cold-start rule, no clipping."""
    from ._kernels import predict_pairs

    m, n = est.shape_
    out = np.empty(rows.shape[0])
    predict_pairs(est.theta_, m, n, est.rank_, est.objective_.biased, float(est.mu_),
                  np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), out)
    return out


def predict_with_cold_start(est: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """:math:`\\hat r` at every pair, unknown pairs by ``est.cold_start``, clipped to ``clip_``."""
    m, n = est.shape_
    in_r = rows < m
    in_c = cols < n
    r_safe = np.where(in_r, rows, 0)
    c_safe = np.where(in_c, cols, 0)
    row_ok = in_r & est.known_rows_[r_safe]
    col_ok = in_c & est.known_cols_[c_safe]
    known = row_ok & col_ok
    all_known = bool(known.all())
    if est.cold_start == "raise" and not all_known:
        bad = np.flatnonzero(~known)
        t = int(bad[0])
        raise ValueError(
            f"{len(bad)} of {known.size} pairs involve a user or item without training "
            f"ratings (first: user {int(rows[t])}, item {int(cols[t])}); "
            "use cold_start='baseline' or 'nan' to predict them")
    pred = predict_known(est, r_safe, c_safe)
    if not all_known:
        if est.cold_start == "nan":
            pred[~known] = np.nan
        elif est.objective_.biased:
            # Unknown pairs get mu plus whichever bias is known: the baseline predictor.
            b = np.where(row_ok, est.row_bias_[r_safe], 0.0)
            c = np.where(col_ok, est.col_bias_[c_safe], 0.0)
            pred = np.where(known, pred, est.mu_ + b + c)
        else:
            pred = np.where(known, pred, est.global_mean_)
    if est.clip_ is not None:
        pred = np.clip(pred, *est.clip_)
    return pred
