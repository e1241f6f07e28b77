"""A press on a slot a fixed reader watches, after the reader booked the pack taken from it:
within `mistake_seconds` of that booking it confirms the pick and books no other pack; later,
or once the pack was put back, a press books a pack as any press does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from inventory.apply import apply
from inventory.changes import Arrived, ConfirmButton, Left
from inventory.codes.barcodes import PackScan
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from tests.inventory.pick_shelves import AMOX, TIMES, Clock, lit, results, stocked_keeper, tagged

PARA = "04012345000047"  # tagged packs only, in A-08
PACKS = [tagged(n, gtin=PARA) for n in (101, 102, 103)]


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    k = stocked_keeper(tmp_path / "l.sqlite", clock)
    for pack in PACKS:
        k.put_away(pack, "A-08")
    k.picks.start(PickRequest("rx", (PickLine(PARA, 2),)))
    return k


def picked(keeper: InventoryKeeper) -> list[str]:
    rows = keeper.db.execute(
        "SELECT serial FROM movements WHERE kind = 'pick' AND gtin = ? ORDER BY id", (PARA,)
    )
    return [str(r[0]) for r in rows]


def press(keeper: InventoryKeeper, left: list[str]) -> list[str]:
    """One press on A-08, the reader's packs there by `left` (serials, the one it has not
    seen for longest first): the notes it drew."""
    epcs = {p.serial: p.epc for p in PACKS}
    seen = tuple(epcs[serial] for serial in left)
    return apply(keeper, ConfirmButton("A-08", 1, 0, seen)).notes


def test_a_press_after_the_reader_booked_the_pack_confirms_it_and_books_no_other(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    apply(keeper, Left(PACKS[0].epc, "A-08"))  # taken; booked once the dwell time passed
    clock.advance(TIMES.mistake_seconds - 1)
    [note] = press(keeper, ["102", "103"])  # for the pack in hand
    assert "serial 101" in note and "nothing more booked" in note
    assert picked(keeper) == ["101"] and lit(keeper) == {(0, "A-08"): 1}
    assert "done" not in [r["status"] for r in results(keeper, "rx")]
    # The next pack, pressed for before the reader books it: booked by the press, once.
    press(keeper, ["103", "102"])
    apply(keeper, Left(PACKS[2].epc, "A-08"))
    assert picked(keeper) == ["101", "103"]
    assert [r["status"] for r in results(keeper, "rx")][-1] == "done"


def test_a_press_for_the_last_pack_of_a_list_the_reader_ended_is_no_put_away_mistake(
    keeper: InventoryKeeper,
) -> None:
    """The reader booked both packs and the list is done; a put-away is at work elsewhere:
    the picker's press for the pack in hand confirms it, and A-08 does not blink red."""
    pack = PackScan(AMOX.gtin, date(2028, 1, 31), "B1", "S1")
    keeper.putaways.scanned(pack, "goods-in", "R-01", "Ana")
    assert keeper.putaways.colours() == {1}, "the put-away at work"
    apply(keeper, Left(PACKS[0].epc, "A-08"))
    apply(keeper, Left(PACKS[1].epc, "A-08"))
    assert [r["status"] for r in results(keeper, "rx")][-1] == "done"
    [note] = press(keeper, ["103"])  # for the first of the two packs in hand
    assert "serial 101" in note and "nothing more booked" in note
    assert "A-08" not in keeper.putaways.board.red
    assert picked(keeper) == ["101", "102"]


def test_a_press_later_than_mistake_seconds_after_the_reader_booked_books_a_pack(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    apply(keeper, Left(PACKS[0].epc, "A-08"))
    clock.advance(TIMES.mistake_seconds)
    press(keeper, ["103", "102"])
    assert picked(keeper) == ["101", "103"]


def test_a_press_after_the_pack_the_reader_booked_was_put_back_books_a_pack(
    keeper: InventoryKeeper,
) -> None:
    apply(keeper, Left(PACKS[0].epc, "A-08"))
    apply(keeper, Arrived(PACKS[0], "A-08"))  # put back: not picked after all
    assert lit(keeper) == {(0, "A-08"): 2}
    press(keeper, ["102", "101", "103"])
    assert picked(keeper) == ["101", "102"]
