"""Compiled inner loops of the stochastic solvers of :mod:`mfbook.recommender` (numba).

Private: the public entry point is :class:`mfbook.recommender.MatrixFactorization`, which
validates its inputs and documents the maths.  The ALS kernel is in ``_als_kernels.py``,
the parallel SGD schedule in ``_dsgd.py``.

Why a compiler.  Per-sample SGD is sequential by definition: the update on rating
:math:`t+1` reads the factors written by rating :math:`t`, so it cannot be vectorized
over ratings.  Written as a Python loop, each update costs a few microseconds of
interpreter overhead, several seconds per epoch on a million ratings; compiled, it costs
tens of nanoseconds (chapter 3 and ``benchmarks/ch03_benchmark.py`` give the measurements).
Mini-batch steps are vectorizable, but compiled loops avoid the temporaries and per-call
overheads of the vectorized forms and were faster here at every size.

Conventions shared by the kernels.  The parameters are one flat vector ``theta`` laid out
like :class:`mfbook.core.MFObjective`: ``[U.ravel(), V.ravel(), b, c]`` with the biases
only in the biased model.  The kernels number the :math:`m + n` parameter rows as users
``0..m-1`` then items ``m..m+n-1``: row ``r`` has its factors at ``theta[r*k:(r+1)*k]`` and
its bias at ``theta[(m+n)*k + r]``.  ``pen`` and ``pen_bias`` hold one penalty coefficient
per row (the :math:`\\lambda w_i / n_i` or :math:`\\lambda w_i / N` of the estimator's
documentation).
The kernels use no ``fastmath``: they follow IEEE arithmetic so that they agree with plain
Python loops to rounding error.  ``cache=True`` stores the machine code next to this file
(``mfbook/__pycache__``), so only the first run after a change pays the compilation (a few
seconds for all kernels; ``benchmarks/ch03_benchmark.py`` measures it in fresh processes with
an empty cache).  Where the package directory is not writable, numba falls back to its
user-wide cache directory; ``NUMBA_CACHE_DIR`` overrides both.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sgd_epoch(rows, cols, vals, theta, m, k, biased, mu, lr, pen, pen_bias, all_rows, last):
    """One epoch of per-sample SGD over the ratings in the order given; updates ``theta``.

    ``rows``, ``cols``, ``vals`` are already in visiting order (gathered by the caller:
    reading them through a permutation inside the loop was 3x slower).  ``pen`` and
    ``pen_bias`` hold one penalty coefficient per row of :math:`U` then :math:`V`.  For
    rating :math:`(i, j)` with residual :math:`e` at the current parameters, and
    :math:`d_x = 1 - 2\\eta\\,\\text{pen}_x`:

    .. math::
        \\mathbf u_i \\leftarrow d_{i} \\mathbf u_i + 2\\eta e\\,\\mathbf v_j, \\quad
        \\mathbf v_j \\leftarrow d_{j} \\mathbf v_j + 2\\eta e\\,\\mathbf u_i, \\quad
        b_i \\leftarrow d^b_{i} b_i + 2\\eta e, \\quad c_j \\leftarrow d^b_{j} c_j + 2\\eta e,

    all from the values before the step.  With ``all_rows`` every *other* row is also
    multiplied by its :math:`d` at every step (the penalty gradient on all rows); that decay
    is applied lazily, as :math:`d^{\\,s}` for the :math:`s` steps since the row was last
    brought up to date (``last``, one step counter per row, zero on entry and on exit), and
    every row is brought up to date at the end of the epoch.
    """
    n_steps = rows.shape[0]
    one = np.array([n_steps], dtype=np.int64)
    sgd_range(rows, cols, vals, 0, n_steps, 0, one, 0, theta, m, k, biased, mu, lr, pen,
              pen_bias, all_rows, last)
    if all_rows:
        catch_up_rows(theta, 0, last.shape[0], n_steps, k, biased, lr, pen, pen_bias, last)


@njit(cache=True, inline="always")
def _merged_step(clock_base, sizes, block, t):
    """Step, in the round-robin merge of blocks of ``sizes``, of rating ``t`` of ``block``:
    ``clock_base`` plus the ratings of earlier rounds plus those of this round before it."""
    s = clock_base
    for b in range(sizes.shape[0]):
        s += min(sizes[b], t)
        if b < block and sizes[b] > t:
            s += 1
    return s


@njit(cache=True, nogil=True)
def sgd_range(rows, cols, vals, lo, hi, clock_base, sizes, block, theta, m, k, biased, mu, lr,
              pen, pen_bias, all_rows, last):
    """The updates of :func:`sgd_epoch` for the ratings ``lo..hi-1`` in that order.

    With ``all_rows`` the lazy decay needs each rating's step in the epoch: ``clock_base +
    t - lo`` if ``sizes`` has one entry, else the step of rating ``t - lo`` of block
    ``block`` in the round-robin merge of blocks of ``sizes`` (the parallel schedule,
    ``_dsgd.py``), starting at ``clock_base``.  Rows are not brought up to date at the end
    (:func:`catch_up_rows` does that once per epoch).
    """
    n = last.shape[0] - m
    off_v = m * k
    off_b = (m + n) * k
    s = 0
    for t in range(lo, hi):
        if all_rows:
            if sizes.shape[0] == 1:
                s = clock_base + t - lo
            else:
                s = _merged_step(clock_base, sizes, block, t - lo)
        i = rows[t]
        j = m + cols[t]          # row index of item j among the m + n rows
        ui = i * k
        vj = off_v + cols[t] * k
        bi = off_b + i
        cj = off_b + j
        if all_rows:
            gap = s - last[i]
            if gap > 0:
                f = (1.0 - 2.0 * lr * pen[i]) ** gap
                for a in range(k):
                    theta[ui + a] *= f
                if biased:
                    theta[bi] *= (1.0 - 2.0 * lr * pen_bias[i]) ** gap
            gap = s - last[j]
            if gap > 0:
                f = (1.0 - 2.0 * lr * pen[j]) ** gap
                for a in range(k):
                    theta[vj + a] *= f
                if biased:
                    theta[cj] *= (1.0 - 2.0 * lr * pen_bias[j]) ** gap
            last[i] = s + 1
            last[j] = s + 1
        pred = 0.0
        for a in range(k):
            pred += theta[ui + a] * theta[vj + a]
        if biased:
            pred += mu + theta[bi] + theta[cj]
        c = 2.0 * lr * (vals[t] - pred)
        du = 1.0 - 2.0 * lr * pen[i]
        dv = 1.0 - 2.0 * lr * pen[j]
        for a in range(k):
            u = theta[ui + a]
            v = theta[vj + a]
            theta[ui + a] = du * u + c * v
            theta[vj + a] = dv * v + c * u
        if biased:
            theta[bi] = (1.0 - 2.0 * lr * pen_bias[i]) * theta[bi] + c
            theta[cj] = (1.0 - 2.0 * lr * pen_bias[j]) * theta[cj] + c


@njit(cache=True, nogil=True)
def catch_up_rows(theta, lo, hi, n_steps, k, biased, lr, pen, pen_bias, last):
    """End of an epoch of ``n_steps`` steps with the penalty on all rows: apply to rows
    ``lo..hi-1`` the decay of the steps they have not had yet and reset ``last`` to 0."""
    off_b = last.shape[0] * k
    for r in range(lo, hi):
        gap = n_steps - last[r]
        if gap > 0:
            start = r * k
            f = (1.0 - 2.0 * lr * pen[r]) ** gap
            for a in range(k):
                theta[start + a] *= f
            if biased:
                theta[off_b + r] *= (1.0 - 2.0 * lr * pen_bias[r]) ** gap
        last[r] = 0


@njit(cache=True)
def _dense_update(theta, grad, mom, sec, base, n_rows, width, pen, n_b, lr, all_rows, method,
                  beta1, beta2, eps, c1, c2):
    """Apply one step to ``n_rows`` rows of ``width`` parameters starting at ``base``.

    The gradient is ``grad / n_b`` plus, if ``all_rows``, ``2 pen[r] theta``; ``grad`` is
    zeroed.  The method is chosen outside the loops so that each loop stays simple.
    """
    for r in range(n_rows):
        p2 = 2.0 * pen[r] if all_rows else 0.0
        start = base + r * width
        if method == 0:
            for q in range(start, start + width):
                g = grad[q] / n_b + p2 * theta[q]
                grad[q] = 0.0
                theta[q] -= lr * g
        elif method == 1:
            for q in range(start, start + width):
                g = grad[q] / n_b + p2 * theta[q]
                grad[q] = 0.0
                mom[q] = beta1 * mom[q] - lr * g
                theta[q] += mom[q]
        else:
            for q in range(start, start + width):
                g = grad[q] / n_b + p2 * theta[q]
                grad[q] = 0.0
                mom[q] = beta1 * mom[q] + (1.0 - beta1) * g
                sec[q] = beta2 * sec[q] + (1.0 - beta2) * g * g
                theta[q] -= lr * (mom[q] / c1) / (np.sqrt(sec[q] / c2) + eps)


@njit(cache=True)
def minibatch_epoch(rows, cols, vals, batch, theta, m, k, biased, mu, lr, pen, pen_bias,
                    all_rows, method, beta1, beta2, eps, step, grad, mom, sec, mark):
    """One epoch of mini-batch steps; updates ``theta`` and the optimizer state in place.

    ``rows``, ``cols``, ``vals`` are in visiting order; each batch of ``batch`` consecutive
    ratings (the last may be smaller) gives the gradient estimate

    .. math::
        g = \\frac{1}{|B|} \\sum_{(i,j) \\in B} \\big(\\nabla e_{ij}^2 + [\\text{rows}]\\,
        2\\,\\text{pen} \\odot \\theta_{(i,j)}\\big) + [\\text{all}]\\, 2\\,\\text{pen} \\odot \\theta

    (the penalty on the rows of the batch, once per rating, or on every row once per step;
    ``pen``, ``pen_bias`` hold one coefficient per row of :math:`U` then :math:`V`), and
    ``method`` applies it: 0 plain step :math:`\\theta \\leftarrow \\theta - \\eta g`
    (only the rows of the batch change, unless ``all_rows``), 1 heavy ball
    :math:`m \\leftarrow \\beta_1 m - \\eta g,\\ \\theta \\leftarrow \\theta + m`,
    2 Adam with bias correction
    :math:`\\theta \\leftarrow \\theta - \\eta\\,\\hat m / (\\sqrt{\\hat s} + \\epsilon)`.
    Methods 1 and 2, and ``all_rows``, touch every parameter at every step.  ``step`` is
    Adam's step counter before the epoch; the counter after it is returned.  ``grad`` must
    be zero on entry and is zero on exit; ``mark`` (one int per row of :math:`U` and
    :math:`V`) must be -1 on entry and is -1 on exit.
    """
    n_total = rows.shape[0]
    n = mark.shape[0] - m
    off_v = m * k
    off_b = (m + n) * k
    touched = np.empty(2 * batch, dtype=np.int64)
    dense = all_rows or method != 0
    for start in range(0, n_total, batch):
        stop = min(start + batch, n_total)
        n_b = stop - start
        n_touched = 0
        for t in range(start, stop):
            i = rows[t]
            j = m + cols[t]
            ui = i * k
            vj = off_v + cols[t] * k
            if not dense:
                if mark[i] < 0:
                    mark[i] = 1
                    touched[n_touched] = i
                    n_touched += 1
                if mark[j] < 0:
                    mark[j] = 1
                    touched[n_touched] = j
                    n_touched += 1
            pred = 0.0
            for a in range(k):
                pred += theta[ui + a] * theta[vj + a]
            if biased:
                pred += mu + theta[off_b + i] + theta[off_b + j]
            c = -2.0 * (vals[t] - pred)
            for a in range(k):
                grad[ui + a] += c * theta[vj + a]
                grad[vj + a] += c * theta[ui + a]
            if biased:
                grad[off_b + i] += c
                grad[off_b + j] += c
            if not all_rows:
                pu = 2.0 * pen[i]
                pv = 2.0 * pen[j]
                for a in range(k):
                    grad[ui + a] += pu * theta[ui + a]
                    grad[vj + a] += pv * theta[vj + a]
                if biased:
                    grad[off_b + i] += 2.0 * pen_bias[i] * theta[off_b + i]
                    grad[off_b + j] += 2.0 * pen_bias[j] * theta[off_b + j]
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
        _dense_update(theta, grad, mom, sec, 0, m + n, k, pen, n_b, lr, all_rows, method,
                      beta1, beta2, eps, c1, c2)
        if biased:
            _dense_update(theta, grad, mom, sec, off_b, m + n, 1, pen_bias, n_b, lr, all_rows,
                          method, beta1, beta2, eps, c1, c2)
    return step


@njit(cache=True, inline="always")
def _prediction(theta, i, j, m, n, k, biased, mu):
    """:math:`\\hat r_{ij} = \\mathbf u_i^\\top \\mathbf v_j\\ (+ \\mu + b_i + c_j)` from ``theta``."""
    ui = i * k
    vj = m * k + j * k
    acc = 0.0
    for a in range(k):
        acc += theta[ui + a] * theta[vj + a]
    if biased:
        off_b = (m + n) * k
        acc += mu + theta[off_b + i] + theta[off_b + m + j]
    return acc


@njit(cache=True)
def predict_pairs(theta, m, n, k, biased, mu, rows, cols, out):
    """``out[t]`` = :math:`\\hat r` at ``(rows[t], cols[t])`` (indices must be in range)."""
    for t in range(rows.shape[0]):
        out[t] = _prediction(theta, rows[t], cols[t], m, n, k, biased, mu)


@njit(cache=True)
def evaluate(theta, m, n, k, biased, mu, penalty_weights, rows, cols, vals, vrows, vcols,
             vvals, clip, lo, hi):
    """``(L, train SSE, validation SSE)`` in one pass, for the per-epoch history.

    :math:`L = \\sum e^2 + \\sum_q w_q \\theta_q^2` uses unclipped predictions; the two sums
    of squared errors use predictions clipped to ``[lo, hi]`` if ``clip``.
    """
    sse = 0.0
    sse_train = 0.0
    for t in range(rows.shape[0]):
        acc = _prediction(theta, rows[t], cols[t], m, n, k, biased, mu)
        e = vals[t] - acc
        sse += e * e
        if clip:
            e = vals[t] - min(max(acc, lo), hi)
        sse_train += e * e
    pen = 0.0
    for q in range(theta.shape[0]):
        pen += penalty_weights[q] * theta[q] * theta[q]
    sse_valid = 0.0
    for t in range(vrows.shape[0]):
        acc = _prediction(theta, vrows[t], vcols[t], m, n, k, biased, mu)
        if clip:
            acc = min(max(acc, lo), hi)
        e = vvals[t] - acc
        sse_valid += e * e
    return sse + pen, sse_train, sse_valid
