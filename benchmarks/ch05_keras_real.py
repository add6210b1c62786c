"""Chapter 5: the seed's full experiment in real Keras, beside the NumPy trainer.

Run from the repository root:
    python benchmarks/ch05_keras_real.py           (545 s CPU; 35 min wall on a loaded 2-core machine)
    python benchmarks/ch05_keras_real.py --quick   (tiny sizes, under a minute; CI)
Writes ch05_keras_real.json (into benchmarks/results, or elsewhere with --quick).

The seed's ten runs (one data set, ten random starts, EarlyStopping and ReduceLROnPlateau
as in the question), each trained twice from the same float32 start on the same batches:
by Keras 3 (JAX backend, float32) through :func:`mfbook.nmf.fit_keras`, and by the NumPy
copy :func:`mfbook.nmf.fit_keras_like` (float64).  For the Keras runs the rank diagnosis
(singular values of the fitted matrix) is applied to the Keras model's own prediction
(:func:`mfbook.nmf.keras_predict_matrix`).
"""

from __future__ import annotations

import time

import ch05_common as C
import numpy as np

from mfbook.datasets import sales_matrix, truncation_mse
from mfbook.nmf import ExpMF, fit_keras, fit_keras_like, keras_predict_matrix, keras_version

EVERY = 4     # store every 4th epoch of the histories


def summary(fit, model, V, ref, sv):
    h = fit.history
    return {
        "n_epochs": fit.n_epochs, "stopped_epoch": fit.stopped_epoch,
        "restored_epoch": fit.restored_epoch, "lr_reductions": fit.lr_reductions,
        "final_train_mse": model.mse(fit.theta), "final_val_mse": model.mse(fit.theta, V),
        "ratio": model.mse(fit.theta, V) / ref, "sv_ratios": C.rounded(sv / sv[0]),
        "cpu_seconds": fit.cpu_time, "wall_seconds": fit.wall_time,
        "history": {k: C.rounded(h[k][::EVERY]) for k in ("loss", "val_loss", "lr")},
    }


def main() -> None:
    args = C.parse(__doc__)
    if args.quick:
        d = sales_matrix(n_products=100, n_stores=20, seed=0)
        n_runs, epochs, batch = 2, 60, 256
    else:
        d = sales_matrix(seed=0)
        n_runs, epochs, batch = 10, C.EPOCHS, C.BATCH
    R, V = d.observed, d.hidden()
    ref = truncation_mse(d, C.RANK)
    model = ExpMF(R, C.RANK, reg=C.L2)
    runs = []
    for init in range(n_runs):
        theta0 = model.keras_uniform_init(seed=init).astype(np.float32).astype(np.float64)
        kw = dict(batch_size=batch, epochs=epochs, val=V, seed=100 + init)
        out = {"init_seed": init, "shuffle_seed": 100 + init}
        for name, trainer in (("keras", fit_keras), ("numpy", fit_keras_like)):
            cpu = time.process_time()
            fit = trainer(model, theta0, C.keras_adam(1e-3), callbacks=C.keras_callbacks(), **kw)
            fit.cpu_time = time.process_time() - cpu
            if name == "keras":
                sv = np.linalg.svd(keras_predict_matrix(model, fit.theta), compute_uv=False)[:C.RANK]
            else:
                sv = model.singular_values(fit.theta)
            out[name] = summary(fit, model, V, ref, sv)
            print(f"init {init} {name}: {fit.n_epochs} epochs, lr cuts {fit.lr_reductions}, "
                  f"val MSE {out[name]['final_val_mse']:.4g} ({out[name]['ratio']:.3g} x theory), "
                  f"sigma2/sigma1 {sv[1] / sv[0]:.2g}, {fit.cpu_time:.0f} s CPU", flush=True)
        runs.append(out)
    C.save("ch05_keras_real.json", {
        "command": "python benchmarks/ch05_keras_real.py", "quick": args.quick,
        "keras": keras_version(), "theoretical_mse": ref, "every": EVERY,
        "batch_size": batch, "runs": runs,
    })


if __name__ == "__main__":
    start, cpu = time.perf_counter(), time.process_time()
    main()
    print(f"total {time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")
