"""Shared set-up of the chapter 2 benchmarks: the StreamRec data, objective and optimizers.

The objective is the one the StreamRec case study codes, ``0.5 * mean squared error +
0.5 * reg * (|U|^2 + |V|^2)`` (``MFObjective(..., mean=True, half=True, reg=reg)``), on the
case study's data (``streamrec()``, seed 42), rank 10, started from ``N(0, 0.01^2)``
factors drawn by ``default_rng(init_seed)`` exactly as the case study draws them.
"""

from __future__ import annotations

import os

# One BLAS thread: results then do not depend on the machine's core count, and the small
# products of these runs are not faster on two busy threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from mfbook.book import load_results as load  # noqa: E402, F401
from mfbook.book import rounded as _rounded  # noqa: E402
from mfbook.book import save_results  # noqa: E402
from mfbook.datasets import streamrec  # noqa: E402
from mfbook.core import Adam, GradientDescent, HeavyBall, MFObjective, Nesterov, rmse  # noqa: E402

RANK = 10            # rank of the case study's model
INIT_STD = 0.01      # theta_init = rng.normal(0, 0.01, d)
STEPS = 3000         # n_steps=3000
SEED_REG = 0.01      # reg=0.01 in mf_loss_and_grad
BETA = 0.9           # momentum of the case study
SEED_LRS = {"GD": 0.05, "Momentum": 0.01, "Adam": 0.005}
INIT_SEEDS = tuple(range(10))
# Targets: the excess loss L - L_ref reduced to these fractions of its initial value.
TARGETS = (1e-2, 1e-3, 1e-4)
OPTIMIZERS = {
    "GD": lambda lr: GradientDescent(lr),
    "Momentum": lambda lr: HeavyBall(lr, BETA),
    "Nesterov": lambda lr: Nesterov(lr, BETA),
    "Adam": lambda lr: Adam(lr),
}


def data():
    """The case study's data set (500 x 200, true rank 5, 10% observed, noise 0.3)."""
    return streamrec()


def objective(reg: float, rank: int = RANK, ratings=None) -> MFObjective:
    """The case study's coded objective with penalty weight ``reg``."""
    return MFObjective(data().observed if ratings is None else ratings, rank,
                       mean=True, half=True, reg=reg)


def init(f: MFObjective, seed: int) -> np.ndarray:
    """``default_rng(seed).normal(0, 0.01, (m + n) k)``, the case study's initialization."""
    return f.random_params(INIT_STD, seed=seed)


def hidden_rmse(f: MFObjective, theta: np.ndarray, hidden) -> float:
    """RMSE of the predictions against the noise-free truth on the unobserved entries."""
    return rmse(f.predict(theta, hidden.rows, hidden.cols), hidden)


def rounded(values, digits: int = 8) -> list:
    """Floats with 8 significant digits for the JSON files of chapter 2."""
    return _rounded(values, digits)


def save(name: str, obj: dict) -> None:
    print(f"wrote {save_results(name, obj)}")


def make_quick(tiny: bool = True) -> None:
    """Quick mode (``--quick``, for CI): 40 steps, one init seed, and a 40 x 25 problem
    (``tiny``) or the case study's own data (for scripts that run the stored learning
    rates, which are tuned to that problem and diverge on a smaller one).

    Results go where :func:`ch02_quick.parse` pointed ``MFBOOK_RESULTS_DIR``; inputs from
    other benchmarks (the chosen penalty, the chosen rates) are read from the stored
    results, as in :func:`ch02_quick.stored`.
    """
    global STEPS, INIT_SEEDS, data, load

    from mfbook.book import RESULTS_DIR, load_results

    STEPS = 40
    INIT_SEEDS = (0,)
    load = lambda name: load_results(name, directory=RESULTS_DIR)  # noqa: E731
    if not tiny:
        return
    data = lambda: streamrec(n_users=40, n_items=25, true_rank=3, obs_rate=0.3,  # noqa: E731
                             seed=1)
