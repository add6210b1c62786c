"""Figures of chapter 5 (the exp-parametrized model, Keras against NumPy, NMF solvers)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["plot_keras_vs_numpy", "plot_stalled_travel", "plot_runs_by_seed"]


def _events(ax: Any, fit: Any) -> None:
    for e in fit.lr_reductions[:1]:
        ax.axvline(e + 1, color="0.4", ls=":", lw=1, label="learning-rate cut")
    if fit.stopped_epoch is not None:
        ax.axvline(fit.stopped_epoch + 1, color="C3", ls="--", lw=1, label="early stop")


def plot_keras_vs_numpy(axes: Sequence[Any], keras_fit: Any, numpy_fit: Any,
                        keys: Sequence[str] = ("loss", "val_loss")) -> None:
    """Left: the logged curves of both trainers; right: their relative difference per epoch.

    ``keras_fit`` and ``numpy_fit`` are :class:`mfbook.nmf.KerasFit` records of the same
    run (same start, same batches).  The learning-rate cut and the early stop of the Keras
    run are marked.
    """
    ax0, ax1 = axes
    ep = np.arange(1, keras_fit.n_epochs + 1)
    for key, c in zip(keys, ("C0", "C2")):
        ax0.plot(ep, keras_fit.history[key], color=c, lw=3, alpha=0.4, label=f"Keras {key}")
        ax0.plot(ep[: numpy_fit.n_epochs], numpy_fit.history[key], color=c, ls="--", lw=1.2,
                 label=f"NumPy {key}")
        n = min(keras_fit.n_epochs, numpy_fit.n_epochs)
        rel = np.abs(keras_fit.history[key][:n] / numpy_fit.history[key][:n] - 1)
        ax1.semilogy(ep[:n], np.maximum(rel, 1e-12), color=c, label=key)
    for ax in axes:
        _events(ax, keras_fit)
        ax.set_xlabel("epoch")
        ax.grid(True, which="both", alpha=0.3)
    ax0.set(ylabel="MSE + penalty", title="Logged losses, Keras and NumPy")
    ax1.set(ylabel="|Keras / NumPy - 1|", title="Relative difference per epoch")
    ax0.legend(fontsize=8)
    ax1.legend(fontsize=8)


def plot_stalled_travel(axes: Sequence[Any], hist: Mapping[str, np.ndarray], *, cut: int,
                        steps_per_epoch: int, reference: float) -> None:
    """The stalled run: validation MSE and :math:`\\sigma_2/\\sigma_1` (left), and the RMS
    distance travelled in log space against Adam's reach :math:`\\sum_t \\eta_t` (right)."""
    ax0, ax1 = axes
    ep = np.arange(len(hist["lr"]))
    budget = np.cumsum(np.asarray(hist["lr"]) * steps_per_epoch)
    ax0.semilogy(ep, hist["val_mse"], color="C0", label="validation MSE")
    ax0.semilogy(ep, hist["sv2"], color="C3", label=r"$\sigma_2/\sigma_1$ of the model")
    ax0.axvline(cut, color="0.4", ls=":", label="lr cut to $10^{-4}$")
    ax0.axhline(reference, color="0.2", ls="--", label="theoretical MSE")
    ax0.set(xlabel="epoch", ylabel="value (log scale)", title="The stalled run (data seed 0)")
    ax1.plot(ep, hist["dist0"], color="C0", label="RMS distance from the start")
    ax1.plot(ep, budget, color="0.3", ls="--", label=r"$\sum_t \eta_t$ (Adam's reach)")
    ax1.axvline(cut, color="0.4", ls=":")
    ax1.set(xlabel="epoch", ylabel="log-space distance per coordinate", title="Travel in log space")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)


def plot_runs_by_seed(ax: Any, rows: Sequence[Mapping[str, Any]], methods: Sequence[str], *,
                      key: str = "ratio") -> None:
    """One marker per (method, data seed): ``row[key]`` on a log axis, methods along x."""
    seeds = sorted({r["data_seed"] for r in rows})
    markers = "osD^v<>"
    for j, s in enumerate(seeds):
        y = [next((r[key] for r in rows if r["method"] == m and r["data_seed"] == s), np.nan)
             for m in methods]
        ax.semilogy(np.arange(len(methods)) + 0.08 * (j - len(seeds) / 2), y,
                    markers[j % len(markers)], color=f"C{j}", label=f"data seed {s}", ls="none")
    ax.axhline(1.0, color="0.2", ls="--", lw=1, label="theoretical MSE")
    ax.set_xticks(np.arange(len(methods)), methods, rotation=20, ha="right")
    ax.set(ylabel="validation MSE / theoretical MSE")
    ax.grid(True, which="both", axis="y", alpha=0.3)
    ax.legend(fontsize=8)
