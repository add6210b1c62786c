"""Observed ratings, synthetic data sets and a MovieLens loader.

Every chapter of the book works with a partially observed matrix
:math:`R \\in \\mathbb{R}^{m \\times n}` of which only the entries in a set
:math:`\\Omega \\subseteq \\{0..m-1\\} \\times \\{0..n-1\\}` are known.  :class:`Ratings`
stores exactly those entries as ``(row, col, value)`` triplets together with the shape of
the matrix, so that every computation in :mod:`mfbook` costs :math:`O(|\\Omega|)` and
never materialises the dense :math:`m \\times n` matrix unless asked to
(:meth:`Ratings.to_dense`).

The synthetic generators reproduce the data of the book's source documents
(see ``../shared/seeds``):

* :func:`streamrec` -- low-rank Gaussian factors plus Gaussian noise, uniformly sampled
  entries (chapter 2);
* :func:`rating_matrix` -- a low-rank matrix rescaled to the 1-5 rating range, noisy and
  clipped, with a minimum number of observed entries per row and column (chapter 3);
* :func:`sales_matrix` -- a non-negative matrix built from log-normal factors whose
  weights decay geometrically (chapter 5);
* :func:`movielens_like` -- a biased low-rank model observed with the shape, size and
  skewed activity of MovieLens-1M (chapter 3's speed and accuracy benchmarks).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = [
    "Ratings",
    "SyntheticRatings",
    "MovieLens",
    "streamrec",
    "rating_matrix",
    "sales_matrix",
    "load_movielens",
    "movielens_like",
    "as_generator",
]

SeedLike = int | np.random.Generator | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else ``numpy.random.default_rng(seed)``.

    Passing a Generator lets a caller continue one random stream across several calls,
    which is how the chapters reproduce a source document draw for draw.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}"
        )
    return np.random.default_rng(seed)


def _as_index_array(name: str, values: object) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    if arr.size == 0:
        return arr.astype(np.int64)
    raise ValueError(f"{name} must hold integer indices, got dtype {arr.dtype}")


def _check_shape(shape: object) -> tuple[int, int]:
    try:
        m, n = (int(s) for s in shape)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair of positive integers, got {shape!r}") from None
    if m < 1 or n < 1:
        raise ValueError(f"shape must be a pair of positive integers, got {shape!r}")
    return m, n


@dataclass(frozen=True)
class Ratings:
    """The observed entries of an ``m x n`` matrix, as ``(row, col, value)`` triplets.

    Parameters
    ----------
    rows, cols : array of int, shape (N,)
        Zero-based row (user) and column (item) index of each observed entry.
    values : array of float, shape (N,)
        The observed values :math:`r_{ij}`; they must be finite.
    shape : (int, int)
        The shape ``(m, n)`` of the full matrix.  Rows or columns without any observed
        entry are allowed (a user with no ratings) and show up as zeros in
        :meth:`row_counts` / :meth:`col_counts`.

    Raises
    ------
    ValueError
        On empty data, arrays of different lengths, indices out of range, non-finite
        values or an entry observed twice.  The message names the argument.

    Notes
    -----
    The arrays are stored read-only, so a ``Ratings`` object can be shared between
    objectives, estimators and splits without defensive copies.
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]
    _linear: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = _as_index_array("rows", self.rows)
        cols = _as_index_array("cols", self.cols)
        values = np.asarray(self.values, dtype=np.float64)
        shape = _check_shape(self.shape)
        if values.ndim != 1:
            raise ValueError(f"values must be one-dimensional, got shape {values.shape}")
        if not (len(rows) == len(cols) == len(values)):
            raise ValueError(
                "rows, cols and values must have the same length, got "
                f"{len(rows)}, {len(cols)} and {len(values)}"
            )
        if len(values) == 0:
            raise ValueError("Ratings needs at least one observed entry, got empty data")
        m, n = shape
        for name, idx, bound in (("rows", rows, m), ("cols", cols, n)):
            lo, hi = int(idx.min()), int(idx.max())
            if lo < 0 or hi >= bound:
                raise ValueError(
                    f"{name} index out of range for shape {shape}: "
                    f"found {lo if lo < 0 else hi}, valid range is 0..{bound - 1}"
                )
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"values must be finite, found {int(bad.sum())} NaN or infinite "
                f"(first at position {first}: row {rows[first]}, col {cols[first]})"
            )
        linear = rows * n + cols
        if len(np.unique(linear)) != len(linear):
            uniq, counts = np.unique(linear, return_counts=True)
            dup = int(uniq[counts > 1][0])
            raise ValueError(
                f"each entry may be observed once, but (row {dup // n}, col {dup % n}) "
                "appears more than once"
            )
        for arr in (rows, cols, values, linear):
            arr.setflags(write=False)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "cols", cols)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "_linear", linear)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dense(cls, matrix: np.ndarray, mask: np.ndarray | None = None) -> "Ratings":
        """Collect the observed entries of a dense matrix, in row-major (C) order.

        The order is that of ``np.nonzero(mask)``.

        Parameters
        ----------
        matrix : array, shape (m, n)
            The matrix.  Without ``mask``, NaN marks an unobserved entry.
        mask : bool array, shape (m, n), optional
            True where an entry is observed.  Observed entries must then be finite.
        """
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2:
            raise ValueError(f"matrix must be two-dimensional, got shape {matrix.shape}")
        if mask is None:
            mask = ~np.isnan(matrix)
        else:
            mask = np.asarray(mask)
            if mask.shape != matrix.shape:
                raise ValueError(
                    f"mask must have the shape of matrix {matrix.shape}, got {mask.shape}"
                )
            if mask.dtype != bool:
                if not np.isin(mask, (0, 1)).all():
                    raise ValueError("mask must be boolean (or hold only 0 and 1)")
                mask = mask.astype(bool)
        rows, cols = np.nonzero(mask)
        return cls(rows, cols, matrix[rows, cols], matrix.shape)

    # ------------------------------------------------------------------ views
    def __len__(self) -> int:
        return len(self.values)

    @property
    def nnz(self) -> int:
        """Number of observed entries :math:`|\\Omega|`."""
        return len(self.values)

    @property
    def density(self) -> float:
        """Observed fraction :math:`|\\Omega| / (mn)`."""
        return self.nnz / (self.shape[0] * self.shape[1])

    def to_dense(self, fill: float = np.nan) -> np.ndarray:
        """Dense ``(m, n)`` matrix with ``fill`` (NaN by default) where unobserved."""
        out = np.full(self.shape, fill, dtype=np.float64)
        out[self.rows, self.cols] = self.values
        return out

    def mask(self) -> np.ndarray:
        """Boolean ``(m, n)`` matrix, True where an entry is observed."""
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows, self.cols] = True
        return out

    def row_counts(self) -> np.ndarray:
        """Number of observed entries in each row, :math:`n_i = |\\{j: (i,j) \\in \\Omega\\}|`."""
        return np.bincount(self.rows, minlength=self.shape[0])

    def col_counts(self) -> np.ndarray:
        """Number of observed entries in each column, :math:`n_j`."""
        return np.bincount(self.cols, minlength=self.shape[1])

    def mean(self) -> float:
        """Mean of the observed values (the global mean :math:`\\mu` of biased models)."""
        return float(self.values.mean())

    # ------------------------------------------------------------------ derived sets
    def subset(self, index: np.ndarray) -> "Ratings":
        """The entries selected by an integer or boolean index, in that order."""
        index = np.asarray(index)
        return Ratings(self.rows[index], self.cols[index], self.values[index], self.shape)

    def with_values(self, values: np.ndarray) -> "Ratings":
        """Same entries, new values (e.g. the noise-free truth at the observed entries)."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != self.values.shape:
            raise ValueError(
                f"values must have shape {self.values.shape}, got {values.shape}"
            )
        return Ratings(self.rows, self.cols, values, self.shape)

    def complement(self, matrix: np.ndarray) -> "Ratings":
        """The entries *not* in this set, with their values read from a dense ``matrix``."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.shape != self.shape:
            raise ValueError(f"matrix must have shape {self.shape}, got {matrix.shape}")
        return Ratings.from_dense(matrix, ~self.mask())

    def split(self, fractions: Sequence[float], seed: SeedLike = None) -> tuple["Ratings", ...]:
        """Randomly partition the observed entries.

        Parameters
        ----------
        fractions : sequence of float
            Positive fractions summing to 1, e.g. ``(0.8, 0.2)`` or ``(0.6, 0.2, 0.2)``.
        seed : int or Generator
            Seed of the permutation.  A Generator is used (and advanced) as is.

        Returns
        -------
        tuple of Ratings
            One part per fraction.  Every part but the first holds
            ``floor(fraction * N)`` entries and the first holds the rest; the parts are
            consecutive slices of ``seed.permutation(N)``, so a fixed seed gives a fixed
            split.
        """
        fr = np.asarray(fractions, dtype=np.float64)
        if fr.ndim != 1 or len(fr) < 2 or np.any(fr <= 0) or not np.isclose(fr.sum(), 1.0):
            raise ValueError(
                f"fractions must be at least two positive numbers summing to 1, got {list(fractions)}"
            )
        n = self.nnz
        sizes = np.floor(fr[1:] * n).astype(int)
        sizes = np.concatenate([[n - sizes.sum()], sizes])
        if np.any(sizes == 0):
            raise ValueError(
                f"split of {n} entries with fractions {list(fractions)} leaves an empty part"
            )
        perm = as_generator(seed).permutation(n)
        bounds = np.cumsum(sizes)[:-1]
        return tuple(self.subset(np.sort(part)) for part in np.split(perm, bounds))

    def __repr__(self) -> str:
        m, n = self.shape
        return f"Ratings(shape=({m}, {n}), nnz={self.nnz}, density={self.density:.4f})"


# ---------------------------------------------------------------------- synthetic data
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
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_rate(name: str, value: float) -> float:
    if not (0.0 < float(value) <= 1.0):
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return float(value)


def streamrec(
    n_users: int = 500,
    n_items: int = 200,
    true_rank: int = 5,
    obs_rate: float = 0.1,
    noise_std: float = 0.3,
    seed: SeedLike = 42,
) -> SyntheticRatings:
    """The StreamRec data of seed 000: Gaussian low-rank truth, noisy uniform sample.

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
    if noise_std < 0:
        raise ValueError(f"noise_std must be non-negative, got {noise_std!r}")
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
    """The 1-5 rating matrix of seed 001, with its coverage guarantee.

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
    """The non-negative "sales" matrix of seed 003.

    .. math::
        w_a = 10^{-\\text{weight\\_decades}\\,a/(\\text{rank}-1)}, \\quad
        A^{p}_{ia} = e^{z_{ia}} w_a, \\quad A^{s}_{ja} = e^{z'_{ja}} w_a, \\quad
        S = A^{p} A^{s\\top},

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


# ---------------------------------------------------------------------- MovieLens
@dataclass(frozen=True)
class MovieLens:
    """A MovieLens rating file read into contiguous indices.

    Attributes
    ----------
    ratings : Ratings
        Ratings with rows = users and columns = movies, both renumbered ``0..`` in
        increasing order of their original ids.
    user_ids, item_ids : ndarray of int
        ``user_ids[i]`` is the original id of row ``i`` (and likewise for items).
    timestamps : ndarray of int
        Unix time of each rating, aligned with ``ratings``.
    """

    ratings: Ratings
    user_ids: np.ndarray
    item_ids: np.ndarray
    timestamps: np.ndarray


def load_movielens(path: str | os.PathLike) -> MovieLens:
    """Read a MovieLens rating file from a local path.

    Two layouts are recognised from the content: ``u.data`` of MovieLens-100K
    (``user<TAB>item<TAB>rating<TAB>timestamp``) and ``ratings.dat`` of MovieLens-1M/10M
    (``user::item::rating::timestamp``).  Nothing is downloaded.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty, a line does not have four fields, or a user and item pair
        is rated twice.
    """
    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read()
    if not raw.strip():
        raise ValueError(f"{path}: the rating file is empty")
    first_line = raw.lstrip().split(b"\n", 1)[0]
    if b"::" in first_line:
        raw = raw.replace(b"::", b"\t")
    elif b"\t" not in first_line:
        raise ValueError(
            f"{path}: expected tab-separated (u.data) or '::'-separated (ratings.dat) "
            f"fields, first line is {first_line[:80]!r}"
        )
    try:
        table = np.loadtxt(io.BytesIO(raw), delimiter="\t", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: malformed rating file ({exc})") from None
    if table.shape[1] != 4:
        raise ValueError(
            f"{path}: expected 4 fields per line (user, item, rating, timestamp), "
            f"got {table.shape[1]}"
        )
    users = table[:, 0].astype(np.int64)
    items = table[:, 1].astype(np.int64)
    user_ids, rows = np.unique(users, return_inverse=True)
    item_ids, cols = np.unique(items, return_inverse=True)
    ratings = Ratings(rows, cols, table[:, 2], (len(user_ids), len(item_ids)))
    return MovieLens(ratings, user_ids, item_ids, table[:, 3].astype(np.int64))


# ---------------------------------------------------------------------- MovieLens-shaped
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
        r_{ij} = \\mu + b_i + c_j + \\mathbf u_i^{\\star\\top} \\mathbf v_j^\\star
        + \\varepsilon_{ij}, \\qquad
        b_i \\sim \\mathcal N(0, \\sigma_b^2),\\ c_j \\sim \\mathcal N(0, \\sigma_c^2),\\
        u^\\star_{ia}, v^\\star_{ja} \\sim \\mathcal N(0, \\text{signal\\_std}/\\sqrt{k}),\\
        \\varepsilon_{ij} \\sim \\mathcal N(0, \\sigma^2),

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
    if not isinstance(min_per_user, (int, np.integer)) or not 0 <= min_per_user <= n_items:
        raise ValueError(f"min_per_user must be an integer in 0..{n_items}, got {min_per_user!r}")
    if not min_per_user * n_users <= n_ratings <= n_users * n_items:
        raise ValueError(
            f"n_ratings must be between min_per_user * n_users = {min_per_user * n_users} "
            f"and n_users * n_items = {n_users * n_items}, got {n_ratings}"
        )
    for name, value in (("user_bias_std", user_bias_std), ("item_bias_std", item_bias_std),
                        ("signal_std", signal_std), ("noise_std", noise_std),
                        ("user_activity_sigma", user_activity_sigma),
                        ("item_popularity_sigma", item_popularity_sigma)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
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
