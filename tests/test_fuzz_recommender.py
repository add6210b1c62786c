"""Hostile input to MatrixFactorization: every bad hyper-parameter, bad data and bad query is
refused with a ValueError or TypeError whose message names the argument, and every blow-up
of a solver raises DivergenceError.  Property-based (Hypothesis) where it fits."""

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn.exceptions import NotFittedError

from mfbook.core import DivergenceError, Ratings
from mfbook.datasets import streamrec
from mfbook.recommender import MatrixFactorization

# MFBOOK_FUZZ_EXAMPLES raises the number of examples for a longer hunt than CI's.
SETTINGS = settings(max_examples=int(os.environ.get("MFBOOK_FUZZ_EXAMPLES", 40)), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def small(seed=0):
    R = streamrec(n_users=12, n_items=9, true_rank=2, obs_rate=0.6, noise_std=0.1,
                  seed=seed).observed
    return R.with_values(R.values + 3.0)


TRAIN = small()
X_TRAIN = np.c_[TRAIN.rows, TRAIN.cols]
Y_TRAIN = np.array(TRAIN.values)

junk = st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=3), st.just(object()),
                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
bad_real = st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf), st.booleans(),
                     junk)
negative = st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False)

BAD = {
    "rank": st.one_of(st.integers(max_value=0), st.floats(0.5, 9.5), st.just(True), junk),
    "solver": st.one_of(st.text(max_size=6).filter(lambda s: s not in
                                                   ("sgd", "minibatch", "adam", "als")), junk),
    "biased": st.one_of(st.integers(2, 5), st.just("True"), st.just(None)),
    "reg": st.one_of(negative, bad_real),
    "reg_bias": st.one_of(negative, bad_real),
    "reg_weighting": st.one_of(st.sampled_from(["users", "Count", ""]), junk),
    "penalty": st.one_of(st.sampled_from(["row", "batch"]), junk),
    "lr": st.one_of(st.floats(max_value=0.0, allow_nan=False), bad_real),
    "lr_decay": st.one_of(st.floats(max_value=0.0, allow_nan=False),
                          st.floats(min_value=1.0 + 1e-9, allow_nan=False), bad_real),
    "n_epochs": st.one_of(st.integers(max_value=0), st.floats(1.5, 3.5), st.booleans(), junk),
    "tol": st.one_of(negative, bad_real),
    "batch_size": st.one_of(st.integers(max_value=0), st.floats(1.5, 3.5), st.booleans(), junk),
    "momentum": st.one_of(negative, st.floats(min_value=1.0, allow_nan=False), bad_real),
    "beta1": st.one_of(negative, st.floats(min_value=1.0, allow_nan=False), bad_real),
    "beta2": st.one_of(negative, st.floats(min_value=1.0, allow_nan=False), bad_real),
    "eps": st.one_of(st.floats(max_value=0.0, allow_nan=False), bad_real),
    "init_std": st.one_of(st.floats(max_value=0.0, allow_nan=False), bad_real),
    "mu": bad_real,
    "clip": st.one_of(st.floats(allow_nan=False), st.just("auto"),
                      st.tuples(st.floats(1, 5), st.floats(-5, 1)),
                      st.tuples(st.just(math.nan), st.just(5.0)),
                      st.tuples(st.integers(), st.integers(), st.integers())),
    "cold_start": st.one_of(st.sampled_from(["zero", "mean"]), junk),
    "shape": st.one_of(st.tuples(st.integers(max_value=0), st.integers(1, 9)),
                       st.tuples(st.floats(1.5, 9.5), st.integers(1, 9)),
                       st.tuples(st.integers(1, 9)), st.integers(1, 9), st.just([12, 9])),
    "early_stopping": st.one_of(st.integers(2, 5), st.just("yes")),
    "validation_fraction": st.one_of(st.floats(max_value=0.0, allow_nan=False),
                                     st.floats(min_value=1.0, allow_nan=False), bad_real),
    "n_iter_no_change": st.one_of(st.integers(max_value=0), st.floats(1.5, 3.5), st.booleans(),
                                  junk),
    "min_delta": st.one_of(negative, bad_real),
    "monitor": st.one_of(st.integers(2, 5), st.just("yes")),
    "n_jobs": st.one_of(st.just(0), st.floats(1.5, 3.5), st.booleans(), junk),
    "als_solve": st.one_of(st.sampled_from(["lu", "CG", ""]), junk),
    "cg_steps": st.one_of(st.integers(max_value=0), st.floats(1.5, 3.5), st.booleans(), junk),
    "random_state": st.one_of(st.integers(max_value=-1), st.floats(0.5, 3.5), st.booleans(),
                              junk),
    "progress": st.one_of(st.integers(2, 5), st.just("yes")),
}


def test_every_constructor_parameter_is_fuzzed():
    assert set(BAD) == set(MatrixFactorization().get_params())


@SETTINGS
@given(data=st.data())
def test_bad_hyper_parameters_are_refused_by_name(data):
    name = data.draw(st.sampled_from(sorted(BAD)))
    value = data.draw(BAD[name])
    solver = {"batch_size": "minibatch", "momentum": "minibatch", "beta1": "adam",
              "beta2": "adam", "eps": "adam"}.get(name, "sgd")
    params = {"solver": solver, "n_epochs": 1, name: value}
    if name == "mu":
        params["biased"] = True
    est = MatrixFactorization(**params)
    with pytest.raises((ValueError, TypeError)) as info:
        est.fit(X_TRAIN, Y_TRAIN)
    assert name in str(info.value)
    assert not hasattr(est, "theta_")
    with pytest.raises(NotFittedError):
        est.predict(X_TRAIN)


@SETTINGS
@given(X=hnp.arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(0, 5)).filter(
    lambda s: s[1] != 2), elements=st.integers(0, 5)))
def test_x_of_another_width_is_refused(X):
    with pytest.raises(ValueError, match=r"two columns|2D array|0 feature"):
        MatrixFactorization(n_epochs=1).fit(X, np.ones(len(X)))


@SETTINGS
@given(X=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.just(2)),
                    elements=st.floats(0, 20, allow_nan=False)))
def test_float_indices_are_refused_even_when_whole(X):
    with pytest.raises(TypeError, match="X must hold integer"):
        MatrixFactorization(n_epochs=1).fit(X, np.ones(len(X)))


@SETTINGS
@given(X=hnp.arrays(np.int64, st.tuples(st.integers(1, 6), st.just(2)),
                    elements=st.integers(-10**12, 20)).filter(lambda a: (a < 0).any()))
def test_negative_indices_always_raise(X):
    with pytest.raises(ValueError, match="Negative values in data"):
        MatrixFactorization(n_epochs=1).fit(X, np.ones(len(X)))
    est = MatrixFactorization(n_epochs=1).fit(X_TRAIN, Y_TRAIN)
    with pytest.raises(ValueError, match="Negative values in data"):
        est.predict(X)


@SETTINGS
@given(bad=st.sampled_from([math.nan, math.inf, -math.inf]), where=st.integers(0, 20))
def test_non_finite_ratings_are_refused(bad, where):
    y = Y_TRAIN.copy()
    y[where % len(y)] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        MatrixFactorization(n_epochs=1).fit(X_TRAIN, y)
    with pytest.raises(ValueError, match="Input y_val contains|Input y contains"):
        MatrixFactorization(n_epochs=1).fit(X_TRAIN, Y_TRAIN, X_val=X_TRAIN, y_val=y)


@pytest.mark.parametrize("y, error, message", [
    (np.ones(3), ValueError, "inconsistent numbers of samples"),
    (np.ones((len(Y_TRAIN), 2)), ValueError, "y should be a 1d array"),
    (np.array(["a"] * len(Y_TRAIN)), ValueError, "could not convert|Unknown label"),
])
def test_targets_of_the_wrong_form_are_refused(y, error, message):
    with pytest.raises(error, match=message):
        MatrixFactorization(n_epochs=1).fit(X_TRAIN, y)


@SETTINGS
@given(pairs=hnp.arrays(np.int64, st.tuples(st.integers(1, 8), st.just(2)),
                        elements=st.integers(0, 10**15)))
def test_queries_past_a_declared_shape_raise_and_inside_follow_cold_start(pairs):
    declared = MatrixFactorization(n_epochs=2, random_state=0).fit(TRAIN)
    inferred = MatrixFactorization(n_epochs=2, random_state=0).fit(X_TRAIN, Y_TRAIN)
    m, n = TRAIN.shape
    inside = (pairs[:, 0] < m) & (pairs[:, 1] < n)
    if inside.all():
        pred = declared.predict(pairs)
        assert np.isfinite(pred).all()
        assert np.all((pred >= declared.clip_[0]) & (pred <= declared.clip_[1]))
    else:
        with pytest.raises(ValueError, match="out of range for the declared shape"):
            declared.predict(pairs)
    # Without a declared shape, an index never seen in training is a new user or item.
    pred = inferred.predict(pairs)
    assert np.isfinite(pred).all()
    both_new = (pairs[:, 0] >= m) & (pairs[:, 1] >= n)
    assert np.allclose(pred[both_new], np.clip(inferred.mu_, *inferred.clip_))
    if not inside.all():
        with pytest.raises(ValueError, match="without training ratings"):
            inferred.set_params(cold_start="raise").predict(pairs)


@SETTINGS
@given(shape=st.tuples(st.integers(1, 30), st.integers(1, 30)).filter(
    lambda s: s != TRAIN.shape))
def test_a_ratings_of_another_shape_is_refused_everywhere(shape):
    est = MatrixFactorization(n_epochs=1, random_state=0).fit(TRAIN)
    other = Ratings([0], [0], [3.0], shape)
    for method in (est.predict, est.rmse, est.score):
        with pytest.raises(ValueError, match=f"X is a Ratings of shape \\({shape[0]}, "):
            method(other)
    with pytest.raises(ValueError, match="X_val is a Ratings of shape"):
        MatrixFactorization(n_epochs=1).fit(TRAIN, X_val=other)
    with pytest.raises(ValueError, match="but the estimator was given shape"):
        MatrixFactorization(n_epochs=1, shape=shape).fit(TRAIN)


@SETTINGS
@given(seed=st.integers(0, 10**6), solver=st.sampled_from(["sgd", "minibatch", "adam", "als"]),
       biased=st.booleans(), rank=st.integers(1, 4))
def test_valid_problems_give_finite_clipped_order_free_predictions(seed, solver, biased, rank):
    rng = np.random.default_rng(seed)
    m, n = rng.integers(2, 9, size=2)
    cells = rng.choice(m * n, size=rng.integers(1, m * n + 1), replace=False)
    X = np.c_[cells // n, cells % n]
    y = rng.uniform(1, 5, len(cells))
    est = MatrixFactorization(rank=int(rank), solver=solver, biased=biased, n_epochs=3,
                              lr=0.005, random_state=seed).fit(X, y)
    pred = est.predict(X)
    assert np.isfinite(pred).all() and pred.min() >= y.min() and pred.max() <= y.max()
    perm = rng.permutation(len(X))
    assert np.array_equal(est.predict(X[perm]), pred[perm])


@pytest.mark.parametrize("solver, lr", [("adam", 1e3), ("sgd", 50.0), ("minibatch", 1e4)])
def test_blow_ups_raise_divergence_error_naming_solver_step_and_lr(solver, lr):
    est = MatrixFactorization(rank=3, solver=solver, lr=lr, n_epochs=30, random_state=0)
    with pytest.raises(DivergenceError) as info:
        est.fit(TRAIN)
    text = str(info.value)
    assert f"solver='{solver}'" in text and "diverged at step" in text
    assert f"learning rate {lr:g}" in text
    assert not hasattr(est, "theta_")
    with pytest.raises(NotFittedError):         # a failed fit leaves no model behind
        est.predict(X_TRAIN)
    est.set_params(lr=1e-3).fit(TRAIN)
    with pytest.raises(DivergenceError):        # nor does a failed refit
        est.set_params(lr=lr).fit(TRAIN)
    with pytest.raises(NotFittedError):
        est.predict(X_TRAIN)


def test_divergence_is_caught_without_per_epoch_evaluation_on_large_data():
    # More ratings than the divergence estimate reads: it still sees the blow-up.
    R = streamrec(n_users=400, n_items=300, true_rank=3, obs_rate=0.1, noise_std=0.1,
                  seed=1).observed
    assert R.nnz > 10_000
    with pytest.raises(DivergenceError, match=r"Adam|solver='adam'"):
        MatrixFactorization(rank=3, solver="adam", lr=1e3, n_epochs=5, random_state=0).fit(R)


def test_the_divergence_estimate_is_the_objective_on_small_data_and_close_on_large():
    from mfbook.core import MFObjective
    from mfbook.recommender._training import GUARD_SAMPLE, Evaluator

    for R, tol in [(TRAIN, 1e-12), (streamrec(n_users=400, n_items=300, true_rank=3,
                                              obs_rate=0.2, noise_std=0.1, seed=2).observed, 0.05)]:
        obj = MFObjective(R, 3, reg=0.5, biased=True)
        theta = obj.random_params(0.3, seed=0)
        estimate = Evaluator(obj, None, False, None, None)(theta)["loss_estimate"]
        assert (R.nnz > GUARD_SAMPLE) == (tol > 1e-12)
        assert estimate == pytest.approx(obj.loss(theta), rel=tol)
        if tol > 1e-12:   # an estimate, not the value
            assert estimate != pytest.approx(obj.loss(theta), rel=1e-6)


def test_rmse_refuses_non_numeric_targets_naming_y():
    X = np.array([[0, 0], [1, 1], [0, 1]])
    model = MatrixFactorization(2, n_epochs=2, random_state=0).fit(X, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="y must"):
        model.rmse(X, ["a", "b", "c"])
    with pytest.raises(ValueError, match="y must be finite"):
        model.rmse(X, [1.0, np.nan, 2.0])
