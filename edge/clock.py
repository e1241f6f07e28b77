"""The daemon's one clock: made at the top (`rxedge run`, the demo, a test) and handed down to
the gateway, the drivers' timers, the shelf buses, the ledger's keeper and the metrics. Nothing
else in the daemon reads the system clock, so a test moves time by handing in a clock of its
own (`tests.clocks`), never by patching the `time` module.

Wall time (`now`, `time`) stamps what is stored and sent and says what day it is; monotonic
time (`monotonic`) measures intervals (dwell, back-off, device health, timeouts), and steady
time (`steady`) the idle times and deadlines the ledger keeps, so a step of the wall clock (an
NTP correction) breaks no timer.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime


class Clock:
    """The system's clocks."""

    _steady_anchor: tuple[float, float] | None = None  # (wall, monotonic) at first `steady`

    def now(self) -> datetime:
        """Now, timezone-aware in UTC."""
        return datetime.now(UTC)

    def time(self) -> float:
        """Now, as seconds since the epoch."""
        return self.now().timestamp()

    def monotonic(self) -> float:
        """Seconds on a clock that never steps (only differences mean anything)."""
        return _time.monotonic()

    def steady(self) -> float:
        """Seconds since the epoch that never step while the daemon runs: the wall clock read
        at first use, carried on by the monotonic clock. For idle times and deadlines that are
        kept in the ledger across a restart (a pick list untouched since, a mistake shown
        until), which a wall clock stepped by NTP would end at once or keep for an hour."""
        anchor = self._steady_anchor
        if anchor is None:
            anchor = self._steady_anchor = (self.time(), self.monotonic())
        return anchor[0] + self.monotonic() - anchor[1]
