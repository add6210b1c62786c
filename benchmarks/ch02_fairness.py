"""Chapter 2: is the optimizer comparison fair?  Held-out seeds and learning-rate schedules.

Run from the repository root, after ch02_lr_sweep.py and ch02_seeds.py:
    python benchmarks/ch02_fairness.py           (about 2 minutes on one core)
    python benchmarks/ch02_fairness.py --quick   (tiny problem, seconds; CI)
Writes ch02_fairness.json (into benchmarks/results, or elsewhere with --quick).

Two ways the chapter's comparison could favour some methods:

1. The learning rates were chosen on init seed 0, and the runs of seed 0 are shown.  Here
   each method runs at its chosen rate and at half and twice that rate from init seeds 1-4,
   which played no part in the choice, and the rate that reaches the 1e-3 target soonest
   (and stays below it) is recorded per seed.
2. Adam at a constant rate never settles, and the criterion asks a run to reach the target
   and stay there.  Here every method also runs with a cosine schedule (the rate decays
   from its base value to 0 over the 3000 steps); the base rate is chosen on seed 0 from a
   factor-2 grid by the same rule, then the chosen schedule runs from seeds 0-9.

Targets are those of ch02_seeds.py: L_ref + eps (L_0 - L_ref), with its L_ref.
"""

from __future__ import annotations


import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.core import MFObjective, descend
from mfbook.datasets import streamrec
from mfbook.landscape import Scheduled, cosine_schedule, steps_to_reach

GRID_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


def arrival(f, theta0, opt, n_steps, levels):
    res = descend(f, theta0, opt, n_steps, on_divergence="stop")
    if res.diverged or not res.fun < res.losses[0]:
        return {"failed": True, "settle": [None] * len(levels), "first": [None] * len(levels),
                "final_loss": None, "n_increases": None}
    return {"failed": False, "final_loss": res.fun,
            "n_increases": int(np.sum(np.diff(res.losses) > 0)),
            "settle": [steps_to_reach(res.losses, lv, settle=True) for lv in levels],
            "first": [steps_to_reach(res.losses, lv) for lv in levels]}


def key(rec, i):
    """Sort key of the selection rule: arrival (reach and stay) at target i, then final loss."""
    t = rec["settle"][i]
    return (np.inf if t is None else t, np.inf if rec["final_loss"] is None else rec["final_loss"])


def main() -> None:
    args = Q.parse(__doc__)
    if args.quick:
        f = MFObjective(streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3,
                                  seed=1).observed, 4, mean=True, half=True, reg=1e-3)
        lrs, l_ref, n_steps = {"GD": 2.0, "Adam": 0.05}, None, 300
        held_out, schedule_seeds, targets = (1,), (0, 1), (1e-2, 1e-3)
    else:
        chap = Q.stored("ch02_seeds.json")["chapter"]
        f = C.objective(chap["reg"])
        lrs, l_ref, n_steps, targets = chap["lrs"], chap["l_ref"], C.STEPS, C.TARGETS
        held_out, schedule_seeds = (1, 2, 3, 4), C.INIT_SEEDS
    if l_ref is None:
        l_ref = min(float(descend(f, C.init(f, 0), C.OPTIMIZERS[nm](lr), 4 * n_steps).fun)
                    for nm, lr in lrs.items())
    sel = targets.index(1e-3)

    def levels(theta0):
        l0 = f.loss(theta0)
        return [l_ref + eps * (l0 - l_ref) for eps in targets]

    out = {"command": "python benchmarks/ch02_fairness.py", "quick": args.quick,
           "l_ref": l_ref, "targets": list(targets), "lrs": lrs, "n_steps": n_steps,
           "held_out_seeds": list(held_out), "held_out": {}, "cosine": {}}
    for name, lr in lrs.items():
        rows = []
        for seed in held_out:
            theta0 = C.init(f, seed)
            recs = {fac: arrival(f, theta0, C.OPTIMIZERS[name](fac * lr), n_steps,
                                 levels(theta0)) for fac in (0.5, 1.0, 2.0)}
            best = min(recs, key=lambda fac: key(recs[fac], sel))
            rows.append({"init_seed": seed, "best_factor": best,
                         "runs": {str(fac): r for fac, r in recs.items()}})
        out["held_out"][name] = rows
        print(f"{name}: fastest factor on held-out seeds "
              f"{[r['best_factor'] for r in rows]}", flush=True)
    for name, lr in lrs.items():
        theta0 = C.init(f, 0)
        grid = {fac: arrival(f, theta0, Scheduled(C.OPTIMIZERS[name](fac * lr),
                                                  cosine_schedule(n_steps)),
                             n_steps, levels(theta0)) for fac in GRID_FACTORS}
        best = min(grid, key=lambda fac: key(grid[fac], sel))
        seeds = []
        for seed in schedule_seeds:
            theta0 = C.init(f, seed)
            opt = Scheduled(C.OPTIMIZERS[name](best * lr), cosine_schedule(n_steps))
            seeds.append(dict(arrival(f, theta0, opt, n_steps, levels(theta0)), init_seed=seed))
        out["cosine"][name] = {"grid": {str(fac): r for fac, r in grid.items()},
                               "chosen_factor": best, "chosen_lr": best * lr, "seeds": seeds}
        med = np.median([np.inf if s["settle"][sel] is None else s["settle"][sel]
                         for s in seeds])
        print(f"{name} + cosine: base rate {best * lr:g}, median steps to 1e-3 {med}", flush=True)
    C.save("ch02_fairness.json", out)


if __name__ == "__main__":
    Q.run(main)
