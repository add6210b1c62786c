"""ALS with conjugate-gradient half-sweeps (``solve="cg"``): exactness, descent, accuracy,
threads, validation."""

import numpy as np
import pytest

from mfbook.core import MFObjective, Ratings
from mfbook.datasets import movielens_like, streamrec
from mfbook.recommender import MatrixFactorization, als, als_half_sweep
from mfbook.recommender import _als

from test_als import CONVENTIONS, problem


def _with_col_biases(obj, theta, seed=2):
    if obj.biased:
        f = obj.unpack(theta)
        f.col_bias[...] = np.random.default_rng(seed).normal(size=obj.shape[1])
    return theta


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("side", ["rows", "cols"])
def test_enough_cg_steps_give_the_cholesky_half_sweep(conv, side):
    R = problem()
    obj = MFObjective(R, 4, **conv)
    theta = _with_col_biases(obj, obj.random_params(0.5, seed=1))
    exact = als_half_sweep(obj, theta, side)
    cg = als_half_sweep(obj, theta, side, solve="cg", cg_steps=40)
    assert np.abs(cg - exact).max() < 1e-10
    # The other block is not touched.
    m, n, k = *R.shape, 4
    other = slice(m * k, (m + n) * k) if side == "rows" else slice(0, m * k)
    assert np.array_equal(cg[other], theta[other])


def _reference_pcg(obj, theta, cg_steps):
    """The row half-sweep of ``solve="cg"`` written out in NumPy: per row, its matrix
    A = s sum a a^T + D, b = s sum y a, then ``cg_steps`` steps of CG preconditioned by
    diag(A), from the current parameters."""
    f = obj.unpack(theta)
    R = obj.ratings
    k, s = obj.rank, obj.error_scale
    out = []
    for i in range(obj.shape[0]):
        sel = R.rows == i
        A_rows = f.V[R.cols[sel]]
        y = R.values[sel]
        pen = np.full(k, obj.reg * obj.row_weights[i])
        x = f.U[i].copy()
        if obj.biased:
            A_rows = np.hstack([A_rows, np.ones((len(y), 1))])
            y = y - obj.mu - f.col_bias[R.cols[sel]]
            pen = np.append(pen, obj.reg_bias * obj.row_weights[i])
            x = np.append(x, f.row_bias[i])
        A = s * A_rows.T @ A_rows + np.diag(pen)
        r = s * A_rows.T @ y - A @ x
        Minv = 1 / np.diag(A)
        z = Minv * r
        p = z.copy()
        for _ in range(cg_steps):
            alpha = (r @ z) / (p @ A @ p)
            x = x + alpha * p
            r_new = r - alpha * A @ p
            z_new = Minv * r_new
            p = z_new + (r_new @ z_new) / (r @ z) * p
            r, z = r_new, z_new
        out.append(x)
    return np.array(out)


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("cg_steps", [1, 2, 3])
def test_cg_steps_follow_the_textbook_recurrence(conv, cg_steps):
    R = problem(5)
    obj = MFObjective(R, 4, **conv)
    theta = _with_col_biases(obj, obj.random_params(0.5, seed=3))
    new = obj.unpack(als_half_sweep(obj, theta, "rows", solve="cg", cg_steps=cg_steps))
    got = np.hstack([new.U, new.row_bias[:, None]]) if obj.biased else new.U
    expected = _reference_pcg(obj, theta, cg_steps)
    assert np.abs(got - expected).max() < 1e-10 * (1 + np.abs(expected).max())


def test_cg_from_the_block_minimum_stays_there():
    R = problem(1)
    obj = MFObjective(R, 3, reg=0.2, biased=True)
    theta = als_half_sweep(obj, obj.random_params(0.5, seed=0), "rows")
    again = als_half_sweep(obj, theta, "rows", solve="cg", cg_steps=3)
    assert np.abs(again - theta).max() < 1e-12


def test_cg_steps_converge_towards_the_exact_solve():
    R = movielens_like(120, 90, 3000, seed=0).observed
    obj = MFObjective(R, 8, reg=0.05, reg_weighting="count", biased=True)
    theta = obj.random_params(0.3, seed=0)
    exact = als_half_sweep(obj, theta, "rows")
    errors = [np.abs(als_half_sweep(obj, theta, "rows", solve="cg", cg_steps=c) - exact).max()
              for c in (1, 2, 4, 8)]
    assert all(b < a for a, b in zip(errors, errors[1:]))


@pytest.mark.parametrize("conv", CONVENTIONS)
@pytest.mark.parametrize("cg_steps", [1, 2, 3])
def test_cg_als_never_raises_the_objective(conv, cg_steps):
    R = problem(2)
    obj = MFObjective(R, 3, **conv)
    theta = obj.random_params(0.3, seed=5)
    losses = [obj.loss(theta)]
    for _ in range(15):
        for side in ("rows", "cols"):
            theta = als_half_sweep(obj, theta, side, solve="cg", cg_steps=cg_steps)
            losses.append(obj.loss(theta))
    losses = np.array(losses)
    assert np.all(np.diff(losses) <= 1e-12 * losses[:-1])
    assert losses[-1] < losses[0]
    res = als(obj, obj.random_params(0.3, seed=5), 15, solve="cg", cg_steps=cg_steps)
    assert np.all(np.diff(res.losses) <= 1e-12 * res.losses[:-1])
    assert res.optimizer == f"ALS-CG({cg_steps})"


def test_cg_als_reaches_a_critical_point():
    R = problem(3)
    obj = MFObjective(R, 3, reg=0.1, biased=True)
    res = als(obj, obj.random_params(0.3, seed=0), 300, solve="cg", cg_steps=2, rtol=1e-14)
    assert res.grad_norms[-1] < 1e-3 * res.grad_norms[0]


def test_cg_without_penalty_on_singular_rows_stays_finite():
    R = Ratings([0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2], [1.0, 2.0, 3.0, 1.0, 0.5, 2.0], (3, 3))
    obj = MFObjective(R, 2)
    res = als(obj, obj.random_params(1.0, seed=0), 20, solve="cg", cg_steps=2)
    assert np.all(np.isfinite(res.x)) and np.all(np.diff(res.losses) <= 1e-12)


def test_rows_without_ratings_get_zero():
    R = Ratings([0, 0, 2], [0, 1, 1], [1.0, 2.0, 3.0], (4, 3))   # rows 1, 3 and column 2 empty
    obj = MFObjective(R, 2, reg=0.1, biased=True)
    theta = obj.random_params(1.0, seed=0)
    f = obj.unpack(als_half_sweep(obj, theta, "rows", solve="cg"))
    assert np.all(f.U[[1, 3]] == 0) and np.all(f.row_bias[[1, 3]] == 0)
    g = obj.unpack(als_half_sweep(obj, theta, "cols", solve="cg"))
    assert np.all(g.V[2] == 0) and g.col_bias[2] == 0


def _split(seed=0):
    return movielens_like(300, 400, 15_000, seed=seed).observed.split([0.8, 0.2], seed=1)


def test_cg_test_rmse_is_within_the_seed_spread_of_exact_als():
    train, test = _split()
    params = dict(solver="als", reg=0.05, n_epochs=10)
    exact = [MatrixFactorization(10, **params, random_state=s).fit(train).rmse(test)
             for s in range(5)]
    spread = max(exact) - min(exact)
    assert spread > 0
    for steps in (2, 3):
        cg = [MatrixFactorization(10, **params, als_solve="cg", cg_steps=steps,
                                  random_state=s).fit(train).rmse(test) for s in range(5)]
        assert abs(np.mean(cg) - np.mean(exact)) <= spread, (steps, cg, exact)


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_cg_threads_are_bit_identical(conv, monkeypatch):
    monkeypatch.setattr(_als, "PARALLEL_MIN_FLOPS", 0.0)   # split even this small problem
    R = problem(4)
    obj = MFObjective(R, 3, **conv)
    theta = _with_col_biases(obj, obj.random_params(0.5, seed=0))
    for side in ("rows", "cols"):
        one = als_half_sweep(obj, theta, side, solve="cg", cg_steps=2)
        for n_jobs in (2, 3):
            assert np.array_equal(
                als_half_sweep(obj, theta, side, solve="cg", cg_steps=2, n_jobs=n_jobs), one)
    a = als(obj, theta, 3, solve="cg", n_jobs=1)
    b = als(obj, theta, 3, solve="cg", n_jobs=2)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.losses, b.losses)


def test_cg_threads_bit_identical_through_the_estimator():
    train, _ = _split(2)
    models = [MatrixFactorization(8, solver="als", als_solve="cg", n_epochs=3, n_jobs=j,
                                  random_state=0).fit(train) for j in (1, 2)]
    assert _als.cg_sweep_flops(models[0].objective_, "rows") > _als.PARALLEL_MIN_FLOPS
    assert np.array_equal(models[0].theta_, models[1].theta_)


def test_estimator_default_is_the_exact_solve():
    train, _ = _split(3)
    default = MatrixFactorization(5, solver="als", n_epochs=3, random_state=0).fit(train)
    exact = MatrixFactorization(5, solver="als", n_epochs=3, random_state=0,
                                als_solve="cholesky").fit(train)
    cg = MatrixFactorization(5, solver="als", n_epochs=3, random_state=0,
                             als_solve="cg").fit(train)
    assert default.get_params()["als_solve"] == "cholesky"
    assert np.array_equal(default.theta_, exact.theta_)
    assert not np.array_equal(default.theta_, cg.theta_)
    assert abs(cg.rmse(train) - default.rmse(train)) < 0.01 * default.rmse(train)


def test_cg_flop_count_matches_the_kernel_passes():
    from mfbook.recommender._als_cg_kernels import als_rows_cg, feature_table, padded_width

    R = movielens_like(50, 40, 1200, seed=0).observed
    obj = MFObjective(R, 6, reg=0.1, biased=True)
    theta = obj.random_params(0.3, seed=0)
    _, indptr, other, vals = _als._pattern(obj, "rows")
    m, n = R.shape
    F = feature_table(theta, m, n, 6, True, True, padded_width(7))
    passes = als_rows_cg(theta.copy(), F, m, n, 6, True, obj.mu, obj.error_scale, obj.reg,
                         obj.reg_bias, obj.row_weights, indptr, other, vals, True, 0, m, 3)
    assert passes == 4 * np.count_nonzero(np.diff(indptr))   # no row converges in 3 steps
    kp, kk = 8, 7
    per_entry = (2 * kk + 4 * kp) + 2 * (2 * kk + 2 * kp) + (2 * kk + 2)
    assert _als.cg_sweep_flops(obj, "rows", 3) == R.nnz * per_entry + m * (8 + 24 + 4) * kk


@pytest.mark.parametrize("bad", [0, -1, 1.5, 2.0, "3", True, None])
def test_bad_cg_steps_are_refused(bad):
    obj = MFObjective(problem(), 2)
    theta = obj.random_params(0.1, seed=0)
    with pytest.raises(ValueError, match="cg_steps"):
        als_half_sweep(obj, theta, "rows", solve="cg", cg_steps=bad)
    with pytest.raises(ValueError, match="cg_steps"):
        als(obj, theta, 2, solve="cg", cg_steps=bad)
    with pytest.raises(ValueError, match="cg_steps"):
        _als.cg_sweep_flops(obj, "rows", bad)
    with pytest.raises((ValueError, TypeError), match="cg_steps"):
        MatrixFactorization(2, solver="als", als_solve="cg", cg_steps=bad).fit(problem())


@pytest.mark.parametrize("bad", ["lu", "CG", None, 1])
def test_bad_solve_is_refused(bad):
    obj = MFObjective(problem(), 2)
    theta = obj.random_params(0.1, seed=0)
    with pytest.raises(ValueError, match="solve"):
        als_half_sweep(obj, theta, "rows", solve=bad)
    with pytest.raises(ValueError, match="solve"):
        als(obj, theta, 2, solve=bad)
    with pytest.raises(ValueError, match="als_solve"):
        MatrixFactorization(2, solver="als", als_solve=bad).fit(problem())
