"""A slot moved as a whole: a shelf renamed or rebuilt, every pack it holds booked elsewhere."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inventory.errors import StockError
from inventory.ledger.commit import Commit
from inventory.ledger.movements import MovementKind

if TYPE_CHECKING:
    from inventory.keeper import InventoryKeeper


def move_slot(
    keeper: InventoryKeeper, from_slot: str, to_slot: str, actor: str, reason: str
) -> Commit:
    """Every pack booked in `from_slot` moved to `to_slot` as it is (batch, expiry, status),
    in one commit: a shelf renamed or rebuilt. StockError when `from_slot` holds nothing, or
    when open pick lists or put-aways count on packs there."""
    lines = list(keeper.index.contents(from_slot))
    if not lines:
        raise StockError(f"slot {from_slot} holds no stock")
    lists = sorted(
        pick.pick_id
        for pick in keeper.picks.lists.values()
        if any(a.slot == from_slot for line in pick.lines for a in line.allocations)
    )
    deliveries = sorted(
        session.delivery_id
        for session in keeper.putaways.sessions.values()
        if any(p.slot == from_slot for p in session.waiting)
    )
    if lists or deliveries:
        open_work = ", ".join([*(f"pick list {i}" for i in lists), *deliveries])
        raise StockError(
            f"{open_work} still count on slot {from_slot}: cancel or finish them first "
            "(their packs would be looked for where they no longer are)"
        )
    return keeper.commit(
        line.leaving(MovementKind.MOVE, to_slot, actor, reason, quantity=line.quantity)
        for line in lines
    )
