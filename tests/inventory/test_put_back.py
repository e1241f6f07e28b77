"""A tagged pack picked for a list still open and seen again in the slot it was taken from is
put back: booked back to the list, which wants it again where it lies, also after a restart and
when the pack was not taken from the slot lit for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.apply import apply
from inventory.changes import Arrived, Left
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from tests.inventory.pick_shelves import (
    AMOX,
    Clock,
    assert_every_lit_slot_holds_its_packs,
    lit,
    open_keeper,
    results,
    stocked_keeper,
    tagged,
)


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    k = stocked_keeper(tmp_path / "l.sqlite", clock)
    k.put_away(tagged(1), "A-06")  # no expiry: last under FEFO, after A-02 EARLY and A-01 LATE
    return k


def returned_to(keeper: InventoryKeeper) -> list[str]:
    rows = keeper.db.execute("SELECT reference FROM movements WHERE kind = 'return' ORDER BY id")
    return [str(r[0]) for r in rows]


def test_a_pack_put_back_after_a_restart_is_booked_back_to_its_list(
    tmp_path: Path, keeper: InventoryKeeper, clock: Clock
) -> None:
    keeper.picks.start(PickRequest("rx-40", (PickLine(AMOX.gtin, 5),)))
    apply(keeper, Left(tagged(1).epc, "A-06"))
    assert lit(keeper) == {(0, "A-02"): 1, (0, "A-01"): 3}
    keeper.close()
    again = open_keeper(tmp_path / "l.sqlite", clock)
    apply(again, Arrived(tagged(1), "A-06"))
    assert lit(again) == {(0, "A-02"): 1, (0, "A-01"): 3, (0, "A-06"): 1}
    assert returned_to(again) == ["rx-40"]
    report = results(again, "rx-40")[-1]
    assert (report["confirmed_by"], report["picked"], report["remaining"]) == ("put back", 0, 5)


def test_a_pack_from_an_unlit_slot_put_back_is_wanted_where_it_lies_not_where_another_list_is(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 2),)))  # A-02 EARLY, A-01 LATE
    apply(keeper, Left(tagged(1).epc, "A-06"))  # a right pack, from a slot not lit for it
    assert lit(keeper) == {(0, "A-02"): 1}
    keeper.picks.start(PickRequest("rx-b", (PickLine(AMOX.gtin, 3),)))  # A-01's three packs
    apply(keeper, Arrived(tagged(1), "A-06"))  # rx-a's picker puts it back
    assert lit(keeper) == {(0, "A-02"): 1, (0, "A-06"): 1, (1, "A-01"): 3}
    assert_every_lit_slot_holds_its_packs(keeper)
    assert returned_to(keeper) == ["rx-a"]


def test_a_pack_from_an_unlit_slot_put_back_after_the_lit_batch_was_recalled_is_wanted_again(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-c", (PickLine(AMOX.gtin, 2),)))  # A-02 EARLY, A-01 LATE
    apply(keeper, Left(tagged(1).epc, "A-06"))
    keeper.picks.recall(AMOX.gtin, "LATE", "supplier notice 20")
    apply(keeper, Arrived(tagged(1), "A-06"))
    assert lit(keeper) == {(0, "A-02"): 1, (0, "A-06"): 1}, "lit for a recalled batch"
    assert_every_lit_slot_holds_its_packs(keeper)
