"""Chapter 3: ``MatrixFactorization`` beside Surprise's ``SVD``, accuracy and CPU time.

Run from the repository root, with Surprise installed from its own requirements file
(it builds from source and stays out of the book's install):

    pip install -r benchmarks/requirements-surprise.txt
    python benchmarks/ch03_surprise.py                          # movielens_like only
    python benchmarks/ch03_surprise.py --movielens path/to/u.data   # and MovieLens-100K

Nothing is downloaded: ``--movielens`` reads a MovieLens rating file the user already has
(``u.data`` of MovieLens-100K, or a ``ratings.dat``).  Each data set is split 80/20 once;
then, for every seed, four fits run interleaved (their order rotating with the seed):

* Surprise's ``SVD()`` with its defaults (and the ``Reader``'s ``rating_scale`` set to the
  observed range of the training ratings, which both libraries clip to);
* ``MatrixFactorization()`` with its defaults;
* ``MatrixFactorization.from_surprise()``: Surprise's defaults through the mapping of
  hyper-parameters (``lr = lr_all / 2``, ``reg = reg_all`` with count weights);
* the literal copy ``MatrixFactorization(rank=100, lr=0.005, reg=0.02, n_epochs=20)``, the
  numbers copied without their meaning.

CPU time (``time.process_time``) is measured for the fit on each library's own prepared
training set (Surprise's ``Trainset``, a ``Ratings``), built beforehand, and, for
information, from the arrays (Surprise: ``Dataset.load_from_df`` + ``build_full_trainset``
+ ``fit``; ``MatrixFactorization``: ``fit(X, y)``).  The numba kernels are compiled before
any timing.  Floors, printed against the measurements:

1. the default estimator's mean test RMSE is at most Surprise's ``SVD()`` defaults';
2. its fit takes at most 0.5 times Surprise's CPU time (median of the per-seed ratios);
3. identical settings through the mapping give the same test RMSE within the seed-to-seed
   spread: the difference of the means is at most the larger of the two ranges over seeds.

``--quick`` runs tiny sizes (a few seconds, what CI runs) and writes to
``$MFBOOK_RESULTS_DIR`` or a fresh temporary directory, never over the stored results;
without Surprise installed it runs the ``MatrixFactorization`` side only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np

from mfbook.book import rounded, save_results, text_table
from mfbook.core import Ratings
from mfbook.datasets import load_movielens, movielens_like
from mfbook.recommender import MatrixFactorization

COMMAND = "python benchmarks/ch03_surprise.py --movielens path/to/u.data"
SPEED_FLOOR = 0.5
CONFIGS = ("surprise_svd", "default", "from_surprise", "literal_copy")
LABELS = {"surprise_svd": "Surprise SVD() defaults",
          "default": "MatrixFactorization() defaults",
          "from_surprise": "MatrixFactorization.from_surprise()",
          "literal_copy": "literal copy rank=100, lr=0.005, reg=0.02"}


def datasets(args: argparse.Namespace) -> dict[str, tuple[Ratings, Ratings]]:
    if args.quick:
        data = movielens_like(n_users=300, n_items=200, n_ratings=12_000, rank=5,
                              min_per_user=10, noise_std=0.5, seed=0)
        out = {"movielens_like (quick)": data.observed.split((0.8, 0.2), seed=1)}
    else:
        out = {"movielens_like": movielens_like(seed=0).observed.split((0.8, 0.2), seed=1)}
    if args.movielens:
        ratings = load_movielens(args.movielens).ratings
        label = f"MovieLens {Path(args.movielens).name} ({ratings.nnz:,} ratings)"
        out[label] = ratings.split((0.8, 0.2), seed=1)
    return out


def estimator(config: str, seed: int, scale: tuple[float, float]) -> MatrixFactorization:
    if config == "default":
        return MatrixFactorization(random_state=seed)
    if config == "from_surprise":
        return MatrixFactorization.from_surprise(random_state=seed, rating_scale=scale)
    return MatrixFactorization(rank=100, lr=0.005, reg=0.02, n_epochs=20, random_state=seed)


def run_ours(config, seed, train, test, X, y):
    scale = (float(train.values.min()), float(train.values.max()))
    start = time.process_time()
    est = estimator(config, seed, scale).fit(train)
    fit_cpu = time.process_time() - start
    start = time.process_time()
    estimator(config, seed, scale).fit(X, y)
    arrays_cpu = time.process_time() - start
    return {"rmse": est.rmse(test), "fit_cpu": fit_cpu, "arrays_cpu": arrays_cpu}


def run_surprise(seed, train, test):
    import pandas as pd
    from surprise import SVD, Dataset, Reader

    frame = pd.DataFrame({"user": train.rows, "item": train.cols, "rating": train.values})
    reader = Reader(rating_scale=(float(train.values.min()), float(train.values.max())))
    start = time.process_time()
    trainset = Dataset.load_from_df(frame, reader).build_full_trainset()
    build_cpu = time.process_time() - start
    algo = SVD(random_state=seed)
    start = time.process_time()
    algo.fit(trainset)
    fit_cpu = time.process_time() - start
    pairs = zip(test.rows.tolist(), test.cols.tolist(), test.values.tolist())
    pred = np.array([p.est for p in algo.test(list(pairs))])
    rmse = float(np.sqrt(np.mean((pred - test.values) ** 2)))
    return {"rmse": rmse, "fit_cpu": fit_cpu, "arrays_cpu": build_cpu + fit_cpu}


def compare(name, train, test, seeds, have_surprise):
    X, y = np.c_[train.rows, train.cols], np.array(train.values)
    for config in CONFIGS[1:]:   # compile the kernels (and fill numba's cache) first
        estimator(config, 0, (1.0, 5.0)).set_params(n_epochs=1).fit(train.subset(np.arange(100)))
    configs = CONFIGS if have_surprise else CONFIGS[1:]
    runs = {c: [] for c in configs}
    for seed in range(seeds):
        order = configs[seed % len(configs):] + configs[:seed % len(configs)]
        for config in order:
            out = (run_surprise(seed, train, test) if config == "surprise_svd"
                   else run_ours(config, seed, train, test, X, y))
            runs[config].append(out)
        print(f"  {name}, seed {seed}: " + ", ".join(
            f"{c} {runs[c][-1]['rmse']:.4f} ({runs[c][-1]['fit_cpu']:.2f} s)" for c in configs),
            flush=True)
    summary = {}
    for config, rs in runs.items():
        rm = np.array([r["rmse"] for r in rs])
        summary[config] = {"label": LABELS[config], "rmse": rounded(rm),
                           "rmse_mean": float(rm.mean()), "rmse_range": float(np.ptp(rm)),
                           "fit_cpu": rounded([r["fit_cpu"] for r in rs]),
                           "fit_cpu_median": float(np.median([r["fit_cpu"] for r in rs])),
                           "arrays_cpu_median": float(np.median([r["arrays_cpu"] for r in rs]))}
    out = {"n_train": train.nnz, "n_test": test.nnz, "shape": list(train.shape),
           "seeds": seeds, "configs": summary}
    if have_surprise:
        ratio = np.median([d["fit_cpu"] / s["fit_cpu"]
                           for d, s in zip(runs["default"], runs["surprise_svd"])])
        ratio_arrays = np.median([d["arrays_cpu"] / s["arrays_cpu"]
                                  for d, s in zip(runs["default"], runs["surprise_svd"])])
        sv, ms = summary["surprise_svd"], summary["from_surprise"]
        spread = max(sv["rmse_range"], ms["rmse_range"])
        out["floors"] = [
            {"figure": "default RMSE - Surprise SVD() RMSE",
             "value": summary["default"]["rmse_mean"] - sv["rmse_mean"], "floor": 0.0},
            {"figure": "default / Surprise fit CPU time", "value": float(ratio),
             "floor": SPEED_FLOOR},
            {"figure": "|from_surprise - Surprise| RMSE (floor: seed range)",
             "value": abs(ms["rmse_mean"] - sv["rmse_mean"]), "floor": spread},
        ]
        for f in out["floors"]:
            f["ok"] = bool(f["value"] <= f["floor"])
        out["cpu_ratio_from_arrays"] = float(ratio_arrays)
        out["cpu_ratio_identical"] = float(np.median(
            [m["fit_cpu"] / s["fit_cpu"] for m, s in zip(runs["from_surprise"],
                                                         runs["surprise_svd"])]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens", help="a MovieLens rating file (u.data or ratings.dat)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per configuration")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args()
    if args.quick:
        args.seeds = min(args.seeds, 2)
        os.environ.setdefault("MFBOOK_RESULTS_DIR", tempfile.mkdtemp(prefix="mfbook-quick-"))
    try:
        import surprise  # noqa: F401
        have_surprise = True
    except ImportError:
        if not args.quick:
            sys.exit("Surprise is not installed: pip install -r "
                     "benchmarks/requirements-surprise.txt")
        have_surprise = False
        print("Surprise is not installed: quick mode runs the MatrixFactorization side only")
    t0 = time.perf_counter()
    load_start = os.getloadavg()
    results = {name: compare(name, train, test, args.seeds, have_surprise)
               for name, (train, test) in datasets(args).items()}
    load_end = os.getloadavg()
    for name, res in results.items():
        print(f"\n{name}: {res['n_train']:,} training and {res['n_test']:,} test ratings, "
              f"{res['seeds']} seeds")
        rows = [(c["label"], c["rmse_mean"], c["rmse_range"], c["fit_cpu_median"],
                 c["arrays_cpu_median"]) for c in res["configs"].values()]
        print(text_table([("configuration", "<44"), ("test RMSE", ">10.4f"),
                          ("range", ">8.4f"), ("fit CPU s", ">10.2f"),
                          ("from arrays", ">12.2f")], rows))
        for f in res.get("floors", []):
            print(f"{f['figure']:<52} {f['value']:8.4f}  floor {f['floor']:7.4f}  "
                  f"{'ok' if f['ok'] else 'FAIL'}")
    print(f"load average (1, 5, 15 min) at start {load_start}, at end {load_end}")
    out = {"command": COMMAND, "quick": args.quick, "python": platform.python_version(),
           "cpu_count": os.cpu_count(), "blas_threads": 1,
           "load_average_start": list(load_start), "load_average_end": list(load_end),
           "speed_floor": SPEED_FLOOR, "datasets": results,
           "all_ok": all(f["ok"] for r in results.values() for f in r.get("floors", [])),
           "total_seconds": time.perf_counter() - t0}
    path = save_results("ch03_surprise.json", out)
    print(f"all floors met: {out['all_ok']}; wrote {path} in {out['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
