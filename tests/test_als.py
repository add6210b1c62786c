import numpy as np
import pytest

from mfbook.recommender import als, als_half_sweep
from mfbook.core import MFObjective, Ratings
from mfbook.datasets import streamrec

CONVENTIONS = [
    dict(reg=0.1),
    dict(reg=0.05, mean=True, half=True),
    dict(reg=0.1, reg_weighting="count"),
    dict(reg=0.1, biased=True, reg_bias=0.02),
    dict(reg=0.01, biased=True, mean=True, reg_weighting="count"),
]


def problem(seed=0):
    return streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3, seed=seed).observed


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_half_sweep_is_the_exact_block_minimizer(conv):
    R = problem()
    obj = MFObjective(R, 3, **conv)
    theta = obj.random_params(0.5, seed=1)
    if obj.biased:
        f = obj.unpack(theta)
        f.col_bias[...] = np.random.default_rng(2).normal(size=R.shape[1])
    new = als_half_sweep(obj, theta, "rows")
    # The row block gradient vanishes and the column block is untouched ...
    m, n, k = *R.shape, 3
    g = obj.unpack(obj.grad(new))
    assert np.abs(g.U).max() < 1e-10
    if obj.biased:
        assert np.abs(g.row_bias).max() < 1e-10
        assert np.array_equal(obj.unpack(new).col_bias, obj.unpack(theta).col_bias)
    assert np.array_equal(obj.unpack(new).V, obj.unpack(theta).V)
    # ... and, the block problem being convex, that means it is the block minimum.
    rng = np.random.default_rng(3)
    for _ in range(5):
        other = new.copy()
        other[: m * k] += 0.01 * rng.normal(size=m * k)
        assert obj.loss(other) > obj.loss(new)


def test_half_sweep_matches_per_row_least_squares():
    R = problem(1)
    obj = MFObjective(R, 3, reg=0.3)
    theta = obj.random_params(0.5, seed=4)
    new = obj.unpack(als_half_sweep(obj, theta, "cols"))
    U = obj.unpack(theta).U
    for j in range(R.shape[1]):
        sel = R.cols == j
        A, y = U[R.rows[sel]], R.values[sel]
        v = np.linalg.solve(A.T @ A + 0.3 * np.eye(3), A.T @ y)
        assert np.allclose(new.V[j], v, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_als_is_monotone_and_converges_to_a_critical_point(conv):
    R = problem(2)
    obj = MFObjective(R, 3, **conv)
    res = als(obj, obj.random_params(0.3, seed=5), 300, rtol=1e-14)
    assert np.all(np.diff(res.losses) <= 1e-12 * res.losses[:-1])
    # ALS can crawl along flat valleys, so ask for a clear, not a complete, decrease.
    assert res.grad_norms[-1] < 1e-3 * res.grad_norms[0]
    assert res.snapshots.shape == (len(res.losses), obj.dim)
    assert res.fun == pytest.approx(obj.loss(res.x))


def test_als_recovers_low_rank_truth_without_noise():
    data = streamrec(n_users=60, n_items=40, true_rank=2, obs_rate=0.5, noise_std=0.0, seed=3)
    obj = MFObjective(data.observed, 2, reg=1e-9)
    res = als(obj, obj.random_params(1.0, seed=0), 300, rtol=1e-15)
    U, V = obj.unpack(res.x)[:2]
    assert np.abs(U @ V.T - data.truth).max() < 1e-4


def test_als_zero_penalty_with_sparse_rows_uses_minimum_norm():
    # Row 0 has a single entry but k = 2: the block system is singular without a penalty.
    R = Ratings([0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2], [1.0, 2.0, 3.0, 1.0, 0.5, 2.0], (3, 3))
    obj = MFObjective(R, 2)
    res = als(obj, obj.random_params(1.0, seed=0), 20)
    assert np.all(np.isfinite(res.x)) and np.all(np.diff(res.losses) <= 1e-12)
    # Row 0 is underdetermined (one equation, two unknowns): of all its least-squares
    # solutions, the half-sweep must return the one of minimum norm, which lstsq computes.
    theta = obj.random_params(1.0, seed=3)
    new = obj.unpack(als_half_sweep(obj, theta, "rows"))
    V = obj.unpack(theta).V
    cols = R.cols[R.rows == 0]
    expected, *_ = np.linalg.lstsq(V[cols], R.values[R.rows == 0], rcond=None)
    assert np.allclose(new.U[0], expected, rtol=1e-10, atol=1e-12)
    # ... which is orthogonal to the null space of its equations (any other solution is not).
    null = np.array([-V[cols[0], 1], V[cols[0], 0]])
    assert abs(new.U[0] @ null) < 1e-10 * np.linalg.norm(null) * (1 + np.linalg.norm(new.U[0]))


def test_als_validation():
    obj = MFObjective(problem(), 2)
    with pytest.raises(ValueError, match="n_sweeps"):
        als(obj, np.zeros(obj.dim), -1)
    with pytest.raises(ValueError, match="theta"):
        als(obj, np.zeros(3), 5)
    with pytest.raises(ValueError, match="side"):
        als_half_sweep(obj, np.zeros(obj.dim), "users")


def test_als_generalizes_on_noisy_low_rank_data():
    data = streamrec(n_users=200, n_items=100, true_rank=3, obs_rate=0.3, noise_std=0.3, seed=0)
    train, test = data.observed.split([0.8, 0.2], seed=1)
    obj = MFObjective(train, 3, reg=1.0, biased=True)
    res = als(obj, obj.random_params(0.1, seed=2), 30)
    pred = obj.predict(res.x, test.rows, test.cols)
    rmse = np.sqrt(np.mean((pred - test.values) ** 2))
    baseline = np.sqrt(np.mean((train.mean() - test.values) ** 2))
    assert rmse < 0.25 * baseline and rmse < 0.5
