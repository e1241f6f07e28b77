"""Repeated log lines are bounded per minute and the rest counted."""

from __future__ import annotations

import logging

import pytest

from edge.daemon.activity import Activity, log_activity
from edge.daemon.log_limits import RepeatLimit


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


def test_a_busy_kind_of_activity_does_not_silence_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit = RepeatLimit(per_minute=3)
    caplog.handler.addFilter(limit)
    with caplog.at_level(logging.INFO):
        for n in range(20):
            log_activity(Activity("movement", f"put_away pack {n}"))
        log_activity(Activity("sync", "connected to the broker"))
    texts = [r.getMessage() for r in caplog.records]
    assert len([t for t in texts if t.startswith("put_away")]) == 3
    assert "connected to the broker" in texts
