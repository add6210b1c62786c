"""A checker for the book's pages: the rules of the book standard that a program can test.

For a notebook, :func:`lint_notebook` reports

* ``long-cell`` -- a code cell longer than ``max_lines`` lines (25 by default): reusable
  code belongs in ``mfbook``, not in the page;
* ``missing-alt`` -- an image output (PNG, JPEG, GIF or SVG) of a cell whose metadata has
  no ``"mystnb": {"image": {"alt": "..."}}``, or a Markdown image ``![](...)`` with an
  empty description;
* ``unused-glue`` -- a key glued by a code cell (``mfbook.book.glue``; found in the stored
  outputs) that no Markdown cell uses;
* ``undefined-glue`` -- a key used in the Markdown (``{glue:text}`key```, ``{glue}``,
  ``{glue:md}``, the ``glue:figure`` / ``glue:math`` directives) that no stored output
  defines, so the built page would show an error;
* ``source-reference`` -- Markdown (or a code comment) pointing at material a reader does
  not have: the project's shared folder one level up, the folder of source documents, the
  source documents by their file numbers
  ("seed 003", ``003_<hash>.txt``).  Random seeds ("seed 0", "ten seeds") are not findings.

:func:`lint_markdown` applies the last two Markdown rules to a ``.md`` page, and
:func:`lint_path` dispatches on the suffix.  From the command line::

    python -m mfbook.book.lint chapters/*.ipynb chapters/*.md

prints one line per finding and exits with status 1 if there is any.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["Finding", "KINDS", "lint_notebook", "lint_markdown", "lint_path", "main",
           "glue_keys_defined", "glue_keys_used", "source_references"]

KINDS = ("long-cell", "missing-alt", "unused-glue", "undefined-glue", "source-reference")
"""The kinds of :class:`Finding`, in the order the checker reports them."""

IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")

_GLUE_ROLE = re.compile(r"\{glue(?::(?:any|text|md|figure|math))?\}`([^`]+)`")
_GLUE_DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|:{3,})\{glue(?::\w+)?\}[ \t]+(\S+)", re.M)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)")

# What a reader of the book does not have.  Random seeds ("seed 0", "init seeds 0 to 9",
# "ch02_seeds.py") are deliberately not matched.
_SOURCE_PATTERNS = (
    (re.compile(r"\.\./shared\b|\bshared[/]seeds\b"),
     "a path into the shared folder one level up"),
    (re.compile(r"(?i)\bseeds[/\\]|\bseeds? (?:folder|directory)\b"),
     "the folder of source documents"),
    (re.compile(r"(?i)\bseeds?[ _-]?0\d\d\b"), "a source document by its seed number"),
    (re.compile(r"(?i)\bseed documents?\b"), "the source documents as 'seed documents'"),
    (re.compile(r"\b0\d\d_[0-9a-f]{16}\.txt\b"), "a source document by its file name"),
)


@dataclass(frozen=True)
class Finding:
    """One violation: the file, the cell index (``None`` for a whole page), its kind
    (one of :data:`KINDS`) and a message saying what to change."""

    path: str
    cell: int | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.cell is None else f"{self.path} cell {self.cell}"
        return f"{where}: {self.kind}: {self.message}"


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def glue_keys_used(markdown: str) -> set[str]:
    """The glue keys a piece of Markdown refers to (``{glue:text}`key:.2f``` gives
    ``key``); keys of other documents (``doc::key``) are left out.

    Examples
    --------
    >>> sorted(glue_keys_used("a {glue:text}`x` b {glue}`y:.2f` {glue:text}`ch2::z`"))
    ['x', 'y']
    """
    keys = set()
    for match in list(_GLUE_ROLE.finditer(markdown)) + list(_GLUE_DIRECTIVE.finditer(markdown)):
        key = match.group(1).strip()
        if "::" in key:
            continue
        keys.add(key.split(":", 1)[0])
    return keys


def glue_keys_defined(cell: dict[str, Any]) -> list[str]:
    """The glue keys recorded in a code cell's stored outputs (myst-nb writes the key to
    the output's ``metadata.scrapbook.name``)."""
    keys = []
    for out in cell.get("outputs", []) or []:
        name = ((out.get("metadata") or {}).get("scrapbook") or {}).get("name")
        if name:
            keys.append(name)
    return keys


def source_references(text: str) -> list[str]:
    """Descriptions of the references in ``text`` to material readers do not have.

    Examples
    --------
    >>> source_references("as in " + "../" + "shared" + "/seeds/003_x.txt")
    ['a path into the shared folder one level up', 'the folder of source documents']
    >>> source_references("over ten seeds; init seed 0; benchmarks/ch02_seeds.py")
    []
    >>> source_references("the seed 003 model")
    ['a source document by its seed number']
    """
    return [what for pattern, what in _SOURCE_PATTERNS if pattern.search(text)]


def _has_alt(cell: dict[str, Any]) -> bool:
    alt = (((cell.get("metadata") or {}).get("mystnb") or {}).get("image") or {}).get("alt")
    return isinstance(alt, str) and alt.strip() != ""


def _markdown_findings(path: str, cell: int | None, text: str) -> list[Finding]:
    out = []
    for what in source_references(text):
        out.append(Finding(path, cell, "source-reference",
                           f"refers to {what}; cite the original document instead"))
    for match in _MD_IMAGE.finditer(text):
        if not match.group(1).strip():
            out.append(Finding(path, cell, "missing-alt",
                               f"Markdown image {match.group(2)} has no description"))
    return out


def _comment_lines(code: str) -> str:
    return "\n".join(line.split("#", 1)[1] for line in code.splitlines() if "#" in line)


def lint_notebook(path: str | Path, max_lines: int = 25) -> list[Finding]:
    """The findings for one notebook (see the module docstring for the kinds).

    Parameters
    ----------
    path : str or Path
        An ``.ipynb`` file, stored with its outputs.
    max_lines : int
        The longest code cell allowed (lines of source, the last line without its newline
        counting as one).

    Returns
    -------
    list of Finding
        Sorted by kind (in the order of :data:`KINDS`), then by cell.
    """
    if isinstance(max_lines, bool) or not isinstance(max_lines, int) or max_lines < 1:
        raise ValueError(f"max_lines must be a positive integer, got {max_lines!r}")
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    name = str(path)
    findings: list[Finding] = []
    defined: dict[str, int] = {}
    used: dict[str, int] = {}
    for i, cell in enumerate(nb.get("cells", [])):
        text = _source(cell)
        if cell.get("cell_type") == "code":
            n = len(text.splitlines())
            if n > max_lines:
                findings.append(Finding(name, i, "long-cell",
                                        f"{n} lines (at most {max_lines}); move code into mfbook"))
            images = [m for out in cell.get("outputs", []) or []
                      for m in (out.get("data") or {}) if m in IMAGE_MIMES]
            if images and not _has_alt(cell):
                findings.append(Finding(name, i, "missing-alt",
                                        f"{images[0]} output without "
                                        '"mystnb": {"image": {"alt": ...}} in the cell metadata'))
            for key in glue_keys_defined(cell):
                defined.setdefault(key, i)
            for what in source_references(_comment_lines(text)):
                findings.append(Finding(name, i, "source-reference",
                                        f"a code comment refers to {what}"))
        elif cell.get("cell_type") == "markdown":
            findings.extend(_markdown_findings(name, i, text))
            for key in glue_keys_used(text):
                used.setdefault(key, i)
    for key, i in defined.items():
        if key not in used:
            findings.append(Finding(name, i, "unused-glue",
                                    f"glue key {key!r} is never used in the Markdown"))
    for key, i in used.items():
        if key not in defined:
            findings.append(Finding(name, i, "undefined-glue",
                                    f"glue key {key!r} is used but no stored output defines it"))
    findings.sort(key=lambda f: (KINDS.index(f.kind), -1 if f.cell is None else f.cell))
    return findings


def lint_markdown(path: str | Path) -> list[Finding]:
    """The findings for a Markdown page: references to material readers do not have and
    images without a description (a page has no cells, so ``cell`` is ``None``)."""
    path = Path(path)
    return _markdown_findings(str(path), None, path.read_text(encoding="utf-8"))


def lint_path(path: str | Path, max_lines: int = 25) -> list[Finding]:
    """:func:`lint_notebook` for ``.ipynb``, :func:`lint_markdown` for ``.md``."""
    path = Path(path)
    if path.suffix == ".ipynb":
        return lint_notebook(path, max_lines)
    if path.suffix == ".md":
        return lint_markdown(path)
    raise ValueError(f"path must be an .ipynb or .md file, got {str(path)!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Lint the files given (default: every page in ``chapters/``); print the findings;
    return 1 if there is any, else 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    paths: Iterable[Path] = ([Path(a) for a in args] if args else
                             sorted(Path("chapters").glob("*.ipynb"))
                             + sorted(Path("chapters").glob("*.md")))
    count = 0
    for p in paths:
        for finding in lint_path(p):
            print(finding)
            count += 1
    print(f"{count} finding{'s' if count != 1 else ''}")
    return 1 if count else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
