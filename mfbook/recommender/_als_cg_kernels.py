"""Compiled kernel of the conjugate-gradient ALS half-sweep (numba): no normal matrices.

Private: the public entry points are :func:`mfbook.recommender.als_half_sweep` and
:func:`mfbook.recommender.als` with ``solve="cg"``, which validate their inputs and document
the maths.

:func:`als_rows_cg` runs a few steps of Jacobi-preconditioned conjugate gradients on the
block system of each row ``lo..hi-1``, started from the row's current parameters.  The
matrix :math:`A_i = s\\,Q_i^\\top Q_i + D_i` (:math:`Q_i` the row's :math:`n_i` feature
vectors, one per observed entry) is never formed: a product :math:`A_i p` is
:math:`w = Q_i p`, then :math:`s\\,Q_i^\\top w + D_i p`, :math:`4 n_i \\kappa` flops instead
of the :math:`n_i \\kappa^2` that forming :math:`A_i` costs.  Rows are independent and only
the row's own parameters are written, so disjoint ranges can run on different threads at
once with the same bits as on one.

Layout, chosen so that every inner loop is element-wise (vectorized by LLVM without
``fastmath``, hence with the order of every addition fixed by the code: the same bits on
any x86-64 machine, no fused multiply-adds):

* the other side's feature vectors are copied once per half-sweep into a table ``F`` of
  one row per user or item, with the constant 1 of the biased model in column :math:`k` and
  zeros up to a multiple of 8 columns;
* per row, its feature vectors are copied once into the columns of a :math:`\\kappa \\times
  n_i` block :math:`Q_i^\\top`, so that :math:`w = Q_i p` is a sum of :math:`\\kappa` scaled
  rows of that block (four per pass over :math:`w`), and :math:`Q_i^\\top w` is a sum of
  :math:`n_i` scaled rows of ``F`` (four per pass over the result).  Neither needs a dot
  product, whose sequential sum LLVM may not vectorize.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["als_rows_cg", "feature_table", "padded_width"]


def padded_width(kk: int) -> int:
    """Columns of the feature table: ``kk`` rounded up to a multiple of 8."""
    return -(-kk // 8) * 8


@njit(cache=True, nogil=True)
def feature_table(theta, m, n, k, biased, solve_users, kp):
    """The other side's feature vectors :math:`a_j` (plus 1 in column ``k`` if ``biased``),
    one row per user or item, padded with zeros to ``kp`` columns."""
    n_other = n if solve_users else m
    off = m if solve_users else 0
    F = np.zeros((n_other, kp))
    for j in range(n_other):
        src = theta[(off + j) * k:(off + j) * k + k]
        row = F[j]
        for a in range(k):
            row[a] = src[a]
        if biased:
            row[k] = 1.0
    return F


@njit(cache=True, nogil=True)
def _rows_times(w, QT, p, kk, ni):
    """``w[0:ni] += sum_a QT[a, 0:ni] * p[a]``, ``a`` in increasing order, four per pass."""
    a = 0
    while a + 4 <= kk:
        p0 = p[a]
        p1 = p[a + 1]
        p2 = p[a + 2]
        p3 = p[a + 3]
        h0 = QT[a, :ni]
        h1 = QT[a + 1, :ni]
        h2 = QT[a + 2, :ni]
        h3 = QT[a + 3, :ni]
        for t in range(ni):
            v = w[t]
            v += h0[t] * p0
            v += h1[t] * p1
            v += h2[t] * p2
            v += h3[t] * p3
            w[t] = v
        a += 4
    while a < kk:
        p0 = p[a]
        h0 = QT[a, :ni]
        for t in range(ni):
            w[t] += h0[t] * p0
        a += 1


@njit(cache=True, nogil=True)
def _table_times(g, d, F, idx, w, ni, kp, diag):
    """``g[0:kp] += sum_t w[t] * F[idx[t]]``, ``t`` in increasing order, four per pass; with
    ``diag`` also ``d[0:kp] += sum_t F[idx[t]]**2`` (the diagonal of :math:`Q^\\top Q`)."""
    t = 0
    while t + 4 <= ni:
        f0 = F[idx[t]]
        f1 = F[idx[t + 1]]
        f2 = F[idx[t + 2]]
        f3 = F[idx[t + 3]]
        w0 = w[t]
        w1 = w[t + 1]
        w2 = w[t + 2]
        w3 = w[t + 3]
        for a in range(kp):
            v = g[a]
            v += w0 * f0[a]
            v += w1 * f1[a]
            v += w2 * f2[a]
            v += w3 * f3[a]
            g[a] = v
        if diag:
            for a in range(kp):
                v = d[a]
                v += f0[a] * f0[a]
                v += f1[a] * f1[a]
                v += f2[a] * f2[a]
                v += f3[a] * f3[a]
                d[a] = v
        t += 4
    while t < ni:
        f0 = F[idx[t]]
        w0 = w[t]
        for a in range(kp):
            g[a] += w0 * f0[a]
        if diag:
            for a in range(kp):
                d[a] += f0[a] * f0[a]
        t += 1


@njit(cache=True, nogil=True)
def als_rows_cg(theta, F, m, n, k, biased, mu, s, reg, reg_bias, weights, indptr, other, vals,
                solve_users, lo, hi, n_steps):
    """Preconditioned CG on the block systems of rows ``lo..hi-1``, in place.

    Returns the number of passes over the rows' entries: one for the residual, one per CG
    step (what :func:`mfbook.recommender._als.cg_sweep_flops` counts).

    Row :math:`i` with observed entries :math:`q` (CSR ``indptr``, ``other``, ``vals``),
    feature vectors :math:`a_q` = rows ``other[q]`` of ``F`` and targets :math:`y_q` (the
    rating, minus :math:`\\mu` and the other side's bias in the biased model) has the system

    .. math::
        A x = b, \\qquad A = s \\sum_q a_q a_q^\\top + D_i, \\quad b = s \\sum_q y_q a_q,
        \\quad D_i = w_i\\,\\mathrm{diag}(\\lambda, \\dots, \\lambda, \\lambda_b).

    From :math:`x_0` (the current parameters), with :math:`M = \\mathrm{diag}(A)`:
    :math:`r_0 = b - A x_0 = s \\sum_q a_q (y_q - a_q^\\top x_0) - D_i x_0`,
    :math:`z_0 = p_0 = M^{-1} r_0`; then for :math:`t = 0, 1, \\dots` (at most
    ``n_steps``): :math:`\\alpha_t = r_t^\\top z_t / p_t^\\top A p_t`,
    :math:`x_{t+1} = x_t + \\alpha_t p_t`, :math:`r_{t+1} = r_t - \\alpha_t A p_t`,
    :math:`z_{t+1} = M^{-1} r_{t+1}`, :math:`p_{t+1} = z_{t+1} + (r_{t+1}^\\top z_{t+1} /
    r_t^\\top z_t)\\,p_t`.  The last step needs only :math:`p^\\top A p = s\\,\\lVert Q_i
    p\\rVert^2 + p^\\top D_i p`, not the vector :math:`A p`.  The iteration stops early once
    :math:`r^\\top z \\le 10^{-32}\\, r_0^\\top z_0` (converged to rounding) or if
    :math:`p^\\top A p \\le 0` (no curvature along :math:`p`).  A coordinate whose diagonal
    entry of :math:`A` is 0 (no penalty, zero features) is left unchanged.  A row without
    entries gets :math:`x = 0`, its exact solution.
    """
    kp = F.shape[1]
    kk = k + 1 if biased else k
    off_b = (m + n) * k
    self_off = 0 if solve_users else m
    other_off = m if solve_users else 0
    maxn = 1
    for i in range(lo, hi):
        maxn = max(maxn, indptr[i + 1] - indptr[i])
    qt = np.zeros(kk * maxn)
    w = np.zeros(maxn)
    x = np.zeros(kp)
    r = np.zeros(kp)
    z = np.zeros(kp)
    p = np.zeros(kp)
    Ap = np.zeros(kp)
    d = np.zeros(kp)
    pen = np.zeros(kp)
    passes = 0
    for i in range(lo, hi):
        start = indptr[i]
        end = indptr[i + 1]
        ni = end - start
        row = self_off + i
        if ni == 0:
            for a in range(k):
                theta[row * k + a] = 0.0
            if biased:
                theta[off_b + row] = 0.0
            continue
        for a in range(k):
            x[a] = -theta[row * k + a]          # -x0 for w = y - Q x0 below
            pen[a] = weights[i] * reg
        if biased:
            x[k] = -theta[off_b + row]
            pen[k] = weights[i] * reg_bias
        idx = other[start:end]
        QT = qt[:kk * ni].reshape((kk, ni))
        for t in range(ni):
            f = F[idx[t]]
            for a in range(kk):
                QT[a, t] = f[a]
            y = vals[start + t]
            if biased:
                y -= mu + theta[off_b + other_off + idx[t]]
            w[t] = y
        _rows_times(w, QT, x, kk, ni)           # w = y - Q x0
        for a in range(kp):
            x[a] = -x[a]
            r[a] = 0.0
            d[a] = 0.0
        _table_times(r, d, F, idx, w, ni, kp, True)
        passes += 1
        rz = 0.0
        for a in range(kk):
            r[a] = s * r[a] - pen[a] * x[a]
            da = s * d[a] + pen[a]
            d[a] = 1.0 / da if da > 0.0 else 0.0   # now M^{-1}
            z[a] = d[a] * r[a]
            p[a] = z[a]
            rz += r[a] * z[a]
        rz0 = rz
        for step in range(n_steps):
            if rz <= 1e-32 * rz0 or rz == 0.0:
                break
            for t in range(ni):
                w[t] = 0.0
            _rows_times(w, QT, p, kk, ni)      # w = Q p
            passes += 1
            if step == n_steps - 1:
                ww = 0.0
                for t in range(ni):
                    ww += w[t] * w[t]
                pAp = s * ww
                for a in range(kk):
                    pAp += pen[a] * p[a] * p[a]
                if pAp > 0.0:
                    alpha = rz / pAp
                    for a in range(kk):
                        x[a] += alpha * p[a]
                break
            for a in range(kp):
                Ap[a] = 0.0
            _table_times(Ap, d, F, idx, w, ni, kp, False)
            pAp = 0.0
            for a in range(kk):
                Ap[a] = s * Ap[a] + pen[a] * p[a]
                pAp += p[a] * Ap[a]
            if not pAp > 0.0:
                break
            alpha = rz / pAp
            rz_new = 0.0
            for a in range(kk):
                x[a] += alpha * p[a]
                r[a] -= alpha * Ap[a]
                z[a] = d[a] * r[a]
                rz_new += r[a] * z[a]
            beta = rz_new / rz
            rz = rz_new
            for a in range(kk):
                p[a] = z[a] + beta * p[a]
        for a in range(k):
            theta[row * k + a] = x[a]
        if biased:
            theta[off_b + row] = x[k]
    return passes
