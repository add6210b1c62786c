"""The stored results of the benchmark scripts: where they live, how they are written.

Every script in ``benchmarks/`` writes one JSON file into :data:`RESULTS_DIR` with
:func:`save_results`, and the chapters read it with :func:`load_results`.  Floats go through
:func:`rounded` first, so that the files are small and a re-run on another machine changes
only the digits that really changed.

The environment variable ``MFBOOK_RESULTS_DIR``, when set, replaces :data:`RESULTS_DIR` for
both reading and writing: the quick mode of the benchmarks (``--quick``, run by CI) writes
its tiny results there, so that it never overwrites the stored ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["RESULTS_DIR", "results_dir", "load_results", "save_results", "rounded",
           "quick_mode_args"]

RESULTS_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
"""``benchmarks/results`` of the repository (``mfbook`` is installed from it, editable)."""


def results_dir() -> Path:
    """Where results are read and written: ``$MFBOOK_RESULTS_DIR`` if set, else
    :data:`RESULTS_DIR`."""
    override = os.environ.get("MFBOOK_RESULTS_DIR")
    return Path(override) if override else RESULTS_DIR


def rounded(values: Any, digits: int = 6) -> list[float | None]:
    """A flat list of floats with ``digits`` significant digits; NaN and infinities as None.

    Examples
    --------
    >>> rounded([3.14159265, float("nan")], 3)
    [3.14, None]
    """
    out: list[float | None] = []
    for v in np.asarray(values, dtype=float).ravel():
        out.append(None if not np.isfinite(v) else float(f"{v:.{digits}g}"))
    return out


def save_results(name: str, payload: dict, *, compact: bool = False,
                 directory: Path | None = None) -> Path:
    """Write ``payload`` to ``<directory>/<name>`` as JSON; return the path.

    ``compact=True`` drops the indentation (for files with long arrays).
    """
    directory = results_dir() if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    text = (json.dumps(payload, separators=(",", ":")) if compact
            else json.dumps(payload, indent=1))
    path.write_text(text + "\n")
    return path


def load_results(name: str, *, directory: Path | None = None) -> dict:
    """Read ``<directory>/<name>``; a missing file names the benchmark to run."""
    directory = results_dir() if directory is None else Path(directory)
    path = directory / name
    if not path.exists():
        script = Path(name).stem.split(".")[0]
        raise FileNotFoundError(
            f"{path} is missing: run the benchmark that writes it "
            f"(python benchmarks/{script}.py, or see the chapter) from the repository root")
    return json.loads(path.read_text())


def quick_mode_args(description: str):
    """Parse a benchmark script's command line, ``--quick`` (tiny sizes, for CI) its only flag.

    A quick run must never overwrite the stored results that the chapters read: when
    ``--quick`` is given and ``MFBOOK_RESULTS_DIR`` is unset, it is pointed at a fresh
    temporary directory before the script saves anything.  ``description`` is the script's
    docstring; its first paragraph becomes the ``--help`` text.
    """
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes for CI; never overwrites benchmarks/results")
    args = parser.parse_args()
    if args.quick:
        if not os.environ.get("MFBOOK_RESULTS_DIR"):
            os.environ["MFBOOK_RESULTS_DIR"] = tempfile.mkdtemp(prefix="mfbook-quick-")
        print(f"quick mode: results go to {os.environ['MFBOOK_RESULTS_DIR']}", flush=True)
    return args
