import numpy as np
import pytest
from scipy.linalg import null_space

from mfbook.datasets import streamrec
from mfbook.landscape import (group_by_product, hessian_extremes_modulo_symmetry, polish,
                              symmetry_basis, symmetry_tangents)
from mfbook.core import MFObjective, product_distance


def problem(k=3, reg=1e-3, seed=0):
    data = streamrec(n_users=14, n_items=10, true_rank=2, obs_rate=0.6, noise_std=0.2, seed=seed)
    return MFObjective(data.observed, k, mean=True, half=True, reg=reg)


def random_rotation(k, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(k, k)))
    return Q


def test_polish_reaches_a_critical_point():
    f = problem()
    theta0 = f.random_params(0.5, seed=1)
    res = polish(f, theta0, gtol=1e-9)
    assert res.status == "converged"
    assert np.max(np.abs(f.grad(res.x))) <= 1e-9
    assert res.fun <= f.loss(theta0)
    assert np.all(np.diff(res.losses) <= 1e-15)   # L-BFGS is monotone
    assert res.losses[0] == pytest.approx(f.loss(theta0))
    with pytest.raises(ValueError, match="gtol"):
        polish(f, theta0, gtol=0.0)
    with pytest.raises(ValueError, match="maxiter"):
        polish(f, theta0, maxiter=0)


def test_symmetry_basis_is_orthonormal_and_spans_the_tangents():
    f = problem(k=3)
    theta = f.random_params(1.0, seed=2)
    Q = symmetry_basis(f, theta)
    assert Q.shape == (f.dim, 3)                  # rotations of R^3: 3 = k(k-1)/2
    assert np.allclose(Q.T @ Q, np.eye(3))
    T = symmetry_tangents(f, theta)
    assert np.allclose(Q @ (Q.T @ T), T)
    # a zero column: rotations between two zero columns do not move the point
    U, V = f.unpack(theta)[:2]
    U, V = U.copy(), V.copy()
    U[:, 1:] = 0.0
    V[:, 1:] = 0.0
    assert symmetry_basis(f, f.pack(U, V)).shape[1] == 2
    # no penalty: the whole GL(k) orbit, k^2 directions
    assert symmetry_basis(problem(k=3, reg=0.0), theta).shape[1] == 9


def test_hessian_modulo_symmetry_matches_dense():
    f = problem(k=3)
    x = polish(f, f.random_params(0.5, seed=3), gtol=1e-9).x
    H = f.hessian(x)
    Q = symmetry_basis(f, x)
    assert np.max(np.abs(H @ Q)) < 1e-7            # orbit directions are flat at a critical point
    full = np.linalg.eigvalsh(H)
    assert np.sum(np.abs(full) < 1e-7) >= Q.shape[1]
    N = null_space(Q.T)                            # orthonormal basis of the complement
    reduced = np.linalg.eigvalsh(N.T @ H @ N)
    ext = hessian_extremes_modulo_symmetry(f, x, k=2, tol=1e-12)
    scale = np.max(np.abs(reduced))
    assert np.allclose(ext.smallest, reduced[:2], atol=1e-8 * scale)
    assert np.allclose(ext.largest, reduced[-2:], atol=1e-8 * scale)
    assert ext.smallest[0] > 1e-6                  # a strict minimum modulo rotations
    with pytest.raises(ValueError, match="k must"):
        hessian_extremes_modulo_symmetry(f, x, k=f.dim)


def test_group_by_product_ignores_rotations():
    f = problem(k=3)
    a = f.random_params(1.0, seed=4)
    b = f.random_params(1.0, seed=5)
    U, V = f.unpack(a)[:2]
    Q = random_rotation(3, 6)
    a_rot = f.pack(U @ Q, V @ Q)
    assert np.linalg.norm(a_rot - a) > 0.1 * np.linalg.norm(a)
    labels = group_by_product(f, np.array([a, b, a_rot, b, np.zeros(f.dim), np.zeros(f.dim)]))
    assert labels.tolist() == [0, 1, 0, 1, 2, 2]
    with pytest.raises(ValueError, match="rtol"):
        group_by_product(f, a, rtol=-1.0)
    with pytest.raises(ValueError, match="thetas"):
        group_by_product(f, np.zeros((2, 3)))


def test_product_distance():
    rng = np.random.default_rng(7)
    U1, V1 = rng.normal(size=(9, 3)), rng.normal(size=(6, 3))
    U2, V2 = rng.normal(size=(9, 2)), rng.normal(size=(6, 2))
    dense = np.linalg.norm(U1 @ V1.T - U2 @ V2.T)
    assert product_distance(U1, V1, U2, V2, relative=False) == pytest.approx(dense, rel=1e-12)
    assert product_distance(U1, V1, U2, V2) == pytest.approx(dense / np.linalg.norm(U1 @ V1.T),
                                                             rel=1e-12)
    # invariant under (U A, V A^{-T}) for any invertible A: zero up to rounding
    A = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    assert product_distance(U1, V1, U1 @ A, V1 @ np.linalg.inv(A).T) < 1e-12
    # tiny differences are resolved without cancellation
    eps = 1e-9
    d_small = product_distance(U1, V1, U1 + eps * U2[:, :1] @ np.ones((1, 3)), V1, relative=False)
    exact = np.linalg.norm(eps * U2[:, :1] @ np.ones((1, 3)) @ V1.T)
    assert d_small == pytest.approx(exact, rel=1e-5)
    with pytest.raises(ValueError, match="same number of columns"):
        product_distance(U1, V1[:, :2], U2, V2)
    with pytest.raises(ValueError, match="same shape"):
        product_distance(U1, V1, U2[:5], V2)
    with pytest.raises(ValueError, match="zero product"):
        product_distance(0 * U1, V1, U2, V2)
