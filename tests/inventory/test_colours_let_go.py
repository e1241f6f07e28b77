"""A colour let go of a moment ago, at the keeper: a press for a colour is for its owner, and the
daemon takes a press just after a slot changed owner for the owner before, by its colour. So a
new pick list or delivery gets a colour nobody let go of a moment ago while one is free; and
when it gets one all the same (every other colour busy), a press for it books nothing until
the moment has passed (`COLOUR_REST_SECONDS`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import CancelPick, ConfirmButton
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.colours import COLOUR_REST_SECONDS
from inventory.picking.lists import PickLine, PickRequest
from inventory.putaway.sessions import Notice, NoticeLine
from tests.inventory import test_putaway as putaway
from tests.inventory.pick_shelves import AMOX, IBU, Clock, put, results
from tests.inventory.test_pick_presses import booked_for, two_lists_on_a01


def start(keeper: InventoryKeeper, pick_id: str, gtin: str = AMOX.gtin) -> int:
    """A list of one pack of `gtin` begun; its colour number."""
    apply(keeper, PickRequest(pick_id, (PickLine(gtin, 1),)))
    return keeper.picks.lists[pick_id].picker_no


def test_a_list_begun_as_another_ends_gets_a_colour_nobody_let_go_of_a_moment_ago(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    two_lists_on_a01(keeper)  # rx-a green (0), rx-b blue (1)
    apply(keeper, CancelPick("rx-a", "Ana"))
    assert start(keeper, "rx-c", IBU) == 2, "not rx-a's green: a press for it may be rx-a's"
    clock.advance(COLOUR_REST_SECONDS)
    assert start(keeper, "rx-d", IBU) == 0, "the first free colour, once it has rested"


def test_a_press_for_a_colour_passed_on_a_moment_ago_books_nothing_until_the_moment_passed(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    put(keeper, "A-01", "LATE", "2027-12-31", 1)  # a spare pack for rx-c
    two_lists_on_a01(keeper)  # rx-a: A-02's pack and two of A-01's; rx-b: one of A-01's
    start(keeper, "rx-d", IBU)
    start(keeper, "rx-e", IBU)  # every colour is busy
    apply(keeper, ConfirmButton("A-02", 1, 0))
    apply(keeper, ConfirmButton("A-01", 2, 0))  # rx-a done: A-01 shows rx-b now
    assert results(keeper, "rx-a")[-1]["status"] == "done"
    assert start(keeper, "rx-c") == 0, "the only colour free"
    out = apply(keeper, ConfirmButton("A-01", 1, 0))  # Ana's once more, read as green
    assert booked_for(keeper) == ["rx-a"] * 3
    assert any("went to pick list rx-c a moment ago" in n for n in out.notes), out.notes
    clock.advance(COLOUR_REST_SECONDS)
    apply(keeper, ConfirmButton("A-01", 1, 0))  # green is rx-c's by now
    assert booked_for(keeper) == ["rx-a"] * 3 + ["rx-c"]


def test_a_put_for_a_colour_passed_on_to_a_delivery_a_moment_ago_books_nothing(
    tmp_path: Path,
) -> None:
    clock = putaway.Clock()
    keeper = putaway.open_keeper(tmp_path / "l.sqlite", clock)
    keeper.commit([Movement(MovementKind.PUT_AWAY, IBU, 8, batch="I0", to_slot="A-05")])
    for n in range(4):
        start(keeper, f"rx-{n}", IBU)
    apply(keeper, CancelPick("rx-0", "Ana"))
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 1, "B1"),), scanner="goods-in"))
    desk.scanned(putaway.scan("B1"), "goods-in", "R-01", "Ben")
    [lit] = putaway.answers(keeper, "lit")
    assert desk.sessions["D-1"].number == 0, "the only colour free"
    out = apply(keeper, ConfirmButton(str(lit["slot"]), 1, 0))  # rx-0's picker, a poll late
    assert putaway.receipts(keeper) == []
    assert any("went to put-away D-1 a moment ago" in n for n in out.notes), out.notes
    clock.now += timedelta(seconds=COLOUR_REST_SECONDS)
    apply(keeper, ConfirmButton(str(lit["slot"]), 1, 0))
    assert [r[0] for r in putaway.receipts(keeper)] == [lit["slot"]]
