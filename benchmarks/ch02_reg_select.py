"""Chapter 2: choose the penalty weight by 5-fold cross-validation on the observed entries.

Run from the repository root:
    python benchmarks/ch02_reg_select.py        (about 4 minutes)
    python benchmarks/ch02_reg_select.py --quick   (tiny problem, seconds; CI)
Writes benchmarks/results/ch02_reg_select.json.

For each reg on the grid and each fold, the objective of the case study's code (rank 10) is
minimized on the other four folds (100 ALS sweeps from the case study's initialization,
then L-BFGS to a critical point) and the RMSE is measured on the held-out fold.  The
truth is not used for the choice; the RMSE against it on the unobserved entries is stored
for information, as are the singular values of the fitted U V^T on the full data.
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.recommender import als
from mfbook.core import Ratings, rmse
from mfbook.landscape import polish

GRID = (1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3)
N_FOLDS = 5
SPLIT_SEED = 2


def fit(f):
    x = als(f, C.init(f, 0), 100).x
    return polish(f, x, gtol=1e-8, maxiter=5000)


def main() -> None:
    global GRID, N_FOLDS
    if Q.parse(__doc__).quick:
        C.make_quick()
        GRID, N_FOLDS = (1e-4, 1e-3), 2
    d = C.data()
    R, hidden = d.observed, d.hidden()
    folds = R.split((1 / N_FOLDS,) * N_FOLDS, seed=SPLIT_SEED)
    out = {"command": "python benchmarks/ch02_reg_select.py", "grid": list(GRID),
           "n_folds": N_FOLDS, "split_seed": SPLIT_SEED, "nnz": R.nnz, "rows": []}
    for reg in GRID:
        cv = []
        for i in range(N_FOLDS):
            parts = [folds[j] for j in range(N_FOLDS) if j != i]
            train = Ratings(np.concatenate([p.rows for p in parts]),
                            np.concatenate([p.cols for p in parts]),
                            np.concatenate([p.values for p in parts]), R.shape)
            f = C.objective(reg, ratings=train)
            res = fit(f)
            pred = f.predict(res.x, folds[i].rows, folds[i].cols)
            cv.append(rmse(pred, folds[i]))
        f = C.objective(reg)
        res = fit(f)
        U, V = f.unpack(res.x)[:2]
        sv = np.linalg.svd(np.linalg.qr(U, mode="r") @ np.linalg.qr(V, mode="r").T,
                           compute_uv=False)
        row = {"reg": reg, "cv_rmse": C.rounded(cv), "cv_mean": float(np.mean(cv)),
               "cv_std": float(np.std(cv)), "loss": res.fun,
               "hidden_rmse": C.hidden_rmse(f, res.x, hidden),
               "singular_values": C.rounded(sv, 6), "polish_status": res.status}
        out["rows"].append(row)
        print(f"reg {reg:.0e}: CV RMSE {row['cv_mean']:.4f} +- {row['cv_std']:.4f}, "
              f"hidden RMSE {row['hidden_rmse']:.4f}", flush=True)
    best = min(out["rows"], key=lambda r: r["cv_mean"])
    out["chosen_reg"] = best["reg"]
    C.save("ch02_reg_select.json", out)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
