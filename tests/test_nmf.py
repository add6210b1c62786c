import numpy as np
import pytest

import mfbook.nmf._dense as blas
from scipy.optimize import nnls

from mfbook.core import DivergenceError, Ratings
from mfbook.datasets import sales_matrix
from mfbook.nmf import masked_frobenius, masked_kl, nmf_anls, nmf_hals, nmf_init, nmf_mu


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
# ANLS takes no floor (exact zeros are allowed); tol=0 runs the whole budget.
ALL = {**SOLVERS, "ANLS": lambda R, floor=None, **kw: nmf_anls(R, 4, tol=0.0, **kw)}


@pytest.fixture(params=[True, False], ids=["dense", "sparse"])
def path(request, monkeypatch):
    monkeypatch.setattr(blas, "DENSE_LIMIT", 1 << 22 if request.param else 0)
    return request.param


@pytest.mark.parametrize("name", ALL)
def test_loss_never_increases_with_mask(name, path):
    R, _ = masked_problem()
    res = ALL[name](R, n_iter=150, seed=1)
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


@pytest.mark.parametrize("name", ALL)
def test_dense_and_sparse_paths_agree(name, monkeypatch):
    R, _ = masked_problem(seed=6)
    W0, H0 = nmf_init(R, 4, seed=7)
    a = ALL[name](R, n_iter=20, W0=W0, H0=H0)
    monkeypatch.setattr(blas, "DENSE_LIMIT", 0)
    b = ALL[name](R, n_iter=20, W0=W0, H0=H0)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-9)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_recovers_exact_nonnegative_low_rank_matrix(name):
    rng = np.random.default_rng(8)
    X = rng.random((25, 3)) @ rng.random((3, 15)) + 0.1
    R = Ratings.from_dense(X, rng.random(X.shape) < 0.8)
    # A rank-4 NMF fits the rank-3 + constant matrix exactly. HALS and ANLS get there
    # quickly, the multiplicative updates only slowly (their known weakness).
    res = ALL[name](R, n_iter=3000, seed=9)
    tol = 1e-7 if name in ("HALS", "ANLS") else 2e-4
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


def test_anls_half_step_is_the_exact_nnls_solution():
    """After an iteration, each row of H solves its NNLS problem (checked against SciPy on
    the raw masked least-squares problem) and satisfies the KKT conditions."""
    R, _ = masked_problem(seed=12)
    res = nmf_anls(R, 4, n_iter=3, tol=0.0, seed=13)
    W, H = res.W, res.H
    assert np.any(H == 0.0), "this problem should have active constraints"
    for j in range(R.shape[1]):
        obs = R.cols == j
        A, b = W[R.rows[obs]], R.values[obs]
        np.testing.assert_allclose(H[j], nnls(A, b)[0], atol=1e-8)
        grad = A.T @ (A @ H[j] - b)
        assert np.all(grad[H[j] == 0] >= -1e-8) and np.allclose(grad[H[j] > 0], 0, atol=1e-7)


def test_anls_stops_when_converged():
    R, _ = masked_problem(seed=14)
    res = nmf_anls(R, 3, n_iter=5000, tol=1e-8, seed=15)
    assert res.converged and res.n_iter < 5000
    assert res.losses[-2] - res.losses[-1] <= 1e-8 * res.losses[-2]
    full = nmf_anls(R, 3, n_iter=res.n_iter, tol=0.0, seed=15)
    assert not full.converged and full.losses[-1] == pytest.approx(res.losses[-1], rel=1e-12)


def test_zero_filling_biases_the_completion_towards_zero():
    """scikit-learn's NMF sees the hidden entries as observed zeros: its predictions there
    are far too small (E[M o X] = p X), while the masked ANLS completes the matrix."""
    from sklearn.decomposition import NMF

    d = sales_matrix(n_products=150, n_stores=30, rank=4, seed=0)
    R, V = d.observed, d.hidden()
    masked = nmf_anls(R, 4, n_iter=300, seed=0, val=V)
    est = NMF(n_components=4, init="nndsvda", max_iter=1000, tol=1e-8, random_state=0)
    P = est.fit_transform(R.to_dense(fill=0.0)) @ est.components_
    zero_filled = np.mean((P[V.rows, V.cols] - V.values) ** 2)
    assert zero_filled > 100 * masked.val_mse[-1]
    assert np.median(P[V.rows, V.cols] / V.values) < 0.6


def test_bad_types_and_values_name_the_argument():
    R, _ = masked_problem()
    with pytest.raises(TypeError, match="ratings must be a mfbook.core.Ratings"):
        nmf_anls(np.ones((3, 3)), 2)
    with pytest.raises(TypeError, match="rank must be an integer"):
        nmf_mu(R, 2.0)
    with pytest.raises(TypeError, match="n_iter must be an integer"):
        nmf_hals(R, 2, n_iter=10.0)
    with pytest.raises(ValueError, match="n_iter must be an integer in"):
        nmf_anls(R, 2, n_iter=-1)
    with pytest.raises(ValueError, match="tol must be a finite number >= 0"):
        nmf_anls(R, 2, tol=-1.0)
    with pytest.raises(TypeError, match="tol must be a real number"):
        nmf_mu(R, 2, tol="small")
    with pytest.raises(ValueError, match="floor must be a finite number"):
        nmf_mu(R, 2, floor=np.nan)
    with pytest.raises(TypeError, match="val must be a mfbook.core.Ratings"):
        nmf_hals(R, 2, val=np.ones((30, 20)))
    with pytest.raises(ValueError, match="val must have shape"):
        nmf_hals(R, 2, val=Ratings(np.array([0]), np.array([0]), np.array([1.0]), (2, 2)))
    with pytest.raises(ValueError, match="W0 must be finite"):
        nmf_anls(R, 2, W0=np.full((30, 2), np.nan), H0=np.ones((20, 2)))
    with pytest.raises(ValueError, match="H0 must have shape"):
        nmf_mu(R, 2, W0=np.ones((30, 2)), H0=np.ones((2, 20)))


def test_non_finite_loss_raises_divergence_error():
    """A zero factor with floor 0 makes the KL loss infinite: DivergenceError, never a
    silent run of NaNs."""
    R, _ = masked_problem(seed=16)
    with pytest.raises(DivergenceError, match="MU-kl.*not finite"):
        nmf_mu(R, 2, loss="kl", W0=np.zeros((30, 2)), H0=np.ones((20, 2)), floor=0.0)
    W0 = np.ones((30, 2))
    W0[:, 1] = 0.0           # a dead column: the Frobenius MU update divides 0 by 0
    H0 = np.ones((20, 2))
    H0[:, 1] = 0.0
    with pytest.raises(DivergenceError, match="MU-frobenius diverged at step 1"):
        nmf_mu(R, 2, W0=W0, H0=H0, floor=0.0)


def test_chapter5_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mfbook.core import Adam
    from mfbook.nmf import ExpMF, fit_keras_like
    from mfbook.plotting import plot_keras_vs_numpy, plot_runs_by_seed, plot_stalled_travel

    rows = [{"method": m, "data_seed": s, "ratio": r} for m, s, r in
            [("ANLS", 0, 1.1), ("ANLS", 1, 0.5), ("HALS", 0, 18.0), ("HALS", 1, 3.0)]]
    fig, ax = plt.subplots()
    plot_runs_by_seed(ax, rows, ["ANLS", "HALS"])
    assert len(ax.get_xticklabels()) == 2 and ax.get_yscale() == "log"
    hist = {"lr": np.full(10, 1e-3), "val_mse": np.linspace(2, 1, 10), "sv2": np.full(10, 1e-4),
            "dist0": np.linspace(0, 1, 10)}
    fig, axes = plt.subplots(1, 2)
    plot_stalled_travel(axes, hist, cut=5, steps_per_epoch=3, reference=0.1)
    assert axes[1].lines[1].get_ydata()[-1] == pytest.approx(10 * 3 * 1e-3)
    d = sales_matrix(n_products=30, n_stores=10, rank=3, seed=0)
    f = ExpMF(d.observed, 2)
    runs = [fit_keras_like(f, f.keras_uniform_init(seed=0), Adam(1e-2), batch_size=50, epochs=4,
                           val=d.hidden(), seed=s) for s in (0, 1)]
    fig, axes = plt.subplots(1, 2)
    plot_keras_vs_numpy(axes, *runs)
    assert len(axes[0].lines) == 4 and axes[1].get_yscale() == "log"
    plt.close("all")
