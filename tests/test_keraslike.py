import math

import numpy as np
import pytest

from mfbook.datasets import sales_matrix
from mfbook.nmf import (Callback, EarlyStopping, ExpMF, ReduceLROnPlateau, TrainState,
                        fit_keras_like)
from mfbook.core import Adam, GradientDescent


def drive(callback, values, key="loss", lr=1e-3):
    """Feed a scripted sequence of monitored values; theta holds the epoch number."""
    state = TrainState(np.array([-1.0]), GradientDescent(lr))
    callback.on_train_begin(state)
    lrs, stopped = [], None
    for epoch, v in enumerate(values):
        state.theta[0] = epoch
        callback.on_epoch_end(epoch, {key: v}, state)
        lrs.append(state.optimizer.lr)
        if state.stop_training:
            stopped = epoch
            break
    callback.on_train_end(state)
    return stopped, state.theta[0], lrs


def test_early_stopping_absolute_min_delta_and_restore():
    es = EarlyStopping(monitor="loss", min_delta=0.5, patience=3, restore_best_weights=True)
    # 9.4 < 10 - 0.5 improves; 9.0, 8.95, 8.91 do not beat 9.4 - 0.5 = 8.9: stop at epoch 4.
    stopped, restored, _ = drive(es, [10.0, 9.4, 9.0, 8.95, 8.91, 1.0])
    assert stopped == 4 and restored == 1 and es.best == 9.4


def test_early_stopping_slow_decrease_improves_once_accumulated():
    es = EarlyStopping(monitor="loss", min_delta=0.5, patience=2, restore_best_weights=True)
    # Steps of 0.3: every second epoch the accumulated decrease exceeds 0.5.
    stopped, restored, _ = drive(es, [10.0 - 0.3 * t for t in range(12)])
    assert stopped is None and es.best_epoch == 10 and restored == 10
    assert es.best == pytest.approx(7.0)


def test_early_stopping_restores_best_not_lowest():
    # The lowest value (8.8, epoch 3) never counted as an improvement over 9.0 - 0.5.
    es = EarlyStopping(monitor="loss", min_delta=0.5, patience=3, restore_best_weights=True)
    stopped, restored, _ = drive(es, [9.0, 8.9, 8.85, 8.8, 8.9])
    assert stopped == 3 and restored == 0


def test_early_stopping_without_restore_keeps_last_weights():
    es = EarlyStopping(monitor="loss", patience=1)
    stopped, last, _ = drive(es, [3.0, 3.0, 3.0])
    assert stopped == 1 and last == 1


def test_reduce_lr_on_plateau_rules():
    rl = ReduceLROnPlateau(patience=2, min_delta=0.1, min_lr=1e-4)
    assert rl.monitor == "val_loss" and rl.factor == 0.1 and rl.cooldown == 0
    seq = [5.0, 5.0, 5.0, 4.95, 4.8, 4.8, 4.8, 4.8, 4.8]
    _, _, lrs = drive(rl, seq, key="val_loss")
    # Fires at epoch 2 (two epochs without beating 5.0 - 0.1); 4.95 is no improvement;
    # 4.8 is; afterwards the rate is already at min_lr and stays there.
    assert lrs[:2] == [1e-3, 1e-3]
    assert all(math.isclose(v, 1e-4, rel_tol=1e-6) for v in lrs[2:])
    # epoch 6: the float32 rounding step 1.0000000475e-4 -> 9.9999997e-5, as in Keras
    assert rl.reductions == [2, 6]


def test_reduce_lr_cooldown_holds_wait_at_zero():
    rl = ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=0.0, cooldown=2)
    _, _, lrs = drive(rl, [1.0] * 8, lr=1.0)
    # Fires at 1. Keras decrements the cooldown counter *before* testing it, so
    # cooldown=2 blocks only one epoch of counting: it fires again at 3, 5 and 7.
    assert lrs == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]


def test_callbacks_validate_arguments():
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="down")
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ValueError, match="not in logs"):
        drive(EarlyStopping(monitor="val_loss"), [1.0], key="loss")
    assert EarlyStopping(monitor="val_acc").mode == "max"


def test_keras_adam_two_steps_by_hand():
    # tf.keras / Keras 3 Adam: alpha_t = lr sqrt(1 - b2^t) / (1 - b1^t),
    # x -= alpha_t m_t / (sqrt(v_t) + eps), eps = 1e-7.
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7
    opt = Adam(lr, eps=eps, eps_hat=True)
    x = np.array([0.5, -2.0])
    g1, g2 = np.array([0.3, 1e-9]), np.array([-0.1, 2e-9])
    opt.reset(x)
    opt.step(x, g1)
    m, v = (1 - b1) * g1, (1 - b2) * g1**2
    expected = np.array([0.5, -2.0]) - lr * math.sqrt(1 - b2) / (1 - b1) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(x, expected, rtol=1e-14)
    opt.step(x, g2)
    m, v = b1 * m + (1 - b1) * g2, b2 * v + (1 - b2) * g2**2
    expected -= lr * math.sqrt(1 - b2**2) / (1 - b1**2) * m / (np.sqrt(v) + eps)
    np.testing.assert_allclose(x, expected, rtol=1e-14)
    # A gradient far below eps moves the parameter by much less than lr.
    assert abs(x[1] + 2.0) < 0.05 * lr


def small_fit(**kw):
    d = sales_matrix(n_products=40, n_stores=12, rank=3, seed=0)
    f = ExpMF(d.observed, 2, reg=1e-4)
    theta0 = f.keras_uniform_init(seed=0)
    return d, f, theta0


def test_fit_logs_the_keras_epoch_loss():
    d, f, theta0 = small_fit()
    N, B = d.observed.nnz, 64
    res = fit_keras_like(f, theta0, Adam(1e-2, eps=1e-7, eps_hat=True), batch_size=B,
                         epochs=3, val=d.hidden(), seed=5)
    assert res.n_steps == 3 * math.ceil(N / B)
    # Replay: same shuffles, same Adam, batch losses before each step, weighted by size.
    rng = np.random.default_rng(5)
    opt = Adam(1e-2, eps=1e-7, eps_hat=True)
    theta = theta0.copy()
    opt.reset(theta)
    for epoch in range(3):
        perm = rng.permutation(N)
        total = 0.0
        for lo in range(0, N, B):
            mse, pen, g = f.batch_loss_grad(theta, perm[lo:lo + B])
            total += len(perm[lo:lo + B]) * (mse + pen)
            opt.step(theta, g)
        assert res.history["loss"][epoch] == pytest.approx(total / N, rel=1e-12)
        assert res.history["val_loss"][epoch] == pytest.approx(
            f.mse(theta, d.hidden()) + f.penalty(theta), rel=1e-12)
    np.testing.assert_array_equal(res.theta, theta)


class Recorder(Callback):
    def on_train_begin(self, state):
        self.thetas = []

    def on_epoch_end(self, epoch, logs, state):
        self.thetas.append(state.theta.copy())


def test_fit_stops_and_restores_best_weights():
    d, f, theta0 = small_fit()
    rec = Recorder()
    es = EarlyStopping(monitor="loss", min_delta=1e9, patience=2, restore_best_weights=True)
    res = fit_keras_like(f, theta0, Adam(1e-2), batch_size=50, epochs=10,
                         callbacks=[es, rec], seed=1)
    # Nothing beats +inf - 1e9 except epoch 0: stop at epoch 2, restore epoch 0.
    assert res.stopped_epoch == 2 and res.n_epochs == 3 and res.restored_epoch == 0
    np.testing.assert_array_equal(res.theta, rec.thetas[0])


def test_fit_lr_schedule_reaches_the_optimizer():
    d, f, theta0 = small_fit()
    rl = ReduceLROnPlateau(monitor="loss", patience=1, min_delta=1e9, min_lr=1e-4)
    res = fit_keras_like(f, theta0, Adam(1e-2), batch_size=50, epochs=4, callbacks=[rl], seed=1)
    np.testing.assert_allclose(res.history["lr"], [1e-2, 1e-2, 1e-3, 1e-4])
    assert res.lr_reductions == [1, 2]


def test_fit_is_reproducible_and_validates():
    d, f, theta0 = small_fit()
    a = fit_keras_like(f, theta0, Adam(1e-2), batch_size=50, epochs=2, seed=3)
    b = fit_keras_like(f, theta0, Adam(1e-2), batch_size=50, epochs=2, seed=3)
    np.testing.assert_array_equal(a.theta, b.theta)
    with pytest.raises(ValueError, match="batch_size"):
        fit_keras_like(f, theta0, Adam(), batch_size=0, epochs=1)
    with pytest.raises(ValueError, match="theta0"):
        fit_keras_like(f, np.full(3, np.nan), Adam(), batch_size=5, epochs=1)


def test_reduce_lr_at_the_float32_floor_does_nothing():
    """Keras compares its float32 rate with float32(min_lr): at the floor no further cut, and
    ``wait`` is not reset (it keeps counting)."""
    cb = ReduceLROnPlateau(patience=2, min_delta=0.1, min_lr=1e-4)
    _, _, lrs = drive(cb, [10.0] * 8, key="val_loss", lr=1e-3)
    assert lrs[2] == float(np.float32(1e-3)) * 0.1 > np.float32(1e-4)
    assert lrs[4] == float(np.float32(1e-4)) and cb.reductions == [2, 4]
    assert lrs[-1] == lrs[4]
    assert cb.wait == 3           # reset at the two cuts, not at the refused one (epoch 6)


def test_divergence_raises_divergence_error_naming_optimizer_step_and_lr():
    from mfbook.core import DivergenceError

    d, f, theta0 = small_fit()
    with pytest.raises(DivergenceError, match=r"fit_keras_like \(Adam\) diverged at step \d+ "
                                              r"with learning rate 1000"):
        fit_keras_like(f, theta0, Adam(1e3), batch_size=50, epochs=5, seed=0)
    with pytest.raises(DivergenceError, match="more than 100 times its starting value"):
        fit_keras_like(f, theta0, Adam(10.0), batch_size=50, epochs=5, seed=0,
                       divergence_factor=100.0)
    # a sensible rate passes the same rule
    fit_keras_like(f, theta0, Adam(1e-2), batch_size=50, epochs=5, seed=0)


def test_bad_arguments_raise_type_or_value_error_naming_them():
    d, f, theta0 = small_fit()
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        fit_keras_like(f, theta0, Adam(), batch_size=2.5, epochs=1)
    with pytest.raises(TypeError, match="epochs must be an integer"):
        fit_keras_like(f, theta0, Adam(), batch_size=5, epochs=True)
    with pytest.raises(TypeError, match="optimizer must be a mfbook.core.Optimizer"):
        fit_keras_like(f, theta0, "adam", batch_size=5, epochs=1)
    with pytest.raises(TypeError, match="model must provide batch_loss_grad"):
        fit_keras_like(object(), theta0, Adam(), batch_size=5, epochs=1)
    with pytest.raises(TypeError, match="val must be a mfbook.core.Ratings"):
        fit_keras_like(f, theta0, Adam(), batch_size=5, epochs=1, val=np.ones(3))
    with pytest.raises(TypeError, match="callbacks must be mfbook.nmf.Callback"):
        fit_keras_like(f, theta0, Adam(), batch_size=5, epochs=1, callbacks=[print])
    with pytest.raises(TypeError, match="theta0 must hold real numbers"):
        fit_keras_like(f, np.array(["a"] * 3), Adam(), batch_size=5, epochs=1)
    with pytest.raises(TypeError, match="patience must be an integer"):
        EarlyStopping(patience=2.0)
    with pytest.raises(ValueError, match="min_lr must be a finite number >= 0"):
        ReduceLROnPlateau(min_lr=-1.0)
    with pytest.raises(ValueError, match="min_delta must be a finite number"):
        ReduceLROnPlateau(min_delta=np.nan)
    with pytest.raises(TypeError, match="monitor must be"):
        EarlyStopping(monitor=3)
    with pytest.raises(TypeError, match="restore_best_weights must be True or False"):
        EarlyStopping(restore_best_weights="yes")
