"""On paper: memory and shuffle volume of Spark's blocked ALS at a scale no test can run.

Spark's ALS :cite:`spark_als` hashes users into ``b_u`` blocks and items into ``b_i``
blocks.  Each side keeps its ratings twice (grouped by user block and by item block: an
int index and a float rating, 8 bytes per rating per side) and, per (source block,
destination block) pair, the list of source rows the destination needs (4 bytes each).  In
one iteration every user block sends, to every item block, the factors of its users who
rated an item of that block (a float array of :math:`k` entries, 16 bytes of array header),
the items are solved, and the item factors travel back the same way.  With items hashed
uniformly, a user with :math:`n_i` ratings touches

.. math::

    t_i(b_i) = b_i \\Big(1 - \\big(1 - \\tfrac{1}{b_i}\\big)^{n_i}\\Big)
    \\le \\min(b_i, n_i)

item blocks on average, so the user-to-item shuffle moves :math:`(4k + 16)\\sum_i t_i(b_i)`
bytes, rising about linearly in :math:`b_i` until :math:`b_i` nears :math:`n_i` and then
levelling off at :math:`(4k+16)|\\Omega|`: every rating carries its own copy of a factor.
A task that solves one item block holds that block's ratings and every user factor sent
to it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..core import check_array, check_int

__all__ = ["BlockedALSCost", "blocked_als_cost"]

_GB = 1e9


class BlockedALSCost(NamedTuple):
    """Bytes of one Spark ALS configuration (see :func:`blocked_als_cost`); all in GB."""

    n_blocks: int
    ratings_gb: float
    """Ratings grouped by user blocks and by item blocks (both kept, cached)."""
    routing_gb: float
    """The out-block index lists: which source rows go to which destination block."""
    factors_gb: float
    """User and item factors, current and previous iteration (both cached across the step)."""
    shuffle_gb: float
    """Factor bytes shuffled in one iteration (users to item blocks plus items to user blocks)."""
    task_gb: float
    """Working set of the largest solve task: one destination block's ratings and the
    source factors it receives."""

    @property
    def resident_gb(self) -> float:
        """What stays in memory across iterations: ratings, routing, factors."""
        return self.ratings_gb + self.routing_gb + self.factors_gb


def _touched(counts: np.ndarray, blocks: int) -> np.ndarray:
    if blocks == 1:
        return np.minimum(counts, 1.0)
    return blocks * -np.expm1(counts * np.log1p(-1.0 / blocks))


def blocked_als_cost(n_users: int, n_items: int, n_ratings: int, rank: int, n_blocks: int, *,
                     user_counts: np.ndarray | None = None,
                     item_counts: np.ndarray | None = None) -> BlockedALSCost:
    """Memory and per-iteration shuffle of Spark's ALS with ``n_blocks`` user and item blocks.

    Parameters
    ----------
    n_users, n_items, n_ratings, rank, n_blocks : int
        The problem and ``numUserBlocks = numItemBlocks = n_blocks``.
    user_counts, item_counts : array, optional
        Ratings per user and per item; by default every user has ``n_ratings / n_users``
        and every item ``n_ratings / n_items`` (the spread over blocks is then the largest:
        skewed counts touch fewer blocks).

    Returns
    -------
    BlockedALSCost
        With factors stored as float32 arrays (:math:`4k + 16` bytes each, as Spark does),
        ratings as 8 bytes per rating per side, routing as 4 bytes per (row, destination
        block) pair.  Executors' JVM overhead and Spark's own bookkeeping are not included:
        these are lower bounds.

    Raises
    ------
    TypeError, ValueError
        For non-integer or non-positive sizes, ``n_ratings > n_users * n_items``, or count
        arrays of the wrong length.
    """
    m = check_int("n_users", n_users, minimum=1)
    n = check_int("n_items", n_items, minimum=1)
    nnz = check_int("n_ratings", n_ratings, minimum=1, maximum=m * n)
    k = check_int("rank", rank, minimum=1)
    b = check_int("n_blocks", n_blocks, minimum=1)
    nu = (np.full(1, nnz / m) if user_counts is None
          else check_array("user_counts", user_counts, ndim=1, shape=(m,)))
    ni = (np.full(1, nnz / n) if item_counts is None
          else check_array("item_counts", item_counts, ndim=1, shape=(n,)))
    wu, wi = (m if user_counts is None else 1), (n if item_counts is None else 1)
    vec = 4.0 * k + 16.0
    pairs_u = wu * float(np.sum(_touched(nu, b)))   # (user, item block) pairs
    pairs_i = wi * float(np.sum(_touched(ni, b)))   # (item, user block) pairs
    # largest task: one item block (or user block) -- its ratings and received factors
    task_item = 8.0 * nnz / b + vec * pairs_u / b
    task_user = 8.0 * nnz / b + vec * pairs_i / b
    return BlockedALSCost(
        n_blocks=b,
        ratings_gb=2 * 8.0 * nnz / _GB,
        routing_gb=4.0 * (pairs_u + pairs_i) / _GB,
        factors_gb=2 * vec * (m + n) / _GB,
        shuffle_gb=vec * (pairs_u + pairs_i) / _GB,
        task_gb=max(task_item, task_user) / _GB)
