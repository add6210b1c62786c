import numpy as np
import pytest

from mfbook.core import MFObjective, Ratings
from mfbook.datasets import streamrec
from mfbook.landscape import (classify_critical_point, evaluate_plane, hessian_extremes,
                              random_direction)


def test_evaluate_plane_matches_pointwise_and_orientation():
    R = Ratings.from_dense(np.array([[3.0, 1.0], [1.0, 3.0]]))
    obj = MFObjective(R, 1)
    center = np.array([0.5, 1.0, -0.5, 1.0])
    d1, d2 = np.eye(4)[0], np.eye(4)[2]
    alphas, betas = np.linspace(-1, 1, 5), np.linspace(-2, 2, 3)
    Z = evaluate_plane(obj.loss, center, d1, d2, alphas, betas, batch_size=4)
    assert Z.shape == (3, 5)
    for j, b in enumerate(betas):
        for i, a in enumerate(alphas):
            assert Z[j, i] == pytest.approx(obj.loss(center + a * d1 + b * d2), rel=1e-14)


def test_evaluate_plane_validation():
    f = lambda X: X.sum(axis=1)
    with pytest.raises(ValueError, match="same length"):
        evaluate_plane(f, np.zeros(3), np.zeros(2), np.zeros(3), [0], [0])
    with pytest.raises(ValueError, match="empty"):
        evaluate_plane(f, np.zeros(3), np.zeros(3), np.zeros(3), [], [0])
    with pytest.raises(ValueError, match=r"shape \(B,\)"):
        evaluate_plane(lambda X: X, np.zeros(3), np.zeros(3), np.zeros(3), [0, 1], [0])


def test_random_direction_row_normalization():
    data = streamrec(n_users=12, n_items=9, true_rank=2, obs_rate=0.5, seed=0)
    obj = MFObjective(data.observed, 3, biased=True)
    rng = np.random.default_rng(1)
    U, V = rng.normal(size=(12, 3)), rng.normal(size=(9, 3))
    U[0] = 0.0  # a zero user row gets a zero direction
    theta = obj.pack(U, V, np.linspace(-1, 1, 12), np.linspace(1, 2, 9))
    d = random_direction(obj, theta, normalize="rows", seed=2)
    ft, fd = obj.unpack(theta), obj.unpack(d)
    assert np.allclose(np.linalg.norm(fd.U, axis=1), np.linalg.norm(ft.U, axis=1))
    assert np.allclose(np.linalg.norm(fd.V, axis=1), np.linalg.norm(ft.V, axis=1))
    assert np.allclose(np.abs(fd.row_bias), np.abs(ft.row_bias))
    assert np.all(fd.U[0] == 0)
    g = random_direction(obj, theta, normalize="global", seed=2)
    assert np.linalg.norm(g) == pytest.approx(np.linalg.norm(theta))
    raw = random_direction(obj, theta, normalize="none", seed=2)
    assert np.array_equal(raw, np.random.default_rng(2).standard_normal(obj.dim))
    assert np.all(np.isfinite(d))
    with pytest.raises(ValueError, match="normalize"):
        random_direction(obj, theta, normalize="filter")


@pytest.mark.parametrize("seed", [0, 1])
def test_hessian_extremes_match_dense_eigenvalues(seed):
    data = streamrec(n_users=25, n_items=15, true_rank=2, obs_rate=0.5, seed=seed)
    obj = MFObjective(data.observed, 3, reg=0.01)
    theta = obj.random_params(0.3, seed=seed)  # far from a minimum: negative curvature
    dense = np.linalg.eigvalsh(obj.hessian(theta))
    ext = hessian_extremes(lambda v: obj.hvp(theta, v), obj.dim, k=3, seed=seed)
    assert np.allclose(ext.smallest, dense[:3], rtol=1e-6, atol=1e-8)
    assert np.allclose(ext.largest, dense[-3:], rtol=1e-6, atol=1e-8)
    assert dense[0] < 0 < dense[-1] and ext.n_products > 0


def test_hessian_extremes_negative_definite_operator():
    A = -np.diag(np.arange(1.0, 21.0))
    ext = hessian_extremes(lambda v: A @ v, 20, k=2)
    assert np.allclose(ext.smallest, [-20, -19]) and np.allclose(ext.largest, [-2, -1])


def test_hessian_extremes_validation():
    with pytest.raises(ValueError, match="dim"):
        hessian_extremes(lambda v: v, 1)
    with pytest.raises(ValueError, match="k must"):
        hessian_extremes(lambda v: v, 5, k=4)


@pytest.mark.parametrize(
    "eigs, kwargs, kind",
    [
        ([1.0, 2.0], {}, "minimum"),
        ([-1.0, -2.0], {}, "maximum"),
        ([-1.0, 2.0], {}, "strict saddle"),
        ([-1.0, 0.0, 2.0], {}, "strict saddle"),
        ([0.0, 1.0], {}, "degenerate"),
        ([1e-12, 1.0], {}, "degenerate"),
        ([1e-12, 1.0], dict(symmetry_dim=1), "minimum"),
        ([0.0, 0.0, 1.0], dict(symmetry_dim=1), "degenerate"),
        ([0.0, -3.0], dict(symmetry_dim=1), "maximum"),
        ([1e-6, 1.0], dict(tol=1e-9), "minimum"),
        ([0.0, 0.0], dict(symmetry_dim=2), "degenerate"),
    ],
)
def test_classify_critical_point(eigs, kwargs, kind):
    assert classify_critical_point(np.array(eigs), **kwargs) == kind


def test_classify_known_functions():
    # f(x, y) = x^2 - y^2 (saddle), x^2 + y^4 (degenerate minimum), -(x^2 + y^2) (maximum)
    assert classify_critical_point(np.linalg.eigvalsh(np.diag([2.0, -2.0]))) == "strict saddle"
    assert classify_critical_point(np.linalg.eigvalsh(np.diag([2.0, 0.0]))) == "degenerate"
    assert classify_critical_point(np.linalg.eigvalsh(-2 * np.eye(2))) == "maximum"


def test_classify_validation():
    with pytest.raises(ValueError, match="non-empty"):
        classify_critical_point([])
    with pytest.raises(ValueError, match="finite"):
        classify_critical_point([np.nan])
    with pytest.raises(ValueError, match="symmetry_dim"):
        classify_critical_point([1.0], symmetry_dim=2)


def test_orthonormal_span_drops_dependent_columns():
    from mfbook.landscape import orthonormal_span

    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 2))
    T = np.column_stack([A, A @ np.array([2.0, -1.0]), np.zeros(6)])  # rank 2, 4 columns
    Q = orthonormal_span(T)
    assert Q.shape == (6, 2)
    assert np.allclose(Q.T @ Q, np.eye(2), atol=1e-12)
    assert np.allclose(Q @ (Q.T @ T), T, atol=1e-12)      # spans every column
    assert orthonormal_span(np.zeros((6, 3))).shape == (6, 0)
    assert orthonormal_span(np.zeros((6, 0))).shape == (6, 0)
    with pytest.raises(ValueError, match="T must be"):
        orthonormal_span(np.zeros(6))
