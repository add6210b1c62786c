"""Small plotting helpers shared by the chapters: landscapes, critical points, paths.

* :func:`contour_landscape` -- filled contours of a loss on a 2D grid (linear or log levels)
  with a colour bar, in a grey-readable colour map;
* :func:`mark_critical_points` -- markers whose shape says the kind of a critical point
  (:data:`KIND_STYLES`), so that every figure of the book uses the same symbols;
* :func:`plot_path` -- an optimizer trajectory in 2D coordinates, start and end marked;
* :func:`surface_figure` -- an interactive plotly 3D surface (offline-safe: arrays rounded so
  that the stored JSON is reproducible), with critical points marked.

Matplotlib is imported by the caller's figure; plotly only inside :func:`surface_figure`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = [
    "KIND_STYLES",
    "contour_landscape",
    "mark_critical_points",
    "plot_path",
    "surface_figure",
]

KIND_STYLES: dict[str, dict[str, Any]] = {
    "minimum": dict(marker="*", s=260, color="white", edgecolors="black"),
    "strict saddle": dict(marker="X", s=150, color="red", edgecolors="black"),
    "maximum": dict(marker="^", s=150, color="orange", edgecolors="black"),
    "degenerate": dict(marker="D", s=110, color="magenta", edgecolors="black"),
}
"""Marker style of each kind returned by :func:`mfbook.landscape.classify_critical_point`."""

_PLOTLY_SYMBOLS = {"minimum": "diamond", "strict saddle": "x", "maximum": "circle",
                   "degenerate": "square"}
_PLOTLY_COLORS = {"minimum": "white", "strict saddle": "red", "maximum": "orange",
                  "degenerate": "magenta"}


def _check_grid(x: np.ndarray, y: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, ...]:
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    Z = np.asarray(Z, dtype=np.float64)
    if Z.shape != (y.size, x.size):
        raise ValueError(
            f"Z must have shape (len(y), len(x)) = {(y.size, x.size)} (meshgrid convention), "
            f"got {Z.shape}")
    if x.size < 2 or y.size < 2:
        raise ValueError(f"x and y need at least 2 points each, got {x.size} and {y.size}")
    return x, y, Z


def contour_landscape(
    ax: Any,
    x: np.ndarray,
    y: np.ndarray,
    Z: np.ndarray,
    *,
    levels: int | Sequence[float] = 30,
    log: bool = False,
    cmap: str = "viridis",
    colorbar: bool = True,
    label: str = "loss",
    lines: bool = True,
) -> Any:
    """Draw filled contours of ``Z[j, i] = f(x[i], y[j])`` on ``ax``.

    Parameters
    ----------
    ax : matplotlib Axes
    x, y : ndarray
        Grid coordinates; ``Z`` has shape ``(len(y), len(x))`` as returned by
        :func:`mfbook.landscape.evaluate_plane`.
    levels : int or sequence of float
        Number of levels or the levels themselves.
    log : bool
        Space an integer number of levels geometrically between ``Z.min()`` and ``Z.max()``
        (for losses spanning decades); needs ``Z > 0``.
    cmap : str
        A colour map readable in grey (viridis, cividis, greys...).
    colorbar : bool
        Add a colour bar labelled ``label``.
    lines : bool
        Draw thin contour lines over the filled contours.

    Returns
    -------
    The filled ``QuadContourSet``.
    """
    from matplotlib.colors import LogNorm

    x, y, Z = _check_grid(x, y, Z)
    if not np.all(np.isfinite(Z)):
        raise ValueError("Z must be finite (clip or mask it first)")
    norm = None
    if log:
        if Z.min() <= 0:
            raise ValueError(f"log levels need Z > 0, got min(Z) = {Z.min():.3g}")
        if isinstance(levels, (int, np.integer)):
            levels = np.geomspace(Z.min(), Z.max(), int(levels))
        norm = LogNorm(vmin=float(np.min(levels)), vmax=float(np.max(levels)))
    elif isinstance(levels, (int, np.integer)) and levels < 2:
        raise ValueError(f"levels must be >= 2, got {levels}")
    filled = ax.contourf(x, y, Z, levels=levels, cmap=cmap, norm=norm)
    if lines:
        ax.contour(x, y, Z, levels=filled.levels, colors="black", linewidths=0.3, alpha=0.5)
    if colorbar:
        cb = ax.figure.colorbar(filled, ax=ax, shrink=0.85)
        cb.set_label(label)
        if log:
            lo, hi = float(np.min(filled.levels)), float(np.max(filled.levels))
            ticks = 10.0 ** np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
            if ticks.size < 3:
                ticks = np.geomspace(lo, hi, 5)
            cb.set_ticks(ticks, labels=[f"{t:.3g}" for t in ticks])
            cb.minorticks_off()
    return filled


def mark_critical_points(
    ax: Any,
    xy: np.ndarray,
    kinds: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    annotate: bool = False,
) -> list[Any]:
    """Mark critical points at coordinates ``xy`` with the marker of their kind.

    Parameters
    ----------
    xy : ndarray, shape (P, 2)
    kinds : sequence of str
        One of the keys of :data:`KIND_STYLES` per point.
    labels : sequence of str, optional
        Legend labels (one per point); points without a label do not enter the legend.
    annotate : bool
        Also write each label as text next to its point.

    Returns
    -------
    list
        The artists, one per point.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2) if np.size(xy) else np.zeros((0, 2))
    kinds = list(kinds)
    if len(kinds) != len(xy):
        raise ValueError(f"kinds must have one entry per point: {len(xy)} points, {len(kinds)} kinds")
    if labels is not None and len(labels) != len(xy):
        raise ValueError(f"labels must have one entry per point: {len(xy)} points, {len(labels)} labels")
    artists = []
    for i, ((px, py), kind) in enumerate(zip(xy, kinds)):
        if kind not in KIND_STYLES:
            raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(KIND_STYLES)}")
        label = labels[i] if labels is not None else None
        artists.append(ax.scatter([px], [py], zorder=5, label=label, linewidths=1.0,
                                  **KIND_STYLES[kind]))
        if annotate and label:
            ax.annotate(label, (px, py), xytext=(8, 8), textcoords="offset points", fontsize=9,
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", alpha=0.8))
    return artists


def plot_path(
    ax: Any,
    path: np.ndarray,
    *,
    color: str = "black",
    label: str | None = None,
    linewidth: float = 1.5,
) -> Any:
    """Draw a trajectory ``path`` of shape ``(T, 2)``: a line, a dot at the start and a
    square at the end.  Returns the line."""
    path = np.asarray(path, dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2 or len(path) == 0:
        raise ValueError(f"path must have shape (T, 2) with T >= 1, got {path.shape}")
    (line,) = ax.plot(path[:, 0], path[:, 1], color=color, lw=linewidth, label=label, zorder=4)
    ax.plot(path[0, 0], path[0, 1], "o", color=color, ms=5, zorder=4)
    ax.plot(path[-1, 0], path[-1, 1], "s", color=color, ms=5, mec="white", zorder=4)
    return line


def surface_figure(
    x: np.ndarray,
    y: np.ndarray,
    Z: np.ndarray,
    *,
    points: np.ndarray | None = None,
    kinds: Sequence[str] | None = None,
    labels: Sequence[str] | None = None,
    zmax: float | None = None,
    title: str = "",
    axis_titles: tuple[str, str, str] = ("x", "y", "loss"),
    colorscale: str = "Viridis",
    height: int = 520,
    decimals: int = 6,
) -> Any:
    """An interactive plotly 3D surface of ``Z[j, i] = f(x[i], y[j])``.

    Every array is rounded to ``decimals`` before it enters the figure, so the JSON that a
    notebook stores (and nbval compares exactly) does not depend on the last bits of the
    arithmetic.  Keep grids small (61 x 61 is plenty).

    Parameters
    ----------
    points : ndarray, shape (P, 3), optional
        Points ``(x, y, z)`` to mark, e.g. critical points at their loss.
    kinds, labels : sequence of str, optional
        Kind (marker) and legend name of each point.
    zmax : float, optional
        Show the surface only up to this height: the z axis ends there and plotly clips the
        rest (steep walls otherwise flatten the interesting part).  The data are kept.
    """
    import plotly.graph_objects as go

    x, y, Z = _check_grid(x, y, Z)
    fig = go.Figure()
    color_range = {} if zmax is None else dict(cmin=round(float(Z.min()), decimals),
                                                cmax=float(zmax))
    fig.add_surface(x=x.round(decimals), y=y.round(decimals), z=Z.round(decimals),
                    colorscale=colorscale, colorbar=dict(title=axis_titles[2]), opacity=0.9,
                    **color_range)
    if points is not None:
        points = np.asarray(points, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 3:
            raise ValueError(f"points must have shape (P, 3), got {points.shape}")
        kinds = list(kinds) if kinds is not None else ["minimum"] * len(points)
        labels = list(labels) if labels is not None else [k for k in kinds]
        if len(kinds) != len(points) or len(labels) != len(points):
            raise ValueError("kinds and labels must have one entry per point")
        for (px, py, pz), kind, name in zip(points.round(decimals), kinds, labels):
            if kind not in _PLOTLY_SYMBOLS:
                raise ValueError(f"unknown kind {kind!r}; expected one of {sorted(_PLOTLY_SYMBOLS)}")
            fig.add_scatter3d(x=[px], y=[py], z=[pz], mode="markers", name=name,
                              marker=dict(size=8, symbol=_PLOTLY_SYMBOLS[kind],
                                          color=_PLOTLY_COLORS[kind],
                                          line=dict(color="black", width=2)))
    zaxis = dict(title=axis_titles[2])
    if zmax is not None:
        if not zmax > Z.min():
            raise ValueError(f"zmax must exceed min(Z) = {Z.min():.6g}, got {zmax!r}")
        zaxis["range"] = [round(min(0.0, float(Z.min())), decimals), float(zmax)]
    fig.update_layout(title=title, height=height,
                      scene=dict(xaxis_title=axis_titles[0], yaxis_title=axis_titles[1],
                                 zaxis=zaxis),
                      scene_camera=dict(eye=dict(x=1.5, y=-1.5, z=1.0)),
                      legend=dict(x=0.0, y=1.0), margin=dict(l=0, r=0, t=40, b=0))
    return fig
