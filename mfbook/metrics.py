"""Error metrics on observed entries."""

from __future__ import annotations

import numpy as np

__all__ = ["rmse", "mse"]


def _paired(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {pred.shape} and {target.shape}")
    if pred.size == 0:
        raise ValueError("pred and target are empty")
    return pred, target


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error :math:`\\frac1N \\sum (\\hat r - r)^2`."""
    pred, target = _paired(pred, target)
    return float(np.mean((pred - target) ** 2))


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    """Root mean squared error :math:`\\sqrt{\\frac1N \\sum (\\hat r - r)^2}`."""
    return float(np.sqrt(mse(pred, target)))
