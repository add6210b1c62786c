"""Command line of the chapter 2 benchmark scripts added for the teaching pass (issue 16).

Every such script takes ``--quick``: tiny sizes, a few seconds, for CI.  A quick run never
writes into ``benchmarks/results``: it writes where ``MFBOOK_RESULTS_DIR`` points (CI sets
it), or, when that variable is unset, into a fresh temporary directory.  Inputs produced by
other benchmarks (the chosen penalty, the chosen learning rates) are always read from the
stored results in ``benchmarks/results``, which quick runs only read.
"""

from __future__ import annotations

import argparse

from mfbook.book import RESULTS_DIR, load_results, quick_mode_args


def parse(description: str) -> argparse.Namespace:
    """Parse ``--quick`` (:func:`mfbook.book.quick_mode_args`)."""
    return quick_mode_args(description)


def stored(name: str) -> dict:
    """A stored result of another benchmark, read from ``benchmarks/results`` in every mode."""
    return load_results(name, directory=RESULTS_DIR)


def run(main) -> None:
    """Run a benchmark's ``main`` and print its total wall and CPU time."""
    import time

    start, cpu = time.perf_counter(), time.process_time()
    main()
    print(f"total {time.perf_counter() - start:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU")
