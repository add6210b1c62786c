"""Chapter 5: what more epochs, other learning rates and other starts do (data seed 0).

Run from the repository root, after ch05_keras_repro.py (it reads the stalled point):
    python benchmarks/ch05_diagnose.py        (about 3 minutes)
    python benchmarks/ch05_diagnose.py --quick   (tiny sizes, seconds; CI)
Writes benchmarks/results/ch05_diagnose.json.
"""

from __future__ import annotations

import time

import ch05_common as C
import numpy as np

from mfbook.nmf import ExpMF, fit_keras_like

EVERY = 5


def record(model, fit, V, label, **info):
    h = fit.history
    print(f"{label}: {fit.n_epochs} epochs, val MSE {model.mse(fit.theta, V):.4g}, "
          f"{fit.wall_time:.1f} s", flush=True)
    return {"label": label, **info, "n_epochs": fit.n_epochs, "n_steps": fit.n_steps,
            "stopped_epoch": fit.stopped_epoch, "lr_reductions": fit.lr_reductions,
            "final_val_mse": model.mse(fit.theta, V), "final_train_mse": model.mse(fit.theta),
            "wall_time": fit.wall_time,
            "history": {k: C.rounded(h[k][::EVERY]) for k in ("val_mse", "sv2", "lr", "loss")}}


def main() -> None:
    quick = C.parse(__doc__).quick
    if quick:
        C.make_quick()
    d, R, V = C.data(0)
    model = ExpMF(R, C.RANK, reg=C.L2)
    if quick:   # the stored stalled point belongs to the full-size problem
        stall = fit_keras_like(model, model.keras_uniform_init(seed=0), C.keras_adam(1e-3),
                               batch_size=C.BATCH, epochs=C.EPOCHS, seed=100).theta
    else:
        stall = np.array(C.load_results("ch05_stall_point.json")["theta"])
    long_run, restart_run = (20, 20) if quick else (2000, 3000)
    out = {"command": "python benchmarks/ch05_diagnose.py", "every": EVERY,
           "theoretical_mse": C.theoretical_mse(d), "continue": [], "restart": []}
    # 1. Continue from the stalled point with a constant learning rate and no callbacks.
    for lr in (1e-4, 3e-4, 1e-3, 3e-3):
        fit = fit_keras_like(model, stall, C.keras_adam(lr), batch_size=C.BATCH, epochs=long_run,
                             val=V, seed=7, extra=C.sv_ratios(model))
        out["continue"].append(record(model, fit, V, f"continue, lr {lr:g}", lr=lr))
    # 2. Restart from the Keras initialization with other settings.
    theta0 = model.keras_uniform_init(seed=0)
    settings = [
        ("seed's recipe, lr 1e-2", dict(lr=1e-2, callbacks=True, batch=C.BATCH, epochs=C.EPOCHS)),
        ("lr 1e-3, no callbacks", dict(lr=1e-3, callbacks=False, batch=C.BATCH,
                                       epochs=restart_run)),
        ("seed's recipe, batch 512", dict(lr=1e-3, callbacks=True, batch=64 if quick else 512,
                                          epochs=C.EPOCHS)),
    ]
    for label, s in settings:
        fit = fit_keras_like(model, theta0, C.keras_adam(s["lr"]), batch_size=s["batch"],
                             epochs=s["epochs"], val=V,
                             callbacks=C.keras_callbacks() if s["callbacks"] else [],
                             seed=0 * 1000 + 100, extra=C.sv_ratios(model))
        out["restart"].append(record(model, fit, V, label, **s))
    C.save("ch05_diagnose.json", out)


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
