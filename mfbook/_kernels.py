"""Compiled inner loops of :mod:`mfbook.recommender` and :mod:`mfbook.als` (numba).

Private: the public entry points are :class:`mfbook.recommender.MatrixFactorization` and
:func:`mfbook.als.als_half_sweep`, which validate their inputs and document the maths.

Why a compiler.  Per-sample SGD is sequential by definition: the update on rating
:math:`t+1` reads the factors written by rating :math:`t`, so it cannot be vectorized
over ratings.  Written as a Python loop, each update costs a few microseconds of
interpreter overhead, several seconds per epoch on a million ratings; compiled, it costs
tens of nanoseconds (chapter 3 and ``benchmarks/ch03_speed.py`` give the measurements).
Mini-batch steps and the Gram matrices of ALS are vectorizable, but compiled loops avoid
the temporaries of the vectorized forms (an ``(N, k, k)`` array for the Gram matrices)
and were faster here at every size.

Conventions shared by the kernels.  The parameters are one flat vector ``theta`` laid out
like :class:`mfbook.objective.MFObjective`: ``[U.ravel(), V.ravel(), b, c]`` with the biases
only in the biased model, so row ``i`` of :math:`U` starts at ``i * k`` and row ``j`` of
:math:`V` at ``(m + j) * k``.  ``pen`` holds one penalty coefficient per parameter (the
:math:`\\lambda w_i / n_i` or :math:`\\lambda w_i / N` of the estimator's documentation).
The kernels use no ``fastmath``: they follow IEEE arithmetic so that they agree with plain
Python loops to rounding error.  ``cache=True`` stores the machine code next to this file
(``mfbook/__pycache__``), so only the first run after a change pays the compilation.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sgd_epoch(rows, cols, vals, order, theta, m, k, biased, mu, lr, pen, all_rows, last):
    """One epoch of per-sample SGD, ratings visited in ``order``; updates ``theta`` in place.

    For rating :math:`(i, j)` with residual :math:`e` at the current parameters, and
    :math:`d_x = 1 - 2\\eta\\,\\text{pen}_x`:

    .. math::
        \\mathbf u_i \\leftarrow d_{\\mathbf u_i} \\mathbf u_i + 2\\eta e\\,\\mathbf v_j, \\quad
        \\mathbf v_j \\leftarrow d_{\\mathbf v_j} \\mathbf v_j + 2\\eta e\\,\\mathbf u_i, \\quad
        b_i \\leftarrow d_{b_i} b_i + 2\\eta e, \\quad c_j \\leftarrow d_{c_j} c_j + 2\\eta e,

    all from the values before the step.  With ``all_rows`` every *other* parameter is also
    multiplied by its :math:`d_x` at every step (the penalty gradient on all rows); that
    decay is applied lazily, as :math:`d_x^{\\,s}` for the :math:`s` steps since the
    parameter row was last brought up to date (``last`` holds that step, per row of
    :math:`U` then :math:`V`), and every row is brought up to date at the end of the epoch.
    """
    n_steps = order.shape[0]
    n = (last.shape[0] - m)
    off_v = m * k
    off_b = (m + n) * k
    off_c = off_b + m
    for t in range(n_steps):
        p = order[t]
        i = rows[p]
        j = cols[p]
        ui = i * k
        vj = off_v + j * k
        if all_rows:
            gap = t - last[i]
            if gap > 0:
                f = (1.0 - 2.0 * lr * pen[ui]) ** gap
                for a in range(k):
                    theta[ui + a] *= f
                if biased:
                    theta[off_b + i] *= (1.0 - 2.0 * lr * pen[off_b + i]) ** gap
            gap = t - last[m + j]
            if gap > 0:
                f = (1.0 - 2.0 * lr * pen[vj]) ** gap
                for a in range(k):
                    theta[vj + a] *= f
                if biased:
                    theta[off_c + j] *= (1.0 - 2.0 * lr * pen[off_c + j]) ** gap
            last[i] = t + 1
            last[m + j] = t + 1
        pred = 0.0
        for a in range(k):
            pred += theta[ui + a] * theta[vj + a]
        if biased:
            pred += mu + theta[off_b + i] + theta[off_c + j]
        c = 2.0 * lr * (vals[p] - pred)
        du = 1.0 - 2.0 * lr * pen[ui]
        dv = 1.0 - 2.0 * lr * pen[vj]
        for a in range(k):
            u = theta[ui + a]
            v = theta[vj + a]
            theta[ui + a] = du * u + c * v
            theta[vj + a] = dv * v + c * u
        if biased:
            theta[off_b + i] = (1.0 - 2.0 * lr * pen[off_b + i]) * theta[off_b + i] + c
            theta[off_c + j] = (1.0 - 2.0 * lr * pen[off_c + j]) * theta[off_c + j] + c
    if all_rows:
        for r in range(m + n):
            gap = n_steps - last[r]
            if gap > 0:
                start = r * k
                f = (1.0 - 2.0 * lr * pen[start]) ** gap
                for a in range(k):
                    theta[start + a] *= f
                if biased:
                    q = off_b + r
                    theta[q] *= (1.0 - 2.0 * lr * pen[q]) ** gap
            last[r] = 0


@njit(cache=True)
def minibatch_epoch(rows, cols, vals, order, batch, theta, m, k, biased, mu, lr, pen,
                    all_rows, method, beta1, beta2, eps, step, grad, mom, sec, mark):
    """One epoch of mini-batch steps; updates ``theta`` and the optimizer state in place.

    Each batch of ``batch`` consecutive ratings of ``order`` (the last may be smaller)
    gives the gradient estimate

    .. math::
        g = \\frac{1}{|B|} \\sum_{(i,j) \\in B} \\big(\\nabla e_{ij}^2 + [\\text{rows}]\\,
        2\\,\\text{pen} \\odot \\theta_{(i,j)}\\big) + [\\text{all}]\\, 2\\,\\text{pen} \\odot \\theta

    (the penalty on the rows of the batch, once per rating, or on every row once per step),
    and ``method`` applies it: 0 plain step :math:`\\theta \\leftarrow \\theta - \\eta g`
    (only the rows of the batch change, unless ``all_rows``), 1 heavy ball
    :math:`m \\leftarrow \\beta_1 m - \\eta g,\\ \\theta \\leftarrow \\theta + m`,
    2 Adam with bias correction
    :math:`\\theta \\leftarrow \\theta - \\eta\\,\\hat m / (\\sqrt{\\hat s} + \\epsilon)`.
    Methods 1 and 2, and ``all_rows``, touch every parameter at every step.  ``step`` is
    Adam's step counter before the epoch; the counter after it is returned.  ``grad`` must
    be zero on entry and is zero on exit; ``mark`` (one int per row of :math:`U` and
    :math:`V`) must be -1 on entry and is -1 on exit.
    """
    n_total = order.shape[0]
    d = theta.shape[0]
    n = mark.shape[0] - m
    off_v = m * k
    off_b = (m + n) * k
    off_c = off_b + m
    touched = np.empty(2 * batch, dtype=np.int64)
    dense = all_rows or method != 0
    for start in range(0, n_total, batch):
        stop = min(start + batch, n_total)
        n_b = stop - start
        n_touched = 0
        for t in range(start, stop):
            p = order[t]
            i = rows[p]
            j = cols[p]
            ui = i * k
            vj = off_v + j * k
            if not dense:
                if mark[i] < 0:
                    mark[i] = 1
                    touched[n_touched] = i
                    n_touched += 1
                if mark[m + j] < 0:
                    mark[m + j] = 1
                    touched[n_touched] = m + j
                    n_touched += 1
            pred = 0.0
            for a in range(k):
                pred += theta[ui + a] * theta[vj + a]
            if biased:
                pred += mu + theta[off_b + i] + theta[off_c + j]
            c = -2.0 * (vals[p] - pred)
            for a in range(k):
                grad[ui + a] += c * theta[vj + a]
                grad[vj + a] += c * theta[ui + a]
            if biased:
                grad[off_b + i] += c
                grad[off_c + j] += c
            if not all_rows:
                for a in range(k):
                    grad[ui + a] += 2.0 * pen[ui + a] * theta[ui + a]
                    grad[vj + a] += 2.0 * pen[vj + a] * theta[vj + a]
                if biased:
                    grad[off_b + i] += 2.0 * pen[off_b + i] * theta[off_b + i]
                    grad[off_c + j] += 2.0 * pen[off_c + j] * theta[off_c + j]
        if not dense:
            # Plain step on the rows of the batch only; everything else has zero gradient.
            for s in range(n_touched):
                r = touched[s]
                base = r * k
                for a in range(k):
                    theta[base + a] -= lr * (grad[base + a] / n_b)
                    grad[base + a] = 0.0
                if biased:
                    q = off_b + r
                    theta[q] -= lr * (grad[q] / n_b)
                    grad[q] = 0.0
                mark[r] = -1
            continue
        step += 1
        c1 = 1.0 - beta1 ** step
        c2 = 1.0 - beta2 ** step
        for q in range(d):
            g = grad[q] / n_b
            if all_rows:
                g += 2.0 * pen[q] * theta[q]
            grad[q] = 0.0
            if method == 0:
                theta[q] -= lr * g
            elif method == 1:
                mom[q] = beta1 * mom[q] - lr * g
                theta[q] += mom[q]
            else:
                mom[q] = beta1 * mom[q] + (1.0 - beta1) * g
                sec[q] = beta2 * sec[q] + (1.0 - beta2) * g * g
                theta[q] -= lr * (mom[q] / c1) / (np.sqrt(sec[q] / c2) + eps)
    return step


@njit(cache=True)
def gram_rhs(indptr, other, targets, feats, gram, rhs):
    """Per-row Gram matrices and right-hand sides of the ALS normal equations.

    For row :math:`i` of a CSR pattern (``indptr``, ``other``) with ``targets`` in the same
    order: ``gram[i] = sum_p a_p a_p^T`` and ``rhs[i] = sum_p y_p a_p``, with
    :math:`a_p` = ``feats[other[p]]``: :math:`|\\Omega| k^2` multiply-adds in contiguous
    inner loops that the compiler vectorizes.  (Handing :math:`F_i^\\top F_i` to BLAS was
    twice as fast at :math:`k = 20`, but compiling it took 4 s instead of 0.5 s.)
    Overwrites ``gram`` and ``rhs``.
    """
    n_self = indptr.shape[0] - 1
    kk = feats.shape[1]
    for i in range(n_self):
        for a in range(kk):
            rhs[i, a] = 0.0
            for b in range(kk):
                gram[i, a, b] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = other[p]
            y = targets[p]
            for a in range(kk):
                fa = feats[j, a]
                rhs[i, a] += y * fa
                for b in range(kk):
                    gram[i, a, b] += fa * feats[j, b]
