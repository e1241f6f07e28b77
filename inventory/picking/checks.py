"""Is this the right pack? The checks a pack taken or scanned at the shelf must pass.

A pack fails when it is expired (a scanned one by the earlier of its printed date and the
ledger's), quarantined or recalled, when no open pick list wants its GTIN, or when the list
named another batch. What passes is matched to the list line (and the slot allocation, when
the pack comes from an allocated slot) it fulfils.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date

from inventory.codes.barcodes import PackScan
from inventory.ledger.movements import StockStatus
from inventory.picking.lists import Allocation, ListLine, PickList
from inventory.stock.slot_index import StockLine


@dataclass(frozen=True, slots=True)
class Mistake:
    """A pack that must not be picked, and why, with what was expected and what was seen."""

    reason: str  # expired, quarantined, recalled, not on the pick list, wrong batch, unknown pack
    expected: str
    seen: str
    slot: str | None

    def said(self) -> str:
        """The mistake in words, for the activity log."""
        return (
            f"MISTAKE at {self.slot or 'the scanner'}: {self.reason}; "
            f"expected {self.expected}, seen {self.seen}"
        )


@dataclass(frozen=True, slots=True)
class Match:
    """The line (and allocation) a right pack fulfils."""

    pick: PickList
    line_no: int
    line: ListLine
    allocation: Allocation


def describe(line: StockLine | None, gtin: str, batch: str, serial: str = "") -> str:
    """A pack in words for a person: GTIN, batch, serial, expiry."""
    parts = [f"GTIN {gtin}"]
    if batch:
        parts.append(f"batch {batch}")
    if serial:
        parts.append(f"serial {serial}")
    if line is not None and line.expiry:
        parts.append(f"expiry {line.expiry}")
    return " ".join(parts)


def wanted(lists: Iterable[PickList], gtin: str | None = None) -> str:
    """What the open lists still want (of `gtin`, or of everything), in words."""
    wants = [
        f"{line.remaining} x GTIN {line.gtin}"
        + (f" batch {line.batch}" if line.batch else "")
        + f" from {', '.join(sorted({a.slot for a in line.allocations if a.remaining}))}"
        for pick in lists
        for line in pick.lines
        if line.remaining > 0 and (gtin is None or line.gtin == gtin)
    ]
    return "; ".join(wants) or "nothing"


def as_scanned(line: StockLine, scan: PackScan) -> tuple[StockLine, str]:
    """A scanned pack's stock line as it is judged, and how the expiry printed on it differs
    from the ledger's ('' when they agree or either is unknown). The line has the batch its
    code gives where the ledger has none (a tag booked from a fixed reader's first sight),
    and the earlier of the two dates: a pack whose printed date differs from the ledger's for
    its batch is mislabelled or not genuine, and the patient goes by the printed one, so a
    printed date that has passed is expired whatever the ledger says."""
    printed = scan.expiry.isoformat() if scan.expiry else None
    dates = [d for d in (line.expiry, printed) if d]
    seen = replace(line, batch=line.batch or scan.batch, expiry=min(dates, default=None))
    if len(set(dates)) < 2:
        return seen, ""
    return seen, f"printed expiry {printed}, the ledger has {line.expiry} for batch {seen.batch}"


def check_pack(
    line: StockLine,
    lists: list[PickList],
    today: date,
    recalled: Collection[tuple[str, str]],
) -> Match | Mistake:
    """Judge one pack (its stock line, in its slot) against the open pick lists."""
    seen = describe(line, line.gtin, line.batch, line.serial)
    expected = wanted(lists, line.gtin)
    if expected == "nothing":
        expected = wanted(lists)
    if line.expiry is not None and line.expiry < today.isoformat():
        return Mistake("expired", expected, seen, line.slot)
    if (line.gtin, line.batch) in recalled:
        return Mistake("recalled", expected, seen, line.slot)
    if line.status is not StockStatus.AVAILABLE:
        return Mistake("quarantined", expected, seen, line.slot)
    same_gtin = [
        (pick, n, ll)
        for pick in lists
        for n, ll in enumerate(pick.lines)
        if ll.gtin == line.gtin and ll.remaining > 0
    ]
    if not same_gtin:
        return Mistake("not on the pick list", wanted(lists), seen, line.slot)
    fitting = [(pick, n, ll) for pick, n, ll in same_gtin if ll.accepts(line.batch)]
    if not fitting:
        return Mistake("wrong batch", wanted(lists, line.gtin), seen, line.slot)
    for pick, n, ll in fitting:  # from an allocated slot: that allocation
        for allocation in ll.allocations:
            if allocation.slot == line.slot and allocation.remaining > 0:
                return Match(pick, n, ll, allocation)
    # A right pack from another slot (or batch) than allocated: it counts against the line's
    # last allocation, the one that would have been picked last under FEFO.
    pick, n, ll = fitting[0]
    allocation = next(a for a in reversed(ll.allocations) if a.remaining > 0)
    return Match(pick, n, ll, allocation)
