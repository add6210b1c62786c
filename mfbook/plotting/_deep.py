"""Figures of chapter 4: regularized deep matrix factorization.

Each function draws on axes it is given and returns what the chapter prints or checks, so
that a notebook cell only creates the figure, calls one function and shows it.

* :func:`plot_reduced_functions` -- the reduced function
  :math:`\\varphi(s) - y^2 = (s^L - y)^2 + L\\lambda s^2 - y^2` for values of :math:`y` below,
  between and above the thresholds, one panel per depth, roots marked;
* :func:`plot_critical_values` -- the end-to-end singular value :math:`p` of every critical
  point against :math:`y`, and what the global minimum keeps, per depth;
* :func:`plot_pair_plane` -- the exact slice :math:`a\\,d_1 + b\\,d_2` of two singular pairs,
  with the critical points that lie in it, marked by their type in the full space;
* :func:`plot_turning_slice` -- the loss as one singular pair turns towards another;
* :func:`plot_gd_outcomes` -- where gradient descent ended, per depth and :math:`\\lambda`, from
  the stored results of ``benchmarks/ch04_gd_landscape.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import numpy as np

from ._landscape import contour_landscape, mark_critical_points

__all__ = ["plot_reduced_functions", "plot_critical_values", "pair_plane_coordinates",
           "plot_pair_plane", "plot_turning_slice", "plot_gd_outcomes"]

_COLORS = ("tab:gray", "tab:orange", "tab:blue")


def _check_lam(lam: float) -> float:
    if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating, np.integer)):
        raise TypeError(f"lam must be a number, got {type(lam).__name__}")
    if not (np.isfinite(lam) and lam > 0):
        raise ValueError(f"lam must be a finite number > 0, got {lam!r}")
    return float(lam)


def _check_depths(depths: Sequence[int], n_axes: int | None = None) -> list[int]:
    out = [int(L) for L in depths]
    if not out or any(L < 2 or L != d for L, d in zip(out, depths)):
        raise ValueError(f"depths must be integers >= 2, got {list(depths)!r}")
    if n_axes is not None and n_axes != len(out):
        raise ValueError(f"axes has {n_axes} panels for {len(out)} depths")
    return out


def plot_reduced_functions(axes: Sequence[Any], lam: float,
                           depths: Sequence[int] = (2, 3, 4)) -> list[list[float]]:
    """Draw :math:`\\varphi(s) - y^2` for three values of :math:`y` per depth.

    For :math:`L = 2` the values are :math:`0.6\\lambda` and :math:`3\\lambda` (below and above
    the soft threshold); for :math:`L \\ge 3` they are :math:`0.85\\,y^\\ast`, the midpoint of
    :math:`y^\\ast` and :math:`y_g`, and :math:`1.6\\,y_g` (no root, a root worse than 0, a root
    better than 0).  Upper roots are stars, lower roots crosses, :math:`s = 0` a dot.

    Parameters
    ----------
    axes : sequence of matplotlib Axes
        One per depth.
    lam : float
        The penalty weight :math:`\\lambda > 0`.
    depths : sequence of int
        Depths :math:`L \\ge 2`, one panel each.

    Returns
    -------
    list of list of float
        The values of :math:`y` drawn in each panel.
    """
    from mfbook.deep import reduced_loss, reduced_roots, thresholds

    lam = _check_lam(lam)
    depths = _check_depths(depths, len(axes))
    drawn = []
    for ax, L in zip(axes, depths):
        th = thresholds(lam, L)
        if L == 2:
            cases = [(0.6 * lam, "y < lambda"), (3.0 * lam, "y > lambda")]
        else:
            cases = [(0.85 * th.y_exist, "y < y*"),
                     (0.5 * (th.y_exist + th.y_global), "y* < y < y_g"),
                     (1.6 * th.y_global, "y > y_g")]
        lowest = 0.0
        for (y, name), color in zip(cases, _COLORS):
            s = np.linspace(0, 1.25 * y ** (1 / L), 400)
            gap = reduced_loss(s, y, lam, L) - y ** 2
            ax.plot(s, gap, color=color, label=f"{name} (y = {y:.2f})")
            lowest = min(lowest, float(gap.min()))
            for r in reduced_roots(y, lam, L):
                up = r.branch == "upper"
                ax.scatter([r.s], [reduced_loss(r.s, y, lam, L) - y ** 2], color=color,
                           edgecolors="black", zorder=5, marker="*" if up else "X",
                           s=180 if up else 90)
            ax.scatter([0], [0], color=color, edgecolors="black", s=50, zorder=5)
        ax.axhline(0, color="black", lw=0.5)
        ax.set(xlabel="layer singular value $s$", ylabel=r"$\varphi(s) - y^2$",
               title=f"L = {L}")
        ax.set_ylim(1.15 * lowest, 0.45 * abs(lowest))
        ax.legend(fontsize=7, loc="lower left")
        drawn.append([y for y, _ in cases])
    return drawn


def _branch(y: float, lam: float, L: int, name: str) -> float:
    from mfbook.deep import reduced_roots

    roots = [r.p for r in reduced_roots(y, lam, L) if r.branch == name]
    return roots[0] if roots else np.nan


def plot_critical_values(ax_all: Any, ax_best: Any, lam: float, ys: np.ndarray,
                         depth: int = 3,
                         depths: Sequence[int] = (2, 3, 4, 5)) -> dict[int, float]:
    """Draw the critical values of :math:`p` against :math:`y` (left) and the value the
    global minimum keeps, with its jump from 0 to :math:`p_g` at :math:`y_g` (right).

    Parameters
    ----------
    ax_all, ax_best : matplotlib Axes
        The two panels.
    lam : float
        The penalty weight :math:`\\lambda > 0`.
    ys : array
        Increasing singular values :math:`y > 0` of the horizontal axis.
    depth : int
        The depth of the left panel.
    depths : sequence of int
        The depths of the right panel (at most four).

    Returns
    -------
    dict
        :math:`p_g`, the smallest non-zero value kept by the global minimum, per depth
        :math:`L \\ge 3` of the right panel.
    """
    from mfbook.deep import reduced_roots, thresholds

    lam = _check_lam(lam)
    ys = np.asarray(ys, dtype=float)
    if ys.ndim != 1 or ys.size < 2 or np.any(ys <= 0) or np.any(np.diff(ys) <= 0):
        raise ValueError("ys must be an increasing 1-d array of positive values")
    depth = _check_depths([depth])[0]
    depths = _check_depths(depths)
    if len(depths) > 4:
        raise ValueError(f"depths has {len(depths)} entries; at most 4 colours")
    th = thresholds(lam, depth)
    ax_all.plot(ys, [_branch(y, lam, depth, "upper") for y in ys], color="tab:blue",
                label="upper root $p_+$ (min. of phi)")
    ax_all.plot(ys, [_branch(y, lam, depth, "lower") for y in ys], "--", color="tab:red",
                label="lower root $p_-$ (max. of phi)")
    ax_all.plot(ys, 0 * ys, color="tab:green", label="$p = 0$ (min. of phi)")
    ax_all.axvline(th.y_exist, color="gray", ls=":", label=f"y* = {th.y_exist:.3f}")
    ax_all.axvline(th.y_global, color="black", ls="-.", label=f"y_g = {th.y_global:.3f}")
    ax_all.set(xlabel="singular value $y$ of $Y$", ylabel="end-to-end singular value $p$",
               title=f"All critical values, L = {depth}")
    ax_all.legend(fontsize=8)
    jumps = {}
    for L, color in zip(depths, ("black", "tab:blue", "tab:orange", "tab:purple")):
        t = thresholds(lam, L)
        best = np.array([_branch(y, lam, L, "upper") if y > t.y_global else 0.0
                         for y in ys])
        best[np.flatnonzero(np.diff(best) > 0.05)] = np.nan   # no line across the jump
        ax_best.plot(ys, best, color=color,
                     label=f"L = {L}" + (" (soft-thresholding)" if L == 2 else ""))
        if L > 2:   # the jump at y_g: from 0 (open circle) to p_g (dot)
            p_g = reduced_roots(t.y_global, lam, L)[-1].p
            jumps[L] = float(p_g)
            ax_best.plot([t.y_global], [0.0], "o", mfc="white", mec=color)
            ax_best.plot([t.y_global], [p_g], "o", color=color)
            ax_best.plot([t.y_global] * 2, [0.0, p_g], ":", color=color, lw=0.8)
    ax_best.plot(ys, ys, color="gray", lw=0.6, ls=":", label="p = y (no penalty)")
    ax_best.set(xlabel="singular value $y$ of $Y$", ylabel="$p$ of the global minimizer",
                title="What the global minimum keeps (dots: jumps at $y_g$)")
    ax_best.legend(fontsize=8)
    return jumps


def pair_plane_coordinates(point: Any, depth: int) -> np.ndarray:
    """The coordinates :math:`(a, b)` in the plane of pairs 1 and 2 of a critical point
    that is active on those pairs only, with its sign copies (for even depth the signs of
    the two pairs can be flipped independently; for odd depth they cannot).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> pair_plane_coordinates(SimpleNamespace(s=[1.5], active=(1,)), 2).tolist()
    [[0.0, -1.5], [0.0, 1.5]]
    """
    depth = _check_depths([depth])[0]
    if any(j not in (0, 1) for j in point.active):
        raise ValueError(f"point is active on pairs {point.active}; only pairs 0 and 1 "
                         "lie in the plane")
    signs = [(1, 1), (-1, 1), (1, -1), (-1, -1)] if depth % 2 == 0 else [(1, 1)]
    return np.array(sorted({tuple(
        float(point.s[point.active.index(j)] * sg[j]) if j in point.active else 0.0
        for j in (0, 1)) for sg in signs}))


def plot_pair_plane(ax: Any, objective: Any, grid: np.ndarray) -> np.ndarray:
    """Draw the loss on the plane :math:`a\\,d_1 + b\\,d_2` through the origin, with
    :math:`d_1, d_2` the directions of singular pairs 1 and 2 (``pair_direction``), and
    mark every critical point of ``objective`` that lies in it (active on pairs 1 and 2
    only) by its type in the full space (spurious local minima as grey stars; minima
    labelled).

    Parameters
    ----------
    ax : matplotlib Axes
    objective : mfbook.deep.DeepMF
        A model whose target has at least two singular values.
    grid : array
        The values of :math:`a` and of :math:`b`.

    Returns
    -------
    array, shape (len(grid), len(grid))
        The loss on the grid, ``Z[j, i]`` at ``(grid[i], grid[j])``.
    """
    from mfbook.deep import HESSIAN_KIND, enumerate_critical_points, pair_direction
    from mfbook.landscape import evaluate_plane

    grid = np.asarray(grid, dtype=float)
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError("grid must be a 1-d array of at least 2 values")
    if len(objective.singular_values) < 2:
        raise ValueError("objective must have a target with at least 2 singular values, got "
                         f"{len(objective.singular_values)}")
    L = objective.depth
    d1, d2 = pair_direction(objective, 0, 0), pair_direction(objective, 1, 1)
    Z = evaluate_plane(objective.loss, np.zeros(objective.dim), d1, d2, grid, grid)
    contour_landscape(ax, grid, grid, Z, levels=30, log=True, label="$F$")
    for c in enumerate_critical_points(objective):
        if any(j not in (0, 1) for j in c.active):   # not in this plane
            continue
        xy = pair_plane_coordinates(c, L)
        if c.kind == "spurious local minimum":   # grey star
            ax.scatter(*xy.T, marker="*", s=260, color="lightgray", edgecolors="black",
                       zorder=5, label=c.kind)
        else:
            mark_critical_points(ax, xy, [HESSIAN_KIND[c.kind]] * len(xy),
                                 labels=[c.kind] + [None] * (len(xy) - 1))
        for a, b in xy if c.kind.endswith("minimum") else []:
            ax.annotate(c.label, (a, b), fontsize=8, textcoords="offset points",
                        xytext=(-6 if a > 0 else 6, -15 if a == b == 0 else 9),
                        ha="right" if a > 0 else "left",
                        bbox=dict(fc="white", alpha=0.8, lw=0, pad=1))
    ax.set(xlabel="$a$ (pair 1, hidden unit 1)", ylabel="$b$ (pair 2, hidden unit 2)",
           title=f"L = {L}", aspect="equal")
    return Z


def plot_turning_slice(ax: Any, objective: Any, points: Sequence[Any], s_grid: np.ndarray,
                       t_grid: np.ndarray, moving: str = "{2+}",
                       clip: float = 16.0) -> np.ndarray:
    """Draw the loss as the pair of the critical point labelled ``moving``, with layer
    value :math:`s`, turns by the angle :math:`t` towards pair 1 (``rotate_pair``), and
    mark the rank-1 critical points (:math:`t = 0`: pair 2, :math:`t = \\pi/2`: pair 1).

    Returns
    -------
    array, shape (len(t_grid), len(s_grid))
        The loss, ``Z[j, i]`` at ``(s_grid[i], t_grid[j])`` (not clipped).
    """
    from mfbook.deep import HESSIAN_KIND, rotate_pair

    s_grid, t_grid = np.asarray(s_grid, dtype=float), np.asarray(t_grid, dtype=float)
    if s_grid.ndim != 1 or t_grid.ndim != 1 or s_grid.size < 2 or t_grid.size < 2:
        raise ValueError("s_grid and t_grid must be 1-d arrays of at least 2 values")
    start = next((c for c in points if c.label == moving), None)
    if start is None:
        raise ValueError(f"no critical point labelled {moving!r} in points")
    Z = np.array([[objective.loss(rotate_pair(objective, replace(start, s=np.array([s])),
                                              0, 0, t)) for s in s_grid] for t in t_grid])
    lo = np.floor(Z.min() * 2) / 2
    contour_landscape(ax, s_grid, t_grid, np.minimum(Z, clip),
                      levels=np.arange(lo, clip + 0.01, 0.5),
                      label=f"loss $F$ (clipped at {clip:g})")
    for c in (c for c in points if c.rank == 1):
        xy = np.array([[c.s[0], 0.0 if c.active == (1,) else np.pi / 2]])
        if c.kind == "spurious local minimum":
            ax.scatter(*xy.T, marker="*", s=260, color="lightgray", edgecolors="black",
                       zorder=5, label=f"{c.label}: {c.kind}")
        else:
            mark_critical_points(ax, xy, [HESSIAN_KIND[c.kind]],
                                 labels=[f"{c.label}: {c.kind}"])
    ax.axvline(0.0, color="white", ls="--", lw=2.5,
               label="s = 0: the origin (spurious local minimum)")
    ax.set_xlim(-0.03, s_grid[-1])
    ax.set(xlabel="layer value $s$ of the moving pair",
           ylabel="turning angle $t$ (rad): 0 = pair 2, pi/2 = pair 1",
           title=f"L = {objective.depth}: pair 2 turned towards pair 1")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    return Z


def plot_gd_outcomes(axes: Sequence[Any], bench: Mapping[str, Any]) -> Any:
    """One heat map per initialization scale: the fraction of gradient-descent runs that
    reached the global minimum, per depth (rows) and :math:`\\lambda` (columns), with the
    number of local minima written in each cell and a red frame where most runs ended at
    the origin.

    Parameters
    ----------
    axes : sequence of matplotlib Axes
        One per entry of ``bench["init_stds"]``.
    bench : mapping
        The stored results of ``benchmarks/ch04_gd_landscape.py``: ``runs``, ``depths``,
        ``lambdas``, ``init_stds`` and ``phase`` (one record per cell with ``depth``,
        ``lam``, ``init_std``, ``counts`` and ``n_local_minima``).

    Returns
    -------
    matplotlib image
        The last heat map, for a colour bar.
    """
    for key in ("runs", "depths", "lambdas", "init_stds", "phase"):
        if key not in bench:
            raise ValueError(f"bench has no {key!r} entry")
    if len(axes) != len(bench["init_stds"]):
        raise ValueError(f"axes has {len(axes)} panels for {len(bench['init_stds'])} "
                         "initialization scales")
    depths, lams, runs = bench["depths"], bench["lambdas"], bench["runs"]
    im = None
    for ax, std in zip(axes, bench["init_stds"]):
        frac = np.full((len(depths), len(lams)), np.nan)
        for c in (c for c in bench["phase"] if c["init_std"] == std):
            i, j = depths.index(c["depth"]), lams.index(c["lam"])
            frac[i, j] = sum(n for k, n in c["counts"].items()
                             if k.endswith("|global minimum")) / runs
            ax.text(j, i, f"{frac[i, j]:.2f}\n{c['n_local_minima']} min", ha="center",
                    va="center", fontsize=8, color="white" if frac[i, j] < 0.5 else "black")
            if c["counts"].get("{}|spurious local minimum", 0) > runs / 2:
                ax.add_patch(_rectangle(j, i))
        im = ax.imshow(frac, cmap="cividis", vmin=0, vmax=1, aspect="auto", origin="lower")
        ax.set_yticks(range(len(depths)), [str(L) for L in depths])
        ax.set(ylabel="depth $L$", title=f"initialization std {std}")
    axes[-1].set_xticks(range(len(lams)), [f"{v:.2g}" for v in lams])
    axes[-1].set_xlabel("$\\lambda$")
    return im


def _rectangle(j: int, i: int) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=1.5)
