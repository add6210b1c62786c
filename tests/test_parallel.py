"""Threads in the recommender: n_jobs, bit-identical parallel ALS, the block schedule of SGD."""

import numpy as np
import pytest

from mfbook.core import MFObjective, Ratings
from mfbook.datasets import movielens_like, streamrec
from mfbook.recommender import als, als_half_sweep
from mfbook.recommender import _als, _threads
from mfbook.recommender._dsgd import (block_schedule, bounded_draws, epoch_order,
                                      sgd_epoch_blocks, splitmix64_shuffle)
from mfbook.recommender._kernels import sgd_epoch
from test_als import CONVENTIONS   # the objective conventions ALS is tested on



@pytest.fixture(scope="module")
def medium():
    """Big enough for a half-sweep to be split between threads (about 3e6 flops at k=10)."""
    return movielens_like(300, 200, 20_000, seed=0).observed


# ---------------------------------------------------------------------------- n_jobs
def test_resolve_n_jobs_follows_scikit_learn():
    cores = _threads.available_cores()
    assert _threads.resolve_n_jobs(None) == 1
    assert _threads.resolve_n_jobs(3) == 3
    assert _threads.resolve_n_jobs(np.int64(2)) == 2
    assert _threads.resolve_n_jobs(-1) == cores
    assert _threads.resolve_n_jobs(-2) == max(1, cores - 1)
    assert _threads.resolve_n_jobs(-10_000) == 1
    with pytest.raises(ValueError, match="n_jobs must be a non-zero integer or None.*got 0"):
        _threads.resolve_n_jobs(0)
    for bad in (1.0, True, "2"):
        with pytest.raises(TypeError, match="n_jobs must be an integer"):
            _threads.resolve_n_jobs(bad)


def test_run_tasks_keeps_order_and_raises_after_all_tasks_finished():
    assert _threads.run_tasks(lambda a, b: a * b, [(1, 2), (3, 4), (5, 6)]) == [2, 12, 30]
    done = []

    def task(i):
        if i == 0:
            raise RuntimeError("task 0 failed")
        done.append(i)
        return i
    with pytest.raises(RuntimeError, match="task 0 failed"):
        _threads.run_tasks(task, [(0,), (1,), (2,)])
    assert sorted(done) == [1, 2]


def test_balanced_bounds_split_the_cost_evenly():
    cost = np.random.default_rng(0).exponential(size=1000)
    b = _threads.balanced_bounds(cost, 4)
    assert b[0] == 0 and b[-1] == 1000 and np.all(np.diff(b) >= 0) and len(b) == 5
    parts = np.array([cost[lo:hi].sum() for lo, hi in zip(b[:-1], b[1:])])
    assert np.all(np.abs(parts - cost.sum() / 4) <= cost.max())
    assert np.array_equal(_threads.balanced_bounds(cost, 1), [0, 1000])


# ---------------------------------------------------------------------------- ALS
def test_parallel_half_sweep_is_really_split(medium):
    obj = MFObjective(medium, 10, reg=1.0, biased=True)
    assert _als.sweep_flops(obj, "rows") > _als.PARALLEL_MIN_FLOPS
    bounds = _als._row_bounds(obj, "rows", 2)
    assert len(bounds) == 3 and 0 < bounds[1] < medium.shape[0]


@pytest.mark.parametrize("conv", CONVENTIONS)
def test_parallel_als_is_bit_identical_to_one_thread(medium, conv):
    obj = MFObjective(medium, 10, **conv)
    theta = obj.random_params(0.3, seed=1)
    for side in ("rows", "cols"):
        one = als_half_sweep(obj, theta, side, n_jobs=1)
        for n_jobs in (2, 3, -1):
            assert np.array_equal(als_half_sweep(obj, theta, side, n_jobs=n_jobs), one)
    a, b = als(obj, theta, 3, n_jobs=1), als(obj, theta, 3, n_jobs=2)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.losses, b.losses)


def test_parallel_als_small_problems_split_too_when_forced(monkeypatch):
    # Below PARALLEL_MIN_FLOPS a half-sweep stays on one thread; force the split to check
    # uneven, tiny ranges (some threads get a handful of rows).
    monkeypatch.setattr(_als, "PARALLEL_MIN_FLOPS", 0.0)
    R = streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3, seed=0).observed
    for conv in CONVENTIONS:
        obj = MFObjective(R, 3, **conv)
        theta = obj.random_params(0.5, seed=2)
        for side in ("rows", "cols"):
            one = als_half_sweep(obj, theta, side)
            for n_jobs in (2, 5, 40):
                assert np.array_equal(als_half_sweep(obj, theta, side, n_jobs=n_jobs), one)


def test_parallel_als_singular_rows_take_the_same_fallback(monkeypatch):
    monkeypatch.setattr(_als, "PARALLEL_MIN_FLOPS", 0.0)
    # No penalty and rows with fewer ratings than unknowns: the least-squares fallback.
    R = Ratings([0, 1, 1, 2, 2, 2, 3], [0, 0, 1, 0, 1, 2, 2],
                [1.0, 2.0, 3.0, 1.0, 0.5, 2.0, 1.5], (4, 3))
    obj = MFObjective(R, 2)
    theta = obj.random_params(1.0, seed=3)
    one = als_half_sweep(obj, theta, "rows")
    assert np.array_equal(als_half_sweep(obj, theta, "rows", n_jobs=3), one)
    cols = R.cols[R.rows == 0]
    V = obj.unpack(theta).V
    expected, *_ = np.linalg.lstsq(V[cols], R.values[R.rows == 0], rcond=None)
    assert np.allclose(obj.unpack(one).U[0], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("conv", [dict(reg=0.3, biased=True, reg_bias=0.1),
                                  dict(reg=2.0, reg_weighting="count")])
@pytest.mark.parametrize("k", [1, 4, 9, 23])
def test_kernel_solves_every_row_system(medium, conv, k):
    # Ranks that exercise every path of the kernel: fewer or more unknowns than the block
    # of eight ratings, fewer or more than four rows of R per pass, remainders.
    obj = MFObjective(medium, k, **conv)
    theta = obj.random_params(0.5, seed=4)
    new = obj.unpack(als_half_sweep(obj, theta, "cols", n_jobs=2))
    old = obj.unpack(theta)
    for j in range(0, medium.shape[1], 17):
        sel = medium.cols == j
        A, y = old.U[medium.rows[sel]], medium.values[sel]
        pen = np.full(k, obj.reg)
        if obj.biased:
            A = np.hstack([A, np.ones((len(y), 1))])
            y = y - obj.mu - old.row_bias[medium.rows[sel]]
            pen = np.append(pen, obj.reg_bias)
        s = obj.error_scale
        x = np.linalg.solve(s * A.T @ A + np.diag(obj.col_weights[j] * pen), s * A.T @ y)
        got = np.append(new.V[j], new.col_bias[j]) if obj.biased else new.V[j]
        assert np.allclose(got, x, rtol=1e-10, atol=1e-12)


def test_cholesky_kernel_matches_lapack_and_refuses_singular_matrices():
    from mfbook.recommender._als_kernels import _cholesky_upper
    rng = np.random.default_rng(5)
    for kk in (1, 3, 4, 5, 8, 13, 51):
        A = rng.normal(size=(kk, kk))
        S = A @ A.T + 0.1 * np.eye(kk)
        G = np.triu(S).copy()
        assert _cholesky_upper(G, kk, np.max(np.diag(S)))
        assert np.allclose(np.triu(G), np.linalg.cholesky(S).T, rtol=1e-10, atol=1e-12)
    v = rng.normal(size=(4, 1))
    G = np.triu(v @ v.T).copy()   # rank one
    assert not _cholesky_upper(G, 4, float(np.max(np.diag(v @ v.T))))


def test_als_n_jobs_is_validated(medium):
    obj = MFObjective(medium, 2)
    with pytest.raises(ValueError, match="n_jobs"):
        als_half_sweep(obj, obj.random_params(0.1, seed=0), "rows", n_jobs=0)
    with pytest.raises(TypeError, match="n_jobs"):
        als(obj, obj.random_params(0.1, seed=0), 2, n_jobs=2.0)


# ---------------------------------------------------------------------------- SGD
def _splitmix64_reference(state):
    mask = (1 << 64) - 1
    state = (state + 0x9E3779B97F4A7C15) & mask
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return state, z ^ (z >> 31)


def _bounded_reference(state, bound):
    """Lemire's unbiased bounded integer, in Python integers."""
    while True:
        state, z = _splitmix64_reference(state)
        prod = (z >> 32) * bound
        if prod & 0xFFFFFFFF >= (2**32 - bound) % bound:
            return state, prod >> 32


def _shuffle_reference(values, seed):
    """Fisher-Yates with SplitMix64 and Lemire's bounded integers, in Python integers."""
    out = list(values)
    state = seed
    for t in range(len(out) - 1, 0, -1):
        state, j = _bounded_reference(state, t + 1)
        out[t], out[j] = out[j], out[t]
    return out


def test_splitmix64_known_answer_and_reference_shuffle():
    # First outputs of SplitMix64 from state 0 (the reference C code of Vigna).
    state, z = _splitmix64_reference(0)
    assert z == 0xE220A8397B1DCDAF
    state, z = _splitmix64_reference(state)
    assert z == 0x6E789E6AA1B965F4
    for seed in (0, 1, 2**63 + 12345, 2**64 - 1):
        x = np.arange(57, dtype=np.int64)
        splitmix64_shuffle(x, 3, 50, np.uint64(seed))
        assert x[:3].tolist() == [0, 1, 2] and x[50:].tolist() == list(range(50, 57))
        assert x[3:50].tolist() == _shuffle_reference(range(3, 50), seed)


def test_bounded_integers_reject_the_biased_draws():
    # With a bound of 3 * 2**30 a quarter of the 32-bit draws must be rejected: compare the
    # kernel with the reference on bounds where rejection is frequent and where it is rare.
    for bound in (3 * 2**30, 2**32 - 1, 2**31 + 1, 7, 1):
        got = np.empty(200, dtype=np.int64)
        bounded_draws(np.uint64(42), bound, got)
        state, want = 42, []
        for _ in range(200):
            state, j = _bounded_reference(state, bound)
            want.append(j)
        assert got.tolist() == want and got.min() >= 0 and got.max() < bound


def test_block_shuffle_is_uniform():
    counts = np.zeros(6)
    perms = {p: i for i, p in enumerate([(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0),
                                          (2, 0, 1), (2, 1, 0)])}
    n = 12_000
    for seed in range(n):
        x = np.arange(3, dtype=np.int64)
        splitmix64_shuffle(x, 0, 3, np.uint64(seed * 7919 + 1))
        counts[perms[tuple(x)]] += 1
    chi2 = np.sum((counts - n / 6) ** 2 / (n / 6))
    assert chi2 < 20.5   # 99.9% quantile of chi-square with 5 degrees of freedom


def _sgd_arrays(R, k, biased, seed):
    m, n = R.shape
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 0.1, (m + n) * (k + biased))
    pen = rng.uniform(0, 0.02, m + n)
    pen_bias = rng.uniform(0, 0.02, m + n)
    return theta, pen, pen_bias


@pytest.mark.parametrize("p", [2, 3])
@pytest.mark.parametrize("all_rows", [False, True])
@pytest.mark.parametrize("biased", [False, True])
def test_block_epoch_is_sequential_sgd_over_its_order(medium, p, all_rows, biased):
    m, n = medium.shape
    k = 6
    theta, pen, pen_bias = _sgd_arrays(medium, k, biased, 0)
    par = theta.copy()
    last = np.zeros(m + n, dtype=np.int64)
    rng = np.random.default_rng(11)
    sgd_epoch_blocks(medium.rows, medium.cols, medium.values, par, m, k, biased, 3.6, 0.01,
                     pen, pen_bias, all_rows, last, n_jobs=p, random_state=rng)
    assert not last.any()
    twin = np.random.default_rng(11)
    perm = epoch_order(medium.rows, medium.cols, m, n, p, twin)
    assert np.array_equal(np.sort(perm), np.arange(medium.nnz))
    assert rng.integers(2**62) == twin.integers(2**62)   # the same draws were made
    seq = theta.copy()
    sgd_epoch(medium.rows[perm], medium.cols[perm], medium.values[perm], seq, m, k, biased,
              3.6, 0.01, pen, pen_bias, all_rows, np.zeros(m + n, dtype=np.int64))
    assert np.array_equal(par, seq)


def test_block_order_has_the_stated_structure(medium):
    m, n = medium.shape
    plan = block_schedule(medium.rows, medium.cols, m, n, 2, np.random.default_rng(3))
    perm = epoch_order(medium.rows, medium.cols, m, n, 2, np.random.default_rng(3))
    ub, ib = plan["user_block"], plan["item_block"]
    block = ub[medium.rows[perm]] * 2 + ib[medium.cols[perm]]
    same = ub[medium.rows[perm]] == ib[medium.cols[perm]]
    first = 0 if plan["shift"][0] == 0 else 1   # which stratum comes first
    n_first = np.sum(same if first == 0 else ~same)
    # Stratum by stratum: all ratings of the first stratum, then all of the second ...
    assert np.all((same[:n_first] if first == 0 else ~same[:n_first]))
    # ... each stratum interleaving its two blocks round-robin while both last.
    a = block[:n_first]
    both = 2 * min(np.sum(a == a[0]), np.sum(a != a[0]))
    assert np.all(a[:both:2] == a[0]) and np.all(a[1:both:2] != a[0])
    # Before the shuffles each block keeps the input order (a stable grouping).
    index, starts = plan["index"], plan["starts"]
    for b in range(4):
        seg = index[starts[b]:starts[b + 1]]
        assert np.all(np.diff(seg) > 0)
        assert np.all(ub[medium.rows[seg]] * 2 + ib[medium.cols[seg]] == b)
    # The blocks are balanced: each user block and each item block holds about N / 2.
    N = medium.nnz
    assert abs(np.sum(ub[medium.rows] == 0) - N / 2) <= medium.row_counts().max()
    assert abs(np.sum(ib[medium.cols] == 0) - N / 2) <= medium.col_counts().max()


def test_block_epoch_is_deterministic_and_depends_on_the_seed(medium):
    m, n = medium.shape
    k = 4
    theta, pen, pen_bias = _sgd_arrays(medium, k, True, 1)
    out = []
    for seed in (5, 5, 6):
        x = theta.copy()
        sgd_epoch_blocks(medium.rows, medium.cols, medium.values, x, m, k, True, 3.6, 0.01,
                         pen, pen_bias, True, np.zeros(m + n, dtype=np.int64), n_jobs=2,
                         random_state=seed)
        out.append(x)
    assert np.array_equal(out[0], out[1])
    assert not np.array_equal(out[0], out[2])
    # The input order only matters through the stable grouping into blocks.
    rev = theta.copy()
    r = slice(None, None, -1)
    sgd_epoch_blocks(medium.rows[r], medium.cols[r], medium.values[r], rev, m, k, True, 3.6,
                     0.01, pen, pen_bias, True, np.zeros(m + n, dtype=np.int64), n_jobs=2,
                     random_state=5)
    assert not np.array_equal(rev, out[0])


def test_one_thread_is_plain_sgd_and_draws_nothing(medium):
    m, n = medium.shape
    theta, pen, pen_bias = _sgd_arrays(medium, 3, False, 2)
    a, b = theta.copy(), theta.copy()
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    sgd_epoch_blocks(medium.rows, medium.cols, medium.values, a, m, 3, False, 0.0, 0.01, pen,
                     pen_bias, False, np.zeros(m + n, dtype=np.int64), n_jobs=None,
                     random_state=rng)
    sgd_epoch(medium.rows, medium.cols, medium.values, b, m, 3, False, 0.0, 0.01, pen,
              pen_bias, False, np.zeros(m + n, dtype=np.int64))
    assert np.array_equal(a, b) and rng.bit_generator.state == state
    with pytest.raises(ValueError, match="same length"):
        sgd_epoch_blocks(medium.rows, medium.cols[:-1], medium.values, a, m, 3, False, 0.0,
                         0.01, pen, pen_bias, False, np.zeros(m + n, dtype=np.int64),
                         n_jobs=2)


def _fit_sgd(train, test, n_jobs, seed, k=8, epochs=30, lr=0.02, decay=0.92, reg=2.0):
    """Per-sample SGD as the estimator runs it (biased, Funk penalty, decaying learning
    rate; n_jobs=1 shuffles every epoch, n_jobs > 1 leaves that to the block schedule).
    Returns the test RMSE at the end."""
    m, n = train.shape
    rng = np.random.default_rng(seed)
    obj = MFObjective(train, k, biased=True)
    theta = obj.random_params(0.1, seed=rng)
    counts = np.concatenate([train.row_counts(), train.col_counts()]).astype(float)
    pen = np.divide(reg * np.ones(m + n), counts, out=np.zeros(m + n), where=counts > 0)
    last = np.zeros(m + n, dtype=np.int64)
    for epoch in range(epochs):
        if n_jobs == 1:
            order = rng.permutation(train.nnz)
            rows, cols, vals = train.rows[order], train.cols[order], train.values[order]
        else:
            rows, cols, vals = train.rows, train.cols, train.values
        sgd_epoch_blocks(rows, cols, vals, theta, m, k, True, obj.mu, lr * decay ** epoch, pen,
                         pen, False, last, n_jobs=n_jobs, random_state=rng)
    pred = obj.predict(theta, test.rows, test.cols)
    return float(np.sqrt(np.mean((pred - test.values) ** 2)))


def test_block_schedule_reaches_the_test_rmse_of_sequential_sgd():
    data = movielens_like(600, 400, 60_000, seed=1)
    train, test = data.observed.split((0.8, 0.2), seed=2)
    seq = np.array([_fit_sgd(train, test, 1, s) for s in range(6)])
    par = np.array([_fit_sgd(train, test, 2, s) for s in range(6)])
    spread = seq.std(ddof=1)   # seed-to-seed spread of sequential SGD
    baseline = np.sqrt(np.mean((train.mean() - test.values) ** 2))
    assert 0 < spread < 0.01 and seq.mean() < 0.9 * baseline   # a real fit, well below the mean
    assert abs(par.mean() - seq.mean()) <= spread


# ---------------------------------------------------------------------------- BLAS guard
def _blas_threads():
    from threadpoolctl import threadpool_info
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_blas_is_pinned_to_one_thread_while_kernel_threads_run(medium, monkeypatch):
    from threadpoolctl import threadpool_limits
    from mfbook.recommender import _dsgd
    seen = []

    def spy(module):
        real = module.run_tasks

        def run(fn, tasks):
            seen.append((len(tasks), _blas_threads()))
            return real(fn, tasks)
        monkeypatch.setattr(module, "run_tasks", run)
    spy(_als)
    spy(_dsgd)
    m, n = medium.shape
    obj = MFObjective(medium, 10, reg=1.0)
    theta, pen, pen_bias = _sgd_arrays(medium, 10, False, 0)
    with threadpool_limits(2, user_api="blas"):
        if not any(t > 1 for t in _blas_threads()):
            pytest.skip("this BLAS cannot run on two threads here")
        als_half_sweep(obj, obj.random_params(0.1, seed=0), "rows", n_jobs=2)
        sgd_epoch_blocks(medium.rows, medium.cols, medium.values, theta, m, 10, False, 0.0,
                         0.01, pen, pen_bias, False, np.zeros(m + n, dtype=np.int64), n_jobs=2,
                         random_state=0)
        parallel = [blas for n_tasks, blas in seen if n_tasks > 1]
        assert parallel and all(t == 1 for blas in parallel for t in blas)
        assert any(t > 1 for t in _blas_threads())   # restored afterwards


# ---------------------------------------------------------------------------- the estimator
def _pairs(R):
    return np.column_stack([R.rows, R.cols]), R.values


def test_estimator_als_on_two_threads_is_bit_identical(medium):
    from mfbook.recommender import MatrixFactorization

    X, y = _pairs(medium)
    fits = [MatrixFactorization(rank=10, solver="als", n_epochs=3, random_state=0,
                                n_jobs=n).fit(X, y) for n in (None, 2)]
    assert fits[1].n_jobs_ == 2
    assert np.array_equal(fits[0].theta_, fits[1].theta_)


def test_estimator_sgd_on_two_threads_is_reproducible_and_as_accurate(medium):
    from mfbook.recommender import MatrixFactorization

    train, test = medium.split((0.8, 0.2), seed=1)
    X, y = _pairs(train)
    Xt, yt = _pairs(test)

    def fit(n_jobs, seed):
        return MatrixFactorization(rank=10, solver="sgd", n_epochs=8, random_state=seed,
                                   n_jobs=n_jobs).fit(X, y)

    a, b = fit(2, 0), fit(2, 0)
    assert np.array_equal(a.theta_, b.theta_)            # same seed, same threads: same model
    assert not np.array_equal(a.theta_, fit(1, 0).theta_)   # a different visiting order
    rmse = {n: [np.sqrt(np.mean((fit(n, s).predict(Xt) - yt) ** 2)) for s in range(3)]
            for n in (1, 2)}
    spread = max(np.ptp(rmse[1]), 1e-3)
    assert abs(np.mean(rmse[2]) - np.mean(rmse[1])) < 2 * spread
