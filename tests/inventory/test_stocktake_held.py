"""A count and packs held where they lie. A quarantine or release in place since the count began
(the nightly expiry sweep, a recall) is no move: a pack the count missed is still booked out
when confirmed, and a count across midnight still judges the packs the expiry sweep held. A
pack the count finds is held by the rules a fixed reader's is (written off while held: held
again) and ends the alarm its absence raised. What confirming leaves, its answer says, and why.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Arrived
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.site_calendar import SiteCalendar
from inventory.stock.expiry import expiry_sweep
from inventory.stock.held_packs import LEFT_HELD
from inventory.stocktake.sweep import Sweep
from tests.inventory.test_stocktake import GTIN, SLOTS, loc, pack, sweep_of


class Wall:
    """The site's wall clock, moved by the test."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def keeper_on(path: Path, wall: Wall, zone: tzinfo = UTC) -> InventoryKeeper:
    return InventoryKeeper(path, {}, "s1", "g1", SiteCalendar(zone, wall))


def put(keeper: InventoryKeeper, n: int, slot: str, batch: str, expiry: str) -> None:
    p = pack(n)
    movement = Movement(MovementKind.PUT_AWAY, GTIN, 1, p.serial, p.epc, batch, expiry)
    keeper.commit([replace(movement, to_slot=slot)])


def stock(keeper: InventoryKeeper) -> dict[str, tuple[str, str]]:
    rows = keeper.db.execute("SELECT serial, slot, status FROM stock WHERE epc IS NOT NULL")
    return {serial: (slot, status) for serial, slot, status in rows}


def confirm_answer(keeper: InventoryKeeper) -> dict[str, object]:
    (payload,) = keeper.db.execute(
        "SELECT payload FROM outbox WHERE payload LIKE '%\"stocktake-confirm\"%'"
    ).fetchone()
    answer: dict[str, object] = json.loads(payload)
    return answer


def live(keeper: InventoryKeeper) -> set[tuple[AlarmKind, str]]:
    return {(a.kind, a.subject) for a in keeper.alarms.live()}


@pytest.mark.parametrize("held_by", ["the nightly expiry sweep", "a recall"])
def test_a_missing_pack_held_where_it_lies_before_the_confirmation_is_booked_out(
    tmp_path: Path, held_by: str
) -> None:
    wall = Wall(datetime(2026, 11, 26, 23, 55, tzinfo=UTC))
    keeper = keeper_on(tmp_path / "l.sqlite", wall)
    for n, slot in ((1, "A-01"), (2, "A-01"), (3, "A-02")):
        put(keeper, n, slot, "OLD", "2026-11-26")
    wall.at = datetime(2026, 11, 26, 23, 58, tzinfo=UTC)  # counted: pack 2 is gone
    out = keeper.stocktakes.finish(sweep_of({1: "A-01", 3: "A-02"}))
    assert "missing 1" in out.notes[0]
    wall.at = datetime(2026, 11, 27, 0, 1, tzinfo=UTC)  # before the pharmacist confirms
    if held_by == "a recall":
        keeper.picks.recall(GTIN, "OLD", "maker's recall")
    else:
        expiry_sweep(keeper, date(2026, 11, 27), 30)
    assert stock(keeper)["2"] == ("A-01", StockStatus.QUARANTINED)

    confirmed = keeper.stocktakes.confirm("st-1", "Bea")

    assert "2" not in stock(keeper), "the pack the count missed is still on the ledger"
    answer = confirm_answer(keeper)
    assert (answer["adjustments"], answer["skipped"]) == (1, [])
    (out_of_stock,) = keeper.db.execute(
        "SELECT kind, from_status, reference FROM movements WHERE serial = '2' ORDER BY id DESC"
    ).fetchmany(1)
    assert tuple(out_of_stock) == ("count_adjustment", "quarantined", "st-1")
    assert "1 adjustment(s) booked" in confirmed.notes[-1]
    assert (AlarmKind.DISCREPANCY, "A") not in live(keeper)


def test_a_count_across_midnight_judges_the_packs_the_expiry_sweep_held_during_it(
    tmp_path: Path,
) -> None:
    wall = Wall(datetime(2026, 11, 26, 22, 50, tzinfo=UTC))  # 23:50 in Berlin
    keeper = keeper_on(tmp_path / "l.sqlite", wall, ZoneInfo("Europe/Berlin"))
    for n, slot, batch, expiry in (
        (1, "A-01", "OLD", "2026-11-26"),
        (2, "A-01", "OLD", "2026-11-26"),
        (3, "A-02", "NEW", "2027-05-31"),
    ):
        put(keeper, n, slot, batch, expiry)
    wall.at = datetime(2026, 11, 26, 22, 59, tzinfo=UTC)
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    keeper.stocktakes.started(sweep)
    sweep.location("A-01", loc("A-01"), rssi=-40)
    sweep.pack(pack(1), rssi=-50)  # pack 2 is gone
    sweep.round_done()
    wall.at = datetime(2026, 11, 26, 23, 0, 30, tzinfo=UTC)  # 00:00:30: the nightly sweep
    expiry_sweep(keeper, date(2026, 11, 27), 30)
    for slot in SLOTS[1:]:
        sweep.location(slot, loc(slot), rssi=-40)
        if slot == "A-02":
            sweep.pack(pack(3), rssi=-50)
        sweep.round_done()

    out = keeper.stocktakes.finish(sweep)

    assert "3 expected; missing 1, unexpected 0, misplaced 0" in out.notes[0], out.notes
    assert not any("not judged" in note for note in out.notes), out.notes
    assert (AlarmKind.DISCREPANCY, "A") in live(keeper)
    keeper.stocktakes.confirm("st-1", "Bea")
    assert stock(keeper) == {
        "1": ("A-01", StockStatus.QUARANTINED),
        "3": ("A-02", StockStatus.AVAILABLE),
    }


def written_off_while_held_and_taken_by_mistake(path: Path) -> InventoryKeeper:
    """Packs 1, 2, 3 in A-01; 1 held back by a person (a damaged box) and written off; 2 taken
    by mistake during picking and not put back in time (booked out, its alarm live)."""
    keeper = keeper_on(path, Wall(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
    for n in (1, 2, 3):
        put(keeper, n, "A-01", "B1", "2028-01-31")
    one = keeper.line_of_epc(pack(1).epc)
    assert one is not None
    keeper.commit([one.held("Ana", "damaged box")])
    held = keeper.line_of_epc(pack(1).epc)
    assert held is not None
    keeper.commit([held.leaving(MovementKind.WRITE_OFF, None, "Ana", "damaged")])
    keeper.take(pack(2).epc, reason="picked by mistake")
    keeper.alarms.raise_alarm(AlarmKind.UNEXPECTED_REMOVAL, pack(2).epc, {"slot": "A-01"})
    return keeper


def test_packs_found_by_a_count_are_held_and_cleared_as_a_fixed_reader_seeing_them_would(
    tmp_path: Path,
) -> None:
    counted = written_off_while_held_and_taken_by_mistake(tmp_path / "counted.sqlite")
    out = counted.stocktakes.finish(sweep_of({1: "A-01", 2: "A-01", 3: "A-01"}))
    assert "unexpected 2" in out.notes[0]
    confirmed = counted.stocktakes.confirm("st-1", "Bea")
    seen = written_off_while_held_and_taken_by_mistake(tmp_path / "seen.sqlite")
    for n in (1, 2):
        apply(seen, Arrived(pack(n), "A-01"))

    assert (
        stock(counted)
        == stock(seen)
        == {
            "1": ("A-01", StockStatus.QUARANTINED),
            "2": ("A-01", StockStatus.AVAILABLE),
            "3": ("A-01", StockStatus.AVAILABLE),
        }
    )
    assert counted.on_hand(GTIN) == 2, "the pack written off while held is offered again"
    assert live(counted) == live(seen) == set(), "the slot still blinks for a pack back"
    assert any(f"held there ({LEFT_HELD})" in note for note in confirmed.notes)


def test_what_confirming_leaves_unbooked_the_answer_says_with_why(tmp_path: Path) -> None:
    keeper = keeper_on(tmp_path / "l.sqlite", Wall(datetime(2026, 11, 26, 9, 0, tzinfo=UTC)))
    for n, slot in ((1, "A-01"), (2, "A-01"), (3, "A-02")):
        put(keeper, n, slot, "B1", "2028-01-31")
    sweep = Sweep("st-1", "A", SLOTS, "Ana")
    sweep.pack(pack(9), rssi=-50)  # read before any location tag, and not on the ledger
    sweep.round_done()
    for slot, packs in (("A-01", [2]), ("A-02", [3]), ("A-03", []), ("A-04", [])):
        sweep.location(slot, loc(slot), rssi=-40)
        for n in packs:
            sweep.pack(pack(n), rssi=-50)
        sweep.round_done()
    keeper.stocktakes.finish(sweep)  # pack 1 missing; pack 9 found without a slot
    keeper.take(pack(1).epc, "Cid", "picked for rx 9")  # the count cannot judge it now

    confirmed = keeper.stocktakes.confirm("st-1", "Bea")

    answer = confirm_answer(keeper)
    assert answer["adjustments"] == 0
    skipped = answer["skipped"]
    assert isinstance(skipped, list)
    assert [(s["serial"], s["slot"], s["why"]) for s in skipped] == [
        ("1", "A-01", "picked since the count"),
        ("9", None, "read before any location tag: no slot to book it in; put it where it belongs"),
    ]
    assert confirmed.notes[-1].endswith(
        f"0 adjustment(s) booked; 2 not booked: {GTIN}/1 in A-01 (picked since the count); "
        f"{GTIN}/9 in no slot (read before any location tag: no slot to book it in; put it "
        "where it belongs)"
    )
