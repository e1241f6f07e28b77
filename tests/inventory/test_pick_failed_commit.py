"""A commit that fails after a pick desk change ran (a full disk, an I/O error): the writer
holds the change and applies it again once the ledger can be written. What the desk keeps in
memory only (a pack marked as just booked, a pack taken wrongly still waited for) must not
outlive the transaction that failed, or the change tried again would book nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import (
    Change,
    ConfirmButton,
    HandheldRead,
    Left,
    PickTick,
    RememberCommand,
    ScannedAtPick,
)
from inventory.codes.barcodes import PackScan
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import Outcome
from tests.inventory.pick_shelves import (
    AMOX,
    IBU,
    TIMES,
    Clock,
    movements,
    open_keeper,
    results,
    stocked_keeper,
    tagged,
)


@contextmanager
def disk_full_at_commit(keeper: InventoryKeeper) -> Iterator[None]:
    """The ledger's writes fail as the transaction is made durable."""
    flush = keeper.ledger.flush

    def full() -> None:
        flush()
        raise sqlite3.OperationalError("database or disk is full")

    keeper.ledger.flush = full  # type: ignore[method-assign]
    try:
        yield
    finally:
        keeper.ledger.flush = flush  # type: ignore[method-assign]


def applied(keeper: InventoryKeeper, change: Change) -> Outcome:
    """`change` applied as the writer applies it: in a transaction of its own."""
    with keeper.group():
        return apply(keeper, change)


@pytest.mark.parametrize(
    "change",
    [
        ScannedAtPick(PackScan(AMOX.gtin, None, "", "2"), "desk"),
        HandheldRead(tagged(2).epc, "hh-1"),
    ],
    ids=["scan", "handheld"],
)
def test_a_pick_whose_commit_failed_is_booked_when_applied_again(
    keeper: InventoryKeeper, clock: Clock, change: Change
) -> None:
    keeper.put_away(tagged(2), "A-06")
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 1),)))
    with disk_full_at_commit(keeper), pytest.raises(sqlite3.OperationalError):
        applied(keeper, change)
    assert movements(keeper) == [] and keeper.line_of_epc(tagged(2).epc) is not None
    clock.advance(1)  # room again a second later, well within mistake_seconds
    out = applied(keeper, change)
    assert movements(keeper) == [("pick", "A-06", "", 1, "rx-1")], out.notes
    assert [r["status"] for r in results(keeper, "rx-1")] == ["accepted", "progress", "done"]
    # Booked now: the same pack read again is the same pick, not a second one nor a mistake.
    again = applied(keeper, change)
    assert again.mistakes == [] and len(movements(keeper)) == 1


def test_a_pack_taken_wrongly_is_booked_out_once_the_ledger_takes_it(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    pack = tagged(7, IBU)
    keeper.put_away(pack, "B-02")
    keeper.picks.start(PickRequest("rx-5", (PickLine(AMOX.gtin, 1),)))
    assert [m.slot for m in applied(keeper, Left(pack.epc, "B-02")).mistakes] == ["B-02"]
    clock.advance(TIMES.mistake_seconds + 1)  # not put back in time
    with disk_full_at_commit(keeper), pytest.raises(sqlite3.OperationalError):
        applied(keeper, PickTick())
    assert keeper.line_of_epc(pack.epc) is not None and keeper.shelf.holds(pack.epc)
    clock.advance(1)
    applied(keeper, PickTick())
    assert keeper.line_of_epc(pack.epc) is None, "booked out as taken and not put back"
    assert keeper.alarms.get(AlarmKind.UNEXPECTED_REMOVAL, pack.epc) is not None
    assert not keeper.shelf.holds(pack.epc)


def test_a_press_confirming_a_readers_pick_whose_commit_failed_confirms_it_again(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    for serial in (2, 3):
        keeper.put_away(tagged(serial), "A-06")
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 6),)))
    applied(keeper, Left(tagged(2).epc, "A-06"))  # the reader books the pick; the press confirms
    press = RememberCommand(
        "press:run1:1", "press", "2026-11-27T09:00:00.000Z", ConfirmButton("A-06", 1, 0, ())
    )
    with disk_full_at_commit(keeper), pytest.raises(sqlite3.OperationalError):
        applied(keeper, press)
    clock.advance(2)
    applied(keeper, press)
    assert movements(keeper) == [("pick", "A-06", "", 1, "rx-1")], "the press books no 2nd pack"
    assert keeper.line_of_epc(tagged(3).epc) is not None


def test_the_time_a_restart_did_not_count_as_idle_stays_uncounted_after_a_failed_commit(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "l.sqlite"
    keeper = stocked_keeper(path, clock)
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 1),)))
    keeper.close()
    clock.advance(TIMES.timeout_seconds * 6)  # a long power cut
    keeper = open_keeper(path, clock)
    with disk_full_at_commit(keeper), pytest.raises(sqlite3.OperationalError), keeper.group():
        keeper.put_away(tagged(9), "A-06")  # any change whose commit fails reloads the lists
    clock.advance(1)
    applied(keeper, PickTick())
    assert [r["status"] for r in results(keeper, "rx-1")] == ["accepted"], "neither late nor over"
    assert "rx-1" in keeper.picks.lists
