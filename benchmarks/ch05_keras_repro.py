"""Chapter 5: the seed's Keras experiment, re-run in NumPy on 3 data sets x 4 initializations.

Run from the repository root:  python benchmarks/ch05_keras_repro.py   (about 5 minutes)
    python benchmarks/ch05_keras_repro.py --quick   (tiny sizes, seconds; CI)
Writes benchmarks/results/ch05_keras_repro.json (summaries and per-epoch histories) and
benchmarks/results/ch05_stall_point.json (the final parameters of data seed 0, init 0).
"""

from __future__ import annotations

import time

import ch05_common as C

from mfbook.nmf import ExpMF, fit_keras_like

INIT_SEEDS = (0, 1, 2, 3)
EVERY = 4   # store every 4th epoch of the histories


def main() -> None:
    global INIT_SEEDS
    if C.parse(__doc__).quick:
        C.make_quick()
        INIT_SEEDS = (0,)
    runs = []
    start = time.perf_counter()
    for ds in C.DATA_SEEDS:
        d, R, V = C.data(ds)
        ref = C.theoretical_mse(d)
        model = ExpMF(R, C.RANK, reg=C.L2)
        for init in INIT_SEEDS:
            theta0 = model.keras_uniform_init(seed=1000 * ds + init)
            fit = fit_keras_like(model, theta0, C.keras_adam(1e-3), batch_size=C.BATCH,
                                 epochs=C.EPOCHS, val=V, callbacks=C.keras_callbacks(),
                                 seed=1000 * ds + 100 + init, extra=C.sv_ratios(model))
            h = fit.history
            s = model.singular_values(fit.theta)
            run = {
                "data_seed": ds, "init_seed": init, "theoretical_mse": ref,
                "n_epochs": fit.n_epochs, "n_steps": fit.n_steps,
                "stopped_epoch": fit.stopped_epoch, "restored_epoch": fit.restored_epoch,
                "lr_reductions": fit.lr_reductions,
                "final_train_mse": model.mse(fit.theta), "final_val_mse": model.mse(fit.theta, V),
                "final_penalty": model.penalty(fit.theta),
                "min_loss": float(h["loss"].min()), "min_val_loss": float(h["val_loss"].min()),
                "final_sv_ratios": (s / s[0]).tolist(),
                "wall_time": fit.wall_time,
                "history": {k: C.rounded(h[k][::EVERY]) for k in
                            ("loss", "val_loss", "lr", "val_mse", "train_mse", "sv2", "step_rms", "dist0")},
            }
            runs.append(run)
            print(f"data {ds} init {init}: {fit.n_epochs} epochs, stopped {fit.stopped_epoch}, "
                  f"lr cut at {fit.lr_reductions}, val MSE {run['final_val_mse']:.4g} "
                  f"({run['final_val_mse'] / ref:.3g} x theory), {fit.wall_time:.1f} s", flush=True)
            if ds == 0 and init == 0:
                C.save("ch05_stall_point.json", {
                    "data_seed": 0, "init_seed": 0, "rank": C.RANK, "reg": C.L2,
                    "theta": C.rounded(fit.theta, 12),
                    "history_full": {k: C.rounded(h[k]) for k in
                                     ("loss", "val_loss", "lr", "val_mse", "sv2", "step_rms", "dist0")},
                })
    C.save("ch05_keras_repro.json", {
        "command": "python benchmarks/ch05_keras_repro.py", "every": EVERY,
        "batch_size": C.BATCH, "runs": runs, "total_seconds": time.perf_counter() - start,
    })
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
