import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from mfbook.recommender import SOLVERS, MatrixFactorization, als
from mfbook.core import (DivergenceError, MFObjective, ProgressBar, Ratings, progress_bar,
                         progress_enabled)
from mfbook.datasets import movielens_like, rating_matrix, streamrec
from mfbook.recommender.reference import loop_als, loop_stochastic


def tiny(seed=0, biased_offset=0.0):
    data = streamrec(n_users=12, n_items=9, true_rank=2, obs_rate=0.5, noise_std=0.1, seed=seed)
    R = data.observed
    return R.with_values(R.values + biased_offset)


# The estimator's defaults are a first recommender (biased, count-weighted penalty,
# clipping); the tests of the solvers' arithmetic use the plain model of the book.
PLAIN = dict(biased=False, reg_weighting="uniform", clip=None)


def problem(seed=0):
    data = streamrec(n_users=60, n_items=40, true_rank=3, obs_rate=0.3, noise_std=0.2, seed=seed)
    return data.observed.split((0.8, 0.2), seed=seed + 1)


LOOP_CASES = [
    dict(solver="sgd", biased=False, weighting="uniform", placement="rows"),
    dict(solver="sgd", biased=True, weighting="count", placement="rows"),
    dict(solver="sgd", biased=True, weighting="uniform", placement="all"),
    dict(solver="sgd", biased=False, weighting="count", placement="all"),
    dict(solver="minibatch", biased=True, weighting="uniform", placement="rows", batch=5),
    dict(solver="minibatch", biased=False, weighting="count", placement="all", batch=7),
    dict(solver="minibatch", biased=True, weighting="uniform", placement="rows", batch=4, momentum=0.9),
    dict(solver="adam", biased=True, weighting="count", placement="rows", batch=6),
    dict(solver="adam", biased=False, weighting="uniform", placement="all", batch=8),
]


@pytest.mark.parametrize("case", LOOP_CASES, ids=lambda c: "-".join(str(v) for v in c.values()))
def test_compiled_solvers_match_plain_python_loops(case):
    R = tiny(0, biased_offset=3.0 if case["biased"] else 0.0)
    lr = 0.01 if case["solver"] == "adam" else 0.05
    params = dict(
        solver=case["solver"], biased=case["biased"], reg=0.3, reg_bias=0.1,
        reg_weighting=case["weighting"], penalty=case["placement"], lr=lr, lr_decay=0.9,
        n_epochs=4, batch_size=case.get("batch") if case["solver"] != "sgd" else None,
        momentum=case.get("momentum", 0.0), random_state=11)
    ref, _ = loop_stochastic(R, rank=2, **params)
    est = MatrixFactorization(2, **params).fit(R)
    assert np.max(np.abs(est.theta_ - ref)) < 1e-12


def test_minibatch_of_one_is_per_sample_sgd():
    R = tiny(1)
    for placement in ("rows", "all"):
        kw = dict(reg=0.2, penalty=placement, lr=0.05, n_epochs=3, random_state=4)
        a = MatrixFactorization(2, solver="sgd", **kw).fit(R)
        b = MatrixFactorization(2, solver="minibatch", batch_size=1, **kw).fit(R)
        assert np.max(np.abs(a.theta_ - b.theta_)) < 1e-12


def test_als_solver_is_mfbook_als_and_monotone():
    train, valid = problem(2)
    est = MatrixFactorization(3, solver="als", biased=True, reg=2.0, reg_bias=0.5,
                              reg_weighting="count", n_epochs=15, monitor=True,
                              random_state=5).fit(train, X_val=valid)
    assert np.all(np.diff(est.history_["loss"]) <= 1e-12 * est.history_["loss"][:-1])
    obj = est.objective_
    theta0 = obj.random_params(0.1, seed=5)
    ref = als(obj, theta0, 15)
    assert np.max(np.abs(est.theta_ - ref.x)) < 1e-10
    assert est.history_["loss"][-1] == pytest.approx(ref.fun, rel=1e-12)
    assert np.all(np.isnan(est.history_["lr"]))


@pytest.mark.parametrize("biased, weighting", [(False, "uniform"), (True, "count")])
def test_als_solver_matches_the_plain_loop_row_by_row(biased, weighting):
    train, valid = problem(4)
    params = dict(biased=biased, reg=1.5, reg_bias=0.5, reg_weighting=weighting,
                  n_epochs=6, random_state=3, clip=None)
    ref, ref_hist = loop_als(train, valid, rank=3, **params)
    est = MatrixFactorization(3, solver="als", **params).fit(train, X_val=valid)
    assert np.max(np.abs(est.theta_ - ref)) < 1e-10
    assert np.allclose(est.history_["valid_rmse"][1:], ref_hist, rtol=1e-10)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("biased", [False, True])
def test_every_solver_decreases_the_loss_and_the_error(solver, biased):
    train, valid = problem(3)
    if biased:
        train, valid = (r.with_values(r.values + 3.0) for r in (train, valid))
    lr = {"sgd": 0.02, "minibatch": 0.2, "adam": 0.02, "als": 0.01}[solver]
    est = MatrixFactorization(3, solver=solver, biased=biased, reg=1.0, lr=lr, n_epochs=30,
                              batch_size=None if solver == "sgd" else 16, monitor=True,
                              reg_weighting="uniform", clip=None,
                              random_state=0).fit(train, X_val=valid)
    h = est.history_
    assert h["loss"][-1] < 0.3 * h["loss"][0]
    assert h["train_rmse"][-1] < 0.5 * h["train_rmse"][0]
    assert h["valid_rmse"][-1] < h["valid_rmse"][0]
    assert len(h["epoch"]) == 31 and est.n_epochs_ == 30
    assert np.all(np.diff(h["time"]) >= 0)


@pytest.mark.parametrize("weighting", ["uniform", "count"])
@pytest.mark.parametrize("placement", ["rows", "all"])
def test_stochastic_solvers_minimize_the_same_objective_as_als(weighting, placement):
    # Both penalty placements are unbiased for grad L / N: with a decaying step SGD ends
    # near the ALS minimizer of the same objective.
    train, _ = problem(4)
    reg = 0.5 if weighting == "count" else 5.0
    common = dict(reg=reg, reg_weighting=weighting, random_state=1, biased=False, clip=None,
                  monitor=True)
    ref = MatrixFactorization(3, solver="als", n_epochs=500, **common).fit(train)
    assert np.linalg.norm(ref.objective_.grad(ref.theta_)) < 1e-8
    sgd = MatrixFactorization(3, solver="sgd", penalty=placement, lr=0.05, lr_decay=0.98,
                              n_epochs=300, **common).fit(train)
    gap = sgd.history_["loss"][-1] - ref.history_["loss"][-1]
    assert 0 <= gap < 1e-4 * ref.history_["loss"][-1]
    pred_ref = ref.predict(train)
    assert np.max(np.abs(sgd.predict(train) - pred_ref)) < 0.05


def test_history_lr_decay_and_clip():
    train, valid = problem(5)
    est = MatrixFactorization(2, solver="minibatch", lr=0.1, lr_decay=0.5, n_epochs=4,
                              clip=(-0.5, 0.5), random_state=0).fit(train, X_val=valid)
    assert np.allclose(est.history_["lr"][1:], [0.1, 0.05, 0.025, 0.0125])
    assert est.clip_ == (-0.5, 0.5)
    pred = est.predict(valid)
    assert pred.min() >= -0.5 and pred.max() <= 0.5
    clipped = np.clip(est.objective_.predict(est.theta_, valid.rows, valid.cols), -0.5, 0.5)
    assert est.history_["valid_rmse"][-1] == pytest.approx(
        np.sqrt(np.mean((clipped - valid.values) ** 2)), rel=1e-12)
    assert est.rmse(valid) == pytest.approx(est.history_["valid_rmse"][-1], rel=1e-12)


def test_early_stopping_restores_the_best_epoch():
    train, valid = problem(6)
    # No penalty and many factors: the validation error turns up after a while.
    est = MatrixFactorization(10, solver="als", reg=1e-3, n_epochs=60, early_stopping=True,
                              n_iter_no_change=3, random_state=0, **PLAIN).fit(train, X_val=valid)
    h = est.history_["valid_rmse"]
    assert est.stopped_early_ and est.n_epochs_ < 60
    assert est.n_epochs_ == est.best_epoch_ + 3
    assert est.best_epoch_ == int(np.argmin(h))
    assert est.rmse(valid) == pytest.approx(h[est.best_epoch_], rel=1e-12)
    full = MatrixFactorization(10, solver="als", reg=1e-3, n_epochs=60, random_state=0,
                               **PLAIN).fit(train, X_val=valid)
    assert full.best_epoch_ == est.best_epoch_ and not full.stopped_early_
    assert full.rmse(valid) > est.rmse(valid)


def test_tol_stops_als_at_convergence():
    train, _ = problem(13)
    est = MatrixFactorization(3, solver="als", reg=1.0, n_epochs=500, tol=1e-10,
                              random_state=0, **PLAIN).fit(train)
    h = est.history_["loss"]
    assert est.converged_ and est.n_epochs_ < 500
    assert h[-2] - h[-1] <= 1e-10 * h[-1] and np.all(h[-3] - h[-2] > 1e-10 * h[-2])
    assert np.linalg.norm(est.objective_.grad(est.theta_)) < 1e-3


def test_random_state_reproduces_and_a_generator_continues_its_stream():
    train, _ = problem(7)
    a = MatrixFactorization(2, lr=0.05, n_epochs=3, random_state=3).fit(train)
    b = MatrixFactorization(2, lr=0.05, n_epochs=3, random_state=3).fit(train)
    assert np.array_equal(a.theta_, b.theta_)
    rng = np.random.default_rng(3)
    c = MatrixFactorization(2, lr=0.05, n_epochs=3, random_state=rng).fit(train)
    assert np.array_equal(a.theta_, c.theta_)
    # The fit drew U, V, then one permutation per epoch, from the generator it was given.
    twin = np.random.default_rng(3)
    twin.normal(size=(train.shape[0] + train.shape[1]) * 2)
    for _ in range(3):
        twin.permutation(train.nnz)
    assert rng.random() == twin.random()


# ---------------------------------------------------------------------- cold start
def cold_problem():
    # Row 3 and column 2 have no training ratings.
    full = Ratings.from_dense(np.arange(1.0, 31.0).reshape(5, 6) % 5 + 1)
    keep = (full.rows != 3) & (full.cols != 2)
    return full.subset(np.flatnonzero(keep))


@pytest.mark.parametrize("biased", [False, True])
def test_unseen_users_and_items_follow_cold_start(biased):
    train = cold_problem()
    X = np.c_[train.rows, train.cols]
    # Fitted on arrays, the shape is inferred, (5, 6): indices past it are unseen too.
    est = MatrixFactorization(2, solver="als", biased=biased, reg=0.1, n_epochs=5, clip=None,
                              random_state=0).fit(X, train.values)
    assert est.shape_ == (5, 6)
    assert est.known_rows_.tolist() == [True, True, True, False, True]
    assert est.known_cols_.tolist() == [True, True, False, True, True, True]
    pairs = np.array([[0, 1], [3, 1], [0, 2], [3, 2], [7, 1], [0, 9]])
    pred = est.predict(pairs)
    full = est.objective_.predict(est.theta_, pairs[:1, 0], pairs[:1, 1])
    assert pred[0] == pytest.approx(full[0], rel=1e-12)
    if biased:
        mu, b, c = est.mu_, est.row_bias_, est.col_bias_
        assert mu == pytest.approx(train.mean())
        assert pred[1] == pytest.approx(mu + c[1]) and pred[4] == pytest.approx(mu + c[1])
        assert pred[2] == pytest.approx(mu + b[0]) and pred[5] == pytest.approx(mu + b[0])
        assert pred[3] == pytest.approx(mu)
    else:
        assert np.allclose(pred[1:], train.mean())
    nan = est.set_params(cold_start="nan").predict(pairs)
    assert np.isfinite(nan[0]) and np.all(np.isnan(nan[1:]))
    with pytest.raises(ValueError, match=r"5 of 6 pairs .*first: user 3, item 1"):
        est.set_params(cold_start="raise").predict(pairs)
    assert est.predict(pairs[:1]) == pytest.approx(full)


def test_a_declared_shape_is_enforced():
    train = cold_problem()
    est = MatrixFactorization(2, solver="als", n_epochs=3, random_state=0).fit(train)
    assert est.shape_ == (5, 6)
    assert np.isfinite(est.predict(np.array([[3, 2]]))).all()    # inside: cold start
    with pytest.raises(ValueError, match=r"user index 7 \(row 0\) is out of range for the "
                                         r"declared shape \(5, 6\)"):
        est.predict(np.array([[7, 1]]))
    with pytest.raises(ValueError, match=r"item index 9 .*declared shape"):
        est.predict(np.array([[0, 1], [0, 9]]))
    declared = MatrixFactorization(2, solver="als", n_epochs=3, shape=(5, 6))
    X = np.c_[train.rows, train.cols]
    declared.fit(X, train.values)
    with pytest.raises(ValueError, match="out of range for the declared shape"):
        declared.predict(np.array([[5, 0]]))
    with pytest.raises(ValueError, match=r"out of range for the declared shape \(4, 6\)"):
        MatrixFactorization(2, shape=(4, 6)).fit(X, train.values)


def test_cold_start_raise_also_guards_validation_during_fit():
    train = cold_problem()
    valid = Ratings([3], [0], [2.0], train.shape)
    with pytest.raises(ValueError, match="without training ratings"):
        MatrixFactorization(2, solver="als", cold_start="raise", n_epochs=2).fit(
            train, X_val=valid)
    est = MatrixFactorization(2, solver="als", n_epochs=2).fit(train, X_val=valid)
    assert np.isfinite(est.history_["valid_rmse"]).all()


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(rank=0), ValueError, r"'rank' parameter .* must be an int in the range \[1, inf\)"),
        (dict(rank=2.5), TypeError, r"'rank' parameter .* must be an int"),
        (dict(rank=True), TypeError, "rank must be a number, not a bool"),
        (dict(reg=True), TypeError, "reg must be a number, not a bool"),
        (dict(random_state=False), TypeError, "random_state must be a number, not a bool"),
        (dict(solver="lbfgs"), ValueError, r"'solver' parameter .* must be a str among"),
        (dict(reg=-1.0), ValueError, r"'reg' parameter .* range \[0.0, inf\)"),
        (dict(reg_bias=np.nan), ValueError, "'reg_bias' parameter"),
        (dict(reg=np.inf), ValueError, "'reg' parameter"),
        (dict(reg_weighting="users"), ValueError, "'reg_weighting' parameter"),
        (dict(penalty="batch"), ValueError, "'penalty' parameter"),
        (dict(lr=0.0), ValueError, r"'lr' parameter .* range \(0.0, inf\)"),
        (dict(lr_decay=1.5), ValueError, r"'lr_decay' parameter .* range \(0.0, 1.0\]"),
        (dict(n_epochs=0), ValueError, "'n_epochs' parameter"),
        (dict(tol=-1e-3), ValueError, "'tol' parameter"),
        (dict(solver="sgd", batch_size=32), ValueError, "solver='sgd' updates after every rating"),
        (dict(solver="minibatch", batch_size=0), ValueError, "'batch_size' parameter"),
        (dict(solver="minibatch", momentum=1.0), ValueError, "'momentum' parameter"),
        (dict(solver="adam", momentum=0.9), ValueError, "momentum is used by solver='minibatch'"),
        (dict(solver="adam", beta2=1.0), ValueError, "'beta2' parameter"),
        (dict(solver="adam", eps=0.0), ValueError, "'eps' parameter"),
        (dict(init_std=0.0), ValueError, r"'init_std' parameter .* range \(0.0, inf\)"),
        (dict(init_std=-0.1), ValueError, "'init_std' parameter"),
        (dict(biased=False, mu=3.0), ValueError, "mu=3.0 is the offset of the biased model"),
        (dict(n_iter_no_change=0), ValueError, "'n_iter_no_change' parameter"),
        (dict(validation_fraction=1.0), ValueError, "'validation_fraction' parameter"),
        (dict(clip=(5, 1)), ValueError, "clip must satisfy low < high"),
        (dict(clip=(1, 2, 3)), ValueError, r"clip must be a pair \(low, high\)"),
        (dict(clip=(1, "5")), TypeError, r"clip\[1\] must be a real number"),
        (dict(clip=3.0), ValueError, "'clip' parameter"),
        (dict(shape=(0, 4)), ValueError, r"shape\[0\] must be an integer in \[1, inf\]"),
        (dict(shape=(2.5, 4)), TypeError, r"shape\[0\] must be an integer"),
        (dict(cold_start="zero"), ValueError, "'cold_start' parameter"),
        (dict(n_jobs=0), ValueError, "n_jobs must be a non-zero integer or None"),
        (dict(n_jobs=1.5), TypeError, "'n_jobs' parameter"),
        (dict(monitor="yes"), TypeError, "'monitor' parameter"),
        (dict(random_state="seed"), ValueError, "'random_state' parameter"),
    ],
)
def test_bad_hyper_parameters_raise_at_fit(params, error, message):
    train, _ = problem(8)
    est = MatrixFactorization(**params)
    with pytest.raises(error, match=message):
        est.fit(train)
    assert not hasattr(est, "theta_")


def test_bad_data_and_prediction_input_raise():
    train, valid = problem(9)
    X, y = np.c_[train.rows, train.cols], train.values
    with pytest.raises(ValueError, match="requires y to be passed"):
        MatrixFactorization(2).fit(X)
    with pytest.raises(ValueError, match="y must be None when X is a Ratings"):
        MatrixFactorization(2).fit(train, train.values)
    with pytest.raises(TypeError, match="X must hold integer .* got dtype float64"):
        MatrixFactorization(2).fit(X.astype(float), y)
    with pytest.raises(ValueError, match="got 3 feature"):
        MatrixFactorization(2).fit(np.c_[X, X[:, :1]], y)
    with pytest.raises(ValueError, match="Negative values in data: item index -1 in row 0"):
        MatrixFactorization(2).fit(np.array([[0, -1], [1, 1]]), [1.0, 2.0])
    with pytest.raises(ValueError, match="Input y contains NaN"):
        MatrixFactorization(2).fit(X, np.where(np.arange(len(y)) == 3, np.nan, y))
    with pytest.raises(ValueError, match="appears more than once; a rating matrix has one"):
        MatrixFactorization(2).fit(np.array([[0, 1], [0, 1]]), [1.0, 2.0])
    other = Ratings([0], [0], [1.0], (3, 3))
    with pytest.raises(ValueError, match=r"X_val is a Ratings of shape \(3, 3\), but the "
                                         r"model was fitted on a matrix of shape \(60, 40\)"):
        MatrixFactorization(2).fit(train, X_val=other)
    with pytest.raises(ValueError, match="y_val is required"):
        MatrixFactorization(2).fit(train, X_val=np.c_[valid.rows, valid.cols])
    with pytest.raises(ValueError, match="y_val needs X_val"):
        MatrixFactorization(2).fit(train, y_val=valid.values)
    est = MatrixFactorization(2, n_epochs=2)
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.fit(train)
    with pytest.raises(TypeError, match="X must hold integer"):
        est.predict(np.array([[0.5, 0.0]]))
    with pytest.raises(ValueError, match="Negative values in data: item index -1"):
        est.predict(np.array([[0, -1]]))
    with pytest.raises(ValueError, match=r"X is a Ratings of shape \(3, 3\), but the model"):
        est.predict(other)
    with pytest.raises(ValueError, match=r"X is a Ratings of shape \(3, 3\)"):
        est.rmse(other)
    with pytest.raises(ValueError, match=r"X is a Ratings of shape \(3, 3\)"):
        est.score(other)
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'"):
        est.set_params(alpha=1.0)


def test_divergence_is_reported():
    train, _ = problem(10)
    with pytest.raises(DivergenceError, match=r"MatrixFactorization\(solver='minibatch'\) "
                                              r"diverged at step \d+ with learning rate"):
        MatrixFactorization(3, solver="minibatch", lr=1e4, n_epochs=50, init_std=1.0,
                            random_state=0).fit(train.with_values(train.values * 100))


def test_parameters_and_clone():
    est = MatrixFactorization(4, solver="adam", reg=0.5, random_state=np.random.default_rng(0))
    params = est.get_params()
    assert params["rank"] == 4 and params["solver"] == "adam" and params["reg"] == 0.5
    copy = clone(est).set_params(reg=1.0)
    assert copy.reg == 1.0 and est.reg == 0.5 and copy.solver == "adam"
    assert not hasattr(copy, "theta_")
    assert repr(est).startswith("MatrixFactorization(") and "rank=4" in repr(est)


def test_replays_the_latent_factor_project_draw_for_draw():
    # The project's own printed results, from its single generator seeded with 42.
    rng = np.random.default_rng(42)
    test, train = rating_matrix(seed=rng).observed.split((0.2, 0.8), seed=rng)
    assert (train.nnz, test.nnz) == (952, 238)
    rng.normal(0, 0.5, (5, 3)), rng.normal(0, 0.5, (5, 3))   # its gradient check
    N = train.nnz
    common = dict(rank=4, penalty="all", clip=(1, 5), random_state=rng, n_epochs=150,
                  biased=False, reg_weighting="uniform")
    runs = [MatrixFactorization(solver="sgd", reg=N * 0.01, lr=0.005, **common),
            MatrixFactorization(solver="minibatch", batch_size=32, reg=N * 0.01, lr=0.02, **common),
            MatrixFactorization(solver="minibatch", batch_size=32, momentum=0.9, reg=N * 0.01,
                                lr=0.02, **common),
            MatrixFactorization(solver="als", reg=0.01, **{**common, "n_epochs": 50})]
    printed = [1.0551, 1.3128, 1.0588, 0.9943]
    for est, value in zip(runs, printed):
        assert round(est.fit(train, X_val=test).history_["valid_rmse"][-1], 4) == value
    assert round(runs[2].history_["valid_rmse"][1:].min(), 4) == 1.0545
    biased = MatrixFactorization(solver="minibatch", batch_size=32, reg=N * 0.01,
                                 reg_bias=N * 0.001, lr=0.01,
                                 **{**common, "biased": True}).fit(train, X_val=test)
    assert round(biased.history_["valid_rmse"][-1], 4) == 0.4592


# ---------------------------------------------------------------------- progress display
def test_progress_is_off_unless_asked(capsys):
    assert progress_enabled(False) is False and progress_enabled(True) is True
    with pytest.raises(ValueError, match="enabled must be True, False or None"):
        progress_enabled("yes")
    with progress_bar(3, "quiet", enabled=False) as bar:
        bar.update(loss=1.0)
    assert capsys.readouterr().err == ""
    with ProgressBar(2, "loud", enabled=True) as bar:
        bar.update(train_rmse=0.5)
        bar.update()
    err = capsys.readouterr().err
    assert "loud" in err and "train_rmse=0.5" in err and "2/2" in err
    with pytest.raises(ValueError, match="total must be an integer >= 0"):
        ProgressBar(-1)


def test_estimator_progress_bar_goes_to_stderr(capsys):
    train, _ = problem(11)
    MatrixFactorization(2, n_epochs=2, progress=True, random_state=0).fit(train)
    assert "SGD" in capsys.readouterr().err
    MatrixFactorization(2, n_epochs=2, progress=False, random_state=0).fit(train)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------- MovieLens-shaped data
def test_movielens_like_shape_counts_and_truth():
    d = movielens_like(n_users=300, n_items=200, n_ratings=12_000, rank=5, min_per_user=10,
                       noise_std=0.5, seed=3)
    R = d.observed
    assert R.shape == (300, 200) and R.nnz == 12_000
    counts = R.row_counts()
    assert counts.min() >= 10 and counts.max() <= 200
    assert np.allclose(d.truth, d.row_factors @ d.col_factors.T)
    assert np.allclose(d.row_factors[:, -2:], 1.0)
    noise = R.values - d.truth[R.rows, R.cols]
    assert abs(noise.std() - 0.5) < 0.02 and abs(noise.mean()) < 0.02
    # Popular items get more ratings than unpopular ones.
    cc = R.col_counts()
    assert cc.max() > 5 * np.median(cc)
    again = movielens_like(n_users=300, n_items=200, n_ratings=12_000, rank=5, min_per_user=10,
                           noise_std=0.5, seed=3)
    assert np.array_equal(again.observed.values, R.values)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n_users=10, n_items=10, n_ratings=101, min_per_user=2), "n_ratings must be between"),
        (dict(n_users=10, n_items=10, n_ratings=50, min_per_user=6), "n_ratings must be between"),
        (dict(n_users=10, n_items=10, n_ratings=50, min_per_user=11), "min_per_user must be"),
        (dict(n_users=10, n_items=10, n_ratings=50, min_per_user=2, noise_std=-1.0), "noise_std must be"),
        (dict(n_users=0), "n_users must be a positive integer"),
    ],
)
def test_movielens_like_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        movielens_like(**kwargs)


def test_objective_of_the_estimator_is_the_sum_form():
    train, _ = problem(12)
    est = MatrixFactorization(3, solver="als", reg=0.7, reg_weighting="count", biased=True,
                              reg_bias=0.2, n_epochs=2, monitor=True).fit(train)
    obj = est.objective_
    assert isinstance(obj, MFObjective)
    assert (obj.reg, obj.reg_bias, obj.reg_weighting, obj.mean, obj.half) == (0.7, 0.2, "count", False, False)
    assert est.history_["loss"][-1] == pytest.approx(obj.loss(est.theta_), rel=1e-12)
