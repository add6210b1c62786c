import numpy as np
import pytest

import mfbook.nmf._dense as blas
from mfbook.core import Ratings
from mfbook.datasets import sales_matrix
from mfbook.nmf import masked_frobenius, masked_kl, nmf_hals, nmf_init, nmf_mu


def masked_problem(seed=0, m=30, n=20, k=3, density=0.6):
    rng = np.random.default_rng(seed)
    X = rng.lognormal(size=(m, k)) @ rng.lognormal(size=(k, n)) + rng.random((m, n))
    mask = rng.random((m, n)) < density
    mask[np.arange(m), np.arange(m) % n] = True
    return Ratings.from_dense(X, mask), rng


SOLVERS = {
    "MU-frobenius": lambda R, **kw: nmf_mu(R, 4, loss="frobenius", **kw),
    "MU-kl": lambda R, **kw: nmf_mu(R, 4, loss="kl", **kw),
    "HALS": lambda R, **kw: nmf_hals(R, 4, **kw),
}


@pytest.fixture(params=[True, False], ids=["dense", "sparse"])
def path(request, monkeypatch):
    monkeypatch.setattr(blas, "DENSE_LIMIT", 1 << 22 if request.param else 0)
    return request.param


@pytest.mark.parametrize("name", SOLVERS)
def test_loss_never_increases_with_mask(name, path):
    R, _ = masked_problem()
    res = SOLVERS[name](R, n_iter=150, seed=1)
    steps = np.diff(res.losses)
    assert np.all(steps <= 1e-12 * res.losses[:-1]), f"largest increase {steps.max():.3g}"
    assert res.losses[-1] < 0.2 * res.losses[0]


@pytest.mark.parametrize("name", SOLVERS)
def test_loss_never_increases_without_floor(name):
    R, _ = masked_problem(seed=2)
    floor = 1e-300 if name == "HALS" else 0.0
    res = SOLVERS[name](R, n_iter=100, seed=3, floor=floor)
    assert np.all(np.diff(res.losses) <= 1e-12 * res.losses[:-1])


@pytest.mark.parametrize("name", SOLVERS)
def test_factors_stay_nonnegative_and_above_floor(name):
    R, _ = masked_problem(seed=4)
    res = SOLVERS[name](R, n_iter=50, seed=5, floor=1e-9)
    assert res.W.min() >= 1e-9 and res.H.min() >= 1e-9


@pytest.mark.parametrize("name", SOLVERS)
def test_dense_and_sparse_paths_agree(name, monkeypatch):
    R, _ = masked_problem(seed=6)
    W0, H0 = nmf_init(R, 4, seed=7)
    a = SOLVERS[name](R, n_iter=20, W0=W0, H0=H0)
    monkeypatch.setattr(blas, "DENSE_LIMIT", 0)
    b = SOLVERS[name](R, n_iter=20, W0=W0, H0=H0)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-9)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-9)


@pytest.mark.parametrize("name", SOLVERS)
def test_recovers_exact_nonnegative_low_rank_matrix(name):
    rng = np.random.default_rng(8)
    X = rng.random((25, 3)) @ rng.random((3, 15)) + 0.1
    R = Ratings.from_dense(X, rng.random(X.shape) < 0.8)
    # A rank-4 NMF fits the rank-3 + constant matrix exactly. HALS gets there quickly,
    # the multiplicative updates only slowly (their known weakness).
    res = SOLVERS[name](R, n_iter=3000, seed=9)
    tol = 1e-7 if name == "HALS" else 2e-4
    assert res.train_mse[-1] < tol * np.mean(X**2)


def test_kl_update_is_fixed_point_at_exact_fit():
    rng = np.random.default_rng(10)
    W, H = rng.random((6, 2)) + 0.1, rng.random((4, 2)) + 0.1
    R = Ratings.from_dense(W @ H.T)
    res = nmf_mu(R, 2, loss="kl", n_iter=3, W0=W, H0=H)
    np.testing.assert_allclose(res.W, W, rtol=1e-12)
    assert masked_kl(R, W, H) == pytest.approx(0.0, abs=1e-12)
    assert masked_frobenius(R, W, H) == pytest.approx(0.0, abs=1e-20)


def test_records_validation_mse():
    d = sales_matrix(n_products=40, n_stores=15, seed=0)
    res = nmf_hals(d.observed, 3, n_iter=5, seed=0, val=d.hidden())
    W, H = res.W, res.H
    V = d.hidden()
    assert res.val_mse[-1] == pytest.approx(masked_frobenius(V, W, H) / V.nnz, rel=1e-12)
    assert res.times.shape == res.losses.shape == (6,) and np.all(np.diff(res.times) >= 0)


def test_init_has_the_data_scale():
    R, _ = masked_problem(seed=11, m=300, n=200)
    W, H = nmf_init(R, 5, seed=0)
    assert np.mean(W @ H.T) == pytest.approx(R.mean(), rel=0.1)


def test_bad_input_messages():
    R, _ = masked_problem()
    with pytest.raises(ValueError, match="non-negative"):
        nmf_mu(Ratings(np.array([0, 1]), np.array([0, 1]), np.array([1.0, -1.0]), (2, 2)), 1)
    with pytest.raises(ValueError, match="row 2 has none"):
        nmf_hals(Ratings(np.array([0, 1]), np.array([0, 1]), np.array([1.0, 1.0]), (3, 2)), 1)
    with pytest.raises(ValueError, match="loss must be"):
        nmf_mu(R, 2, loss="l1")
    with pytest.raises(ValueError, match="W0 must have shape"):
        nmf_mu(R, 2, W0=np.ones((3, 2)), H0=np.ones((20, 2)))
    with pytest.raises(ValueError, match="floor must be > 0"):
        nmf_hals(R, 2, floor=0.0)
    with pytest.raises(ValueError, match="rank"):
        nmf_hals(R, 0)
