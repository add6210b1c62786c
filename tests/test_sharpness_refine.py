"""Sharpness by Lanczos and Newton refinement modulo the rotations, against dense linear algebra."""

import numpy as np
import pytest

from mfbook.core import GradientDescent, MFObjective, descend, product_distance
from mfbook.datasets import streamrec
from mfbook.landscape import (hessian_extremes_modulo_symmetry, newton_refine, polish,
                              sharpness, sharpness_along, symmetry_basis)


def problem(reg=0.01, k=3):
    data = streamrec(n_users=15, n_items=11, true_rank=2, obs_rate=0.5, noise_std=0.1, seed=0)
    return MFObjective(data.observed, k, mean=True, half=True, reg=reg)


def test_sharpness_is_the_largest_dense_eigenvalue():
    f = problem()
    run = descend(f, f.random_params(0.1, seed=1), GradientDescent(2.0), 200, snapshot_every=40)
    trace = sharpness_along(f, run.snapshots, tol=1e-10)
    dense = np.array([np.linalg.eigvalsh(f.hessian(x))[-1] for x in run.snapshots])
    assert np.allclose(trace.values, dense, rtol=1e-8)
    assert np.all(trace.n_products > 0) and trace.values.shape == (len(run.snapshots),)
    assert sharpness(f, run.snapshots[-1], tol=1e-10) == pytest.approx(dense[-1], rel=1e-8)


def test_sharpness_validation():
    f = problem()
    with pytest.raises(TypeError, match="objective"):
        sharpness_along("f", np.zeros((1, 3)))
    with pytest.raises(ValueError, match="snapshots"):
        sharpness_along(f, np.zeros((2, f.dim + 1)))
    with pytest.raises(ValueError, match="tol"):
        sharpness_along(f, np.zeros((1, f.dim)), tol=0.0)


@pytest.fixture(scope="module")
def near_minimum():
    """A point of the small problem polished to |g| ~ 1e-7, near a strict minimum mod rotations."""
    f = problem()
    x = descend(f, f.random_params(0.3, seed=2), GradientDescent(2.0), 1500).x
    return f, polish(f, x, gtol=1e-6).x


def test_newton_converges_quadratically_to_a_critical_point(near_minimum):
    f, x0 = near_minimum
    ref = newton_refine(f, x0, gtol=1e-13)
    g = ref.grad_norms
    assert ref.converged and g[-1] <= 1e-13 and g[0] > 1e-8
    # quadratic convergence: from 3e-7, two steps reach rounding level, g_2 ~ C g_1^2
    assert len(g) == 3
    assert g[1] < 1e-2 * g[0] and g[2] < 1e4 * g[1] ** 2
    assert ref.displacement == pytest.approx(np.linalg.norm(ref.x - x0))
    # the refined point is (numerically) the critical point L-BFGS was approaching
    tight = polish(f, ref.x, gtol=1e-12).x
    U, V = f.unpack(ref.x)[:2]
    assert product_distance(U, V, *f.unpack(tight)[:2]) < 1e-9


def test_newton_steps_are_orthogonal_to_the_orbit(near_minimum):
    f, x0 = near_minimum
    one = newton_refine(f, x0, max_steps=1)
    Q = symmetry_basis(f, x0)
    step = one.x - x0
    assert Q.shape[1] == 3                               # rank 3: three rotation generators
    assert np.linalg.norm(Q.T @ step) < 1e-8 * np.linalg.norm(step)
    # ... and it solves the Newton equation on the complement: P H step = -g
    g, Hs = f.grad(x0), f.hvp(x0, step)
    assert np.linalg.norm(Q.T @ g) < 1e-10 * np.linalg.norm(g)     # g is off the orbit
    assert np.allclose(Hs - Q @ (Q.T @ Hs), -g, atol=1e-8 * np.linalg.norm(g))


def test_refinement_keeps_the_curvature_of_a_strict_minimum(near_minimum):
    f, x0 = near_minimum
    ref = newton_refine(f, x0)
    before = hessian_extremes_modulo_symmetry(f, x0, tol=1e-10).smallest[0]
    after = hessian_extremes_modulo_symmetry(f, ref.x, tol=1e-10).smallest[0]
    assert after > 0 and after == pytest.approx(before, rel=1e-3)


def test_newton_validation_and_zero_steps():
    f = problem()
    x0 = f.random_params(0.1, seed=0)
    same = newton_refine(f, x0, max_steps=0)
    assert np.array_equal(same.x, x0) and same.displacement == 0 and not same.converged
    with pytest.raises(TypeError, match="objective"):
        newton_refine("f", x0)
    with pytest.raises(ValueError, match="gtol"):
        newton_refine(f, x0, gtol=0.0)
    with pytest.raises(TypeError, match="max_steps"):
        newton_refine(f, x0, max_steps=1.5)
