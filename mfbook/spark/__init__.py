"""Spark MLlib's ALS beside mfbook's: a local session, conversions, and the shared objective.

* :func:`spark_session` -- the one function that starts Spark: local mode, on loopback
  (``127.0.0.1``), no UI, no progress bars, errors-only logging, Arrow transfers;
* :func:`ratings_to_spark`, :func:`spark_to_ratings`, :func:`spark_to_movielens` --
  :class:`~mfbook.core.Ratings` to a Spark DataFrame and back (through Arrow);
  :func:`read_movielens` reads a MovieLens ``u.data`` file with ``spark.read`` and an
  explicit schema, :func:`write_movielens` writes one;
* :func:`als_factors` -- a fitted ``ALSModel``'s factors as float64 arrays aligned with a
  Ratings; :func:`spark_objective` -- the ALS-WR :class:`~mfbook.core.MFObjective` Spark
  minimizes; :func:`spark_sweep` -- one Spark iteration done by mfbook's half-sweeps (or
  :func:`nnls_half_sweep` for ``nonnegative=True``); :func:`sweep_shift` -- how far it
  moves a factorization;
* :func:`implicit_loss`, :func:`implicit_half_sweep` -- the ``implicitPrefs=True`` objective;
* :func:`blocked_als_cost` -- memory and shuffle volume of Spark's blocked ALS, on paper.

pyspark is imported only when a function needs it; without it (``pip install
'mfbook[spark]'``) those functions raise an ImportError that says what to install.
"""

from ._convert import (MOVIELENS_COLUMNS, ratings_to_spark, read_movielens, spark_to_movielens,
                       spark_to_ratings, write_movielens)
from ._cost import BlockedALSCost, blocked_als_cost
from ._factors import (SweepShift, als_factors, nnls_half_sweep, spark_objective,
                       spark_sweep, sweep_shift)
from ._implicit import implicit_half_sweep, implicit_loss
from ._session import LOOPBACK, require_pyspark, spark_session

__all__ = ["spark_session", "require_pyspark", "LOOPBACK",
           "ratings_to_spark", "spark_to_ratings", "spark_to_movielens", "read_movielens",
           "write_movielens", "MOVIELENS_COLUMNS",
           "als_factors", "spark_objective", "spark_sweep", "sweep_shift", "nnls_half_sweep", "SweepShift",
           "implicit_loss", "implicit_half_sweep",
           "blocked_als_cost", "BlockedALSCost"]
