"""MatrixFactorization and IdEncoder as scikit-learn estimators.

scikit-learn's own estimator checks run on both.  Checks that cannot apply to (user, item)
index pairs are declared as expected failures, each with its reason, in strict mode: a
check that starts to pass fails the test, so the list cannot go stale.  The API properties
that those checks would have tested are then tested here on valid rating data.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score, root_mean_squared_error
from sklearn.model_selection import GridSearchCV, KFold, PredefinedSplit, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from mfbook.core import Ratings
from mfbook.datasets import movielens_like, streamrec
from mfbook.recommender import IdEncoder, MatrixFactorization
from mfbook.recommender import _kernels

# ---------------------------------------------------------------------- estimator checks
FEATURES = ("its X is a feature matrix of {} columns; X here holds exactly two, "
            "(user index, item index), and any other width raises")
DUPLICATES = ("its X, rounded to integer codes as the 'categorical' input tag asks, rates "
              "the same (user, item) pair more than once; a rating matrix has one rating "
              "per pair, and a duplicate raises")
MF_EXPECTED = {
    "check_fit_score_takes_y": FEATURES.format(3),
    "check_dont_overwrite_parameters": FEATURES.format(3),
    "check_n_features_in_after_fitting": FEATURES.format(4),
    "check_positive_only_tag_during_fit": FEATURES.format(4) + " (iris); negative indices "
                                          "are refused, see check_fit_non_negative",
    "check_estimators_dtypes": FEATURES.format(5),
    "check_dtype_object": FEATURES.format(10),
    "check_pipeline_consistency": FEATURES.format(3),
    "check_estimators_nan_inf": FEATURES.format(3),
    "check_estimators_pickle": FEATURES.format(3),
    "check_f_contiguous_array_estimator": FEATURES.format(3),
    "check_regressors_train": FEATURES.format(10),
    "check_regressor_data_not_an_array": FEATURES.format(10),
    "check_regressors_no_decision_function": FEATURES.format(4),
    "check_supervised_y_2d": FEATURES.format(3),
    "check_regressors_int": FEATURES.format(10),
    "check_methods_sample_order_invariance": FEATURES.format(3),
    "check_methods_subset_invariance": FEATURES.format(3),
    "check_fit2d_1sample": FEATURES.format(10) + " (one sample)",
    "check_dict_unchanged": FEATURES.format(3),
    "check_fit2d_predict1d": FEATURES.format(3),
    "check_estimators_overwrite_params": DUPLICATES,
    "check_estimators_fit_returns_self": DUPLICATES,
    "check_readonly_memmap_input": DUPLICATES,
    "check_fit_idempotent": DUPLICATES,
    "check_fit_check_is_fitted": DUPLICATES,
    "check_n_features_in": DUPLICATES,
}
ENCODER_FEATURES = ("its X has {} columns; IdEncoder encodes exactly two, (user id, item "
                    "id), and any other width raises")
ENCODER_EXPECTED = {
    name: ENCODER_FEATURES.format(width) for name, width in [
        ("check_fit_score_takes_y", 3), ("check_dont_overwrite_parameters", 3),
        ("check_n_features_in_after_fitting", 4), ("check_estimators_dtypes", 5),
        ("check_dtype_object", 10), ("check_pipeline_consistency", 3),
        ("check_estimators_pickle", 3), ("check_f_contiguous_array_estimator", 3),
        ("check_transformer_data_not_an_array", 3), ("check_transformer_general", 3),
        ("check_transformer_preserve_dtypes", 3), ("check_methods_sample_order_invariance", 3),
        ("check_methods_subset_invariance", 3), ("check_fit2d_1sample", 10),
        ("check_dict_unchanged", 3), ("check_fit2d_predict1d", 3),
        ("check_estimators_nan_inf", 3), ("check_positive_only_tag_during_fit", 4)]
}


def expected_failures(estimator):
    return MF_EXPECTED if isinstance(estimator, MatrixFactorization) else ENCODER_EXPECTED


@parametrize_with_checks(
    [MatrixFactorization(solver="als", n_epochs=3), MatrixFactorization(n_epochs=2), IdEncoder()],
    expected_failed_checks=expected_failures, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_every_expected_failure_has_a_reason():
    for table in (MF_EXPECTED, ENCODER_EXPECTED):
        assert all(name.startswith("check_") and len(reason) > 40
                   for name, reason in table.items())


# ---------------------------------------------------------------------- data
def ratings(seed=0, n_users=40, n_items=30):
    data = streamrec(n_users=n_users, n_items=n_items, true_rank=3, obs_rate=0.4,
                     noise_std=0.2, seed=seed).observed
    return data.with_values(data.values + 3.0)


def arrays(R):
    return np.c_[R.rows, R.cols], np.array(R.values)


FAST = dict(rank=3, solver="als", n_epochs=5, random_state=0)


# ---------------------------------------------------------------------- the API, on ratings
def test_a_regressor_that_fits_returns_self_and_keeps_its_parameters():
    X, y = arrays(ratings())
    est = MatrixFactorization(**FAST)
    assert is_regressor(est)
    before = est.get_params()
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert est.fit(X, y) is est
    assert est.get_params() == before
    assert est.n_features_in_ == 2 and est.shape_ == (40, 30)
    assert est.score(X, y) == pytest.approx(r2_score(y, est.predict(X)), rel=1e-12)


def test_fit_is_idempotent_and_predict_is_order_and_subset_invariant():
    X, y = arrays(ratings())
    est = MatrixFactorization(**{**FAST, "solver": "sgd"}).fit(X, y)
    first = est.predict(X)
    assert np.array_equal(est.fit(X, y).predict(X), first)
    perm = np.random.default_rng(0).permutation(len(X))
    assert np.array_equal(est.predict(X[perm]), first[perm])
    assert np.array_equal(est.predict(X[:7]), first[:7])
    state = {k: v for k, v in vars(est).items() if isinstance(v, float)}
    est.predict(X)
    assert state == {k: v for k, v in vars(est).items() if isinstance(v, float)}


def test_integer_dtypes_memmaps_dataframes_and_pickles(tmp_path):
    X, y = arrays(ratings())
    ref = MatrixFactorization(**FAST).fit(X, y).predict(X)
    for dtype in (np.int32, np.int64, np.uint16):
        assert np.array_equal(MatrixFactorization(**FAST).fit(X.astype(dtype), y).predict(X), ref)
    path = tmp_path / "X.npy"
    np.save(path, X)
    X_mm = np.load(path, mmap_mode="r")
    assert np.array_equal(MatrixFactorization(**FAST).fit(X_mm, y).predict(X_mm), ref)
    est = MatrixFactorization(**FAST).fit(np.asfortranarray(X), y)
    assert np.array_equal(pickle.loads(pickle.dumps(est)).predict(X), ref)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=["user", "item"])
    est = MatrixFactorization(**FAST).fit(frame, y)
    assert list(est.feature_names_in_) == ["user", "item"]
    assert np.array_equal(est.predict(frame), ref)


def test_a_ratings_object_stands_for_x_and_y():
    R = ratings()
    X, y = arrays(R)
    a = MatrixFactorization(**FAST).fit(R)
    b = MatrixFactorization(**FAST).fit(X, y)
    assert np.array_equal(a.theta_, b.theta_)
    assert a.rmse(R) == pytest.approx(root_mean_squared_error(y, b.predict(X)), rel=1e-12)
    assert a.score(R) == pytest.approx(b.score(X, y), rel=1e-12)


def test_clone_gives_an_independent_generator():
    rng = np.random.default_rng(5)
    est = MatrixFactorization(**{**FAST, "solver": "sgd", "random_state": rng})
    copy = clone(est)
    assert copy.random_state is not rng
    X, y = arrays(ratings())
    copy.fit(X, y)                                     # advances the copy's generator only
    assert rng.random() == np.random.default_rng(5).random()
    rng = np.random.default_rng(5)
    again = MatrixFactorization(**{**FAST, "solver": "sgd", "random_state": rng}).fit(X, y)
    assert np.array_equal(again.theta_, copy.theta_)   # same state, same fit


def test_defaults_make_a_first_recommender():
    est = MatrixFactorization()
    assert est.biased and est.reg > 0 and est.reg_weighting == "count"
    assert est.clip == "observed"
    d = movielens_like(n_users=300, n_items=200, n_ratings=12_000, rank=5, min_per_user=10,
                       noise_std=0.5, seed=3)
    train, test = d.observed.split((0.8, 0.2), seed=0)
    est = MatrixFactorization(random_state=0).fit(train)
    assert est.clip_ == (train.values.min(), train.values.max())
    pred = est.predict(test)
    assert pred.min() >= train.values.min() and pred.max() <= train.values.max()
    # Better than the biases alone, and than Surprise's SVD() defaults through the mapping
    # (the benchmark compares with the real Surprise on MovieLens-sized data).
    baseline = MatrixFactorization(rank=1, solver="als", reg=1e6, reg_bias=0.05,
                                   random_state=0).fit(train)   # mu + b + c only
    surprise = MatrixFactorization.from_surprise(random_state=0, rating_scale=est.clip_)
    assert est.rmse(test) < baseline.rmse(test)
    assert est.rmse(test) < surprise.fit(train).rmse(test)


# ---------------------------------------------------------------------- model selection
def test_grid_search_on_a_predefined_validation_split():
    R = ratings(1)
    fit_part, valid = R.split((0.8, 0.2), seed=2)
    X = np.r_[np.c_[fit_part.rows, fit_part.cols], np.c_[valid.rows, valid.cols]]
    y = np.r_[fit_part.values, valid.values]
    fold = np.r_[np.full(fit_part.nnz, -1), np.zeros(valid.nnz)]
    grid = {"reg": [0.01, 0.1, 1.0], "rank": [2, 4]}
    base = MatrixFactorization(solver="als", n_epochs=10, shape=R.shape, random_state=0)
    search = GridSearchCV(base, grid, cv=PredefinedSplit(fold),
                          scoring="neg_root_mean_squared_error", refit=False).fit(X, y)
    by_hand = {}
    for params in search.cv_results_["params"]:
        est = clone(base).set_params(**params).fit(fit_part)
        by_hand[tuple(sorted(params.items()))] = est.rmse(valid)
    scores = -search.cv_results_["mean_test_score"]
    assert np.allclose(scores, list(by_hand.values()), rtol=1e-12)
    assert tuple(sorted(search.best_params_.items())) == min(by_hand, key=by_hand.get)


def test_cross_validation_with_indices_unseen_in_the_training_fold():
    R = ratings(2)
    X, y = arrays(R)
    # A last user and a last item with one rating each: some test fold holds them while
    # their training fold has never seen an index that large.
    X = np.r_[X, [[R.shape[0], 0], [0, R.shape[1]]]]
    y = np.r_[y, [3.0, 3.0]]
    cv = KFold(5, shuffle=True, random_state=0)
    est = MatrixFactorization(**FAST)
    scores = cross_val_score(est, X, y, cv=cv, scoring="neg_root_mean_squared_error")
    by_hand = []
    for tr, te in cv.split(X):
        fitted = clone(est).fit(X[tr], y[tr])
        by_hand.append(root_mean_squared_error(y[te], fitted.predict(X[te])))
        assert np.isfinite(fitted.predict(X[te])).all()
    assert np.allclose(-scores, by_hand, rtol=1e-12)
    assert any(clone(est).fit(X[tr], y[tr]).shape_[0] == R.shape[0] for tr, _ in cv.split(X))
    # With the shape declared, the same folds are in range; a larger index still raises.
    declared = clone(est).set_params(shape=(R.shape[0] + 1, R.shape[1] + 1))
    assert np.isfinite(cross_val_score(declared, X, y, cv=cv)).all()
    with pytest.raises(ValueError, match="out of range for the declared shape"):
        declared.fit(X, y).predict([[R.shape[0] + 1, 0]])


def test_pipeline_from_raw_ids_to_predictions_and_back():
    R = ratings(3)
    X, y = arrays(R)
    raw = np.c_[np.char.add("u", (10 * X[:, 0] + 7).astype(str)), 1000 + 3 * X[:, 1]]
    raw = raw.astype(object)
    raw[:, 1] = raw[:, 1].astype(np.int64)
    model = make_pipeline(IdEncoder(), MatrixFactorization(**FAST)).fit(raw, y)
    assert isinstance(model, Pipeline)
    enc = model.named_steps["idencoder"]
    idx = enc.transform(raw)
    direct = MatrixFactorization(**FAST).fit(idx, y)
    assert np.array_equal(model.predict(raw), direct.predict(idx))
    assert (enc.inverse_transform(idx) == raw).all()
    # An unknown user gets the baseline of its item; an unknown pair gets mu.
    mf = model.named_steps["matrixfactorization"]
    new = np.array([["stranger", raw[0, 1]], ["stranger", -5]], dtype=object)
    assert enc.transform(new).tolist() == [[enc.n_users_, idx[0, 1]], [enc.n_users_, enc.n_items_]]
    expected = [mf.mu_ + mf.col_bias_[idx[0, 1]], mf.mu_]
    assert np.allclose(model.predict(new), np.clip(expected, *mf.clip_))
    assert enc.inverse_transform([[enc.n_users_, 0]])[0, 0] is None
    with pytest.raises(ValueError, match="Found unknown categories"):
        IdEncoder(handle_unknown="error").fit(raw).transform(new)
    with pytest.raises(TypeError, match="user ids must be integers or strings, got floats"):
        IdEncoder().fit(np.c_[X[:, 0] + 0.5, X[:, 1]])


# ---------------------------------------------------------------------- evaluation on request
def test_per_epoch_evaluation_only_when_asked(monkeypatch):
    R = ratings(4)
    train, valid = R.split((0.8, 0.2), seed=0)
    sizes = []
    real = _kernels.evaluate

    def counting(theta, m, n, k, biased, mu, w, rows, *rest):
        sizes.append(len(rows))
        return real(theta, m, n, k, biased, mu, w, rows, *rest)
    monkeypatch.setattr(_kernels, "evaluate", counting)
    quiet = MatrixFactorization(rank=3, n_epochs=4, random_state=0).fit(train)
    assert set(quiet.history_) == {"epoch", "lr", "time"}
    with_valid = MatrixFactorization(rank=3, n_epochs=4, random_state=0).fit(train, X_val=valid)
    assert set(with_valid.history_) == {"epoch", "lr", "time", "valid_rmse"}
    assert np.array_equal(quiet.theta_, with_valid.theta_)     # monitoring never steers
    sizes.clear()
    monitored = MatrixFactorization(rank=3, n_epochs=4, monitor=True, random_state=0).fit(train)
    assert set(monitored.history_) == {"epoch", "lr", "time", "loss", "train_rmse"}
    assert sizes == [train.nnz] * 5
    assert monitored.history_["loss"][-1] == pytest.approx(
        monitored.objective_.loss(monitored.theta_), rel=1e-12)
    tol = MatrixFactorization(rank=3, solver="als", tol=1e-3, random_state=0).fit(train)
    assert "loss" in tol.history_


def test_early_stopping_without_validation_data_holds_out_a_fraction():
    R = ratings(5)
    est = MatrixFactorization(rank=6, solver="als", reg=1e-3, n_epochs=40, early_stopping=True,
                              validation_fraction=0.2, n_iter_no_change=3, random_state=0,
                              biased=False, reg_weighting="uniform").fit(R)
    assert est.objective_.ratings.nnz == R.nnz - round(0.2 * R.nnz)
    assert "valid_rmse" in est.history_ and est.best_epoch_ is not None
    assert est.stopped_early_ and est.n_epochs_ == est.best_epoch_ + 3


def test_n_jobs_follows_scikit_learn():
    import os

    X, y = arrays(ratings())
    assert MatrixFactorization(**FAST).fit(X, y).n_jobs_ == 1
    assert MatrixFactorization(**FAST, n_jobs=-1).fit(X, y).n_jobs_ == os.cpu_count()
    assert MatrixFactorization(**FAST, n_jobs=2).fit(X, y).n_jobs_ == 2


# ---------------------------------------------------------------------- other conventions
def surprise_svd_loop(train, U, V, orders, lr, reg, biased):
    """Surprise's documented SGD rule, one rating at a time, in the given visiting orders:
    e = r - (mu + b_u + b_i + q_i.p_u), then b_u += lr (e - reg b_u), b_i likewise,
    p_u += lr (e q_i - reg p_u) and q_i += lr (e p_u - reg q_i) from the old p_u, q_i."""
    pu, qi = U.copy(), V.copy()
    bu, bi = np.zeros(len(U)), np.zeros(len(V))
    mu = train.mean() if biased else 0.0
    for order in orders:
        for t in order:
            u, i, r = train.rows[t], train.cols[t], train.values[t]
            err = r - (mu + bu[u] + bi[i] + qi[i] @ pu[u])
            if biased:
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
            old = pu[u].copy()
            pu[u] += lr * (err * qi[i] - reg * pu[u])
            qi[i] += lr * (err * old - reg * qi[i])
    return pu, qi, bu, bi


@pytest.mark.parametrize("biased", [True, False])
def test_from_surprise_is_surprise_sgd_rule_arithmetic_for_arithmetic(biased):
    R = ratings(6, n_users=25, n_items=20)
    est = MatrixFactorization.from_surprise(n_factors=4, n_epochs=3, lr_all=0.01, reg_all=0.05,
                                            biased=biased, random_state=9,
                                            rating_scale=(1, 5))
    assert est.clip == (1.0, 5.0) and est.lr == 0.005
    est.fit(R)
    # The estimator's stream: U then V from N(0, 0.1^2), one permutation per epoch.
    rng = np.random.default_rng(9)
    (m, n), k = R.shape, 4
    start = rng.normal(0, 0.1, (m + n) * k)
    orders = [rng.permutation(R.nnz) for _ in range(3)]
    pu, qi, bu, bi = surprise_svd_loop(R, start[:m * k].reshape(m, k),
                                       start[m * k:].reshape(n, k), orders, 0.01, 0.05, biased)
    assert np.max(np.abs(est.U_ - pu)) < 1e-12 and np.max(np.abs(est.V_ - qi)) < 1e-12
    if biased:
        assert np.max(np.abs(est.row_bias_ - bu)) < 1e-12
        assert np.max(np.abs(est.col_bias_ - bi)) < 1e-12
    # The literal copy of the numbers is twice Surprise's step.
    literal = MatrixFactorization(rank=4, n_epochs=3, lr=0.01, reg=0.05, biased=biased,
                                  random_state=9).fit(R)
    assert np.max(np.abs(literal.U_ - pu)) > 1e-4


def test_from_surprise_refuses_what_it_cannot_express():
    with pytest.raises(ValueError, match="one learning rate for lr_bu, lr_bi, lr_pu, lr_qi"):
        MatrixFactorization.from_surprise(lr_bu=0.01)
    with pytest.raises(ValueError, match="one factor penalty for reg_pu, reg_qi"):
        MatrixFactorization.from_surprise(reg_pu=0.1, reg_qi=0.2)
    with pytest.raises(ValueError, match="init_mean"):
        MatrixFactorization.from_surprise(init_mean=0.5)
    with pytest.raises(ValueError, match="random_state must be an int or None"):
        MatrixFactorization.from_surprise(random_state=np.random.RandomState(0))
    assert MatrixFactorization.from_surprise(reg_bu=0.1, reg_bi=0.1).reg_bias == 0.1


def test_from_spark_solves_spark_als_wr_normal_equations():
    # Spark's ALS: each user solves (V_u' V_u + regParam n_u I) x = V_u' r_u, then each item
    # likewise with the new U; one maxIter is one such sweep, no biases, no clipping.
    R = ratings(7, n_users=15, n_items=12)
    est = MatrixFactorization.from_spark(rank=3, regParam=0.3, maxIter=1, seed=4,
                                         numUserBlocks=10).fit(R)
    assert (est.biased, est.clip_, est.cold_start) == (False, None, "nan")
    (m, n), k = R.shape, 3
    V = np.random.default_rng(4).normal(0, 0.1, (m + n) * k)[m * k:].reshape(n, k)
    D = R.to_dense(0.0)
    mask = R.mask()
    U = np.zeros((m, k))
    for u in range(m):
        A = V[mask[u]]
        U[u] = np.linalg.solve(A.T @ A + 0.3 * mask[u].sum() * np.eye(k), A.T @ D[u, mask[u]])
    for i in range(n):
        A = U[mask[:, i]]
        V[i] = np.linalg.solve(A.T @ A + 0.3 * mask[:, i].sum() * np.eye(k),
                               A.T @ D[mask[:, i], i])
    assert np.max(np.abs(est.U_ - U)) < 1e-10 and np.max(np.abs(est.V_ - V)) < 1e-10
    X, y = arrays(R)
    est.fit(X, y)                                       # shape inferred: n + 2 is unseen
    assert np.isnan(est.predict([[0, n + 2]])).all()    # coldStartStrategy="nan"


def test_from_spark_refuses_what_it_cannot_express():
    with pytest.raises(ValueError, match="implicitPrefs=True"):
        MatrixFactorization.from_spark(implicitPrefs=True, alpha=40.0)
    with pytest.raises(ValueError, match="nonnegative=True .* mfbook.nmf"):
        MatrixFactorization.from_spark(nonnegative=True)
    with pytest.raises(ValueError, match="coldStartStrategy must be 'nan' or 'drop'"):
        MatrixFactorization.from_spark(coldStartStrategy="mean")
    with pytest.raises(TypeError, match=r"Spark's ALS has no parameter \['lr'\]"):
        MatrixFactorization.from_spark(lr=0.1)
    assert MatrixFactorization.from_spark(coldStartStrategy="drop").cold_start == "nan"
    assert MatrixFactorization.from_spark(alpha=10.0).solver == "als"   # alpha: implicit only
