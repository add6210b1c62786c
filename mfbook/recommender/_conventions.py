"""Other libraries' hyper-parameters in :class:`~mfbook.recommender.MatrixFactorization`'s units.

Surprise's ``SVD`` :cite:`hug2020surprise` updates, for each rating in turn,
:math:`p_u \\leftarrow p_u + \\gamma\\,(e_{ui}\\,q_i - \\lambda\\,p_u)` (and likewise
:math:`q_i`, :math:`b_u`, :math:`b_i`): one step along :math:`-\\tfrac{\\gamma}{2}` times the
gradient of :math:`e_{ui}^2 + \\lambda(\\lVert p_u\\rVert^2 + \\lVert q_i\\rVert^2 + \\dots)`.
Summed over a pass, user :math:`u` is penalized once per rating: the sum-form objective with
count weights, ``reg=λ, reg_weighting="count"``, and a per-rating step of ``lr=γ/2`` with
``penalty="rows"`` is the same update, arithmetic for arithmetic.  Spark's ALS
:cite:`spark_als` scales ``regParam`` by each user's and item's number of ratings (ALS-WR
:cite:`zhou2008largescale`): ``reg=regParam, reg_weighting="count"`` with ``solver="als"``,
one sweep per ``maxIter``, the plain model, no clipping.

The functions return constructor arguments; they refuse what has no equivalent here instead
of dropping it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["surprise_svd_params", "spark_als_params", "SPARK_EXECUTION_PARAMS"]

SPARK_EXECUTION_PARAMS = frozenset({
    "numUserBlocks", "numItemBlocks", "checkpointInterval", "blockSize",
    "intermediateStorageLevel", "finalStorageLevel", "userCol", "itemCol", "ratingCol",
    "predictionCol"})
"""Spark ``ALS`` parameters that change how it computes, not what it fits (ignored)."""


def _one(name: str, values: dict[str, float | None], default: float) -> float:
    chosen = {k: (default if v is None else v) for k, v in values.items()}
    if len(set(chosen.values())) > 1:
        raise ValueError(
            f"MatrixFactorization has one {name} for " + ", ".join(values) + f"; got {chosen}")
    return float(next(iter(chosen.values())))


def surprise_svd_params(
    n_factors: int = 100, n_epochs: int = 20, biased: bool = True, init_mean: float = 0.0,
    init_std_dev: float = 0.1, lr_all: float = 0.005, reg_all: float = 0.02,
    lr_bu: float | None = None, lr_bi: float | None = None, lr_pu: float | None = None,
    lr_qi: float | None = None, reg_bu: float | None = None, reg_bi: float | None = None,
    reg_pu: float | None = None, reg_qi: float | None = None,
    random_state: int | None = None, verbose: bool = False,
    rating_scale: tuple[float, float] = (1, 5),
) -> dict[str, Any]:
    """Constructor arguments equivalent to Surprise's ``SVD(...)`` on a ``Reader`` with
    ``rating_scale``; the defaults are Surprise's.

    Raises
    ------
    ValueError
        If the per-parameter learning rates differ, the user and item penalties differ,
        ``init_mean`` is not 0, or ``random_state`` is not an int or None.
    """
    lr = _one("learning rate", {"lr_bu": lr_bu, "lr_bi": lr_bi, "lr_pu": lr_pu,
                                "lr_qi": lr_qi}, lr_all)
    reg = _one("factor penalty", {"reg_pu": reg_pu, "reg_qi": reg_qi}, reg_all)
    reg_bias = _one("bias penalty", {"reg_bu": reg_bu, "reg_bi": reg_bi}, reg_all)
    if init_mean != 0:
        raise ValueError(f"MatrixFactorization starts its factors at mean 0, got "
                         f"init_mean={init_mean!r}")
    if random_state is not None and not isinstance(random_state, int):
        raise ValueError("random_state must be an int or None (a numpy RandomState draws "
                         f"another stream), got {type(random_state).__name__}")
    return dict(rank=n_factors, solver="sgd", biased=biased, reg=reg, reg_bias=reg_bias,
                reg_weighting="count", penalty="rows", lr=lr / 2.0, lr_decay=1.0,
                n_epochs=n_epochs, init_std=init_std_dev,
                clip=(float(rating_scale[0]), float(rating_scale[1])),
                cold_start="baseline", random_state=random_state)


def spark_als_params(
    rank: int = 10, maxIter: int = 10, regParam: float = 0.1, implicitPrefs: bool = False,
    alpha: float = 1.0, nonnegative: bool = False, coldStartStrategy: str = "nan",
    seed: int | None = None, **execution: Any,
) -> dict[str, Any]:
    """Constructor arguments equivalent to Spark MLlib's ``ALS(...)``; the defaults are
    Spark's.

    ``alpha`` only matters with ``implicitPrefs=True``, as in Spark.  ``coldStartStrategy=
    "drop"`` maps to ``cold_start="nan"``: a scikit-learn ``predict`` returns one value per
    input row, so dropping is the caller's ``y_pred[~np.isnan(y_pred)]``.

    Raises
    ------
    ValueError
        For ``implicitPrefs=True`` (the implicit-feedback model is not implemented) and
        ``nonnegative=True`` (non-negative least squares: see :mod:`mfbook.nmf`).
    TypeError
        For a parameter Spark's ALS does not have.
    """
    unknown = set(execution) - SPARK_EXECUTION_PARAMS
    if unknown:
        raise TypeError(f"Spark's ALS has no parameter {sorted(unknown)}")
    if implicitPrefs:
        raise ValueError("implicitPrefs=True (implicit feedback with confidence alpha) has no "
                         "equivalent in MatrixFactorization, which fits explicit ratings")
    if nonnegative:
        raise ValueError("nonnegative=True (non-negative least squares) has no equivalent in "
                         "MatrixFactorization; mfbook.nmf fits non-negative factors")
    if coldStartStrategy not in ("nan", "drop"):
        raise ValueError(f"coldStartStrategy must be 'nan' or 'drop', got "
                         f"{coldStartStrategy!r}")
    return dict(rank=rank, solver="als", biased=False, reg=regParam, reg_weighting="count",
                n_epochs=maxIter, clip=None, cold_start="nan", random_state=seed)
