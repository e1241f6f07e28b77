"""The products the configuration names, as the inventory's policy objects."""

from __future__ import annotations

from edge.settings.config import GatewayConfig
from inventory.replenishment.policy import Product


def products_from(config: GatewayConfig) -> dict[str, Product]:
    """GTIN -> the product's stock policy, home slots and put-away limits."""
    return {
        p.gtin: Product(
            p.gtin,
            p.name,
            p.reorder_point,
            p.par,
            p.unit,
            p.auto_confirm,
            tuple(p.slots),
            p.min_shelf_life_days,
            p.slot_capacity,
        )
        for p in config.products
    }
