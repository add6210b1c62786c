"""Run every benchmark's quick mode, so that an API change cannot break a benchmark unnoticed.

    python benchmarks/run_quick.py            (from the repository root; CI runs it)
    python benchmarks/run_quick.py --list     (only list the scripts it would run)

Discovers the scripts by glob, ``benchmarks/ch*.py``: a script is run when it is a program
(it has an ``if __name__ == "__main__":`` block) that accepts ``--quick``; helper modules
(``*_common.py``, ``ch02_quick.py``) are skipped.  Every script runs as
``python <script> --quick`` from the repository root, with ``MFBOOK_RESULTS_DIR`` pointing at
one temporary directory (``benchmarks/results`` is never written), and the runner stops at
the first script that fails, with its exit status.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def quick_scripts(directory: Path = BENCHMARKS) -> list[Path]:
    """The ``ch*.py`` programs of ``directory`` that take ``--quick``, in name order."""
    out = []
    for path in sorted(directory.glob("ch*.py")):
        if path.stem.endswith("_common") or path.stem.endswith("_quick"):
            continue
        text = path.read_text()
        if "__main__" in text and "--quick" in text:
            out.append(path)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the scripts and exit")
    args = parser.parse_args()
    scripts = quick_scripts()
    if args.list:
        for path in scripts:
            print(path.relative_to(ROOT))
        return 0
    with tempfile.TemporaryDirectory(prefix="mfbook-quick-") as results:
        env = {**os.environ, "MFBOOK_RESULTS_DIR": results}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH"))
                                            if p)
        total = time.perf_counter()
        for path in scripts:
            name = path.relative_to(ROOT)
            print(f"::: {name} --quick", flush=True)
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, str(path), "--quick"], cwd=ROOT, env=env)
            if proc.returncode != 0:
                print(f"::: {name} --quick FAILED with exit status {proc.returncode}",
                      flush=True)
                return proc.returncode
            print(f"::: {name} --quick: ok in {time.perf_counter() - start:.0f} s", flush=True)
        print(f"::: {len(scripts)} quick benchmarks passed in "
              f"{time.perf_counter() - total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
