"""BLAS thread pinning around many small products or solves."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from threadpoolctl import ThreadpoolController

__all__ = ["one_blas_thread"]

_CONTROLLER: ThreadpoolController | None = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Pin BLAS to one thread inside the block.

    Many small products or solves ran 10-80x slower on two busy BLAS threads than on one
    here: the threads spend their time synchronizing, not computing.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    with _CONTROLLER.limit(limits=1, user_api="blas"):
        yield
