"""Chapter 5: the question's MLP variant in Keras, and the relative-threshold schedule.

Run from the repository root:
    python benchmarks/ch05_extras.py           (130 s CPU; 13 min wall on a loaded 2-core machine)
    python benchmarks/ch05_extras.py --quick   (tiny sizes, seconds; CI)
Writes ch05_extras.json (into benchmarks/results, or elsewhere with --quick).

* ``mlp``: the question's second network (:func:`mfbook.nmf.keras_mlp`: concatenated
  embeddings, ``n_steps`` Dense+ELU+BatchNorm blocks, an exponential output), trained in
  Keras with Adam at 3e-3 and the question's callbacks, log and linear interpolation of
  the widths, two steps, on data seed 0.
* ``relative``: Exercise 5, the recipe on data seed 0 (NumPy trainer, starts 0 and 1) with
  ``ReduceLROnPlateau`` improving iff ``val_loss < (1 - 1e-3) best``.
"""

from __future__ import annotations

import time

import ch05_common as C
import numpy as np

from mfbook.datasets import sales_matrix, truncation_mse
from mfbook.nmf import (EarlyStopping, ExpMF, ReduceLROnPlateau, fit_keras_like, fit_keras_network,
                        keras_mlp)


class RelativeReduceLR(ReduceLROnPlateau):
    """Improvement iff ``current < (1 - rel) * best`` instead of ``best - min_delta``."""

    def __init__(self, rel: float = 1e-3, **kw) -> None:
        super().__init__(**kw)
        self.rel = rel

    def _is_improvement(self, current: float) -> bool:
        return current < (1 - self.rel) * self.best


def main() -> None:
    args = C.parse(__doc__)
    if args.quick:
        d, epochs, batch, steps_list = sales_matrix(n_products=100, n_stores=20, seed=0), 30, 256, (1,)
    else:
        d, epochs, batch, steps_list = sales_matrix(seed=0), C.EPOCHS, C.BATCH, (2,)
    R, V = d.observed, d.hidden()
    ref = truncation_mse(d, C.RANK)
    out = {"command": "python benchmarks/ch05_extras.py", "quick": args.quick,
           "theoretical_mse": ref, "mlp": [], "relative": []}
    from mfbook.nmf._keras import import_keras
    keras = import_keras()
    for spacing in ("log", "linear"):
        for n_steps in steps_list:
            keras.utils.set_random_seed(0)
            net = keras_mlp(R.shape, C.RANK, n_steps, spacing=spacing, reg=C.L2)
            cpu = time.process_time()
            r = fit_keras_network(net, R, lr=3e-3, batch_size=batch, epochs=epochs, val=V,
                                  callbacks=C.keras_callbacks(), seed=100)
            r.update(spacing=spacing, n_steps=n_steps, ratio=r["val_mse"] / ref,
                     cpu_seconds=time.process_time() - cpu,
                     final_lr=r["history"]["learning_rate"][-1] if "learning_rate" in r["history"] else None)
            r["history"] = {k: C.rounded(v[::4]) for k, v in r["history"].items()}
            out["mlp"].append(r)
            print(f"MLP {spacing} {n_steps} steps: {r['n_epochs']} epochs, {r['n_params']} params, "
                  f"train {r['train_mse']:.4g} val {r['val_mse']:.4g} ({r['ratio']:.3g} x theory)",
                  flush=True)
    model = ExpMF(R, C.RANK, reg=C.L2)
    for init in (0, 1):
        cbs = [EarlyStopping(monitor="loss", patience=50, min_delta=0.01, restore_best_weights=True),
               RelativeReduceLR(rel=1e-3, patience=20, min_lr=1e-4)]
        fit = fit_keras_like(model, model.keras_uniform_init(seed=init), C.keras_adam(1e-3),
                             batch_size=batch, epochs=epochs, val=V, callbacks=cbs, seed=100 + init)
        sv = model.singular_values(fit.theta)
        row = {"init_seed": init, "n_epochs": fit.n_epochs, "lr_reductions": fit.lr_reductions,
               "stopped_epoch": fit.stopped_epoch, "val_mse": model.mse(fit.theta, V),
               "ratio": model.mse(fit.theta, V) / ref, "sv2": float(sv[1] / sv[0])}
        out["relative"].append(row)
        print(f"relative schedule, init {init}: {row}", flush=True)
    C.save("ch05_extras.json", out)


if __name__ == "__main__":
    start, cpu = time.perf_counter(), time.process_time()
    main()
    print(f"total {time.perf_counter() - start:.0f} s wall, {time.process_time() - cpu:.0f} s CPU")
