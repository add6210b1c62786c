"""Synthetic data sets with a known truth, one per source document of the book.

* :func:`streamrec` -- low-rank Gaussian factors plus Gaussian noise, uniformly sampled
  entries (chapter 2);
* :func:`rating_matrix` -- a low-rank matrix rescaled to the 1-5 rating range, noisy and
  clipped, with a minimum number of observed entries per row and column (chapter 3);
* :func:`sales_matrix` -- a non-negative matrix built from log-normal factors whose
  weights decay geometrically (chapter 5);
* :func:`movielens_like` -- a biased low-rank model observed with the shape, size and
  skewed activity of MovieLens-1M (chapter 3's speed and accuracy benchmarks).

Each returns a :class:`SyntheticRatings`: what a learner observes and the truth behind it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import Ratings, SeedLike, as_generator, check_int, check_real

__all__ = ["SyntheticRatings", "streamrec", "rating_matrix", "sales_matrix", "truncation_mse",
           "skewed_pairs",
           "movielens_like"]


@dataclass(frozen=True)
class SyntheticRatings:
    """A synthetic data set: what a learner observes and the truth behind it.

    Attributes
    ----------
    observed : Ratings
        The observed (possibly noisy) entries.
    truth : ndarray, shape (m, n)
        The noise-free matrix.
    row_factors, col_factors : ndarray
        The factors the truth was built from (``truth`` is a function of them).
    noisy : ndarray, shape (m, n) or None
        The full noisy matrix when the generator draws noise for every entry.
    """

    observed: Ratings
    truth: np.ndarray
    row_factors: np.ndarray
    col_factors: np.ndarray
    noisy: np.ndarray | None = None

    def hidden(self) -> Ratings:
        """The unobserved entries, valued by the noise-free truth."""
        return self.observed.complement(self.truth)


def _check_positive_int(name: str, value: int) -> int:
    value = check_int(name, value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def _check_rate(name: str, value: float) -> float:
    return check_real(name, value, minimum=0.0, maximum=1.0, min_open=True)


def _check_std(name: str, value: float) -> float:
    return check_real(name, value, minimum=0.0)


def streamrec(
    n_users: int = 500,
    n_items: int = 200,
    true_rank: int = 5,
    obs_rate: float = 0.1,
    noise_std: float = 0.3,
    seed: SeedLike = 42,
) -> SyntheticRatings:
    """The data of the StreamRec case study :cite:`seed_streamrec`: Gaussian low-rank truth,
    noisy uniform sample.

    .. math::
        U^\\star_{ia}, V^\\star_{ja} \\sim \\mathcal{N}(0, 1), \\qquad
        M = U^\\star V^{\\star\\top}, \\qquad
        r_{ij} = M_{ij} + \\varepsilon_{ij},\\ \\varepsilon_{ij} \\sim \\mathcal{N}(0, \\sigma^2)

    for each entry independently observed with probability ``obs_rate``.  The random
    draws happen in the order of the source document, so ``seed=42`` reproduces its
    matrix exactly.
    """
    n_users = _check_positive_int("n_users", n_users)
    n_items = _check_positive_int("n_items", n_items)
    true_rank = _check_positive_int("true_rank", true_rank)
    obs_rate = _check_rate("obs_rate", obs_rate)
    noise_std = _check_std("noise_std", noise_std)
    rng = as_generator(seed)
    u_true = rng.normal(0.0, 1.0, (n_users, true_rank))
    v_true = rng.normal(0.0, 1.0, (n_items, true_rank))
    truth = u_true @ v_true.T
    mask = rng.random((n_users, n_items)) < obs_rate
    rows, cols = np.nonzero(mask)
    values = truth[rows, cols] + rng.normal(0.0, noise_std, len(rows))
    observed = Ratings(rows, cols, values, truth.shape)
    return SyntheticRatings(observed, truth, u_true, v_true)


def rating_matrix(
    n_users: int = 100,
    n_items: int = 60,
    true_rank: int = 4,
    obs_rate: float = 0.2,
    noise_std: float = 0.25,
    min_per_row: int = 2,
    min_per_col: int = 2,
    seed: SeedLike = 42,
) -> SyntheticRatings:
    """The 1-5 rating matrix of the latent factor course project :cite:`seed_latentfactor`,
    with its coverage guarantee.

    A Gaussian rank-``true_rank`` matrix is rescaled affinely to :math:`[1, 5]`
    (``truth``), noise :math:`\\mathcal{N}(0, \\sigma^2)` is added to every entry and the
    result is clipped to :math:`[1, 5]` (``noisy``).  Entries are observed independently
    with probability ``obs_rate``; afterwards every row with fewer than ``min_per_row``
    observed entries gets ``min_per_row`` entries chosen at random switched on (and the same
    for columns), so every user and item has at least that many ratings.

    The draws follow the source document's order, so ``seed=42`` reproduces its matrix and
    mask; pass a Generator to continue the same stream (the source splits with it next).
    """
    n_users = _check_positive_int("n_users", n_users)
    n_items = _check_positive_int("n_items", n_items)
    true_rank = _check_positive_int("true_rank", true_rank)
    obs_rate = _check_rate("obs_rate", obs_rate)
    noise_std = _check_std("noise_std", noise_std)
    min_per_row = check_int("min_per_row", min_per_row)
    min_per_col = check_int("min_per_col", min_per_col)
    if min_per_row > n_items or min_per_col > n_users or min(min_per_row, min_per_col) < 0:
        raise ValueError(
            f"min_per_row must be in 0..{n_items} and min_per_col in 0..{n_users}, "
            f"got {min_per_row} and {min_per_col}"
        )
    rng = as_generator(seed)
    u_true = rng.normal(0.0, 1.0, (n_users, true_rank))
    v_true = rng.normal(0.0, 1.0, (n_items, true_rank))
    raw = u_true @ v_true.T
    truth = 1.0 + 4.0 * (raw - raw.min()) / (raw.max() - raw.min())
    noisy = np.clip(truth + rng.normal(0.0, noise_std, truth.shape), 1.0, 5.0)
    mask = rng.uniform(0.0, 1.0, truth.shape) < obs_rate
    # The coverage fix is sequential on purpose: it consumes random numbers only for the
    # rows and columns that need it, exactly like the source's loop.
    for i in range(n_users):
        if mask[i].sum() < min_per_row:
            mask[i, rng.choice(n_items, min_per_row, replace=False)] = True
    for j in range(n_items):
        if mask[:, j].sum() < min_per_col:
            mask[rng.choice(n_users, min_per_col, replace=False), j] = True
    observed = Ratings.from_dense(noisy, mask)
    return SyntheticRatings(observed, truth, u_true, v_true, noisy=noisy)


def sales_matrix(
    n_products: int = 1000,
    n_stores: int = 100,
    rank: int = 12,
    obs_rate: float = 0.5,
    weight_decades: float = 2.0,
    seed: SeedLike = 0,
    max_tries: int = 100,
) -> SyntheticRatings:
    """The non-negative "sales" matrix of the Keras question-and-answer thread
    :cite:`seed_kerasnmf`.

    .. math::
        w_a = 10^{-\\text{weight\\_decades}\\,a/(\\text{rank}-1)}, \\quad
        S = A^{p} A^{s\\top}, \\\\
        A^{p}_{ia} = e^{z_{ia}} w_a, \\quad A^{s}_{ja} = e^{z'_{ja}} w_a,

    with :math:`z, z'` standard normal, so each factor column is log-normal and the
    :math:`a`-th rank-one term carries weight :math:`w_a^2`.  No noise is added.  Entries
    are observed with probability ``obs_rate``; the mask is redrawn (at most ``max_tries``
    times) until it passes the source's coverage asserts: every store has more than
    :math:`\\sqrt{\\text{n\\_products}}` observed products and every product more than
    :math:`\\sqrt{\\text{n\\_stores}}` observed stores.

    ``row_factors`` and ``col_factors`` are :math:`A^p` and :math:`A^s`.  The source drew
    from NumPy's legacy global generator without a seed, so only the distribution (not
    the exact numbers) can be matched.
    """
    n_products = _check_positive_int("n_products", n_products)
    n_stores = _check_positive_int("n_stores", n_stores)
    rank = _check_positive_int("rank", rank)
    obs_rate = _check_rate("obs_rate", obs_rate)
    weight_decades = check_real("weight_decades", weight_decades, minimum=0.0, maximum=300.0)
    max_tries = check_int("max_tries", max_tries, minimum=1)
    rng = as_generator(seed)
    weight = 10.0 ** np.linspace(0.0, -weight_decades, rank)
    a_prod = np.exp(rng.standard_normal((n_products, rank))) * weight
    a_store = np.exp(rng.standard_normal((n_stores, rank))) * weight
    sales = a_prod @ a_store.T
    for _ in range(max_tries):
        seen = rng.random((n_products, n_stores)) < obs_rate
        if (seen.sum(axis=0).min() > np.sqrt(n_products)
                and seen.sum(axis=1).min() > np.sqrt(n_stores)):
            break
    else:
        raise ValueError(
            f"no mask with obs_rate={obs_rate} met the coverage condition in {max_tries} tries"
        )
    observed = Ratings.from_dense(sales, seen)
    return SyntheticRatings(observed, sales, a_prod, a_store)


def truncation_mse(data: SyntheticRatings, rank: int) -> float:
    """The reference error of chapter 5: the truth minus its first ``rank`` rank-one terms.

    .. math::
        \\text{MSE}_\\text{ref} = \\frac{1}{|\\bar\\Omega|} \\sum_{(i,j)\\notin\\Omega}
        \\Big(S_{ij} - \\sum_{a \\le \\text{rank}} A^p_{ia} A^s_{ja}\\Big)^2 ,

    the error on the unobserved entries of the model that keeps exactly the ``rank`` heaviest
    terms of :func:`sales_matrix` (its factor columns are ordered by weight).  The source
    question calls it the "theoretical MSE" of a rank-``rank`` fit; it is a reference point,
    not a lower bound (a fit may trade terms differently).
    """
    if not isinstance(data, SyntheticRatings):
        raise TypeError(f"data must be a SyntheticRatings, got {type(data).__name__}")
    rank = _check_positive_int("rank", rank)
    if data.observed.nnz == data.truth.size:
        raise ValueError("data: every entry is observed, so there is no unobserved entry "
                         "to measure the error on")
    if rank > data.row_factors.shape[1]:
        raise ValueError(f"rank must be at most {data.row_factors.shape[1]}, got {rank}")
    err = data.truth - data.row_factors[:, :rank] @ data.col_factors[:, :rank].T
    return float(np.mean(err[~data.observed.mask()] ** 2))


def movielens_like(
    n_users: int = 6040,
    n_items: int = 3706,
    n_ratings: int = 1_000_209,
    rank: int = 20,
    *,
    mu: float = 3.6,
    user_bias_std: float = 0.35,
    item_bias_std: float = 0.5,
    signal_std: float = 0.5,
    noise_std: float = 0.8,
    min_per_user: int = 20,
    user_activity_sigma: float = 1.15,
    item_popularity_sigma: float = 1.5,
    seed: SeedLike = 0,
) -> SyntheticRatings:
    """A synthetic problem with the shape of MovieLens-1M and a known noise floor.

    **Who rates what.**  User :math:`i` rates :math:`n_i` distinct items, with
    :math:`n_i - \\text{min\\_per\\_user}` proportional to a log-normal weight
    :math:`e^{\\sigma_u z_i}` (largest-remainder rounding so that
    :math:`\\sum_i n_i = \\text{n\\_ratings}` exactly, capped at ``n_items``).  Its items are
    drawn without replacement with probabilities proportional to log-normal popularities
    :math:`p_j = e^{\\sigma_p z'_j}` (Gumbel top-:math:`n_i` sampling).  With the defaults
    this gives MovieLens-1M's 6,040 users, 3,706 items and 1,000,209 ratings, at least 20
    ratings per user and a long tail of rarely rated items (some items may have none).

    **Values.**  A biased rank-``rank`` model plus Gaussian noise,

    .. math::
        r_{ij} &= \\mu + b_i + c_j + \\mathbf u_i^{\\star\\top} \\mathbf v_j^\\star
        + \\varepsilon_{ij}, \\\\
        b_i &\\sim \\mathcal N(0, \\sigma_b^2),\\quad c_j \\sim \\mathcal N(0, \\sigma_c^2),\\quad
        \\varepsilon_{ij} \\sim \\mathcal N(0, \\sigma^2), \\\\
        u^\\star_{ia}, v^\\star_{ja} &\\sim \\mathcal N(0, \\text{signal\\_std}/\\sqrt{k}),

    so that :math:`\\operatorname{Var}(\\mathbf u_i^{\\star\\top}\\mathbf v_j^\\star) =
    \\text{signal\\_std}^2`.  Values are neither rounded nor clipped, so the best possible
    RMSE on held-out ratings (the **noise floor**) is ``noise_std``.

    Returns
    -------
    SyntheticRatings
        ``truth`` is the noise-free ``n_users x n_items`` matrix, with
        ``truth = row_factors @ col_factors.T`` exactly for ``row_factors =
        [U*, b, 1, 1]`` and ``col_factors = [V*, 1, c, mu]``.  ``noisy`` is None (noise is
        drawn for the observed entries only).
    """
    n_users = _check_positive_int("n_users", n_users)
    n_items = _check_positive_int("n_items", n_items)
    n_ratings = _check_positive_int("n_ratings", n_ratings)
    rank = _check_positive_int("rank", rank)
    min_per_user = check_int("min_per_user", min_per_user, minimum=0, maximum=n_items)
    mu = check_real("mu", mu)
    if not min_per_user * n_users <= n_ratings <= n_users * n_items:
        raise ValueError(
            f"n_ratings must be between min_per_user * n_users = {min_per_user * n_users} "
            f"and n_users * n_items = {n_users * n_items}, got {n_ratings}"
        )
    for name, value in (("user_bias_std", user_bias_std), ("item_bias_std", item_bias_std),
                        ("signal_std", signal_std), ("noise_std", noise_std),
                        ("user_activity_sigma", user_activity_sigma),
                        ("item_popularity_sigma", item_popularity_sigma)):
        _check_std(name, value)
    rng = as_generator(seed)
    # Ratings per user: a floor plus a log-normal share of the rest, rounded exactly.
    weight = np.exp(user_activity_sigma * rng.standard_normal(n_users))
    counts = np.full(n_users, min_per_user, dtype=np.int64)
    for _ in range(100):   # hand out the remainder, respecting the n_items cap
        left = n_ratings - int(counts.sum())
        if left == 0:
            break
        room = n_items - counts
        w = np.where(room > 0, weight, 0.0)
        share = left * w / w.sum()
        extra = np.minimum(np.floor(share).astype(np.int64), room)
        short = left - int(extra.sum())
        if short > 0:   # one more for the largest remainders, among users with room left
            frac = np.where(extra < room, share - np.floor(share), -1.0)
            order = np.argsort(-frac, kind="stable")
            extra[order[frac[order] >= 0][:short]] += 1
        counts += extra
    # Items of each user: Gumbel top-n_i sampling proportional to popularity.
    log_pop = item_popularity_sigma * rng.standard_normal(n_items)
    rows = np.repeat(np.arange(n_users), counts)
    cols = np.empty(n_ratings, dtype=np.int64)
    start = 0
    for i in range(n_users):
        keys = log_pop + rng.gumbel(size=n_items)
        n_i = int(counts[i])
        top = np.argpartition(-keys, n_i - 1)[:n_i] if n_i < n_items else np.arange(n_items)
        cols[start:start + n_i] = np.sort(top)
        start += n_i
    # Values: the biased low-rank model plus noise.
    factor_std = np.sqrt(signal_std / np.sqrt(rank))
    U = rng.normal(0.0, factor_std, (n_users, rank))
    V = rng.normal(0.0, factor_std, (n_items, rank))
    b = rng.normal(0.0, user_bias_std, n_users)
    c = rng.normal(0.0, item_bias_std, n_items)
    row_factors = np.column_stack([U, b, np.ones(n_users), np.ones(n_users)])
    col_factors = np.column_stack([V, np.ones(n_items), c, np.full(n_items, mu)])
    truth = row_factors @ col_factors.T
    values = truth[rows, cols] + rng.normal(0.0, noise_std, n_ratings)
    observed = Ratings(rows, cols, values, (n_users, n_items))
    return SyntheticRatings(observed, truth, row_factors, col_factors)


def skewed_pairs(n_users: int, n_items: int, n_pairs: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r"""``n_pairs`` distinct (user, item) index pairs with MovieLens-like skew, sorted.

    Users are drawn with probability proportional to an activity
    :math:`a_i = e^{1.15 z_i}` and items to a popularity :math:`p_j = e^{1.5 z'_j}`
    (:math:`z, z' \sim \mathcal N(0, 1)`, independent), without building a dense matrix;
    duplicates are removed and the draw repeated until ``n_pairs`` distinct pairs exist,
    of which ``n_pairs`` are kept at random.  For the benchmarks that need rating patterns
    of :math:`10^6` to :math:`10^7` entries (``movielens_like`` holds a dense truth).
    The generator ``rng`` is advanced, so a caller can draw its values from it next.
    """
    n_users = _check_positive_int("n_users", n_users)
    n_items = _check_positive_int("n_items", n_items)
    n_pairs = _check_positive_int("n_pairs", n_pairs)
    if n_pairs > n_users * n_items:
        raise ValueError(f"n_pairs must be at most n_users * n_items = {n_users * n_items}, "
                         f"got {n_pairs}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    act = np.exp(1.15 * rng.standard_normal(n_users))
    pop = np.exp(1.5 * rng.standard_normal(n_items))
    keys = np.zeros(0, dtype=np.int64)
    while keys.size < n_pairs:
        draw = int(1.2 * (n_pairs - keys.size)) + 1000
        new = (rng.choice(n_users, draw, p=act / act.sum()) * n_items
               + rng.choice(n_items, draw, p=pop / pop.sum()))
        keys = np.sort(np.concatenate([keys, new]))
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    keys = np.sort(rng.choice(keys, n_pairs, replace=False))
    return keys // n_items, keys % n_items
