"""Chapter 2: learning-rate sweep of GD, heavy ball, Nesterov and Adam.

Run from the repository root, after ch02_reg_select.py (it reads the chosen reg):
    python benchmarks/ch02_lr_sweep.py        (about 3 minutes)
    python benchmarks/ch02_lr_sweep.py --quick   (tiny problem, seconds; CI)
Writes benchmarks/results/ch02_lr_sweep.json.

Each optimizer runs 3000 steps from the case study's initialization (init seed 0) for every
learning rate on a grid of factor-2 steps that starts at the case study's own learning rate,
on two objectives: the case study's (reg 0.01) and the chapter's (reg chosen by
cross-validation).  A run counts as failed if the loss became non-finite (diverged) or ended
above its starting value.  The chosen learning rate of each optimizer is the one whose loss
soonest falls below the target L_ref + 1e-3 (L_0 - L_ref) and stays there; L_ref is the
lowest loss of any run of the sweep (the seeds benchmark refines it).
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.core import descend
from mfbook.landscape import steps_to_reach

GRIDS = {
    "GD": 0.05 * 2.0 ** np.arange(0, 15),          # 0.05 ... 819
    "Momentum": 0.01 * 2.0 ** np.arange(0, 17),    # 0.01 ... 655
    "Nesterov": 0.01 * 2.0 ** np.arange(0, 17),
    "Adam": 0.005 * 2.0 ** np.arange(-2, 11),      # 0.00125 ... 5.12
}
SELECT_TARGET = 1e-3


def sweep(f, hidden, theta0):
    runs, histories = {}, {}
    for name, grid in GRIDS.items():
        runs[name], histories[name] = [], []
        for lr in grid:
            res = descend(f, theta0, C.OPTIMIZERS[name](float(lr)), C.STEPS,
                           on_divergence="stop")
            failed = res.diverged or not res.fun < res.losses[0]
            runs[name].append({
                "lr": float(lr), "status": res.status, "failed": bool(failed),
                "n_steps": res.n_steps, "final_loss": res.fun,
                "min_loss": float(res.losses.min()), "initial_loss": float(res.losses[0]),
                "n_increases": int(np.sum(np.diff(res.losses) > 0)),
                "hidden_rmse": C.hidden_rmse(f, res.x, hidden) if not res.diverged else None,
                "losses_every_10": C.rounded(res.losses[::10]),
            })
            histories[name].append(res.losses)
            print(f"  {name:>8} lr {lr:9.4g}: {res.status:>9}, final loss {res.fun:.6g}",
                  flush=True)
    return runs, histories


def main() -> None:
    if Q.parse(__doc__).quick:
        C.make_quick()
    d = C.data()
    hidden = d.hidden()
    reg = C.load("ch02_reg_select.json")["chosen_reg"]
    out = {"command": "python benchmarks/ch02_lr_sweep.py", "steps": C.STEPS,
           "init_seed": 0, "select_target": SELECT_TARGET, "configs": {}}
    for label, lam in (("seed", C.SEED_REG), ("chapter", reg)):
        print(f"{label}: reg {lam:g}", flush=True)
        f = C.objective(lam)
        runs, histories = sweep(f, hidden, C.init(f, 0))
        l_ref = min(r["min_loss"] for rs in runs.values() for r in rs if not r["failed"])
        l0 = next(iter(runs.values()))[0]["initial_loss"]
        chosen = {}
        for name, rs in runs.items():
            level = l_ref + SELECT_TARGET * (l0 - l_ref)
            for r, losses in zip(rs, histories[name]):
                t = steps_to_reach(losses, level, settle=True)
                r["steps_to_select_target"] = None if (t is None or r["failed"]) else t
            ok = [r for r in rs if r["steps_to_select_target"] is not None]
            best = min(ok, key=lambda r: (r["steps_to_select_target"], r["final_loss"])) if ok \
                else min((r for r in rs if not r["failed"]), key=lambda r: r["final_loss"])
            chosen[name] = best["lr"]
        out["configs"][label] = {"reg": lam, "l_ref_sweep": l_ref, "initial_loss": l0,
                                 "chosen_lr": chosen, "runs": runs}
        print(f"  chosen: {chosen}", flush=True)
    C.save("ch02_lr_sweep.json", out)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
