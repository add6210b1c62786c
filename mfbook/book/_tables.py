"""Fixed-width text tables for the chapters' printed outputs.

A chapter prints its tables as plain text (nbval compares it, the book shows it in a
monospaced block); :func:`text_table` formats one from rows and one format spec per
column, so that a notebook cell only lists what goes in the table.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

__all__ = ["text_table"]

_ALIGN_WIDTH = re.compile(r"^(?:.?(?P<align>[<>^=]))?[+\- ]?z?#?0?(?P<width>\d*)")


def _header_spec(spec: str) -> str:
    """The alignment and width of ``spec`` (``">10.4f"`` -> ``">10"``, no fill character),
    for titles and for strings in a numeric column."""
    match = _ALIGN_WIDTH.match(spec)
    align = match["align"] or ""
    return f"{'>' if align == '=' else align}{match['width']}"


def text_table(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
               header: bool = True) -> str:
    """The rows as lines of text, each cell formatted with its column's spec.

    Parameters
    ----------
    columns : sequence of (title, spec)
        A title and a format spec per column, e.g. ``("test RMSE", ">10.4f")``; the title
        is written with the spec's alignment and width only.
    rows : sequence of sequences
        One value per column; a ``str`` in a numeric column is written with the alignment
        and width only (for "-" or "yes").
    header : bool
        Start with the line of titles.

    Returns
    -------
    str
        The lines joined by newlines, without a trailing newline.

    Examples
    --------
    >>> print(text_table([("solver", "<6"), ("RMSE", ">8.3f")], [("sgd", 0.91234), ("als", "-")]))
    solver    RMSE
    sgd      0.912
    als          -
    """
    specs = [spec for _, spec in columns]
    out = [""] if header else []
    if header:
        out[0] = "".join(format(title, _header_spec(spec)) for title, spec in columns)
    for i, row in enumerate(rows):
        if len(row) != len(specs):
            raise ValueError(f"row {i} has {len(row)} values for {len(specs)} columns")
        out.append("".join(format(v, _header_spec(s) if isinstance(v, str) else s)
                           for v, s in zip(row, specs)))
    return "\n".join(out)
