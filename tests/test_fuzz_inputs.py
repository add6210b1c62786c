"""Hostile input to the public entry points of mfbook.core, mfbook.datasets, mfbook.landscape
and mfbook.deep: each bad argument is refused with a ValueError or TypeError whose message
names the argument, no raw NumPy/SciPy exception escapes, nothing returns silently, and every
blow-up of a training loop raises DivergenceError (or reports status "diverged"/"failed").

The table ENTRIES lists, for every entry point, a valid call and the kind of each argument; a
kind stands for a class of bad values (non-finite, wrong type, out of range, wrong shape,
negative or float index).  Every (entry point, argument, bad value) triple is one test; the
numeric ranges are also probed property-based with Hypothesis.  (MatrixFactorization has its
own suite, tests/test_fuzz_recommender.py.)
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mfbook import core, datasets, deep, landscape
from mfbook.core import (Adam, DivergenceError, DivergenceGuard, GradientDescent, HeavyBall,
                         MFObjective, Nesterov, Ratings, descend, divergence_reason)

SETTINGS = settings(max_examples=int(os.environ.get("MFBOOK_FUZZ_EXAMPLES", 30)),
                    deadline=None)

# ---------------------------------------------------------------------- fixtures
R = Ratings.from_dense(np.arange(12.0).reshape(3, 4) / 4 + 1)
F = MFObjective(R, 2, reg=0.1)
TH = F.random_params(0.5, seed=0)
FB = MFObjective(R, 1, biased=True)
Y = np.diag([3.0, 2.0, 0.5])
DM = deep.DeepMF(Y, [3], 0.1)
DTH = DM.random_params(0.5, seed=0)
SNAPS = np.stack([TH + 0.01 * i for i in range(4)])
POINT = deep.enumerate_critical_points(DM)[0]

NAN, INF = math.nan, math.inf
JUNK = ["x", None, object(), [1, "a"]]          # never a number, an array or a shape

BAD = {
    # numbers
    "pos_int": [0, -1, 1.5, True, "2", None, NAN],
    "nonneg_int": [-1, 2.5, True, "1", None],
    "int": [1.5, True, "1", None],
    "pos_real": [0.0, -1.0, NAN, INF, "x", True, None],
    "nonneg_real": [-1.0, -1e-12, NAN, INF, "x", True, None],
    "real": [NAN, INF, -INF, "x", True, None],
    "unit": [-0.1, 1.0, 1.5, NAN, "x", True],      # [0, 1)
    "rate": [0.0, -0.5, 1.5, NAN, "x"],            # (0, 1]
    "tol01": [0.0, 1.0, -1.0, NAN, "x"],           # (0, 1)
    "bool": [1, 0, "True", None, 2.0],
    # arrays of the objective's parameter shape and friends
    "theta": [np.full(F.dim, NAN), np.r_[TH[:-1], INF], TH[:-1], np.array(["a"] * F.dim),
              TH.reshape(2, -1), "x", None, [[1, 2], [3]]],
    "dtheta": [np.full(DM.dim, NAN), DTH[:-1], np.array(["a"] * DM.dim), "x", None],
    "snapshots": [np.full((3, F.dim), NAN), SNAPS[:, :-1], np.array([["a"] * F.dim]), "x"],
    "dstarts": [np.full((2, DM.dim), NAN), np.zeros((2, DM.dim - 1)), "x", None],
    "vector": [np.array([NAN, 1.0]), np.array(["a", "b"]), np.zeros((2, 2, 2)), "x", None],
    "matrix": [np.array([[NAN, 1.0]]), np.ones(3), np.array([["a"]]), "x", None],
    "dense": [np.array([[INF, 1.0]]), np.ones(3), np.array([["a"]]), "x", None],
    "array": [np.array([NAN, 1.0]), np.array(["a", "b"]), "x", None],
    "anysnapshots": [np.full((3, 4), NAN), np.ones(3), np.array([["a"] * 4]), "x"],
    "widths": [[0], [1.5], [True], "x", None, [], 3],
    "objective": ["x", None, R, np.zeros(3)],
    "deepmodel": ["x", None, F],
    "ratings": ["x", None, np.ones((2, 2))],
    "callable": ["x", None, 3],
    "optimizer": ["x", None, GradientDescent],
    "seed": ["x", 1.5, [object()]],
    "shape": [(2.7, 3), (0, 3), (3,), "x", None, (True, 2), (-1, 2)],
    "indices": [np.array([-1, 0]), np.array([0.5]), np.array([99]), np.array(["a"]), "x"],
}


def _ratings(**kw):
    base = dict(rows=[0, 1], cols=[0, 1], values=[1.0, 2.0], shape=(2, 2))
    return Ratings(**{**base, **kw})


# (label, function, valid kwargs, {argument: kind})
ENTRIES = [
    # ---- core
    ("Ratings", _ratings, {}, {"rows": "indices", "cols": "indices", "values": "vector",
                               "shape": "shape"}),
    ("Ratings.from_dense", Ratings.from_dense, dict(matrix=np.eye(2)), {"matrix": "dense"}),
    ("Ratings.subset", R.subset, dict(index=np.array([0, 1])), {"index": "indices"}),
    ("Ratings.with_values", R.with_values, dict(values=np.ones(12)), {"values": "vector"}),
    ("Ratings.split", R.split, dict(fractions=[0.5, 0.5], seed=0),
     {"fractions": "vector", "seed": "seed"}),
    ("Ratings.complement", R.subset([0, 1]).complement, dict(matrix=np.ones((3, 4))), {"matrix": "dense"}),
    ("as_generator", core.as_generator, dict(seed=0), {"seed": "seed"}),
    ("MFObjective", MFObjective, dict(ratings=R, rank=2),
     {"ratings": "ratings", "rank": "pos_int", "reg": "nonneg_real", "reg_bias": "nonneg_real",
      "mean": "bool", "half": "bool", "biased": "bool"}),
    ("MFObjective.loss", F.loss, dict(theta=TH), {"theta": "theta"}),
    ("MFObjective.loss_grad", F.loss_grad, dict(theta=TH), {"theta": "theta"}),
    ("MFObjective.hvp", F.hvp, dict(theta=TH, direction=TH), {"theta": "theta",
                                                              "direction": "theta"}),
    ("MFObjective.hessian", F.hessian, dict(theta=TH), {"theta": "theta"}),
    ("MFObjective.predict", F.predict, dict(theta=TH, rows=[0], cols=[1]),
     {"theta": "theta", "rows": "indices", "cols": "indices"}),
    ("MFObjective.random_params", F.random_params, dict(std=0.1, seed=0),
     {"std": "nonneg_real", "seed": "seed"}),
    ("MFObjective.pack", F.pack, dict(U=np.ones((3, 2)), V=np.ones((4, 2))),
     {"U": "matrix", "V": "matrix"}),
    ("GradientDescent", GradientDescent, dict(lr=0.1), {"lr": "pos_real"}),
    ("HeavyBall", HeavyBall, dict(lr=0.1), {"lr": "pos_real", "beta": "unit"}),
    ("Nesterov", Nesterov, dict(lr=0.1), {"lr": "pos_real", "beta": "unit"}),
    ("Adam", Adam, dict(lr=0.1), {"lr": "pos_real", "beta1": "unit", "beta2": "unit",
                                  "eps": "nonneg_real", "eps_hat": "bool"}),
    ("descend", descend, dict(fun=F, x0=TH, optimizer=GradientDescent(0.01), n_steps=3),
     {"fun": "callable", "x0": "theta", "optimizer": "optimizer", "n_steps": "nonneg_int",
      "snapshot_every": "pos_int", "gtol": "nonneg_real"}),
    ("rmse", core.rmse, dict(pred=[1.0, 2.0], target=[1.0, 3.0]),
     {"pred": "vector", "target": "vector"}),
    ("mse", core.mse, dict(pred=[1.0, 2.0], target=[1.0, 3.0]),
     {"pred": "vector", "target": "vector"}),
    ("product_distance", core.product_distance,
     dict(U1=np.ones((3, 1)), V1=np.ones((2, 1)), U2=np.ones((3, 1)), V2=np.ones((2, 1))),
     {"U1": "matrix", "V1": "matrix", "U2": "matrix", "V2": "matrix", "relative": "bool"}),
    ("product_svd", core.product_svd, dict(U=np.ones((3, 1)), V=np.ones((2, 1))),
     {"U": "matrix", "V": "matrix", "compute_uv": "bool"}),
    ("central_differences", core.central_differences, dict(fun=np.sum, x=np.ones(2)),
     {"fun": "callable", "x": "vector"}),
    ("DivergenceGuard", DivergenceGuard, dict(optimizer="GD"), {"factor": "pos_real"}),
    # ---- datasets
    ("streamrec", datasets.streamrec, dict(n_users=8, n_items=6, true_rank=2, obs_rate=0.5),
     {"n_users": "pos_int", "n_items": "pos_int", "true_rank": "pos_int", "obs_rate": "rate",
      "noise_std": "nonneg_real", "seed": "seed"}),
    ("rating_matrix", datasets.rating_matrix, dict(n_users=8, n_items=6, true_rank=2),
     {"n_users": "pos_int", "n_items": "pos_int", "true_rank": "pos_int", "obs_rate": "rate",
      "noise_std": "nonneg_real", "min_per_row": "nonneg_int", "min_per_col": "nonneg_int",
      "seed": "seed"}),
    ("sales_matrix", datasets.sales_matrix, dict(n_products=30, n_stores=10, rank=3),
     {"n_products": "pos_int", "n_stores": "pos_int", "rank": "pos_int", "obs_rate": "rate",
      "weight_decades": "nonneg_real", "seed": "seed", "max_tries": "pos_int"}),
    ("movielens_like", datasets.movielens_like,
     dict(n_users=10, n_items=8, n_ratings=40, rank=2, min_per_user=2),
     {"n_users": "pos_int", "n_items": "pos_int", "n_ratings": "pos_int", "rank": "pos_int",
      "mu": "real", "user_bias_std": "nonneg_real", "item_bias_std": "nonneg_real",
      "signal_std": "nonneg_real", "noise_std": "nonneg_real", "min_per_user": "nonneg_int",
      "user_activity_sigma": "nonneg_real", "item_popularity_sigma": "nonneg_real",
      "seed": "seed"}),
    # ---- landscape
    ("random_direction", landscape.random_direction, dict(objective=F, theta=TH, seed=0),
     {"objective": "objective", "theta": "theta", "seed": "seed"}),
    ("evaluate_plane", landscape.evaluate_plane,
     dict(loss=F.loss, center=TH, d1=TH, d2=TH, alphas=np.linspace(-1, 1, 3),
          betas=np.linspace(-1, 1, 3)),
     {"loss": "callable", "center": "theta", "d1": "theta", "d2": "theta", "alphas": "vector",
      "betas": "vector", "batch_size": "pos_int"}),
    ("restrict_to_coordinates", landscape.restrict_to_coordinates,
     dict(objective=F, base=TH, free=[0, 1]),
     {"objective": "objective", "base": "theta", "free": "indices"}),
    ("hessian_extremes", landscape.hessian_extremes,
     dict(hvp=lambda v: F.hvp(TH, v), dim=F.dim, k=1),
     {"hvp": "callable", "dim": "pos_int", "k": "pos_int", "tol": "nonneg_real",
      "maxiter": "pos_int", "seed": "seed"}),
    ("classify_critical_point", landscape.classify_critical_point,
     dict(eigenvalues=np.array([1.0, 2.0])),
     {"eigenvalues": "array", "tol": "nonneg_real", "symmetry_dim": "nonneg_int"}),
    ("find_critical_points", landscape.find_critical_points,
     dict(fun=F.loss_grad, hessian=F.hessian, starts=SNAPS[:2]),
     {"fun": "callable", "hessian": "callable", "starts": "snapshots", "gtol": "pos_real",
      "dedup_tol": "pos_real", "eig_tol": "nonneg_real", "max_nfev": "pos_int"}),
    ("svd_critical_points", landscape.svd_critical_points, dict(objective=F),
     {"objective": "objective"}),
    ("symmetry_tangents", landscape.symmetry_tangents, dict(objective=F, theta=TH),
     {"objective": "objective", "theta": "theta"}),
    ("orbit_dimension", landscape.orbit_dimension, dict(objective=F, theta=TH),
     {"objective": "objective", "theta": "theta", "tol": "nonneg_real"}),
    ("orthonormal_span", landscape.orthonormal_span, dict(T=np.eye(3)),
     {"T": "matrix", "tol": "nonneg_real"}),
    ("balance_factors", landscape.balance_factors, dict(objective=F, theta=TH),
     {"objective": "objective", "theta": "theta"}),
    ("polish", landscape.polish, dict(objective=F, theta0=TH, maxiter=50),
     {"objective": "objective", "theta0": "theta", "gtol": "pos_real", "maxiter": "pos_int",
      "memory": "pos_int"}),
    ("symmetry_basis", landscape.symmetry_basis, dict(objective=F, theta=TH),
     {"objective": "objective", "theta": "theta", "tol": "nonneg_real"}),
    ("hessian_extremes_modulo_symmetry", landscape.hessian_extremes_modulo_symmetry,
     dict(objective=F, theta=TH), {"objective": "objective", "theta": "theta", "k": "pos_int",
                                   "tol": "nonneg_real", "seed": "seed"}),
    ("group_by_product", landscape.group_by_product, dict(objective=F, thetas=SNAPS),
     {"objective": "objective", "thetas": "snapshots", "rtol": "pos_real"}),
    ("trajectory_pca", landscape.trajectory_pca, dict(snapshots=SNAPS, n_components=2),
     {"snapshots": "anysnapshots", "n_components": "pos_int"}),
    ("random_walk", landscape.random_walk, dict(n_steps=5, dim=3, seed=0),
     {"n_steps": "pos_int", "dim": "pos_int", "record_every": "pos_int",
      "step_std": "pos_real", "seed": "seed"}),
    ("random_walk_variance_limit", landscape.random_walk_variance_limit,
     dict(n_components=2), {"n_components": "pos_int"}),
    ("hessian_extremes_along", landscape.hessian_extremes_along,
     dict(objective=F, snapshots=SNAPS[:2]),
     {"objective": "objective", "snapshots": "snapshots", "tol": "nonneg_real",
      "seed": "seed"}),
    ("steps_to_reach", landscape.steps_to_reach, dict(losses=np.array([3.0, 2.0, 1.0]),
                                                     level=1.5),
     {"losses": "vector", "level": "real", "settle": "bool"}),
    ("escape_time", landscape.escape_time,
     dict(fun=F, x0=TH, optimizer=GradientDescent(0.01), level=0.0, max_steps=3),
     {"fun": "callable", "x0": "theta", "optimizer": "optimizer", "level": "real",
      "max_steps": "nonneg_int"}),
    ("characteristic_roots", landscape.characteristic_roots,
     dict(method="GD", lr=0.1, h=1.0), {"lr": "pos_real", "h": "real", "beta": "unit"}),
    ("convergence_factor", landscape.convergence_factor, dict(method="GD", lr=0.1, h=1.0),
     {"lr": "pos_real", "h": "real", "beta": "unit"}),
    ("stability_limit", landscape.stability_limit, dict(method="Momentum"), {"beta": "unit"}),
    ("optimal_parameters", landscape.optimal_parameters, dict(method="GD", mu=1.0, L=10.0),
     {"mu": "pos_real", "L": "pos_real"}),
    ("step_schedule", landscape.step_schedule, dict(every=2), {"every": "pos_int",
                                                               "factor": "pos_real"}),
    ("inverse_time_schedule", landscape.inverse_time_schedule, dict(t0=2.0),
     {"t0": "pos_real"}),
    ("cosine_schedule", landscape.cosine_schedule, dict(n_steps=10),
     {"n_steps": "pos_int", "floor": "nonneg_real"}),
    ("Scheduled", landscape.Scheduled, dict(optimizer=GradientDescent(0.1),
                                            schedule=landscape.constant_schedule()),
     {"optimizer": "optimizer", "schedule": "callable"}),
    ("minibatch_gradient", landscape.minibatch_gradient, dict(objective=F, theta=TH,
                                                              batch=np.array([0, 1])),
     {"objective": "objective", "theta": "theta", "batch": "indices"}),
    ("minibatch_descend", landscape.minibatch_descend,
     dict(objective=F, x0=TH, optimizer=GradientDescent(0.01), n_epochs=2, batch_size=4),
     {"objective": "objective", "x0": "theta", "optimizer": "optimizer",
      "n_epochs": "nonneg_int", "batch_size": "pos_int", "seed": "seed",
      "snapshot_every": "pos_int"}),
    ("sharpness", landscape.sharpness, dict(objective=F, theta=TH),
     {"objective": "objective", "theta": "theta", "tol": "tol01", "seed": "seed"}),
    ("sharpness_along", landscape.sharpness_along, dict(objective=F, snapshots=SNAPS[:2]),
     {"objective": "objective", "snapshots": "snapshots", "tol": "tol01", "seed": "seed"}),
    ("newton_refine", landscape.newton_refine, dict(objective=F, theta=TH, max_steps=2),
     {"objective": "objective", "theta": "theta", "gtol": "pos_real", "max_steps": "nonneg_int",
      "solve_rtol": "pos_real", "max_solve_iter": "pos_int"}),
    # ---- deep
    ("DeepMF", deep.DeepMF, dict(Y=Y, hidden=[3], reg=0.1),
     {"Y": "matrix", "hidden": "widths", "reg": "nonneg_real"}),
    ("DeepMF.loss", DM.loss, dict(theta=DTH), {"theta": "dtheta"}),
    ("DeepMF.loss_grad", DM.loss_grad, dict(theta=DTH), {"theta": "dtheta"}),
    ("DeepMF.hvp", DM.hvp, dict(theta=DTH, direction=DTH), {"theta": "dtheta",
                                                            "direction": "dtheta"}),
    ("DeepMF.hessian", DM.hessian, dict(theta=DTH), {"theta": "dtheta"}),
    ("DeepMF.random_params", DM.random_params, dict(std=0.1, seed=0),
     {"std": "nonneg_real", "seed": "seed"}),
    ("reduced_loss", deep.reduced_loss, dict(s=np.array([0.5]), y=2.0, lam=0.1, depth=2),
     {"s": "array", "y": "real", "lam": "nonneg_real", "depth": "pos_int"}),
    ("reduced_roots", deep.reduced_roots, dict(y=2.0, lam=0.1, depth=2),
     {"y": "real", "lam": "pos_real", "depth": "pos_int", "rtol": "pos_real"}),
    ("thresholds", deep.thresholds, dict(lam=0.1, depth=3),
     {"lam": "pos_real", "depth": "pos_int"}),
    ("classify", deep.classify, dict(model=DM, active=[0], branches=["upper"]),
     {"model": "deepmodel", "active": "indices"}),
    ("enumerate_critical_points", deep.enumerate_critical_points, dict(model=DM),
     {"model": "deepmodel", "max_count": "pos_int"}),
    ("count_critical_points", deep.count_critical_points, dict(model=DM),
     {"model": "deepmodel"}),
    ("global_minimum", deep.global_minimum, dict(model=DM), {"model": "deepmodel"}),
    ("hessian_check", deep.hessian_check, dict(model=DM, theta=POINT.theta),
     {"model": "deepmodel", "theta": "dtheta", "rtol": "nonneg_real"}),
    ("normal_curvature", deep.normal_curvature, dict(model=DM, theta=POINT.theta),
     {"model": "deepmodel", "theta": "dtheta", "k": "pos_int", "tol": "nonneg_real",
      "seed": "seed"}),
    ("nearest_critical_point", deep.nearest_critical_point,
     dict(model=DM, theta=DTH, points=[POINT]), {"model": "deepmodel", "theta": "dtheta"}),
    ("batched_gradient_descent", deep.batched_gradient_descent,
     dict(model=DM, starts=np.stack([DTH, DTH]), lr=0.01, n_steps=3),
     {"model": "deepmodel", "starts": "dstarts", "lr": "pos_real", "n_steps": "nonneg_int",
      "gtol": "nonneg_real", "diverge_above": "pos_real"}),
    ("soft_threshold_singular_values", deep.soft_threshold_singular_values,
     dict(Y=Y, tau=0.5), {"Y": "matrix", "tau": "nonneg_real"}),
    ("target_with_singular_values", deep.target_with_singular_values,
     dict(values=[2.0, 1.0], shape=(3, 3), seed=0),
     {"values": "vector", "shape": "shape", "seed": "seed"}),
    ("depth_penalty", deep.depth_penalty, dict(P=Y, lam=0.1, depth=2),
     {"P": "matrix", "lam": "nonneg_real", "depth": "pos_int"}),
]

# A bad value that a particular argument legitimately accepts (documented meaning).
ALLOWED = {
    ("seed", None), ("reg_bias", None), ("maxiter", None), ("snapshot_every", None),
    ("gtol", None), ("diverge_above", None), ("shape", None),
}


def _cases():
    for label, fn, kwargs, kinds in ENTRIES:
        for arg, kind in kinds.items():
            for i, bad in enumerate(BAD[kind]):
                if (arg, None) in ALLOWED and bad is None:
                    continue
                yield pytest.param(fn, kwargs, arg, bad, id=f"{label}-{arg}-{kind}{i}")


def _names(arg):
    """Words a message about ``arg`` may use (the argument, or its role for a method)."""
    # A point handed on to an objective is checked there, under the objective's own name.
    return {arg, {"theta0": "theta", "x0": "theta", "starts": "theta"}.get(arg, arg)}


@pytest.mark.parametrize("label, fn, kwargs, kinds", [pytest.param(*e, id=e[0]) for e in ENTRIES])
def test_valid_call_runs(label, fn, kwargs, kinds):
    fn(**kwargs)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("fn, kwargs, arg, bad", list(_cases()))
def test_bad_argument_is_refused_by_name(fn, kwargs, arg, bad):
    try:
        out = fn(**{**kwargs, arg: bad})
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(name in message for name in _names(arg)), (
            f"message does not name {arg!r}: {type(exc).__name__}: {message}")
        assert type(exc).__module__ in ("builtins", "mfbook.core._validation"), (
            f"raw library error {type(exc).__module__}.{type(exc).__name__}: {message}")
    except Exception as exc:   # noqa: BLE001 - the point of the test
        pytest.fail(f"raw {type(exc).__name__} escaped for {arg}={bad!r}: {exc}")
    else:
        pytest.fail(f"{arg}={bad!r} was accepted silently, returned {type(out).__name__}")


# ---------------------------------------------------------------------- property-based
@SETTINGS
@given(st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf)))
def test_learning_rates_outside_the_range_are_refused(lr):
    for rule in (GradientDescent, HeavyBall, Nesterov, Adam):
        with pytest.raises(ValueError, match="lr"):
            rule(lr)


@SETTINGS
@given(st.floats(0.01, 1e6, allow_nan=False), st.sampled_from(["whole", "index"]))
def test_float_shapes_and_indices_are_never_truncated(x, what):
    if what == "whole":
        with pytest.raises(TypeError, match="shape"):
            Ratings([0], [0], [1.0], (x, 3))
    else:
        with pytest.raises((TypeError, ValueError), match="index"):
            R.subset(np.array([x]))


@SETTINGS
@given(st.integers(-10**6, -1))
def test_negative_positions_never_wrap(i):
    with pytest.raises(ValueError, match="non-negative"):
        R.subset(np.array([i]))
    with pytest.raises(ValueError, match="batch"):
        landscape.minibatch_gradient(F, TH, np.array([i]))


@SETTINGS
@given(st.integers(0, F.dim - 1), st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_single_non_finite_parameter_is_refused_everywhere(i, value):
    theta = TH.copy()
    theta[i] = value
    for call in (F.loss, F.loss_grad, lambda t: F.hvp(TH, t),
                 lambda t: descend(F, t, GradientDescent(0.01), 2),
                 lambda t: landscape.polish(F, t, maxiter=5)):
        with pytest.raises(ValueError, match="finite"):
            call(theta)


# ---------------------------------------------------------------------- divergence
@pytest.mark.parametrize("rule", [GradientDescent(1e3), HeavyBall(1e3), Nesterov(1e3),
                                  Adam(1e3)], ids=lambda r: r.name)
def test_every_optimizer_diverging_is_caught_with_step_and_lr(rule):
    with pytest.raises(DivergenceError, match=rf"{rule.name} diverged at step \d+ with "
                                              r"learning rate 1000"):
        descend(F, TH, rule, 500)
    res = descend(F, TH, rule, 500, on_divergence="stop")
    assert res.status == "diverged" and np.all(np.isfinite(res.losses))
    assert res.losses.max() <= core.DIVERGENCE_FACTOR * res.losses[0]


def test_minibatch_divergence_is_caught():
    with pytest.raises(DivergenceError, match="Adam diverged"):
        landscape.minibatch_descend(F, TH, Adam(1e3), 50, batch_size=2)


@SETTINGS
@given(st.floats(1.0, 1e300), st.floats(1e-300, 1e300))
def test_divergence_rule(factor_loss, initial):
    loss = factor_loss * initial
    why = divergence_reason(loss, initial)
    assert (why is not None) == (loss > core.DIVERGENCE_FACTOR * initial)
    assert divergence_reason(math.nan, initial) == "the loss became nan"


def test_scipy_failure_is_never_completed():
    # A gradient inconsistent with the loss makes L-BFGS's line search fail.
    class Liar(MFObjective):
        def loss_grad(self, theta):
            loss, grad = super().loss_grad(theta)
            return loss, -grad

    res = landscape.polish(Liar(R, 2, reg=0.1), TH, maxiter=50)
    assert res.status == "failed" and "failed" in res.message
    # Stopping at the iteration limit is not a failure, nor convergence.
    assert landscape.polish(F, TH, maxiter=2).status == "completed"


def test_batched_runs_freeze_by_the_one_rule():
    runs = deep.batched_gradient_descent(DM, np.stack([DTH, 40 * DTH]), 0.05, 50)
    assert runs.diverged.tolist() == [False, True]
    assert np.all(np.isfinite(runs.ends[0]))


# ---------------------------------------------------------------------- MovieLens loader
BAD_ID = st.one_of(st.sampled_from(["2.5", "nan", "1e19", "inf", "#5", "x", "", "1_0x",
                                    "99999999999999999999"]),
                   st.floats(allow_nan=False).filter(lambda v: v != int(v) if math.isfinite(v)
                                                     else True).map(repr))


@SETTINGS
@given(BAD_ID, st.sampled_from(["user", "item", "timestamp"]), st.integers(0, 3),
       st.sampled_from(["\t", "::"]))
def test_loader_refuses_every_non_integer_id_with_file_and_line(tmp_path_factory, bad, field,
                                                                 line, sep):
    rows = [["1", "10", "4", "100"], ["2", "20", "3", "101"], ["3", "10", "5", "102"],
            ["3", "30", "1", "103"]]
    rows[line][("user", "item", "rating", "timestamp").index(field)] = bad
    path = tmp_path_factory.mktemp("ml") / "ratings.dat"
    path.write_text("".join(sep.join(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=rf"ratings.dat, line {line + 1}"):
        datasets.load_movielens(path)
