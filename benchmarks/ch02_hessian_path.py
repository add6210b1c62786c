"""Chapter 2: the extreme Hessian eigenvalues along the optimizer trajectories.

Run from the repository root, after ch02_reg_select.py and ch02_lr_sweep.py:
    python benchmarks/ch02_hessian_path.py        (about 4 minutes)
    python benchmarks/ch02_hessian_path.py --quick   (tiny problem, seconds; CI)
Writes ch02_hessian_path.json (into benchmarks/results, or elsewhere with --quick).

From the case study's initialization (init seed 0), each optimizer runs 3000 steps; at
about 45 steps spaced logarithmically, the most negative and the largest eigenvalue of the
Hessian are computed by Lanczos on Hessian-vector products (tol 1e-6), together with the
loss and the gradient norm.  Done for the chapter's objective (learning rates from the
sweep) and for the case study's (its learning rates).
"""

from __future__ import annotations

import time

import ch02_common as C
import ch02_quick as Q
import numpy as np

from mfbook.core import descend
from mfbook.landscape import hessian_extremes_along

N_POINTS = 45   # 3 in quick mode


def steps_at() -> np.ndarray:
    return np.unique(np.concatenate([[0], np.round(np.geomspace(1, C.STEPS, N_POINTS))
                                     .astype(int)]))


def path(f, theta0, opt):
    STEPS_AT = steps_at()
    want = set(int(s) for s in STEPS_AT)
    snaps = {}

    def keep(t, x, loss, g):
        if t in want:
            snaps[t] = x.copy()

    res = descend(f, theta0, opt, C.STEPS, callback=keep)
    X = np.array([snaps[t] for t in STEPS_AT])
    hp = hessian_extremes_along(f, X, tol=1e-6)
    return {"steps": STEPS_AT.tolist(), "loss": C.rounded(res.losses[STEPS_AT], 10),
            "grad_norm": C.rounded(res.grad_norms[STEPS_AT]),
            "lambda_min": C.rounded(hp.smallest), "lambda_max": C.rounded(hp.largest),
            "n_products": hp.n_products.tolist()}


def main() -> None:
    global N_POINTS
    if Q.parse(__doc__).quick:
        C.make_quick(tiny=False)
        N_POINTS = 3
    reg = C.load("ch02_reg_select.json")["chosen_reg"]
    lrs = C.load("ch02_lr_sweep.json")["configs"]["chapter"]["chosen_lr"]
    out = {"command": "python benchmarks/ch02_hessian_path.py", "init_seed": 0,
           "tol": 1e-6, "configs": {}}
    for label, lam, rates in (("chapter", reg, lrs), ("seed", C.SEED_REG, C.SEED_LRS)):
        f = C.objective(lam)
        theta0 = C.init(f, 0)
        out["configs"][label] = {"reg": lam, "lrs": rates, "paths": {}}
        for name, lr in rates.items():
            t0 = time.perf_counter()
            out["configs"][label]["paths"][name] = path(f, theta0, C.OPTIMIZERS[name](lr))
            print(f"{label} {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    C.save("ch02_hessian_path.json", out)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
