"""Plotting helpers shared by the chapters, so that every figure uses the same conventions.

* :func:`contour_landscape` -- filled contours of a loss on a 2D grid (linear or log levels)
  with a colour bar, in a grey-readable colour map;
* :func:`mark_critical_points` -- markers whose shape says the kind of a critical point
  (:data:`KIND_STYLES`);
* :func:`plot_path` -- an optimizer trajectory in 2D coordinates, start and end marked;
* :func:`surface_figure` -- an interactive plotly 3D surface that renders offline.

Chapter-specific figures: the optimizer runs of chapter 2 (:func:`plot_series`,
:func:`plot_lr_sweep`, ...) and the deep factorization figures of chapter 4
(:func:`plot_reduced_functions`, :func:`plot_critical_values`, :func:`plot_pair_plane`,
:func:`plot_turning_slice`, :func:`plot_gd_outcomes`).
"""

from ._landscape import (KIND_STYLES, contour_landscape, mark_critical_points, plot_path,
                         surface_figure)

__all__ = ["KIND_STYLES", "contour_landscape", "mark_critical_points", "plot_path",
           "surface_figure"]

# Figures of optimizer runs (chapter 2).
from ._optimizers import (METHOD_COLORS, finish_axes, plot_convergence_factors,  # noqa: E402
                          plot_lr_sweep, plot_series)

__all__ += ["METHOD_COLORS", "plot_series", "finish_axes", "plot_convergence_factors",
            "plot_lr_sweep"]

# Figures of regularized deep factorization (chapter 4).
from ._deep import (pair_plane_coordinates, plot_critical_values, plot_gd_outcomes,  # noqa: E402
                    plot_pair_plane, plot_reduced_functions, plot_turning_slice)

__all__ += ["plot_reduced_functions", "plot_critical_values", "pair_plane_coordinates",
            "plot_pair_plane", "plot_turning_slice", "plot_gd_outcomes"]

# Figures of chapter 5 (Keras against NumPy, the stalled run, NMF solvers by data seed).
from ._nmf import plot_keras_vs_numpy, plot_runs_by_seed, plot_stalled_travel  # noqa: E402

__all__ += ["plot_keras_vs_numpy", "plot_stalled_travel", "plot_runs_by_seed"]
