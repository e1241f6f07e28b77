"""Where a sweep places what it reads when the reads alone do not say: a handheld that reports
no signal strength (every read alike), and a pack of another shelf read through from a slot its
fixed reader still sees it in."""

from __future__ import annotations

import json
from pathlib import Path

from edge.cli.stocktake_report import report_table
from inventory.stocktake.report import StocktakeReport
from inventory.stocktake.sweep import Sweep
from tests.inventory.test_stocktake import GTIN, SLOTS, keeper_at, loc, pack, sweep_of

NO_RSSI = 0  # what a handheld without signal strength reports for every tag


def test_without_signal_strength_a_pack_read_once_from_the_next_slot_stays_where_it_is(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03"}.items():
        keeper.put_away(pack(n), slot)
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for slot, packs in (("A-01", (1, 2)), ("A-02", (3, 1)), ("A-03", (4,)), ("A-04", ())):
        sweep.location(slot, loc(slot), NO_RSSI)
        for n in packs:  # pack 1, in A-01, read once more from A-02
            sweep.pack(pack(n), NO_RSSI)
        sweep.round_done()
    out = keeper.stocktakes.finish(sweep)
    assert any("missing 0, unexpected 0, misplaced 0" in note for note in out.notes), out.notes
    keeper.stocktakes.confirm("st-1", "Bea")
    assert keeper.index.slot_of(pack(1).epc) == "A-01", "moved to the slot it was read from"


def test_without_signal_strength_the_slot_a_pack_was_read_in_most_rounds_wins() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for slot, packs in (("A-01", (1,)), ("A-01", (1, 2)), ("A-02", (1, 2)), ("A-02", (2,))):
        sweep.location(slot, loc(slot), NO_RSSI)
        for n in packs:
            sweep.pack(pack(n), NO_RSSI)
        sweep.round_done()
    assert sweep.seen() == {pack(1).epc: "A-01", pack(2).epc: "A-02"}
    # Read as often in two slots: the ledger's slot, if one of them; else the later read.
    tie = Sweep("st-2", "A", SLOTS, "Ana")
    for slot in ("A-02", "A-03"):
        tie.location(slot, loc(slot), NO_RSSI)
        tie.pack(pack(5), NO_RSSI)
        tie.round_done()
    assert tie.seen({pack(5).epc: "A-02"}) == {pack(5).epc: "A-02"}
    assert tie.seen() == {pack(5).epc: "A-03"}


def test_location_tags_read_alike_in_one_round_place_the_handheld_at_the_new_one() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    sweep.location("A-02", loc("A-02"), NO_RSSI)
    sweep.round_done()
    sweep.location("A-02", loc("A-02"), NO_RSSI)
    sweep.location("A-03", loc("A-03"), NO_RSSI)
    sweep.pack(pack(3), NO_RSSI)
    sweep.round_done()
    assert sweep.here == "A-03", "the handheld moved towards the tag new in the round"
    sweep.location("A-03", loc("A-03"), NO_RSSI)
    sweep.location("A-02", loc("A-02"), NO_RSSI)
    sweep.pack(pack(3), NO_RSSI)
    sweep.round_done()
    assert sweep.here == "A-03", "no tag new: still where it was"
    assert sweep.seen() == {pack(3).epc: "A-03"}
    first = Sweep("st-2", "A", SLOTS, "Ana")  # nothing read before: the first in shelf order
    first.location("A-03", loc("A-03"), NO_RSSI)
    first.location("A-02", loc("A-02"), NO_RSSI)
    first.pack(pack(2), NO_RSSI)
    first.round_done()
    assert first.here == "A-02" and first.seen() == {pack(2).epc: "A-02"}


def test_a_pack_read_through_from_another_shelfs_watched_slot_is_not_moved(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n, slot in {1: "A-01", 5: "B-01", 6: "B-02"}.items():
        keeper.put_away(pack(n), slot)
    # 5 and 6 are read from A-04; a fixed reader still sees 5 in B-01, none watches B-02.
    sweep = sweep_of({1: "A-01", 5: "A-04", 6: "A-04"})
    sweep.watched = {pack(5).epc: "B-01"}
    out = keeper.stocktakes.finish(sweep)
    assert any("misplaced 1" in note for note in out.notes), out.notes
    assert any("1 pack(s) of other shelves read through" in note for note in out.notes)
    row = keeper.db.execute("SELECT report FROM stocktakes").fetchone()
    report = StocktakeReport.from_dict(json.loads(row[0]))
    assert [(f.epc, f.ledger_slot, f.seen_slot) for f in report.read_through] == [
        (pack(5).epc, "B-01", "A-04")
    ]
    assert report.seen_by_slot["A-04"] == [pack(6).epc], "counted on the shelf swept"
    table = report_table(report, "ended")
    assert (
        "booked on another shelf, maybe read through from there (look before confirming, which "
        f"moves all such packs here) {GTIN}/6 (ledger B-02)" in table
    )
    assert f"still see them (not differences): {GTIN}/5 (ledger B-01)" in table
    keeper.stocktakes.confirm("st-1", "Bea")
    assert keeper.index.slot_of(pack(5).epc) == "B-01"
    assert keeper.index.slot_of(pack(6).epc) == "A-04", "nothing watches B-02: moved, as before"


def test_a_pack_of_this_shelf_its_fixed_reader_still_sees_counts_in_its_own_slot(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.put_away(pack(2), "A-02")
    sweep = sweep_of({1: "A-02", 2: "A-02"})  # 1 read strongest from A-02
    sweep.watched = {pack(1).epc: "A-01"}
    out = keeper.stocktakes.finish(sweep)
    assert any("missing 0, unexpected 0, misplaced 0" in note for note in out.notes), out.notes
