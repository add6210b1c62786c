"""Shared set-up of the chapter 5 benchmarks: the seed's data, model and training recipe."""

from __future__ import annotations

import os

# One BLAS thread: the small products of these runs are much slower on two busy threads,
# and one thread makes the results independent of the machine's core count.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from mfbook.book import load_results, quick_mode_args, rounded, save_results  # noqa: E402, F401
from mfbook.datasets import sales_matrix, truncation_mse  # noqa: E402
from mfbook.nmf import EarlyStopping, ExpMF, ReduceLROnPlateau
from mfbook.core import Adam

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
    """The seed's reference MSE for a rank-RANK model (:func:`mfbook.datasets.truncation_mse`)."""
    return truncation_mse(d, RANK)


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


def save(name: str, payload: dict):
    """Compact JSON (the chapter 5 files hold long histories)."""
    return save_results(name, payload, compact=True)


def parse(description: str):
    """Parse ``--quick`` (:func:`mfbook.book.quick_mode_args`: tiny sizes, for CI; a quick
    run never writes into ``benchmarks/results``)."""
    return quick_mode_args(description)


def make_quick() -> None:
    """Quick mode of the older chapter-5 scripts (``--quick``, for CI): one data seed of a
    100 x 20 sales matrix, 60 epochs in batches of 256.  The scripts read these module
    attributes when they run, so changing them here is enough."""
    global DATA_SEEDS, EPOCHS, BATCH, data
    DATA_SEEDS, EPOCHS, BATCH = (0,), 60, 256

    def data(seed: int):  # noqa: F811 (the tiny problem replaces the seed's)
        d = sales_matrix(n_products=100, n_stores=20, seed=seed)
        return d, d.observed, d.hidden()
