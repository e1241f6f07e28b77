"""The file beside the ledger that keeps what the shelf buses last read of each controller's press
counters across the daemon's restarts: written synced before a press is told, its times kept as
wall-clock time and turned back into the buses' monotonic clock at the start (a clock set
between the runs shows there), forgotten for shelves no longer configured or moved, and removed
when it cannot be written, so that no start counts presses from counters older than those
booked."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from drivers.modbus.controller import LastRead
from edge.lights.press_counters import PressCounters, counters_path
from edge.settings.config import ShelfConfig
from tests.clocks import SteppedClock

SHELVES = [
    ShelfConfig(name="A", host="10.0.0.5", port=502, slots=4),
    ShelfConfig(name="B", transport="rtu", serial_port="/dev/ttyUSB0", device_id=2, slots=2),
]


def kept_in(db: Path, clock: SteppedClock, shelves: list[ShelfConfig] = SHELVES) -> PressCounters:
    return PressCounters(counters_path(db), clock, shelves)


def test_what_a_run_kept_comes_back_at_the_next_start_on_the_buses_clock(tmp_path: Path) -> None:
    clock = SteppedClock()
    db = tmp_path / "ledger.sqlite"
    read = LastRead((3, 0, 7, 1), heartbeat=5000, at=clock.monotonic() - 2.0)
    kept_in(db, clock).keep("A", read)
    assert counters_path(db).name == "ledger.sqlite.presses"
    back = kept_in(db, clock).load()
    assert back.keys() == {"A"}
    assert back["A"].counters == read.counters and back["A"].heartbeat == 5000
    assert back["A"].at == pytest.approx(read.at, abs=0.05)


def test_a_clock_set_between_the_runs_shows_in_the_time_that_passed(tmp_path: Path) -> None:
    clock = SteppedClock()
    db = tmp_path / "ledger.sqlite"
    read = LastRead((3, 0, 7, 1), heartbeat=5000, at=clock.monotonic())
    kept_in(db, clock).keep("A", read)
    clock.step(-600)  # set back ten minutes: the reading seems to come from the future
    assert kept_in(db, clock).load()["A"].at == pytest.approx(read.at + 600, abs=0.05)


def test_a_shelf_no_longer_configured_or_moved_is_forgotten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SteppedClock()
    db = tmp_path / "ledger.sqlite"
    counters = kept_in(db, clock)
    counters.keep("A", LastRead((1, 2, 3, 4), 100, clock.monotonic()))
    counters.keep("B", LastRead((5, 6), 200, clock.monotonic()))
    moved = ShelfConfig(name="A", host="10.0.0.6", port=502, slots=4)
    with caplog.at_level(logging.INFO, logger="edge.lights.press_counters"):
        now = kept_in(db, clock, [moved]).load()
    assert now == {}
    assert "shelf A is now at tcp://10.0.0.6:502 device 1, no longer at" in caplog.text
    assert "shelf B is no longer configured" in caplog.text
    again = kept_in(db, clock, [moved])
    again.load()
    again.keep("A", LastRead((0, 0, 0, 0), 9, clock.monotonic()))
    assert set(json.loads(counters_path(db).read_bytes())) == {"A"}, "B's record gone"


def test_a_file_that_cannot_be_written_is_removed_and_written_again_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SteppedClock()
    db = tmp_path / "ledger.sqlite"
    counters = kept_in(db, clock)
    counters.keep("A", LastRead((1, 0, 0, 0), 100, clock.monotonic()))
    blocked = counters_path(db).with_name("ledger.sqlite.presses.new")
    blocked.mkdir()  # no new file can be made there: as on a full disk
    with caplog.at_level(logging.ERROR, logger="edge.lights.press_counters"):
        counters.keep("A", LastRead((2, 0, 0, 0), 101, clock.monotonic()))
        counters.keep("A", LastRead((3, 0, 0, 0), 102, clock.monotonic()))
    assert not counters_path(db).exists(), "no older counters left to count from"
    assert kept_in(db, clock).load() == {}
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and said[0].startswith("press counters cannot be kept"), said
    blocked.rmdir()
    counters.keep("A", LastRead((4, 0, 0, 0), 103, clock.monotonic()))
    assert kept_in(db, clock).load()["A"].counters == (4, 0, 0, 0)


def test_a_damaged_file_is_said_in_the_log_and_counts_from_the_first_reading(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ledger.sqlite"
    counters_path(db).write_bytes(b'{"A": {"address": "tcp://10.0.0.5:502 device 1", "coun')
    with caplog.at_level(logging.ERROR, logger="edge.lights.press_counters"):
        assert kept_in(db, SteppedClock()).load() == {}
    assert "cannot be read" in caplog.text
