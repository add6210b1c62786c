"""Line plots of training histories and validation curves, with reference lines.

:func:`plot_curves` draws several curves on one axes with horizontal reference lines (the
noise floor, the error of predicting the mean) and vertical markers (a chosen epoch), so
that the chapters' convergence and selection figures are one call each.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["plot_curves"]

Curve = tuple  # (label, x, y) or (label, x, y, style)


def _as_curves(curves: Mapping[str, tuple] | Sequence[Curve]) -> list[tuple]:
    items = ([(label, *spec) for label, spec in curves.items()]
             if isinstance(curves, Mapping) else [tuple(c) for c in curves])
    out = []
    for item in items:
        if len(item) not in (3, 4):
            raise ValueError(f"a curve is (label, x, y) or (label, x, y, style), got "
                             f"{len(item)} entries")
        label, x, y = item[:3]
        style = dict(item[3]) if len(item) == 4 else {}
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.shape != y.shape or x.size == 0:
            raise ValueError(f"curve {label!r}: x and y must be non-empty and of one length, "
                             f"got {x.size} and {y.size}")
        out.append((label, x, y, style))
    return out


def plot_curves(
    ax: Any,
    curves: Mapping[str, tuple] | Sequence[Curve],
    *,
    hlines: Sequence[tuple[float, str | None, Mapping[str, Any]]] = (),
    vlines: Sequence[tuple[float, str | None, Mapping[str, Any]]] = (),
    legend: bool = True,
    legend_fontsize: float | None = 8,
    **settings: Any,
) -> list[Any]:
    """Draw ``curves`` on ``ax`` with reference lines, then apply ``ax.set(**settings)``.

    Parameters
    ----------
    ax : matplotlib Axes
    curves : mapping or sequence
        ``{label: (x, y)}`` or ``{label: (x, y, style)}``, or a sequence of
        ``(label, x, y[, style])`` (labels may then repeat or be None, which keeps a curve
        out of the legend); ``style`` goes to ``ax.plot``.
    hlines, vlines : sequence of (value, label, style)
        Horizontal and vertical reference lines (``ax.axhline`` / ``ax.axvline``).
    legend : bool
        Add a legend (font size ``legend_fontsize``; None for matplotlib's default).
    **settings
        Passed to ``ax.set`` (``xlabel``, ``ylabel``, ``title``, ``yscale``, ``ylim``, ...).

    Returns
    -------
    list
        The line artists of the curves, in order.
    """
    lines = []
    for label, x, y, style in _as_curves(curves):
        (line,) = ax.plot(x, y, label=label, **style)
        lines.append(line)
    for value, label, style in hlines:
        ax.axhline(float(value), label=label, **dict(style))
    for value, label, style in vlines:
        ax.axvline(float(value), label=label, **dict(style))
    if settings:
        ax.set(**settings)
    if legend:
        ax.legend(**({} if legend_fontsize is None else {"fontsize": legend_fontsize}))
    return lines
