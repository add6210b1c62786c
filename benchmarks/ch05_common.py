"""Shared set-up of the chapter 5 benchmarks: the seed's data, model and training recipe."""

from __future__ import annotations

import json
import os
from pathlib import Path

# One BLAS thread: the small products of these runs are much slower on two busy threads,
# and one thread makes the results independent of the machine's core count.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from mfbook.data import sales_matrix  # noqa: E402
from mfbook.expmf import ExpMF  # noqa: E402
from mfbook.keraslike import EarlyStopping, ReduceLROnPlateau  # noqa: E402
from mfbook.optim import Adam  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DATA_SEEDS = (0, 1, 2)
RANK = 8          # model_rank of the seed
L2 = 1e-6         # keras.regularizers.l2(1e-6)
BATCH = 2**13     # batch_size=2**13
EPOCHS = 10000


def data(seed: int):
    """The seed's sales matrix; train = observed half, validation = the hidden half."""
    d = sales_matrix(seed=seed)
    return d, d.observed, d.hidden()


def theoretical_mse(d) -> float:
    """The seed's reference: the truth minus its first RANK rank-one terms, on hidden entries."""
    Ap, As = d.row_factors, d.col_factors
    err = d.truth - Ap[:, :RANK] @ As[:, :RANK].T
    return float(np.mean(err[~d.observed.mask()] ** 2))


def keras_adam(lr: float = 1e-3) -> Adam:
    return Adam(lr, eps=1e-7, eps_hat=True)


def keras_callbacks():
    """EarlyStopping and ReduceLROnPlateau exactly as in the seed."""
    return [EarlyStopping(monitor="loss", patience=50, min_delta=0.01, restore_best_weights=True),
            ReduceLROnPlateau(patience=20, min_delta=0.1, min_lr=1e-4)]


def sv_ratios(model: ExpMF):
    """Per-epoch extra record: sigma_2 / sigma_1 and sigma_8 / sigma_1 of the model."""
    def extra(theta):
        s = model.singular_values(theta)
        return {"sv2": s[1] / s[0], "sv8": s[-1] / s[0]}
    return extra


def rounded(values, digits: int = 6) -> list:
    """A list of floats with `digits` significant digits (small, stable JSON)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=float).ravel()]


def save(name: str, payload: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    return path
