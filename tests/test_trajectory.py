import numpy as np
import pytest

from mfbook.datasets import streamrec
from mfbook.core import GradientDescent, MFObjective, descend
from mfbook.landscape import (hessian_extremes_along, loss_on_projection, random_walk,
                              random_walk_variance_limit, steps_to_reach, time_to_reach,
                              trajectory_pca)


def small_problem(reg=0.01, k=3, seed=0):
    data = streamrec(n_users=15, n_items=11, true_rank=2, obs_rate=0.5, noise_std=0.1, seed=seed)
    return MFObjective(data.observed, k, mean=True, half=True, reg=reg)


def test_pca_matches_covariance_eigendecomposition():
    X = np.random.default_rng(0).normal(size=(30, 8)) @ np.diag(np.arange(8, 0, -1.0))
    pca = trajectory_pca(X, 3)
    C = np.cov(X, rowvar=False)
    evals, evecs = np.linalg.eigh(C)
    evals, evecs = evals[::-1], evecs[:, ::-1]
    assert np.allclose(pca.explained_variance_ratio, evals[:3] / evals.sum())
    for j in range(3):   # same directions up to sign
        assert abs(abs(pca.components[j] @ evecs[:, j]) - 1) < 1e-10
    assert np.allclose(pca.components @ pca.components.T, np.eye(3))
    assert np.allclose(pca.coords, (X - X.mean(0)) @ pca.components.T)
    # the sign convention: largest |entry| of each direction is positive
    assert np.all(pca.components[np.arange(3), np.argmax(np.abs(pca.components), 1)] > 0)


def test_pca_of_points_in_a_plane_is_exact():
    rng = np.random.default_rng(1)
    c, d1, d2 = rng.normal(size=(3, 20))
    ab = rng.normal(size=(12, 2))
    X = c + ab[:, :1] * d1 + ab[:, 1:] * d2
    for center in ("mean", "last", c):
        pca = trajectory_pca(X, 2, center=center)
        assert pca.explained_variance_ratio.sum() == pytest.approx(1.0, abs=1e-12)
        assert np.allclose(pca.reconstruct(pca.coords), X)
        assert np.max(pca.residual_norms(X)) < 1e-10


def test_pca_centres_and_validation():
    X = np.random.default_rng(2).normal(size=(10, 5))
    last = trajectory_pca(X, 2, center="last")
    assert np.allclose(last.center, X[-1])
    assert np.allclose(last.coords[-1], 0)
    s = np.linalg.svd(X - X[-1], compute_uv=False)
    assert np.allclose(last.explained_variance_ratio, s[:2] ** 2 / np.sum(s**2))
    with pytest.raises(ValueError, match="n_components"):
        trajectory_pca(X, 6)
    with pytest.raises(ValueError, match="shape"):
        trajectory_pca(X[0], 1)
    with pytest.raises(ValueError, match="center"):
        trajectory_pca(X, 2, center="first")
    with pytest.raises(ValueError, match="center must have shape"):
        trajectory_pca(X, 2, center=np.zeros(3))
    with pytest.raises(ValueError, match="points"):
        last.project(np.zeros(4))


def test_loss_on_projection_is_the_loss_at_reconstructed_points():
    f = small_problem()
    run = descend(f, f.random_params(0.3, seed=1), GradientDescent(2.0), 200, snapshot_every=10)
    pca = trajectory_pca(run.snapshots, 2)
    proj = loss_on_projection(f.loss, pca, batch_size=7)
    expected = np.array([f.loss(x) for x in pca.reconstruct(pca.coords)])
    assert np.allclose(proj, expected, rtol=1e-12)
    # and it differs from the true loss of the snapshots, which are not in the plane
    true = f.loss(run.snapshots)
    assert np.max(np.abs(proj - true)) > 1e-6
    # new points can be projected too
    assert np.allclose(loss_on_projection(f.loss, pca, run.snapshots[:3]), expected[:3])


def test_random_walk_schedule_and_increments():
    steps, X = random_walk(105, 4, record_every=10, seed=0)
    assert steps.tolist() == list(range(0, 101, 10)) + [105]
    assert X.shape == (12, 4) and np.all(X[0] == 0)
    steps2, X2 = random_walk(105, 4, record_every=10, seed=0)
    assert np.array_equal(X, X2)
    # Var(x_t) = t sigma^2 in every coordinate: a large dimension makes the test sharp.
    steps, X = random_walk(50, 200_000, record_every=25, step_std=0.5, seed=3)
    var = X.var(axis=1)
    assert np.allclose(var[1:], steps[1:] * 0.25, rtol=0.02)
    with pytest.raises(ValueError, match="record_every"):
        random_walk(10, 3, record_every=0)
    with pytest.raises(ValueError, match="step_std"):
        random_walk(10, 3, step_std=-1.0)


def test_random_walk_pca_approaches_the_limit():
    limit = random_walk_variance_limit(3)
    assert np.allclose(limit, 6 / np.pi**2 / np.array([1, 4, 9]))
    assert random_walk_variance_limit(200_000).sum() == pytest.approx(1.0, abs=1e-5)
    # 201 records in 400 dimensions is already close to the limit (the ratios depend on the
    # number of records and the dimension, not on how many steps lie between records); the
    # seed-to-seed standard error of the mean of 5 is about 0.005.
    ratios = []
    for seed in range(5):
        _, X = random_walk(200, 400, seed=seed)
        ratios.append(trajectory_pca(X, 3).explained_variance_ratio)
    assert np.allclose(np.mean(ratios, axis=0), limit, atol=0.02)
    with pytest.raises(ValueError, match="n_components"):
        random_walk_variance_limit(0)


@pytest.mark.parametrize("reg", [0.0, 0.01])
def test_hessian_extremes_along_match_dense_eigenvalues(reg):
    f = small_problem(reg=reg)
    run = descend(f, f.random_params(0.05, seed=2), GradientDescent(2.0), 300, snapshot_every=50)
    path = hessian_extremes_along(f, run.snapshots, tol=1e-10)
    dense = np.array([np.linalg.eigvalsh(f.hessian(x))[[0, -1]] for x in run.snapshots])
    scale = np.max(np.abs(dense))
    assert np.allclose(path.smallest, dense[:, 0], atol=1e-8 * scale)
    assert np.allclose(path.largest, dense[:, 1], atol=1e-8 * scale)
    assert np.all(path.n_products > 0)
    # the default tolerance, 1e-6, is accurate to about tol * lambda_max
    default = hessian_extremes_along(f, run.snapshots)
    assert np.allclose(default.smallest, dense[:, 0], atol=1e-5 * scale)
    assert np.allclose(default.largest, dense[:, 1], atol=1e-5 * scale)
    # near the origin (small init) the smallest eigenvalue is negative: a saddle
    assert path.smallest[0] < 0


def test_hessian_extremes_along_validation():
    f = small_problem()
    with pytest.raises(ValueError, match="snapshots"):
        hessian_extremes_along(f, np.zeros((2, f.dim + 1)))
    with pytest.raises(ValueError, match="tol"):
        hessian_extremes_along(f, np.zeros((1, f.dim)), tol=0.0)
    with pytest.raises(TypeError, match="MFObjective"):
        hessian_extremes_along(object(), np.zeros((1, 3)))


def test_steps_and_time_to_reach():
    assert steps_to_reach(np.array([3.0, 2.0, 1.0, 0.5]), 1.0) == 2
    assert steps_to_reach(np.array([3.0, 2.0]), 1.0) is None
    assert steps_to_reach(np.array([0.5, 2.0]), 1.0) == 0
    wobbly = np.array([3.0, 0.9, 1.2, 0.8, 0.95, 0.7])
    assert steps_to_reach(wobbly, 1.0) == 1
    assert steps_to_reach(wobbly, 1.0, settle=True) == 3
    assert steps_to_reach(np.array([0.5, 0.4]), 1.0, settle=True) == 0
    assert steps_to_reach(np.array([0.5, 2.0]), 1.0, settle=True) is None
    f = small_problem()
    run = descend(f, f.random_params(0.3, seed=1), GradientDescent(2.0), 100)
    level = run.losses[40]
    t = steps_to_reach(run.losses, level)
    assert t <= 40
    assert time_to_reach(run, level) == pytest.approx(run.wall_time * t / 100)
    assert time_to_reach(run, -1.0) is None
    with pytest.raises(ValueError, match="level"):
        steps_to_reach(run.losses, np.nan)
    with pytest.raises(ValueError, match="one-dimensional"):
        steps_to_reach(np.zeros((2, 2)), 1.0)
