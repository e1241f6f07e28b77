"""Counts of one shelf waiting side by side: each judges only the slots its sweep passed, a later
count takes over from an earlier one only the slots it counted again, confirming one never
writes off a pack another waiting count saw, and the shelf's discrepancy alarm follows every
count still waiting."""

from __future__ import annotations

import json
from pathlib import Path

from edge.cli.stocktake_report import report_table
from inventory.alarms.lifecycle import AlarmKind
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.stocktake.report import StocktakeReport
from inventory.stocktake.sweep import Sweep
from sync.contract import validate
from tests.inventory.test_stocktake import GTIN, SLOTS, keeper_at, loc, pack

ON_SHELF = {1: "A-01", 2: "A-01", 3: "A-02", 4: "A-03", 5: "A-04"}


def stocked(path: Path) -> InventoryKeeper:
    keeper = keeper_at(path)
    for n, slot in ON_SHELF.items():
        keeper.put_away(pack(n), slot)
    return keeper


def sweep(stocktake_id: str, physical: dict[str, list[int]]) -> Sweep:
    """A sweep that passes the slots of `physical` in turn (their location tag, their packs)."""
    passing = Sweep(stocktake_id, "A", SLOTS, "Ana")
    for slot, packs in physical.items():
        passing.location(slot, loc(slot), rssi=-40)
        for n in packs:
            passing.pack(pack(n), rssi=-50)
        passing.round_done()
    return passing


def stored(keeper: InventoryKeeper, stocktake_id: str) -> tuple[str, StocktakeReport]:
    state, body = keeper.db.execute(
        "SELECT state, report FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,)
    ).fetchone()
    return state, StocktakeReport.from_dict(json.loads(body))


def confirm_answer(keeper: InventoryKeeper, stocktake_id: str) -> dict[str, object]:
    """The gateway's answer to confirming `stocktake_id` (as the contract has it)."""
    for (payload,) in keeper.db.execute("SELECT payload FROM outbox ORDER BY id"):
        body = json.loads(payload) if payload else {}
        if body.get("command") == "stocktake-confirm" and body["command_id"] == stocktake_id:
            assert validate("cmd-result", payload) == []
            return dict(body)
    raise AssertionError(f"no answer to confirming {stocktake_id}")


def discrepancy(keeper: InventoryKeeper) -> dict[str, object] | None:
    live = [a for a in keeper.alarms.live() if a.kind is AlarmKind.DISCREPANCY]
    return live[0].detail if live else None


def test_a_count_cut_short_judges_only_the_slots_passed(tmp_path: Path) -> None:
    keeper = stocked(tmp_path / "l.sqlite")
    keeper.commit([Movement(MovementKind.PUT_AWAY, GTIN, 3, batch="B7", to_slot="A-04")])
    out = keeper.stocktakes.finish(sweep("st-1", {"A-01": [1, 2], "A-02": [3]}))
    state, report = stored(keeper, "st-1")
    assert report.summary()["missing"] == 0 and discrepancy(keeper) is None
    assert (state, report.not_counted) == ("ended", ["A-03", "A-04"])
    assert "not counted (the sweep did not pass them): A-03, A-04" in out.notes[0]
    # No event says A-04 was looked at: its counted packs are the ledger's word alone.
    events = [json.loads(r[0]) for r in keeper.db.execute("SELECT payload FROM outbox")]
    places = {e["readPoint"]["id"] for e in events if e.get("type") == "ObjectEvent"}
    assert places == {loc("A-01"), loc("A-02")}
    assert "A-04            1     0   not counted: the sweep did not pass it" in report_table(
        report, state
    )
    confirmed = keeper.stocktakes.confirm("st-1", "Bea")
    assert confirmed.booked_epcs == [] and len(keeper.index.placed_epcs()) == 5


def test_a_later_count_takes_over_only_the_slots_it_counted_again(tmp_path: Path) -> None:
    keeper = stocked(tmp_path / "l.sqlite")
    # Pack 2 is gone from A-01; the sweep stops at A-02. The rest is swept from A-02 on.
    keeper.stocktakes.finish(sweep("st-1", {"A-01": [1], "A-02": [3]}))
    keeper.stocktakes.finish(sweep("st-2", {"A-02": [3], "A-03": [4], "A-04": [5]}))
    state, first = stored(keeper, "st-1")
    assert state == "ended", "the count of A-01 was lost to a count that did not pass A-01"
    assert first.recounted == {"A-02": "st-2"}
    assert "A-02            1     1   counted again by st-2, which books it" in report_table(
        first, state
    )
    alarm = discrepancy(keeper)
    assert alarm is not None and (alarm["slots"], alarm["waiting"]) == (["A-01"], ["st-1"])
    confirmed = keeper.stocktakes.confirm("st-1", "Bea")
    assert confirmed.booked_epcs == [pack(2).epc]
    assert discrepancy(keeper) is None
    # Swept end to end again: the count waiting with no slot of its own left is superseded.
    keeper.stocktakes.finish(sweep("st-3", {"A-01": [1], "A-02": [3], "A-03": [], "A-04": [5]}))
    keeper.stocktakes.finish(sweep("st-4", {s: [] for s in SLOTS}))
    assert [stored(keeper, sid)[0] for sid in ("st-2", "st-3", "st-4")] == [
        "superseded",
        "superseded",
        "ended",
    ]


def test_confirming_a_count_never_writes_off_a_pack_another_waiting_count_saw(
    tmp_path: Path,
) -> None:
    keeper = stocked(tmp_path / "l.sqlite")
    # Pack 4, booked in A-03, lies in A-01: the first half of the sweep finds it there; the
    # second half does not find it in A-03.
    keeper.stocktakes.finish(sweep("st-1", {"A-01": [1, 2, 4], "A-02": [3]}))
    keeper.stocktakes.finish(sweep("st-2", {"A-03": [], "A-04": [5]}))
    alarm = discrepancy(keeper)
    assert alarm is not None and alarm["slots"] == ["A-01", "A-03"]
    assert alarm["waiting"] == ["st-1", "st-2"]
    second = keeper.stocktakes.confirm("st-2", "Bea")
    assert second.booked_epcs == [], "a pack a waiting count saw on the shelf was written off"
    # The answer (and so the page and the command line) says what it left, and why.
    why = "seen in A-01 by st-1, still waiting: confirm it"
    assert confirm_answer(keeper, "st-2")["skipped"] == [
        {"epc": pack(4).epc, "gtin": GTIN, "serial": "4", "slot": "A-03", "why": why}
    ]
    assert f"1 not booked: {GTIN}/4 in A-03 ({why})" in second.notes[-1]
    alarm = discrepancy(keeper)
    assert alarm is not None and (alarm["slots"], alarm["waiting"]) == (["A-01"], ["st-1"])
    keeper.stocktakes.confirm("st-1", "Bea")
    assert keeper.index.placed_epcs()[pack(4).epc] == "A-01"
    assert len(keeper.index.placed_epcs()) == 5 and discrepancy(keeper) is None


def test_a_report_kept_before_slots_were_recorded_still_judges_every_slot(tmp_path: Path) -> None:
    keeper = stocked(tmp_path / "l.sqlite")
    keeper.stocktakes.finish(sweep("st-1", {slot: [] for slot in SLOTS}))
    _, report = stored(keeper, "st-1")
    kept = report.to_dict()
    del kept["not_counted"], kept["recounted"]
    old = StocktakeReport.from_dict(kept)
    assert all(old.judges(slot) for slot in SLOTS)
    assert old.summary() == report.summary() and old.summary()["missing"] == 5
