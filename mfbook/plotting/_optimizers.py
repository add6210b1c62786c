"""Figures of optimizer runs: named series, convergence factors and learning-rate sweeps.

* :data:`METHOD_COLORS` -- one colour per method, the same in every figure of the book;
* :func:`plot_series` -- several named curves ``name -> (x, y)`` on one axes, each in its
  method's colour, optionally on a log scale;
* :func:`finish_axes` -- labels, title, legend and grid in one call;
* :func:`plot_convergence_factors` -- the per-eigendirection convergence factor
  :math:`\\rho(\\eta h)` of several methods (:func:`mfbook.landscape.convergence_factor`),
  with the level 1 and the stability limits marked;
* :func:`plot_lr_sweep` -- final excess loss against the learning rate, one curve per
  method, diverged runs marked with crosses and chosen rates with stars.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["METHOD_COLORS", "plot_series", "finish_axes", "plot_convergence_factors",
           "plot_lr_sweep"]

METHOD_COLORS: dict[str, str] = {
    "GD": "C0", "Momentum": "C1", "Nesterov": "C2", "Adam": "C3", "ALS": "C4", "SGD": "C5",
    "L-BFGS": "C6", "random walk": "C7",
}
"""The colour of each method's curves (matplotlib's default cycle)."""


def _color(name: str, colors: Mapping[str, str] | None) -> str | None:
    table = METHOD_COLORS if colors is None else colors
    if not name:
        return None
    return table.get(name, table.get(name.split()[0].rstrip(",;:")))


def plot_series(ax: Any, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *,
                log: bool = False, colors: Mapping[str, str] | None = None,
                styles: Mapping[str, Mapping[str, Any]] | None = None,
                **common: Any) -> list:
    """Draw ``name -> (x, y)`` curves on ``ax``; return the lines in the order given.

    Parameters
    ----------
    ax : matplotlib Axes
    series : mapping
        Label of each curve and its data; ``x`` and ``y`` of equal length.
    log : bool
        Logarithmic y axis (``semilogy``); non-positive values are not drawn.
    colors : mapping, optional
        Colour per label (default :data:`METHOD_COLORS`, looked up by the label or its
        first word without trailing punctuation: ``"Adam, cosine"`` is drawn in Adam's colour).
    styles : mapping, optional
        Extra keyword arguments per label (``ls``, ``marker``, ...).
    **common :
        Keyword arguments for every curve (``lw``, ``ms``, ...).
    """
    lines = []
    for name, (x, y) in series.items():
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"series {name!r}: x and y must be 1-d of equal length, "
                             f"got shapes {x.shape} and {y.shape}")
        kw = dict(common, label=name)
        color = _color(name, colors)
        if color is not None:
            kw.setdefault("color", color)
        kw.update((styles or {}).get(name, {}))
        if log:
            y = np.where(y > 0, y, np.nan)
        lines += (ax.semilogy if log else ax.plot)(x, y, **kw)
    return lines


def finish_axes(ax: Any, *, xlabel: str | None = None, ylabel: str | None = None,
                title: str | None = None, legend: bool = True, grid: bool = True,
                legend_kw: Mapping[str, Any] | None = None) -> Any:
    """Set the labels and title, add a legend (small font) and a light grid; return ``ax``."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(**dict({"fontsize": 8}, **(legend_kw or {})))
    if grid:
        ax.grid(alpha=0.3, which="both")
    return ax


def plot_convergence_factors(ax: Any, eta_h: Sequence[float],
                             factors: Mapping[str, Sequence[float]], *,
                             limits: Mapping[str, float] | None = None,
                             colors: Mapping[str, str] | None = None) -> list:
    """:math:`\\rho` against :math:`\\eta h` for several methods, the line :math:`\\rho = 1` and limits.

    Parameters
    ----------
    ax : matplotlib Axes
    eta_h : sequence of float
        The abscissa :math:`\\eta h` (negative values: negative curvature).
    factors : mapping
        Label -> :math:`\\rho` at each ``eta_h``.
    limits : mapping, optional
        Label -> stability limit (:func:`mfbook.landscape.stability_limit`), drawn as a
        dashed vertical line in the label's colour.
    """
    x = np.asarray(eta_h, dtype=float)
    lines = plot_series(ax, {name: (x, rho) for name, rho in factors.items()},
                        colors=colors, lw=2)
    ax.axhline(1.0, color="gray", lw=1, ls=":")
    for name, lim in (limits or {}).items():
        ax.axvline(lim, color=_color(name, colors) or "gray", ls="--", lw=1)
    ax.set_xlim(x.min(), x.max())
    return lines


def plot_lr_sweep(ax: Any, runs: Mapping[str, Sequence[Mapping[str, Any]]], *, base: float,
                  chosen: Mapping[str, float] | None = None,
                  limits: Mapping[str, float] | None = None, fail_level: float = 10.0,
                  colors: Mapping[str, str] | None = None) -> list:
    """Final loss minus ``base`` against the learning rate, per method, on log-log axes.

    Parameters
    ----------
    ax : matplotlib Axes
    runs : mapping
        Method -> records with keys ``lr``, ``failed`` (diverged, or ended above the start)
        and ``final_loss``, as stored by ``benchmarks/ch02_lr_sweep.py``.
    base : float
        Subtracted from the final losses (the reference loss of the sweep).
    chosen : mapping, optional
        Method -> chosen rate, marked with a star.
    limits : mapping, optional
        Method -> stability limit, a dashed vertical line.
    fail_level : float
        Height at which failed runs are marked with an ``x``.
    """
    lines = []
    for name, records in runs.items():
        lr = np.array([r["lr"] for r in records], dtype=float)
        ok = np.array([not r["failed"] for r in records])
        gap = np.array([r["final_loss"] - base if good else np.nan
                        for r, good in zip(records, ok)], dtype=float)
        color = _color(name, colors)
        lines += ax.loglog(lr[ok], gap[ok], "o-", color=color, label=name, ms=4)
        ax.plot(lr[~ok], np.full(int((~ok).sum()), fail_level), "x", color=color, ms=9, mew=2)
        if chosen is not None and name in chosen:
            pick = lr == chosen[name]
            ax.plot(lr[pick], gap[pick], "*", color=color, ms=16, mec="black")
        if limits is not None and name in limits:
            ax.axvline(limits[name], color=color, ls="--", lw=1)
    return lines
