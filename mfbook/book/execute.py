"""Execute notebooks in place and store deterministic outputs.

Usage (from the repository root)::

    python -m mfbook.book.execute                      # every chapters/*.ipynb
    python -m mfbook.book.execute chapters/ch01_*.ipynb

Each notebook runs top to bottom in a fresh kernel with its own directory as working
directory, through nbclient with ``record_timing=False`` (no per-cell timestamps), so
re-running an unchanged notebook rewrites the same bytes.  Execution counts are
renumbered 1, 2, ... and the ``python3`` kernel runs on the interpreter running this
script (jupyter_client substitutes ``sys.executable``), the one with ``mfbook`` installed.  BLAS is pinned to one thread while executing so that stored
outputs are the ones a single-threaded run gives (nbval then checks they also hold with
two threads).  A cell that raises stops the run with the error and leaves the notebook
file untouched.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def merge_streams(outputs: list) -> list:
    """Join consecutive ``stream`` outputs of the same name into one.

    How a kernel splits printed text into chunks depends on timing (a cell that prints
    between two slow steps sends several chunks), so without this a re-run could store
    the same text split differently and the notebook file would change for no reason.
    """
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None
                and prev.get("output_type") == "stream" and prev.get("name") == out.get("name")):
            prev["text"] = "".join(prev["text"]) + "".join(out["text"])
        else:
            merged.append(out)
    return merged


def execute_notebook(path: Path, timeout: int = 600) -> float:
    """Execute ``path`` in place; return the wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
            cell.outputs = merge_streams(cell.outputs)
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
        cell.get("metadata", {}).pop("execution", None)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to execute (default: chapters/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 1
    for var in THREAD_VARS:
        os.environ[var] = "1"
    failed = 0
    for path in paths:
        try:
            seconds = execute_notebook(path.resolve(), timeout=args.timeout)
        except Exception as exc:  # report and continue with the next notebook
            failed += 1
            print(f"FAILED  {path}: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
        else:
            print(f"ok      {path}  ({seconds:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
