"""Where a handheld that reports no signal strength is, when a round reads several location
tags: the middle one in shelf order of those read most; of two, the one the tags moved
towards, else the nearer to where it was, else (the first round) the first in shelf order."""

from __future__ import annotations

from inventory.codes.identifiers import PackId
from inventory.stocktake.sweep import Sweep

SLOTS = ["A-01", "A-02", "A-03", "A-04"]
SIX = [f"A-0{n}" for n in range(1, 7)]


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


def test_a_field_reading_both_neighbours_alike_places_each_pack_in_its_own_slot() -> None:
    ledger = {pack(n).epc: slot for n, slot in enumerate(SIX)}
    for neighbours_packs in (False, True):
        for rounds in (1, 3):
            sweep = Sweep("st-1", "A", SIX, "Ana")
            for at in range(len(SIX)):
                for _ in range(rounds):
                    for n in (at - 1, at, at + 1):  # the field reaches a slot either side
                        if 0 <= n < len(SIX):
                            sweep.location(SIX[n], "", 0)
                            if neighbours_packs or n == at:
                                sweep.pack(pack(n), 0)
                    sweep.round_done()
                assert sweep.here == SIX[at], (neighbours_packs, rounds)
            assert sweep.seen(ledger) == ledger, (neighbours_packs, rounds)


def test_a_tag_missed_at_one_side_does_not_move_the_handheld() -> None:
    sweep = Sweep("st-1", "A", SIX, "Ana")
    full = ["A-02", "A-03", "A-04"]
    for slots in (full, ["A-03", "A-04"], full, ["A-02", "A-03"], ["A-02", "A-04"]):
        for slot in slots:
            sweep.location(slot, "", 0)
        sweep.round_done()
        assert sweep.here == "A-03", slots
