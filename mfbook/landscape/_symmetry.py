"""The factorization symmetry :math:`(U, V) \\mapsto (UA, VA^{-\\top})` at a point.

* :func:`symmetry_tangents` -- the directions along which the symmetry moves a point (zero
  directions of the Hessian at a critical point);
* :func:`orbit_dimension` -- their number;
* :func:`orthonormal_span` -- an orthonormal basis of their span, to project them out;
* :func:`balance_factors` -- the balanced point :math:`U^\\top U = V^\\top V` of an orbit.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..core import MFObjective, check_array, check_real, product_svd

__all__ = ["symmetry_tangents", "orbit_dimension", "orthonormal_span", "balance_factors"]


def _mf(objective: object) -> MFObjective:
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be a mfbook.core.MFObjective, got "
                        f"{type(objective).__name__}")
    return objective


def symmetry_tangents(objective: MFObjective, theta: np.ndarray) -> np.ndarray:
    """Tangent vectors at ``theta`` to the orbit of the factorization symmetry.

    The loss is constant along :math:`t \\mapsto (U e^{tA}, V e^{-tA^\\top})`; its velocity at
    :math:`t = 0` is :math:`(UA, -VA^\\top)`.  Without a penalty every :math:`k\\times k`
    matrix :math:`A` is allowed (the scale symmetry :math:`(\\mathbf u, \\mathbf v) \\mapsto
    (a\\mathbf u, \\mathbf v/a)` when :math:`k = 1`); with :math:`\\lambda > 0` only the
    rotations, :math:`A` skew-symmetric, keep the loss.  Differentiating
    :math:`L(\\theta(t)) = L(\\theta)` twice at a critical point gives
    :math:`\\nabla^2 L\\,\\dot\\theta = 0`: each tangent is a zero-eigenvalue direction of
    the Hessian.  Bias coordinates do not move.

    Returns
    -------
    ndarray, shape (d, q)
        One column per generator :math:`A = E_{ab}` (:math:`q = k^2`) or
        :math:`A = E_{ab} - E_{ba}`, :math:`a < b` (:math:`q = k(k-1)/2`, possibly 0).
    """
    theta = _mf(objective).check_theta(theta)
    f = objective.unpack(theta)
    k = objective.rank
    if objective.reg > 0:
        gens = []
        for a, b in itertools.combinations(range(k), 2):
            A = np.zeros((k, k))
            A[a, b], A[b, a] = 1.0, -1.0
            gens.append(A)
    else:
        gens = [np.eye(k)[:, [a]] @ np.eye(k)[[b], :] for a in range(k) for b in range(k)]
    cols = []
    for A in gens:
        t = np.zeros(objective.dim)
        t[: f.U.size] = (f.U @ A).ravel()
        t[f.U.size: f.U.size + f.V.size] = (-f.V @ A.T).ravel()
        cols.append(t)
    return np.array(cols).T if cols else np.zeros((objective.dim, 0))


def orbit_dimension(objective: MFObjective, theta: np.ndarray, tol: float = 1e-8) -> int:
    """Dimension of the symmetry orbit through ``theta``: the rank of :func:`symmetry_tangents`.

    Singular values below ``tol`` times :math:`\\max(1, \\|\\theta\\|)` count as zero.  At the
    origin the orbit is a single point (dimension 0); at a rank-1 point of a :math:`k = 1`
    factorization without penalty it is the curve :math:`(a\\mathbf u, \\mathbf v/a)`
    (dimension 1).
    """
    tol = check_real("tol", tol, minimum=0.0)
    T = symmetry_tangents(objective, theta)
    if T.shape[1] == 0:
        return 0
    s = np.linalg.svd(T, compute_uv=False)
    return int(np.sum(s > tol * max(1.0, float(np.linalg.norm(theta)))))


def orthonormal_span(T: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """An orthonormal basis of the column span of ``T``, shape ``(d, q)``.

    The left singular vectors of ``T`` whose singular values exceed ``tol`` times the largest
    one; ``q = 0`` if ``T`` has no columns or is zero.  Used to turn the (dependent, not
    orthonormal) tangents of a symmetry orbit into a basis that can be projected out.
    """
    T = check_array("T", T, nonempty=False)
    if T.ndim != 2:
        raise ValueError(f"T must be a 2-d array of column vectors, got shape {T.shape}")
    tol = check_real("tol", tol, minimum=0.0)
    if T.shape[1] == 0:
        return np.zeros((T.shape[0], 0))
    W, s, _ = np.linalg.svd(T, full_matrices=False)
    if s[0] == 0:
        return np.zeros((T.shape[0], 0))
    return W[:, s > tol * s[0]]


def balance_factors(objective: MFObjective, theta: np.ndarray) -> np.ndarray:
    """The balanced factorization of the same product: :math:`U^\\top U = V^\\top V`.

    With the thin SVD :math:`UV^\\top = P\\Sigma Q^\\top` (rank :math:`r \\le k`), returns
    :math:`U = P_r\\Sigma_r^{1/2}`, :math:`V = Q_r\\Sigma_r^{1/2}` padded with zero columns,
    biases unchanged.  If :math:`U` and :math:`V` have full column rank this point lies on the
    symmetry orbit of ``theta``; it is the member with the smallest :math:`\\|U\\|_F^2 +
    \\|V\\|_F^2`.  For :math:`k = 1`: :math:`(\\mathbf u, \\mathbf v) \\mapsto
    (a\\mathbf u, \\mathbf v/a)` with :math:`a = \\sqrt{\\|\\mathbf v\\|/\\|\\mathbf u\\|}`,
    up to a common sign.
    """
    theta = _mf(objective).check_theta(theta)
    f = objective.unpack(theta)
    P, sig, Q = product_svd(f.U, f.V, compute_uv=True)
    r = int(np.sum(sig > 1e-12 * max(1.0, float(sig[0]) if sig.size else 1.0)))
    U, V = np.zeros_like(f.U), np.zeros_like(f.V)
    U[:, :r] = P[:, :r] * np.sqrt(sig[:r])
    V[:, :r] = Q[:, :r] * np.sqrt(sig[:r])
    out = theta.copy()
    out[: U.size] = U.ravel()
    out[U.size: U.size + V.size] = V.ravel()
    return out
