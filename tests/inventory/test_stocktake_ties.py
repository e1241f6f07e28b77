"""Where a handheld that reports no signal strength is, when a round reads several location
tags: the one new since the round before, else the one read most, else (the first round) the
first in shelf order."""

from __future__ import annotations

from inventory.codes.identifiers import PackId
from inventory.stocktake.sweep import Sweep

SLOTS = ["A-01", "A-02", "A-03", "A-04"]


def pack(n: int) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{n}", "04012345123456", str(n))


def test_with_the_last_slots_tag_always_in_range_each_slot_is_reached() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for n, slot in enumerate(SLOTS):
        if n:  # the tag of the slot just passed is still read, as strongly (no strength)
            sweep.location(SLOTS[n - 1], "", 0)
        sweep.location(slot, "", 0)
        sweep.pack(pack(n), 0)
        sweep.round_done()
        sweep.location(slot, "", 0)  # a second round at the slot: still there
        if n:
            sweep.location(SLOTS[n - 1], "", 0)
        sweep.round_done()
    assert sweep.seen() == {pack(n).epc: slot for n, slot in enumerate(SLOTS)}


def test_a_first_round_reading_two_tags_alike_places_the_handheld_in_shelf_order() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for slots, packs in [(["A-02", "A-01"], [1]), (["A-01", "A-02"], [1]), (["A-02", "A-03"], [2])]:
        for slot in slots:
            sweep.location(slot, "", 0)
        for n in packs:
            sweep.pack(pack(n), 0)
        sweep.round_done()
    assert sweep.seen() == {pack(1).epc: "A-01", pack(2).epc: "A-03"}


def test_of_two_new_tags_the_one_read_most_in_the_round_wins() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    sweep.location("A-01", "", 0)
    sweep.round_done()
    for slot in ("A-03", "A-02", "A-03"):
        sweep.location(slot, "", 0)
    sweep.pack(pack(3), 0)
    sweep.round_done()
    assert sweep.seen() == {pack(3).epc: "A-03"}
