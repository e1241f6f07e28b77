"""Bounded logs: a message that repeats (the same logger and template) is written at most
`per_minute` times a minute; the rest are counted and the count is written once the minute is
over, so a flapping device or a flood of bad input cannot fill the disk with the same line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable


class RepeatLimit(logging.Filter):
    """A logging filter; install it on the handlers of the daemon's root logger."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.per_minute = per_minute
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = self._clock()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= 60.0:
            held = count - self.per_minute
            if held > 0:
                record.msg = f"{record.msg} [and {held} more like it in the last minute]"
            self._windows[key] = (now, 1)
            return True
        self._windows[key] = (start, count + 1)
        if count < self.per_minute:
            return True
        self.suppressed += 1
        if len(self._windows) > 10_000:  # templates are few; a bound all the same
            self._windows.clear()
        return False


def limit_repeats(per_minute: int) -> RepeatLimit:
    """Install the limit on every handler of the root logger; returns it (for its count)."""
    limit = RepeatLimit(per_minute)
    for handler in logging.getLogger().handlers:
        handler.addFilter(limit)
    return limit
