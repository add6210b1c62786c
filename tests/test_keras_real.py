"""The real Keras model against the NumPy trainer of chapter 5 (needs the ``keras`` extra).

Same start (float32-rounded), same batches in the same order: the per-epoch losses agree
to RTOL (float32 rounding accumulated over the run; measured about 1e-6 here), and Keras'
own callbacks cut the learning rate and stop at the same epochs as the NumPy copies.
"""

import numpy as np
import pytest

pytest.importorskip("jax")
keras_mod = pytest.importorskip("mfbook.nmf._keras")

from mfbook.core import Adam  # noqa: E402
from mfbook.datasets import sales_matrix  # noqa: E402
from mfbook.nmf import (EarlyStopping, ExpMF, ReduceLROnPlateau, fit_keras,  # noqa: E402
                        fit_keras_like, keras_expmf)

RTOL = 1e-4          # float32 (Keras) against float64 (NumPy), over 50 epochs
EPOCHS = 50


@pytest.fixture(scope="module")
def problem():
    d = sales_matrix(n_products=120, n_stores=30, seed=3)
    R, V = d.observed, d.hidden()
    model = ExpMF(R, 4, reg=1e-6)
    theta0 = model.keras_uniform_init(seed=0).astype(np.float32).astype(np.float64)
    return model, V, theta0


def _both(problem, callbacks, epochs=EPOCHS, seed=5):
    model, V, theta0 = problem
    kw = dict(batch_size=256, epochs=epochs, val=V, seed=seed)
    fk = fit_keras(model, theta0, Adam(1e-2, eps=1e-7, eps_hat=True), callbacks=callbacks(), **kw)
    fn = fit_keras_like(model, theta0, Adam(1e-2, eps=1e-7, eps_hat=True),
                        callbacks=callbacks(), **kw)
    return fk, fn


@pytest.fixture(scope="module")
def plain(problem):
    return _both(problem, lambda: [])


def test_prediction_matches_expmf(problem):
    model, V, theta0 = problem
    net = keras_expmf(model, theta0)
    rows, cols = V.rows[:50], V.cols[:50]
    pred = np.asarray(net.predict((rows[:, None].astype(np.int32), cols[:, None].astype(np.int32)),
                                  verbose=0))
    np.testing.assert_allclose(pred, model.predict(theta0, rows, cols), rtol=1e-5)


def test_loss_curves_agree(plain):
    fk, fn = plain
    assert fk.n_epochs == fn.n_epochs == EPOCHS
    for key in ("loss", "val_loss", "train_mse", "val_mse", "penalty"):
        np.testing.assert_allclose(fk.history[key], fn.history[key], rtol=RTOL, err_msg=key)
    # the run moved: the agreement is not that of two idle models
    assert fn.history["loss"][-1] < 0.5 * fn.history["loss"][0]


def test_different_batches_disagree(problem, plain):
    """The test can fail: another batch order gives curves that differ beyond RTOL."""
    model, V, theta0 = problem
    fk, _ = plain
    other = fit_keras_like(model, theta0, Adam(1e-2, eps=1e-7, eps_hat=True), batch_size=256,
                           epochs=EPOCHS, val=V, seed=6)
    rel = np.abs(other.history["loss"] - fk.history["loss"]) / fk.history["loss"]
    assert rel.max() > 10 * RTOL


def _callbacks():
    return [EarlyStopping(monitor="loss", patience=4, min_delta=0.05, restore_best_weights=True),
            ReduceLROnPlateau(patience=2, min_delta=0.5, min_lr=1e-3)]


def test_callbacks_fire_at_the_same_epochs(problem):
    fk, fn = _both(problem, _callbacks, epochs=200)
    assert fn.lr_reductions, "the learning rate should be cut in this set-up"
    assert fn.stopped_epoch is not None, "training should stop early in this set-up"
    assert fk.lr_reductions == fn.lr_reductions
    assert fk.stopped_epoch == fn.stopped_epoch
    assert fk.restored_epoch == fn.restored_epoch
    assert fk.n_epochs == fn.n_epochs
    np.testing.assert_allclose(fk.history["lr"], fn.history["lr"], rtol=1e-6)
    np.testing.assert_allclose(fk.history["loss"], fn.history["loss"], rtol=RTOL)
    np.testing.assert_allclose(fk.theta, fn.theta, rtol=1e-3, atol=1e-4)


def test_fit_keras_refuses_bad_arguments(problem):
    model, V, theta0 = problem
    with pytest.raises(TypeError, match="optimizer"):
        fit_keras(model, theta0, "adam", batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="eps_hat"):
        fit_keras(model, theta0, Adam(1e-3), batch_size=8, epochs=1)
    with pytest.raises(TypeError, match="batch_size"):
        fit_keras(model, theta0, Adam(1e-3, eps_hat=True), batch_size=8.0, epochs=1)
    with pytest.raises(TypeError, match="callbacks"):
        fit_keras(model, theta0, Adam(1e-3, eps_hat=True), batch_size=8, epochs=1,
                  callbacks=[object()])
    with pytest.raises(TypeError, match="model"):
        keras_expmf("model", theta0)


def test_mlp_variant_builds_and_trains(problem):
    from mfbook.nmf import fit_keras_network, keras_mlp

    model, V, _ = problem
    net = keras_mlp(model.shape, 4, 2, spacing="log")
    dense = [layer.units for layer in net.layers if layer.__class__.__name__ == "Dense"]
    assert dense == [4, 2, 1]          # widths 8 -> 4 -> 2 -> 1, strictly decreasing
    out = fit_keras_network(net, model.ratings, lr=3e-3, batch_size=256, epochs=3, val=V, seed=0)
    assert out["n_epochs"] == 3 and np.isfinite(out["val_mse"]) and out["n_params"] > 0
    with pytest.raises(ValueError, match="spacing"):
        keras_mlp(model.shape, 4, 2, spacing="cubic")
    with pytest.raises(TypeError, match="n_steps"):
        keras_mlp(model.shape, 4, 2.0)
