"""A shelf's counts waiting for a pharmacist's confirmation, and what confirming one books.

A shelf may have several: a sweep cut short (the handheld lowered for the quiet time, the
gateway restarted) judges only the slots it passed, and the sweep that counts the rest is a
count of its own. A later count takes over from a waiting one only the slots it counted again
(`StocktakeReport.recounted`); one left with no slot of its own is superseded. Confirming a
count books its differences in the slots it still judges, but none of a pack that another count
of the shelf saw elsewhere, in a slot that count judges: one still waiting (the two disagree:
confirming that one books what it saw), or one that ended later and is confirmed (what it saw
is newer, and booked). So a pack read faintly from the next slot as a sweep was cut short is
neither written off nor moved there when the sweep of the rest saw it in its own slot. Those
packs are left, each with why. The shelf's discrepancy alarm names every slot where a waiting
count found a difference.

A badge tapped at the shelf confirms without anyone looking: it books all but the packs found
that the ledger has on another shelf (maybe read through from there), and the count waits for
those (`look_first`), their slots alone differing, until confirmed after a look.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from inventory.stocktake.adjustments import Skipped
from inventory.stocktake.report import Found, SlotCount, StocktakeReport


def waiting(db: sqlite3.Connection, shelf: str) -> list[StocktakeReport]:
    """The shelf's counts ended and not confirmed nor superseded, oldest first."""
    rows = db.execute(
        "SELECT report FROM stocktakes WHERE shelf = ? AND state = 'ended' ORDER BY rowid",
        (shelf,),
    ).fetchall()
    return [StocktakeReport.from_dict(json.loads(row[0])) for row in rows]


def confirmed_after(db: sqlite3.Connection, report: StocktakeReport) -> list[StocktakeReport]:
    """The shelf's counts confirmed (or booked by a badge tap but for the packs to look at)
    that ended after `report` did: what they saw is newer."""
    rows = db.execute(
        "SELECT state, report FROM stocktakes WHERE shelf = ? AND state IN ('confirmed', 'ended')"
        " AND rowid > (SELECT rowid FROM stocktakes WHERE stocktake_id = ?) ORDER BY rowid",
        (report.shelf, report.stocktake_id),
    ).fetchall()
    later = [(state, StocktakeReport.from_dict(json.loads(raw))) for state, raw in rows]
    return [r for state, r in later if state == "confirmed" or r.tapped_by]


def take_over(db: sqlite3.Connection, report: StocktakeReport) -> None:
    """`report`, just counted, takes over the slots it counted from the shelf's waiting counts:
    one left with no slot of its own is superseded."""
    counted = [c.slot for c in report.slots if c.slot not in report.not_counted]
    for earlier in waiting(db, report.shelf):
        again = [slot for slot in counted if earlier.judges(slot)]
        if not again:
            continue
        earlier.recounted.update(dict.fromkeys(again, report.stocktake_id))
        # One a badge tap booked has of its own only the slots of the packs left to look at.
        judged = [c.slot for c in earlier.slots if earlier.judges(c.slot)]
        own = earlier.differing_slots() if earlier.tapped_by else judged
        state = "ended" if own else "superseded"
        db.execute(
            "UPDATE stocktakes SET state = ?, report = ? WHERE stocktake_id = ?",
            (
                state,
                json.dumps(earlier.to_dict(), separators=(",", ":")),
                earlier.stocktake_id,
            ),
        )


def to_book(
    report: StocktakeReport, others: list[StocktakeReport], later: list[StocktakeReport]
) -> tuple[StocktakeReport, list[Skipped]]:
    """The part of `report` confirming it books: the slots it still judges, less the packs
    there that one of `others` (the shelf's other waiting counts) or of `later` (its counts
    confirmed that ended later) saw elsewhere, in a slot it judges; and those packs, each
    with why it is left."""
    seen: dict[str, tuple[str, str]] = {}  # EPC -> where another count saw it, and why left
    for counts, said in (
        (later, "a later count, confirmed"),
        (others, "still waiting: confirm it"),
    ):
        for other in counts:
            for slot, epcs in _saw(other, waits=counts is others).items():
                why = f"seen in {slot} by {other.stocktake_id}, {said}"
                seen.update(dict.fromkeys(epcs, (slot, why)))
    held: list[Skipped] = []

    def judged(count: SlotCount) -> SlotCount:
        if not report.judges(count.slot):
            return SlotCount(count.slot, count.expected, count.seen)

        def kept(found: list[Found], here: str | None) -> list[Found]:
            """`found` less the packs another count saw elsewhere than `here` (this count's
            word: None, not on the shelf)."""
            left = []
            for item in found:
                other = seen.get(item.epc)
                if other is None or other[0] == here:
                    left.append(item)
                else:
                    held.append(Skipped(item, count.slot, other[1]))
            return left

        return replace(
            count,
            missing=kept(count.missing, None),
            unexpected=kept(count.unexpected, count.slot),
            misplaced_in=kept(count.misplaced_in, count.slot),
        )

    booked = replace(
        report,
        slots=[judged(count) for count in report.slots],
        tags_found=[f for f in report.tags_found if f.ledger_slot and report.judges(f.ledger_slot)],
    )
    return booked, held


def _saw(report: StocktakeReport, waits: bool) -> dict[str, list[str]]:
    """Slot -> the packs `report` saw there, in the slots it judges; of a count waiting that
    a badge tap booked, only those left to look at (the rest is booked)."""
    if not (waits and report.tapped_by):
        return {slot: epcs for slot, epcs in report.seen_by_slot.items() if report.judges(slot)}
    left: dict[str, list[str]] = {}
    for item in report.to_look_at():
        left.setdefault(str(item.seen_slot), []).append(item.epc)
    return left


def look_first(report: StocktakeReport, tap: bool) -> tuple[StocktakeReport, list[Skipped]]:
    """The part of `report` a confirmation books: by a badge tap, all but the packs to look
    at (`StocktakeReport.to_look_at`: a tap at the shelf cannot look), and those, each left
    with why; once a tap booked the rest, only those (none, by another tap)."""
    look = {item.epc for item in report.to_look_at()}
    if not report.tapped_by and not (tap and look):
        return report, []

    def part(count: SlotCount) -> SlotCount:
        if not report.tapped_by:
            return replace(count, misplaced_in=[f for f in count.misplaced_in if f.epc not in look])
        here = [] if tap else [f for f in count.misplaced_in if f.epc in look]
        return replace(count, missing=[], unexpected=[], misplaced_in=here)

    rest = not report.tapped_by
    booked = replace(
        report,
        slots=[part(count) for count in report.slots],
        unplaced=report.unplaced if rest else [],
        tags_found=report.tags_found if rest else [],
    )
    left = [
        Skipped(
            item,
            item.seen_slot,
            f"booked in {item.ledger_slot}, on another shelf: maybe read through from there, "
            f"which a badge tap cannot tell; look, and if it is not there, confirm "
            f"{report.stocktake_id} on the page or by command to move it here",
        )
        for item in report.to_look_at()
    ]
    return booked, left if tap else []


def discrepancy(reports: list[StocktakeReport]) -> dict[str, object] | None:
    """The shelf's discrepancy alarm detail for its waiting counts `reports` (oldest first):
    the latest with differences named, with its counts; every slot that differs in any; None
    when none differs."""
    differing = [r for r in reports if r.differing_slots() or (r.unplaced and not r.tapped_by)]
    if not differing:
        return None
    latest = differing[-1]
    slots = {slot for r in differing for slot in r.differing_slots()}
    return {
        "shelf": latest.shelf,
        "stocktake_id": latest.stocktake_id,
        "counts": latest.summary(),
        "slots": [c.slot for c in latest.slots if c.slot in slots],
        "waiting": [r.stocktake_id for r in differing],
    }
