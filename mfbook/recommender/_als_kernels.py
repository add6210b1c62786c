"""Compiled kernel of the ALS half-sweep (numba): normal equations and Cholesky, row by row.

Private: the public entry points are :func:`mfbook.recommender.als_half_sweep` and
:func:`mfbook.recommender.als`, which validate their inputs and document the maths.

:func:`als_rows` solves the rows ``lo..hi-1`` of one side.  Rows are independent, so
disjoint ranges can be solved on different threads at once (the kernel releases the GIL)
and the result is the same bits whatever the split: every row goes through exactly the
same operations.

What makes it fast on one core, measured against the previous kernel (one rating at a
time, full :math:`k \\times k` matrices, dot-product Cholesky; bit-identical results):

* **One triangle.**  Only the upper triangle :math:`G_{ab},\\ b \\ge a` of the symmetric
  system is accumulated, factorized and read: half the arithmetic of the Gram matrix.
* **Eight ratings per pass over the triangle.**  The features of eight ratings are
  gathered into a small buffer and added to each entry in one go,
  :math:`g \\leftarrow (\\dots((g + f_{0a} f_{0b}) + f_{1a} f_{1b}) + \\dots) + f_{7a} f_{7b}`:
  one load and one store of :math:`G` per eight products instead of per product, with the
  same additions in the same order as one rating at a time (so the same rounding).
* **Cholesky by rows, with contiguous updates.**  :math:`G = R^\\top R` with :math:`R`
  upper triangular, row :math:`a` of :math:`R` computed from row :math:`a` of :math:`G`
  minus :math:`R_{qa} R_{q,\\,a:}` for :math:`q < a`, four rows :math:`q` per pass, each a
  contiguous vector operation.  Every entry receives its subtractions in the order of the
  textbook dot-product form (increasing :math:`q`), hence the same rounding; the forward
  solve :math:`R^\\top z = r` is done the same way, the back substitution by dot products.

The loops are written over array views with ranges starting at 0, the form in which
LLVM's loop vectorizer handles them (an index such as ``a + t`` makes numba emit a
negative-index check that blocks vectorization).  No ``fastmath``: plain IEEE arithmetic
without fused multiply-adds, so that a given input gives the same bits on any x86-64
machine, with or without FMA units.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["als_rows", "GRAM_BLOCK"]

GRAM_BLOCK = 8   # ratings per pass over the Gram triangle (the hand-unrolled _gram8)


@njit(cache=True, nogil=True)
def _gram8(G, F, kk):
    """``G[a, b] += sum_q F[q, a] F[q, b]`` for ``b >= a``, ``q = 0..7`` in order."""
    for a in range(kk):
        f0 = F[0, a]
        f1 = F[1, a]
        f2 = F[2, a]
        f3 = F[3, a]
        f4 = F[4, a]
        f5 = F[5, a]
        f6 = F[6, a]
        f7 = F[7, a]
        g = G[a, a:]
        h0 = F[0, a:]
        h1 = F[1, a:]
        h2 = F[2, a:]
        h3 = F[3, a:]
        h4 = F[4, a:]
        h5 = F[5, a:]
        h6 = F[6, a:]
        h7 = F[7, a:]
        for t in range(kk - a):
            v = g[t]
            v += f0 * h0[t]
            v += f1 * h1[t]
            v += f2 * h2[t]
            v += f3 * h3[t]
            v += f4 * h4[t]
            v += f5 * h5[t]
            v += f6 * h6[t]
            v += f7 * h7[t]
            g[t] = v


@njit(cache=True, nogil=True)
def _gram1(G, f, kk):
    """``G[a, b] += f[a] f[b]`` for ``b >= a`` (one rating)."""
    for a in range(kk):
        fa = f[a]
        g = G[a, a:]
        h = f[a:]
        for t in range(kk - a):
            g[t] += fa * h[t]


@njit(cache=True, nogil=True)
def _cholesky_upper(G, kk, top):
    """Overwrite the upper triangle of ``G`` with :math:`R`, :math:`R^\\top R = G`.

    Returns False (``G`` partly overwritten) at the first pivot at or below
    ``1e-12 * top``.
    """
    for a in range(kk):
        g = G[a, a:]
        n = kk - a
        q = 0
        while q + 4 <= a:
            r0 = G[q, a]
            r1 = G[q + 1, a]
            r2 = G[q + 2, a]
            r3 = G[q + 3, a]
            h0 = G[q, a:]
            h1 = G[q + 1, a:]
            h2 = G[q + 2, a:]
            h3 = G[q + 3, a:]
            for t in range(n):
                v = g[t]
                v -= r0 * h0[t]
                v -= r1 * h1[t]
                v -= r2 * h2[t]
                v -= r3 * h3[t]
                g[t] = v
            q += 4
        while q < a:
            r0 = G[q, a]
            h0 = G[q, a:]
            for t in range(n):
                g[t] -= r0 * h0[t]
            q += 1
        d = g[0]
        if d <= 1e-12 * top:
            return False
        d = np.sqrt(d)
        g[0] = d
        for t in range(1, n):
            g[t] = g[t] / d
    return True


@njit(cache=True, nogil=True)
def als_rows(theta, m, n, k, biased, mu, s, reg, reg_bias, weights, indptr, other, vals,
             solve_users, lo, hi, failed):
    """Solve rows ``lo..hi-1`` of the user side (``solve_users``) or item side, in place.

    Row :math:`i`, with its observed entries given as a CSR pattern (``indptr``, ``other``
    = indices on the other side, ``vals`` the ratings), gets the solution of

    .. math::
        \\Big(s \\sum_p a_p a_p^\\top + w_i\\,\\mathrm{diag}(\\lambda, \\dots, \\lambda,
        \\lambda_b)\\Big) x_i = s \\sum_p y_p\\, a_p,

    :math:`a_p` = the other side's factors (with a trailing 1 in the biased model) and
    :math:`y_p = r_p - \\mu - \\text{(other side's bias)}` (biased) or :math:`r_p`.  A
    system that is exactly zero (no entries, no penalty) gets :math:`x_i = 0`, its
    minimum-norm solution; a row whose Cholesky factorization meets a pivot at or below
    :math:`10^{-12}` times the largest diagonal entry is left unchanged and its index is
    written to ``failed[lo], failed[lo + 1], ...``; the number of such rows is returned
    (the caller solves them by least squares).  Only the rows of the range and their
    entries of ``failed`` are written, so disjoint ranges may run concurrently.
    """
    kk = k + 1 if biased else k
    B = GRAM_BLOCK
    G = np.zeros((kk, kk))
    rhs = np.empty(kk)
    F = np.zeros((B, kk))
    x = np.empty(kk)
    off_b = (m + n) * k
    self_off = 0 if solve_users else m
    other_off = m if solve_users else 0
    n_failed = 0
    for i in range(lo, hi):
        for a in range(kk):
            rhs[a] = 0.0
            g = G[a, a:]
            for t in range(kk - a):
                g[t] = 0.0
        p = indptr[i]
        end = indptr[i + 1]
        while p < end:
            nb = min(B, end - p)
            for q in range(nb):
                o = other_off + other[p + q]
                y = vals[p + q]
                fq = F[q]
                src = theta[o * k:o * k + k]
                for a in range(k):
                    fq[a] = src[a]
                if biased:
                    fq[k] = 1.0
                    y -= mu + theta[off_b + o]
                for a in range(kk):
                    rhs[a] += y * fq[a]
            if nb == B:
                _gram8(G, F, kk)
            else:
                for q in range(nb):
                    _gram1(G, F[q], kk)
            p += nb
        top = 0.0
        for a in range(kk):
            g = G[a, a:]
            for t in range(kk - a):
                g[t] *= s
            rhs[a] *= s
            G[a, a] += weights[i] * (reg if a < k else reg_bias)
            top = max(top, G[a, a])
        r = self_off + i
        if top == 0.0:
            # Nothing observed and nothing penalized: the minimum-norm solution is 0.
            for a in range(k):
                theta[r * k + a] = 0.0
            if biased:
                theta[off_b + r] = 0.0
            continue
        if not _cholesky_upper(G, kk, top):
            failed[lo + n_failed] = i
            n_failed += 1
            continue
        # R^T z = rhs, column by column (z overwrites rhs) ...
        for a in range(kk):
            z = rhs[a] / G[a, a]
            x[a] = z
            ga = G[a, a + 1:]
            tail = rhs[a + 1:]
            for t in range(kk - a - 1):
                tail[t] -= ga[t] * z
        # ... then R x = z by dot products, last row first.
        for a in range(kk - 1, -1, -1):
            v = x[a]
            for q in range(a + 1, kk):
                v -= G[a, q] * x[q]
            x[a] = v / G[a, a]
        for a in range(k):
            theta[r * k + a] = x[a]
        if biased:
            theta[off_b + r] = x[k]
    return n_failed
