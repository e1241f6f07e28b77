"""The expiry sweep (daily, and at start): batches close to expiry raise a near-expiry alarm;
expired batches are quarantined where they lie (never offered to a pick list again) and raise
an expired alarm. Alarms of batches no longer on the shelves are cleared. A live alarm is
brought up to date each site day: its days left (counted from the sweep's site date, `as_of`),
its slots and quantity.

Between sweeps a live alarm follows its packs (`inventory.stock.expiry_alarms`, with every
commit that moves them).

Each stock line is judged by its own expiry: packs scanned without a batch (no AI 10) share one
batch, '', whatever their dates, and one of them expired must not quarantine the others.

A line this sweep quarantined as expired whose expiry is not before the sweep's date was held
on a wrong date (a sweep while the wall clock was ahead): it is released where it lies, with a
movement that says so. Only those: a quarantine by a person, or of a recalled batch, stays."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from inventory.alarms.lifecycle import EXPIRY_KINDS, AlarmKind, batch_subject
from inventory.ledger.movements import MovementKind, StockStatus
from inventory.picking.outcome import Outcome
from inventory.stock.expiry_alarms import HELD_BY, expiry_detail
from inventory.stock.slot_index import StockLine

if TYPE_CHECKING:
    from inventory.keeper import InventoryKeeper

# Quarantined lines not expired on a day (the parameter) that only the sweep ever held: each
# movement into them was its quarantine as expired.
_HELD_TOO_SOON = """
SELECT slot, gtin, batch, serial FROM stock AS s
WHERE status = 'quarantined' AND expiry >= ?
AND NOT EXISTS (
    SELECT 1 FROM movements AS m
    WHERE m.to_slot = s.slot AND m.gtin = s.gtin AND m.batch = s.batch AND m.serial = s.serial
    AND m.to_status = 'quarantined'
    AND NOT (m.kind = 'quarantine' AND m.actor = ? AND m.reason = ?)
)
"""


def expiry_sweep(keeper: InventoryKeeper, today: date, near_days: int) -> Outcome:
    """One sweep over every stock line (vectorized in the slot index)."""
    out = Outcome()
    due: set[tuple[AlarmKind, str]] = set()
    day = today.isoformat()
    keeper.near_days = near_days  # the window its near-expiry alarms follow packs by
    with keeper.group():
        _release_held_too_soon(keeper, today, out)
        batches: dict[tuple[str, str], list[StockLine]] = defaultdict(list)
        for line in keeper.index.expiring(today, near_days):
            batches[(line.gtin, line.batch)].append(line)
        for (gtin, batch), lines in batches.items():
            subject = batch_subject(gtin, batch)
            expired = [line for line in lines if str(line.expiry) < day]
            near = [line for line in lines if str(line.expiry) >= day]
            if expired:
                detail = expiry_detail(gtin, batch, expired)
                held = [line for line in expired if line.status is StockStatus.AVAILABLE]
                if held:
                    out.commits.append(keeper.commit([line.held(*HELD_BY) for line in held]))
                    keeper.picks.held_back(gtin, batch, out)
                    out.notes.append(
                        f"batch {batch} of GTIN {gtin} expired on {detail['expiry']}: "
                        f"{sum(line.quantity for line in held)} pack(s) quarantined"
                    )
                out.commits.append(keeper.alarms.keep_raised(AlarmKind.EXPIRED, subject, detail))
                due.add((AlarmKind.EXPIRED, subject))
            if near:
                detail = expiry_detail(gtin, batch, near)
                detail["days_left"] = (date.fromisoformat(str(detail["expiry"])) - today).days
                detail["as_of"] = today.isoformat()
                out.commits.append(
                    keeper.alarms.keep_raised(AlarmKind.NEAR_EXPIRY, subject, detail)
                )
                due.add((AlarmKind.NEAR_EXPIRY, subject))
        for alarm in keeper.alarms.live():
            if alarm.kind in EXPIRY_KINDS and (alarm.kind, alarm.subject) not in due:
                out.commits.append(keeper.alarms.clear(alarm.kind, alarm.subject))
    out.lights_changed = any(c.alarms for c in out.commits)
    return out


def _release_held_too_soon(keeper: InventoryKeeper, today: date, out: Outcome) -> None:
    """Release each line the sweep quarantined as expired that is not expired on `today`
    (inside the sweep's group); never one of a recalled batch."""
    keeper.ledger.flush()  # the group's changes so far, in the tables the question reads
    found = keeper.db.execute(_HELD_TOO_SOON, (today.isoformat(), *HELD_BY)).fetchall()
    wanted = {(str(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in found}
    lines = [
        line
        for slot in sorted({key[0] for key in wanted})
        for line in keeper.index.contents(slot)
        if line.status is StockStatus.QUARANTINED
        and (line.slot, line.gtin, line.batch, line.serial) in wanted
        and (line.gtin, line.batch) not in keeper.picks.recalled
    ]
    releases = []
    for line in lines:
        why = (
            f"quarantined as expired on a wrong date: its expiry {line.expiry} is not before "
            f"{today} (the sweep that held it ran while the clock was ahead)"
        )
        releases.append(
            replace(
                line.held(HELD_BY[0], why),
                kind=MovementKind.RELEASE,
                from_status=StockStatus.QUARANTINED,
                to_status=StockStatus.AVAILABLE,
            )
        )
        out.notes.append(
            f"batch {line.batch} of GTIN {line.gtin}: {line.quantity} pack(s) in {line.slot} "
            f"released; {why}"
        )
    if releases:
        out.commits.append(keeper.commit(releases))
