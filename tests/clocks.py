"""Clocks tests hand to the daemon instead of patching the `time` module."""

from __future__ import annotations

from datetime import datetime, timedelta

from edge.clock import Clock


class SteppedClock(Clock):
    """The system's clocks, with a wall clock that can be stepped (as NTP steps it)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def step(self, seconds: float) -> None:
        """Move the wall clock `seconds` (forward, or back when negative); monotonic time is
        untouched."""
        self.offset += timedelta(seconds=seconds)

    def now(self) -> datetime:
        return super().now() + self.offset
