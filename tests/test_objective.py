import itertools
import tracemalloc

import numpy as np
import pytest

from mfbook.core import MFObjective, Ratings
from mfbook.datasets import streamrec

CONVENTIONS = [
    dict(),
    dict(mean=True),
    dict(half=True, reg=0.3),
    dict(mean=True, half=True, reg=0.1, reg_weighting="count"),
    dict(reg=0.2, biased=True),
    dict(reg=0.2, biased=True, reg_bias=0.05, mean=True, reg_weighting="count"),
    dict(biased=True, mu=0.0, half=True),
]


def problem(seed=0, m=7, n=5, k=3, density=0.6):
    rng = np.random.default_rng(seed)
    mask = rng.random((m, n)) < density
    mask[np.arange(m), rng.integers(0, n, m)] = True  # no empty rows
    return Ratings.from_dense(rng.normal(size=(m, n)), mask), k


def dense_reference_loss(obj: MFObjective, theta: np.ndarray) -> float:
    """The objective computed from dense matrices, independently of the triplet code."""
    f = obj.unpack(theta)
    R = obj.ratings
    mask = R.mask()
    pred = f.U @ f.V.T
    if obj.biased:
        pred = pred + f.mu + f.row_bias[:, None] + f.col_bias[None, :]
    sq = np.where(mask, R.to_dense(fill=0.0) - pred, 0.0) ** 2
    data = sq.sum() / (R.nnz if obj.mean else 1)
    w_r = R.row_counts() if obj.reg_weighting == "count" else np.ones(R.shape[0])
    w_c = R.col_counts() if obj.reg_weighting == "count" else np.ones(R.shape[1])
    pen = obj.reg * (w_r @ (f.U**2).sum(1) + w_c @ (f.V**2).sum(1))
    if obj.biased:
        pen += obj.reg_bias * (w_r @ f.row_bias**2 + w_c @ f.col_bias**2)
    return (0.5 if obj.half else 1.0) * (data + pen)


def central_gradient(fun, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("dense", [False, True], ids=["triplets", "dense"])
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_loss_matches_dense_reference(conv, dense):
    R, k = problem()
    obj = MFObjective(R, k, **conv, dense=dense)
    theta = obj.random_params(std=0.7, seed=1)
    if obj.biased:
        theta[-(R.shape[0] + R.shape[1]):] = np.random.default_rng(2).normal(size=R.shape[0] + R.shape[1])
    assert obj.loss(theta) == pytest.approx(dense_reference_loss(obj, theta), rel=1e-12)


@pytest.mark.parametrize("dense", [False, True], ids=["triplets", "dense"])
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_gradient_matches_finite_differences(conv, dense):
    R, k = problem(seed=3)
    obj = MFObjective(R, k, **conv, dense=dense)
    theta = np.random.default_rng(4).normal(size=obj.dim)
    loss, grad = obj.loss_grad(theta)
    assert loss == pytest.approx(obj.loss(theta), rel=1e-14)
    fd = central_gradient(obj.loss, theta)
    assert np.allclose(grad, fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dense", [False, True], ids=["triplets", "dense"])
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_hessian_matches_finite_differences_of_gradient(conv, dense):
    R, k = problem(seed=5, m=5, n=4, k=2)
    obj = MFObjective(R, k, **conv, dense=dense)
    theta = np.random.default_rng(6).normal(size=obj.dim)
    H = obj.hessian(theta)
    assert np.allclose(H, H.T, atol=1e-13)
    h = 1e-6
    fd = np.column_stack([
        (obj.grad(theta + h * e) - obj.grad(theta - h * e)) / (2 * h) for e in np.eye(obj.dim)
    ])
    assert np.allclose(H, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dense", [False, True], ids=["triplets", "dense"])
@pytest.mark.parametrize("conv", CONVENTIONS)
def test_hvp_matches_hessian_and_finite_differences(conv, dense):
    R, k = problem(seed=7)
    obj = MFObjective(R, k, **conv, dense=dense)
    rng = np.random.default_rng(8)
    theta = rng.normal(size=obj.dim)
    for _ in range(3):
        d = rng.normal(size=obj.dim)
        hv = obj.hvp(theta, d)
        assert np.allclose(hv, obj.hessian(theta) @ d, rtol=1e-10, atol=1e-10)
        h = 1e-6
        fd = (obj.grad(theta + h * d) - obj.grad(theta - h * d)) / (2 * h)
        assert np.allclose(hv, fd, rtol=1e-5, atol=1e-6)


def test_hessian_is_not_just_gauss_newton():
    # With large residuals the bilinear term matters: a check that ignored it would fail here.
    R = Ratings.from_dense(np.array([[3.0, 1.0], [1.0, 3.0]]))
    obj = MFObjective(R, 1)
    H0 = obj.hessian(np.zeros(obj.dim))
    # At the origin J = 0, so the whole Hessian is the residual term -2 e_ij on (u_i, v_j).
    expected = np.zeros((4, 4))
    expected[:2, 2:] = -2 * np.array([[3.0, 1.0], [1.0, 3.0]])
    expected[2:, :2] = expected[:2, 2:].T
    assert np.array_equal(H0, expected)
    assert np.allclose(np.linalg.eigvalsh(H0), [-8, -4, 4, 8])


def test_batched_loss_equals_loop():
    R, k = problem(seed=9)
    obj = MFObjective(R, k, reg=0.1, biased=True)
    thetas = np.random.default_rng(10).normal(size=(6, obj.dim))
    batched = obj.loss(thetas)
    assert batched.shape == (6,)
    assert np.allclose(batched, [obj.loss(t) for t in thetas], rtol=1e-13)


def test_pack_unpack_round_trip_and_layout():
    R, k = problem()
    obj = MFObjective(R, k, biased=True)
    m, n = R.shape
    rng = np.random.default_rng(0)
    U, V, b, c = rng.normal(size=(m, k)), rng.normal(size=(n, k)), rng.normal(size=m), rng.normal(size=n)
    theta = obj.pack(U, V, b, c)
    assert theta.shape == (obj.dim,) and obj.dim == (m + n) * k + m + n
    assert np.array_equal(theta[: m * k].reshape(m, k), U)
    f = obj.unpack(theta)
    for got, want in zip(f[:4], (U, V, b, c)):
        assert np.array_equal(got, want)
    assert f.mu == pytest.approx(R.mean())


def _peak_bytes(fn):
    """Peak memory allocated while ``fn()`` runs, as tracemalloc sees it (NumPy reports its
    array buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_dense_size():
    # 1000 observed entries of a 3000 x 3000 matrix: one dense m x n work array is 72 MB,
    # while everything the triplet path needs is O(|Omega| k + (m + n) k), a few hundred kB.
    m = n = 3000
    rng = np.random.default_rng(0)
    lin = rng.choice(m * n, 1000, replace=False)
    R = Ratings(lin // n, lin % n, rng.normal(size=1000), (m, n))
    dense_bytes = 8 * m * n

    def run(**kw):
        obj = MFObjective(R, 2, reg=0.1, biased=True, **kw)
        theta = obj.random_params(0.1, seed=1)
        loss, grad = obj.loss_grad(theta)
        assert np.isfinite(loss) and obj.hvp(theta, grad).shape == (obj.dim,)

    assert _peak_bytes(run) < dense_bytes / 50
    # The measurement does see an m x n buffer: forcing the dense path exceeds it.
    assert _peak_bytes(lambda: run(dense=True)) > dense_bytes


def test_dense_path_is_chosen_by_density_and_agrees_with_triplets():
    sparse_problem = streamrec(n_users=200, n_items=100, obs_rate=0.03, seed=0).observed
    dense_problem = streamrec(n_users=200, n_items=100, obs_rate=0.2, seed=0).observed
    assert not MFObjective(sparse_problem, 3).dense
    assert MFObjective(dense_problem, 3).dense
    for conv in CONVENTIONS:
        objs = [MFObjective(dense_problem, 3, **conv, dense=flag) for flag in (False, True)]
        rng = np.random.default_rng(1)
        theta, direction = rng.normal(size=(2, objs[0].dim))
        (l0, g0), (l1, g1) = (o.loss_grad(theta) for o in objs)
        assert l1 == pytest.approx(l0, rel=1e-12)
        assert np.allclose(g1, g0, rtol=1e-12, atol=1e-12)
        assert np.allclose(objs[1].hvp(theta, direction), objs[0].hvp(theta, direction),
                           rtol=1e-12, atol=1e-12)
        # A second call reuses the work arrays: it must not see the first call's values.
        assert objs[1].loss_grad(2 * theta)[0] == pytest.approx(objs[0].loss(2 * theta), rel=1e-12)


def test_tiny_problems_keep_exact_symmetry_under_gradient_descent():
    # Chapter 1 relies on it: from u = v on a symmetric target, u = v holds bit for bit.
    obj = MFObjective(Ratings.from_dense(np.array([[1.0, 2.0], [2.0, -2.0]])), 1)
    assert not obj.dense
    theta = np.r_[0.03, -0.07, 0.03, -0.07]
    for _ in range(2000):
        theta = theta - 0.02 * obj.grad(theta)
    assert np.array_equal(theta[:2], theta[2:])


def test_count_weighting_matches_per_rating_penalty():
    R, k = problem(seed=11)
    obj = MFObjective(R, k, reg=0.4, reg_weighting="count")
    theta = np.random.default_rng(12).normal(size=obj.dim)
    U, V = obj.unpack(theta)[:2]
    e = obj.residuals(theta)
    per_rating = np.sum(e**2 + 0.4 * (np.sum(U[R.rows] ** 2, 1) + np.sum(V[R.cols] ** 2, 1)))
    assert obj.loss(theta) == pytest.approx(per_rating, rel=1e-12)


def test_random_params_layout_matches_a_flat_draw():
    data = streamrec(n_users=20, n_items=10, seed=0)
    obj = MFObjective(data.observed, 4)
    theta = obj.random_params(std=0.01, seed=np.random.default_rng(0))
    assert np.array_equal(theta, np.random.default_rng(0).normal(0, 0.01, 30 * 4))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rank=0), "rank"),
        (dict(rank=1.5), "rank"),
        (dict(rank=True), "rank"),
        (dict(rank=2, reg=-1.0), "reg"),
        (dict(rank=2, reg=np.nan), "reg"),
        (dict(rank=2, reg_bias=-0.1, biased=True), "reg_bias"),
        (dict(rank=2, reg_weighting="rows"), "reg_weighting"),
        (dict(rank=2, mu=3.0), "mu"),
        (dict(rank=2, dense="yes"), "dense"),
    ],
)
def test_constructor_validation(kwargs, message):
    R, _ = problem()
    with pytest.raises((ValueError, TypeError), match=message):
        MFObjective(R, **kwargs)


def test_ratings_type_is_checked():
    with pytest.raises(TypeError, match="Ratings"):
        MFObjective(np.ones((3, 3)), 1)


def test_parameter_shape_errors_name_the_argument():
    R, k = problem()
    obj = MFObjective(R, k)
    with pytest.raises(ValueError, match=r"theta must have shape \(36,\)"):
        obj.loss_grad(np.zeros(35))
    with pytest.raises(ValueError, match="direction must have shape"):
        obj.hvp(np.zeros(obj.dim), np.zeros(3))
    with pytest.raises(ValueError, match="U must have shape"):
        obj.pack(np.zeros((3, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="biases given to a plain model"):
        obj.pack(np.zeros((7, 3)), np.zeros((5, 3)), row_bias=np.zeros(7))
    with pytest.raises(ValueError, match="exceeds max_dim"):
        obj.hessian(np.zeros(obj.dim), max_dim=10)
    with pytest.raises(ValueError, match="out of range"):
        obj.predict(np.zeros(obj.dim), [7], [0])


def test_gradient_vanishes_at_exact_factorization():
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(6, 2)), rng.normal(size=(4, 2))
    R = Ratings.from_dense(U @ V.T)
    for mean, half in itertools.product([False, True], repeat=2):
        obj = MFObjective(R, 2, mean=mean, half=half)
        theta = obj.pack(U, V)
        loss, grad = obj.loss_grad(theta)
        assert loss < 1e-25 and np.linalg.norm(grad) < 1e-12
