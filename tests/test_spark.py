"""mfbook.spark against a real local Spark (one session for the module: start-up is 10-30 s)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyspark")

from mfbook.core import Ratings  # noqa: E402
from mfbook.datasets import load_movielens, movielens_like  # noqa: E402
from mfbook.recommender import als  # noqa: E402
from mfbook.spark import (LOOPBACK, als_factors, blocked_als_cost, implicit_half_sweep,  # noqa: E402
                          implicit_loss, nnls_half_sweep, ratings_to_spark, read_movielens,
                          spark_objective, spark_session, spark_sweep, spark_to_movielens,
                          spark_to_ratings, sweep_shift, write_movielens)

RANK, REG = 3, 0.2


@pytest.fixture(scope="module")
def spark():
    session = spark_session()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def problem():
    return movielens_like(n_users=120, n_items=90, n_ratings=2400, rank=2, min_per_user=5,
                          seed=3).observed


@pytest.fixture(scope="module")
def frame(spark, problem):
    return ratings_to_spark(spark, problem).cache()


def fit(frame, max_iter, **kw):
    from pyspark.ml.recommendation import ALS
    return ALS(rank=RANK, maxIter=max_iter, regParam=REG, seed=0, numUserBlocks=2,
               numItemBlocks=2, **kw).fit(frame)


# ------------------------------------------------------------------ the session
def test_session_is_local_on_loopback_and_quiet(spark):
    conf = spark.sparkContext.getConf()
    assert spark.sparkContext.master == "local[2]"
    assert conf.get("spark.driver.host") == LOOPBACK == "127.0.0.1"
    assert conf.get("spark.driver.bindAddress") == LOOPBACK
    assert os.environ["SPARK_LOCAL_IP"] == LOOPBACK
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.ui.showConsoleProgress") == "false"
    assert spark.conf.get("spark.sql.execution.arrow.pyspark.enabled") == "true"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "2"
    assert spark.sparkContext.getCheckpointDir() is not None
    assert os.path.isfile(conf.get("spark.mfbook.jvmLog"))   # the JVM's stderr, not ours
    assert spark_session() is spark          # a second call returns the running session


@pytest.mark.parametrize("kwargs, error", [
    (dict(master="yarn"), ValueError), (dict(master="spark://10.0.0.1:7077"), ValueError),
    (dict(master=2), TypeError), (dict(shuffle_partitions=0), ValueError),
    (dict(shuffle_partitions=2.0), TypeError), (dict(app_name=None), TypeError)])
def test_session_refuses_bad_settings(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        spark_session(**kwargs)


def test_import_does_not_load_pyspark():
    code = "import sys, mfbook.spark; print('pyspark' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ})
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------ conversions
def test_round_trip(spark, problem, frame):
    assert dict(frame.dtypes) == {"user": "int", "item": "int", "rating": "double"}
    back = spark_to_ratings(frame, problem.shape)
    assert back.shape == problem.shape
    for name in ("rows", "cols", "values"):
        np.testing.assert_array_equal(getattr(back, name), getattr(problem, name))
    assert spark_to_ratings(frame).shape == (int(problem.rows.max()) + 1,
                                              int(problem.cols.max()) + 1)


def test_movielens_file_read_by_spark_matches_mfbook_reader(spark, problem, tmp_path):
    path = tmp_path / "u.data"
    write_movielens(path, problem, seed=1)
    df = read_movielens(spark, path)
    assert dict(df.dtypes) == {"user": "int", "item": "int", "rating": "float",
                               "timestamp": "bigint"}
    ours, theirs = spark_to_movielens(df), load_movielens(path)
    np.testing.assert_array_equal(ours.user_ids, theirs.user_ids)
    np.testing.assert_array_equal(ours.item_ids, theirs.item_ids)
    np.testing.assert_array_equal(ours.timestamps, theirs.timestamps)
    for name in ("rows", "cols", "values"):
        np.testing.assert_array_equal(getattr(ours.ratings, name), getattr(theirs.ratings, name))
    assert set(np.unique(theirs.ratings.values)) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert theirs.user_ids.min() == 1


def test_movielens_reader_refuses_bad_files(spark, tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        read_movielens(spark, tmp_path / "missing.data")
    bad = tmp_path / "bad.data"
    bad.write_text("1\t2\tfive\t3\n")
    with pytest.raises(Exception, match="(?i)malformed|parse|FAILFAST"):
        read_movielens(spark, bad).collect()


def test_conversions_refuse_bad_inputs(spark, frame, problem):
    with pytest.raises(TypeError, match="ratings"):
        ratings_to_spark(spark, problem.to_dense())
    with pytest.raises(TypeError, match="spark"):
        ratings_to_spark("spark", problem)
    with pytest.raises(TypeError, match="df"):
        spark_to_ratings(problem)
    with pytest.raises(ValueError, match="score"):
        spark_to_ratings(frame, rating_col="score")
    with pytest.raises(ValueError, match="out of range"):
        spark_to_ratings(frame, (3, 3))
    with pytest.raises(TypeError, match="ratings"):
        write_movielens("x", problem.values)


# ------------------------------------------------------------------ Spark's ALS is mfbook's ALS-WR
def test_one_spark_iteration_is_one_mfbook_sweep(frame, problem):
    objective = spark_objective(problem, RANK, REG)
    m, n = problem.shape
    f1, f2 = (als_factors(fit(frame, t), m, n) for t in (1, 2))
    ours = spark_sweep(objective, f1.U, f1.V)
    # Spark stores float32: agreement to a few units of float32 rounding of O(1) factors
    assert np.abs(ours.V - f2.V).max() < 1e-5 * np.abs(f2.V).max()
    assert np.abs(ours.U - f2.U).max() < 1e-5 * np.abs(f2.U).max()
    # and not by accident: a different regParam gives different factors
    other = spark_sweep(spark_objective(problem, RANK, 2 * REG), f1.U, f1.V)
    assert np.abs(other.U - f2.U).max() > 1e-3


def test_converged_spark_factors_are_a_fixed_point(frame, problem):
    objective = spark_objective(problem, RANK, REG)
    f = als_factors(fit(frame, 60), *problem.shape)
    shift = sweep_shift(objective, f.U, f.V)
    assert shift.factors < 1e-6 and shift.product < 1e-6
    assert abs(shift.loss_decrease) < 1e-10
    ours = als(objective, objective.random_params(std=0.5, seed=0), 300, rtol=1e-15)
    spark_loss = objective.loss(objective.pack(f.U, f.V))
    assert abs(spark_loss - ours.fun) < 1e-9 * ours.fun


def test_implicit_prefs_objective(frame, problem):
    m, n = problem.shape
    kw = dict(implicitPrefs=True, alpha=2.0)
    f1, f2 = (als_factors(fit(frame, t, **kw), m, n) for t in (1, 2))
    U, V = implicit_half_sweep(problem, f1.U, f1.V, REG, 2.0, "cols")
    U, V = implicit_half_sweep(problem, U, V, REG, 2.0, "rows")
    assert np.abs(V - f2.V).max() < 1e-5 * np.abs(f2.V).max()
    assert np.abs(U - f2.U).max() < 1e-5 * np.abs(f2.U).max()
    assert implicit_loss(problem, U, V, REG, 2.0) < implicit_loss(problem, f1.U, f1.V, REG, 2.0)


def test_nonnegative_objective(frame, problem):
    objective = spark_objective(problem, RANK, REG)
    m, n = problem.shape
    f1, f2 = (als_factors(fit(frame, t, nonnegative=True), m, n) for t in (1, 2))
    assert f2.U.min() >= 0 and f2.V.min() >= 0
    ours = spark_sweep(objective, f1.U, f1.V, nonnegative=True)
    assert np.abs(ours.V - f2.V).max() < 1e-5 * np.abs(f2.V).max()
    assert np.abs(ours.U - f2.U).max() < 1e-5 * np.abs(f2.U).max()


def test_als_factors_alignment_and_bad_inputs(frame, problem):
    model = fit(frame, 1)
    m, n = problem.shape
    base = als_factors(model, m, n)
    perm = np.random.default_rng(0).permutation(m)
    moved = als_factors(model, perm, n)
    np.testing.assert_array_equal(moved.U, base.U[perm])
    extra = als_factors(model, np.arange(m + 5), n)          # ids the model never saw
    np.testing.assert_array_equal(extra.U[m:], 0.0)
    assert base.U.dtype == np.float64 and base.U.shape == (m, RANK)
    with pytest.raises(TypeError, match="model"):
        als_factors("model", m, n)
    with pytest.raises(ValueError, match="user_ids"):
        als_factors(model, np.array([1, 1, 2]), n)
    with pytest.raises(ValueError, match="user_ids"):
        als_factors(model, np.array([-1, 2]), n)
    with pytest.raises(ValueError, match="item"):
        als_factors(model, m, np.array([10_000]))


# ------------------------------------------------------------------ no Spark needed
def test_implicit_loss_matches_dense_definition():
    rng = np.random.default_rng(0)
    m, n, k, lam, alpha = 6, 5, 2, 0.3, 1.5
    mask = rng.random((m, n)) < 0.5
    mask[:, 0] = True
    R = Ratings.from_dense(np.where(mask, rng.integers(-1, 5, (m, n)), 0.0), mask)
    U, V = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    P = np.where(mask & (R.to_dense(0.0) > 0), 1.0, 0.0)
    C = np.where(mask, 1 + alpha * np.abs(R.to_dense(0.0)), 1.0)
    npos_u, npos_v = P.sum(1), P.sum(0)
    dense = (np.sum(C * (P - U @ V.T) ** 2)
             + lam * (npos_u @ (U ** 2).sum(1) + npos_v @ (V ** 2).sum(1)))
    assert implicit_loss(R, U, V, lam, alpha) == pytest.approx(dense, rel=1e-12)
    # the half-sweep is the exact block minimizer: the gradient in U vanishes
    U1, _ = implicit_half_sweep(R, U, V, lam, alpha, "rows")
    grad = -2 * (C * (P - U1 @ V.T)) @ V + 2 * lam * npos_u[:, None] * U1
    assert np.abs(grad).max() < 1e-10
    with pytest.raises(ValueError, match="alpha"):
        implicit_loss(R, U, V, lam, -1.0)
    with pytest.raises(ValueError, match="V"):
        implicit_loss(R, U, V[:2], lam, alpha)
    with pytest.raises(ValueError, match="side"):
        implicit_half_sweep(R, U, V, lam, alpha, "users")


def test_nnls_half_sweep_is_the_constrained_minimizer():
    R = movielens_like(n_users=20, n_items=15, n_ratings=150, rank=2, min_per_user=3,
                       seed=0).observed
    objective = spark_objective(R, 2, 0.1)
    rng = np.random.default_rng(1)
    U, V = rng.random((20, 2)), rng.random((15, 2))
    U1, _ = nnls_half_sweep(objective, U, V, "rows")
    assert U1.min() >= 0
    g = objective.unpack(objective.grad(objective.pack(U1, V))).U
    # KKT: zero gradient where positive, non-negative gradient where at the bound
    assert np.abs(g[U1 > 1e-12]).max() < 1e-8
    assert g[U1 <= 1e-12].min(initial=0.0) > -1e-8
    with pytest.raises(ValueError, match="side"):
        nnls_half_sweep(objective, U, V, "items")


def test_blocked_als_cost_against_a_simulated_partition():
    rng = np.random.default_rng(0)
    m, n, nnz, k, b = 3000, 400, 60_000, 8, 7
    R = movielens_like(n_users=m, n_items=n, n_ratings=nnz, rank=2, min_per_user=5,
                       seed=0).observed
    cost = blocked_als_cost(m, n, nnz, k, b, user_counts=R.row_counts(),
                            item_counts=R.col_counts())
    item_block = rng.integers(0, b, n)    # a random hash of the items
    user_block = rng.integers(0, b, m)
    pairs_u = np.unique(R.rows * b + item_block[R.cols]).size
    pairs_i = np.unique(R.cols * b + user_block[R.rows]).size
    simulated = (4 * k + 16) * (pairs_u + pairs_i) / 1e9
    assert cost.shuffle_gb == pytest.approx(simulated, rel=0.03)
    assert cost.ratings_gb == pytest.approx(16 * nnz / 1e9)
    one = blocked_als_cost(m, n, nnz, k, 1)
    assert one.shuffle_gb == pytest.approx((4 * k + 16) * (m + n) / 1e9)
    shuffles = [blocked_als_cost(m, n, nnz, k, bb).shuffle_gb for bb in (1, 2, 5, 20, 100)]
    assert np.all(np.diff(shuffles) > 0)
    assert blocked_als_cost(m, n, nnz, k, 10**6).shuffle_gb <= (4 * k + 16) * 2 * nnz / 1e9
    with pytest.raises(ValueError, match="n_ratings"):
        blocked_als_cost(10, 10, 101, 2, 2)
    with pytest.raises(TypeError, match="n_blocks"):
        blocked_als_cost(10, 10, 50, 2, 2.5)
    with pytest.raises(ValueError, match="user_counts"):
        blocked_als_cost(10, 10, 50, 2, 2, user_counts=np.ones(3))
