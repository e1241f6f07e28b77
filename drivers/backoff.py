"""Capped, jittered exponential back-off for reopening ports."""

from __future__ import annotations

import random


class Backoff:
    """Delays that double from `initial` up to `cap`, each scaled by a random factor in [0.5, 1]."""

    def __init__(self, initial: float = 0.2, cap: float = 5.0, rng: random.Random | None = None):
        self._initial = initial
        self._cap = cap
        self._next = initial
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the following one."""
        delay = self._next * self._rng.uniform(0.5, 1.0)
        self._next = min(self._next * 2, self._cap)
        return delay

    def reset(self) -> None:
        """Start again from the initial delay (after a success)."""
        self._next = self._initial
