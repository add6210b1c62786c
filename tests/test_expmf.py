import numpy as np
import pytest

import mfbook.nmf._dense as blas
from mfbook.core import Ratings
from mfbook.datasets import sales_matrix
from mfbook.nmf import ExpMF


def small_problem(reg=1e-3, seed=0, m=7, n=5, k=3):
    rng = np.random.default_rng(seed)
    X = rng.lognormal(size=(m, n))
    mask = rng.random((m, n)) < 0.7
    mask[np.arange(m), np.arange(m) % n] = True
    f = ExpMF(Ratings.from_dense(X, mask), k, reg=reg)
    theta = rng.normal(0.0, 0.5, f.dim)
    return f, theta, rng


@pytest.fixture(params=[True, False], ids=["dense", "sparse"])
def path(request, monkeypatch):
    monkeypatch.setattr(blas, "DENSE_LIMIT", 1 << 22 if request.param else 0)
    return request.param


def test_loss_matches_definition(path):
    f, theta, _ = small_problem()
    P, S = f.unpack(theta)
    R = f.ratings
    pred = np.exp(P) @ np.exp(S).T
    e = R.values - pred[R.rows, R.cols]
    assert f.loss(theta) == pytest.approx(np.mean(e**2) + f.reg * np.sum(theta**2), rel=1e-13)


def test_gradient_matches_finite_differences(path):
    f, theta, rng = small_problem()
    _, g = f.loss_grad(theta)
    h = 1e-6
    for i in rng.choice(f.dim, 12, replace=False):
        d = np.zeros(f.dim)
        d[i] = h
        fd = (f.loss(theta + d) - f.loss(theta - d)) / (2 * h)
        assert g[i] == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_hvp_matches_finite_difference_of_gradient(path):
    f, theta, rng = small_problem()
    v = rng.normal(size=f.dim)
    h = 1e-6
    fd = (f.loss_grad(theta + h * v)[1] - f.loss_grad(theta - h * v)[1]) / (2 * h)
    np.testing.assert_allclose(f.hvp(theta, v), fd, rtol=1e-5, atol=1e-8)


def test_hvp_is_symmetric():
    f, theta, rng = small_problem()
    u, v = rng.normal(size=(2, f.dim))
    assert u @ f.hvp(theta, v) == pytest.approx(v @ f.hvp(theta, u), rel=1e-10)


def test_full_batch_equals_loss_grad(path):
    f, theta, _ = small_problem()
    mse, pen, g = f.batch_loss_grad(theta, np.arange(f.ratings.nnz))
    loss, g_full = f.loss_grad(theta)
    assert mse + pen == pytest.approx(loss, rel=1e-13)
    np.testing.assert_allclose(g, g_full, rtol=1e-10, atol=1e-14)


def test_batch_gradient_is_gradient_of_batch_loss(path):
    f, theta, rng = small_problem()
    idx = rng.choice(f.ratings.nnz, 9, replace=False)
    _, _, g = f.batch_loss_grad(theta, idx)
    h = 1e-6
    for i in rng.choice(f.dim, 10, replace=False):
        d = np.zeros(f.dim)
        d[i] = h
        lp = sum(f.batch_loss_grad(theta + d, idx)[:2])
        lm = sum(f.batch_loss_grad(theta - d, idx)[:2])
        assert g[i] == pytest.approx((lp - lm) / (2 * h), rel=1e-6, abs=1e-9)


def test_dense_and_sparse_paths_agree(monkeypatch):
    d = sales_matrix(n_products=60, n_stores=20, seed=3)
    f = ExpMF(d.observed, 4, reg=1e-6)
    theta = f.keras_uniform_init(seed=0)
    idx = np.arange(0, d.observed.nnz, 3)
    dense = f.batch_loss_grad(theta, idx), f.loss_grad(theta), f.mse(theta, d.hidden())
    monkeypatch.setattr(blas, "DENSE_LIMIT", 0)
    sparse = f.batch_loss_grad(theta, idx), f.loss_grad(theta), f.mse(theta, d.hidden())
    np.testing.assert_allclose(dense[0][2], sparse[0][2], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dense[1][1], sparse[1][1], rtol=1e-12, atol=1e-15)
    assert dense[2] == pytest.approx(sparse[2], rel=1e-12)


def test_gradient_is_factor_times_plain_gradient():
    # grad_P = A o grad_A of the plain model A B^T: small factors get small gradients.
    f, theta, _ = small_problem(reg=0.0)
    P, S = f.unpack(theta)
    A, B = np.exp(P), np.exp(S)
    R = f.ratings
    E = np.zeros(f.shape)
    E[R.rows, R.cols] = R.values - (A @ B.T)[R.rows, R.cols]
    grad_A = -2.0 / R.nnz * E @ B
    gP, _ = f.unpack(f.loss_grad(theta)[1])
    np.testing.assert_allclose(gP, A * grad_A, rtol=1e-12)


def test_keras_init_and_factor_roundtrip():
    f, _, _ = small_problem()
    theta = f.keras_uniform_init(seed=1)
    assert np.all(np.abs(theta) <= 0.05)
    assert np.array_equal(theta, f.keras_uniform_init(seed=1))
    P, S = f.unpack(theta)
    np.testing.assert_allclose(f.from_factors(np.exp(P), np.exp(S)), theta, atol=1e-15)


def test_bad_input_messages():
    f, theta, _ = small_problem()
    with pytest.raises(ValueError, match="theta must have shape"):
        f.loss(theta[:-1])
    with pytest.raises(ValueError, match="rank"):
        ExpMF(f.ratings, 0)
    with pytest.raises(ValueError, match="reg"):
        ExpMF(f.ratings, 2, reg=-1.0)
    with pytest.raises(ValueError, match="strictly positive"):
        f.from_factors(np.zeros((7, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="index"):
        f.batch_loss_grad(theta, np.array([], dtype=int))
    with pytest.raises(ValueError, match="P must have shape"):
        f.pack(np.zeros((2, 2)), np.zeros((5, 3)))


def test_symmetric_subspace_is_invariant_and_rank_one():
    f, theta, _ = small_problem(reg=1e-3)
    sym = f.symmetric_part(theta)
    np.testing.assert_allclose(f.symmetric_part(sym), sym)          # a projection
    assert abs((theta - sym) @ sym) < 1e-10                         # orthogonal
    g = f.loss_grad(sym)[1]
    np.testing.assert_allclose(f.symmetric_part(g), g, atol=1e-14)  # gradient stays inside
    s = f.singular_values(sym)
    assert s[1] < 1e-12 * s[0]                                      # the model is rank one
    P, S = f.unpack(theta)
    np.testing.assert_allclose(f.singular_values(theta),
                               np.linalg.svd(np.exp(P) @ np.exp(S).T, compute_uv=False)[:3])


def test_fit_lbfgs_decreases_and_records():
    from mfbook.nmf import fit_lbfgs
    d = sales_matrix(n_products=40, n_stores=15, rank=3, seed=1)
    f = ExpMF(d.observed, 3, reg=0.0)
    rec = fit_lbfgs(f, f.keras_uniform_init(seed=0) + 0.3 * np.random.default_rng(0).normal(size=f.dim),
                    maxiter=300, val=d.hidden())
    assert rec.loss.shape == rec.val_mse.shape == rec.times.shape == (rec.n_iter + 1,)
    assert rec.loss[-1] < 1e-3 * rec.loss[0]
    assert np.all(np.diff(rec.loss) <= 1e-12 * rec.loss[:-1])
    with pytest.raises(ValueError, match="maxiter"):
        fit_lbfgs(f, rec.theta, maxiter=0)


def test_bad_types_and_non_finite_starts_are_refused():
    from mfbook.core import DivergenceError
    from mfbook.nmf import fit_lbfgs

    f, theta, _ = small_problem()
    with pytest.raises(TypeError, match="ratings must be a mfbook.core.Ratings"):
        ExpMF(np.ones((3, 3)), 2)
    with pytest.raises(TypeError, match="rank must be an integer"):
        ExpMF(f.ratings, 2.0)
    with pytest.raises(TypeError, match="reg must be a real number"):
        ExpMF(f.ratings, 2, reg="small")
    bad = theta.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="theta must be finite, found 1 NaN"):
        f.loss_grad(bad)
    with pytest.raises(ValueError, match="theta must be finite"):
        fit_lbfgs(f, bad, maxiter=5)
    with pytest.raises(ValueError, match="memory must be an integer in"):
        fit_lbfgs(f, theta, maxiter=5, memory=0)
    with pytest.raises(TypeError, match="maxiter must be an integer"):
        fit_lbfgs(f, theta, maxiter=5.0)
    with pytest.raises(TypeError, match="model must be a mfbook.nmf.ExpMF"):
        fit_lbfgs("model", theta)
    huge = np.full(f.dim, 400.0)       # exp(800) overflows: the start loss is infinite
    with pytest.raises(DivergenceError, match="L-BFGS.*not finite"):
        fit_lbfgs(f, huge, maxiter=5)
