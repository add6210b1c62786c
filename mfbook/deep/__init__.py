"""Regularized deep matrix factorization: loss, derivatives and every critical point.

The objective (chapter 4), for a fully observed target :math:`Y \\in \\mathbb R^{m\\times n}`,
depth :math:`L \\ge 2` and layers :math:`W_l \\in \\mathbb R^{d_l \\times d_{l-1}}`
(:math:`d_0 = n`, :math:`d_L = m`, hidden widths :math:`d_1, \\dots, d_{L-1}`):

.. math::

    F(W_1, \\dots, W_L) = \\lVert W_L W_{L-1} \\cdots W_1 - Y\\rVert_F^2
        + \\sum_{l=1}^{L} \\lambda_l \\lVert W_l\\rVert_F^2 ,

a **sum** of squared errors, no factor :math:`\\tfrac12`, one penalty weight per layer.
Writing :math:`P = W_L\\cdots W_1`, :math:`E = P - Y`, :math:`A_{l} = W_l\\cdots W_1`
(:math:`A_0 = I_n`) and :math:`B_l = W_L\\cdots W_{l+1}` (:math:`B_L = I_m`):

.. math::

    \\nabla_{W_l} F = 2\\big(B_l^\\top E A_{l-1}^\\top + \\lambda_l W_l\\big).

Every critical point with all :math:`\\lambda_l > 0` is described in closed form by
:func:`enumerate_critical_points`: with :math:`\\Lambda = (\\prod_l \\lambda_l)^{1/L}` the
geometric mean of the weights and :math:`Y = \\sum_i y_i \\mathbf u_i \\mathbf v_i^\\top`
the SVD of the target, a critical point picks a set :math:`S` of at most
:math:`\\min_l d_l` singular triplets and, for each :math:`i \\in S`, a positive root
:math:`s_i` of the **reduced scalar equation**

.. math::

    s^{L-2}\\,(y_i - s^L) = \\Lambda ,

the stationarity condition of :math:`\\varphi(s) = (s^L - y)^2 + L\\Lambda s^2`
(:func:`reduced_loss`).  Its product is :math:`P = \\sum_{i\\in S} s_i^L \\mathbf u_i
\\mathbf v_i^\\top` and its layers are balanced,
:math:`\\lambda_{l+1} W_{l+1}^\\top W_{l+1} = \\lambda_l W_l W_l^\\top`.
:func:`classify` decides the type of each (global minimum, spurious local minimum,
strict saddle, non-strict saddle) from :math:`S`, the roots and the singular values;
:func:`hessian_check` and :func:`normal_curvature` check the decision with the Hessian,
discounting the zero eigenvalues of the orthogonal symmetry
:math:`W_l \\mapsto R_l W_l R_{l-1}^\\top`.

Parameters are one flat vector ``theta = [W_1.ravel(), ..., W_L.ravel()]``, so the
optimizers of :mod:`mfbook.core` and the tools of :mod:`mfbook.landscape` apply unchanged.
"""

from ._checks import (BatchedRuns, HessianCheck, batched_gradient_descent, hessian_check,
                      nearest_critical_point, normal_curvature)
from ._critical import (DEEP_KINDS, HESSIAN_KIND, DeepCriticalPoint, classify,
                        count_critical_points, critical_point, enumerate_critical_points,
                        global_minimum, pair_direction, rotate_pair, scaling_direction)
from ._model import DeepMF
from ._penalty import depth_penalty, soft_threshold_singular_values, target_with_singular_values
from ._reduced import (ScalarRoot, Thresholds, reduced_derivative, reduced_loss, reduced_roots,
                       reduced_second_derivative, thresholds)

__all__ = [
    "DeepMF",
    "reduced_loss", "reduced_derivative", "reduced_second_derivative", "ScalarRoot",
    "reduced_roots", "Thresholds", "thresholds",
    "DEEP_KINDS", "HESSIAN_KIND", "DeepCriticalPoint", "classify", "critical_point",
    "scaling_direction", "rotate_pair", "pair_direction", "enumerate_critical_points",
    "count_critical_points", "global_minimum",
    "HessianCheck", "hessian_check", "normal_curvature", "nearest_critical_point",
    "BatchedRuns", "batched_gradient_descent",
    "soft_threshold_singular_values", "target_with_singular_values", "depth_penalty",
]
