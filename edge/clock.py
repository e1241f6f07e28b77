"""The daemon's one clock: made at the top (`rxedge run`, the demo, a test) and handed down to
the gateway, the drivers' timers, the shelf buses, the ledger's keeper and the metrics. Nothing
else in the daemon reads the system clock, so a test moves time by handing in a clock of its
own (`tests.clocks`), never by patching the `time` module.

Wall time (`now`, `time`) stamps what is stored and sent and says what day it is; monotonic
time (`monotonic`) measures intervals (dwell, back-off, device health, timeouts), so a step of
the wall clock (an NTP correction) breaks no timer.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime


class Clock:
    """The system's clocks."""

    def now(self) -> datetime:
        """Now, timezone-aware in UTC."""
        return datetime.now(UTC)

    def time(self) -> float:
        """Now, as seconds since the epoch."""
        return self.now().timestamp()

    def local_now(self) -> datetime:
        """Now, in the machine's local time zone (for times of day people set)."""
        return self.now().astimezone()

    def monotonic(self) -> float:
        """Seconds on a clock that never steps (only differences mean anything)."""
        return _time.monotonic()
