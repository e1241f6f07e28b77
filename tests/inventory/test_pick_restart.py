"""Open pick lists across a restart: the time the daemon was not running (a power cut) is no
picker's idle time, also after a failed commit reads the lists back from the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import CueKind
from tests.inventory.pick_shelves import AMOX, TIMES, Clock, open_keeper, results, stocked_keeper


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    return stocked_keeper(tmp_path / "l.sqlite", clock)


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
