"""Mini-batch gradients and the epoch loop; learning-rate schedules and the Scheduled wrapper."""

import numpy as np
import pytest

from mfbook.core import (Adam, DivergenceError, GradientDescent, HeavyBall, MFObjective,
                         descend)
from mfbook.datasets import streamrec
from mfbook.landscape import (Scheduled, constant_schedule, cosine_schedule,
                              inverse_time_schedule, minibatch_descend, minibatch_gradient,
                              step_schedule)


def problem(**kw):
    data = streamrec(n_users=14, n_items=9, true_rank=2, obs_rate=0.5, noise_std=0.1, seed=3)
    return MFObjective(data.observed, 3, **kw)


CONVENTIONS = [dict(mean=True, half=True, reg=0.01), dict(reg=0.1),
               dict(mean=True, reg=0.05, reg_weighting="count"),
               dict(biased=True, half=True, reg=0.02, reg_bias=0.3)]


@pytest.mark.parametrize("kw", CONVENTIONS)
def test_full_batch_is_the_gradient(kw):
    f = problem(**kw)
    theta = f.random_params(0.5, seed=1)
    if f.biased:
        theta[-(f.shape[0] + f.shape[1]):] = np.random.default_rng(2).normal(size=sum(f.shape))
    g = minibatch_gradient(f, theta, np.arange(f.ratings.nnz))
    assert np.allclose(g, f.grad(theta), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", CONVENTIONS)
def test_batches_of_a_partition_average_to_the_gradient(kw):
    # sum_B (|B| / N) g_B = grad L exactly, for any partition of Omega into batches
    f = problem(**kw)
    theta = f.random_params(0.5, seed=4)
    N = f.ratings.nnz
    parts = np.array_split(np.random.default_rng(5).permutation(N), 7)
    avg = sum(len(b) / N * minibatch_gradient(f, theta, b) for b in parts)
    assert np.allclose(avg, f.grad(theta), rtol=1e-12, atol=1e-14)
    single = minibatch_gradient(f, theta, parts[0])
    assert not np.allclose(single, f.grad(theta))          # one batch is only an estimate


def test_random_batches_are_unbiased():
    f = problem(mean=True, half=True, reg=0.01)
    theta = f.random_params(0.5, seed=6)
    rng = np.random.default_rng(7)
    N = f.ratings.nnz
    draws = np.array([minibatch_gradient(f, theta, rng.choice(N, 5, replace=False))
                      for _ in range(4000)])
    err = np.linalg.norm(draws.mean(0) - f.grad(theta))
    spread = np.linalg.norm(draws.std(0)) / np.sqrt(len(draws))
    assert err < 4 * spread


def test_full_batch_epochs_are_gradient_descent_steps():
    f = problem(mean=True, half=True, reg=0.01)
    x0 = f.random_params(0.3, seed=8)
    for opt in (GradientDescent(0.5), HeavyBall(0.2, 0.9), Adam(0.01)):
        a = minibatch_descend(f, x0, opt, 25, batch_size=f.ratings.nnz, seed=0)
        b = descend(f, x0, opt, 25)
        assert np.allclose(a.x, b.x, rtol=1e-12, atol=1e-14)
        assert np.allclose(a.losses, b.losses, rtol=1e-12)
        assert a.n_steps == 25


def test_epochs_record_and_seed():
    f = problem(mean=True, half=True, reg=0.01)
    x0 = f.random_params(0.3, seed=9)
    N = f.ratings.nnz
    a = minibatch_descend(f, x0, GradientDescent(0.5), 6, batch_size=10, seed=1,
                          snapshot_every=2)
    assert a.n_steps == 6 * -(-N // 10)
    assert a.losses.shape == (7,) and a.losses[-1] < a.losses[0]
    assert list(a.snapshot_steps) == [0, 2, 4, 6]
    assert np.allclose([f.loss(x) for x in a.snapshots], a.losses[::2])
    again = minibatch_descend(f, x0, GradientDescent(0.5), 6, batch_size=10, seed=1)
    other = minibatch_descend(f, x0, GradientDescent(0.5), 6, batch_size=10, seed=2)
    assert np.array_equal(a.x, again.x) and not np.allclose(a.x, other.x)


def test_minibatch_divergence():
    f = problem(mean=True, half=True, reg=0.01)
    x0 = f.random_params(0.3, seed=10)
    with pytest.raises(DivergenceError, match="GD diverged .* epoch"):
        minibatch_descend(f, x0, GradientDescent(500.0), 5, batch_size=4)
    res = minibatch_descend(f, x0, GradientDescent(500.0), 5, batch_size=4,
                            on_divergence="stop")
    assert res.status == "diverged" and np.all(np.isfinite(res.x))
    assert np.all(np.isfinite(res.losses))


@pytest.mark.parametrize("call, error, match", [
    (lambda f, x: minibatch_gradient(f, x, np.array([], dtype=int)), ValueError, "at least one"),
    (lambda f, x: minibatch_gradient(f, x, np.array([0.0])), TypeError, "batch"),
    (lambda f, x: minibatch_gradient(f, x, np.array([10**6])), ValueError, "batch"),
    (lambda f, x: minibatch_gradient("f", x, np.array([0])), TypeError, "objective"),
    (lambda f, x: minibatch_descend(f, x, GradientDescent(0.1), 1, batch_size=0),
     ValueError, "batch_size"),
    (lambda f, x: minibatch_descend(f, x, GradientDescent(0.1), 1, batch_size=10**6),
     ValueError, "batch_size"),
    (lambda f, x: minibatch_descend(f, x, "GD", 1, batch_size=2), TypeError, "optimizer"),
    (lambda f, x: minibatch_descend(f, x, GradientDescent(0.1), 1.0, batch_size=2),
     TypeError, "n_epochs"),
    (lambda f, x: minibatch_descend(f, x, GradientDescent(0.1), 1, batch_size=2,
                                    on_divergence="ignore"), ValueError, "on_divergence"),
])
def test_minibatch_validation(call, error, match):
    f = problem(mean=True, reg=0.01)
    with pytest.raises(error, match=match):
        call(f, f.random_params(0.1, seed=0))


def test_schedule_values():
    assert [constant_schedule()(t) for t in (0, 7)] == [1.0, 1.0]
    s = step_schedule(3, 0.1)
    assert [s(t) for t in (0, 2, 3, 6)] == pytest.approx([1, 1, 0.1, 0.01])
    inv = inverse_time_schedule(4.0)
    assert [inv(t) for t in (0, 4, 12)] == pytest.approx([1, 0.5, 0.25])
    c = cosine_schedule(10, floor=0.2)
    vals = np.array([c(t) for t in range(15)])
    assert vals[0] == 1 and vals[10] == pytest.approx(0.2) and np.all(vals[10:] == vals[10])
    assert np.all(np.diff(vals) <= 1e-15) and c(5) == pytest.approx(0.6)
    for bad in (lambda: step_schedule(0), lambda: step_schedule(2, 1.5),
                lambda: inverse_time_schedule(0.0), lambda: cosine_schedule(5, floor=2.0)):
        with pytest.raises(ValueError):
            bad()


def test_scheduled_steps_use_the_scheduled_rate():
    # On L(x) = g.x the step t moves x by exactly -lr s(t) g.
    g = np.array([1.0, -2.0])
    s = cosine_schedule(6)
    res = descend(lambda x: (float(g @ x), g.copy()), np.zeros(2),
                  Scheduled(GradientDescent(0.3), s), 8, snapshot_every=1)
    moves = np.diff(res.snapshots, axis=0)
    assert np.allclose(moves, -0.3 * np.array([s(t) for t in range(8)])[:, None] * g)
    const = descend(lambda x: (float(g @ x), g.copy()), np.zeros(2),
                    Scheduled(GradientDescent(0.3), constant_schedule()), 8)
    plain = descend(lambda x: (float(g @ x), g.copy()), np.zeros(2), GradientDescent(0.3), 8)
    assert np.array_equal(const.x, plain.x)


def test_scheduled_resets_and_keeps_inner_state():
    f = problem(mean=True, half=True, reg=0.01)
    x0 = f.random_params(0.3, seed=11)
    opt = Scheduled(Adam(0.05), step_schedule(5, 0.5))
    first = descend(f, x0, opt, 12).x
    assert opt.optimizer.lr == pytest.approx(0.05 * 0.25)     # rate of the last step
    second = descend(f, x0, opt, 12).x                           # reset: same run again
    assert np.array_equal(first, second)
    assert opt.name == "Adam" and "base_lr=0.05" in repr(opt)
    with pytest.raises(TypeError, match="optimizer"):
        Scheduled("Adam", constant_schedule())
    with pytest.raises(TypeError, match="schedule"):
        Scheduled(Adam(0.1), 0.5)
    bad = Scheduled(GradientDescent(0.1), lambda t: -1.0)
    bad.reset(np.zeros(1))
    with pytest.raises(ValueError, match="schedule"):
        bad.step(np.zeros(1), np.ones(1))
