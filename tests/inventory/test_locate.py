"""Locating a drug on the pick desk's shelves: only the slots holding usable packs (available,
unexpired on the site's calendar, of no recalled batch) are lit, each with its usable packs; a
slot holding only held packs keeps its own light, and a drug with no usable pack lights nothing
and is answered so."""

from __future__ import annotations

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour, Mode
from edge.lights.light_plan import HELD_LIGHT, plan_lights
from inventory.apply import apply
from inventory.changes import ExpirySweep
from inventory.keeper import InventoryKeeper
from inventory.picking.outcome import CueKind
from tests.inventory.pick_shelves import AMOX, IBU, put, results


def located(keeper: InventoryKeeper) -> dict[str, int]:
    return {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.LOCATE}


def test_locate_lights_only_the_usable_packs_and_held_slots_keep_their_own_light(
    keeper: InventoryKeeper,
) -> None:
    # Beside the shelves' held lines (A-03 expired, A-04 quarantined, A-05 recalled): expired
    # packs in a slot that also holds usable ones, and a pack of the recalled batch booked
    # available (a count found it).
    put(keeper, "A-02", "GONE", "2026-11-25", 2)
    put(keeper, "A-06", "BAD", "2027-03-31", 1)
    apply(keeper, ExpirySweep(30))  # A-03's and A-02's expired batches held, their alarms red

    out = keeper.picks.locate(AMOX.gtin, 30, "where-amox")

    assert located(keeper) == {"A-02": 1, "A-01": 3}
    [answer] = results(keeper, "where-amox")
    assert answer["status"] == "located"
    assert answer["slots"] == [{"slot": "A-02", "quantity": 1}, {"slot": "A-01", "quantity": 3}]
    assert out.notes == ["GTIN 04012345123456 is in A-02 (1), A-01 (3)"]
    lights = plan_lights(keeper.alarms.live(), keeper.index, keeper.picks.cues())
    white = Colour.WHITE, Mode.FAST_BLINK
    assert lights["A-01"] == SlotLight(True, *white, 3)
    assert lights["A-02"] == SlotLight(True, *white, 1), "the usable pack, not the expired ones"
    assert lights["A-03"] == HELD_LIGHT, "the expired batch keeps its red hold light"
    for slot in ("A-04", "A-05", "A-06"):
        assert lights.get(slot) is None or lights[slot].colour is not Colour.WHITE, slot


def test_a_drug_with_no_usable_pack_lights_nothing_and_is_answered_so(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.recall(IBU, "I1", "supplier notice 18")  # B-01's only batch

    out = keeper.picks.locate(IBU, 30, "where-ibu")

    assert located(keeper) == {} and not out.lights_changed
    [answer] = results(keeper, "where-ibu")
    assert answer["status"] == "located" and answer["slots"] == []
    assert out.notes == ["GTIN 04012345000016 is in no slot: none usable"]
    assert "B-01" not in plan_lights(keeper.alarms.live(), keeper.index, keeper.picks.cues())
