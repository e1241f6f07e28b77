"""Procurement requests the gateway raises for short products."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from inventory.policy import Product


class RequestStatus(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    ORDERED = "ordered"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    RECEIVED = "received"


# Requests in these states still count as "on order".
OPEN_STATUSES = frozenset(
    {RequestStatus.REQUESTED, RequestStatus.ACCEPTED, RequestStatus.ORDERED, RequestStatus.SHIPPED}
)


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    STAT = "stat"


@dataclass(frozen=True, slots=True)
class ProcurementRequest:
    """A confirmed request for `quantity` of a product, with the figures that justified it."""

    request_id: str
    created_at: str
    product: Product
    quantity: int
    priority: Priority
    on_hand: int
    on_order: int
    confirmed_by: str
    status: RequestStatus = RequestStatus.REQUESTED

    def payload(self, site: str, gateway: str) -> str:
        """The message sent on ``procurement/request`` (shaped like FHIR SupplyRequest where they
        overlap: item, quantity, priority, reason)."""
        return json.dumps(
            {
                "request_id": self.request_id,
                "created_at": self.created_at,
                "site": site,
                "gateway": gateway,
                "gtin": self.product.gtin,
                "name": self.product.name,
                "batch_hint": None,
                "quantity": self.quantity,
                "unit": self.product.unit,
                "priority": str(self.priority),
                "reason": {
                    "on_hand": self.on_hand,
                    "on_order": self.on_order,
                    "reorder_point": self.product.reorder_point,
                    "par": self.product.par,
                },
                "confirmed_by": self.confirmed_by,
            },
            separators=(",", ":"),
        )


def open_orders(db: sqlite3.Connection) -> dict[str, int]:
    """Quantity requested and still open, per GTIN, from the file."""
    placeholders = ",".join("?" * len(OPEN_STATUSES))
    rows = db.execute(
        f"SELECT gtin, sum(quantity) FROM procurement_requests WHERE status IN ({placeholders})"
        " GROUP BY gtin",
        [str(s) for s in OPEN_STATUSES],
    )
    return {gtin: int(total) for gtin, total in rows}
