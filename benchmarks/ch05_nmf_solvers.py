"""Chapter 5: the non-negative solvers run to convergence, over several data seeds.

Run from the repository root:
    python benchmarks/ch05_nmf_solvers.py           (180 s CPU; 23 min wall on a loaded 2-core machine)
    python benchmarks/ch05_nmf_solvers.py --quick   (tiny sizes, seconds; CI)
Writes ch05_nmf_solvers.json (into benchmarks/results, or elsewhere with --quick).

Masked MU (Frobenius and KL), masked HALS and masked ANLS, all from the same non-negative
start (:func:`mfbook.nmf.nmf_init`), each stopped when one iteration lowers its loss by at
most TOL relative or after MAX_ITER iterations; and scikit-learn's NMF (coordinate
descent) on the zero-filled matrix, which treats every hidden entry as an observed 0;
and unconstrained ALS (no sign constraint) to the same relative tolerance.
Final validation MSE as a ratio to the seed's theoretical MSE, for every data seed.
"""

from __future__ import annotations

import time

import ch05_common as C
import numpy as np

from mfbook.core import MFObjective
from mfbook.datasets import sales_matrix, truncation_mse
from mfbook.nmf import nmf_anls, nmf_hals, nmf_init, nmf_mu
from mfbook.recommender import als

TOL = 1e-9


def sklearn_zero_filled(R, V, rank, max_iter, seed):
    """scikit-learn's NMF on the matrix with 0 in every unobserved entry."""
    from sklearn.decomposition import NMF

    X = R.to_dense(fill=0.0)
    est = NMF(n_components=rank, init="nndsvda", solver="cd", max_iter=max_iter, tol=1e-8,
              random_state=seed)
    W = est.fit_transform(X)
    P = W @ est.components_
    hidden_pred = P[V.rows, V.cols]
    return {"train_mse": float(np.mean((P[R.rows, R.cols] - R.values) ** 2)),
            "val_mse": float(np.mean((hidden_pred - V.values) ** 2)),
            "n_iter": int(est.n_iter_), "converged": bool(est.n_iter_ < max_iter),
            "median_pred_over_truth_hidden": float(np.median(hidden_pred / V.values))}


def unconstrained_als(R, V, rank, max_iter, seed):
    """ALS without a sign constraint (sum form, ridge 1e-4, Gaussian start), to the same TOL."""
    obj = MFObjective(R, rank, reg=1e-4)
    losses = []

    def stop(sweep, theta, loss):
        losses.append(loss)
        return len(losses) > 1 and losses[-2] - losses[-1] <= TOL * losses[-2]

    res = als(obj, obj.random_params(std=1.0, seed=seed), max_iter, callback=stop)
    f = obj.unpack(res.x)
    full = f.U @ f.V.T
    return {"train_mse": float(np.mean((full[R.rows, R.cols] - R.values) ** 2)),
            "val_mse": float(np.mean((full[V.rows, V.cols] - V.values) ** 2)),
            "n_iter": len(losses), "converged": len(losses) < max_iter,
            "negative_fraction": float(np.mean(full < 0))}


def main() -> None:
    args = C.parse(__doc__)
    seeds, max_iter = ((0, 1), 200) if args.quick else ((0, 1, 2, 3), 2000)
    out = {"command": "python benchmarks/ch05_nmf_solvers.py", "quick": args.quick,
           "tol": TOL, "max_iter": max_iter, "rank": C.RANK, "results": []}
    for ds in seeds:
        d = sales_matrix(n_products=150, n_stores=30, seed=ds) if args.quick else sales_matrix(seed=ds)
        R, V = d.observed, d.hidden()
        ref = truncation_mse(d, C.RANK)
        W0, H0 = nmf_init(R, C.RANK, seed=ds)
        solvers = {
            "MU-frobenius": lambda: nmf_mu(R, C.RANK, loss="frobenius", n_iter=max_iter, tol=TOL,
                                           W0=W0, H0=H0, val=V),
            "MU-kl": lambda: nmf_mu(R, C.RANK, loss="kl", n_iter=max_iter, tol=TOL, W0=W0, H0=H0,
                                    val=V),
            "HALS": lambda: nmf_hals(R, C.RANK, n_iter=max_iter, tol=TOL, W0=W0, H0=H0, val=V),
            "ANLS": lambda: nmf_anls(R, C.RANK, n_iter=max_iter, tol=TOL, W0=W0, H0=H0, val=V),
        }
        for name, run in solvers.items():
            cpu = time.process_time()
            r = run()
            cpu = time.process_time() - cpu
            last = (r.losses[-2] - r.losses[-1]) / r.losses[-2] if r.n_iter else np.nan
            row = {"method": name, "data_seed": ds, "theoretical_mse": ref,
                   "train_mse": float(r.train_mse[-1]), "val_mse": float(r.val_mse[-1]),
                   "ratio": float(r.val_mse[-1] / ref), "n_iter": r.n_iter,
                   "converged": r.converged, "last_rel_decrease": float(last),
                   "val_mse_half": float(r.val_mse[r.n_iter // 2]), "cpu_seconds": cpu}
            out["results"].append(row)
            print(f"data {ds} {name:<13} {r.n_iter:>5} it (converged {r.converged}), "
                  f"val {row['val_mse']:.3g} = {row['ratio']:.3g} x theory, {cpu:.0f} s CPU",
                  flush=True)
        cpu = time.process_time()
        a = unconstrained_als(R, V, C.RANK, max_iter, ds)
        out["results"].append({"method": "ALS (unconstrained)", "data_seed": ds,
                               "theoretical_mse": ref, "ratio": a["val_mse"] / ref,
                               "cpu_seconds": time.process_time() - cpu, **a})
        print(f"data {ds} unconstrained ALS: {a['n_iter']} sweeps, val {a['val_mse']:.3g} = "
              f"{a['val_mse'] / ref:.3g} x theory", flush=True)
        cpu = time.process_time()
        sk = sklearn_zero_filled(R, V, C.RANK, max_iter, ds)
        out["results"].append({"method": "scikit-learn NMF, zero-filled", "data_seed": ds,
                               "theoretical_mse": ref, "ratio": sk["val_mse"] / ref,
                               "cpu_seconds": time.process_time() - cpu, **sk})
        print(f"data {ds} sklearn zero-filled: val {sk['val_mse']:.3g} = {sk['val_mse'] / ref:.3g} "
              f"x theory, hidden prediction / truth (median) {sk['median_pred_over_truth_hidden']:.3f}",
              flush=True)
    C.save("ch05_nmf_solvers.json", out)


if __name__ == "__main__":
    start, cpu = time.perf_counter(), time.process_time()
    main()
    print(f"total {time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")
