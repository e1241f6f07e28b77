"""Where a delivered pack belongs: the slot chosen for it.

In order: a home slot of the product already holding (or about to hold) the same batch, else a
home slot with room, else a free slot on the shelf of the product's first home slot (one that
holds nothing of another product, is nobody's home slot and is no receiving station), else none.
A slot has room while what it holds plus the packs on their way to it stays below the product's
`slot_capacity`; without a capacity every slot has room.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from inventory.putaway.sessions import WaitingPack
from inventory.replenishment.policy import Product
from inventory.stock.slot_index import SlotIndex


def shelf_of(slot: str) -> str:
    """The shelf a slot is on: A for A-07."""
    return slot.rpartition("-")[0]


def choose_slot(
    product: Product,
    batch: str,
    index: SlotIndex,
    waiting: Mapping[str, Sequence[WaitingPack]],
    shelf_slots: Sequence[str],
    reserved: Collection[str],
) -> str | None:
    """The slot a pack of `product` and `batch` should go to, or None when none has room.
    `waiting`: slot -> packs on their way there; `reserved`: slots never taken as free ones."""

    def held(slot: str) -> tuple[int, set[tuple[str, str]]]:
        """Packs in `slot` and on their way there, and their (GTIN, batch) kinds."""
        lines, coming = index.contents(slot), waiting.get(slot, ())
        packs = sum(line.quantity for line in lines) + len(coming)
        return packs, {(ln.gtin, ln.batch) for ln in lines} | {(p.gtin, p.batch) for p in coming}

    def room(slot: str) -> bool:
        capacity = product.slot_capacity
        return capacity is None or held(slot)[0] < capacity

    same = (product.gtin, batch)
    homes = [slot for slot in product.home_slots if room(slot)]
    for slot in homes:
        if same in held(slot)[1]:
            return slot
    if homes:
        return homes[0]
    if not product.home_slots:
        return None
    shelf = shelf_of(product.home_slots[0])
    free = [
        slot
        for slot in shelf_slots
        if shelf_of(slot) == shelf
        and slot not in reserved
        and all(gtin == product.gtin for gtin, _ in held(slot)[1])
        and room(slot)
    ]
    # Where this delivery (or an earlier one) already overflowed first, then an empty slot.
    free.sort(key=lambda slot: (same not in held(slot)[1], not held(slot)[1]))
    return free[0] if free else None
