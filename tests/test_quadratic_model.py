"""The per-eigendirection model of GD, heavy ball and Nesterov, against the real optimizers."""

import numpy as np
import pytest

from mfbook.core import GradientDescent, HeavyBall, Nesterov, descend
from mfbook.landscape import (QUADRATIC_METHODS, characteristic_roots, convergence_factor,
                              optimal_parameters, stability_limit)

MAKE = {"GD": lambda lr, beta: GradientDescent(lr),
        "Momentum": lambda lr, beta: HeavyBall(lr, beta),
        "Nesterov": lambda lr, beta: Nesterov(lr, beta)}


def scalar_run(method, lr, h, beta=0.9, n=60, x0=1.0):
    """Iterates of the mfbook optimizer on L(x) = h x^2 / 2 in one dimension."""
    res = descend(lambda x: (0.5 * h * x @ x, h * x), np.array([x0]), MAKE[method](lr, beta), n,
                  snapshot_every=1, on_divergence="stop")
    return res.snapshots[:, 0]


@pytest.mark.parametrize("method", QUADRATIC_METHODS)
@pytest.mark.parametrize("lr, h, beta", [(0.3, 1.0, 0.9), (1.5, 1.0, 0.5), (0.2, -0.5, 0.9),
                                          (1.9, 1.0, 0.1)])
def test_iterates_obey_the_characteristic_recursion(method, lr, h, beta):
    # For the momentum methods x_{t+2} = (z1 + z2) x_{t+1} - z1 z2 x_t for t >= 1 (the first
    # step starts from a zero buffer); for GD x_{t+1} = z1 x_t.
    x = scalar_run(method, lr, h, beta, n=12)
    z = characteristic_roots(method, lr, h, beta=beta)
    s, p = (z[0] + z[1]).real, (z[0] * z[1]).real
    if method == "GD":
        assert np.allclose(x[1:], z[0].real * x[:-1], rtol=1e-12, atol=1e-14)
    else:
        assert np.allclose(x[3:], s * x[2:-1] - p * x[1:-2], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", QUADRATIC_METHODS)
@pytest.mark.parametrize("lr, h", [(0.1, 1.0), (0.05, 2.0), (0.1, -0.3)])
def test_convergence_factor_is_the_measured_rate(method, lr, h):
    # Complex roots make |x_t| oscillate: compare the envelopes (maxima over 50 steps).
    x = np.abs(scalar_run(method, lr, h, n=400))
    measured = (x[-50:].max() / x[-250:-200].max()) ** (1 / 200)
    assert measured == pytest.approx(convergence_factor(method, lr, h), rel=2e-3)


@pytest.mark.parametrize("method", QUADRATIC_METHODS)
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_stability_limit_separates_convergence_from_divergence(method, beta):
    lim = stability_limit(method, beta=beta)
    assert convergence_factor(method, lim * 0.99, 1.0, beta=beta) < 1
    assert convergence_factor(method, lim * 1.01, 1.0, beta=beta) > 1
    below = np.abs(scalar_run(method, lim * 0.98, 1.0, beta, n=3000))
    above = np.abs(scalar_run(method, lim * 1.02, 1.0, beta, n=3000))
    # The divergence guard stops the run above once its loss h x^2 / 2 exceeds
    # DIVERGENCE_FACTOR = 1e6 times the start, i.e. past |x| = 1e3.
    assert below[-1] < 1e-3 < 1e2 < above.max()


def test_known_limits():
    assert stability_limit("GD") == 2.0
    assert stability_limit("Momentum", beta=0.9) == pytest.approx(3.8)
    assert stability_limit("Nesterov", beta=0.9) == pytest.approx(3.8 / 2.8)
    assert stability_limit("Nesterov", beta=0.0) == pytest.approx(2.0)   # GD when beta = 0


@pytest.mark.parametrize("method", QUADRATIC_METHODS)
def test_optimal_parameters_beat_a_grid_search(method):
    mu, L = 1.0, 50.0
    h = np.linspace(mu, L, 401)
    t = optimal_parameters(method, mu, L)
    worst = convergence_factor(method, t.lr, h, beta=t.beta).max()
    assert worst == pytest.approx(t.rate, abs=2e-3)
    best_grid = min(convergence_factor(method, lr, h, beta=b).max()
                    for lr in np.geomspace(0.2 / L, 4 / L, 40)
                    for b in (np.linspace(0, 0.95, 40) if method != "GD" else [0.0]))
    assert best_grid >= t.rate - 2e-3
    kappa = L / mu
    expected = {"GD": (kappa - 1) / (kappa + 1),
                "Momentum": (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1),
                "Nesterov": 1 - 2 / np.sqrt(3 * kappa + 1)}[method]
    assert t.rate == pytest.approx(expected)


def test_roots_shape_and_order():
    z = characteristic_roots("Momentum", 0.1, np.array([[0.5, 1.0], [2.0, -1.0]]))
    assert z.shape == (2, 2, 2)
    assert np.all(np.abs(z[..., 0]) >= np.abs(z[..., 1]))
    assert isinstance(convergence_factor("GD", 0.1, 1.0), float)


@pytest.mark.parametrize("call, error, match", [
    (lambda: convergence_factor("Adam", 0.1, 1.0), ValueError, "method"),
    (lambda: convergence_factor("GD", 0.0, 1.0), ValueError, "lr"),
    (lambda: convergence_factor("Momentum", 0.1, 1.0, beta=1.0), ValueError, "beta"),
    (lambda: convergence_factor("GD", 0.1, np.nan), ValueError, "h"),
    (lambda: optimal_parameters("GD", 0.0, 1.0), ValueError, "mu"),
    (lambda: optimal_parameters("GD", 2.0, 1.0), ValueError, "L"),
    (lambda: stability_limit(3), TypeError, "method"),
])
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()
