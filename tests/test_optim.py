import numpy as np
import pytest

from mfbook.core import (Adam, DivergenceError, GradientDescent, HeavyBall, MFObjective, Nesterov,
                         Ratings, descend)


def quadratic(seed=0, d=6, cond=10.0):
    """A strongly convex quadratic 1/2 (x - x*)^T A (x - x*) with known minimizer x*."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = Q @ np.diag(np.linspace(1.0, cond, d)) @ Q.T
    x_star = rng.normal(size=d)

    def fun(x):
        r = x - x_star
        return 0.5 * r @ A @ r, A @ r

    return fun, x_star


OPTIMIZERS = [
    (GradientDescent(lr=0.15), 400),
    (HeavyBall(lr=0.05, beta=0.8), 400),
    (Nesterov(lr=0.05, beta=0.8), 400),
    (Adam(lr=0.05), 3000),
    (Adam(lr=0.05, eps_hat=True), 3000),
]


@pytest.mark.parametrize("opt, steps", OPTIMIZERS, ids=lambda o: repr(o))
def test_converges_to_known_minimizer(opt, steps):
    fun, x_star = quadratic()
    res = descend(fun, np.zeros_like(x_star), opt, steps)
    assert res.status == "completed" and res.n_steps == steps
    assert np.linalg.norm(res.x - x_star) < 1e-6
    assert res.losses.shape == res.grad_norms.shape == (steps + 1,)
    assert res.fun == res.losses[-1]


@pytest.mark.parametrize("opt, steps", OPTIMIZERS, ids=lambda o: repr(o))
def test_state_is_reset_between_runs(opt, steps):
    fun, x_star = quadratic(seed=1)
    x0 = np.ones_like(x_star)
    first = descend(fun, x0, opt, 50)
    second = descend(fun, x0, opt, 50)
    assert np.array_equal(first.x, second.x)
    assert np.array_equal(first.losses, second.losses)
    assert np.array_equal(x0, np.ones_like(x_star))  # x0 untouched


def test_update_rules_one_step_by_hand():
    g = np.array([1.0, -2.0])
    fun = lambda x: (0.0, g)  # constant gradient
    x0 = np.zeros(2)
    # heavy ball: m1 = g, m2 = 0.9 g + g; x2 = -lr (m1 + m2)
    assert np.allclose(descend(fun, x0, HeavyBall(0.1, 0.9), 2).x, -0.1 * (1 + 1.9) * g)
    # Nesterov: m1 = g, x1 = -lr (g + 0.9 m1) = -0.19 g
    assert np.allclose(descend(fun, x0, Nesterov(0.1, 0.9), 1).x, -0.19 * g)
    # Adam's first step is lr * sign(g) (bias correction makes m_hat = g, v_hat = g^2)
    assert np.allclose(descend(fun, x0, Adam(0.01, eps=0.0), 1).x, -0.01 * np.sign(g))
    assert np.allclose(descend(fun, x0, GradientDescent(0.5), 3).x, -1.5 * g)


def test_adam_eps_hat_differs_only_through_eps():
    fun, x_star = quadratic(seed=2)
    a = descend(fun, np.zeros(6), Adam(0.01, eps=0.0), 30)
    b = descend(fun, np.zeros(6), Adam(0.01, eps=0.0, eps_hat=True), 30)
    assert np.allclose(a.x, b.x, rtol=1e-12, atol=1e-14)
    c = descend(fun, np.zeros(6), Adam(0.01, eps=0.5, eps_hat=True), 30)
    assert not np.allclose(a.x, c.x)


def test_snapshots_every_n_and_last():
    fun, x_star = quadratic()
    res = descend(fun, np.zeros(6), GradientDescent(0.1), 25, snapshot_every=10)
    assert res.snapshot_steps.tolist() == [0, 10, 20, 25]
    assert res.snapshots.shape == (4, 6)
    assert np.array_equal(res.snapshots[0], np.zeros(6))
    assert np.array_equal(res.snapshots[-1], res.x)
    assert res.wall_time >= 0


def test_divergence_raises_with_message():
    fun, _ = quadratic()
    with pytest.raises(DivergenceError, match="diverged at step"):
        descend(fun, np.zeros(6), GradientDescent(lr=5.0), 2000)


def test_divergence_stop_returns_finite_history():
    fun, _ = quadratic()
    res = descend(fun, np.zeros(6), GradientDescent(lr=5.0), 2000, on_divergence="stop",
                   snapshot_every=100)
    assert res.diverged and "diverged at step" in res.message
    assert 0 < res.n_steps < 2000
    assert np.all(np.isfinite(res.losses)) and len(res.losses) == res.n_steps + 1
    assert np.all(np.isfinite(res.x)) and res.fun == pytest.approx(fun(res.x)[0])
    assert np.all(np.isfinite(res.snapshots))


def test_divergence_is_raised_and_caught_as_a_bad_argument():
    # A step far beyond 2 / L_max blows the quadratic up: the run must stop with an error that
    # names the optimizer and the step, and that a caller catching bad arguments catches.
    def fun(x):
        return float(x @ x), 2 * x
    with pytest.raises(ValueError) as info:
        descend(fun, np.ones(3), GradientDescent(10.0), 10_000)
    assert info.type is DivergenceError
    assert "GD" in str(info.value) or "GradientDescent" in str(info.value)
    assert "step" in str(info.value)


def test_gtol_and_callback_stop_early():
    fun, _ = quadratic()
    res = descend(fun, np.zeros(6), GradientDescent(0.15), 10_000, gtol=1e-8)
    assert res.status == "converged" and res.n_steps < 10_000 and res.grad_norms[-1] <= 1e-8
    seen = []
    res = descend(fun, np.zeros(6), GradientDescent(0.15), 100,
                   callback=lambda t, x, loss, g: seen.append(t) or t == 7)
    assert res.status == "stopped" and res.n_steps == 7 and seen == list(range(8))


def test_minimize_on_factorization_decreases_loss():
    rng = np.random.default_rng(0)
    R = Ratings.from_dense(rng.normal(size=(8, 6)) @ rng.normal(size=(6, 5)))
    obj = MFObjective(R, 2, reg=0.01)
    res = descend(obj, obj.random_params(0.5, seed=1), GradientDescent(0.01), 300)
    assert res.losses[-1] < 0.2 * res.losses[0]
    assert np.all(np.diff(res.losses) <= 1e-12)  # small step on a smooth loss: monotone


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: GradientDescent(lr=0.0), "lr"),
        (lambda: GradientDescent(lr=np.inf), "lr"),
        (lambda: HeavyBall(lr=0.1, beta=1.0), "beta"),
        (lambda: Nesterov(lr=0.1, beta=-0.1), "beta"),
        (lambda: Adam(beta2=1.5), "beta2"),
        (lambda: Adam(eps=-1.0), "eps"),
    ],
)
def test_hyperparameter_validation(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_minimize_argument_validation():
    fun, _ = quadratic()
    gd = GradientDescent(0.1)
    with pytest.raises(ValueError, match="x0"):
        descend(fun, np.zeros((2, 3)), gd, 10)
    with pytest.raises(ValueError, match="x0 must be finite"):
        descend(fun, np.full(6, np.nan), gd, 10)
    with pytest.raises(ValueError, match="n_steps"):
        descend(fun, np.zeros(6), gd, -1)
    with pytest.raises(ValueError, match="snapshot_every"):
        descend(fun, np.zeros(6), gd, 10, snapshot_every=0)
    with pytest.raises(ValueError, match="on_divergence"):
        descend(fun, np.zeros(6), gd, 10, on_divergence="ignore")
    with pytest.raises(DivergenceError, match="at x0"):
        descend(lambda x: (np.inf, x), np.zeros(6), gd, 10)
