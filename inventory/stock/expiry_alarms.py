"""An expiry alarm's detail (the batch, its earliest expiry, where its packs lie and how many),
and a live one following its packs between sweeps: with every commit that moves them, cleared
as soon as the last pack of the batch it counts leaves the shelves, else its slots and
quantity those of the packs it counts still there, so a slot emptied of the batch stops
blinking (also when refilled with fresh stock) and a slot its packs were moved to starts, at
once. The daily sweep (`inventory.stock.expiry`) raises them and brings their days left up to
date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

from inventory.alarms.book import AlarmBook
from inventory.alarms.lifecycle import EXPIRY_KINDS, Alarm, AlarmKind, batch_subject
from inventory.ledger.movements import Movement
from inventory.stock.slot_index import SlotIndex, StockLine

HELD_BY = ("system", "expired")  # the actor and reason of the sweep's own quarantines


def follow_batches(
    alarms: AlarmBook,
    index: SlotIndex,
    today: Callable[[], date],
    near_days: int | None,
    movements: Iterable[Movement],
) -> list[Alarm]:
    """The live expiry alarms of the batches `movements` moved, kept with their packs (inside
    the keeper's group, after the movements): what changed. Only a live alarm costs a look at
    its batch's lines: a pick is the hot path."""
    changed: list[Alarm] = []
    for gtin, batch in sorted({(m.gtin, m.batch) for m in movements}):
        changed += follow_batch(alarms, index, gtin, batch, today, near_days)
    return changed


def follow_batch(
    alarms: AlarmBook,
    index: SlotIndex,
    gtin: str,
    batch: str,
    today: Callable[[], date],
    near_days: int | None,
    raise_expired: bool = False,
) -> list[Alarm]:
    """Bring the live expiry alarms of one batch up to where its packs are now: cleared when
    none is left on the shelves; else their slots and quantity those of the packs each alarm
    counts (the expired ones; the ones due within `near_days` of its `as_of`, None: the
    window its last sweep set is unknown, only those as early as its expiry), republished
    when that changed; cleared too when none of the packs left is one it counts (packs
    scanned without a batch, or a batch of mixed expiries, whose others are not due).
    `raise_expired`: raise the expired alarm too if it is not live (an expired pack held
    again). What changed."""
    subject = batch_subject(gtin, batch)
    live = {kind: alarms.get(kind, subject) for kind in EXPIRY_KINDS}
    live = {kind: alarm for kind, alarm in live.items() if alarm is not None}
    if raise_expired:
        live.setdefault(AlarmKind.EXPIRED, None)
    if not live:
        return []
    lines = [line for line in index.lines_of(gtin) if line.batch == batch]
    changed: list[Alarm] = []
    if not lines:
        for kind in live:
            changed += alarms.clear(kind, subject).alarms
        return changed
    day = today()
    for kind, alarm in live.items():
        detail = _followed(alarm, gtin, batch, lines, day, near_days)
        if detail is not None:
            changed += alarms.keep_raised(kind, subject, detail).alarms
        elif alarm is not None:  # other packs of the batch are left, none of this alarm's
            changed += alarms.clear(kind, subject).alarms
    return changed


def _followed(
    alarm: Alarm | None,
    gtin: str,
    batch: str,
    lines: list[StockLine],
    day: date,
    near_days: int | None,
) -> dict[str, object] | None:
    """The detail of `alarm` (None: an expired alarm to raise) for the packs of `lines` it
    counts on the site's `day`; None when it counts none of them."""
    if alarm is None or alarm.kind is AlarmKind.EXPIRED:
        expired = [line for line in lines if line.expiry and line.expiry < day.isoformat()]
        return expiry_detail(gtin, batch, expired) if expired else None
    as_of = date.fromisoformat(str(alarm.detail.get("as_of") or day.isoformat()))
    last = str(alarm.detail["expiry"])
    if near_days is not None:
        last = (as_of + timedelta(days=near_days)).isoformat()
    near = [line for line in lines if line.expiry and day.isoformat() <= line.expiry <= last]
    if not near:
        return None
    detail = expiry_detail(gtin, batch, near)
    detail["days_left"] = (date.fromisoformat(str(detail["expiry"])) - as_of).days
    detail["as_of"] = as_of.isoformat()
    return detail


def expiry_detail(gtin: str, batch: str, lines: list[StockLine]) -> dict[str, object]:
    """An expiry alarm's detail for `lines` of one batch: the earliest expiry among them."""
    return {
        "gtin": gtin,
        "batch": batch,
        "expiry": min(str(line.expiry) for line in lines),
        "slots": sorted({line.slot for line in lines}),
        "quantity": sum(line.quantity for line in lines),
    }
