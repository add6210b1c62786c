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


_FIELDS = ("user", "item", "rating", "timestamp")
_DTYPE = np.dtype([("user", np.int64), ("item", np.int64), ("rating", np.float64),
                   ("timestamp", np.int64)])


def _data_lines(lines: list[bytes], comments: str | None) -> list[int]:
    """1-based numbers of the lines that hold data (neither blank nor comments)."""
    mark = None if comments is None else comments.encode()
    out = []
    for number, line in enumerate(lines, start=1):
        text = line if mark is None else line.split(mark, 1)[0]
        if text.strip():
            out.append(number)
    return out


def _first_bad_line(path: str, lines: list[bytes], comments: str | None) -> str:
    """Describe the first line that is not four fields (integer, integer, finite number,
    integer), with its number and content."""
    mark = None if comments is None else comments.encode()
    for number, line in enumerate(lines, start=1):
        text = line if mark is None else line.split(mark, 1)[0]
        if not text.strip():
            continue
        fields = text.strip().split(b"\t")
        shown = line.strip()[:80]
        if len(fields) != 4:
            return (f"{path}, line {number}: expected 4 fields per line (user, item, rating, "
                    f"timestamp), got {len(fields)}: {shown!r}")
        for name, field in zip(_FIELDS, fields):
            try:
                if name == "rating":
                    value = float(field)
                    if not np.isfinite(value):
                        raise ValueError
                else:
                    value = int(field)
                    if not -(2**63) <= value < 2**63:
                        raise ValueError
            except ValueError:
                what = "a finite number" if name == "rating" else "an integer (int64)"
                hint = ("; a '#' starts a comment only with comments='#'"
                        if field.lstrip().startswith(b"#") else "")
                return (f"{path}, line {number}: the {name} field must be {what}, got "
                        f"{field.decode(errors='replace')!r} in {shown!r}{hint}")
    return f"{path}: malformed rating file"


def load_movielens(path: str | os.PathLike, *, comments: str | None = None) -> MovieLens:
    """Read a MovieLens rating file from a local path.

    Two layouts are recognised from the content: ``u.data`` of MovieLens-100K
    (``user<TAB>item<TAB>rating<TAB>timestamp``) and ``ratings.dat`` of MovieLens-1M/10M
    (``user::item::rating::timestamp``).  Nothing is downloaded.  User and item ids and
    timestamps are parsed as integers (``2.5``, ``nan`` or ``1e19`` are errors, never
    rounded), ratings as finite numbers.

    Parameters
    ----------
    path : str or path-like
    comments : str, optional
        A marker that starts a comment (the rest of the line is ignored).  By default
        there is none: MovieLens files have no comments, and a line starting with ``#`` is
        reported as a malformed line rather than silently dropped.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is empty, a line does not have four fields, a field is not an integer
        (ids, timestamp) or a finite number (rating), or a user and item pair is rated
        twice; the message gives the file, the line number and the original ids.
    """
    path = os.fspath(path)
    if comments is not None and (not isinstance(comments, str) or not comments):
        raise TypeError(f"comments must be a non-empty string or None, got {comments!r}")
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
        table = np.loadtxt(io.BytesIO(raw), delimiter="\t", dtype=_DTYPE, ndmin=1,
                           comments=comments)
    except ValueError:
        raise ValueError(_first_bad_line(path, raw.splitlines(), comments)) from None
    if table.size == 0:
        raise ValueError(f"{path}: the rating file holds no rating")
    bad = ~np.isfinite(table["rating"])
    if bad.any():
        raise ValueError(_first_bad_line(path, raw.splitlines(), comments))
    users, items = table["user"], table["item"]
    user_ids, rows = np.unique(users, return_inverse=True)
    item_ids, cols = np.unique(items, return_inverse=True)
    linear = rows.astype(np.int64) * len(item_ids) + cols
    srt = np.sort(linear)
    if (srt[1:] == srt[:-1]).any():
        order = np.argsort(linear, kind="stable")
        same = np.flatnonzero(linear[order[1:]] == linear[order[:-1]])
        first, second = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        numbers = _data_lines(raw.splitlines(), comments)
        raise ValueError(
            f"{path}, lines {numbers[first]} and {numbers[second]}: user {int(users[first])} "
            f"rated item {int(items[first])} twice (a rating matrix has one rating per "
            "user and item)")
    ratings = Ratings(rows, cols, table["rating"], (len(user_ids), len(item_ids)))
    return MovieLens(ratings, user_ids, item_ids, table["timestamp"].copy())
