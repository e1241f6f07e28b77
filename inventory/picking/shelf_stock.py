"""Which pack on the ledger a pick confirmed at the shelf takes: the one a button press at a
slot books, and the stock line of a pack scanned while picking."""

from __future__ import annotations

from collections.abc import Iterable

from inventory.codes.barcodes import PackScan
from inventory.ledger.movements import StockStatus
from inventory.picking.lists import PickList
from inventory.stock.slot_index import SlotIndex, StockLine


def pressed_line(
    index: SlotIndex, slot: str, gtin: str, batch: str, least_seen: tuple[str, ...]
) -> StockLine | None:
    """The pack a button press at `slot` takes: a counted line first, else the tag a fixed
    reader has not seen for longest (the one taken), else the first tag by serial."""
    lines = [
        line
        for line in index.contents(slot)
        if line.gtin == gtin and line.batch == batch and line.status is StockStatus.AVAILABLE
    ]
    unseen = {epc: n for n, epc in enumerate(least_seen)}

    def order(line: StockLine) -> tuple[bool, int, str]:
        return (line.serial != "", unseen.get(line.epc or "", len(unseen)), line.serial)

    lines.sort(key=order)
    return lines[0] if lines else None


def scanned_line(
    index: SlotIndex, scan: PackScan, lists: list[PickList], open_lists: Iterable[PickList]
) -> StockLine | None:
    """The stock line of a scanned pack: by serial, or a counted line of its batch (a slot
    allocated to `lists` first, then one no other of `open_lists` holds)."""
    gtin, batch, serial = scan.gtin, scan.batch, scan.serial
    lines = [line for line in index.lines_of(gtin, serial) if serial or line.batch == batch]
    if serial:  # a tag booked from a fixed reader has no batch ('') on the ledger
        lines = [line for line in lines if not batch or line.batch in ("", batch)]

    def held_by(picks: Iterable[PickList]) -> set[str]:
        return {
            a.slot
            for p in picks
            for ln in p.lines
            for a in ln.allocations
            if ln.gtin == gtin and a.remaining > 0
        }

    mine = {p.pick_id for p in lists}
    own = held_by(lists)
    others = held_by(p for p in open_lists if p.pick_id not in mine)
    lines.sort(key=lambda line: (line.slot not in own, line.slot in others))
    return lines[0] if lines else None
