"""Chapter 2: the sharpness of gradient descent along its run, against 2 / eta.

Run from the repository root, after ch02_reg_select.py and ch02_lr_sweep.py:
    python benchmarks/ch02_sharpness.py           (about 1 minute on one core)
    python benchmarks/ch02_sharpness.py --quick   (tiny problem, seconds; CI)
Writes ch02_sharpness.json (into benchmarks/results, or elsewhere with --quick).

Gradient descent runs 3000 steps from the case study's initialization (init seed 0) on the
chapter's objective at the learning rate the sweep chose and at the next rate of its grid
(twice as large).  At about 60 steps spaced logarithmically, and at every step of the last
20, the largest Hessian eigenvalue is computed by Lanczos on Hessian-vector products
(mfbook.landscape.sharpness_along), to compare with the stability threshold 2 / eta.  The
loss is stored at every step.
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.core import GradientDescent, MFObjective, descend
from mfbook.datasets import streamrec
from mfbook.landscape import sharpness_along


def trace(f, theta0, lr, n_steps, at):
    want = set(int(s) for s in at)
    snaps = {}

    def keep(t, x, loss, g):
        if t in want:
            snaps[t] = x.copy()

    res = descend(f, theta0, GradientDescent(lr), n_steps, callback=keep,
                  on_divergence="stop")
    steps = np.array(sorted(snaps))
    sharp = sharpness_along(f, np.array([snaps[t] for t in steps]), tol=1e-6)
    L = res.losses
    return {"lr": lr, "two_over_lr": 2.0 / lr, "status": res.status, "steps": steps.tolist(),
            "sharpness": C.rounded(sharp.values), "n_products": sharp.n_products.tolist(),
            "losses": C.rounded(L, 10), "n_increases": int(np.sum(np.diff(L) > 0))}


def main() -> None:
    args = Q.parse(__doc__)
    if args.quick:
        f = MFObjective(streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3,
                                  seed=1).observed, 4, mean=True, half=True, reg=1e-3)
        lr, n_steps = 2.0, 300
    else:
        f = C.objective(Q.stored("ch02_reg_select.json")["chosen_reg"])
        lr = Q.stored("ch02_lr_sweep.json")["configs"]["chapter"]["chosen_lr"]["GD"]
        n_steps = C.STEPS
    theta0 = C.init(f, 0)
    at = np.unique(np.concatenate([[0], np.round(np.geomspace(1, n_steps, 60)).astype(int),
                                   np.arange(n_steps - 20, n_steps + 1)]))
    out = {"command": "python benchmarks/ch02_sharpness.py", "quick": args.quick,
           "init_seed": 0, "n_steps": n_steps, "tol": 1e-6, "runs": []}
    for rate in (lr, 2 * lr):
        t0 = time.process_time()
        run = trace(f, theta0, rate, n_steps, at)
        out["runs"].append(run)
        late = np.array(run["sharpness"])[np.array(run["steps"]) >= n_steps // 2]
        print(f"GD lr {rate:g} (2/lr = {2 / rate:.6f}): {run['status']}, {run['n_increases']} "
              f"loss increases; sharpness in the second half {late.min():.6f} to "
              f"{late.max():.6f}; {time.process_time() - t0:.0f} s CPU", flush=True)
    C.save("ch02_sharpness.json", out)


if __name__ == "__main__":
    Q.run(main)
