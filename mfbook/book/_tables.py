"""Fixed-width text tables for the chapters' printed outputs.

A chapter prints its tables as plain text (nbval compares it, the book shows it in a
monospaced block); :func:`text_table` formats one from rows and one format spec per
column, so that a notebook cell only lists what goes in the table.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, NamedTuple, Sequence

__all__ = ["text_table", "Column", "format_table", "format_value"]

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


class Column(NamedTuple):
    """One column of :func:`format_table`."""

    title: str
    """Header text; ``"\\n"`` splits it over header lines (bottom-aligned)."""
    fmt: str | Callable[[Any], str] = "s"
    """A format spec (``".4f"``, ``".1e"``, ``"d"``, ``".1%"``, ``"g"``, ``"s"``) or a function."""
    width: int = 10
    """Field width; the first column is left-aligned, the others right-aligned (a wider value
    is printed whole, after one space)."""


def format_value(value: Any, fmt: str | Callable[[Any], str] = "s", *,
                 missing: str = "-") -> str:
    """``value`` as text: ``missing`` for ``None`` or NaN, ``-0`` never printed.

    Examples
    --------
    >>> format_value(-1e-9, ".4f"), format_value(None, ".4f"), format_value(0.5, ".1%")
    ('0.0000', '-', '50.0%')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if callable(fmt):
        return str(fmt(value))
    if fmt and fmt[-1] in "fe%":
        digits = fmt.rstrip("fe%").split(".")[-1]
        d = int(digits) if digits.isdigit() else 6
        x = float(value)
        if fmt[-1] == "f":
            x = round(x, d) + 0.0
        elif fmt[-1] == "%":
            x = round(x, d + 2) + 0.0
        else:
            x = x + 0.0
        return format(x, fmt)
    return format(value, fmt)


def format_table(rows: Sequence[Sequence[Any]], columns: Sequence[Column | tuple], *,
                 missing: str = "-") -> str:
    """The rows as a fixed-width table with a header, as one string.

    Parameters
    ----------
    rows : sequence of sequences
        One sequence of values per row, in the order of ``columns``.
    columns : sequence of Column or tuples
        ``(title, fmt, width)``; a tuple may omit ``fmt`` and ``width``.
    missing : str
        Text for ``None`` and NaN values.

    Examples
    --------
    >>> print(format_table([["GD", 0.5, None], ["Adam", -1e-12, 3]],
    ...                    [("method", "s", 8), ("loss", ".3f", 7), ("steps\\nto 1e-3", "d", 9)]))
                       steps
    method     loss  to 1e-3
    GD        0.500        -
    Adam      0.000        3
    """
    cols = [c if isinstance(c, Column) else Column(*c) for c in columns]
    if not cols:
        raise ValueError("columns must not be empty")
    for c in cols:
        if not isinstance(c.width, int) or c.width < 1:
            raise ValueError(f"column {c.title!r}: width must be a positive integer, "
                             f"got {c.width!r}")
    heads = [c.title.split("\n") for c in cols]
    depth = max(len(h) for h in heads)
    heads = [[""] * (depth - len(h)) + h for h in heads]

    def line(cells: Sequence[str]) -> str:
        out = [f"{cells[0]:<{cols[0].width}}"]
        # A value wider than its column still gets one space before it.
        out += [f"{text:>{c.width}}" if len(text) < c.width else " " + text
                for text, c in zip(cells[1:], cols[1:])]
        return "".join(out).rstrip()

    lines = [line([h[i] for h in heads]) for i in range(depth)]
    for r, row in enumerate(rows):
        if len(row) != len(cols):
            raise ValueError(f"row {r} has {len(row)} values for {len(cols)} columns")
        lines.append(line([format_value(v, c.fmt, missing=missing) for v, c in zip(row, cols)]))
    return "\n".join(lines)
