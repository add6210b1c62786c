"""Named states of one random generator, so that a replay does not depend on cell order.

A source that draws everything from one global generator (``rng = default_rng(42)``, then
every function uses it, often as a default argument bound when the function is defined)
gives numbers that depend on how many draws ran before: running a cell twice, or out of
order, silently changes every later result.  :class:`StreamCheckpoints` replays such a
stream in named segments: each consumer starts from the state its predecessor saved, so
re-running any segment gives the same draws, and running one before its predecessor fails
loudly instead of drawing from the wrong place.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

__all__ = ["StreamCheckpoints"]


class StreamCheckpoints:
    """Checkpoints of one ``numpy.random.Generator`` stream, by name.

    Parameters
    ----------
    seed : int
        Seed of the stream (``np.random.default_rng(seed)``); its initial state is the
        checkpoint ``"start"``.

    Examples
    --------
    >>> stream = StreamCheckpoints(42)
    >>> rng = stream.resume("start")
    >>> a = rng.normal(size=2)
    >>> stream.save("after a", rng)
    >>> b = stream.resume("after a").normal(size=2)
    >>> bool(np.all(b == stream.resume("after a").normal(size=2)))   # same draws again
    True
    >>> c = np.random.default_rng(42).normal(size=4)                   # one stream, in order
    >>> bool(np.all(np.r_[a, b] == c))
    True
    """

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self._states: dict[str, dict[str, Any]] = {
            "start": copy.deepcopy(np.random.default_rng(self.seed).bit_generator.state)}

    @property
    def names(self) -> list[str]:
        """The checkpoints saved so far, in the order they were first saved."""
        return list(self._states)

    def resume(self, name: str) -> np.random.Generator:
        """A fresh generator at the state saved under ``name``.

        Raises
        ------
        KeyError
            If nothing was saved under ``name`` (the segment that saves it has not run).
        """
        if name not in self._states:
            raise KeyError(f"no checkpoint {name!r} yet (saved: {', '.join(self._states)}); "
                           "run the step that saves it first")
        rng = np.random.default_rng()
        rng.bit_generator.state = copy.deepcopy(self._states[name])
        return rng

    def save(self, name: str, rng: np.random.Generator) -> None:
        """Store the current state of ``rng`` under ``name`` (overwriting a previous one).

        Raises
        ------
        TypeError
            If ``rng`` is not a ``numpy.random.Generator``.
        ValueError
            If ``name`` is ``"start"`` (the seed's own state is fixed).
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if name == "start":
            raise ValueError("name 'start' is the seed's state and cannot be overwritten")
        self._states[name] = copy.deepcopy(rng.bit_generator.state)
