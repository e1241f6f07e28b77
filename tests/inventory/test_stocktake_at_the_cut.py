"""Where one count of a shelf ends and the next begins. A handheld counts the slots it was at,
not the next slot whose location tag its field reaches; a pack read from the next slot as a
sweep was cut short is neither moved nor written off when the sweep of the rest saw it in its
own slot, whichever count is confirmed first; and a count's figures are those of the slots it
still judges: what confirming it books."""

from __future__ import annotations

from pathlib import Path

from edge.cli.stocktake_report import report_table
from inventory.keeper import InventoryKeeper
from inventory.stocktake.sweep import Sweep
from tests.inventory.test_stocktake import GTIN, SLOTS, keeper_at, loc, pack
from tests.inventory.test_stocktake_recounted import confirm_answer, discrepancy, stored, sweep

OWN, NEXT, PACK, FAINT = -40, -62, -45, -70  # RSSI: its own tag, the next slot's, packs


def one_a_slot(path: Path) -> InventoryKeeper:
    """Pack n in slot A-0n, for n in 1..4."""
    keeper = keeper_at(path)
    for n, slot in enumerate(SLOTS, start=1):
        keeper.put_away(pack(n), slot)
    return keeper


def rssi_sweep(stocktake_id: str, stops: list[str], faint: dict[str, int] | None = None) -> Sweep:
    """A handheld with signal strength held at each slot of `stops` for three rounds: its own
    location tag read strongly, the neighbours' faintly (its field reaches their tags, not
    their packs in their boxes), its own pack; `faint`: slot -> a pack read there faintly, from
    the next slot."""
    passing = Sweep(stocktake_id, "A", SLOTS, "Ana")
    for slot in stops:
        i = SLOTS.index(slot)
        for _ in range(3):
            passing.location(slot, loc(slot), OWN)
            for j in (i - 1, i + 1):
                if 0 <= j < len(SLOTS):
                    passing.location(SLOTS[j], loc(SLOTS[j]), NEXT)
            passing.pack(pack(i + 1), PACK)
            if faint and slot in faint:
                passing.pack(pack(faint[slot]), FAINT)
            passing.round_done()
    return passing


def test_a_location_tag_read_from_the_next_slot_counts_nothing_there(tmp_path: Path) -> None:
    keeper = one_a_slot(tmp_path / "l.sqlite")
    # Lowered at A-02: A-03's tag was read, faintly, while the handheld was at A-02.
    keeper.stocktakes.finish(rssi_sweep("st-1", ["A-01", "A-02"]))
    _, first = stored(keeper, "st-1")
    assert first.not_counted == ["A-03", "A-04"] and first.summary()["missing"] == 0
    # The rest swept from A-03, whose first rounds read A-02's tag faintly: it takes over
    # nothing of the first count, and counts nothing in A-02.
    keeper.stocktakes.finish(rssi_sweep("st-2", ["A-03", "A-04"]))
    (state, first), (_, second) = stored(keeper, "st-1"), stored(keeper, "st-2")
    assert (state, first.recounted, second.not_counted) == ("ended", {}, ["A-01", "A-02"])
    assert discrepancy(keeper) is None
    for sid in ("st-2", "st-1"):
        assert keeper.stocktakes.confirm(sid, "Bea").booked_epcs == []
    # Walked past on the way out, at A-01 for a few rounds: A-02's tag read faintly.
    keeper.stocktakes.finish(rssi_sweep("st-3", ["A-01"]))
    _, past = stored(keeper, "st-3")
    assert past.not_counted == ["A-02", "A-03", "A-04"] and discrepancy(keeper) is None
    assert keeper.stocktakes.confirm("st-3", "Bea").booked_epcs == []
    assert sorted(keeper.index.placed_epcs().values()) == SLOTS


def test_a_handheld_without_signal_strength_counts_the_slots_it_is_placed_at(
    tmp_path: Path,
) -> None:
    """Every tag read alike, the field reaching one slot either side: the handheld is midway
    between the outer tags read, so a sweep end to end is at every slot in turn."""

    def alike(stops: list[str]) -> Sweep:
        passing = Sweep("st-1", "A", SLOTS, "Ana")
        for slot in stops:
            i = SLOTS.index(slot)
            for _ in range(3):
                for j in (i - 1, i, i + 1):
                    if 0 <= j < len(SLOTS):
                        passing.location(SLOTS[j], loc(SLOTS[j]), 0)
                passing.pack(pack(i + 1), 0)
                passing.round_done()
        return passing

    whole = alike(SLOTS)
    assert whole.passed == set(SLOTS)
    assert whole.seen() == {pack(n).epc: slot for n, slot in enumerate(SLOTS, start=1)}
    # Lowered at A-02: A-03's tag was read there, as strongly as any (no strength to tell).
    keeper = one_a_slot(tmp_path / "l.sqlite")
    keeper.stocktakes.finish(alike(["A-01", "A-02"]))
    _, report = stored(keeper, "st-1")
    assert report.not_counted == ["A-03", "A-04"] and report.summary()["missing"] == 0
    assert keeper.stocktakes.confirm("st-1", "Bea").booked_epcs == []


def test_a_pack_read_from_the_next_slot_at_the_cut_stays_whichever_count_is_confirmed_first(
    tmp_path: Path,
) -> None:
    for first, then, why in (
        ("st-1", "st-2", "seen in A-03 by st-2, still waiting: confirm it"),
        ("st-2", "st-1", "seen in A-03 by st-2, a later count, confirmed"),
    ):
        keeper = one_a_slot(tmp_path / f"{first}.sqlite")
        # Lowered at A-02, whose rounds read pack 3 of A-03 faintly (and nowhere else).
        keeper.stocktakes.finish(rssi_sweep("st-1", ["A-01", "A-02"], faint={"A-02": 3}))
        _, cut = stored(keeper, "st-1")
        assert [f.epc for f in cut.slots[1].misplaced_in] == [pack(3).epc]
        # The rest of the shelf swept: pack 3 read strongly in A-03, where the ledger has it.
        keeper.stocktakes.finish(rssi_sweep("st-2", ["A-03", "A-04"]))
        for sid in (first, then):
            keeper.stocktakes.confirm(sid, "Bea")
        assert keeper.index.placed_epcs()[pack(3).epc] == "A-03", f"{first} confirmed first"
        assert confirm_answer(keeper, "st-1")["skipped"] == [
            {"epc": pack(3).epc, "gtin": GTIN, "serial": "3", "slot": "A-02", "why": why}
        ]
        assert confirm_answer(keeper, "st-2")["skipped"] == []
        keeper.close()


def test_a_counts_figures_leave_out_the_slots_a_later_count_took_over(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03", 5: "A-04"}.items():
        keeper.put_away(pack(n), slot)
    # Swept end to end: pack 2 is gone; pack 4 was not read. swept again.
    keeper.stocktakes.finish(sweep("st-1", {"A-01": [1], "A-02": [3], "A-03": [], "A-04": [5]}))
    keeper.stocktakes.finish(sweep("st-2", {"A-03": [4], "A-04": [5]}))
    state, first = stored(keeper, "st-1")
    assert first.summary() == {
        "slots": 2,
        "expected": 3,
        "seen": 2,
        "missing": 1,
        "unexpected": 0,
        "misplaced": 0,
    }
    assert "2 packs seen of 3 expected in 2 slots: 1 missing" in report_table(first, state)
    alarm = discrepancy(keeper)
    assert alarm is not None and alarm["counts"] == first.summary()
    assert keeper.stocktakes.confirm("st-1", "Bea").booked_epcs == [pack(2).epc]
