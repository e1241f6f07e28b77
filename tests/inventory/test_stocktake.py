"""Stocktake: sweep reads assigned to slots, reconciliation against the ledger, the discrepancy
alarm, EPCIS events, and confirmation making the ledger match the shelf."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.cli.stocktake_report import report_table
from edge.lights.light_plan import DISCREPANCY_LIGHT, plan_lights
from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.verify import verify
from inventory.site_calendar import SiteCalendar
from inventory.stocktake.report import StocktakeReport
from inventory.stocktake.sweep import Sweep

GTIN = "04012345123456"
SLOTS = ["A-01", "A-02", "A-03", "A-04"]


def pack(n: int) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{n}", GTIN, str(n))


def loc(slot: str) -> str:
    return f"urn:epc:id:sgln:4012345.00001.{slot[-1]}"


def clock() -> datetime:
    return datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def keeper_at(path: Path) -> InventoryKeeper:
    return InventoryKeeper(path, {}, "s1", "g1", SiteCalendar(UTC, clock))


def sweep_of(physical: dict[int, str]) -> Sweep:
    """A sweep that passes each slot in turn, reading its location tag and its packs."""
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for slot in SLOTS:
        sweep.location(slot, loc(slot), rssi=-40)
        for n, where in physical.items():
            if where == slot:
                sweep.pack(pack(n), rssi=-50)
        sweep.round_done()
    return sweep


def test_a_pack_belongs_to_the_location_current_at_its_strongest_read() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    sweep.location("A-01", loc("A-01"), rssi=-45)
    sweep.location("A-02", loc("A-02"), rssi=-60)  # the neighbour, fainter: not where we are
    sweep.pack(pack(1), rssi=-50)
    sweep.round_done()
    sweep.pack(pack(2), rssi=-70)  # a round without a location tag: still at A-01
    sweep.round_done()
    sweep.location("A-02", loc("A-02"), rssi=-40)
    sweep.pack(pack(1), rssi=-75)  # pack 1 again, faint, from the next slot: stays in A-01
    sweep.pack(pack(2), rssi=-48)  # pack 2 read strongly here: it is in A-02
    sweep.round_done()
    assert sweep.seen() == {pack(1).epc: "A-01", pack(2).epc: "A-02"}


def test_differences_are_reported_exactly_and_confirmation_books_them(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03", 5: "B-01"}.items():
        keeper.put_away(pack(n), slot)
    # On the shelf: 2 is gone, 3 moved to A-04, 6 is there but unknown, 5 (shelf B) is in A-03.
    physical = {1: "A-01", 3: "A-04", 4: "A-03", 5: "A-03", 6: "A-02"}
    out = keeper.stocktakes.finish(sweep_of(physical))
    report = keeper.db.execute("SELECT state, report FROM stocktakes").fetchone()
    assert report[0] == "ended"
    body = json.loads(report[1])
    by_slot = {s["slot"]: s for s in body["slots"]}
    assert [f["epc"] for f in by_slot["A-01"]["missing"]] == [pack(2).epc]
    assert [f["epc"] for f in by_slot["A-02"]["unexpected"]] == [pack(6).epc]
    assert {f["epc"] for f in by_slot["A-04"]["misplaced_in"]} == {pack(3).epc}
    assert {f["epc"] for f in by_slot["A-03"]["misplaced_in"]} == {pack(5).epc}
    assert (by_slot["A-01"]["expected"], by_slot["A-01"]["seen"]) == (2, 1)
    assert any("missing 1, unexpected 1, misplaced 2" in note for note in out.notes)
    live = {a.kind: a for a in keeper.alarms.live()}
    assert live[AlarmKind.DISCREPANCY].detail["stocktake_id"] == "st-1"
    lights = plan_lights(keeper.alarms.live(), keeper.index)
    assert {slot for slot, light in lights.items() if light == DISCREPANCY_LIGHT} == set(SLOTS)
    events = [
        json.loads(r[0])
        for r in keeper.db.execute("SELECT payload FROM outbox WHERE kind = 'event'")
    ]
    assert len(events) == 4 and {e["bizStep"] for e in events} == {"cycle_counting"}
    assert {e["readPoint"]["id"] for e in events} == {loc(s) for s in SLOTS}

    confirmed = keeper.stocktakes.confirm("st-1", "Ana")
    assert keeper.index.placed_epcs() == {pack(n).epc: s for n, s in physical.items()}
    assert AlarmKind.DISCREPANCY not in {a.kind for a in keeper.alarms.live()}
    assert confirmed.booked_epcs == [pack(2).epc]
    kinds = keeper.db.execute(
        "SELECT kind, count(*) FROM movements WHERE reference = 'st-1' GROUP BY kind"
    ).fetchall()
    assert dict((k, n) for k, n in kinds) == {"count_adjustment": 2, "move": 2}
    assert verify(keeper.db).ok
    again = keeper.stocktakes.confirm("st-1", "Ana")
    assert "is confirmed" in again.refusals[0]


def test_a_report_is_never_written_over_by_a_sweep_of_the_same_id(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.stocktakes.finish(sweep_of({}))  # st-1: pack 1 missing
    keeper.stocktakes.confirm("st-1", "Bea")
    again = sweep_of({})  # st-1 again (the clock set back to its second)
    keeper.stocktakes.started(again)
    assert again.stocktake_id == "st-1-2", "the sweep takes the free id from its start"
    keeper.stocktakes.finish(again)
    rows = keeper.db.execute(
        "SELECT stocktake_id, state, confirmed_by FROM stocktakes ORDER BY rowid"
    )
    assert [tuple(r) for r in rows] == [("st-1", "confirmed", "Bea"), ("st-1-2", "ended", None)]
    booked = keeper.db.execute("SELECT count(*) FROM movements WHERE reference = 'st-1'")
    assert booked.fetchone()[0] == 1, "the confirmed count keeps the movement it booked"


def test_a_report_superseded_by_a_newer_count_is_refused_and_the_newer_ones_alarm_stays(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.put_away(pack(2), "A-02")
    keeper.stocktakes.finish(sweep_of({2: "A-02"}))  # st-1: pack 1 missing
    newer = Sweep("st-2", "A", SLOTS, "Ana")
    for slot in SLOTS:
        newer.location(slot, loc(slot), rssi=-40)
        newer.round_done()
    keeper.stocktakes.finish(newer)  # st-2: both missing, not confirmed yet
    refused = keeper.stocktakes.confirm("st-1", "Bea")
    assert "st-1 is superseded: shelf A was counted again since" in refused.refusals[0]
    assert AlarmKind.DISCREPANCY in {a.kind for a in keeper.alarms.live()}, "st-2 waits"
    keeper.stocktakes.confirm("st-2", "Bea")
    assert AlarmKind.DISCREPANCY not in {a.kind for a in keeper.alarms.live()}
    assert set(keeper.index.placed_epcs()) == set(), "st-2 booked both out, once each"


def test_a_clean_sweep_clears_the_discrepancy(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    keeper.put_away(pack(1), "A-01")
    keeper.stocktakes.finish(sweep_of({}))
    assert AlarmKind.DISCREPANCY in {a.kind for a in keeper.alarms.live()}
    clean = Sweep("st-2", "A", SLOTS, "Ana")
    clean.location("A-01", loc("A-01"), -40)
    clean.pack(pack(1), -50)
    keeper.stocktakes.finish(clean)
    assert AlarmKind.DISCREPANCY not in {a.kind for a in keeper.alarms.live()}


@settings(max_examples=40, deadline=None)
@given(
    booked=st.dictionaries(st.integers(1, 40), st.sampled_from([*SLOTS, "B-01"]), max_size=30),
    physical=st.dictionaries(st.integers(1, 40), st.sampled_from(SLOTS), max_size=30),
)
def test_after_confirmation_the_ledger_holds_what_the_sweep_saw(
    tmp_path_factory: object, booked: dict[int, str], physical: dict[int, str]
) -> None:
    path = tmp_path_factory.mktemp("st") / "l.sqlite"  # type: ignore[attr-defined]
    keeper = keeper_at(path)
    for n, slot in booked.items():
        keeper.put_away(pack(n), slot)
    keeper.stocktakes.finish(sweep_of(physical))
    keeper.stocktakes.confirm("st-1", "Ana")
    on_shelf_a = {epc: s for epc, s in keeper.index.placed_epcs().items() if s in SLOTS}
    assert on_shelf_a == {pack(n).epc: s for n, s in physical.items()}
    outside = {epc: s for epc, s in keeper.index.placed_epcs().items() if s not in SLOTS}
    assert outside == {
        pack(n).epc: s for n, s in booked.items() if s not in SLOTS and n not in physical
    }
    assert verify(keeper.db).ok
    keeper.close()


def test_packs_read_before_any_location_tag_are_seen_and_never_missing(tmp_path: Path) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n, slot in {1: "A-01", 2: "A-01", 3: "A-02", 5: "B-01"}.items():
        keeper.put_away(pack(n), slot)
    # A-01's location tag unreadable: its packs (and 5 of shelf B, 9 nobody booked in) are
    # read before any location tag; 1 again, fainter, from A-02.
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    for n in (1, 2, 5, 9):
        sweep.pack(pack(n), rssi=-45)
    sweep.round_done()
    sweep.location("A-02", loc("A-02"), rssi=-40)
    sweep.pack(pack(3), rssi=-45)
    sweep.pack(pack(1), rssi=-75)
    sweep.round_done()
    keeper.stocktakes.finish(sweep)
    row = keeper.db.execute("SELECT report FROM stocktakes").fetchone()
    report = StocktakeReport.from_dict(json.loads(row[0]))
    by_slot = {s.slot: s for s in report.slots}
    assert (by_slot["A-01"].expected, by_slot["A-01"].seen) == (2, 2)
    assert sorted(report.seen_by_slot["A-01"]) == sorted([pack(1).epc, pack(2).epc])
    assert {(f.epc, f.ledger_slot, f.seen_slot) for f in report.unplaced} == {
        (pack(5).epc, "B-01", None),
        (pack(9).epc, None, None),
    }
    # Only A-02's location tag was read: the other slots are not counted.
    assert report.not_counted == ["A-01", "A-03", "A-04"]
    assert report.summary() == {
        "slots": 1,
        "expected": 1,
        "seen": 3,
        "missing": 0,
        "unexpected": 1,
        "misplaced": 1,
    }
    table = report_table(report, "ended")
    assert f"slot unknown (nothing booked for them): {GTIN}/5 (ledger B-01), {GTIN}/9" in table
    confirmed = keeper.stocktakes.confirm("st-1", "Ana")
    assert confirmed.booked_epcs == [], "a pack the handheld read was booked out"
    placed = keeper.index.placed_epcs()
    assert placed == {
        pack(1).epc: "A-01",
        pack(2).epc: "A-01",
        pack(3).epc: "A-02",
        pack(5).epc: "B-01",
    }, "a pack found without a slot was booked into one"


def test_a_round_that_reads_only_another_shelfs_tag_does_not_move_the_handheld() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    sweep.location("A-02", loc("A-02"), rssi=-40)
    sweep.pack(pack(2), rssi=-60)
    assert sweep.round_done() == []
    sweep.location("B-02", "urn:epc:id:sgln:4012345.00002.2", rssi=-30)  # across the aisle
    sweep.pack(pack(3), rssi=-50)
    assert sweep.round_done() == [], "one stray round is not the handheld moving on"
    sweep.location("A-02", loc("A-02"), rssi=-40)  # A-02's own tag again: it never left
    assert sweep.round_done() == []
    assert sweep.seen() == {pack(2).epc: "A-02", pack(3).epc: "A-02"}
    assert "B-02" not in sweep.location_uris


def test_rounds_read_at_another_shelf_are_handed_on_or_left_out_when_the_sweep_ends() -> None:
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    sweep.location("A-04", loc("A-04"), rssi=-40)
    sweep.round_done()
    for n in (7, 8):  # two rounds at shelf B, then the sweep ends
        sweep.location("B-01", "urn:epc:id:sgln:4012345.00002.1", rssi=-40)
        sweep.pack(pack(n), rssi=-40)
        assert sweep.round_done() == []
    assert sweep.seen() == {}, "packs read at the next shelf were counted on this one"

    sweep = Sweep("st-2", "A", SLOTS, "Ana")
    sweep.location("A-04", loc("A-04"), rssi=-40)
    sweep.round_done()
    moved_on = []
    for n in (7, 8, 9):
        sweep.location("B-01", "urn:epc:id:sgln:4012345.00002.1", rssi=-40)
        sweep.pack(pack(n), rssi=-40)
        moved_on = sweep.round_done()
    assert [r.packs[0][0] for r in moved_on] == [pack(7), pack(8), pack(9)]
    assert sweep.seen() == {}
    shelf_b = Sweep("st-3", "B", ["B-01", "B-02"], "Ana")
    assert shelf_b.replay(moved_on) == []
    assert shelf_b.seen() == {pack(n).epc: "B-01" for n in (7, 8, 9)}


def test_an_abandoned_sweep_is_reported_as_abandoned_on_the_sites_clock(tmp_path: Path) -> None:
    """A sweep abandoned at 19:37 UTC at a site in Shanghai: its report says when, as the
    site's clocks showed it (03:37 the next day, +08:00), and that it was abandoned, not
    counted."""
    at = datetime(2026, 12, 6, 19, 37, tzinfo=UTC)
    keeper = InventoryKeeper(
        tmp_path / "l.sqlite", {}, "s1", "g1", SiteCalendar(ZoneInfo("Asia/Shanghai"), lambda: at)
    )
    keeper.stocktakes.abandon(Sweep("st-1", "A", SLOTS, "Ana"), "handheld hh-1 down for 900 s")
    report_text, state = keeper.db.execute("SELECT report, state FROM stocktakes").fetchone()
    report = StocktakeReport.from_dict(json.loads(report_text))
    assert report.time_zone_offset == "+08:00"
    header = report_table(report, state).splitlines()[0]
    assert (
        header == "stocktake st-1 of shelf A by Ana (abandoned), abandoned 2026-12-07 03:37 +08:00"
    )
    keeper.close()
