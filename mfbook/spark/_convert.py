"""Ratings <-> Spark DataFrames, and MovieLens-format files read by Spark."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..core import Ratings, SeedLike, as_generator, check_array
from ..datasets import MovieLens
from ._session import quiet_pyspark, require_pyspark

__all__ = ["ratings_to_spark", "spark_to_ratings", "spark_to_movielens", "read_movielens",
           "write_movielens", "MOVIELENS_COLUMNS"]

MOVIELENS_COLUMNS = ("user", "item", "rating", "timestamp")
"""Column names of a MovieLens ``u.data`` file, as :func:`read_movielens` names them."""


def _check_session(spark: Any) -> None:
    require_pyspark()
    from pyspark.sql import SparkSession
    if not isinstance(spark, SparkSession):
        raise TypeError(f"spark must be a SparkSession, got {type(spark).__name__}")


def _check_frame(df: Any, columns: tuple[str, ...]) -> None:
    require_pyspark()
    from pyspark.sql import DataFrame
    if not isinstance(df, DataFrame):
        raise TypeError(f"df must be a Spark DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"df has no column {missing}; its columns are {df.columns}")


def ratings_to_spark(spark: Any, ratings: Ratings, *, user_col: str = "user",
                     item_col: str = "item", rating_col: str = "rating") -> Any:
    """A Spark DataFrame ``(user int, item int, rating double)`` holding ``ratings``.

    The row and column indices become the user and item ids (Spark's ALS wants integer
    ids in the 32-bit range).  The data travels as one pandas frame through Arrow, not as
    a Python list of tuples (which is 10-100 times slower).

    Raises
    ------
    TypeError
        If ``spark`` is not a SparkSession or ``ratings`` not a :class:`~mfbook.core.Ratings`.
    ValueError
        If an index does not fit in a 32-bit integer.
    """
    _check_session(spark)
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    if max(ratings.shape) > np.iinfo(np.int32).max:
        raise ValueError(f"ratings has shape {ratings.shape}: Spark's ALS ids are 32-bit")
    import pandas as pd
    frame = pd.DataFrame({user_col: ratings.rows.astype(np.int32),
                          item_col: ratings.cols.astype(np.int32),
                          rating_col: np.asarray(ratings.values, dtype=np.float64)})
    with quiet_pyspark():
        return spark.createDataFrame(frame)


def _columns(df: Any, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    with quiet_pyspark():
        frame = df.select(*columns).toPandas()     # through Arrow (the session enables it)
    return {c: frame[c].to_numpy() for c in columns}


def spark_to_ratings(df: Any, shape: tuple[int, int] | None = None, *, user_col: str = "user",
                     item_col: str = "item", rating_col: str = "rating") -> Ratings:
    """The rows of a Spark DataFrame of ``(user, item, rating)`` as :class:`~mfbook.core.Ratings`.

    The ids are taken as the zero-based indices (the inverse of :func:`ratings_to_spark`);
    ``shape`` defaults to the largest ids plus one.  For raw ids (MovieLens' start at 1 and
    have gaps) use :func:`spark_to_movielens`.  Rows come in the DataFrame's order.

    Raises
    ------
    TypeError
        If ``df`` is not a DataFrame.
    ValueError
        If a column is missing, or (from :class:`~mfbook.core.Ratings`) an id is negative or
        out of ``shape``, or a pair is rated twice.
    """
    _check_frame(df, (user_col, item_col, rating_col))
    cols = _columns(df, (user_col, item_col, rating_col))
    rows, items = cols[user_col].astype(np.int64), cols[item_col].astype(np.int64)
    if rows.size == 0:
        raise ValueError("df has no rows")
    if shape is None:
        shape = (int(rows.max()) + 1, int(items.max()) + 1)
    return Ratings(rows, items, cols[rating_col].astype(np.float64), shape)


def spark_to_movielens(df: Any, *, user_col: str = "user", item_col: str = "item",
                       rating_col: str = "rating", timestamp_col: str = "timestamp") -> MovieLens:
    """A DataFrame of raw ids as :class:`~mfbook.datasets.MovieLens` (ids renumbered ``0..``).

    Users and items are numbered in increasing order of their ids, exactly as
    :func:`mfbook.datasets.load_movielens` numbers them, so ``user_ids[i]`` is the Spark id
    of row ``i``: the alignment :func:`~mfbook.spark.als_factors` needs.  Without a
    ``timestamp_col`` column the timestamps are zeros.

    Raises
    ------
    TypeError, ValueError
        As :func:`spark_to_ratings`.
    """
    _check_frame(df, (user_col, item_col, rating_col))
    names = (user_col, item_col, rating_col) + ((timestamp_col,) if timestamp_col in df.columns
                                                 else ())
    cols = _columns(df, names)
    if cols[user_col].size == 0:
        raise ValueError("df has no rows")
    user_ids, rows = np.unique(cols[user_col].astype(np.int64), return_inverse=True)
    item_ids, items = np.unique(cols[item_col].astype(np.int64), return_inverse=True)
    ratings = Ratings(rows, items, cols[rating_col].astype(np.float64),
                      (len(user_ids), len(item_ids)))
    stamps = (cols[timestamp_col].astype(np.int64) if timestamp_col in cols
              else np.zeros(ratings.nnz, dtype=np.int64))
    return MovieLens(ratings, user_ids, item_ids, stamps)


def read_movielens(spark: Any, path: str | os.PathLike) -> Any:
    """Read a MovieLens ``u.data`` file (``user<TAB>item<TAB>rating<TAB>timestamp``) with
    ``spark.read`` and an explicit schema.

    The schema is ``user int, item int, rating float, timestamp long`` (Spark's ALS casts
    ids to int and ratings to float anyway); nothing is inferred, so the file is read once,
    and a malformed line fails the read (``mode="FAILFAST"``) instead of becoming nulls.
    The same call reads the real MovieLens-100K file.

    Raises
    ------
    TypeError
        If ``spark`` is not a SparkSession.
    FileNotFoundError
        If ``path`` does not exist.
    """
    _check_session(spark)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no such file {os.fspath(path)!r}")
    from pyspark.sql.types import FloatType, IntegerType, LongType, StructField, StructType
    schema = StructType([StructField("user", IntegerType(), False),
                         StructField("item", IntegerType(), False),
                         StructField("rating", FloatType(), False),
                         StructField("timestamp", LongType(), False)])
    return spark.read.csv(os.fspath(path), sep="\t", schema=schema, header=False,
                          mode="FAILFAST")


def write_movielens(path: str | os.PathLike, ratings: Ratings, *, first_id: int = 1,
                    start_time: int = 874_724_710, seed: SeedLike = 0) -> None:
    """Write ``ratings`` as a MovieLens ``u.data`` file: whole stars 1-5, ids from ``first_id``.

    Values are rounded to the nearest whole star and clipped to 1..5, as MovieLens stores
    them; entries are written in a random order (``seed``) with increasing timestamps
    (one per second from ``start_time``, MovieLens-100K's first).

    Raises
    ------
    TypeError
        If ``ratings`` is not a :class:`~mfbook.core.Ratings`.
    """
    if not isinstance(ratings, Ratings):
        raise TypeError(f"ratings must be a mfbook.core.Ratings, got {type(ratings).__name__}")
    stars = np.clip(np.rint(check_array("ratings.values", ratings.values)), 1, 5).astype(np.int64)
    order = as_generator(seed).permutation(ratings.nnz)
    table = np.column_stack([ratings.rows[order] + first_id, ratings.cols[order] + first_id,
                             stars[order], start_time + np.arange(ratings.nnz)])
    np.savetxt(path, table, fmt="%d", delimiter="\t")
