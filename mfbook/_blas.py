"""Private helpers shared by the chapter-5 modules: BLAS thread pinning and dense limits."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from threadpoolctl import ThreadpoolController

# Matrices with at most this many entries are handled densely: a small matrix product and
# a gather beat gathering k-vectors entry by entry (by 10-50x at 1000 x 100).
DENSE_LIMIT = 1 << 22
_CONTROLLER: ThreadpoolController | None = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Pin BLAS to one thread: small products ran 10-80x slower on 2 busy threads here."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield
