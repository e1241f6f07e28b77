"""A slot is lit for one put-away desk at a time, at the keeper: a press there could not tell
which desk's pack was laid. Another desk's pack of the same drug goes to another slot of it
with room (a home slot; a free one on its shelf only when every home slot is full); with none,
it is refused `slot busy`, red at its station, and lit once the first desk's packs are put,
scanned again, without counting as a refused pack. One desk's packs still share a slot, its
number counting them."""

from __future__ import annotations

from pathlib import Path

from inventory.keeper import InventoryKeeper
from inventory.picking.outcome import Cue, CueKind
from inventory.replenishment.policy import Product
from tests.inventory.test_putaway import AMOX, IBU, Clock, answers, open_keeper, receipts, scan

# Home B-01, on a shelf with no other slot put-away may take: nowhere to overflow.
LONE = Product(AMOX.gtin, AMOX.name, 2, 8, home_slots=("B-01",), slot_capacity=4)


def puts(keeper: InventoryKeeper) -> list[tuple[str, str, str]]:
    """(slot, batch, session) of each pack booked."""
    return [(str(a["slot"]), str(a["batch"]), str(a["command_id"])) for a in answers(keeper, "put")]


def test_another_desks_pack_goes_to_the_drugs_next_slot_and_a_press_books_only_this_desks(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    desk.scanned(scan("B2"), "desk-2", "R-02", "Ben")
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")  # her own slot: the number counts it
    desk.scanned(scan("B1"), "desk-2", "R-02", "Ben")  # A-01 holds batch B1: but Ana's
    lit = [(a["slot"], a["batch"], a["number"]) for a in answers(keeper, "lit")]
    assert lit == [("A-01", "B1", 0), ("A-02", "B2", 1), ("A-01", "B1", 0), ("A-02", "B1", 1)]
    assert set(desk.cues()) == {Cue("A-01", CueKind.PUT, 0, 2), Cue("A-02", CueKind.PUT, 1, 2)}
    desk.button("A-01", 1, shown=1)  # Ben's colour, never shown there: none of his booked
    assert puts(keeper) == []
    desk.button("A-01", 2, shown=0)  # the colour A-01 shows: Ana's
    ana = answers(keeper, "lit")[0]["command_id"]
    assert puts(keeper) == [("A-01", "B1", ana)] * 2
    assert answers(keeper, "refused") == []


def test_with_no_other_slot_another_desks_pack_is_refused_slot_busy_until_the_slot_is_put(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), [LONE, IBU])
    desk = keeper.putaways
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    desk.scanned(scan("B2"), "desk-2", "R-02", "Ben")  # a counted pack
    [refused] = answers(keeper, "refused")
    ben = str(refused["command_id"])
    assert (refused["reason"], refused["slot"]) == ("slot busy", "R-02")
    why = str(refused["why"])
    assert "B-01" in why and "goods-in" in why and "scan this pack again" in why, why
    assert Cue("R-02", CueKind.MISTAKE) in desk.cues()
    assert [c for c in desk.cues() if c.slot == "B-01"] == [Cue("B-01", CueKind.PUT, 0, 1)]
    desk.scanned(scan("I1", gtin=IBU.gtin), "desk-2", "R-02", "Ben")  # another drug: lit
    assert answers(keeper, "lit")[-1]["slot"] == "A-05"
    desk.button("B-01", 1, shown=0)
    assert [r[:2] for r in receipts(keeper)] == [("B-01", "B1")]
    desk.scanned(scan("B2"), "desk-2", "R-02", "Ben")  # scanned again once Ana's is put
    assert answers(keeper, "lit")[-1]["slot"] == "B-01"
    desk.button("B-01", 1, shown=desk.sessions[ben].number)
    assert puts(keeper)[-1] == ("B-01", "B2", ben)
    assert desk.sessions[ben].refused == 0, "put after all: not a refused pack"
    desk.end(ben, "Ben")
    [closed] = [c for c in answers(keeper, "closed") if c["command_id"] == ben]
    assert (closed["refused"], closed["refused_packs"], closed["waiting"]) == (0, [], 1)


def test_counted_packs_refused_slot_busy_and_put_after_all_are_no_refused_packs(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), [LONE, IBU])
    desk = keeper.putaways
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    for _ in range(2):  # Ben tries twice: refused twice
        desk.scanned(scan("B2"), "desk-2", "R-02", "Ben")
    ben = str(answers(keeper, "refused")[0]["command_id"])
    assert desk.sessions[ben].refused == 2
    desk.button("B-01", 1, shown=0)
    for _ in range(2):
        desk.scanned(scan("B2"), "desk-2", "R-02", "Ben")
    desk.button("B-01", 2, shown=desk.sessions[ben].number)
    assert (desk.sessions[ben].put, desk.sessions[ben].refused) == (2, 0)


def test_a_home_slot_merely_busy_leaves_the_pack_waiting_not_scattered_to_a_free_slot(
    tmp_path: Path,
) -> None:
    """Ibuprofen's one home slot has room without limit: another desk's pack of it waits for
    it (`slot busy`) rather than going to an empty slot nobody looks in for ibuprofen; free
    slots take what the home slots have no room for."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(scan("I1", gtin=IBU.gtin), "goods-in", "R-01", "Ana")
    desk.scanned(scan("I2", gtin=IBU.gtin), "desk-2", "R-02", "Ben")
    assert [a["slot"] for a in answers(keeper, "lit")] == ["A-05"]
    [refused] = answers(keeper, "refused")
    assert (refused["reason"], refused["slot"]) == ("slot busy", "R-02")
