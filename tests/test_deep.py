"""Regularized deep matrix factorization (mfbook.deep): derivatives, closed-form critical
points, their classification against numerical Hessians, depth 2 vs the convex problem."""

import itertools

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.optimize import brentq

from mfbook.core import MFObjective, Ratings
from mfbook.deep import (DEEP_KINDS, HESSIAN_KIND, DeepMF, batched_gradient_descent, classify,
                         count_critical_points, critical_point, depth_penalty,
                         enumerate_critical_points, global_minimum, hessian_check,
                         nearest_critical_point, normal_curvature, pair_direction,
                         reduced_derivative, reduced_loss, reduced_roots,
                         reduced_second_derivative, rotate_pair, scaling_direction,
                         soft_threshold_singular_values, target_with_singular_values, thresholds)
from mfbook.landscape import find_critical_points


def random_model(seed, depth, reg=None, shape=None, hidden=None, scale=2.5):
    rng = np.random.default_rng(seed)
    m, n = shape if shape is not None else rng.integers(2, 5, size=2)
    if hidden is None:
        hidden = list(rng.integers(1, 4, size=depth - 1))
    if reg is None:
        reg = rng.uniform(0.1, 1.0, size=depth) if seed % 2 else float(rng.uniform(0.1, 1.0))
    return DeepMF(rng.normal(size=(m, n)) * scale, hidden, reg)


def central_diff(fun, x, eps=1e-6):
    E = np.eye(x.size) * eps
    return np.array([(fun(x + e) - fun(x - e)) / (2 * eps) for e in E])


# ------------------------------------------------------------------ derivatives
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_gradient_matches_finite_differences(depth):
    f = random_model(depth, depth, reg=[0.3, 0.7, 1.1, 0.5][:depth], shape=(4, 3),
                     hidden=[3, 2, 4][:depth - 1])
    theta = f.random_params(0.7, seed=1)
    fd = central_diff(f.loss, theta)
    assert np.allclose(f.grad(theta), fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_hessian_and_hvp_match_finite_differences(depth):
    f = random_model(10 + depth, depth, shape=(3, 4), hidden=[2, 3, 2][:depth - 1])
    theta = f.random_params(0.6, seed=2)
    H = f.hessian(theta)
    fd = central_diff(f.grad, theta)
    assert np.allclose(H, fd, rtol=1e-5, atol=1e-5)
    v = np.random.default_rng(3).normal(size=f.dim)
    assert np.allclose(f.hvp(theta, v), H @ v, rtol=1e-12, atol=1e-10)
    # A batch of directions gives one product each.
    V = np.random.default_rng(4).normal(size=(5, f.dim))
    assert np.allclose(f.hvp(theta, V), V @ H, rtol=1e-12, atol=1e-10)


def test_batched_loss_and_gradient_equal_single():
    f = random_model(5, 3)
    thetas = np.random.default_rng(0).normal(size=(4, f.dim))
    values, grads = f.loss_grad(thetas)
    for t, v, g in zip(thetas, values, grads):
        assert v == pytest.approx(f.loss(t), rel=1e-13)
        assert np.allclose(g, f.grad(t), rtol=1e-12, atol=1e-12)
    assert np.allclose(f.loss(thetas), values)
    assert f.product(thetas).shape == (4, *f.shape)


def test_depth_two_is_mfobjective_with_u_w2_and_v_w1_transposed():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(4, 3))
    f = DeepMF(Y, [2], 0.4)
    mf = MFObjective(Ratings.from_dense(Y), rank=2, reg=0.4)
    theta = f.random_params(0.8, seed=1)
    W1, W2 = f.layers(theta)
    theta_mf = mf.pack(W2, W1.T)
    assert f.loss(theta) == pytest.approx(mf.loss(theta_mf), rel=1e-13)
    gU, gV = mf.unpack(mf.grad(theta_mf))[:2]
    gW1, gW2 = f.layers(f.grad(theta))
    assert np.allclose(gW2, gU) and np.allclose(gW1, gV.T)
    # The "half" form is F / 2: same critical points, halved Hessian.
    half = MFObjective(Ratings.from_dense(Y), rank=2, reg=0.4, half=True)
    assert half.loss(theta_mf) == pytest.approx(f.loss(theta) / 2, rel=1e-13)


def test_pack_layers_round_trip():
    f = random_model(3, 4)
    theta = f.random_params(1.0, seed=0)
    assert np.array_equal(f.pack(f.layers(theta)), theta)
    assert [W.shape for W in f.layers(theta)] == f.shapes


# ------------------------------------------------------------------ reduced problem
@pytest.mark.parametrize("depth", [2, 3, 4, 6])
def test_reduced_derivatives_and_roots(depth):
    lam = 0.37
    s = np.linspace(0.05, 1.7, 9)
    for y in (0.2, 1.0, 2.5):
        d1 = (reduced_loss(s + 1e-6, y, lam, depth) - reduced_loss(s - 1e-6, y, lam, depth)) / 2e-6
        assert np.allclose(reduced_derivative(s, y, lam, depth), d1, rtol=1e-6, atol=1e-6)
        d2 = (reduced_derivative(s + 1e-6, y, lam, depth)
              - reduced_derivative(s - 1e-6, y, lam, depth)) / 2e-6
        assert np.allclose(reduced_second_derivative(s, y, lam, depth), d2, rtol=1e-6, atol=1e-5)
        roots = reduced_roots(y, lam, depth)
        # With lam = 0.37, y = 0.2 lies below every threshold (no root), y = 1.0 and 2.5
        # above (depth 2: one root; deeper: a lower and an upper one): the loop below must
        # not pass by checking nothing.
        expected = 0 if y < thresholds(lam, depth).y_exist else (1 if depth == 2 else 2)
        assert len(roots) == expected
        for r in roots:
            assert r.s ** (depth - 2) * (y - r.s**depth) == pytest.approx(lam, rel=1e-12)
            assert abs(reduced_derivative(r.s, y, lam, depth)) < 1e-12
            curv = reduced_second_derivative(r.s, y, lam, depth)
            assert (curv > 0) if r.branch == "upper" else (curv < 0)


@pytest.mark.parametrize("depth", [3, 4, 5, 7])
def test_thresholds_agree_with_numerical_root_finding(depth):
    lam = 0.6
    th = thresholds(lam, depth)
    # y_exist: where max_s s^(L-2) (y - s^L) reaches lambda, found by bisection on y.
    def hmax(y):
        s = (y * (depth - 2) / (2 * depth - 2)) ** (1 / depth)
        return s ** (depth - 2) * (y - s**depth)
    assert brentq(lambda y: hmax(y) - lam, 1e-6, 100) == pytest.approx(th.y_exist, rel=1e-10)
    # y_global: where the upper root ties with zero, phi(s+) = y^2.
    def gap(y):
        up = reduced_roots(y, lam, depth)[-1]
        return reduced_loss(up.s, y, lam, depth) - y**2
    assert brentq(gap, th.y_exist * (1 + 1e-6), 100) == pytest.approx(th.y_global, rel=1e-9)
    assert th.y_global > th.y_exist
    # Number of roots on either side of y_exist, and the double root in between.
    assert len(reduced_roots(th.y_exist * 0.99, lam, depth)) == 0
    assert [r.branch for r in reduced_roots(th.y_exist * 1.01, lam, depth)] == ["lower", "upper"]
    (double,) = reduced_roots(th.y_exist, lam, depth)
    assert double.branch == "double" and double.s == pytest.approx(th.s_double, rel=1e-12)


def test_depth_two_thresholds_are_lambda():
    th = thresholds(0.8, 2)
    assert th.y_exist == th.y_global == 0.8 and th.s_double == 0.0
    assert reduced_roots(0.8, 0.8, 2) == []
    (r,) = reduced_roots(2.0, 0.8, 2)
    assert r.p == pytest.approx(1.2) and r.branch == "upper"


# ------------------------------------------------------------------ critical points
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_constructed_points_are_stationary_and_classified_as_the_hessian_says(depth):
    n_points = 0
    kinds = set()
    for seed in range(12):
        f = random_model(100 * depth + seed, depth)
        points = enumerate_critical_points(f)
        assert len(points) == count_critical_points(f)
        for c in points:
            scale = max(1.0, np.linalg.norm(f.Y)) ** 2
            assert np.linalg.norm(f.grad(c.theta)) < 1e-12 * scale
            assert c.loss == pytest.approx(f.loss(c.theta), rel=1e-12)
            assert np.all(f.balance_residuals(c.theta) < 1e-12 * scale)
            check = hessian_check(f, c.theta)
            assert check.kind == HESSIAN_KIND[c.kind], (f, c.label, c.kind, check)
            assert check.orbit_dim == f.orbit_dimension(c.rank)
            if check.kind == "minimum":
                assert check.n_zero == check.orbit_dim and check.min_normal > 0
            n_points += 1
            kinds.add(c.kind)
    assert n_points > 30
    assert "global minimum" in kinds and "strict saddle" in kinds
    if depth >= 3:
        assert "spurious local minimum" in kinds
    else:
        assert "spurious local minimum" not in kinds


@pytest.mark.parametrize("depth", [3, 4, 5])
def test_double_root_is_a_non_strict_saddle(depth):
    lam = 0.5
    th = thresholds(lam, depth)
    f = DeepMF(target_with_singular_values([3.0, th.y_exist, 0.2], (4, 3), seed=1),
               [3] * (depth - 1), lam)
    c = critical_point(f, [0, 1], ["upper", "double"])
    assert c.kind == "non-strict saddle"
    assert np.linalg.norm(f.grad(c.theta)) < 1e-12
    check = hessian_check(f, c.theta)
    # Positive semi-definite, one zero more than the orbit explains.
    assert check.n_negative == 0 and check.n_zero == check.orbit_dim + 1
    assert check.kind == "degenerate"
    # Shrinking pair 2 in every layer lowers the loss at third order.
    d = scaling_direction(f, c, 1)
    drops = [f.loss(c.theta - t * d) - c.loss for t in (1e-2, 2e-2)]
    assert drops[0] < 0 and drops[1] < 0
    assert drops[1] / drops[0] == pytest.approx(8.0, rel=0.05)   # cubic
    # ... exactly as the reduced function says.
    for t in (-0.05, 0.03):
        expected = reduced_loss(c.s[1] + t, f.singular_values[1], lam, depth) - \
            reduced_loss(c.s[1], f.singular_values[1], lam, depth)
        assert f.loss(c.theta + t * d) - c.loss == pytest.approx(expected, rel=1e-8, abs=1e-13)


def test_rotation_towards_a_larger_inactive_value_lowers_the_loss():
    f = DeepMF(target_with_singular_values([3.0, 2.0, 0.5], (4, 3), seed=4), [3, 3], 0.3)
    c = critical_point(f, [1], ["upper"])
    assert c.kind == "strict saddle"
    y = f.singular_values
    for t in (0.01, 0.3, 1.0):
        expected = -2 * c.p[0] * (y[0] - y[1]) * np.sin(t) ** 2
        assert f.loss(rotate_pair(f, c, 0, 0, t)) - c.loss == pytest.approx(expected, rel=1e-9)


def test_loss_is_constant_along_the_orbit_and_tangents_are_null():
    f = random_model(7, 4, shape=(4, 4), hidden=[3, 3, 3], scale=3.0)
    c = next(p for p in enumerate_critical_points(f) if p.rank == 2)
    Ws = f.layers(c.theta)
    rng = np.random.default_rng(0)
    hidden_rot = [expm(0.7 * (A - A.T)) for A in (rng.normal(size=(d, d)) for d in f.dims[1:-1])]
    Rs = [np.eye(f.dims[0])] + hidden_rot + [np.eye(f.dims[-1])]
    moved = f.pack([Rs[l + 1] @ Ws[l] @ Rs[l].T for l in range(f.depth)])
    assert f.loss(moved) == pytest.approx(c.loss, rel=1e-13)
    assert np.linalg.norm(f.grad(moved)) < 1e-11
    T = f.symmetry_tangents(c.theta)
    H = f.hessian(c.theta)
    assert np.max(np.abs(H @ T)) < 1e-10
    assert f.numerical_orbit_dimension(c.theta) == f.orbit_dimension(2)
    # Another point of the same orbit: random hidden bases.
    other = critical_point(f, c.active, c.branches, seed=3)
    assert np.allclose(f.product(other.theta), f.product(c.theta), atol=1e-12)
    assert other.loss == pytest.approx(c.loss)


def test_unequal_lambdas_enter_through_the_geometric_mean():
    rng = np.random.default_rng(2)
    Y = rng.normal(size=(3, 3)) * 2
    reg = [0.2, 1.5, 0.4]
    f = DeepMF(Y, [3, 3], reg)
    g = DeepMF(Y, [3, 3], float(np.prod(reg) ** (1 / 3)))
    pf = enumerate_critical_points(f)
    pg = enumerate_critical_points(g)
    assert [c.label for c in pf] == [c.label for c in pg]
    for a, b in zip(pf, pg):
        assert a.loss == pytest.approx(b.loss, rel=1e-12) and a.kind == b.kind
        assert np.allclose(f.product(a.theta), g.product(b.theta), atol=1e-12)
        Ws = f.layers(a.theta)
        for l in range(2):     # lambda_{l+1} W_{l+1}^T W_{l+1} = lambda_l W_l W_l^T
            assert np.allclose(reg[l + 1] * Ws[l + 1].T @ Ws[l + 1], reg[l] * Ws[l] @ Ws[l].T,
                               atol=1e-12)


def test_root_finder_finds_no_other_critical_points():
    Y = np.array([[3.0, 1.0], [0.5, 2.0]])
    f = DeepMF(Y, [2, 2], 0.4)
    points = enumerate_critical_points(f)
    rng = np.random.default_rng(1)
    starts = rng.normal(size=(150, f.dim)) * rng.choice([0.5, 1.0, 1.5], size=(150, 1))
    res = find_critical_points(f, f.hessian, starts, invariant=lambda th: f.product(th).ravel(),
                               gtol=1e-9, max_nfev=400)
    found = set()
    for p in res.points:
        i, dist = nearest_critical_point(f, p.x, points)
        assert dist < 1e-8
        assert p.loss == pytest.approx(points[i].loss, rel=1e-9)
        found.add(points[i].label)
    assert len(found) >= len(points) - 1


def test_count_formula_with_width_limit():
    y = [4.0, 3.0, 2.5, 2.0]
    Y = target_with_singular_values(y, (5, 4), seed=0)
    f = DeepMF(Y, [2, 3], 0.3)            # min width 2: at most 2 active pairs
    t = [len(reduced_roots(v, 0.3, 3)) for v in y]
    expected = sum(np.prod([t[i] for i in S]) for k in range(3)
                   for S in itertools.combinations(range(4), k))
    assert count_critical_points(f) == expected == len(enumerate_critical_points(f))
    assert max(c.rank for c in enumerate_critical_points(f)) == 2
    gm = [c for c in enumerate_critical_points(f) if c.kind == "global minimum"]
    assert [c.label for c in gm] == ["{1+, 2+}"]


def test_local_minima_are_the_top_sets_on_upper_roots():
    f = DeepMF(target_with_singular_values([3.2, 2.1, 1.3, 0.6], (5, 4), seed=0), [3, 3], 0.3)
    minima = [c.label for c in enumerate_critical_points(f) if c.kind.endswith("minimum")]
    assert sorted(minima) == sorted(["{}", "{1+}", "{1+, 2+}", "{1+, 2+, 3+}"])
    assert global_minimum(f) == pytest.approx(min(c.loss for c in enumerate_critical_points(f)))
    assert classify(f, [1], ["upper"])[0] == "strict saddle"
    assert set(DEEP_KINDS) == set(HESSIAN_KIND)


# ------------------------------------------------------------------ depth 2 and the convex problem
def test_depth_two_global_minimum_is_singular_value_soft_thresholding():
    for seed in range(5):
        rng = np.random.default_rng(seed)
        Y = rng.normal(size=(5, 4)) * 2
        lam = float(rng.uniform(0.2, 2.0))
        f = DeepMF(Y, [4], lam)
        (gm,) = [c for c in enumerate_critical_points(f) if c.kind == "global minimum"]
        P = soft_threshold_singular_values(Y, lam)
        assert np.allclose(f.product(gm.theta), P, atol=1e-12)
        nuclear = np.linalg.svd(P, compute_uv=False).sum()
        assert gm.loss == pytest.approx(np.sum((P - Y) ** 2) + 2 * lam * nuclear, rel=1e-12)
        # Convex optimality certificate: Y - P = lam (U_r V_r^T + W), ||W||_2 <= 1, W _|_ P.
        U, s, Vt = np.linalg.svd(P)
        r = int(np.sum(s > 1e-10))
        W = (Y - P) / lam - U[:, :r] @ Vt[:r]
        assert np.linalg.norm(W, 2) <= 1 + 1e-12
        assert np.allclose(U[:, :r].T @ W, 0, atol=1e-10)
        assert np.allclose(W @ Vt[:r].T, 0, atol=1e-10)
        # Every other critical point of the depth-2 problem is a strict saddle.
        others = [c for c in enumerate_critical_points(f) if c.label != gm.label]
        assert all(c.kind == "strict saddle" for c in others)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_depth_penalty_is_the_minimum_over_factorizations(depth):
    rng = np.random.default_rng(depth)
    P = rng.normal(size=(3, 3))
    lam = 0.7
    f = DeepMF(P, [3] * (depth - 1), lam)
    # Balanced factorization of P reaches the bound ...
    U, s, Vt = np.linalg.svd(P)
    Q = [Vt.T] + [np.eye(3)] * (depth - 1) + [U]
    layers = [Q[l + 1] @ np.diag(s ** (1 / depth)) @ Q[l].T for l in range(depth)]
    theta = f.pack(layers)
    assert np.allclose(f.product(theta), P)
    pen = lambda th: sum(lam * np.sum(W**2) for W in f.layers(th))
    assert pen(theta) == pytest.approx(depth_penalty(P, lam, depth), rel=1e-12)
    # ... and random factorizations of the same product never beat it.
    for _ in range(20):
        G = [np.linalg.qr(rng.normal(size=(3, 3)))[0] @ np.diag(rng.uniform(0.5, 2, 3))
             for _ in range(depth - 1)]
        Gi = [np.linalg.inv(g) for g in G]
        Ws = ([G[0] @ layers[0]] + [G[l] @ layers[l] @ Gi[l - 1] for l in range(1, depth - 1)]
              + [layers[-1] @ Gi[-1]])
        th = f.pack(Ws)
        assert np.allclose(f.product(th), P)
        assert pen(th) >= depth_penalty(P, lam, depth) - 1e-10


# ------------------------------------------------------------------ gradient descent and Lanczos
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_gradient_descent_ends_at_an_enumerated_local_minimum(depth):
    f = DeepMF(target_with_singular_values([3.0, 2.0, 1.0], (4, 3), seed=2), [3] * (depth - 1), 0.3)
    points = enumerate_critical_points(f)
    starts = np.random.default_rng(0).normal(0, 0.5, (20, f.dim))
    runs = batched_gradient_descent(f, starts, 0.01, 60000, gtol=1e-9)
    assert runs.result.status == "converged" and not runs.diverged.any()
    for x in runs.ends:
        i, dist = nearest_critical_point(f, x, points)
        assert dist < 1e-7
        assert points[i].kind.endswith("minimum")


def test_batched_gradient_descent_freezes_diverging_runs():
    f = DeepMF(np.diag([2.0, 1.0]), [2, 2], 0.2)
    starts = np.stack([f.random_params(0.3, seed=0), f.random_params(5.0, seed=1)])
    runs = batched_gradient_descent(f, starts, 0.05, 2000)
    assert runs.diverged.tolist() == [False, True]
    assert np.isfinite(f.loss(runs.ends[0]))


def test_normal_curvature_by_lanczos_matches_dense():
    f = DeepMF(target_with_singular_values([3.0, 2.0, 1.2], (5, 4), seed=0), [4, 4], 0.3)
    for active, branches in [([0, 1], ["upper", "upper"]), ([1], ["upper"]), ([0], ["lower"])]:
        c = critical_point(f, active, branches)
        dense = hessian_check(f, c.theta)
        lanczos = normal_curvature(f, c.theta, k=1)
        assert lanczos.smallest[0] == pytest.approx(dense.min_normal, rel=1e-6, abs=1e-8)


# ------------------------------------------------------------------ validation
def test_error_messages():
    Y = np.eye(2)
    with pytest.raises(ValueError, match="Y must be a non-empty finite 2-d array"):
        DeepMF(np.ones(3), [2], 0.1)
    with pytest.raises(ValueError, match="hidden must be a sequence"):
        DeepMF(Y, 2, 0.1)
    with pytest.raises(ValueError, match="hidden must be a non-empty sequence"):
        DeepMF(Y, [], 0.1)
    with pytest.raises(ValueError, match="hidden must be a non-empty sequence"):
        DeepMF(Y, [2, 0], 0.1)
    with pytest.raises(ValueError, match="one per layer"):
        DeepMF(Y, [2, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="one per layer"):
        DeepMF(Y, [2], -0.1)
    f = DeepMF(Y, [2], 0.1)
    with pytest.raises(ValueError, match=r"theta must have shape \(8,\)"):
        f.loss(np.zeros(7))
    with pytest.raises(ValueError, match="direction must have shape"):
        f.hvp(np.zeros(8), np.zeros(3))
    with pytest.raises(ValueError, match="layer W_2 must have shape"):
        f.pack([np.zeros((2, 2)), np.zeros((3, 2))])
    with pytest.raises(ValueError, match="every lambda_l > 0"):
        enumerate_critical_points(DeepMF(Y, [2], [0.0, 1.0]))
    with pytest.raises(ValueError, match="distinct non-zero singular values"):
        enumerate_critical_points(f)          # Y = I has equal singular values
    g = DeepMF(np.diag([3.0, 1.0]), [1, 2], 0.5)
    with pytest.raises(ValueError, match="width limit"):
        critical_point(g, [0, 1], ["upper", "upper"])
    with pytest.raises(ValueError, match="no 'lower' root"):
        critical_point(DeepMF(np.diag([3.0, 1.0]), [2], 0.5), [0], ["lower"])  # depth 2: one root
    with pytest.raises(ValueError, match="distinct indices"):
        classify(g, [0, 0], ["upper", "upper"])
    with pytest.raises(ValueError, match="branches must be"):
        classify(g, [0], ["top"])
    with pytest.raises(ValueError, match="depth must be an integer >= 2"):
        thresholds(0.5, 1)
    with pytest.raises(ValueError, match="lam must be a finite number > 0"):
        reduced_roots(1.0, 0.0, 3)
    with pytest.raises(ValueError, match="rank must be an integer"):
        g.orbit_dimension(3)
    with pytest.raises(ValueError, match="min\\(m, n\\) >= len\\(values\\)"):
        target_with_singular_values([1, 2, 3], (2, 5))
    with pytest.raises(ValueError, match="starts must have shape"):
        batched_gradient_descent(g, np.zeros((2, 3)), 0.1, 10)
    c = critical_point(g, [0], ["upper"])
    with pytest.raises(ValueError, match="k must index an active pair"):
        scaling_direction(g, c, 1)
    with pytest.raises(ValueError, match="j must be an inactive pair"):
        rotate_pair(g, c, 0, 0, 0.1)
    with pytest.raises(ValueError, match="hidden_unit must be in 0..0"):
        pair_direction(g, 0, hidden_unit=1)
    with pytest.raises(ValueError, match="tau must be a finite number >= 0"):
        soft_threshold_singular_values(np.eye(2), -1.0)
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        depth_penalty(np.eye(2), -1.0, 3)
