"""Every critical point of :class:`DeepMF` in closed form, and its classification."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core import SeedLike, as_generator, check_int
from ._model import DeepMF, check_model
from ._reduced import ScalarRoot, reduced_roots, thresholds, reduced_loss

__all__ = ["DEEP_KINDS", "HESSIAN_KIND", "DeepCriticalPoint", "classify", "critical_point",
           "scaling_direction", "rotate_pair", "pair_direction", "enumerate_critical_points",
           "count_critical_points", "global_minimum"]


DEEP_KINDS = ("global minimum", "spurious local minimum", "strict saddle", "non-strict saddle")
"""The four types of critical point of :math:`F` with all :math:`\\lambda_l > 0`."""

HESSIAN_KIND = {
    "global minimum": "minimum",
    "spurious local minimum": "minimum",
    "strict saddle": "strict saddle",
    "non-strict saddle": "degenerate",
}
"""What :func:`mfbook.landscape.classify_critical_point` must say for each type, once the
orbit dimension is passed as ``symmetry_dim``: second order cannot tell a non-strict saddle
from a degenerate minimum, so it reports ``"degenerate"``."""


@dataclass
class DeepCriticalPoint:
    """One critical point (one orbit of the orthogonal symmetry) of :class:`DeepMF`."""

    active: tuple[int, ...]
    """Indices (0-based, into the singular values of :math:`Y`) of the active pairs :math:`S`."""
    branches: tuple[str, ...]
    """Root chosen for each active pair: ``"upper"``, ``"lower"`` or ``"double"``."""
    s: np.ndarray
    """Singular values of the rescaled balanced layers, one per active pair."""
    p: np.ndarray
    """End-to-end singular values :math:`p_i = s_i^L` of the product."""
    loss: float
    """:math:`F = \\lVert Y\\rVert_F^2 + \\sum_{i\\in S} (\\varphi_i(s_i) - y_i^2)`."""
    kind: str
    """One of :data:`DEEP_KINDS`, from :func:`classify`."""
    reason: str
    """The condition that decided :attr:`kind`."""
    theta: np.ndarray
    """A representative point (hidden bases: the first :math:`|S|` unit vectors)."""

    @property
    def rank(self) -> int:
        """Rank :math:`|S|` of the product and of every layer."""
        return len(self.active)

    @property
    def label(self) -> str:
        """Short text such as ``"{1+, 3-}"`` (1-based indices, ``+``/``-``/``*`` for the
        upper, lower and double root); ``"{}"`` for the origin."""
        mark = {"upper": "+", "lower": "-", "double": "*"}
        parts = (f"{i + 1}{mark[b]}" for i, b in zip(self.active, self.branches))
        return "{" + ", ".join(parts) + "}"


def _positive_indices(model: DeepMF, check_distinct: bool = True) -> np.ndarray:
    y = model.singular_values
    tol = 1e-12 * max(1.0, float(y[0]))
    pos = np.flatnonzero(y > tol)
    if check_distinct and pos.size > 1:
        gaps = -np.diff(y[pos])
        if np.any(gaps <= 1e-9 * y[0]):
            raise ValueError(
                "the closed-form enumeration needs distinct non-zero singular values of Y; equal "
                "ones give continua of critical points (rotate the pair), got "
                f"{', '.join(f'{v:.6g}' for v in y[pos])}")
    return pos


def _validate_selection(model: DeepMF, active: Sequence[int], branches: Sequence[str]
                        ) -> tuple[tuple[int, ...], tuple[str, ...]]:
    try:
        active = tuple(active)
        branches = tuple(branches)
    except TypeError:
        raise TypeError(f"active and branches must be sequences, got {active!r} and "
                        f"{branches!r}") from None
    if any(isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer))
           for i in active):
        raise TypeError(f"active must hold integer indices, got {active!r}")
    active = tuple(int(i) for i in active)
    q = len(model.singular_values)
    if len(active) != len(branches):
        raise ValueError(f"active and branches must have the same length, got {len(active)} "
                         f"and {len(branches)}")
    if len(set(active)) != len(active) or any(not 0 <= i < q for i in active):
        raise ValueError(f"active must hold distinct indices in 0..{q - 1}, got {active}")
    if len(active) > model.min_width:
        raise ValueError(f"at most min(d_0, ..., d_L) = {model.min_width} pairs can be active "
                         f"(the width limit), got {len(active)}")
    bad = [b for b in branches if b not in ("upper", "lower", "double")]
    if bad:
        raise ValueError(f"branches must be 'upper', 'lower' or 'double', got {bad}")
    return active, branches


def _root_for(model: DeepMF, i: int, branch: str) -> ScalarRoot:
    y = float(model.singular_values[i])
    roots = [r for r in reduced_roots(y, model.reg_geometric, model.depth) if r.branch == branch]
    if not roots:
        th = thresholds(model.reg_geometric, model.depth)
        raise ValueError(
            f"singular value y_{i + 1} = {y:.6g} has no {branch!r} root for Lambda = "
            f"{model.reg_geometric:.6g}, L = {model.depth} (roots exist for y > {th.y_exist:.6g})")
    return roots[0]


def _topk_losses(model: DeepMF) -> np.ndarray:
    """Loss of the point that activates the top-k pairs on their upper roots, k = 0..K."""
    y = model.singular_values
    lam, L = model.reg_geometric, model.depth
    out = [float(np.sum(model.Y**2))]
    for i in range(min(model.min_width, len(y))):
        up = [r for r in reduced_roots(float(y[i]), lam, L) if r.branch in ("upper", "double")]
        if not up:
            break
        r = up[-1]
        out.append(out[-1] + float(reduced_loss(r.s, y[i], lam, L)) - float(y[i]) ** 2)
    return np.array(out)


def global_minimum(model: DeepMF) -> float:
    """The global minimum value of :math:`F`: the best of the local minima, which activate
    the top :math:`k` pairs on their upper roots for some :math:`k` (see :func:`classify`)."""
    model = check_model(model)
    model.require_positive_reg()
    return float(np.min(_topk_losses(model)))


def classify(model: DeepMF, active: Sequence[int], branches: Sequence[str]) -> tuple[str, str]:
    """Type of the critical point that activates pairs ``active`` on roots ``branches``.

    Rules (derived in chapter 4; :math:`y_j` the singular values of :math:`Y`, :math:`S` the
    active set, :math:`\\Lambda` the geometric mean of the :math:`\\lambda_l`), applied in
    order:

    1. an active pair on the **lower** root: *strict saddle* -- scaling that pair in every
       layer has curvature :math:`\\varphi''(s_i) < 0`;
    2. an active :math:`i` and an inactive :math:`j` with :math:`y_j > y_i`: *strict saddle* --
       turning :math:`(\\mathbf u_i, \\mathbf v_i)` towards :math:`(\\mathbf u_j, \\mathbf v_j)`
       changes the loss by :math:`-2p_i(y_j - y_i)\\,t^2 + O(t^3)`;
    3. :math:`L = 2`, a free width (:math:`|S| < \\min_l d_l`) and an inactive :math:`j` with
       :math:`y_j > \\Lambda`: *strict saddle* -- switching :math:`j` on has curvature
       :math:`\\varphi''(0) = 4(\\Lambda - y_j) < 0`;
    4. an active pair on the **double** root (:math:`y_i = y^\\ast`): *non-strict saddle* --
       the Hessian is positive semi-definite but :math:`\\varphi(s_\\ast - t) -
       \\varphi(s_\\ast) = -\\varphi'''(s_\\ast)\\,t^3/6 + O(t^4)` with
       :math:`\\varphi'''(s_\\ast) > 0`;
    5. otherwise a *local minimum* (then :math:`S` is a top set :math:`\\{1..k\\}` on upper
       roots), *global* if its loss equals :func:`global_minimum` (within ``1e-9``
       relative), else *spurious*.

    Returns
    -------
    (kind, reason) : tuple of str
    """
    model = check_model(model)
    model.require_positive_reg()
    active, branches = _validate_selection(model, active, branches)
    y = model.singular_values
    L, lam = model.depth, model.reg_geometric
    _positive_indices(model)
    for i, b in zip(active, branches):
        if b == "lower":
            return "strict saddle", f"pair {i + 1} on its lower root"
    inactive = [j for j in range(len(y)) if j not in active]
    for i in active:
        worse = [j for j in inactive if y[j] > y[i]]
        if worse:
            return "strict saddle", f"turn pair {i + 1} towards pair {worse[0] + 1}"
    if L == 2 and len(active) < model.min_width:
        on = [j for j in inactive if y[j] > lam * (1 + 1e-12)]
        if on:
            return "strict saddle", f"switch on pair {on[0] + 1} (y > lambda)"
    for i, b in zip(active, branches):
        if b == "double":
            return "non-strict saddle", f"pair {i + 1} at the double root"
    value = _selection_loss(model, active, branches)
    best = global_minimum(model)
    if value <= best + 1e-9 * max(1.0, abs(best)):
        return "global minimum", f"top {len(active)}, upper roots, lowest F"
    return "spurious local minimum", f"top {len(active)}, upper roots"


def _selection_loss(model: DeepMF, active: Sequence[int], branches: Sequence[str]) -> float:
    y = model.singular_values
    value = float(np.sum(model.Y**2))
    for i, b in zip(active, branches):
        r = _root_for(model, i, b)
        phi = float(reduced_loss(r.s, y[i], model.reg_geometric, model.depth))
        value += phi - float(y[i]) ** 2
    return value


def _bases(model: DeepMF, active: Sequence[int], seed: SeedLike = None) -> list[np.ndarray]:
    """:math:`Q_0 = V_S, Q_1, \\dots, Q_{L-1}, Q_L = U_S` (hidden: unit vectors or random)."""
    U, _, V = model.svd
    r = len(active)
    rng = as_generator(seed) if seed is not None else None
    bases = [V[:, list(active)]]
    for d in model.dims[1:-1]:
        if rng is None:
            bases.append(np.eye(d)[:, :r])
        else:
            Qh, _ = np.linalg.qr(rng.standard_normal((d, max(r, 1))))
            bases.append(Qh[:, :r])
    bases.append(U[:, list(active)])
    return bases


def _balanced_layers(model: DeepMF, bases: list[np.ndarray], s: np.ndarray) -> list[np.ndarray]:
    lam = model.reg_geometric
    return [np.sqrt(lam / model.reg[l - 1]) * (bases[l] * s) @ bases[l - 1].T
            for l in range(1, model.depth + 1)]


def scaling_direction(model: DeepMF, point: DeepCriticalPoint, k: int) -> np.ndarray:
    """:math:`\\partial\\theta/\\partial s_k` at a constructed point: the direction that scales
    the ``k``-th active pair (position in ``point.active``) in every layer at once.

    Along it :math:`F(\\theta + t\\,d) = F(\\theta) + \\varphi(s_k + t) - \\varphi(s_k)`
    exactly (:func:`reduced_loss` of that pair), so its curvature is
    :math:`\\varphi''(s_k)` and, at a double root, the loss changes at third order.
    """
    model = check_model(model)
    if not 0 <= k < point.rank:
        raise ValueError(f"k must index an active pair, 0..{point.rank - 1}, got {k!r}")
    e = np.zeros(point.rank)
    e[k] = 1.0
    return model.pack(_balanced_layers(model, _bases(model, point.active), e))


def rotate_pair(model: DeepMF, point: DeepCriticalPoint, k: int, j: int,
                angle: float) -> np.ndarray:
    """Turn the singular vectors of active pair ``k`` (position in ``point.active``) towards
    the inactive pair ``j`` (index into the singular values of :math:`Y`) by ``angle``.

    :math:`\\mathbf v_i \\to \\cos t\\,\\mathbf v_i + \\sin t\\,\\mathbf v_j` in :math:`W_1` and
    :math:`\\mathbf u_i \\to \\cos t\\,\\mathbf u_i + \\sin t\\,\\mathbf u_j` in :math:`W_L`; the
    norms of the layers do not change and
    :math:`F = F(\\theta) - 2p_i(y_j - y_i)\\sin^2 t` exactly.
    """
    model = check_model(model)
    if not 0 <= k < point.rank:
        raise ValueError(f"k must index an active pair, 0..{point.rank - 1}, got {k!r}")
    if j in point.active or not 0 <= j < len(model.singular_values):
        raise ValueError(
            f"j must be an inactive pair in 0..{len(model.singular_values) - 1}, got {j!r}")
    bases = _bases(model, point.active)
    U, _, V = model.svd
    c, sn = np.cos(angle), np.sin(angle)
    bases[0] = bases[0].copy()
    bases[-1] = bases[-1].copy()
    bases[0][:, k] = c * bases[0][:, k] + sn * V[:, j]
    bases[-1][:, k] = c * bases[-1][:, k] + sn * U[:, j]
    return model.pack(_balanced_layers(model, bases, point.s))


def pair_direction(model: DeepMF, i: int, hidden_unit: int = 0) -> np.ndarray:
    """The balanced rank-one point of pair ``i`` with layer singular value 1.

    :math:`W_1 = c_1\\,\\mathbf e_h \\mathbf v_i^\\top`, :math:`W_l = c_l\\,\\mathbf e_h\\mathbf e_h^\\top`,
    :math:`W_L = c_L\\,\\mathbf u_i\\mathbf e_h^\\top` with :math:`c_l = \\sqrt{\\Lambda/\\lambda_l}`
    and :math:`h` = ``hidden_unit``.  On the line :math:`t\\,d_i`, :math:`F = \\varphi_i(t) +
    \\sum_{j \\ne i} y_j^2` (:func:`reduced_loss`, any real :math:`t`); with two pairs on
    *different* hidden units the plane :math:`a\\,d_i + b\\,d_j` is separable,
    :math:`F = \\varphi_i(a) + \\varphi_j(b) + \\sum_{k \\ne i, j} y_k^2`.
    """
    model = check_model(model)
    if not 0 <= i < len(model.singular_values):
        raise ValueError(
            f"i must index a singular value, 0..{len(model.singular_values) - 1}, got {i!r}")
    hidden = model.dims[1:-1]
    if not 0 <= hidden_unit < min(hidden):
        raise ValueError(f"hidden_unit must be in 0..{min(hidden) - 1}, got {hidden_unit!r}")
    U, _, V = model.svd
    bases = [V[:, [i]]] + [np.eye(d)[:, [hidden_unit]] for d in hidden] + [U[:, [i]]]
    model.require_positive_reg()
    return model.pack(_balanced_layers(model, bases, np.ones(1)))


def critical_point(model: DeepMF, active: Sequence[int], branches: Sequence[str], *,
                   seed: SeedLike = None) -> DeepCriticalPoint:
    """Construct (and classify) the critical point with active pairs ``active`` on ``branches``.

    The layers are

    .. math::
        W_l = \\sqrt{\\Lambda/\\lambda_l}\\; Q_l\\,\\mathrm{diag}(s_S)\\,Q_{l-1}^\\top,
        \\qquad Q_0 = V_S,\\ Q_L = U_S,

    with :math:`U_S, V_S` the singular vectors of :math:`Y` of the active pairs and
    :math:`Q_h \\in \\mathbb R^{d_h \\times |S|}` orthonormal: the first :math:`|S|` unit
    vectors, or (``seed`` given) random orthonormal columns -- another point of the same
    orbit.  Then :math:`P = U_S\\,\\mathrm{diag}(s^L)\\,V_S^\\top` and every gradient block is
    :math:`2\\sqrt{\\Lambda/\\lambda_l}\\,Q_l\\,\\mathrm{diag}\\big(s^{L-1}(s^L - y) +
    \\Lambda s\\big)\\,Q_{l-1}^\\top = 0`.
    """
    model = check_model(model)
    model.require_positive_reg()
    active, branches = _validate_selection(model, active, branches)
    roots = [_root_for(model, i, b) for i, b in zip(active, branches)]
    s = np.array([r.s for r in roots])
    layers = _balanced_layers(model, _bases(model, active, seed), s)
    theta = model.pack(layers)
    kind, reason = classify(model, active, branches)
    return DeepCriticalPoint(active, branches, s, s**model.depth,
                             _selection_loss(model, active, branches), kind, reason, theta)


def count_critical_points(model: DeepMF) -> int:
    """Number of critical orbits: :math:`\\sum_{k=0}^{\\min_l d_l} e_k(t_1, t_2, \\dots)`,
    with :math:`t_i` the number of positive roots for :math:`y_i` and :math:`e_k` the
    elementary symmetric polynomials (choose :math:`k` active pairs, one root each)."""
    model = check_model(model)
    model.require_positive_reg()
    pos = _positive_indices(model)
    t = [len(reduced_roots(float(model.singular_values[i]), model.reg_geometric, model.depth))
         for i in pos]
    e = np.zeros(len(t) + 1, dtype=object)
    e[0] = 1
    for ti in t:                       # multiply the generating polynomial by (1 + t_i x)
        e[1:] = e[1:] + ti * e[:-1]
    return int(sum(e[: model.min_width + 1]))


def enumerate_critical_points(model: DeepMF, *, max_count: int = 20000) -> list[DeepCriticalPoint]:
    """Every critical point of ``model`` (one representative per symmetry orbit), by loss.

    All :math:`\\lambda_l > 0` and distinct non-zero singular values of :math:`Y` are
    required (equal ones give continua).  The orbits are: every set :math:`S` of at most
    :math:`\\min_l d_l` singular pairs whose :math:`y_i` have a positive root, times one root
    per pair (:func:`reduced_roots`); their number is :func:`count_critical_points`.

    Raises
    ------
    ValueError
        If there are more than ``max_count`` of them.
    """
    model = check_model(model)
    max_count = check_int("max_count", max_count, minimum=1)
    n_total = count_critical_points(model)
    if n_total > max_count:
        raise ValueError(f"{n_total} critical orbits exceed max_count={max_count}")
    pos = _positive_indices(model)
    options = {int(i): reduced_roots(float(model.singular_values[i]), model.reg_geometric,
                                     model.depth) for i in pos}
    eligible = [i for i in options if options[i]]
    out = []
    for k in range(min(model.min_width, len(eligible)) + 1):
        for S in itertools.combinations(eligible, k):
            for choice in itertools.product(*(options[i] for i in S)):
                out.append(critical_point(model, S, [c.branch for c in choice]))
    return sorted(out, key=lambda c: (round(c.loss, 10), c.label))
