"""Chapter 3: ALS and per-sample SGD on one core and on two, against the machine's limits.

Run from the repository root (a few minutes; ``--quick``: tiny sizes, a few seconds, results
written to ``$MFBOOK_RESULTS_DIR`` or a fresh temporary directory, never over the stored ones):

    python benchmarks/ch03_parallel.py [--quick] [--surprise-only]

``--surprise-only`` runs sections 1, 2 and 2b (about two minutes) and keeps sections 3 and 4
from the stored results (recorded under ``kept_from_previous_run``).

Surprise is optional (``pip install -r benchmarks/requirements-surprise.txt``; it builds from
source); without it the Surprise floor is reported as not measured.  Writes
``benchmarks/results/ch03_parallel.json`` and prints every figure against its floor:

1. **Peak.**  What one core does in dense Cholesky through LAPACK (NumPy's batched
   ``cholesky`` on many :math:`\\kappa \\times \\kappa` matrices, :math:`\\kappa` the number of
   unknowns per ALS row, and SciPy's ``dpotrf`` on one large matrix), one BLAS thread.
2. **ALS-WR against Surprise** on ML-100K-sized data (``movielens_like(943, 1682, 80000)``),
   one core, CPU time, interleaved: ``MatrixFactorization(50, solver="als", biased=True,
   reg_weighting="count", n_epochs=10)`` against ``surprise.SVD()`` with its defaults
   (100 factors, 20 epochs).  Floor: at most 0.5x Surprise's CPU time.  Also the GFLOP/s
   of one sweep (``mfbook.recommender._als.sweep_flops``) against the peak of 1.
2b. **Conjugate-gradient ALS** (``als_solve="cg"``, :func:`mfbook.recommender.als_half_sweep`)
   on an 80/20 split of ``movielens_like(943, 1682, 100_000)`` (80,000 training ratings):
   ten sweeps at rank 50 with exact half-sweeps (Cholesky) and with 2 and 3 CG steps per
   row, against ``surprise.SVD()`` defaults, CPU time interleaved (floor as in 2, for the
   default number of steps), the GFLOP/s of one sweep from the flops each kernel actually
   performs (``sweep_flops``, ``cg_sweep_flops``), and the test RMSE of each over five seeds
   beside the seed-to-seed spread of exact ALS.
3. **Two threads** at 1M ratings (``movielens_like(6000, 4000, 1_000_000)``, rank 20,
   biased) and at 1e7 ratings (ML-10M's shape, 69,878 x 10,677, sampled by
   :func:`sampled_ratings`): one ALS sweep (two half-sweeps) and one SGD epoch, as the
   estimator runs them, with ``n_jobs=1`` (SGD: shuffle all ratings, then the sequential
   kernel) and ``n_jobs=2`` (SGD: the block schedule on the unshuffled ratings, the block
   shuffles on the threads), interleaved, wall and CPU time.  Floors: ``n_jobs=2`` at
   least 1.7x faster in wall time on an otherwise idle 2-core machine; at 1M, one core not
   slower than 0.19 s (CPU) per ALS sweep and 0.10 s per SGD epoch.  The load average is
   printed with every section: on a shared machine the wall-time ratios are only a lower
   bound, and the floor run must be repeated when the machine is idle.  Printed beside
   them, not a floor: the speed-up projected from per-thread CPU times
   (:class:`TaskClock`), what two idle cores would give.
4. **Threads or numba's prange** for the ALS half-sweep, same chunks, and the compilation
   time of each kernel in a fresh process (empty numba cache, then the written one).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402

from mfbook.book import save_results  # noqa: E402
from mfbook.core import MFObjective, Ratings  # noqa: E402
from mfbook.datasets import movielens_like, skewed_pairs  # noqa: E402
from mfbook.recommender import MatrixFactorization, als_half_sweep  # noqa: E402
from mfbook.recommender._als import (DEFAULT_CG_STEPS, _pattern, _row_bounds,  # noqa: E402
                                     cg_sweep_flops, sweep_flops)
from mfbook.recommender._dsgd import block_schedule, sgd_epoch_blocks  # noqa: E402
from mfbook.recommender._kernels import sgd_epoch  # noqa: E402

COMMAND = "python benchmarks/ch03_parallel.py"
SURPRISE_FLOOR = 0.5          # ALS-WR CPU time / Surprise SVD() CPU time
SPEEDUP_FLOOR = 1.7           # wall time n_jobs=1 / n_jobs=2
ALS_SWEEP_FLOOR = 0.19        # seconds, one core, 1M ratings
SGD_EPOCH_FLOOR = 0.10        # seconds, one core, 1M ratings


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed(fn, clock=time.perf_counter):
    start = clock()
    out = fn()
    return clock() - start, out


def interleaved(fns: dict, repeats: int) -> dict:
    """Best and median wall and CPU seconds of each function, run in turn ``repeats`` times."""
    wall = {k: [] for k in fns}
    cpu = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {k: {"wall_best": min(wall[k]), "wall_median": float(np.median(wall[k])),
                "cpu_best": min(cpu[k]), "cpu_median": float(np.median(cpu[k]))} for k in fns}


class TaskClock:
    """Critical path of a parallel call from per-thread CPU times, for a loaded machine.

    While installed (:meth:`patch`), every batch of tasks the solvers hand to threads is
    timed task by task with ``time.thread_time``.  :meth:`critical` runs a function and
    returns the CPU seconds of its main thread outside the tasks plus, for every batch, the
    slowest task: the wall time the call would take on two otherwise idle cores (CPU time
    also grows a little under load, through shared caches, so this is an estimate).
    """

    def __init__(self, modules):
        self.modules = modules
        self.batches: list[list[float]] = []

    def patch(self):
        for module in self.modules:
            real = module.run_tasks

            def run(fn, tasks, real=real):
                times = [0.0] * len(tasks)

                def timed_task(i, *args):
                    start = time.thread_time()
                    out = fn(*args)
                    times[i] = time.thread_time() - start
                    return out
                out = real(timed_task, [(i, *t) for i, t in enumerate(tasks)])
                self.batches.append(times)
                return out
            module.run_tasks = run
        return self

    def critical(self, fn) -> float:
        self.batches = []
        start = time.thread_time()
        fn()
        main = time.thread_time() - start
        return main - sum(b[0] for b in self.batches) + sum(max(b) for b in self.batches)


def sampled_ratings(n_users: int, n_items: int, n_ratings: int, rank: int = 20, *,
                    seed: int = 0, noise_std: float = 0.8) -> Ratings:
    """Ratings of the biased rank-``rank`` model of ``movielens_like`` without its dense
    truth matrix: users and items drawn independently by log-normal activity and
    popularity (sigma 1.15 and 1.5), duplicates removed, ``n_ratings`` kept at random."""
    rng = np.random.default_rng(seed)
    rows, cols = skewed_pairs(n_users, n_items, n_ratings, rng)
    std = np.sqrt(0.5 / np.sqrt(rank))
    U, V = rng.normal(0, std, (n_users, rank)), rng.normal(0, std, (n_items, rank))
    b, c = rng.normal(0, 0.35, n_users), rng.normal(0, 0.5, n_items)
    vals = np.empty(n_ratings)
    for lo in range(0, n_ratings, 1_000_000):
        r, q = rows[lo:lo + 1_000_000], cols[lo:lo + 1_000_000]
        vals[lo:lo + len(r)] = (3.6 + b[r] + c[q] + np.einsum("ij,ij->i", U[r], V[q])
                                + noise_std * rng.standard_normal(len(r)))
    return Ratings(rows, cols, vals, (n_users, n_items))


# ---------------------------------------------------------------------- 1. peak
def cholesky_peak(kappas: tuple[int, ...], n_small: int, n_large: int) -> dict:
    """GFLOP/s (:math:`n^3/3` flops per factorization) of LAPACK Cholesky on one thread."""
    import scipy.linalg
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    out = {"batched": {}, "large": {}}
    with threadpool_limits(1):
        for kappa in kappas:
            A = rng.normal(size=(n_small, kappa, kappa))
            S = A @ A.transpose(0, 2, 1) + kappa * np.eye(kappa)
            np.linalg.cholesky(S)
            t = min(timed(lambda: np.linalg.cholesky(S), time.process_time)[0] for _ in range(5))
            out["batched"][str(kappa)] = n_small * kappa ** 3 / 3 / t / 1e9
        A = rng.normal(size=(n_large, n_large))
        S = A @ A.T + n_large * np.eye(n_large)
        t = min(timed(lambda: scipy.linalg.lapack.dpotrf(S, lower=1), time.process_time)[0]
                for _ in range(3))
        out["large"][str(n_large)] = n_large ** 3 / 3 / t / 1e9
    return out


# ---------------------------------------------------------------------- 2. Surprise
def surprise_fit_seconds(R: Ratings, repeats: int):
    """CPU seconds of ``surprise.SVD()`` fits (trainset built once), or None without it."""
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader
    except ImportError:
        return None
    frame = pd.DataFrame({"u": R.rows, "i": R.cols, "r": R.values})
    reader = Reader(rating_scale=(float(R.values.min()), float(R.values.max())))
    trainset = Dataset.load_from_df(frame, reader).build_full_trainset()
    return lambda: SVD(random_state=0).fit(trainset)


def against_surprise(shape: tuple[int, int, int], rank: int, repeats: int) -> dict:
    R = movielens_like(*shape, seed=0).observed
    params = dict(solver="als", biased=True, reg=0.05, reg_weighting="count", n_epochs=10,
                  random_state=0)
    obj = MFObjective(R, rank, reg=0.05, reg_weighting="count", biased=True)
    theta = obj.random_params(0.1, seed=0)

    def sweep():
        als_half_sweep(obj, als_half_sweep(obj, theta, "rows"), "cols")
    fns = {"als_fit": lambda: MatrixFactorization(rank, **params).fit(R), "als_sweep": sweep}
    svd = surprise_fit_seconds(R, repeats)
    if svd is not None:
        fns["surprise_fit"] = svd
    for fn in fns.values():
        fn()   # compile, warm caches
    res = interleaved(fns, repeats)
    flops = sweep_flops(obj, "rows") + sweep_flops(obj, "cols")
    out = {"shape": list(R.shape), "n_ratings": R.nnz, "rank": rank, "params": params,
           "times": res, "sweep_flops": flops,
           "sweep_gflops": flops / res["als_sweep"]["cpu_best"] / 1e9}
    if svd is not None:
        import surprise
        out["surprise_version"] = surprise.__version__
        out["ratio"] = res["als_fit"]["cpu_best"] / res["surprise_fit"]["cpu_best"]
    return out


# ---------------------------------------------------------------------- 2b. CG ALS
def surprise_model(train: Ratings, seed: int):
    """``(fit, test_rmse)``: ``fit()`` fits ``surprise.SVD(random_state=seed)`` on ``train``
    (trainset built once) and ``test_rmse(test)`` scores the last fit; None without Surprise."""
    try:
        import pandas as pd
        from surprise import SVD, Dataset, Reader
    except ImportError:
        return None
    frame = pd.DataFrame({"u": train.rows, "i": train.cols, "r": train.values})
    reader = Reader(rating_scale=(float(train.values.min()), float(train.values.max())))
    trainset = Dataset.load_from_df(frame, reader).build_full_trainset()
    state = {}

    def fit():
        state["algo"] = SVD(random_state=seed).fit(trainset)

    def test_rmse(test: Ratings) -> float:
        pred = [state["algo"].predict(int(u), int(i)).est for u, i in zip(test.rows, test.cols)]
        return float(np.sqrt(np.mean((np.array(pred) - test.values) ** 2)))
    return fit, test_rmse


def cg_against_surprise(shape: tuple[int, int, int], rank: int, repeats: int,
                        seeds: tuple[int, ...], steps: tuple[int, ...]) -> dict:
    """ALS-WR with exact (Cholesky) and conjugate-gradient half-sweeps against Surprise:
    CPU time of ten sweeps (interleaved) and test RMSE over several seeds, on an 80/20
    split of ``movielens_like(*shape)``."""
    train, test = movielens_like(*shape, seed=0).observed.split([0.8, 0.2], seed=1)
    base = dict(solver="als", biased=True, reg=0.05, reg_weighting="count", n_epochs=10)

    def model(solve, c, seed):
        return MatrixFactorization(rank, **base, als_solve=solve, cg_steps=c, random_state=seed)
    variants = {"cholesky": ("cholesky", DEFAULT_CG_STEPS)}
    variants.update({f"cg{c}": ("cg", c) for c in steps})
    fns = {f"als_{name}": (lambda v=v: model(*v, 0).fit(train)) for name, v in variants.items()}
    obj = MFObjective(train, rank, reg=0.05, reg_weighting="count", biased=True)
    theta = obj.random_params(0.1, seed=0)
    for c in steps:
        fns[f"sweep_cg{c}"] = lambda c=c: als_half_sweep(
            obj, als_half_sweep(obj, theta, "rows", solve="cg", cg_steps=c), "cols",
            solve="cg", cg_steps=c)
    fns["sweep_cholesky"] = lambda: als_half_sweep(obj, als_half_sweep(obj, theta, "rows"),
                                                   "cols")
    svd = surprise_model(train, 0)
    if svd is not None:
        fns["surprise_fit"] = svd[0]
    for fn in fns.values():
        fn()   # compile, warm caches
    load_start = load()
    res = interleaved(fns, repeats)
    flops = {"cholesky": sweep_flops(obj, "rows") + sweep_flops(obj, "cols")}
    flops.update({f"cg{c}": cg_sweep_flops(obj, "rows", c) + cg_sweep_flops(obj, "cols", c)
                  for c in steps})
    gflops = {name: f / res[f"sweep_{name}"]["cpu_best"] / 1e9 for name, f in flops.items()}
    rmse = {name: [model(*v, seed).fit(train).rmse(test) for seed in seeds]
            for name, v in variants.items()}
    if svd is not None:
        rmse["surprise"] = []
        for seed in seeds:
            fit, score = surprise_model(train, seed)
            fit()
            rmse["surprise"].append(score(test))
    spread = max(rmse["cholesky"]) - min(rmse["cholesky"])
    out = {"shape": list(train.shape), "n_train": train.nnz, "n_test": test.nnz, "rank": rank,
           "params": base, "cg_steps": list(steps), "default_cg_steps": DEFAULT_CG_STEPS,
           "times": res, "sweep_flops": flops, "sweep_gflops": gflops,
           "seeds": list(seeds), "test_rmse": rmse,
           "test_rmse_mean": {k: float(np.mean(v)) for k, v in rmse.items()},
           "cholesky_seed_spread": spread,
           "cg_within_spread": {f"cg{c}": bool(abs(np.mean(rmse[f"cg{c}"])
                                                    - np.mean(rmse["cholesky"])) <= spread)
                                for c in steps},
           "load_start": load_start, "load_end": load()}
    if svd is not None:
        import surprise
        out["surprise_version"] = surprise.__version__
        out["ratio"] = {name: res[f"als_{name}"]["cpu_best"] / res["surprise_fit"]["cpu_best"]
                        for name in variants}
    return out


# ---------------------------------------------------------------------- 3. two threads
def two_threads(R: Ratings, rank: int, repeats: int) -> dict:
    m, n = R.shape
    N = R.nnz
    obj = MFObjective(R, rank, reg=5.0, biased=True)
    theta = obj.random_params(0.1, seed=0)
    for side in ("rows", "cols"):
        _pattern(obj, side)
    counts = np.concatenate([R.row_counts(), R.col_counts()]).astype(float)
    pen = np.divide(0.05, counts, out=np.zeros(m + n), where=counts > 0)
    last = np.zeros(m + n, dtype=np.int64)
    rng = np.random.default_rng(0)
    work = theta.copy()

    def als(n_jobs):
        return lambda: als_half_sweep(obj, als_half_sweep(obj, theta, "rows", n_jobs=n_jobs),
                                      "cols", n_jobs=n_jobs)

    def sgd1():   # the estimator's epoch today: shuffle everything, then the kernel
        order = rng.permutation(N)
        sgd_epoch(R.rows[order], R.cols[order], R.values[order], work, m, rank, True, obj.mu,
                  0.005, pen, pen, False, last)

    def sgd2():
        sgd_epoch_blocks(R.rows, R.cols, R.values, work, m, rank, True, obj.mu, 0.005, pen, pen,
                         False, last, n_jobs=2, random_state=rng)
    fns = {"als_1": als(1), "als_2": als(2), "sgd_1": sgd1, "sgd_2": sgd2}
    for fn in fns.values():
        fn()
    load_start = load()
    res = interleaved(fns, repeats)
    from mfbook.recommender import _als, _dsgd
    saved = (_als.run_tasks, _dsgd.run_tasks)
    clock = TaskClock([_als, _dsgd]).patch()
    try:
        crit = {name: min(clock.critical(fn) for _ in range(repeats)) for name, fn in fns.items()}
    finally:
        _als.run_tasks, _dsgd.run_tasks = saved
    plan = block_schedule(R.rows, R.cols, m, n, 2, np.random.default_rng(0))
    sizes = np.diff(plan["starts"])
    strata = [[int(sizes[0]), int(sizes[3])], [int(sizes[1]), int(sizes[2])]]
    flops = sweep_flops(obj, "rows") + sweep_flops(obj, "cols")
    rows_split = [np.diff(_row_bounds(obj, side, 2)).tolist() for side in ("rows", "cols")]
    return {"shape": [m, n], "n_ratings": N, "rank": rank, "times": res,
            "als_speedup": res["als_1"]["wall_best"] / res["als_2"]["wall_best"],
            "sgd_speedup": res["sgd_1"]["wall_best"] / res["sgd_2"]["wall_best"],
            "critical_path_seconds": crit,
            "als_projected_speedup": crit["als_1"] / crit["als_2"],
            "sgd_projected_speedup": crit["sgd_1"] / crit["sgd_2"],
            "als_sweep_gflops_one_core": flops / res["als_1"]["cpu_best"] / 1e9,
            "sgd_strata_block_sizes": strata,
            "sgd_balance": float(np.mean([min(s) / max(s) for s in strata])),
            "als_rows_per_thread": rows_split,
            "load_start": load_start, "load_end": load()}


# ---------------------------------------------------------------------- 4. mechanism
def threads_or_prange(R: Ratings, rank: int, repeats: int) -> dict:
    """The same two chunks of each half-sweep on the thread pool and in a prange loop."""
    import numba
    from numba import njit, prange

    from mfbook.recommender._als_kernels import als_rows

    @njit(parallel=True)
    def als_prange(theta, m, n, k, biased, mu, s, reg, reg_bias, weights, indptr, other, vals,
                   users, bounds, failed, counts):
        for c in prange(bounds.shape[0] - 1):
            counts[c] = als_rows(theta, m, n, k, biased, mu, s, reg, reg_bias, weights, indptr,
                                 other, vals, users, bounds[c], bounds[c + 1], failed)

    obj = MFObjective(R, rank, reg=5.0, biased=True)
    theta0 = obj.random_params(0.1, seed=0)
    m, n = R.shape

    def prange_sweep():
        theta = theta0.copy()
        for side in ("rows", "cols"):
            _, indptr, other, vals = _pattern(obj, side)
            w = obj.row_weights if side == "rows" else obj.col_weights
            failed = np.empty(len(indptr) - 1, dtype=np.int64)
            als_prange(theta, m, n, rank, True, obj.mu, obj.error_scale, obj.reg, obj.reg_bias,
                       w, indptr, other, vals, side == "rows", _row_bounds(obj, side, 2), failed,
                       np.zeros(2, dtype=np.int64))
        return theta

    def pool_sweep():
        return als_half_sweep(obj, als_half_sweep(obj, theta0, "rows", n_jobs=2), "cols",
                              n_jobs=2)
    pool_sweep()
    compile_seconds, first = timed(prange_sweep)
    same = bool(np.array_equal(first, pool_sweep()))
    res = interleaved({"threads": pool_sweep, "prange": prange_sweep}, repeats)
    return {"times": res, "prange_first_call_seconds": compile_seconds,
            "threading_layer": numba.threading_layer(), "bit_identical": same,
            "numba": numba.__version__, "load": load()}


COMPILE_PROBE = """
import time
start = time.perf_counter()
import numpy as np
from mfbook.core import MFObjective
from mfbook.datasets import rating_matrix
from mfbook.recommender import als_half_sweep
from mfbook.recommender._dsgd import sgd_epoch_blocks
import numba
R = rating_matrix(seed=0).observed
obj = MFObjective(R, 4, reg=0.1, biased=True)
theta = obj.random_params(0.1, seed=0)
t_import = time.perf_counter()
als_half_sweep(obj, theta, "rows")
t_als = time.perf_counter()
m, n = R.shape
pen = np.full(m + n, 0.01)
sgd_epoch_blocks(R.rows, R.cols, R.values, theta, m, 4, True, obj.mu, 0.01, pen, pen, True,
                 np.zeros(m + n, dtype=np.int64), n_jobs=2, random_state=0)
print(t_import - start, t_als - t_import, time.perf_counter() - t_als)
"""


def compile_times() -> dict:
    """First ALS half-sweep and first parallel SGD epoch in fresh processes."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [[float(x) for x in subprocess.run(
            [sys.executable, "-c", COMPILE_PROBE], env=env, check=True, capture_output=True,
            text=True).stdout.split()] for _ in range(2)]
    names = ("imports", "als", "sgd_blocks")
    return {"cold": dict(zip(names, runs[0])), "warm": dict(zip(names, runs[1])),
            "note": "fresh process: imports (numpy, numba, mfbook, test data), then the first "
                    "ALS half-sweep and the first 2-thread SGD epoch; NUMBA_CACHE_DIR empty, "
                    "then holding what the first run wrote"}


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def floor_rows(surprise: dict, surprise_cg: dict | None, scaling: dict) -> list[dict]:
    figures = []
    if "ratio" in surprise:
        figures.append(("ALS-WR 10 sweeps / Surprise SVD(), CPU", surprise["ratio"],
                        SURPRISE_FLOOR, "<="))
    for name, s in scaling.items():
        figures.append((f"{name}: ALS sweep speed-up, 2 threads", s["als_speedup"],
                        SPEEDUP_FLOOR, ">="))
        figures.append((f"{name}: SGD epoch speed-up, 2 threads", s["sgd_speedup"],
                        SPEEDUP_FLOOR, ">="))
    one = scaling["1M"]["times"]
    figures.append(("1M: ALS sweep, one core, CPU s", one["als_1"]["cpu_best"], ALS_SWEEP_FLOOR,
                    "<="))
    figures.append(("1M: SGD epoch, one core, CPU s", one["sgd_1"]["cpu_best"], SGD_EPOCH_FLOOR,
                    "<="))
    # Added last, so that the rows above keep their positions.
    if surprise_cg and "ratio" in surprise_cg:
        c = surprise_cg["default_cg_steps"]
        figures.append((f"ALS-WR CG({c}) 10 sweeps / Surprise SVD(), CPU",
                        surprise_cg["ratio"][f"cg{c}"], SURPRISE_FLOOR, "<="))
    return [{"figure": f, "value": float(v), "floor": fl, "sense": sense,
             "ok": bool(v <= fl if sense == "<=" else v >= fl)} for f, v, fl, sense in figures]


def print_cg(cg: dict) -> None:
    t = cg["times"]
    print(f"2b. ALS-WR rank {cg['rank']}, 10 sweeps on {cg['n_train']:,} ratings "
          f"({cg['n_test']:,} held out), CPU s (wall s), load {cg['load_start']} -> "
          f"{cg['load_end']}:", flush=True)
    names = ["cholesky"] + [f"cg{c}" for c in cg["cg_steps"]]
    for name in names:
        ratio = f", / Surprise {cg['ratio'][name]:.2f}" if "ratio" in cg else ""
        print(f"   {name:>9}: fit {t['als_' + name]['cpu_best']:.3f} "
              f"({t['als_' + name]['wall_best']:.3f}){ratio}; one sweep "
              f"{t['sweep_' + name]['cpu_best'] * 1e3:.1f} ms, "
              f"{cg['sweep_flops'][name] / 1e6:.0f} MFLOP = {cg['sweep_gflops'][name]:.1f} "
              f"GFLOP/s; test RMSE {cg['test_rmse_mean'][name]:.4f} (seeds "
              f"{', '.join(f'{v:.4f}' for v in cg['test_rmse'][name])})", flush=True)
    if "ratio" in cg:
        print(f"   Surprise SVD(): fit {t['surprise_fit']['cpu_best']:.3f} "
              f"({t['surprise_fit']['wall_best']:.3f}); test RMSE "
              f"{cg['test_rmse_mean']['surprise']:.4f}", flush=True)
    print(f"   seed-to-seed spread of exact ALS's test RMSE {cg['cholesky_seed_spread']:.4f}; "
          f"CG mean within it: {cg['cg_within_spread']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds")
    parser.add_argument("--surprise-only", action="store_true",
                        help="sections 1, 2 and 2b only (about two minutes); the other "
                             "sections are kept from the stored results")
    args = parser.parse_args()
    if args.quick and not os.environ.get("MFBOOK_RESULTS_DIR"):
        os.environ["MFBOOK_RESULTS_DIR"] = tempfile.mkdtemp(prefix="ch03_parallel_")
    quick = args.quick
    t0 = time.perf_counter()
    print(f"cores {os.cpu_count()}, load at start {load()}", flush=True)
    if quick:
        print("quick mode: tiny stand-ins for every size, the floors are not meaningful")
    peak = cholesky_peak((21, 51), 200 if quick else 3000, 300 if quick else 4000)
    print("1. LAPACK Cholesky, one thread: " + ", ".join(
        f"{n} x {n} batched {g:.1f} GFLOP/s" for n, g in peak["batched"].items())
          + "; " + ", ".join(f"{n} x {n} {g:.1f} GFLOP/s" for n, g in peak["large"].items()),
          flush=True)
    surprise = against_surprise((200, 300, 8000) if quick else (943, 1682, 80_000),
                                10 if quick else 50, 2 if quick else 5)
    tt = surprise["times"]
    print(f"2. ALS-WR rank {surprise['rank']}, 10 sweeps on {surprise['n_ratings']:,} ratings: "
          f"{tt['als_fit']['cpu_best']:.3f} s CPU ({tt['als_fit']['wall_best']:.3f} s wall); one "
          f"sweep {tt['als_sweep']['cpu_best'] * 1e3:.1f} ms = {surprise['sweep_gflops']:.1f} "
          f"GFLOP/s; load {load()}", flush=True)
    if "ratio" in surprise:
        print(f"   Surprise SVD() {tt['surprise_fit']['cpu_best']:.3f} s CPU "
              f"({tt['surprise_fit']['wall_best']:.3f} s wall): ratio {surprise['ratio']:.2f}",
              flush=True)
    else:
        print("   Surprise not installed (pip install -r benchmarks/requirements-surprise.txt)")
    surprise_cg = cg_against_surprise((200, 300, 10_000) if quick else (943, 1682, 100_000),
                                      10 if quick else 50, 2 if quick else 5,
                                      (0, 1) if quick else (0, 1, 2, 3, 4), (2, 3))
    print_cg(surprise_cg)
    scaling, mech, comp, kept = {}, None, None, None
    if args.surprise_only:
        from mfbook.book import load_results
        stored = load_results("ch03_parallel.json")
        scaling, mech, comp = stored["scaling"], stored["mechanism"], stored["compile"]
        kept = {"sections": ["scaling", "mechanism", "compile"],
                "from_command": stored["command"],
                "from_total_seconds": stored["total_seconds"]}
        print("3., 4.: kept from the stored results (--surprise-only)")
    cases = {"1M": lambda: movielens_like(600, 400, 20_000, seed=0).observed if quick
             else movielens_like(6000, 4000, 1_000_000, seed=0).observed,
             "1e7": lambda: sampled_ratings(2000, 1000, 50_000) if quick
             else sampled_ratings(69_878, 10_677, 10_000_054)}
    for name, make in ({} if args.surprise_only else cases).items():
        gen, R = timed(make)
        scaling[name] = two_threads(R, 20, 3 if quick else (7 if name == "1M" else 3))
        scaling[name]["generation_seconds"] = gen
        s = scaling[name]
        t = s["times"]
        print(f"3. {name}: {R.nnz:,} ratings {R.shape} (made in {gen:.0f} s), load "
              f"{s['load_start']} -> {s['load_end']}", flush=True)
        for solver, what in (("als", "ALS sweep"), ("sgd", "SGD epoch")):
            a, b = t[f"{solver}_1"], t[f"{solver}_2"]
            print(f"   {what}: n_jobs=1 {a['wall_best']:.3f} s wall ({a['cpu_best']:.3f} CPU), "
                  f"n_jobs=2 {b['wall_best']:.3f} s wall ({b['cpu_best']:.3f} CPU): speed-up "
                  f"{s[solver + '_speedup']:.2f} (from per-thread CPU times, on idle cores: "
                  f"{s[solver + '_projected_speedup']:.2f})", flush=True)
        del R
    if not (quick or args.surprise_only):
        mech = threads_or_prange(movielens_like(6000, 4000, 1_000_000, seed=0).observed, 20, 5)
        comp = compile_times()
        print(f"4. ALS sweep on 2 threads: pool {mech['times']['threads']['wall_best']:.3f} s, "
              f"prange ({mech['threading_layer']}) {mech['times']['prange']['wall_best']:.3f} s "
              f"wall, bit-identical {mech['bit_identical']}; prange kernel first call "
              f"{mech['prange_first_call_seconds']:.1f} s", flush=True)
        print(f"   first call in a fresh process (imports {comp['cold']['imports']:.1f} s): ALS "
              f"{comp['cold']['als']:.1f} s with an empty numba cache, "
              f"{comp['warm']['als']:.2f} s with it written; 2-thread SGD "
              f"{comp['cold']['sgd_blocks']:.1f} s, {comp['warm']['sgd_blocks']:.2f} s", flush=True)

    rows = floor_rows(surprise, surprise_cg, scaling)
    print(f"\n{'Figure':<44} {'measured':>9} {'floor':>9}   ok")
    for r in rows:
        print(f"{r['figure']:<44} {r['value']:9.3f} {r['sense']}{r['floor']:7.2f}   "
              f"{verdict(r['ok'])}")
    best_peak = max(list(peak["batched"].values()) + list(peak["large"].values()))
    print(f"ALS sweep GFLOP/s, one core: rank {surprise['rank']} "
          f"{surprise['sweep_gflops']:.1f} (CG: "
          + ", ".join(f"{k} {v:.1f}" for k, v in surprise_cg["sweep_gflops"].items())
          + f"), 1M rank 20 {scaling['1M']['als_sweep_gflops_one_core']:.1f}; LAPACK Cholesky "
          f"peak {best_peak:.1f} (large), batched small {peak['batched']}")
    print(f"load at end {load()}; the wall-time floors need an otherwise idle machine")
    command = COMMAND + (" --quick" if quick else "") \
        + (" --surprise-only" if args.surprise_only else "")
    out = {"command": command, "quick": quick,
           "python": platform.python_version(), "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "blas_threads": 1, "cholesky_peak_gflops": peak,
           "surprise": surprise, "surprise_cg": surprise_cg, "scaling": scaling,
           "mechanism": mech, "compile": comp, "kept_from_previous_run": kept,
           "figures": rows, "all_ok": all(r["ok"] for r in rows),
           "total_seconds": time.perf_counter() - t0}
    path = save_results("ch03_parallel.json", out)
    shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
    print(f"all floors met: {out['all_ok']}; wrote {shown} in {out['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
