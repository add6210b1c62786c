"""Tooling of the book itself: gluing numbers into prose, executing notebooks, offline HTML.

Not part of the numerical API; chapters import :func:`glue` from here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


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
