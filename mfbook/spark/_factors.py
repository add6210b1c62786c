"""Spark's ALS factors in mfbook's arrays, and the objective they minimize.

Spark's ``ALS`` (explicit feedback) alternates exact solves of the normal equations

.. math::

    \\Big(\\sum_{j \\in \\Omega_i} \\mathbf v_j \\mathbf v_j^\\top + \\lambda\\, n_i I\\Big)
    \\mathbf u_i = \\sum_{j \\in \\Omega_i} r_{ij} \\mathbf v_j

(``regParam`` :math:`= \\lambda` times the user's number of ratings :math:`n_i`; the same for
items).  These are the stationarity conditions, in :math:`\\mathbf u_i`, of the ALS-WR
objective

.. math::

    L(U, V) = \\sum_{(i,j)\\in\\Omega} (r_{ij} - \\mathbf u_i^\\top \\mathbf v_j)^2
      + \\lambda \\Big(\\sum_i n_i \\lVert \\mathbf u_i\\rVert^2
      + \\sum_j n_j \\lVert \\mathbf v_j\\rVert^2\\Big),

which is :class:`~mfbook.core.MFObjective` with ``reg=regParam, reg_weighting="count"``, sums,
no 1/2: :func:`spark_objective`.  With ``nonnegative=True`` each solve is a non-negative least
squares problem with the same matrix: the same objective on :math:`U, V \\geq 0`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core import Factors, MFObjective, Ratings, check_indices, check_int, check_real
from ._session import quiet_pyspark, require_pyspark

__all__ = ["als_factors", "spark_objective", "spark_sweep", "sweep_shift", "SweepShift",
           "nnls_half_sweep"]


def _ids(name: str, value: Any) -> np.ndarray:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return np.arange(check_int(name, value, minimum=1))
    ids = check_indices(name, value)
    if ids.size == 0:
        raise ValueError(f"{name} must not be empty")
    if np.unique(ids).size != ids.size:
        raise ValueError(f"{name} holds repeated ids")
    return ids


def _side(frame: Any, ids: np.ndarray, name: str) -> np.ndarray:
    with quiet_pyspark():
        table = frame.toPandas()
    got = table["id"].to_numpy().astype(np.int64)
    feats = np.array([np.asarray(f, dtype=np.float64) for f in table["features"]])
    out = np.zeros((ids.size, feats.shape[1] if feats.ndim == 2 else 0))
    pos = {int(v): p for p, v in enumerate(ids)}
    where = np.array([pos.get(int(v), -1) for v in got], dtype=np.int64)
    keep = where >= 0
    if keep.sum() == 0:
        raise ValueError(f"none of the model's {name} ids is in {name}_ids")
    out[where[keep]] = feats[keep]
    return out


def als_factors(model: Any, user_ids: Any, item_ids: Any) -> Factors:
    """The factors of a fitted Spark ``ALSModel`` as float64 arrays aligned with a Ratings.

    Parameters
    ----------
    model : pyspark.ml.recommendation.ALSModel
        A fitted model.
    user_ids, item_ids : int or array of int
        Row ``i`` of ``U`` holds the factors of Spark id ``user_ids[i]`` (an int ``m``
        means ids ``0..m-1``, the ids :func:`~mfbook.spark.ratings_to_spark` uses); likewise
        for items.  Ids the model has no factors for (no ratings in its training data) get
        zero rows, the minimum-norm solution of their (empty) normal equations.  Spark stores
        factors as float32; they are widened exactly.

    Returns
    -------
    Factors
        ``U`` of shape ``(len(user_ids), rank)`` and ``V`` of shape ``(len(item_ids), rank)``.

    Raises
    ------
    TypeError
        If ``model`` is not an ``ALSModel`` or the ids are not integers.
    ValueError
        If the ids are empty, negative or repeated, or none of them is in the model.
    """
    require_pyspark()
    from pyspark.ml.recommendation import ALSModel
    if not isinstance(model, ALSModel):
        raise TypeError(f"model must be a fitted pyspark ALSModel, got {type(model).__name__}")
    users, items = _ids("user_ids", user_ids), _ids("item_ids", item_ids)
    return Factors(U=_side(model.userFactors, users, "user"),
                   V=_side(model.itemFactors, items, "item"))


def spark_objective(ratings: Ratings, rank: int, reg_param: float) -> MFObjective:
    """The objective Spark's explicit ALS minimizes, as an :class:`~mfbook.core.MFObjective`.

    :math:`\\sum_\\Omega (r_{ij} - \\mathbf u_i^\\top\\mathbf v_j)^2 + \\lambda(\\sum_i n_i
    \\lVert\\mathbf u_i\\rVert^2 + \\sum_j n_j\\lVert\\mathbf v_j\\rVert^2)` with
    :math:`\\lambda` = ``regParam``: ``MFObjective(ratings, rank, reg=reg_param,
    reg_weighting="count")`` (plain model, sums, no 1/2).

    Raises
    ------
    TypeError, ValueError
        If ``ratings`` is not a Ratings, ``rank`` not an integer >= 1 or ``reg_param`` not
        a finite number >= 0.
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    rank = check_int("rank", rank, minimum=1)
    reg_param = check_real("reg_param", reg_param, minimum=0.0)
    return MFObjective(ratings, rank, reg=reg_param, reg_weighting="count")


class SweepShift(NamedTuple):
    """How far one ALS sweep of mfbook moves a factorization (see :func:`sweep_shift`)."""

    factors: float
    """:math:`\\lVert\\theta_1 - \\theta_0\\rVert / \\lVert\\theta_0\\rVert`."""
    product: float
    """:math:`\\lVert U_1V_1^\\top - U_0V_0^\\top\\rVert_F / \\lVert U_0V_0^\\top\\rVert_F`."""
    loss_decrease: float
    """:math:`(L(\\theta_0) - L(\\theta_1)) / L(\\theta_0)`, never negative (ALS descends)."""


def _check_plain(objective: MFObjective) -> None:
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be an MFObjective, got {type(objective).__name__}")
    if objective.biased:
        raise ValueError("objective must be the plain model (Spark's ALS has no biases)")


def spark_sweep(objective: MFObjective, U: np.ndarray, V: np.ndarray, *,
                nonnegative: bool = False) -> Factors:
    """One iteration of Spark's ALS done by mfbook: items given users, then users given items.

    Spark's iteration updates the item factors first (``itemFactors = computeFactors(
    userFactors)``), then the users; this is :func:`mfbook.recommender.als_half_sweep` on
    ``"cols"`` then ``"rows"`` (or :func:`nnls_half_sweep` with ``nonnegative=True``).
    From Spark's factors after ``t`` iterations it gives Spark's factors after ``t + 1``.

    Raises
    ------
    TypeError, ValueError
        If ``objective`` is not a plain :class:`~mfbook.core.MFObjective` or the factors
        have the wrong shapes.
    """
    from ..recommender import als_half_sweep
    _check_plain(objective)
    if nonnegative:
        U0, V1 = nnls_half_sweep(objective, U, V, "cols")
        return Factors(*nnls_half_sweep(objective, U0, V1, "rows"))
    theta = als_half_sweep(objective, als_half_sweep(objective, objective.pack(U, V), "cols"),
                           "rows")
    f = objective.unpack(theta)
    return Factors(U=f.U.copy(), V=f.V.copy())


def nnls_half_sweep(objective: MFObjective, U: np.ndarray, V: np.ndarray,
                    side: str) -> tuple[np.ndarray, np.ndarray]:
    r"""``(U, V)`` with one block replaced by its exact minimizer over non-negative rows.

    Row :math:`i` solves :math:`\min_{\mathbf u \geq 0} \sum_{j\in\Omega_i}(r_{ij} -
    \mathbf u^\top\mathbf v_j)^2 + \lambda w_i\lVert\mathbf u\rVert^2`, the least-squares
    problem with the stacked matrix :math:`[V_{\Omega_i}; \sqrt{\lambda w_i}\, I]` and
    targets :math:`[r_{i\Omega_i}; 0]`, by Lawson-Hanson (``scipy.optimize.nnls``): the
    problem Spark's ``nonnegative=True`` solves (by projected gradients) for each row.
    A plain loop over rows, for small problems.

    Raises
    ------
    TypeError, ValueError
        For a biased objective, wrong shapes or ``side`` not ``"rows"``/``"cols"``.
    """
    from scipy.optimize import nnls
    from ..core import check_option
    _check_plain(objective)
    side = check_option("side", side, ("rows", "cols"))
    f = objective.unpack(objective.pack(U, V))
    R = objective.ratings
    own, other, feats, w = ((R.rows, R.cols, f.V, objective.row_weights) if side == "rows"
                            else (R.cols, R.rows, f.U, objective.col_weights))
    size, k = w.size, objective.rank
    order = np.argsort(own, kind="stable")
    bounds = np.searchsorted(own[order], np.arange(size + 1))
    new = np.zeros((size, k))
    for i in range(size):
        sel = order[bounds[i]:bounds[i + 1]]
        if sel.size == 0:
            continue
        A = np.vstack([np.sqrt(objective.error_scale) * feats[other[sel]],
                       np.sqrt(objective.reg * w[i]) * np.eye(k)])
        b = np.concatenate([np.sqrt(objective.error_scale) * R.values[sel], np.zeros(k)])
        new[i] = nnls(A, b)[0]
    return (new, f.V.copy()) if side == "rows" else (f.U.copy(), new)


def sweep_shift(objective: MFObjective, U: np.ndarray, V: np.ndarray, *,
                nonnegative: bool = False) -> SweepShift:
    """Run one :func:`spark_sweep` from ``(U, V)`` and report how far it moved them.

    At an exact fixed point of the ALS-WR half-sweeps every number is 0; factors computed
    elsewhere to solver precision (Spark's are float32) give numbers of the order of that
    precision.  ``nonnegative=True`` sweeps with :func:`nnls_half_sweep`.

    Raises
    ------
    ValueError
        If ``U`` or ``V`` do not have the objective's shapes, or the objective is biased.
    """
    from ..core import product_distance
    _check_plain(objective)
    theta0 = objective.pack(U, V)
    f1 = spark_sweep(objective, U, V, nonnegative=nonnegative)
    theta1 = objective.pack(f1.U, f1.V)
    loss0, loss1 = float(objective.loss(theta0)), float(objective.loss(theta1))
    return SweepShift(
        factors=float(np.linalg.norm(theta1 - theta0) / np.linalg.norm(theta0)),
        product=product_distance(f1.U, f1.V, np.asarray(U, dtype=float),
                                 np.asarray(V, dtype=float)),
        loss_decrease=(loss0 - loss1) / loss0)
