"""Chapter 2: the optimizer comparison over ten initializations, with every end point polished.

Run from the repository root, after ch02_reg_select.py and ch02_lr_sweep.py:
    python benchmarks/ch02_seeds.py        (about 7 minutes)
    python benchmarks/ch02_seeds.py --quick   (tiny problem, seconds; CI)
Writes benchmarks/results/ch02_seeds.json.

1. The chapter's objective (reg from cross-validation): GD, heavy ball, Nesterov and Adam at
   the learning rates chosen by the sweep, 3000 steps, and 300 ALS sweeps, from the case
   study's initialization with init seeds 0..9.  Each end point is polished by L-BFGS to a
   critical point; the critical points are grouped by their product U V^T and each distinct
   one is classified by the Hessian eigenvalues modulo the rotational symmetry.
2. The same with rank 5 (the true rank), L-BFGS from each initialization.
3. The case study's own configuration (reg 0.01, its learning rates) from the ten
   initializations: final losses and the size of the final U V^T.

Wall times are measured with one BLAS thread on a shared 2-core machine (pessimistic).
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.recommender import als
from mfbook.core import descend, product_distance
from mfbook.landscape import (group_by_product, hessian_extremes_modulo_symmetry, polish,
                              steps_to_reach)

ALS_SWEEPS = 300
POLISH_MAXITER = 20000
GROUP_RTOL = 1e-3
RMSE_EVERY = 50


def product_norm(f, theta):
    U, V = f.unpack(theta)[:2]
    return product_distance(U, V, U[:, :0], V[:, :0], relative=False)


def run_record(f, hidden, res, polished, every=1):
    """What is stored of one run (``every`` = steps per entry of ``res.losses``)."""
    return {
        "final_loss": res.fun, "wall_time": res.wall_time, "n_steps": res.n_steps,
        "status": res.status, "losses": res.losses, "every": every,
        "hidden_rmse": C.hidden_rmse(f, res.x, hidden),
        "polished_loss": polished.fun, "polish_iterations": polished.n_steps,
        "polish_status": polished.status,
        "polished_hidden_rmse": C.hidden_rmse(f, polished.x, hidden),
        "end_to_polished": product_distance(*f.unpack(polished.x)[:2], *f.unpack(res.x)[:2]),
    }


def chapter_config(out):
    d = C.data()
    hidden = d.hidden()
    reg = C.load("ch02_reg_select.json")["chosen_reg"]
    lrs = C.load("ch02_lr_sweep.json")["configs"]["chapter"]["chosen_lr"]
    f = C.objective(reg)
    runs, polished_points, owners = [], [], []
    for seed in C.INIT_SEEDS:
        theta0 = C.init(f, seed)
        for name, lr in lrs.items():
            rmse_curve = []

            def track(t, x, loss, g):
                if t % RMSE_EVERY == 0:
                    rmse_curve.append(C.hidden_rmse(f, x, hidden))

            # The RMSE curve costs evaluations: time a second, clean run for the record.
            res = descend(f, theta0, C.OPTIMIZERS[name](lr), C.STEPS, callback=track)
            timed = descend(f, theta0, C.OPTIMIZERS[name](lr), C.STEPS)
            assert np.array_equal(timed.x, res.x)
            pol = polish(f, res.x, gtol=1e-9, maxiter=POLISH_MAXITER)
            rec = run_record(f, hidden, timed, pol)
            rec.update(method=name, lr=lr, init_seed=seed, hidden_rmse_curve=rmse_curve)
            runs.append(rec)
            polished_points.append(pol.x)
            owners.append((name, seed))
            print(f"seed {seed} {name:>8}: final {res.fun:.6f}, polished {pol.fun:.8f} "
                  f"({pol.status}, {pol.n_steps} it)", flush=True)
        res = als(f, theta0, ALS_SWEEPS)
        pol = polish(f, res.x, gtol=1e-9, maxiter=POLISH_MAXITER)
        rec = run_record(f, hidden, res, pol)
        rec.update(method="ALS", lr=None, init_seed=seed, hidden_rmse_curve=None)
        runs.append(rec)
        polished_points.append(pol.x)
        owners.append(("ALS", seed))
        print(f"seed {seed}      ALS: final {res.fun:.6f}, polished {pol.fun:.8f}", flush=True)

    l_ref = min(min(r["polished_loss"], float(np.min(r["losses"]))) for r in runs)
    for r in runs:
        l0 = r["losses"][0]
        r["steps_to_target"], r["time_to_target"], r["first_crossing"] = [], [], []
        for eps in C.TARGETS:
            level = l_ref + eps * (l0 - l_ref)
            t = steps_to_reach(np.asarray(r["losses"]), level, settle=True)
            r["steps_to_target"].append(t)
            r["time_to_target"].append(None if t is None else r["wall_time"] * t / r["n_steps"])
            r["first_crossing"].append(steps_to_reach(np.asarray(r["losses"]), level))
        r["losses"] = C.rounded(r["losses"][:: 10 if r["method"] != "ALS" else 1])
        r["every"] = 10 if r["method"] != "ALS" else 1

    labels = group_by_product(f, np.array(polished_points), rtol=GROUP_RTOL)
    minima = []
    for lab in range(labels.max() + 1):
        idx = np.flatnonzero(labels == lab)
        x = polished_points[idx[0]]
        ext = hessian_extremes_modulo_symmetry(f, x, k=1, tol=1e-6)
        minima.append({
            "label": int(lab), "loss": float(f.loss(x)),
            "hidden_rmse": C.hidden_rmse(f, x, hidden),
            "grad_norm": float(np.linalg.norm(f.grad(x))),
            "lambda_min_mod_symmetry": float(ext.smallest[0]),
            "lambda_max": float(ext.largest[0]),
            "members": [list(owners[i]) for i in idx],
        })
        print(f"minimum {lab}: loss {minima[-1]['loss']:.8f}, lambda_min^perp "
              f"{ext.smallest[0]:.3e}, lambda_max {ext.largest[0]:.5f}, "
              f"{len(idx)} runs", flush=True)
    for r, lab in zip(runs, labels):
        r["minimum"] = int(lab)
    # Distances between the polished minima of the runs from init seed 0, and raw factor
    # distances for contrast.
    seed0 = [i for i, o in enumerate(owners) if o[1] == 0]
    names = [owners[i][0] for i in seed0]
    prod = [[product_distance(*f.unpack(polished_points[i])[:2],
                              *f.unpack(polished_points[j])[:2]) for j in seed0] for i in seed0]
    fac = [[float(np.linalg.norm(polished_points[i] - polished_points[j])
                  / np.linalg.norm(polished_points[i])) for j in seed0] for i in seed0]
    # Distances between distinct minima (any runs).
    reps = [polished_points[int(np.flatnonzero(labels == m["label"])[0])] for m in minima]
    dists = [product_distance(*f.unpack(a)[:2], *f.unpack(b)[:2]) for i, a in enumerate(reps)
             for b in reps[i + 1:]]
    out["chapter"] = {
        "reg": reg, "lrs": lrs, "l_ref": l_ref, "targets": list(C.TARGETS),
        "group_rtol": GROUP_RTOL, "rmse_every": RMSE_EVERY, "als_sweeps": ALS_SWEEPS,
        "runs": runs, "minima": minima,
        "seed0_names": names, "seed0_product_distance": prod, "seed0_factor_distance": fac,
        "distinct_minima_distance_range": [min(dists), max(dists)] if dists else None,
    }


def rank5(out):
    d = C.data()
    hidden = d.hidden()
    reg = out["chapter"]["reg"]
    f = C.objective(reg, rank=5)
    pts, recs = [], []
    for seed in C.INIT_SEEDS:
        pol = polish(f, C.init(f, seed), gtol=1e-9, maxiter=POLISH_MAXITER)
        pts.append(pol.x)
        recs.append({"init_seed": seed, "loss": pol.fun, "status": pol.status,
                     "iterations": pol.n_steps, "hidden_rmse": C.hidden_rmse(f, pol.x, hidden)})
    labels = group_by_product(f, np.array(pts), rtol=GROUP_RTOL)
    ext = hessian_extremes_modulo_symmetry(f, pts[0], k=1, tol=1e-6)
    dmax = max(product_distance(*f.unpack(pts[0])[:2], *f.unpack(p)[:2]) for p in pts)
    out["rank5"] = {"reg": reg, "runs": recs, "labels": labels.tolist(),
                    "max_product_distance": dmax,
                    "lambda_min_mod_symmetry": float(ext.smallest[0]),
                    "lambda_max": float(ext.largest[0])}
    print(f"rank 5: {labels.max() + 1} distinct minima, lambda_min^perp {ext.smallest[0]:.3e}",
          flush=True)


def seed_config(out):
    f = C.objective(C.SEED_REG)
    rows = []
    for seed in C.INIT_SEEDS:
        theta0 = C.init(f, seed)
        for name, lr in C.SEED_LRS.items():
            res = descend(f, theta0, C.OPTIMIZERS[name](lr),
                           C.STEPS)
            rows.append({"method": name, "init_seed": seed, "initial_loss": float(res.losses[0]),
                         "loss_at_2999": float(res.losses[C.STEPS - 1]), "final_loss": res.fun,
                         "product_norm": product_norm(f, res.x),
                         "min_loss": float(res.losses.min())})
    y = f.ratings.values
    out["seed_config"] = {"reg": C.SEED_REG, "lrs": C.SEED_LRS, "runs": rows,
                          "loss_at_origin": float(0.5 * np.mean(y**2))}
    print("seed configuration done", flush=True)


def main() -> None:
    global ALS_SWEEPS, POLISH_MAXITER
    if Q.parse(__doc__).quick:
        C.make_quick(tiny=False)
        ALS_SWEEPS, POLISH_MAXITER = 10, 50
    out = {"command": "python benchmarks/ch02_seeds.py", "steps": C.STEPS,
           "init_seeds": list(C.INIT_SEEDS)}
    chapter_config(out)
    rank5(out)
    seed_config(out)
    C.save("ch02_seeds.json", out)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
