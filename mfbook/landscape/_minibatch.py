"""Mini-batch stochastic gradients of a factorization objective, and the epoch loop that uses them.

For the objective of :class:`mfbook.core.MFObjective`,

.. math::
    L(\\theta) = h\\Big[s\\sum_{(i,j)\\in\\Omega} e_{ij}^2 + \\lambda P(\\theta)\\Big],

a batch :math:`B \\subset \\Omega` drawn uniformly without replacement gives the unbiased
estimate

.. math::
    \\hat g_B(\\theta) = h\\Big[s\\,\\frac{N}{|B|}\\sum_{(i,j)\\in B}\\nabla e_{ij}^2
        + \\lambda\\nabla P(\\theta)\\Big], \\qquad \\mathbb E\\,\\hat g_B = \\nabla L(\\theta),

with :math:`N = |\\Omega|`, :math:`\\nabla_{\\mathbf u_i} e_{ij}^2 = -2e_{ij}\\mathbf v_j`,
:math:`\\nabla_{\\mathbf v_j} e_{ij}^2 = -2e_{ij}\\mathbf u_i` (and :math:`-2e_{ij}` for the
biases).  The penalty gradient is exact at every step (it costs :math:`O(d)`, no more than
the update itself).  For the mean objective (:math:`s = 1/N`) the data term is the batch
*mean*, :math:`\\tfrac1{|B|}\\sum_B`; a step :math:`\\eta` on it moves each factor by
:math:`\\eta/|B|` times the per-rating gradient, so ``lr / batch_size`` is the per-rating
step of Funk-style SGD.

:func:`minibatch_descend` shuffles :math:`\\Omega` at every epoch, cuts it into batches of
(nearly) equal size and hands each :math:`\\hat g_B` to any :class:`mfbook.core.Optimizer`.
"""

from __future__ import annotations

import time

import numpy as np

from ..core import (DivergenceError, DivergenceGuard, MFObjective, Optimizer, OptimResult,
                    SeedLike, as_generator, check_indices, check_int, check_option)

__all__ = ["minibatch_gradient", "minibatch_descend"]


def _check_objective(objective: object) -> MFObjective:
    if not isinstance(objective, MFObjective):
        raise TypeError(f"objective must be a mfbook.core.MFObjective, "
                        f"got {type(objective).__name__}")
    return objective


def minibatch_gradient(objective: MFObjective, theta: np.ndarray,
                       batch: np.ndarray) -> np.ndarray:
    """The unbiased estimate :math:`\\hat g_B(\\theta)` of :math:`\\nabla L(\\theta)` from a batch.

    Parameters
    ----------
    objective : MFObjective
    theta : ndarray, shape (d,)
    batch : ndarray of int
        Positions in ``objective.ratings`` (indices into its ``rows``, ``cols``,
        ``values``), distinct, at least one.

    Returns
    -------
    ndarray, shape (d,)
        With ``batch`` holding every rating once, exactly :meth:`MFObjective.grad`.
    """
    f = _check_objective(objective)
    theta = f.check_theta(theta)
    R = f.ratings
    batch = check_indices("batch", batch, size=R.nnz)
    if batch.size == 0:
        raise ValueError("batch must hold at least one rating")
    (m, n), k = f.shape, f.rank
    p = f.unpack(theta)
    rows, cols = R.rows[batch], R.cols[batch]
    Ur, Vc = p.U[rows], p.V[cols]
    pred = np.einsum("bk,bk->b", Ur, Vc)
    if f.biased:
        pred += f.mu + p.row_bias[rows] + p.col_bias[cols]
    e = R.values[batch] - pred
    h = 0.5 if f.half else 1.0
    w = -2.0 * h * f.error_scale * R.nnz / batch.size * e     # d L / d r_hat, per rating
    offsets = np.arange(k)
    gU = np.bincount((rows[:, None] * k + offsets).ravel(), (w[:, None] * Vc).ravel(), m * k)
    gV = np.bincount((cols[:, None] * k + offsets).ravel(), (w[:, None] * Ur).ravel(), n * k)
    pen = 2.0 * h * f.reg
    gU += pen * (f.row_weights[:, None] * p.U).ravel()
    gV += pen * (f.col_weights[:, None] * p.V).ravel()
    parts = [gU, gV]
    if f.biased:
        pb = 2.0 * h * f.reg_bias
        parts.append(np.bincount(rows, w, m) + pb * f.row_weights * p.row_bias)
        parts.append(np.bincount(cols, w, n) + pb * f.col_weights * p.col_bias)
    return np.concatenate(parts)


def minibatch_descend(
    objective: MFObjective,
    x0: np.ndarray,
    optimizer: Optimizer,
    n_epochs: int,
    *,
    batch_size: int,
    seed: SeedLike = 0,
    snapshot_every: int | None = None,
    on_divergence: str = "raise",
) -> OptimResult:
    """Mini-batch training: ``n_epochs`` passes over :math:`\\Omega` in shuffled batches.

    Each epoch draws a permutation of the ratings from ``seed``'s generator and splits it
    into :math:`\\lceil N/b\\rceil` batches of sizes differing by at most one
    (:func:`numpy.array_split`); ``optimizer.step`` is called once per batch with
    :func:`minibatch_gradient`.

    Parameters
    ----------
    objective : MFObjective
    x0 : ndarray, shape (d,)
        Starting point (not modified).
    optimizer : Optimizer
        Reset at the start; any rule of :mod:`mfbook.core`, or a
        :class:`~mfbook.landscape.Scheduled` one (its step counter counts batches).
    n_epochs : int
    batch_size : int
        :math:`b`, between 1 and :math:`N`; :math:`b = N` is full-batch descent.
    seed : int or Generator
        The shuffling stream.
    snapshot_every : int, optional
        Keep :math:`\\theta` every this many epochs (and at the start and the end).
    on_divergence : {"raise", "stop"}
        At the end of an epoch whose full loss is not finite or exceeds
        :data:`~mfbook.core.DIVERGENCE_FACTOR` times the starting loss
        (:class:`~mfbook.core.DivergenceGuard`): raise
        :class:`~mfbook.core.DivergenceError`, or stop and return the run so far (status
        ``"diverged"``, ``x`` the last epoch's parameters that passed).

    Returns
    -------
    OptimResult
        ``losses`` and ``grad_norms`` of the **full** objective after each epoch (index 0 is
        the start), ``n_steps`` the number of updates, ``snapshot_steps`` in epochs.
    """
    f = _check_objective(objective)
    x = f.check_theta(x0, name="x0").copy()
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a mfbook.core.Optimizer, "
                        f"got {type(optimizer).__name__}")
    n_epochs = check_int("n_epochs", n_epochs, minimum=0)
    N = f.ratings.nnz
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=N)
    if snapshot_every is not None:
        snapshot_every = check_int("snapshot_every", snapshot_every, minimum=1)
    check_option("on_divergence", on_divergence, ("raise", "stop"))
    rng = as_generator(seed)
    n_batches = -(-N // batch_size)
    guard = DivergenceGuard(optimizer.name)
    loss, grad = f.loss_grad(x)
    guard.start(loss)
    losses, gnorms = [loss], [float(np.linalg.norm(grad))]
    snaps, snap_epochs = ([x.copy()], [0]) if snapshot_every else ([], [])
    optimizer.reset(x)
    status, message, n_updates = "completed", f"performed {n_epochs} epochs", 0
    x_prev = x.copy()
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, n_epochs + 1):
            x_prev[...] = x
            for batch in np.array_split(rng.permutation(N), n_batches):
                optimizer.step(x, minibatch_gradient(f, x, batch))
                n_updates += 1
                if not np.isfinite(x).all():    # overflowed within the epoch
                    break
            loss, grad = f.loss_grad(x) if np.all(np.isfinite(x)) else (np.inf, x)
            why = guard.reason(loss)
            if why is not None:
                message = (guard.message(why, step=n_updates, lr=getattr(optimizer, "lr", None))
                           + f" (checked at the end of epoch {epoch})")
                if on_divergence == "raise":
                    raise DivergenceError(message)
                status, x = "diverged", x_prev
                break
            losses.append(float(loss))
            gnorms.append(float(np.linalg.norm(grad)))
            if snapshot_every and (epoch % snapshot_every == 0 or epoch == n_epochs):
                snaps.append(x.copy())
                snap_epochs.append(epoch)
    wall = time.perf_counter() - start
    return OptimResult(
        x=x, fun=losses[-1], losses=np.array(losses), grad_norms=np.array(gnorms),
        snapshots=np.array(snaps) if snaps else np.empty((0, x.size)),
        snapshot_steps=np.array(snap_epochs, dtype=int), n_steps=n_updates, wall_time=wall,
        status=status, message=message,
        optimizer=f"{optimizer!r}, batch_size={batch_size}")
