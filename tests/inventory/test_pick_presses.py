"""Whom a press of a slot two pick lists (or a list and a put-away) want is for, at the keeper:
the owner the slot showed, never another; shown none, the slot's owner (the older list), or
on a slot red for a list's mistake, that list. A-01 holds three packs of LATE: rx-a (older)
wants two of them, rx-b the last."""

from __future__ import annotations

from inventory.apply import apply
from inventory.changes import ConfirmButton
from inventory.codes.barcodes import PackScan
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import NOBODY, CueKind
from tests.inventory.pick_shelves import AMOX, IBU, movements, put


def two_lists_on_a01(keeper: InventoryKeeper, scanners: tuple[str, str] = ("", "")) -> None:
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 3),), scanner=scanners[0]))
    keeper.picks.start(PickRequest("rx-b", (PickLine(AMOX.gtin, 1),), scanner=scanners[1]))


def booked_for(keeper: InventoryKeeper) -> list[str]:
    return [str(m[4]) for m in movements(keeper)]


def test_a_press_for_a_list_ended_since_books_nothing_for_the_list_shown_next(
    keeper: InventoryKeeper,
) -> None:
    two_lists_on_a01(keeper)
    keeper.picks.cancel("rx-a")  # A-01 was rx-a's (colour 0); now rx-b's
    out = apply(keeper, ConfirmButton("A-01", 1, 0))  # read just after the handover
    assert booked_for(keeper) == []
    assert any("whose list or delivery has ended; nothing booked" in n for n in out.notes)
    apply(keeper, ConfirmButton("A-01", 1, 1))
    assert booked_for(keeper) == ["rx-b"]


def test_presses_for_the_list_shown_beyond_its_packs_book_nothing_for_the_other(
    keeper: InventoryKeeper,
) -> None:
    two_lists_on_a01(keeper)
    out = apply(keeper, ConfirmButton("A-01", 3, 0))
    assert booked_for(keeper) == ["rx-a", "rx-a"]
    assert any("pressed more often than pick list rx-a" in n for n in out.notes)


def test_a_press_on_red_for_the_younger_lists_mistake_books_its_pick(
    keeper: InventoryKeeper,
) -> None:
    put(keeper, "A-01", "I9", "2028-01-31", 1, gtin=IBU)  # a pack on no list lies there too
    two_lists_on_a01(keeper, scanners=("desk-a", "desk-b"))
    wrong = keeper.shelf.scanned(PackScan(IBU, None, "I9", ""), "desk-b")  # rx-b's picker
    assert [m.slot for m in wrong.mistakes] == ["A-01"]
    apply(keeper, ConfirmButton("A-01", 1, None))  # red: no owner's colour shown
    assert booked_for(keeper) == ["rx-b"]


def test_a_press_showing_no_owner_is_for_the_slots_owner_the_older_list(
    keeper: InventoryKeeper,
) -> None:
    two_lists_on_a01(keeper)
    apply(keeper, ConfirmButton("A-01", 1, None))
    assert booked_for(keeper) == ["rx-a"]


def test_a_red_names_the_list_whose_mistake_it_is_and_a_press_for_nobody_books_nothing(
    keeper: InventoryKeeper,
) -> None:
    """Whom a press just after the red ends is for (the daemon keeps it for a moment)."""
    put(keeper, "A-01", "I9", "2028-01-31", 1, gtin=IBU)
    two_lists_on_a01(keeper, scanners=("desk-a", "desk-b"))
    keeper.shelf.scanned(PackScan(IBU, None, "I9", ""), "desk-b")  # rx-b's picker
    [red] = [c for c in keeper.picks.cues() if c.kind is CueKind.MISTAKE]
    assert red.whose == keeper.picks.lists["rx-b"].picker_no
    keeper.picks.cancel("rx-b")
    [red] = [c for c in keeper.picks.cues() if c.kind is CueKind.MISTAKE]
    assert red.whose == NOBODY, "its list ended: no list's"
    out = apply(keeper, ConfirmButton("A-01", 2, NOBODY))  # just after a red no list made
    assert booked_for(keeper) == [] and "nothing booked" in out.notes[0]
