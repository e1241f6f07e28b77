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


class PassingClock(SteppedClock):
    """The system's clocks, with time that can be made to pass at once: the wall clock and
    the steady clock the ledger keeps idle times by move together (a break taken), while
    monotonic time, which the drivers' timers run on, is untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.passed = 0.0
        self.steady()  # anchored before any time passes, so none is counted twice

    def pass_time(self, seconds: float) -> None:
        """`seconds` go by for everything the ledger times (sessions left untouched)."""
        self.step(seconds)
        self.passed += seconds

    def steady(self) -> float:
        return super().steady() + self.passed
