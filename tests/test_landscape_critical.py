"""Critical points, restrictions, symmetry tools and escape times (mfbook.landscape)."""

import itertools
from math import comb

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.optimize import approx_fprime

from mfbook.core import GradientDescent, MFObjective, Ratings
from mfbook.landscape import (balance_factors, escape_time, find_critical_points, orbit_dimension,
                              product_invariant, restrict_to_coordinates, svd_critical_points,
                              symmetry_tangents)

R22 = np.array([[3.0, 1.0], [1.0, 3.0]])


class Analytic:
    """A 2D test function with its gradient and Hessian written out."""

    def __init__(self, f, g, h):
        self.f, self.g, self.h = f, g, h

    def __call__(self, x):
        return float(self.f(x)), np.asarray(self.g(x), dtype=float)

    def hessian(self, x):
        return np.asarray(self.h(x), dtype=float)


def himmelblau():
    f = lambda p: (p[0] ** 2 + p[1] - 11) ** 2 + (p[0] + p[1] ** 2 - 7) ** 2
    g = lambda p: [4 * p[0] * (p[0] ** 2 + p[1] - 11) + 2 * (p[0] + p[1] ** 2 - 7),
                   2 * (p[0] ** 2 + p[1] - 11) + 4 * p[1] * (p[0] + p[1] ** 2 - 7)]
    h = lambda p: [[12 * p[0] ** 2 + 4 * p[1] - 42, 4 * (p[0] + p[1])],
                   [4 * (p[0] + p[1]), 4 * p[0] + 12 * p[1] ** 2 - 26]]
    return Analytic(f, g, h)


def grid_starts(lo, hi, n):
    a = np.linspace(lo, hi, n)
    return np.array(list(itertools.product(a, a)))


# ------------------------------------------------------------------ find_critical_points
def test_himmelblau_has_four_minima_four_saddles_one_maximum():
    fun = himmelblau()
    res = find_critical_points(fun, fun.hessian, grid_starts(-5, 5, 15))
    kinds = sorted(p.kind for p in res.points)
    assert kinds == ["maximum"] + ["minimum"] * 4 + ["strict saddle"] * 4
    minima = [p for p in res.points if p.kind == "minimum"]
    assert all(abs(p.loss) < 1e-12 for p in minima)
    assert any(np.allclose(p.x, [3.0, 2.0], atol=1e-8) for p in minima)
    (peak,) = [p for p in res.points if p.kind == "maximum"]
    assert np.allclose(peak.x, [-0.270845, -0.923039], atol=1e-5)
    assert peak.loss == pytest.approx(181.617, abs=1e-3)
    # Sorted by loss, labels consistent with members
    assert [p.loss for p in res.points] == sorted(p.loss for p in res.points)
    assert sum(p.count for p in res.points) + res.n_failed == res.n_starts
    for i, p in enumerate(res.points):
        assert np.sum(res.labels == i) == p.count


def test_double_well_and_cubic():
    fun = Analytic(lambda p: (p[0] ** 2 - 1) ** 2 + p[1] ** 2,
                   lambda p: [4 * p[0] * (p[0] ** 2 - 1), 2 * p[1]],
                   lambda p: [[12 * p[0] ** 2 - 4, 0], [0, 2]])
    res = find_critical_points(fun, fun.hessian, grid_starts(-2, 2, 7))
    assert [(round(p.x[0], 8) + 0.0, p.kind) for p in sorted(res.points, key=lambda p: p.x[0])] \
        == [(-1.0, "minimum"), (0.0, "strict saddle"), (1.0, "minimum")]
    assert np.allclose(res.points[-1].eigenvalues, [-4.0, 2.0])
    # A degenerate critical point: f = x^2 + y^4 has a zero eigenvalue at its minimum.
    fun = Analytic(lambda p: p[0] ** 2 + p[1] ** 4, lambda p: [2 * p[0], 4 * p[1] ** 3],
                   lambda p: [[2, 0], [0, 12 * p[1] ** 2]])
    res = find_critical_points(fun, fun.hessian, np.array([[0.0, 0.0], [0.3, -0.2]]),
                               gtol=1e-6, dedup_tol=1e-1)
    assert res.points[0].kind == "degenerate"


def test_function_without_roots_reports_failures():
    # grad f = (1 + x^2, y) never vanishes
    fun = Analytic(lambda p: p[0] + p[0] ** 3 / 3 + p[1] ** 2 / 2,
                   lambda p: [1 + p[0] ** 2, p[1]], lambda p: [[2 * p[0], 0], [0, 1]])
    res = find_critical_points(fun, fun.hessian, grid_starts(-1, 1, 3))
    assert res.points == [] and res.n_failed == 9 and np.all(res.labels == -1)
    assert res.failed_points.shape == (9, 2)


def test_scale_symmetry_needs_invariant_grouping():
    # L(u, v) = (1 - u v)^2: the minimizers are the hyperbola u v = 1, one orbit per sign
    # of u, and the same product: one family.  Raw coordinates split it into many points.
    f = MFObjective(Ratings.from_dense(np.array([[1.0]])), rank=1)
    starts = np.random.default_rng(0).normal(0, 1.5, (40, 2))
    raw = find_critical_points(f, f.hessian, starts)
    grouped = find_critical_points(f, f.hessian, starts, invariant=product_invariant(f),
                                   symmetry_dim=lambda th: orbit_dimension(f, th))
    assert len(raw.points) > 5
    assert len(grouped.points) == 2
    minimum, origin = grouped.points
    assert minimum.kind == "minimum" and minimum.symmetry_dim == 1 and minimum.loss < 1e-20
    assert np.prod(minimum.members, axis=1) == pytest.approx(1.0)
    assert len(np.unique(np.round(minimum.members[:, 0], 3))) > 5    # many scales a
    assert origin.kind == "strict saddle" and origin.symmetry_dim == 0
    assert np.allclose(origin.eigenvalues, [-2.0, 2.0])
    # Without the symmetry count the zero eigenvalue makes the minimum "degenerate".
    plain = find_critical_points(f, f.hessian, starts, invariant=product_invariant(f))
    assert plain.points[0].kind == "degenerate"


def test_rank1_2x2_finds_exactly_the_svd_families():
    f = MFObjective(Ratings.from_dense(R22), rank=1)
    starts = np.random.default_rng(1).normal(0, 1.0, (60, 4))
    res = find_critical_points(f, f.hessian, starts, invariant=product_invariant(f),
                               canonicalize=lambda th: balance_factors(f, th),
                               symmetry_dim=lambda th: orbit_dimension(f, th))
    closed = svd_critical_points(f)
    assert len(res.points) == len(closed) == 3
    key = product_invariant(f)
    for p, c in zip(res.points, closed):
        assert p.loss == pytest.approx(c.loss, abs=1e-9)
        assert np.allclose(key(p.x), key(c.theta), atol=1e-8)
    assert [p.kind for p in res.points] == ["minimum", "strict saddle", "strict saddle"]
    # Balanced representatives: eigenvalues 2(s1 -+ s2), 4 s, 0 (derived in chapter 1)
    assert np.allclose(res.points[0].eigenvalues, [0, 4, 12, 16], atol=1e-8)
    assert np.allclose(res.points[1].eigenvalues, [-4, 0, 8, 12], atol=1e-8)
    assert np.allclose(res.points[2].eigenvalues, [-8, -4, 4, 8], atol=1e-8)


def test_find_critical_points_validation():
    fun = himmelblau()
    with pytest.raises(ValueError, match="starts must have shape"):
        find_critical_points(fun, fun.hessian, np.zeros(2))
    with pytest.raises(ValueError, match="starts must be finite"):
        find_critical_points(fun, fun.hessian, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="gtol"):
        find_critical_points(fun, fun.hessian, np.zeros((1, 2)), gtol=0)
    with pytest.raises(ValueError, match="max_nfev"):
        find_critical_points(fun, fun.hessian, np.zeros((1, 2)), max_nfev=0)
    with pytest.raises(ValueError, match="canonicalize must return shape"):
        find_critical_points(fun, fun.hessian, np.array([[3.1, 2.1]]),
                             canonicalize=lambda x: np.zeros(3))


# ------------------------------------------------------------------ restriction
def test_restriction_matches_full_objective_and_finite_differences():
    f = MFObjective(Ratings.from_dense(R22), rank=1)
    s = restrict_to_coordinates(f, np.array([9.0, 1.0, 9.0, 1.0]), [0, 2])
    x = np.array([0.7, -1.3])
    theta = np.array([0.7, 1.0, -1.3, 1.0])
    assert s.loss(x) == f.loss(theta)
    # the seed's slice: (3 - u1 v1)^2 + (1 - u1)^2 + (1 - v1)^2 + 4
    assert s.loss(x) == pytest.approx((3 - x[0] * x[1]) ** 2 + (1 - x[0]) ** 2 + (1 - x[1]) ** 2 + 4)
    batch = np.array([x, -x, 2 * x])
    assert np.allclose(s.loss(batch), [s.loss(b) for b in batch])
    g = approx_fprime(x, s.loss, 1e-7)
    assert np.allclose(s.grad(x), g, atol=1e-5)
    Hfd = np.array([approx_fprime(x, lambda y, i=i: s.grad(y)[i], 1e-7) for i in range(2)])
    assert np.allclose(s.hessian(x), Hfd, atol=1e-5)
    assert s.loss(np.zeros(2)) == 15.0 and repr(s).startswith("Restriction")


def test_restriction_validation():
    f = MFObjective(Ratings.from_dense(R22), rank=1)
    with pytest.raises(ValueError, match="base must have shape"):
        restrict_to_coordinates(f, np.zeros(3), [0])
    with pytest.raises(ValueError, match="free must be a non-empty"):
        restrict_to_coordinates(f, np.zeros(4), [])
    with pytest.raises(ValueError, match="distinct indices"):
        restrict_to_coordinates(f, np.zeros(4), [0, 0])
    with pytest.raises(ValueError, match="distinct indices"):
        restrict_to_coordinates(f, np.zeros(4), [4])
    s = restrict_to_coordinates(f, np.zeros(4), [1, 3])
    with pytest.raises(ValueError, match="x must have shape"):
        s.loss(np.zeros(3))


# ------------------------------------------------------------------ SVD closed form
@pytest.mark.parametrize("k, reg, mean", [(1, 0.0, False), (2, 0.0, False), (2, 0.4, False),
                                          (3, 0.01, True), (2, 0.0, True)])
def test_svd_critical_points_are_critical_and_complete_in_number(k, reg, mean):
    R = np.random.default_rng(3).normal(size=(5, 4))
    f = MFObjective(Ratings.from_dense(R), rank=k, reg=reg, mean=mean)
    sig = np.linalg.svd(R, compute_uv=False)
    lam = reg * (R.size if mean else 1)
    r = int(np.sum(sig > lam))
    pts = svd_critical_points(f)
    assert len(pts) == sum(comb(r, j) for j in range(min(k, r) + 1))
    for c in pts:
        assert np.linalg.norm(f.grad(c.theta)) < 1e-10 * (1 + np.linalg.norm(R))
        U, V = f.unpack(c.theta)[:2]
        assert np.allclose(U.T @ U, V.T @ V)            # balanced
        if reg == 0:
            scale = 1 / R.size if mean else 1.0
            assert c.loss == pytest.approx(scale * (np.sum(sig**2) - np.sum(sig[list(c.subset)] ** 2)))
    assert [c.loss for c in pts] == sorted(c.loss for c in pts)
    assert pts[0].subset == tuple(range(min(k, r)))   # Eckart-Young: top singular values


def test_svd_critical_points_validation():
    R = np.array([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(ValueError, match="fully observed"):
        svd_critical_points(MFObjective(Ratings.from_dense(R), 1))
    with pytest.raises(ValueError, match="plain model"):
        svd_critical_points(MFObjective(Ratings.from_dense(R22), 1, biased=True))
    with pytest.raises(ValueError, match="MFObjective"):
        svd_critical_points("R")


# ------------------------------------------------------------------ symmetry
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_symmetry_tangents_are_flat_directions(reg):
    R = np.random.default_rng(4).normal(size=(4, 3))
    f = MFObjective(Ratings.from_dense(R), rank=2, reg=reg)
    theta = f.random_params(1.0, seed=5)
    T = symmetry_tangents(f, theta)
    assert T.shape == (f.dim, 4 if reg == 0 else 1)
    U, V = f.unpack(theta)[:2]
    rng = np.random.default_rng(6)
    A = rng.normal(size=(2, 2)) if reg == 0 else np.array([[0.0, 0.7], [-0.7, 0.0]])
    for t in (0.3, -0.8):
        moved = f.pack(U @ expm(t * A), V @ expm(-t * A.T))
        assert f.loss(moved) == pytest.approx(f.loss(theta), rel=1e-12)
    # At a critical point, the Hessian annihilates every tangent.
    for c in svd_critical_points(f):
        H = f.hessian(c.theta)
        assert np.allclose(H @ symmetry_tangents(f, c.theta), 0, atol=1e-9)


def test_orbit_dimension():
    f1 = MFObjective(Ratings.from_dense(R22), rank=1)
    assert orbit_dimension(f1, np.zeros(4)) == 0
    assert orbit_dimension(f1, np.array([1.0, 2.0, 0.5, 0.0])) == 1
    f2 = MFObjective(Ratings.from_dense(np.random.default_rng(0).normal(size=(4, 3))), rank=2)
    assert orbit_dimension(f2, f2.random_params(1.0, seed=0)) == 4
    f2r = MFObjective(f2.ratings, rank=2, reg=0.1)
    assert orbit_dimension(f2r, f2r.random_params(1.0, seed=0)) == 1
    assert orbit_dimension(MFObjective(f2.ratings, rank=1, reg=0.1), np.ones(7)) == 0


def test_balance_factors():
    f = MFObjective(Ratings.from_dense(np.random.default_rng(1).normal(size=(5, 3))), rank=2)
    theta = f.random_params(1.0, seed=2)
    U, V = f.unpack(theta)[:2]
    A = np.array([[3.0, 1.0], [0.0, 0.2]])
    unbalanced = f.pack(U @ A, V @ np.linalg.inv(A).T)
    b = balance_factors(f, unbalanced)
    Ub, Vb = f.unpack(b)[:2]
    assert np.allclose(Ub @ Vb.T, U @ V.T)
    assert np.allclose(Ub.T @ Ub, Vb.T @ Vb)
    assert np.sum(b**2) <= np.sum(unbalanced**2) and np.sum(b**2) <= np.sum(theta**2)
    # k = 1: (a u, v / a) with a = sqrt(|v| / |u|), up to sign
    g = MFObjective(Ratings.from_dense(R22), rank=1)
    th = np.array([4.0, 0.0, 0.25, 0.25])
    bb = balance_factors(g, th)
    assert np.linalg.norm(bb[:2]) == pytest.approx(np.linalg.norm(bb[2:]))
    assert np.allclose(np.outer(bb[:2], bb[2:]), np.outer(th[:2], th[2:]))
    assert np.array_equal(balance_factors(g, np.zeros(4)), np.zeros(4))


# ------------------------------------------------------------------ escape time
def test_escape_time_quadratic_exact():
    # GD on f = x^2: x_t = (1 - 2 eta)^t x0, f_t = (1 - 2 eta)^(2t) x0^2
    fun = lambda x: (float(x @ x), 2 * x)
    eta, level = 0.1, 1e-4
    t = escape_time(fun, np.array([1.0]), GradientDescent(eta), level, 1000)
    expected = int(np.ceil(np.log(level) / (2 * np.log(1 - 2 * eta))))
    assert t == expected
    assert escape_time(fun, np.array([1.0]), GradientDescent(eta), 2.0, 10) == 0
    assert escape_time(fun, np.array([1.0]), GradientDescent(eta), level, 5) is None


def test_escape_time_grows_like_log_of_distance_to_stable_manifold():
    # f = x^2/2 - y^2/2 + y^4/4, saddle at 0 (f = 0), minima at y = +-1 (f = -1/4);
    # stable manifold y = 0; GD multiplies y by (1 + eta) near the saddle.
    fun = lambda p: (0.5 * p[0] ** 2 - 0.5 * p[1] ** 2 + 0.25 * p[1] ** 4,
                     np.array([p[0], -p[1] + p[1] ** 3]))
    eta = 0.1
    deltas = 10.0 ** -np.arange(2, 11)
    times = np.array([escape_time(fun, np.array([1.0, d]), GradientDescent(eta), -0.2, 10_000)
                      for d in deltas])
    assert np.all(np.diff(times) > 0)
    slope = np.polyfit(np.log(1 / deltas), times, 1)[0]
    assert slope == pytest.approx(1 / np.log(1 + eta), rel=0.02)
    # exactly on the stable manifold GD converges to the saddle and never escapes
    assert escape_time(fun, np.array([1.0, 0.0]), GradientDescent(eta), -0.2, 2000) is None


def test_escape_time_validation():
    fun = lambda x: (float(x @ x), 2 * x)
    with pytest.raises(ValueError, match="level"):
        escape_time(fun, np.ones(1), GradientDescent(0.1), np.nan, 10)
    with pytest.raises(ValueError, match="max_steps"):
        escape_time(fun, np.ones(1), GradientDescent(0.1), 0.1, -1)
