"""Chapter 3: exactness, speed and accuracy of ``mfbook.recommender.MatrixFactorization``.

Run from the repository root (about 5 minutes on one core of the book's machine):

    python benchmarks/ch03_benchmark.py
    python benchmarks/ch03_benchmark.py --quick    # tiny sizes, a few seconds (CI)

Writes ``benchmarks/results/ch03_benchmark.json`` and prints every figure against its floor.
``--quick`` writes to ``$MFBOOK_RESULTS_DIR`` or a fresh temporary directory instead, never
over the stored results, and its figures are not floor measurements.

1. **The latent factor project's problem** (100 x 60, 952 training ratings).  Each solver
   configuration is run twice from the same seed: by the estimator (compiled kernels) and
   by a plain Python loop (``mfbook.reference``), the textbook algorithm one rating (or one batch, or
   one row) at a time.  Floors: parameters and per-epoch validation RMSE agree to 1e-10;
   the estimator is at least 20 times faster (whole fits, per-epoch evaluation included on
   both sides; best of several repeats).
2. **A MovieLens-1M-shaped problem** (``mfbook.data.movielens_like``: 6,040 x 3,706,
   1,000,209 ratings, rank 20, noise 0.8), k = 20, split 80/10/10 into train, validation
   and test.  Floors, on one core: per-sample SGD at most 1.0 s per epoch, mini-batch SGD
   (batch 1,024) at most 0.5 s per epoch, one ALS sweep at most 1.0 s (best epoch of a
   run, shuffling included).  The biased model fitted by ALS and by SGD, with the penalty
   chosen on the validation set, reach test RMSEs within 1% of each other and within 15%
   of the generator's noise floor.  Per-epoch histories of every solver are stored for the
   chapter's convergence figures.

The machine is shared: the load average is recorded, and every timing is the best of
several repeats, so that other processes make the figures pessimistic, not optimistic.
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

from mfbook.book import rounded, save_results  # noqa: E402
from mfbook.core import Ratings, rmse  # noqa: E402
from mfbook.datasets import movielens_like, rating_matrix  # noqa: E402
from mfbook.recommender import MatrixFactorization  # noqa: E402
from mfbook.recommender.reference import loop_als, loop_stochastic  # noqa: E402

COMMAND = "python benchmarks/ch03_benchmark.py"
EXACT_FLOOR = 1e-10
SPEEDUP_FLOOR = 20.0
FLOORS_SECONDS = {"sgd": 1.0, "minibatch": 0.5, "als": 1.0}
AGREEMENT_FLOOR = 0.01        # |RMSE_SGD / RMSE_ALS - 1|
NOISE_RATIO_FLOOR = 1.15      # RMSE / noise floor


def best_time(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


# ---------------------------------------------------------------------- part 1
def seed_problem():
    """The project's data and split, from its single generator seeded with 42."""
    rng = np.random.default_rng(42)
    test, train = rating_matrix(seed=rng).observed.split((0.2, 0.8), seed=rng)
    return train, test


def seed_cases(N: int, n_epochs: int = 150) -> list[tuple[str, dict]]:
    # The book's plain model, stated (the estimator's defaults are a first recommender).
    plain = dict(rank=4, clip=(1, 5), n_epochs=n_epochs, biased=False, reg_weighting="uniform")
    return [
        ("SGD, batch 1 (project; penalty on all rows)",
         dict(plain, solver="sgd", penalty="all", reg=N * 0.01, lr=0.005)),
        ("SGD, per-rating penalty (Funk), biased",
         dict(plain, solver="sgd", biased=True, reg=0.05, reg_weighting="count", lr=0.005)),
        ("mini-batch 32 (project)",
         dict(plain, solver="minibatch", batch_size=32, penalty="all", reg=N * 0.01, lr=0.02)),
        ("mini-batch 32 + momentum 0.9 (project)",
         dict(plain, solver="minibatch", batch_size=32, momentum=0.9, penalty="all",
              reg=N * 0.01, lr=0.02)),
        ("mini-batch 32, biased (project)",
         dict(plain, solver="minibatch", batch_size=32, biased=True, penalty="all",
              reg=N * 0.01, reg_bias=N * 0.001, lr=0.01)),
        ("Adam, batch 32, biased",
         dict(plain, solver="adam", batch_size=32, biased=True, reg=1.0, lr=0.01)),
        ("ALS, 50 sweeps (project)",
         dict(plain, solver="als", reg=0.01, n_epochs=min(50, n_epochs))),
        ("ALS-WR, biased, 50 sweeps",
         dict(plain, solver="als", biased=True, reg=0.05, reg_weighting="count",
              n_epochs=min(50, n_epochs))),
    ]


def part1(quick: bool) -> list[dict]:
    train, test = seed_problem()
    rows = []
    for name, params in seed_cases(train.nnz, 5 if quick else 150):
        loop = loop_als if params["solver"] == "als" else loop_stochastic
        slow = params["solver"] == "sgd"
        t_loop, (theta_ref, hist_ref) = best_time(
            lambda: loop(train, test, random_state=7, **params), 1 if quick else 2 if slow else 3)

        def fast():
            return MatrixFactorization(random_state=7, **params).fit(train, X_val=test)
        fast()   # load the compiled kernels before timing
        t_fast, est = best_time(fast, 2 if quick else 20)
        diff_theta = float(np.max(np.abs(est.theta_ - theta_ref)))
        diff_hist = float(np.max(np.abs(est.history_["valid_rmse"][1:] - hist_ref)))
        row = {"case": name, "params": {k: v for k, v in params.items()},
               "loop_seconds": t_loop, "fast_seconds": t_fast, "speedup": t_loop / t_fast,
               "max_param_diff": diff_theta, "max_history_diff": diff_hist,
               "final_valid_rmse": float(est.history_["valid_rmse"][-1]),
               "exact_ok": max(diff_theta, diff_hist) <= EXACT_FLOOR,
               "speed_ok": t_loop / t_fast >= SPEEDUP_FLOOR}
        rows.append(row)
        print(f"{name:<46} diff {max(diff_theta, diff_hist):8.1e} (<= {EXACT_FLOOR:.0e}) "
              f"speed-up {t_loop / t_fast:7.1f}x (>= {SPEEDUP_FLOOR:.0f}x)  "
              f"loop {t_loop:6.3f} s, fast {t_fast * 1e3:6.2f} ms  "
              f"{'ok' if row['exact_ok'] and row['speed_ok'] else 'FAIL'}", flush=True)
    return rows


# ---------------------------------------------------------------------- part 2
def python_update_cost(train: Ratings, n_updates: int = 20_000) -> float:
    """Seconds per rating of the per-sample SGD update written as a Python loop (k = 20)."""
    rng = np.random.default_rng(0)
    m, n = train.shape
    U = rng.normal(0, 0.1, (m, 20))
    V = rng.normal(0, 0.1, (n, 20))
    b, c = np.zeros(m), np.zeros(n)
    mu, lr, lam = train.mean(), 0.01, 0.01
    order = rng.permutation(train.nnz)[:n_updates]
    start = time.perf_counter()
    for p in order:
        i, j = train.rows[p], train.cols[p]
        e = train.values[p] - (mu + b[i] + c[j] + U[i] @ V[j])
        u = U[i].copy()
        U[i] += 2 * lr * (e * V[j] - lam * U[i])
        V[j] += 2 * lr * (e * u - lam * V[j])
        b[i] += 2 * lr * (e - lam * b[i])
        c[j] += 2 * lr * (e - lam * c[j])
    return (time.perf_counter() - start) / n_updates


def epoch_seconds(est: MatrixFactorization) -> np.ndarray:
    return np.diff(est.history_["time"])


def part2(quick: bool) -> dict:
    start = time.perf_counter()
    data = (movielens_like(n_users=300, n_items=200, n_ratings=12_000, rank=5, min_per_user=10,
                           noise_std=0.8, seed=0) if quick else movielens_like(seed=0))
    train, valid, test = data.observed.split((0.8, 0.1, 0.1), seed=1)
    noise_floor = rmse(data.truth[test.rows, test.cols], test)
    n_i = train.row_counts()[test.rows]
    n_j = np.maximum(train.col_counts()[test.cols], 1)
    ls_estimate = float(np.sqrt(1 + 21 * np.mean(1 / n_i + 1 / n_j)))
    print(f"MovieLens-shaped data: {data.observed}, generated in {time.perf_counter() - start:.1f} s; "
          f"noise floor on test {noise_floor:.4f}", flush=True)
    # Load every compiled kernel once.
    tiny = train.subset(np.arange(2000))
    for solver in ("sgd", "minibatch", "adam", "als"):
        MatrixFactorization(2, solver=solver, n_epochs=1).fit(tiny)
    base = dict(rank=20, biased=True, random_state=0, cold_start="baseline",
                reg_weighting="uniform", clip=None, monitor=True)
    epochs = 2 if quick else None
    # The penalty: ALS on the validation set.
    choice = []
    for reg in (5.0, 10.0, 20.0):
        est = MatrixFactorization(solver="als", reg=reg, n_epochs=epochs or 15,
                                  **base).fit(train, X_val=valid)
        choice.append({"reg": reg, "valid_rmse": float(est.history_["valid_rmse"][-1])})
        print(f"  ALS, reg {reg:g}: validation RMSE {choice[-1]['valid_rmse']:.4f}", flush=True)
    reg = min(choice, key=lambda c: c["valid_rmse"])["reg"]
    runs = {
        "als": dict(solver="als", n_epochs=20),
        "sgd": dict(solver="sgd", lr=0.04, lr_decay=0.9, n_epochs=30),
        "minibatch": dict(solver="minibatch", batch_size=1024, lr=40.0, lr_decay=0.9, n_epochs=30),
        "momentum": dict(solver="minibatch", batch_size=1024, momentum=0.9, lr=4.0,
                         lr_decay=0.9, n_epochs=30),
        "adam": dict(solver="adam", batch_size=1024, lr=0.01, lr_decay=0.9, n_epochs=30),
    }
    fits = {}
    out_runs = {}
    for name, params in runs.items():
        if quick:
            params = {**params, "n_epochs": epochs}
        est = MatrixFactorization(reg=reg, **base, **params).fit(train, X_val=valid)
        fits[name] = est
        secs = epoch_seconds(est)
        out_runs[name] = {
            "params": params, "test_rmse": est.rmse(test),
            "epoch_seconds_best": float(secs.min()), "epoch_seconds_median": float(np.median(secs)),
            "history": {"epoch": est.history_["epoch"].tolist(),
                        "valid_rmse": rounded(est.history_["valid_rmse"]),
                        "train_rmse": rounded(est.history_["train_rmse"]),
                        "loss": rounded(est.history_["loss"]),
                        "time": rounded(est.history_["time"])}}
        print(f"  {name:<10} test RMSE {out_runs[name]['test_rmse']:.4f}, epoch "
              f"{secs.min():.3f} s best, {np.median(secs):.3f} s median", flush=True)
    per_update = python_update_cost(train)
    sgd_per_update = out_runs["sgd"]["epoch_seconds_best"] / train.nnz
    figures = [
        ("per-sample SGD, seconds per epoch", out_runs["sgd"]["epoch_seconds_best"],
         FLOORS_SECONDS["sgd"], "<="),
        ("mini-batch SGD (1024), seconds per epoch", out_runs["minibatch"]["epoch_seconds_best"],
         FLOORS_SECONDS["minibatch"], "<="),
        ("one ALS sweep, seconds", out_runs["als"]["epoch_seconds_best"], FLOORS_SECONDS["als"], "<="),
        ("|test RMSE SGD / ALS - 1|", abs(out_runs["sgd"]["test_rmse"] / out_runs["als"]["test_rmse"] - 1),
         AGREEMENT_FLOOR, "<="),
        ("test RMSE ALS / noise floor", out_runs["als"]["test_rmse"] / noise_floor, NOISE_RATIO_FLOOR, "<="),
        ("test RMSE SGD / noise floor", out_runs["sgd"]["test_rmse"] / noise_floor, NOISE_RATIO_FLOOR, "<="),
    ]
    return {"shape": list(train.shape), "n_ratings": data.observed.nnz,
            "n_train": train.nnz, "n_valid": valid.nnz, "n_test": test.nnz,
            "noise_std": 0.8, "noise_floor_test": noise_floor,
            "least_squares_ratio_estimate": ls_estimate,
            "reg_choice": choice, "reg": reg, "runs": out_runs,
            "python_seconds_per_update": per_update, "compiled_seconds_per_update": sgd_per_update,
            "figures": [{"figure": f, "value": float(v), "floor": fl, "ok": bool(v <= fl)}
                        for f, v, fl, _ in figures]}


COMPILE_PROBE = """
import time
start = time.perf_counter()
from mfbook.datasets import rating_matrix
from mfbook.recommender import MatrixFactorization
train = rating_matrix(seed=0).observed
for solver in ("sgd", "minibatch", "adam", "als"):
    MatrixFactorization(4, solver=solver, biased=True, n_epochs=2, random_state=0).fit(
        train, X_val=train)
print(time.perf_counter() - start)
"""


def compile_times() -> dict:
    """First fit of every solver in fresh processes: empty numba cache, then the written one.

    ``NUMBA_CACHE_DIR`` points both processes at a new temporary directory, so the first
    compiles every kernel (as a fresh checkout does) and the second loads them.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [float(subprocess.run([sys.executable, "-c", COMPILE_PROBE], env=env, check=True,
                                     capture_output=True, text=True).stdout)
                for _ in range(2)]
        n_files = sum(len(files) for _, _, files in os.walk(cache))
    return {"cold_seconds": runs[0], "warm_seconds": runs[1], "cache_files": n_files,
            "note": "fresh Python process, imports included; NUMBA_CACHE_DIR set to an empty "
                    "temporary directory"}


def main() -> None:
    parser = argparse.ArgumentParser(description="Chapter 3 benchmark of MatrixFactorization")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, a few seconds; results go to a temporary directory")
    quick = parser.parse_args().quick
    if quick:
        os.environ.setdefault("MFBOOK_RESULTS_DIR", tempfile.mkdtemp(prefix="mfbook-quick-"))
        print("quick mode: tiny sizes, the figures below are not floor measurements")
    t0 = time.perf_counter()
    load_start = os.getloadavg()
    print("Part 1: the latent factor project's problem, compiled vs plain Python loops", flush=True)
    p1 = part1(quick)
    print("Part 2: MovieLens-1M-shaped problem, k = 20, one core", flush=True)
    p2 = part2(quick)
    comp = (compile_times() if not quick else
            {"cold_seconds": float("nan"), "warm_seconds": float("nan"), "cache_files": 0,
             "note": "not measured in quick mode"})
    print(f"compilation: first fit of every solver {comp['cold_seconds']:.1f} s with an empty "
          f"numba cache, {comp['warm_seconds']:.1f} s once it is written "
          f"({comp['cache_files']} cache files)", flush=True)
    load_end = os.getloadavg()
    print("\nFigure                                          measured      floor   ok")
    for r in p1:
        print(f"{r['case'][:40]:<40} diff   {max(r['max_param_diff'], r['max_history_diff']):10.1e} "
              f"{EXACT_FLOOR:10.0e}   {'yes' if r['exact_ok'] else 'NO'}")
        print(f"{r['case'][:40]:<40} speed  {r['speedup']:9.1f}x {SPEEDUP_FLOOR:9.0f}x   "
              f"{'yes' if r['speed_ok'] else 'NO'}")
    for f in p2["figures"]:
        print(f"{f['figure']:<47} {f['value']:10.4f} {f['floor']:10.4f}   {'yes' if f['ok'] else 'NO'}")
    print(f"Python loop {p2['python_seconds_per_update'] * 1e6:.1f} us per SGD update, compiled "
          f"{p2['compiled_seconds_per_update'] * 1e9:.0f} ns (whole epoch incl. shuffle)")
    print(f"load average (1, 5, 15 min) at start {load_start}, at end {load_end}")
    out = {"command": COMMAND, "quick": quick, "python": platform.python_version(),
           "machine": platform.machine(), "cpu_count": os.cpu_count(),
           "blas_threads": 1, "load_average_start": list(load_start),
           "load_average_end": list(load_end), "floors": {
               "exact": EXACT_FLOOR, "speedup": SPEEDUP_FLOOR, "seconds": FLOORS_SECONDS,
               "agreement": AGREEMENT_FLOOR, "noise_ratio": NOISE_RATIO_FLOOR},
           "seed_problem": p1, "movielens_like": p2, "compile": comp,
           "all_ok": all(r["exact_ok"] and r["speed_ok"] for r in p1)
           and all(f["ok"] for f in p2["figures"]),
           "total_seconds": time.perf_counter() - t0}
    path = save_results("ch03_benchmark.json", out)
    print(f"all floors met: {out['all_ok']}; wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
          f"in {out['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
