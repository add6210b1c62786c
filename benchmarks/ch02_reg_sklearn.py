"""Chapter 2: the penalty chosen again with scikit-learn's splitters (KFold, PredefinedSplit).

Run from the repository root:
    python benchmarks/ch02_reg_sklearn.py           (about 4 minutes on one core)
    python benchmarks/ch02_reg_sklearn.py --quick   (tiny problem, seconds; CI)
Writes ch02_reg_sklearn.json (into benchmarks/results, or elsewhere with --quick).

ch02_reg_select.py cross-validates with the book's own random partition of the observed
entries.  Here scikit-learn builds the splits: sklearn.model_selection.KFold (5 folds,
shuffled, its own seed) over the positions of the observed entries, and a PredefinedSplit
with one validation fold of 20%, the ``cv=`` object that GridSearchCV takes;
ParameterGrid enumerates the penalties.  Each fit is the one of ch02_reg_select.py (100 ALS
sweeps from the case study's initialization, then L-BFGS to a critical point), so the two
scripts differ only in their splits.  The question: is the chosen penalty the same?
"""

from __future__ import annotations


import ch02_common as C
import ch02_quick as Q
import numpy as np
from sklearn.model_selection import KFold, ParameterGrid, PredefinedSplit

from mfbook.core import MFObjective, rmse
from mfbook.datasets import streamrec
from mfbook.landscape import polish
from mfbook.recommender import als

KFOLD_SEED = 0        # KFold(shuffle=True, random_state=...)
VALID_SEED = 3        # which 20% of the entries form the validation fold
VALID_FRACTION = 0.2


def validation_fold(n: int, seed: int = VALID_SEED, fraction: float = VALID_FRACTION):
    """``test_fold`` of a PredefinedSplit: 0 on a random ``fraction`` of positions, -1 elsewhere."""
    test_fold = np.full(n, -1)
    test_fold[np.random.default_rng(seed).permutation(n)[: int(fraction * n)]] = 0
    return test_fold


def fitter(quick: bool):
    if not quick:
        from ch02_reg_select import fit          # the same fit as the book's own CV
        return lambda f: fit(f).x
    return lambda f: polish(f, als(f, C.init(f, 0), 10).x, gtol=1e-8, maxiter=300).x


def main() -> None:
    args = Q.parse(__doc__)
    if args.quick:
        R = streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3, seed=1).observed
        grid, rank = (1e-3, 1e-2), 4
    else:
        from ch02_reg_select import GRID
        R, grid, rank = C.data().observed, GRID, C.RANK
    fit = fitter(args.quick)
    positions = np.arange(R.nnz)
    splits = {"kfold": list(KFold(n_splits=5, shuffle=True, random_state=KFOLD_SEED)
                            .split(positions)),
              "validation": list(PredefinedSplit(validation_fold(R.nnz)).split())}
    rows = []
    for params in ParameterGrid({"reg": list(grid)}):
        row = {"reg": params["reg"]}
        for name, folds in splits.items():
            errs = []
            for train, test in folds:
                f = MFObjective(R.subset(train), rank, mean=True, half=True, reg=params["reg"])
                theta = fit(f)
                errs.append(rmse(f.predict(theta, R.rows[test], R.cols[test]), R.values[test]))
            row[name] = C.rounded(errs)
        rows.append(row)
        print(f"reg {params['reg']:.0e}: KFold RMSE {np.mean(row['kfold']):.4f} "
              f"+- {np.std(row['kfold']):.4f}, validation split {row['validation'][0]:.4f}",
              flush=True)
    chosen = {name: min(rows, key=lambda r: np.mean(r[name]))["reg"] for name in splits}
    book = None if args.quick else Q.stored("ch02_reg_select.json")["chosen_reg"]
    print(f"chosen: {chosen}; ch02_reg_select.py chose {book}")
    C.save("ch02_reg_sklearn.json", {
        "command": "python benchmarks/ch02_reg_sklearn.py", "quick": args.quick,
        "kfold": {"n_splits": 5, "shuffle": True, "random_state": KFOLD_SEED},
        "validation": {"seed": VALID_SEED, "fraction": VALID_FRACTION,
                       "n_valid": int(len(splits["validation"][0][1]))},
        "rows": rows, "chosen": chosen, "book_chosen": book})


if __name__ == "__main__":
    Q.run(main)
