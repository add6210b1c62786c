"""Tools to look at a loss landscape, for any objective with the interface of
:class:`~mfbook.core.MFObjective` (``dim``, ``loss``, ``loss_grad``, ``hvp``, ``hessian``,
``check_theta``).

* slices (:func:`evaluate_plane`, :func:`random_direction`, :func:`restrict_to_coordinates`);
* curvature (:func:`hessian_extremes` by Lanczos, :func:`classify_critical_point`);
* critical points (:func:`find_critical_points`, :func:`svd_critical_points`);
* the factorization symmetry (:func:`symmetry_tangents`, :func:`orbit_dimension`,
  :func:`orthonormal_span`, :func:`balance_factors`);
* where optimizers end (:func:`polish`, :func:`hessian_extremes_modulo_symmetry`,
  :func:`group_by_product`);
* trajectories (:func:`trajectory_pca`, :func:`loss_on_projection`, :func:`random_walk`,
  :func:`hessian_extremes_along`, :func:`steps_to_reach`, :func:`escape_time`).
"""

from ._critical import (CriticalPoint, CriticalPointSearch, SVDCriticalPoint,
                        find_critical_points, product_invariant, svd_critical_points)
from ._curvature import (CRITICAL_POINT_KINDS, HessianExtremes, classify_critical_point,
                         hessian_extremes)
from ._minima import (group_by_product, hessian_extremes_modulo_symmetry, polish,
                      symmetry_basis)
from ._slices import Restriction, evaluate_plane, random_direction, restrict_to_coordinates
from ._symmetry import balance_factors, orbit_dimension, orthonormal_span, symmetry_tangents
from ._trajectory import (HessianPath, TrajectoryPCA, escape_time, hessian_extremes_along,
                          loss_on_projection, random_walk, random_walk_variance_limit,
                          steps_to_reach, time_to_reach, trajectory_pca)

__all__ = [
    "evaluate_plane", "random_direction", "Restriction", "restrict_to_coordinates",
    "HessianExtremes", "hessian_extremes", "CRITICAL_POINT_KINDS", "classify_critical_point",
    "CriticalPoint", "CriticalPointSearch", "find_critical_points", "product_invariant",
    "SVDCriticalPoint", "svd_critical_points",
    "symmetry_tangents", "orbit_dimension", "orthonormal_span", "balance_factors",
    "polish", "symmetry_basis", "hessian_extremes_modulo_symmetry", "group_by_product",
    "TrajectoryPCA", "trajectory_pca", "loss_on_projection", "random_walk",
    "random_walk_variance_limit", "HessianPath", "hessian_extremes_along", "steps_to_reach",
    "time_to_reach", "escape_time",
]

# Chapter 2: optimizers on a quadratic, schedules, mini-batches, sharpness, Newton refinement.
from ._minibatch import minibatch_descend, minibatch_gradient  # noqa: E402
from ._quadratic import (QUADRATIC_METHODS, OptimalTuning, characteristic_roots,  # noqa: E402
                         convergence_factor, optimal_parameters, stability_limit)
from ._refine import NewtonRefinement, newton_refine  # noqa: E402
from ._schedules import (Schedule, Scheduled, constant_schedule, cosine_schedule,  # noqa: E402
                         inverse_time_schedule, step_schedule)
from ._sharpness import SharpnessTrace, sharpness, sharpness_along  # noqa: E402

__all__ += [
    "QUADRATIC_METHODS", "characteristic_roots", "convergence_factor", "stability_limit",
    "OptimalTuning", "optimal_parameters",
    "Schedule", "constant_schedule", "step_schedule", "inverse_time_schedule",
    "cosine_schedule", "Scheduled",
    "minibatch_gradient", "minibatch_descend",
    "SharpnessTrace", "sharpness", "sharpness_along",
    "NewtonRefinement", "newton_refine",
]
