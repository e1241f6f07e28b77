"""What a confirmed count books: for each difference still true of the ledger, one movement
referencing the stocktake, by the pharmacist who confirmed it.

- a missing pack: a count adjustment out of its slot;
- a pack found that the ledger did not have: a count adjustment into the slot it was found in,
  with the batch and expiry the ledger last knew it by; held there (quarantined) when its batch
  is recalled or it has expired, as on every other way onto a shelf;
- a misplaced pack: a move to where it was found;
- a pack the ledger holds by its code alone, found: its line takes the tag read (moved with
  it, if found elsewhere).

A pack the ledger has moved since the count (picked, put back, moved: the count's mark) is left
alone: what the count saw of it is no longer what the ledger knows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from dataclasses import dataclass, replace

from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.ledger_access import DeskLedger
from inventory.picking.outcome import Outcome
from inventory.stock.slot_index import StockLine
from inventory.stocktake.sweep import Found, StocktakeReport


@dataclass(frozen=True, slots=True)
class Touched:
    """Packs the ledger moved after a mark: by their tag, or by GTIN and serial (a pack booked
    by its code moves without a tag)."""

    epcs: frozenset[str] = frozenset()
    codes: frozenset[tuple[str, str]] = frozenset()

    def of(self, epc: str, gtin: str, serial: str) -> bool:
        return epc in self.epcs or (bool(serial) and (gtin, serial) in self.codes)


def touched_since(db: sqlite3.Connection, mark: int | None) -> Touched:
    """Packs with a movement after movement `mark` (none without a mark)."""
    if mark is None:
        return Touched()
    rows = db.execute(
        "SELECT DISTINCT epc, gtin, serial FROM movements"
        " WHERE id > ? AND (epc IS NOT NULL OR serial != '')",
        (mark,),
    ).fetchall()
    return Touched(
        frozenset(str(epc) for epc, _, _ in rows if epc),
        frozenset((str(gtin), str(serial)) for _, gtin, serial in rows if serial),
    )


def last_movement(db: sqlite3.Connection) -> int:
    """The id of the ledger's last movement (0: none yet)."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM movements").fetchone()[0])


def adjustments(
    keeper: DeskLedger,
    report: StocktakeReport,
    by: str,
    out: Outcome,
    recalled: Collection[tuple[str, str]],
) -> list[Movement]:
    """The movements that make the ledger hold what `report` counted (see the module)."""
    sid = report.stocktake_id
    since = touched_since(keeper.db, report.ledger_mark)
    movements: list[Movement] = []

    def booked(item: Found) -> StockLine | None:
        """The pack's line where the count found it booked; None if it moved since."""
        if since.of(item.epc, item.gtin, item.serial):
            return None
        line = keeper.line_of_epc(item.epc) or _by_code(keeper, item)
        return line if line is not None and line.slot == item.ledger_slot else None

    for count in report.slots:
        for item in count.missing:
            line = booked(item)
            if line is None:
                continue
            reason = "stocktake: not found"
            movements.append(line.leaving(MovementKind.COUNT_ADJUSTMENT, None, by, reason, sid))
            out.booked_epcs.append(item.epc)
        for item in count.unexpected:
            if since.of(item.epc, item.gtin, item.serial) or item.seen_slot is None:
                continue
            if keeper.index.slot_of(item.epc) is not None or not item.gtin:
                continue
            found = _found_here(keeper, item, item.seen_slot, by, sid, recalled)
            movements.append(found)
            out.placed[item.epc] = item.seen_slot
            if found.to_status is StockStatus.QUARANTINED:
                out.notes.append(f"{item.gtin}/{item.serial} in {item.seen_slot}: {found.reason}")
        for item in count.misplaced_in:
            line = booked(item)
            if line is None or item.seen_slot is None:
                continue
            found_in = item.seen_slot
            reason = f"stocktake: found in {found_in}"
            moving = line.leaving(MovementKind.MOVE, found_in, by, reason, sid)
            movements.append(replace(moving, epc=item.epc))
            out.placed[item.epc] = found_in
    for item in report.tags_found:
        line = booked(item)
        if line is None or line.epc is not None:
            continue
        reason = f"stocktake: its tag read in {line.slot}, the pack booked by its code"
        linking = line.leaving(MovementKind.MOVE, line.slot, by, reason, sid)
        movements.append(replace(linking, epc=item.epc))
        out.placed[item.epc] = line.slot
    return movements


def _by_code(keeper: DeskLedger, item: Found) -> StockLine | None:
    """The line of a pack the ledger holds by its GTIN and serial, without a tag."""
    if not item.serial:
        return None
    lines = keeper.index.lines_of(item.gtin)
    return next((x for x in lines if x.serial == item.serial and x.epc is None), None)


def _found_here(
    keeper: DeskLedger,
    item: Found,
    slot: str,
    by: str,
    sid: str,
    recalled: Collection[tuple[str, str]],
) -> Movement:
    """A pack found that the ledger did not have, booked into `slot`. One the ledger knew
    (taken, then put back unseen) keeps its batch and expiry: the expiry sweep, a recall of its
    batch and picking still know it; one of a recalled batch, or expired, is held there."""
    batch, expiry = keeper.known_dates(item.epc, item.gtin, item.serial)
    held = ""
    if (item.gtin, batch) in recalled:
        held = f"batch {batch} recalled"
    elif expiry is not None and expiry < keeper.calendar.today().isoformat():
        held = f"expired on {expiry}"
    return Movement(
        MovementKind.COUNT_ADJUSTMENT,
        item.gtin,
        1,
        item.serial,
        item.epc,
        batch=batch,
        expiry=expiry,
        to_slot=slot,
        actor=by,
        reason="stocktake: found, not on the ledger" + (f"; {held}: held there" if held else ""),
        reference=sid,
        to_status=StockStatus.QUARANTINED if held else StockStatus.AVAILABLE,
    )
