"""A progress display for long fits, shared by the estimators and the benchmark scripts.

A thin wrapper around `tqdm <https://tqdm.github.io>`_ with one rule: it is **off unless
asked for, or unless it is obviously wanted**.  With ``enabled=None`` (the default of every
caller) a bar is shown only when standard error is a terminal and the code is not running
inside a Jupyter kernel, so notebook outputs stay deterministic (a bar's rates and times
would differ on every run, and nbval compares standard error).  ``enabled=True`` forces it
on, ``enabled=False`` off.

Example::

    with progress_bar(n_epochs, desc="SGD", enabled=True) as bar:
        for epoch in range(n_epochs):
            ...
            bar.update(train_rmse=0.91, valid_rmse=0.93)
"""

from __future__ import annotations

import sys
from types import TracebackType

__all__ = ["progress_enabled", "progress_bar", "ProgressBar"]


def progress_enabled(enabled: bool | None = None) -> bool:
    """Resolve the ``enabled`` argument: an explicit bool wins, None means automatic.

    Automatic: on when standard error is a terminal and no IPython kernel is running.
    """
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise ValueError(f"enabled must be True, False or None, got {enabled!r}")
        return enabled
    if "ipykernel" in sys.modules:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """A counter with named values shown next to it; a no-op when disabled.

    Parameters
    ----------
    total : int
        Expected number of updates (epochs).
    desc : str
        Label shown before the bar.
    enabled : bool or None
        See :func:`progress_enabled`.
    """

    def __init__(self, total: int, desc: str = "", enabled: bool | None = None) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"total must be an integer >= 0, got {total!r}")
        self.enabled = progress_enabled(enabled)
        self._bar = None
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, file=sys.stderr, leave=True,
                             dynamic_ncols=True)

    def update(self, n: int = 1, **values: float) -> None:
        """Advance by ``n`` and show ``values`` (formatted with 4 significant digits)."""
        if self._bar is None:
            return
        if values:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in values.items()}, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        """Finish the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "ProgressBar":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def progress_bar(total: int, desc: str = "", enabled: bool | None = None) -> ProgressBar:
    """A :class:`ProgressBar` (use it as a context manager)."""
    return ProgressBar(total, desc, enabled)
