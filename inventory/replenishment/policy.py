"""Stock policy per product: when stock is short and how much to ask for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from inventory.stock.slot_index import SlotIndex


@dataclass(frozen=True, slots=True)
class Product:
    """A product the pharmacy stocks, with its replenishment policy and what its packs' codes
    must carry: a serial (serialized packs, as the EU's and other regulations require), a
    batch and an expiry (as a medicine's do; a device's may lack them)."""

    gtin: str
    name: str
    reorder_point: int
    par: int
    unit: str = "pack"
    auto_confirm: bool = True
    home_slots: tuple[str, ...] = ()
    require_serial: bool = True
    min_shelf_life_days: int = 0  # a delivered pack expiring sooner is refused at receiving
    slot_capacity: int | None = None  # packs one slot takes; None: no limit
    batch_and_expiry: bool = True  # a delivered pack whose code lacks either is refused


def is_short(product: Product, on_hand: int) -> bool:
    """Physically short: what is on the shelf is at or below the reorder point."""
    return on_hand <= product.reorder_point


def needs_order(product: Product, on_hand: int, on_order: int) -> bool:
    """Shortage that procurement has not been asked to cover yet."""
    return (
        on_hand + on_order <= product.reorder_point
        and suggested_quantity(product, on_hand, on_order) > 0
    )


def suggested_quantity(product: Product, on_hand: int, on_order: int) -> int:
    """What brings the product back to its par level."""
    return max(product.par - on_hand - on_order, 0)


class ProductTable:
    """Every product's policy in arrays aligned with the slot index's per-GTIN rows, so that the
    shortage check over all products is one vectorized comparison."""

    def __init__(self, products: Sequence[Product], index: SlotIndex):
        self.products = list(products)
        self._index = index
        self._rows = np.array([index.row_of(p.gtin) for p in self.products], dtype=np.int64)
        self._reorder = np.array([p.reorder_point for p in self.products], dtype=np.int64)
        self._position = {p.gtin: i for i, p in enumerate(self.products)}

    def shortages(self, on_order: Mapping[str, int]) -> list[Product]:
        """Products whose on hand + on order is at or below their reorder point."""
        ordered = np.zeros(len(self.products), dtype=np.int64)
        for gtin, quantity in on_order.items():
            position = self._position.get(gtin)
            if position is not None:
                ordered[position] = quantity
        on_hand = self._index.on_hand_by_row[self._rows]
        return [self.products[i] for i in np.nonzero(on_hand + ordered <= self._reorder)[0]]
