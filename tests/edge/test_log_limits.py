"""Repeated log lines are bounded per minute and the rest counted."""

from __future__ import annotations

import logging

from edge.log_limits import RepeatLimit


def test_a_repeating_line_is_bounded_and_counted() -> None:
    now = [0.0]
    limit = RepeatLimit(per_minute=3, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("drivers.x", logging.WARNING, __file__, 1, msg, (), None)

    passed = [limit.filter(record("port %s gone")) for _ in range(10)]
    assert passed == [True] * 3 + [False] * 7 and limit.suppressed == 7
    assert limit.filter(record("another line"))
    now[0] = 61.0
    later = record("port %s gone")
    assert limit.filter(later) and "7 more like it" in str(later.msg)
