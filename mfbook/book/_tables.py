"""Fixed-width text tables for notebook outputs.

A chapter prints its tables as text, which nbval compares exactly, so the formatting must
not depend on the last bits of a float: numbers go through the same rounding as
:func:`mfbook.book.num` (a value that rounds to zero prints without a minus sign), and a
missing value (``None`` or NaN) prints as a fixed word.

:func:`format_table` takes the rows and a list of columns; each column is a title (a
``"\\n"`` in it makes a two-line header), a format and a width.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

__all__ = ["Column", "format_table", "format_value"]


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
