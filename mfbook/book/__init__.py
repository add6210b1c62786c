"""Tooling of the book itself: numbers for the prose, stored benchmark results, execution.

Not part of the numerical API.  The chapters import from here:

* :func:`glue` -- store a formatted number (or text) for the prose;
* :func:`num` and :func:`vec` -- a float or a vector as fixed-point text, with ``-0.0``
  shown as ``0.0``, so that printed outputs do not depend on the last bits of a result;
* :func:`load_results`, :func:`save_results`, :func:`rounded` -- the JSON files that the
  scripts in ``benchmarks/`` write and the chapters read (:data:`RESULTS_DIR`);
* :func:`text_table` and :func:`format_table` -- fixed-width text tables from rows and one
  format per column;
* :class:`StreamCheckpoints` -- named states of one random generator, so that a chapter
  replaying a source's single stream gives the same draws whatever the order cells run in;
* :func:`parallel_report` -- the figures of ``benchmarks/ch03_parallel.py`` from its stored
  results.

The modules :mod:`mfbook.book.execute` (store deterministic outputs) and
:mod:`mfbook.book.offline` (local MathJax and plotly in the HTML) are used by the build.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._tables import Column, format_table, format_value, text_table
from .results import (RESULTS_DIR, load_results, quick_mode_args, results_dir, rounded,
                      save_results)
from ._parallel import ParallelReport, parallel_report
from ._streams import StreamCheckpoints

__all__ = ["glue", "num", "vec", "RESULTS_DIR", "results_dir", "load_results", "save_results",
           "rounded", "text_table", "Column", "format_table", "format_value",
           "StreamCheckpoints", "ParallelReport", "parallel_report", "quick_mode_args"]


def num(x: float, d: int = 4) -> str:
    """``x`` rounded to ``d`` decimals as text, with ``-0.0`` printed as ``0.0``.

    Rounding first makes the text independent of the last bits of ``x`` (which can differ
    between BLAS thread counts), and adding ``0.0`` turns a negative zero into a positive
    one, so that a value that rounds to zero never prints as ``-0.0000``.

    Examples
    --------
    >>> num(-1e-9), num(2.0 / 3.0, 3)
    ('0.0000', '0.667')
    """
    return f"{np.round(float(x), d) + 0.0:.{d}f}"


def vec(values: Any, d: int = 4) -> str:
    """A vector as ``(x1, x2, ...)`` with every entry formatted by :func:`num`.

    Examples
    --------
    >>> vec([1.0, -0.0, 0.123456], 2)
    '(1.00, 0.00, 0.12)'
    """
    return "(" + ", ".join(num(x, d) for x in np.ravel(values)) + ")"


def glue(name: str, value: Any, spec: str | None = None) -> None:
    """Store a number (or text) for the prose, formatted.

    The prose refers to it with ``{glue:text}`name```.  Numbers are formatted *before*
    gluing, so what the notebook stores (and nbval compares) is the rounded text, never a
    raw float repr whose last digits can change with the BLAS thread count.

    Parameters
    ----------
    name : str
        Key used in the Markdown.
    value : number or str
        The value; numbers need ``spec``.
    spec : str, optional
        A format spec such as ``".4f"``, ``".3e"``, ``","`` or ``".1%"``.

    Examples
    --------
    ``glue("final_loss", result.fun, ".4f")`` in a code cell, then
    ``the loss ends at {glue:text}`final_loss``` in a Markdown cell.
    """
    from myst_nb import glue as _myst_glue

    if spec is None:
        if not isinstance(value, str):
            raise ValueError(
                f"glue({name!r}): give a format spec for a {type(value).__name__} "
                "(e.g. spec='.4f'); raw float reprs are not stable across machines"
            )
        text = value
    else:
        text = format(value, spec)
    _myst_glue(name, text, display=False)

