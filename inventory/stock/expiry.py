"""The expiry sweep (daily, and at start): batches close to expiry raise a near-expiry alarm;
expired batches are quarantined where they lie (never offered to a pick list again) and raise
an expired alarm. Alarms of batches no longer on the shelves are cleared (the keeper also clears
them as soon as a batch's last pack leaves). A live alarm is brought up to date each site day:
its days left (counted from the sweep's site date, `as_of`), its slots and quantity.

Each stock line is judged by its own expiry: packs scanned without a batch (no AI 10) share one
batch, '', whatever their dates, and one of them expired must not quarantine the others."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

from inventory.alarms.lifecycle import EXPIRY_KINDS, AlarmKind, batch_subject
from inventory.ledger.movements import StockStatus
from inventory.picking.outcome import Outcome
from inventory.stock.slot_index import StockLine

if TYPE_CHECKING:
    from inventory.keeper import InventoryKeeper


def expiry_sweep(keeper: InventoryKeeper, today: date, near_days: int) -> Outcome:
    """One sweep over every stock line (vectorized in the slot index)."""
    batches: dict[tuple[str, str], list[StockLine]] = defaultdict(list)
    for line in keeper.index.expiring(today, near_days):
        batches[(line.gtin, line.batch)].append(line)
    out = Outcome()
    due: set[tuple[AlarmKind, str]] = set()
    day = today.isoformat()
    with keeper.group():
        for (gtin, batch), lines in batches.items():
            subject = batch_subject(gtin, batch)
            expired = [line for line in lines if str(line.expiry) < day]
            near = [line for line in lines if str(line.expiry) >= day]
            if expired:
                detail = _detail(gtin, batch, expired)
                held = [line for line in expired if line.status is StockStatus.AVAILABLE]
                if held:
                    out.commits.append(
                        keeper.commit([line.held("system", "expired") for line in held])
                    )
                    keeper.picks.held_back(gtin, batch, out)
                    out.notes.append(
                        f"batch {batch} of GTIN {gtin} expired on {detail['expiry']}: "
                        f"{sum(line.quantity for line in held)} pack(s) quarantined"
                    )
                out.commits.append(keeper.alarms.keep_raised(AlarmKind.EXPIRED, subject, detail))
                due.add((AlarmKind.EXPIRED, subject))
            if near:
                detail = _detail(gtin, batch, near)
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


def _detail(gtin: str, batch: str, lines: list[StockLine]) -> dict[str, object]:
    """An expiry alarm's detail for `lines` of one batch: the earliest expiry among them."""
    return {
        "gtin": gtin,
        "batch": batch,
        "expiry": min(str(line.expiry) for line in lines),
        "slots": sorted({line.slot for line in lines}),
        "quantity": sum(line.quantity for line in lines),
    }
