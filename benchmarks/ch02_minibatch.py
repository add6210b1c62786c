"""Chapter 2: mini-batch SGD on the chapter's objective, beside the full-batch methods.

Run from the repository root, after ch02_seeds.py:
    python benchmarks/ch02_minibatch.py           (about 2 minutes on one core)
    python benchmarks/ch02_minibatch.py --quick   (tiny problem, seconds; CI)
Writes ch02_minibatch.json (into benchmarks/results, or elsewhere with --quick).

Mini-batch SGD (mfbook.landscape.minibatch_descend with GradientDescent) runs 100 epochs in
batches of 100 ratings from the case study's initialization.  Its learning rate on the mean
objective is alpha * batch_size, alpha being the per-rating step of Funk-style SGD.  On
init seed 0, alpha sweeps a factor-2 grid, with a constant rate and with a cosine schedule
decaying to 0 over the 100 epochs; for each schedule the rate that reaches the target
L_ref + 1e-3 (L_0 - L_ref) in the fewest epochs and stays there is chosen (if none does, the
lowest final loss), and the chosen configuration then runs from init seeds 0-9.  The loss
of the full objective is recorded after every epoch, with the CPU time of the run.
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.core import GradientDescent, MFObjective
from mfbook.datasets import streamrec
from mfbook.landscape import Scheduled, cosine_schedule, minibatch_descend, steps_to_reach

ALPHAS = (0.01, 0.02, 0.04, 0.08, 0.16)
BATCH = 100
EPOCHS = 100


def run(f, theta0, alpha, schedule, epochs, levels, hidden, seed):
    steps_per_epoch = -(-f.ratings.nnz // BATCH)
    opt = GradientDescent(alpha * BATCH)
    if schedule == "cosine":
        opt = Scheduled(opt, cosine_schedule(epochs * steps_per_epoch))
    cpu = time.process_time()
    res = minibatch_descend(f, theta0, opt, epochs, batch_size=BATCH, seed=seed,
                            on_divergence="stop")
    cpu = time.process_time() - cpu
    ok = not res.diverged
    return {"alpha": alpha, "lr": alpha * BATCH, "schedule": schedule, "init_seed": seed,
            "failed": not ok, "cpu_time": cpu, "n_updates": res.n_steps,
            "losses": C.rounded(res.losses, 10),
            "settle": [steps_to_reach(res.losses, lv, settle=True) if ok else None
                       for lv in levels],
            "first": [steps_to_reach(res.losses, lv) if ok else None for lv in levels],
            "final_loss": res.fun if ok else None,
            "hidden_rmse": C.hidden_rmse(f, res.x, hidden) if ok else None}


def main() -> None:
    args = Q.parse(__doc__)
    d = streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3, seed=1) if args.quick \
        else C.data()
    if args.quick:
        f = MFObjective(d.observed, 4, mean=True, half=True, reg=1e-3)
        l_ref, epochs, seeds, targets = 0.0, 5, (0, 1), (1e-2, 1e-3)
    else:
        chap = Q.stored("ch02_seeds.json")["chapter"]
        f = C.objective(chap["reg"])
        l_ref, epochs, seeds, targets = chap["l_ref"], EPOCHS, C.INIT_SEEDS, C.TARGETS
    hidden, sel = d.hidden(), targets.index(1e-3)

    def levels(theta0):
        l0 = f.loss(theta0)
        return [l_ref + eps * (l0 - l_ref) for eps in targets]

    out = {"command": "python benchmarks/ch02_minibatch.py", "quick": args.quick,
           "batch_size": BATCH, "epochs": epochs, "l_ref": l_ref, "targets": list(targets),
           "sweep": [], "chosen": {}, "seeds": {}}
    theta0 = C.init(f, 0)
    for schedule in ("constant", "cosine"):
        recs = [run(f, theta0, a, schedule, epochs, levels(theta0), hidden, 0) for a in ALPHAS]
        out["sweep"] += recs
        ok = [r for r in recs if not r["failed"]]
        best = min(ok, key=lambda r: (np.inf if r["settle"][sel] is None else r["settle"][sel],
                                      r["final_loss"]))
        out["chosen"][schedule] = best["alpha"]
        out["seeds"][schedule] = [
            run(f, C.init(f, s), best["alpha"], schedule, epochs, levels(C.init(f, s)),
                hidden, s) for s in seeds]
        print(f"{schedule}: alpha {best['alpha']:g}; epochs to 1e-3 on seeds "
              f"{[r['settle'][sel] for r in out['seeds'][schedule]]}", flush=True)
    C.save("ch02_minibatch.json", out)


if __name__ == "__main__":
    Q.run(main)
