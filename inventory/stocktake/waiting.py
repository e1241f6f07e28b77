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
that the ledger has on another shelf (maybe read through from there), which it leaves where the
ledger has them (`left_by_tap`); the count is confirmed all the same.
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
    """The shelf's counts confirmed that ended after `report` did: what they saw is newer."""
    rows = db.execute(
        "SELECT report FROM stocktakes WHERE shelf = ? AND state = 'confirmed' AND rowid >"
        " (SELECT rowid FROM stocktakes WHERE stocktake_id = ?) ORDER BY rowid",
        (report.shelf, report.stocktake_id),
    ).fetchall()
    return [StocktakeReport.from_dict(json.loads(row[0])) for row in rows]


def take_over(db: sqlite3.Connection, report: StocktakeReport) -> None:
    """`report`, just counted, takes over the slots it counted from the shelf's waiting counts:
    one left with no slot of its own is superseded."""
    counted = [c.slot for c in report.slots if c.slot not in report.not_counted]
    for earlier in waiting(db, report.shelf):
        again = [slot for slot in counted if earlier.judges(slot)]
        if not again:
            continue
        earlier.recounted.update(dict.fromkeys(again, report.stocktake_id))
        state = "ended" if any(earlier.judges(c.slot) for c in earlier.slots) else "superseded"
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
            for slot, epcs in other.seen_by_slot.items():
                if other.judges(slot):
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


def left_by_tap(report: StocktakeReport) -> tuple[StocktakeReport, list[Skipped]]:
    """The part of `report` a badge tap books: all but the packs found that the ledger has on
    another shelf (`StocktakeReport.to_look_at`: maybe read through from there, which a tap at
    the shelf cannot tell), and those, each left where the ledger has it, with why."""
    left = report.to_look_at()
    if not left:
        return report, []
    epcs = {item.epc for item in left}

    def kept(count: SlotCount) -> SlotCount:
        return replace(count, misplaced_in=[f for f in count.misplaced_in if f.epc not in epcs])

    why = (
        "booked in {}, on another shelf: maybe read through from there, which a badge tap "
        "cannot tell, so left where the ledger has it (count that shelf to be sure)"
    )
    skipped = [Skipped(item, item.seen_slot, why.format(item.ledger_slot)) for item in left]
    return replace(report, slots=[kept(count) for count in report.slots]), skipped


def discrepancy(reports: list[StocktakeReport]) -> dict[str, object] | None:
    """The shelf's discrepancy alarm detail for its waiting counts `reports` (oldest first):
    the latest with differences named, with its counts; every slot that differs in any; None
    when none differs."""
    differing = [r for r in reports if r.differing_slots() or r.unplaced]
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
