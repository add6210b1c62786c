"""Reading MovieLens rating files from a local path (nothing is downloaded)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from ..core import Ratings

__all__ = ["MovieLens", "load_movielens"]


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
