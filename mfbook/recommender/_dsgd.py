"""Per-sample SGD on several threads with a deterministic block schedule (DSGD / FPSGD).

Two SGD updates commute exactly when they share neither the user nor the item: each reads
and writes only its own user row and item row.  With :math:`p` threads, the users are cut
into :math:`p` blocks :math:`I_0, \\dots, I_{p-1}` and the items into :math:`p` blocks
:math:`J_0, \\dots, J_{p-1}`; the ratings fall into :math:`p^2` blocks
:math:`(I_a, J_b)`.  An epoch is :math:`p` sub-epochs (*strata*); stratum :math:`s` pairs
user block :math:`a` with item block :math:`(a + \\sigma_s) \\bmod p` for every :math:`a`,
so its :math:`p` blocks touch disjoint rows and run on the :math:`p` threads at once, with
a barrier between strata.  This is the stratified SGD of Gemulla et al. (DSGD, KDD 2011)
and the block scheme of FPSGD (Chin et al., 2013), here with a fixed, seeded schedule
instead of FPSGD's dynamic one, so that a seed gives the same model on any machine with
the same number of threads.

**The schedule**, drawn from the generator at every epoch: the stratum order
:math:`\\sigma` (a permutation of :math:`0..p-1`), then one 64-bit seed per block, which
shuffles that block's ratings (Fisher-Yates driven by SplitMix64, with Lemire's unbiased
bounded integers; both are specified bit for bit, so the order does not depend on the
NumPy or numba version).  The blocks themselves are fixed by the data: users and items
are cut into :math:`p` contiguous index ranges holding about :math:`N/p` ratings each
(for :math:`p = 2` that is enough to make both blocks of a stratum the same size).

**How it differs from the sequential order.**  Sequential SGD visits the ratings in a
uniformly random permutation of all :math:`N`.  The parallel epoch is *exactly* (bit for
bit, tested) sequential SGD over another permutation: stratum by stratum, and within a
stratum the :math:`p` shuffled blocks interleaved round-robin (any interleaving gives the
same result, since ratings of different blocks commute; the round-robin one defines the
step counter of the lazy decay of ``penalty="all"``).  Such an order is not uniformly
random: within an epoch a user meets its items of block :math:`J_{\\sigma_0}` before those
of :math:`J_{\\sigma_1}`, and so on, and every block of ratings is visited in one stretch.
The order of the strata and of the ratings within each block is random and changes every
epoch, and every rating is still visited exactly once per epoch, so an epoch is still an
unbiased pass over the objective; the tests show that the test RMSE it reaches is within
the seed-to-seed spread of sequential SGD.  With :math:`p = 1` the function is plain
sequential SGD over the order given, and draws nothing from the generator.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..core import SeedLike, as_generator
from ._kernels import catch_up_rows, sgd_epoch, sgd_range
from ._threads import balanced_bounds, blas_guard, resolve_n_jobs, run_tasks

__all__ = ["sgd_epoch_blocks", "block_schedule", "epoch_order", "splitmix64_shuffle",
           "bounded_draws"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, inline="always")
def _splitmix64(state):
    """One step of SplitMix64 (Steele, Lea and Flood, 2014): ``(new state, output)``."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def bounded(state, bound):
    """A uniform integer in ``0..bound-1`` (``1 <= bound <= 2**32``) from SplitMix64 state:
    ``(new state, value)``.  Lemire's method: the high 32 bits of an output times the bound,
    redrawn when the low half falls below :math:`(2^{32} - \\text{bound}) \\bmod
    \\text{bound}` (which makes every value exactly equally likely)."""
    b = np.uint64(bound)
    while True:
        state, z = _splitmix64(state)
        prod = (z >> np.uint64(32)) * b
        low = prod & _LOW32
        if low >= b or low >= (np.uint64(0x100000000) - b) % b:
            return state, np.int64(prod >> np.uint64(32))


@njit(cache=True, nogil=True)
def bounded_draws(seed, bound, out):
    """``out[t]`` = successive :func:`bounded` draws from ``seed`` (for tests)."""
    state = np.uint64(seed)
    for t in range(out.shape[0]):
        state, out[t] = bounded(state, bound)


@njit(cache=True, nogil=True)
def splitmix64_shuffle(index, lo, hi, seed):
    """Shuffle ``index[lo:hi]`` in place (Fisher-Yates) from the 64-bit ``seed``.

    Position ``t = hi-lo-1, ..., 1`` (relative to ``lo``) is swapped with a position drawn
    uniformly from ``0..t`` by :func:`bounded`, so the block must hold at most
    :math:`2^{32}` entries.
    """
    state = np.uint64(seed)
    for t in range(hi - lo - 1, 0, -1):
        state, j = bounded(state, t + 1)
        tmp = index[lo + t]
        index[lo + t] = index[lo + j]
        index[lo + j] = tmp


@njit(cache=True, nogil=True)
def _count_rows(rows, cols, lo, hi, row_counts, col_counts):
    for t in range(lo, hi):
        row_counts[rows[t]] += 1
        col_counts[cols[t]] += 1


@njit(cache=True, nogil=True)
def _count_blocks(rows, cols, user_block, item_block, p, lo, hi, hist):
    for t in range(lo, hi):
        hist[user_block[rows[t]] * p + item_block[cols[t]]] += 1


@njit(cache=True, nogil=True)
def _scatter_blocks(rows, cols, user_block, item_block, p, lo, hi, pos, index):
    """``index[pos[b]] = t`` for the ratings ``t`` of chunk ``lo..hi-1`` of block ``b``
    (``pos[b]`` advancing), so that each block keeps the input order."""
    for t in range(lo, hi):
        b = user_block[rows[t]] * p + item_block[cols[t]]
        index[pos[b]] = t
        pos[b] += 1


@njit(cache=True, nogil=True)
def _shuffle_gather(index, starts, blocks, seeds, rows, cols, vals, out_rows, out_cols,
                    out_vals):
    """Shuffle each block of ``blocks`` with its seed, then gather its ratings."""
    for q in range(blocks.shape[0]):
        b = blocks[q]
        lo = starts[b]
        hi = starts[b + 1]
        splitmix64_shuffle(index, lo, hi, seeds[b])
        for t in range(lo, hi):
            s = index[t]
            out_rows[t] = rows[s]
            out_cols[t] = cols[s]
            out_vals[t] = vals[s]


def _chunks(n_total: int, p: int) -> list[tuple[int, int]]:
    cuts = [n_total * c // p for c in range(p + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def block_schedule(rows: np.ndarray, cols: np.ndarray, m: int, n: int, p: int,
                   rng: np.random.Generator) -> dict:
    """The blocks of one epoch and its schedule (the draws of :func:`sgd_epoch_blocks`).

    Returns a dict: ``user_block`` (m,), ``item_block`` (n,) the block of every user and
    item; ``starts`` (p*p + 1,) the offsets of the blocks (block ``a * p + b`` =
    :math:`(I_a, J_b)`) in ``index``, the input positions grouped by block, each block
    shuffled; ``shift`` the stratum order :math:`\\sigma`; ``seeds`` (p*p,) the blocks'
    seeds.  Draws from ``rng``: ``shift = rng.permutation(p)``, then
    ``seeds = rng.integers(0, 2**64, p*p, dtype=uint64)``.
    """
    shift = rng.permutation(p)
    seeds = rng.integers(0, 2**64, size=p * p, dtype=np.uint64)
    N = rows.shape[0]
    chunks = _chunks(N, p)
    row_counts = np.zeros((p, m), dtype=np.int64)
    col_counts = np.zeros((p, n), dtype=np.int64)
    run_tasks(_count_rows, [(rows, cols, lo, hi, row_counts[c], col_counts[c])
                            for c, (lo, hi) in enumerate(chunks)])
    user_bounds = balanced_bounds(row_counts.sum(axis=0), p)
    item_bounds = balanced_bounds(col_counts.sum(axis=0), p)
    user_block = np.repeat(np.arange(p, dtype=np.int64), np.diff(user_bounds))
    item_block = np.repeat(np.arange(p, dtype=np.int64), np.diff(item_bounds))
    hist = np.zeros((p, p * p), dtype=np.int64)
    run_tasks(_count_blocks, [(rows, cols, user_block, item_block, p, lo, hi, hist[c])
                              for c, (lo, hi) in enumerate(chunks)])
    sizes = hist.sum(axis=0)
    starts = np.zeros(p * p + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    # Chunk c writes block b from starts[b] + (entries of b in chunks before c): stable.
    pos = starts[:-1] + np.cumsum(hist, axis=0) - hist
    index = np.empty(N, dtype=np.int64)
    run_tasks(_scatter_blocks, [(rows, cols, user_block, item_block, p, lo, hi, pos[c], index)
                                for c, (lo, hi) in enumerate(chunks)])
    return {"user_block": user_block, "item_block": item_block, "index": index,
            "starts": starts, "shift": shift, "seeds": seeds}


def _stratum_blocks(shift: np.ndarray, s: int, p: int) -> np.ndarray:
    """Blocks of stratum ``s``: :math:`(I_a, J_{(a + \\sigma_s) \\bmod p})`, ``a = 0..p-1``."""
    a = np.arange(p)
    return a * p + (a + shift[s]) % p


def sgd_epoch_blocks(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, theta: np.ndarray,
                     m: int, k: int, biased: bool, mu: float, lr: float, pen: np.ndarray,
                     pen_bias: np.ndarray, all_rows: bool, last: np.ndarray, *,
                     n_jobs: int | None = None, random_state: SeedLike = None) -> None:
    """One epoch of per-sample SGD on ``n_jobs`` threads; updates ``theta`` (and ``last``).

    The first thirteen arguments are those of ``_kernels.sgd_epoch`` (the update, the
    penalties and the lazy decay of ``all_rows`` are documented there).  With one thread
    (``n_jobs`` None or 1) this *is* ``sgd_epoch`` over the ratings in the order given and
    ``random_state`` is not used.  With :math:`p > 1` threads the ratings are grouped into
    :math:`p^2` blocks and visited in the seeded block schedule of the module
    documentation, drawn from ``random_state`` (a Generator is advanced, as by the
    estimator's own shuffles); the order of the input only matters through the stable
    grouping, so the caller need not shuffle (it costs a sequential pass; the block
    shuffles run on the threads).  Same inputs, seed and ``n_jobs``: the same bits.
    ``n_jobs=-1`` uses every core, so its result depends on the machine's core count.
    """
    p = resolve_n_jobs(n_jobs)
    N = rows.shape[0]
    if not (cols.shape[0] == N and vals.shape[0] == N):
        raise ValueError(f"rows, cols and vals must have the same length, got {N}, "
                         f"{cols.shape[0]} and {vals.shape[0]}")
    if p == 1:
        sgd_epoch(rows, cols, vals, theta, m, k, biased, mu, lr, pen, pen_bias, all_rows, last)
        return
    n = last.shape[0] - m
    rng = as_generator(random_state)
    with blas_guard(p):
        _block_epoch(rows, cols, vals, theta, m, n, k, biased, mu, lr, pen, pen_bias, all_rows,
                     last, p, rng)


def _block_epoch(rows, cols, vals, theta, m, n, k, biased, mu, lr, pen, pen_bias, all_rows,
                 last, p, rng) -> None:
    N = rows.shape[0]
    plan = block_schedule(rows, cols, m, n, p, rng)
    starts, shift = plan["starts"], plan["shift"]
    out_rows = np.empty(N, dtype=rows.dtype)
    out_cols = np.empty(N, dtype=cols.dtype)
    out_vals = np.empty(N, dtype=vals.dtype)
    # Thread a shuffles and gathers the blocks of user block a.
    run_tasks(_shuffle_gather, [
        (plan["index"], starts, np.arange(a * p, (a + 1) * p), plan["seeds"], rows, cols, vals,
         out_rows, out_cols, out_vals) for a in range(p)])
    sizes = np.diff(starts)
    clock = 0
    for s in range(p):
        blocks = _stratum_blocks(shift, s, p)
        stratum_sizes = sizes[blocks]
        run_tasks(sgd_range, [
            (out_rows, out_cols, out_vals, starts[b], starts[b + 1], clock, stratum_sizes, a,
             theta, m, k, biased, mu, lr, pen, pen_bias, all_rows, last)
            for a, b in enumerate(blocks)])
        clock += int(stratum_sizes.sum())
    if all_rows:
        run_tasks(catch_up_rows, [(theta, lo, hi, N, k, biased, lr, pen, pen_bias, last)
                                  for lo, hi in _chunks(m + n, p)])


def epoch_order(rows: np.ndarray, cols: np.ndarray, m: int, n: int, n_jobs: int | None,
                random_state: SeedLike = None) -> np.ndarray:
    """The permutation ``perm`` such that ``sgd_epoch`` over ``rows[perm], cols[perm], ...``
    gives, bit for bit, the epoch :func:`sgd_epoch_blocks` runs from the same generator
    state (the identity for one thread).  For tests and for showing the schedule."""
    p = resolve_n_jobs(n_jobs)
    if p == 1:
        return np.arange(rows.shape[0])
    plan = block_schedule(rows, cols, m, n, p, as_generator(random_state))
    index, starts = plan["index"].copy(), plan["starts"]
    for b in range(p * p):
        splitmix64_shuffle(index, starts[b], starts[b + 1], plan["seeds"][b])
    parts = []
    for s in range(p):
        segs = [index[starts[b]:starts[b + 1]] for b in _stratum_blocks(plan["shift"], s, p)]
        longest = max(len(x) for x in segs)
        # Round-robin: round r takes the r-th rating of every block that has one.
        grid = np.full((longest, p), -1, dtype=np.int64)
        for a, seg in enumerate(segs):
            grid[:len(seg), a] = seg
        flat = grid.ravel()
        parts.append(flat[flat >= 0])
    return np.concatenate(parts)
