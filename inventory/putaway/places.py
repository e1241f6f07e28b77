"""Where a delivered pack belongs: the slot chosen for it.

In order: a home slot of the product already holding (or about to hold) the same batch, else a
home slot with room, else a free slot on the shelf of the product's first home slot (one that
holds nothing of another product, is nobody's home slot and is no receiving station), else none.
A slot has room while what it holds plus the packs on their way to it stays below the product's
`slot_capacity`; without a capacity every slot has room.

A slot where another desk's packs wait to be put is passed over: a press there could not
tell whose pack was laid, so a slot is lit for one desk at a time. The pack goes to another
home slot of its product with room; a free slot is taken only when every home slot is full, so
a home slot merely busy leaves the pack waiting (`slot busy`) rather than scattered.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from inventory.putaway.checks import Reason, Refusal
from inventory.putaway.sessions import PutawaySession, WaitingPack
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
    busy: Collection[str] = (),
) -> str | None:
    """The slot a pack of `product` and `batch` should go to, or None when none has room.
    `waiting`: slot -> packs on their way there; `reserved`: slots never taken as free ones;
    `busy`: slots never taken at all (another desk's packs wait there)."""

    def held(slot: str) -> tuple[int, set[tuple[str, str]]]:
        """Packs in `slot` and on their way there, and their (GTIN, batch) kinds."""
        lines, coming = index.contents(slot), waiting.get(slot, ())
        packs = sum(line.quantity for line in lines) + len(coming)
        return packs, {(ln.gtin, ln.batch) for ln in lines} | {(p.gtin, p.batch) for p in coming}

    def space(slot: str) -> bool:
        capacity = product.slot_capacity
        return capacity is None or held(slot)[0] < capacity

    def room(slot: str) -> bool:
        return slot not in busy and space(slot)

    same = (product.gtin, batch)
    homes = [slot for slot in product.home_slots if room(slot)]
    for slot in homes:
        if same in held(slot)[1]:
            return slot
    if homes:
        return homes[0]
    if not product.home_slots or any(space(slot) for slot in product.home_slots):
        return None  # a home slot with space, only busy: the pack waits for it, not scattered
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


def place(
    product: Product,
    choose: Callable[[Collection[str]], str | None],
    busy: Mapping[str, PutawaySession],
) -> str | Refusal:
    """The slot a pack of `product` goes to, as `choose` (`choose_slot` for the pack, given
    the slots to pass over) finds it, or why none: `no room`, or `slot busy` when the slot it
    would go to is `busy` (slot -> the session of another desk whose packs wait there) and no
    other slot of it has room."""
    if not product.home_slots:
        why = f"{product.name} has no home slot; give its [[products]] entry slots = [...]"
        return Refusal(Reason.NO_ROOM, why)
    slot = choose(busy)
    if slot is not None:
        return slot
    wanted = choose(()) if busy else None
    if wanted is None:
        return Refusal(
            Reason.NO_ROOM,
            f"no slot on shelf {shelf_of(product.home_slots[0])} has room for {product.name}",
        )
    other = busy[wanted]
    return Refusal(
        Reason.SLOT_BUSY,
        f"{wanted} is lit for packs of delivery {other.delivery_id} waiting at {other.scanner}: "
        f"a press there puts theirs; scan this pack again once they are put",
    )
