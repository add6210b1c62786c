"""Chapter 2: are the polished end points strict minima?  Newton refinement modulo rotations.

Run from the repository root, after ch02_seeds.py (whose runs it repeats):
    python benchmarks/ch02_refine_minima.py           (about 5 minutes on one core)
    python benchmarks/ch02_refine_minima.py --quick   (tiny problem, seconds; CI)
Writes ch02_refine_minima.json (into benchmarks/results, or elsewhere with --quick).

The seeds benchmark polishes 50 end points with L-BFGS to gradient norms near 1e-8 and
finds 42 distinct critical points with smallest Hessian eigenvalues modulo the symmetry
between 3e-7 and 2e-6.  At such gradients the distance to the true critical point, about
|g| / lambda_min, is too large for a Lipschitz argument to guarantee that the curvature keeps
its sign.  This script repeats those runs exactly (same data, learning rates, seeds, polish),
checks that it gets the same groups, and refines every polished point by Newton steps on
the complement of the rotation orbit (mfbook.landscape.newton_refine) down to a gradient
norm near rounding level.  For each group it records the gradient norms of the Newton
steps, how far the point moved (in theta and in U V^T), and lambda_min modulo the symmetry
at the refined point, by Lanczos.
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.core import MFObjective, descend, product_distance
from mfbook.datasets import streamrec
from mfbook.landscape import (group_by_product, hessian_extremes_modulo_symmetry,
                              newton_refine, polish)
from mfbook.recommender import als


def polished_points(f, lrs, seeds, n_steps, als_sweeps):
    """The polished end points of ch02_seeds.py, in its order (per seed: the lrs, then ALS)."""
    points, owners = [], []
    for seed in seeds:
        theta0 = C.init(f, seed)
        for name, lr in lrs.items():
            res = descend(f, theta0, C.OPTIMIZERS[name](lr), n_steps)
            points.append(polish(f, res.x, gtol=1e-9, maxiter=20000).x)
            owners.append((name, seed))
        points.append(polish(f, als(f, theta0, als_sweeps).x, gtol=1e-9, maxiter=20000).x)
        owners.append(("ALS", seed))
        print(f"seed {seed}: polished", flush=True)
    return np.array(points), owners


def refine_group(f, points, idx):
    """Refine every member of one group; curvature at the first member's refined point."""
    refs = [newton_refine(f, points[i]) for i in idx]
    first = refs[0]
    U0, V0 = f.unpack(points[idx[0]])[:2]
    U1, V1 = f.unpack(first.x)[:2]
    ext = hessian_extremes_modulo_symmetry(f, first.x, k=1, tol=1e-6)
    spread = max(product_distance(U1, V1, *f.unpack(r.x)[:2]) for r in refs)
    return first, {
        "members": len(idx), "grad_norms": C.rounded(first.grad_norms, 4),
        "converged": all(r.converged for r in refs),
        "max_final_grad_norm": max(float(r.grad_norms[-1]) for r in refs),
        "displacement": first.displacement,
        "relative_displacement": first.displacement / float(np.linalg.norm(first.x)),
        "product_displacement": product_distance(U0, V0, U1, V1),
        "members_product_spread": spread, "newton_products": first.n_products,
        "loss": float(f.loss(first.x)),
        "lambda_min_mod_symmetry": float(ext.smallest[0]),
        "lambda_max": float(ext.largest[0]), "lanczos_products": ext.n_products,
    }


def main() -> None:
    args = Q.parse(__doc__)
    if args.quick:
        f = MFObjective(streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3,
                                  seed=1).observed, 4, mean=True, half=True, reg=1e-3)
        lrs, seeds, n_steps, sweeps, stored = {"GD": 2.0, "Adam": 0.05}, (0, 1), 300, 30, None
    else:
        seeds_json = Q.stored("ch02_seeds.json")["chapter"]
        f = C.objective(seeds_json["reg"])
        lrs, seeds, n_steps = seeds_json["lrs"], C.INIT_SEEDS, C.STEPS
        sweeps, stored = seeds_json["als_sweeps"], seeds_json
    points, owners = polished_points(f, lrs, seeds, n_steps, sweeps)
    labels = group_by_product(f, points, rtol=stored["group_rtol"] if stored else 1e-3)
    same_groups = stored is None or labels.tolist() == [r["minimum"] for r in stored["runs"]]
    print(f"{labels.max() + 1} groups; same as ch02_seeds.json: {same_groups}", flush=True)
    groups, refined = [], []
    for lab in range(labels.max() + 1):
        t0 = time.process_time()
        first, rec = refine_group(f, points, np.flatnonzero(labels == lab))
        refined.append(first.x)
        groups.append(rec)
        print(f"group {lab}: |g| {rec['grad_norms'][0]:.1e} -> {rec['grad_norms'][-1]:.1e} "
              f"in {len(rec['grad_norms']) - 1} steps, moved {rec['relative_displacement']:.1e} "
              f"(product {rec['product_displacement']:.1e}), lambda_min^perp "
              f"{rec['lambda_min_mod_symmetry']:.3e}; {time.process_time() - t0:.1f} s CPU",
              flush=True)
    dists = [product_distance(*f.unpack(a)[:2], *f.unpack(b)[:2])
             for i, a in enumerate(refined) for b in refined[i + 1:]]
    C.save("ch02_refine_minima.json", {
        "command": "python benchmarks/ch02_refine_minima.py", "quick": args.quick,
        "same_groups_as_seeds": bool(same_groups), "labels": labels.tolist(),
        "owners": [list(o) for o in owners], "groups": groups,
        "refined_distance_range": [min(dists), max(dists)] if dists else None})


if __name__ == "__main__":
    Q.run(main)
