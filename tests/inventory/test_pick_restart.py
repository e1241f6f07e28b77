"""Open pick lists across a restart: the time the daemon was not running (a power cut) is no
picker's idle time, and a run that starts with its clock behind times them from its start all
the same, also after a failed commit reads the lists back from the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import CueKind
from tests.inventory.pick_shelves import (
    AMOX,
    TIMES,
    Clock,
    open_keeper,
    results,
    tagged,
)
from tests.inventory.test_pick_failed_commit import disk_full_at_commit


def test_the_time_the_daemon_was_down_is_no_lists_idle_time(
    tmp_path: Path, keeper: InventoryKeeper, clock: Clock
) -> None:
    keeper.picks.start(PickRequest("rx-8", (PickLine(AMOX.gtin, 2),)))
    keeper.shelf.button("A-02", 1)
    clock.advance(TIMES.remind_after_seconds - 10)  # untouched a while before the power cut
    keeper.close()
    clock.advance(TIMES.timeout_seconds + 100)  # off for longer than the timeout
    again = open_keeper(tmp_path / "l.sqlite", clock)
    again.picks.tick()
    assert [r["status"] for r in results(again, "rx-8")] == ["accepted", "progress"]
    assert {(c.slot, c.kind, c.number) for c in again.picks.cues()} == {("A-01", CueKind.PICK, 1)}
    clock.advance(TIMES.remind_after_seconds)  # idle since the start: reminded, then timed out
    again.picks.tick()
    clock.advance(TIMES.timeout_seconds - TIMES.remind_after_seconds)
    again.picks.tick()
    assert [r["status"] for r in results(again, "rx-8")][2:] == ["reminder", "timed_out"]


def test_a_list_is_timed_from_the_start_of_a_run_whose_clock_is_behind(
    tmp_path: Path, keeper: InventoryKeeper, clock: Clock
) -> None:
    """The list's time was stamped by a run whose clock was right; the box starts half an hour
    behind it (no battery-backed clock, NTP not yet answered). The list is still reminded and
    timed out `remind_after_seconds` and `timeout_seconds` after the start."""
    keeper.picks.start(PickRequest("rx-8", (PickLine(AMOX.gtin, 2),)))
    keeper.close()
    clock.advance(-30 * 60)
    again = open_keeper(tmp_path / "l.sqlite", clock)
    clock.advance(TIMES.remind_after_seconds)
    again.picks.tick()
    assert [c.kind for c in again.picks.cues()] == [CueKind.REMIND, CueKind.REMIND]
    clock.advance(TIMES.timeout_seconds - TIMES.remind_after_seconds)
    again.picks.tick()
    assert [r["status"] for r in results(again, "rx-8")] == ["accepted", "reminder", "timed_out"]


def test_a_list_from_a_clock_ahead_stays_timed_from_the_start_after_a_failed_commit(
    tmp_path: Path, keeper: InventoryKeeper, clock: Clock
) -> None:
    """The list's stamp lies 200 s ahead of the clock at the start; a failed commit reads the
    lists back from the file once the clock has passed that stamp: the list is still timed
    from the start, not from its stamp."""
    keeper.picks.start(PickRequest("rx-9", (PickLine(AMOX.gtin, 2),)))
    keeper.close()
    clock.advance(-200)
    again = open_keeper(tmp_path / "l.sqlite", clock)
    clock.advance(250)
    with disk_full_at_commit(again), pytest.raises(sqlite3.OperationalError), again.group():
        again.put_away(tagged(9), "A-06")  # any change whose commit fails reloads the lists
    clock.advance(TIMES.timeout_seconds - 250)
    again.picks.tick()
    assert [r["status"] for r in results(again, "rx-9")][-1] == "timed_out"
