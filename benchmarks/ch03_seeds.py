"""Chapter 3: do the headline conclusions hold over other data draws and splits?

Run from the repository root (about 3 minutes on a shared 2-core machine; ``--quick``: two
seeds, results written to ``$MFBOOK_RESULTS_DIR`` or a fresh temporary directory, never over
the stored ones):

    python benchmarks/ch03_seeds.py [--quick]

Writes ``benchmarks/results/ch03_seeds.json``.  For each seed ``s`` the chapter's pipeline is
rerun with ``np.random.default_rng(s)`` in place of the project's ``default_rng(42)``: a new
truth, noise and mask (``rating_matrix``), a new 20/80 test/train split, a new 80/20
fitting/validation split of the training ratings, and the denser sample of the same matrix
(``rating_matrix(obs_rate=0.5, seed=s)``, split 60/20/20).  Per seed it records

1. the reference points: the noise floor and the test RMSE of predicting the training mean;
2. the project's comparison (fixed budgets, clipped predictions): per-sample SGD with
   ``reg = N * 0.01`` (``penalty="all"``, 150 epochs) and ALS with ``reg = 0.01`` (50 sweeps),
   and ALS run to convergence on the SGD objective;
3. the validation-chosen ALS models (plain rank 4, plain rank 5, biased rank 4, lambda on the
   grid ``logspace(-2, 2, 9)``) on both samples: test RMSE once;
4. SGD against ALS on one objective (biased rank 4, lambda = 1, denser sample): 100 epochs of
   SGD (learning rate from a grid, by final objective, decaying by 0.97 per epoch) and 100 ALS
   sweeps: relative gap to the converged objective and test RMSE;
5. Exercise 4: the biased rank-8 model with uniform and count-weighted penalties, lambda chosen
   on validation, test RMSE overall and for users with few and many fitting ratings.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from mfbook.book import save_results
from mfbook.core import DivergenceError, rmse
from mfbook.datasets import rating_matrix
from mfbook.recommender import MatrixFactorization, predefined_split

PLAIN = dict(biased=False, reg_weighting="uniform", clip=None)
LAMS = np.logspace(-2, 2, 9)
SGD_LRS = [0.04, 0.08, 0.16, 0.32]


def als_path(fit, val, grid=LAMS, **params):
    """ALS to convergence for each lambda of ``grid``; the model chosen on ``val``."""
    X, y, cv = predefined_split(fit, val)
    base = MatrixFactorization(solver="als", n_epochs=300, tol=1e-9, random_state=0,
                               shape=fit.shape, **{**PLAIN, **params})
    search = GridSearchCV(base, {"reg": list(grid)}, cv=cv, refit=False,
                          scoring="neg_root_mean_squared_error").fit(X, y)
    i = int(np.argmin(-search.cv_results_["mean_test_score"]))
    return float(grid[i]), clone(base).set_params(reg=grid[i]).fit(fit)


def reference_points(data, tst, fit):
    truth = tst.with_values(data.truth[tst.rows, tst.cols])
    return {"noise_floor": rmse(truth.values, tst),
            "mean": rmse(np.full(tst.nnz, fit.mean()), tst)}


def project_comparison(train, test, seed):
    N = train.nnz
    project = dict(PLAIN, rank=4, penalty="all", clip=(1, 5), random_state=seed)
    sgd = MatrixFactorization(solver="sgd", reg=N * 0.01, lr=0.005, n_epochs=150,
                              **project).fit(train)
    als = MatrixFactorization(solver="als", reg=0.01, n_epochs=50, **project).fit(train)
    als_sgd = MatrixFactorization(solver="als", reg=N * 0.01, n_epochs=2000, tol=1e-13,
                                  **project).fit(train)
    return {"sgd": sgd.rmse(test), "als": als.rmse(test), "als_on_sgd_objective":
            als_sgd.rmse(test)}


def chosen_models(fit, val, tst):
    out = {}
    for name, params in {"plain_k4": dict(rank=4), "plain_k5": dict(rank=5),
                         "biased_k4": dict(rank=4, biased=True)}.items():
        lam, est = als_path(fit, val, **params)
        out[name] = {"lambda": lam, "test_rmse": est.rmse(tst)}
    return out


def one_objective(d_fit, d_valid, d_test, seed):
    common = dict(PLAIN, rank=4, biased=True, reg=1.0, random_state=seed)
    ref = MatrixFactorization(solver="als", n_epochs=3000, tol=1e-14, **common).fit(d_fit)
    L_ref = ref.history_["loss"][-1]
    fits = []
    for lr in SGD_LRS:
        try:
            fits.append(MatrixFactorization(solver="sgd", lr=lr, lr_decay=0.97, n_epochs=100,
                                            monitor=True, **common).fit(d_fit))
        except DivergenceError:
            pass
    sgd = min(fits, key=lambda e: e.history_["loss"][-1])
    als = MatrixFactorization(solver="als", n_epochs=100, monitor=True, **common).fit(d_fit)
    return {name: {"gap": est.history_["loss"][-1] / L_ref - 1, "test_rmse": est.rmse(d_test),
                   **({"lr": est.lr} if name == "sgd" else {})}
            for name, est in (("sgd", sgd), ("als", als))}


def exercise4(d_fit, d_valid, d_test):
    counts = d_fit.row_counts()
    heavy = counts[d_test.rows] >= np.median(counts)
    out = {}
    for weighting, grid in (("uniform", LAMS[2:8]), ("count", LAMS[2:8] / 20)):
        lam, est = als_path(d_fit, d_valid, grid=grid, rank=8, biased=True,
                            reg_weighting=weighting)
        err = (est.predict(d_test) - d_test.values) ** 2
        out[weighting] = {"lambda": lam, "test_rmse": est.rmse(d_test),
                          "many": float(np.sqrt(err[heavy].mean())),
                          "few": float(np.sqrt(err[~heavy].mean()))}
    return out


def one_seed(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    data = rating_matrix(seed=rng)
    test, train = data.observed.split((0.2, 0.8), seed=rng)
    fit_set, valid = train.split((0.8, 0.2), seed=seed)
    dense = rating_matrix(obs_rate=0.5, seed=seed)
    d_fit, d_valid, d_test = dense.observed.split((0.6, 0.2, 0.2), seed=seed)
    return {"seed": seed, "n_train": train.nnz,
            "sparse": {**reference_points(data, test, train),
                       "project": project_comparison(train, test, seed),
                       "chosen": chosen_models(fit_set, valid, test)},
            "dense": {**reference_points(dense, d_test, d_fit),
                      "chosen": chosen_models(d_fit, d_valid, d_test),
                      "one_objective": one_objective(d_fit, d_valid, d_test, seed),
                      "exercise4": exercise4(d_fit, d_valid, d_test)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two seeds, a few seconds")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (default 10)")
    args = parser.parse_args()
    if args.quick and not os.environ.get("MFBOOK_RESULTS_DIR"):
        os.environ["MFBOOK_RESULTS_DIR"] = tempfile.mkdtemp(prefix="ch03_seeds_")
    seeds = list(range(2 if args.quick else args.seeds))
    t0, cpu0 = time.perf_counter(), time.process_time()
    load_start = [round(x, 2) for x in os.getloadavg()]
    runs = []
    for s in seeds:
        runs.append(one_seed(s))
        r = runs[-1]
        print(f"seed {s}: 20% mean {r['sparse']['mean']:.4f}, biased k=4 "
              f"{r['sparse']['chosen']['biased_k4']['test_rmse']:.4f}; 50% mean "
              f"{r['dense']['mean']:.4f}, biased k=4 "
              f"{r['dense']['chosen']['biased_k4']['test_rmse']:.4f}, floor "
              f"{r['dense']['noise_floor']:.4f}", flush=True)
    out = {"command": "python benchmarks/ch03_seeds.py" + (" --quick" if args.quick else ""),
           "quick": args.quick, "seeds": seeds, "runs": runs,
           "wall_seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - cpu0,
           "load_start": load_start, "load_end": [round(x, 2) for x in os.getloadavg()]}
    path = save_results("ch03_seeds.json", out)
    print(f"wrote {path} in {out['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
