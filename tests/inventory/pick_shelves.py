"""The shelves the pick desk tests work on: a ledger file stocked with amoxicillin in five
slots (one batch expired, one quarantined, one recalled) and ibuprofen in one, a clock the
tests move, and what they read back (picks booked, reports queued, lights asked for)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.outcome import CueKind
from inventory.picking.results import PickTimes
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar

AMOX = Product("04012345123456", "Amoxicillin 500 mg", reorder_point=1, par=8, home_slots=("A-01",))
IBU = "04012345000016"
TIMES = PickTimes(remind_after_seconds=60, timeout_seconds=300, mistake_seconds=20)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def put(
    keeper: InventoryKeeper, slot: str, batch: str, expiry: str, qty: int, gtin: str = AMOX.gtin
) -> None:
    keeper.commit(
        [Movement(MovementKind.PUT_AWAY, gtin, qty, batch=batch, expiry=expiry, to_slot=slot)]
    )


def tagged(serial: int, gtin: str = AMOX.gtin) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{serial}", gtin, str(serial))


def open_keeper(path: Path, clock: Clock) -> InventoryKeeper:
    """The keeper of the ledger file at `path` (again, after a restart)."""
    return InventoryKeeper(
        path, {AMOX.gtin: AMOX}, "s", "g", SiteCalendar(UTC, clock), pick_times=TIMES
    )


def stocked_keeper(path: Path, clock: Clock) -> InventoryKeeper:
    """A new ledger file at `path`, stocked."""
    k = open_keeper(path, clock)
    put(k, "A-01", "LATE", "2027-12-31", 3)
    put(k, "A-02", "EARLY", "2027-01-31", 1)
    put(k, "A-03", "OLD", "2026-10-31", 5)  # expired
    put(k, "A-04", "HELD", "2027-02-28", 2)
    k.commit(
        [
            Movement(
                MovementKind.QUARANTINE,
                AMOX.gtin,
                2,
                batch="HELD",
                expiry="2027-02-28",
                from_slot="A-04",
                to_slot="A-04",
                to_status=StockStatus.QUARANTINED,
            )
        ]
    )
    put(k, "A-05", "BAD", "2027-03-31", 2)
    k.picks.recall(AMOX.gtin, "BAD", "supplier notice 17")
    put(k, "B-01", "I1", "2028-01-31", 4, gtin=IBU)
    return k


def movements(keeper: InventoryKeeper) -> list[tuple[str, str, str, int, str]]:
    rows = keeper.db.execute(
        "SELECT kind, from_slot, batch, quantity, reference FROM movements WHERE kind = 'pick'"
    )
    return [tuple(r) for r in rows]


def results(keeper: InventoryKeeper, pick_id: str) -> list[dict[str, object]]:
    rows = keeper.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'command_result' AND key = ? ORDER BY id",
        (pick_id,),
    )
    return [json.loads(r[0]) for r in rows]


def lit(keeper: InventoryKeeper) -> dict[tuple[int, str], int]:
    """What the open lists ask the shelves for: (picker number, slot) -> packs."""
    return {
        (c.picker_no, c.slot): c.number
        for c in keeper.picks.cues()
        if c.kind in (CueKind.PICK, CueKind.REMIND)
    }


def assert_every_lit_slot_holds_its_packs(keeper: InventoryKeeper) -> None:
    """No open list waits on a slot for packs the ledger no longer has there."""
    wanted: dict[str, int] = {}
    for cue in keeper.picks.cues():
        if cue.kind is CueKind.PICK:
            wanted[cue.slot] = wanted.get(cue.slot, 0) + cue.number
    for slot, number in wanted.items():
        held = sum(
            line.quantity
            for line in keeper.index.contents(slot)
            if line.gtin == AMOX.gtin and line.status is StockStatus.AVAILABLE
        )
        assert held >= number, f"{slot} is lit for {number} but holds {held}"
