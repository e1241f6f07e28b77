"""What a confirmed count books: for each difference still true of the ledger, one movement
referencing the stocktake, by the pharmacist who confirmed it.

- a missing pack: a count adjustment out of its slot (with the status it has there now);
- a pack found that the ledger did not have: a count adjustment into the slot it was found in,
  with the batch and expiry the ledger last knew it by (one it never held: as the desk that
  refused it at delivery scanned it); held there (quarantined) by the same rule as a pack a
  fixed reader sees back on a shelf (`held_on_return`: refused at delivery, its batch
  recalled, expired, or it left the shelves while quarantined, by a write-off or a count),
  what its absence raised ends, and a refused pack's `refused_pack` alarm names where it lies;
- a misplaced pack: a move to where it was found (its status kept);
- a pack the ledger holds by its code alone, found: its line takes the tag read (moved with
  it, if found elsewhere).

A pack the ledger has moved since the count (picked, put back, moved, written off: the count's
mark) is left alone, and said so with why: what the count saw of it is no longer what the
ledger knows. A status changed where the pack lies (held by the expiry sweep or a recall,
released) is no move: the count still tells whether it is there. A pack found before any
location tag was read has no slot to be booked in: left too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from inventory.codes.identifiers import PackId
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.ledger_access import DeskLedger
from inventory.picking.outcome import Outcome
from inventory.stock.held_packs import Hold, back_dates, held_on_return
from inventory.stock.slot_index import StockLine
from inventory.stocktake.report import Found, StocktakeReport

# What a pack's last movement since the count did to it, in words.
_SINCE: dict[str, str] = {
    MovementKind.PICK: "picked",
    MovementKind.DISPENSE: "dispensed",
    MovementKind.MOVE: "moved",
    MovementKind.WRITE_OFF: "written off",
    MovementKind.COUNT_ADJUSTMENT: "booked by another count",
    MovementKind.PUT_AWAY: "put away",
    MovementKind.RETURN: "put back",
    MovementKind.RECEIVE: "received",
}
_IN_PLACE = (MovementKind.QUARANTINE, MovementKind.RELEASE)  # a status changed where it lies


@dataclass(frozen=True, slots=True)
class Touched:
    """Packs the ledger moved after a mark, with the kind of the last movement of each: by
    their tag, or by GTIN and serial (a pack booked by its code moves without a tag)."""

    by_epc: Mapping[str, str] = field(default_factory=dict)
    by_code: Mapping[tuple[str, str], str] = field(default_factory=dict)

    @property
    def epcs(self) -> frozenset[str]:
        return frozenset(self.by_epc)

    def how(self, epc: str, gtin: str, serial: str) -> str | None:
        """The kind of the pack's last movement after the mark; None: it did not move."""
        return self.by_epc.get(epc) or (self.by_code.get((gtin, serial)) if serial else None)

    def of(self, epc: str, gtin: str, serial: str) -> bool:
        return self.how(epc, gtin, serial) is not None


def touched_since(db: sqlite3.Connection, mark: int | None) -> Touched:
    """Packs moved after movement `mark` (none without a mark): a movement that changed where
    a pack is, or took it off the shelves; not a quarantine or release where it lies."""
    if mark is None:
        return Touched()
    rows = db.execute(
        "SELECT epc, gtin, serial, kind FROM movements"
        " WHERE id > ? AND (epc IS NOT NULL OR serial != '') AND kind NOT IN (?, ?)"
        " ORDER BY id",
        (mark, *_IN_PLACE),
    ).fetchall()
    return Touched(
        {str(epc): str(kind) for epc, _, _, kind in rows if epc},
        {(str(gtin), str(serial)): str(kind) for _, gtin, serial, kind in rows if serial},
    )


def last_movement(db: sqlite3.Connection) -> int:
    """The id of the ledger's last movement (0: none yet)."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM movements").fetchone()[0])


@dataclass(frozen=True, slots=True)
class Skipped:
    """A difference of the count that confirming it leaves unbooked, and why."""

    item: Found
    slot: str | None  # where the count put the difference (None: found without a slot)
    why: str

    def to_dict(self) -> dict[str, object]:
        item = self.item
        return {
            "epc": item.epc,
            "gtin": item.gtin,
            "serial": item.serial,
            "slot": self.slot,
            "why": self.why,
        }


@dataclass(slots=True)
class Booking:
    """What confirming a count books: its movements; of them, the packs found and booked back
    onto the shelf, each with how it is held (None: available); and what it leaves."""

    movements: list[Movement] = field(default_factory=list)
    found: list[tuple[Movement, Hold | None]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def not_booked(skipped: object) -> str:
    """The differences a confirmation left (its answer's `skipped`: `Skipped.to_dict` each),
    in words; '' for none (or an answer from a gateway that does not say)."""
    if not isinstance(skipped, list) or not skipped:
        return ""
    each = [
        f"{s.get('gtin')}/{s.get('serial') or '-'} in {s.get('slot') or 'no slot'} ({s.get('why')})"
        for s in skipped
        if isinstance(s, dict)
    ]
    return f"{len(skipped)} not booked: " + "; ".join(each)


def adjustments(
    keeper: DeskLedger,
    report: StocktakeReport,
    by: str,
    out: Outcome,
    recalled: Collection[tuple[str, str]],
) -> Booking:
    """The movements that make the ledger hold what `report` counted, and the differences
    left unbooked (see the module)."""
    sid = report.stocktake_id
    since = touched_since(keeper.db, report.ledger_mark)
    booking = Booking()
    movements, skipped = booking.movements, booking.skipped

    for count in report.slots:
        for item in count.missing:
            line = _booked(keeper, since, item)
            if isinstance(line, str):
                skipped.append(Skipped(item, count.slot, line))
                continue
            reason = "stocktake: not found"
            movements.append(line.leaving(MovementKind.COUNT_ADJUSTMENT, None, by, reason, sid))
            out.booked_epcs.append(item.epc)
        for item in count.unexpected:
            why = _not_to_book(keeper, since, item)
            if why or item.seen_slot is None:
                skipped.append(Skipped(item, count.slot, why or "found without a slot"))
                continue
            found, hold = _found_here(keeper, item, item.seen_slot, by, sid, recalled)
            movements.append(found)
            booking.found.append((found, hold))
            out.placed[item.epc] = item.seen_slot
            if hold is not None:
                out.notes.append(
                    f"{item.gtin}/{item.serial} in {item.seen_slot}: held there ({hold.reason})"
                )
        for item in count.misplaced_in:
            line = _booked(keeper, since, item)
            if isinstance(line, str) or item.seen_slot is None:
                why = line if isinstance(line, str) else "found without a slot"
                skipped.append(Skipped(item, count.slot, why))
                continue
            found_in = item.seen_slot
            reason = f"stocktake: found in {found_in}"
            moving = line.leaving(MovementKind.MOVE, found_in, by, reason, sid)
            movements.append(replace(moving, epc=item.epc))
            out.placed[item.epc] = found_in
    for item in report.unplaced:
        why = "read before any location tag: no slot to book it in; put it where it belongs"
        skipped.append(Skipped(item, None, why))
    for item in report.tags_found:
        line = _booked(keeper, since, item)
        if isinstance(line, str) or line.epc is not None:
            continue  # no difference: nothing to tell
        reason = f"stocktake: its tag read in {line.slot}, the pack booked by its code"
        linking = line.leaving(MovementKind.MOVE, line.slot, by, reason, sid)
        movements.append(replace(linking, epc=item.epc))
        out.placed[item.epc] = line.slot
    return booking


def _moved(since: Touched, item: Found) -> str:
    """What the ledger did to the pack since the count, in words; '' when it did not move it."""
    how = since.how(item.epc, item.gtin, item.serial)
    return "" if how is None else f"{_SINCE.get(how, how)} since the count"


def _booked(keeper: DeskLedger, since: Touched, item: Found) -> StockLine | str:
    """The pack's line where the count found it booked (whatever its status now), or why
    not: moved since, or no longer there."""
    moved = _moved(since, item)
    if moved:
        return moved
    line = keeper.line_of_epc(item.epc) or _by_code(keeper, item)
    if line is None:
        return "no longer on the shelves"
    if line.slot != item.ledger_slot:
        return f"booked in {line.slot} now"
    return line


def _not_to_book(keeper: DeskLedger, since: Touched, item: Found) -> str:
    """Why a pack found that the ledger did not have is not to be booked in: moved since the
    count, on the shelves again, or of no known product; '' when it is to be."""
    moved = _moved(since, item)
    if moved:
        return moved
    slot = keeper.index.slot_of(item.epc)
    if slot is not None:
        return f"booked in {slot} now"
    return "" if item.gtin else "of no known product"


def _by_code(keeper: DeskLedger, item: Found) -> StockLine | None:
    """The line of a pack the ledger holds by its GTIN and serial, without a tag."""
    if not item.serial:
        return None
    lines = keeper.index.lines_of(item.gtin, item.serial)
    return next((x for x in lines if x.epc is None), None)


def _found_here(
    keeper: DeskLedger,
    item: Found,
    slot: str,
    by: str,
    sid: str,
    recalled: Collection[tuple[str, str]],
) -> tuple[Movement, Hold | None]:
    """A pack found that the ledger did not have, booked into `slot`, and how it is held
    there. One the ledger knew (taken, then put back unseen) keeps its batch and expiry: the
    expiry sweep, a recall of its batch and picking still know it; one refused at delivery
    takes what its desk scanned; it is held as a pack a fixed reader sees back on a shelf is
    (`held_on_return`)."""
    pack = PackId(item.epc, item.gtin, item.serial)
    batch, expiry = back_dates(keeper, pack)
    hold = held_on_return(keeper, recalled, pack, batch, expiry)
    reason = "stocktake: found, not on the ledger"
    found = Movement(
        MovementKind.COUNT_ADJUSTMENT,
        item.gtin,
        1,
        item.serial,
        item.epc,
        batch=batch,
        expiry=expiry,
        to_slot=slot,
        actor=by,
        reason=reason if hold is None else f"{reason}; held there: {hold.reason}",
        reference=sid,
        to_status=StockStatus.AVAILABLE if hold is None else StockStatus.QUARANTINED,
    )
    return found, hold
