"""Stock policy per product: when stock is short and how much to ask for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Product:
    """A product the pharmacy stocks, with its replenishment policy."""

    gtin: str
    name: str
    reorder_point: int
    par: int
    unit: str = "pack"
    auto_confirm: bool = True
    home_slots: tuple[str, ...] = ()


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
