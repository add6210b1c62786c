"""Threads for the compiled kernels: ``n_jobs``, one shared pool, and cost-balanced splits.

The parallel solvers of :mod:`mfbook.recommender` run compiled kernels that release the GIL
(``numba.njit(nogil=True)``) on ordinary Python threads.  Each task writes a disjoint part
of the parameters, so the result does not depend on which thread runs which task, nor on
timing: it is the same bits on every run.

Why threads and not ``numba``'s ``parallel=True``.  Both were measured on the ALS sweep
at 1M ratings with the same two chunks per half-sweep (``benchmarks/ch03_parallel.py``):
the same wall time and the same bits.  The thread pool needs no parallel compilation
(the ``prange`` wrapper alone took about 10 s to compile on the loaded machine), no
threading layer (numba offers ``omp`` and ``workqueue`` here, ``tbb`` is not installed, and
``workqueue`` terminates the process when ``parallel=True`` functions are called from
several Python threads at once, as a threaded grid search would) and no process-wide
``numba.set_num_threads``: the number of threads is the number of tasks.

BLAS oversubscription.  The kernels call no BLAS, but the code around them does (the
objective's loss and gradient between ALS sweeps, the least-squares fallback), and a
multi-threaded OpenBLAS keeps its idle worker threads spinning after each call (for 2**28
clock cycles by default, about 0.1 s here; OpenBLAS issues 1614 and 5171),
on the very cores the kernel threads need.  :func:`blas_guard` therefore pins BLAS to
one thread while a parallel solver runs (:func:`mfbook.core.one_blas_thread`, about
10 microseconds to enter and leave).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Sequence

import numpy as np

from ..core import check_int, one_blas_thread

__all__ = ["resolve_n_jobs", "run_tasks", "balanced_bounds", "blas_guard", "available_cores"]

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, else ``os.cpu_count()``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):   # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def resolve_n_jobs(n_jobs: int | None) -> int:
    """The number of threads for ``n_jobs``, with scikit-learn's meaning.

    ``None`` means 1; a positive value is used as given; a negative value counts from the
    number of available cores, ``-1`` being all of them and ``-2`` all but one (at least
    one).  ``0`` is refused.

    Raises
    ------
    TypeError
        If ``n_jobs`` is not an integer or None.
    ValueError
        If ``n_jobs`` is 0.
    """
    if n_jobs is None:
        return 1
    value = check_int("n_jobs", n_jobs)
    if value == 0:
        raise ValueError("n_jobs must be a non-zero integer or None (scikit-learn's meaning: "
                         "-1 for all cores), got 0")
    if value < 0:
        return max(1, available_cores() + 1 + value)
    return value


def _pool(n_workers: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE < n_workers:
            old = _POOL
            _POOL = ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="mfbook")
            _POOL_SIZE = n_workers
            if old is not None:
                old.shutdown(wait=False)
        return _POOL


def run_tasks(fn: Callable[..., Any], tasks: Sequence[tuple]) -> list[Any]:
    """``[fn(*t) for t in tasks]``, the tasks run concurrently on ``len(tasks)`` threads.

    The first task runs in the calling thread, the others in a shared pool; the call
    returns when all are done, results in task order.  An exception in any task is raised
    here (after every task has finished, so that none is still writing).  ``fn`` must
    release the GIL for the tasks to overlap, and tasks must write disjoint memory.
    """
    if len(tasks) == 1:
        return [fn(*tasks[0])]
    futures = [_pool(len(tasks) - 1).submit(fn, *t) for t in tasks[1:]]
    try:
        first = fn(*tasks[0])
    finally:
        for f in futures:        # wait for every task, even if the first one failed
            f.exception()
    return [first] + [f.result() for f in futures]


def balanced_bounds(cost: np.ndarray, n_parts: int) -> np.ndarray:
    """Split ``range(len(cost))`` into at most ``n_parts`` contiguous ranges of similar cost.

    Returns boundaries ``b`` (``b[0] = 0``, ``b[-1] = len(cost)``, non-decreasing): part
    ``p`` is ``range(b[p], b[p + 1])``, cut where the cumulative cost crosses
    ``p / n_parts`` of the total.  Depends only on ``cost`` and ``n_parts``.
    """
    n = len(cost)
    total = np.cumsum(np.asarray(cost, dtype=np.float64))
    if n == 0 or n_parts <= 1 or total[-1] <= 0:
        return np.array([0, n], dtype=np.int64)
    cuts = np.searchsorted(total, total[-1] * np.arange(1, n_parts) / n_parts, side="left") + 1
    return np.concatenate([[0], np.minimum(cuts, n), [n]]).astype(np.int64)


def blas_guard(n_threads: int) -> ContextManager[None]:
    """One BLAS thread while ``n_threads > 1`` kernel threads run; a no-op otherwise."""
    return one_blas_thread() if n_threads > 1 else nullcontext()
