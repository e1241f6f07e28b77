"""Procurement requests the gateway raises for short products."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from inventory.replenishment.policy import Product


class RequestStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for a pharmacist's confirmation; not sent yet
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    ORDERED = "ordered"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    RECEIVED = "received"
    WITHDRAWN = "withdrawn"  # a proposal the stock outgrew before anyone confirmed it; never sent


# Requests in these states still count as "on order".
OPEN_STATUSES = frozenset(
    {RequestStatus.REQUESTED, RequestStatus.ACCEPTED, RequestStatus.ORDERED, RequestStatus.SHIPPED}
)


# What a person is shown of each request (`rxedge procurement list`, the page's procurement view):
# among it how many of its packs are owed to pick lists that came short (`owed`), and how many
# times it was sent again for want of an answer (its copies in the outbox, found through the
# index on request messages: inventory.replenishment.resend).
SHOWN_COLUMNS = (
    "request_id, created_at, gtin, quantity, received, owed, priority, status, confirmed_by,"
    " updated_at, note, answered_by, answered_at,"
    " max((SELECT count(*) FROM outbox WHERE kind = 'procurement_request'"
    " AND key = procurement_requests.request_id) - 1, 0) AS sent_again"
)
# The schema version whose index on request messages makes that count cheap.
REQUEST_MESSAGES_INDEXED = 11


def shown_columns(db: sqlite3.Connection) -> str:
    """SHOWN_COLUMNS for this file. A ledger not yet upgraded to the index on request messages
    (opened read-only before the daemon's next start upgrades it) would count through the
    whole outbox for every request: `sent_again` is unknown (null) there instead."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version >= REQUEST_MESSAGES_INDEXED:
        return SHOWN_COLUMNS
    return SHOWN_COLUMNS[: SHOWN_COLUMNS.index(" max((SELECT")] + " NULL AS sent_again"


@dataclass(frozen=True, slots=True)
class RequestAnswer:
    """The centre's answer about a request (procurement/status): what became of `request_id`,
    said by `by` (at `at`, when the centre said it); `message_id`, when the message carried
    one, is named (`reply_to`) in the gateway's answer to it."""

    request_id: str
    status: RequestStatus
    note: str
    by: str
    at: str | None
    message_id: str = ""


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
    received: int = 0  # packs of it booked in so far
    # Packs of it owed to pick lists that came short (inventory.replenishment.shortage): the
    # gateway's own account, never sent; it ends with the request.
    owed: int = 0

    @property
    def outstanding(self) -> int:
        """Still to come, while the request is open."""
        return self.quantity - self.received if self.status in OPEN_STATUSES else 0

    @property
    def unclaimed(self) -> int:
        """Still to come and owed to no short pick list, while the request is open."""
        return max(self.outstanding - self.owed, 0)

    @property
    def owed_to_come(self) -> int:
        """Packs owed to short pick lists and not booked in yet, whatever the request's state:
        packs booked in fill what nobody is owed first (`unclaimed`), so what it owes is the
        last of it to come."""
        return max(min(self.owed, self.quantity - self.received), 0)

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


def not_covered(owed: int, quantity: int) -> str:
    """What confirming a proposal that owes `owed` packs to short pick lists for `quantity`
    packs leaves out, in words; empty when it covers them."""
    left = owed - quantity
    if left <= 0:
        return ""
    if left == 1:
        return "1 pack owed to short pick lists is not covered"
    return f"{left} packs owed to short pick lists are not covered"


def owed_by(db: sqlite3.Connection, request_id: str) -> int:
    """How many packs the request owes to short pick lists, as the ledger has it (0 when it
    has no such request)."""
    row = db.execute(
        "SELECT owed FROM procurement_requests WHERE request_id = ?", (request_id,)
    ).fetchone()
    return 0 if row is None else int(row[0])


# What the centre may answer, from each state (answering the same state again changes nothing).
NEXT_STATUSES: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.REQUESTED: frozenset(
        {
            RequestStatus.ACCEPTED,
            RequestStatus.ORDERED,
            RequestStatus.SHIPPED,
            RequestStatus.CANCELLED,
            RequestStatus.REJECTED,
        }
    ),
    RequestStatus.ACCEPTED: frozenset(
        {
            RequestStatus.ORDERED,
            RequestStatus.SHIPPED,
            RequestStatus.CANCELLED,
            RequestStatus.REJECTED,
        }
    ),
    RequestStatus.ORDERED: frozenset({RequestStatus.SHIPPED, RequestStatus.CANCELLED}),
    # A shipment that came short (or never came): the rest will not come, and what did arrive
    # stays booked against the request.
    RequestStatus.SHIPPED: frozenset({RequestStatus.CANCELLED}),
}

# What the centre may still answer about a request its delivery closed (received): steps the
# delivery overtook (the wholesaler's confirmation coming after the packs). They are taken and
# kept as said (note, who, when); the request stays received.
OVERTAKEN_BY_DELIVERY = frozenset(
    {RequestStatus.ACCEPTED, RequestStatus.ORDERED, RequestStatus.SHIPPED}
)


def refusal(request_id: str, now: RequestStatus, given: RequestStatus) -> str:
    """Why the centre's answer `given` cannot follow a request in state `now`, and what to
    send instead where there is something."""
    said = f"request {request_id} is {now}; it cannot become {given}"
    if now is RequestStatus.PROPOSED:
        return (
            f"{said}: it was never sent to the centre, and waits for a pharmacist's "
            "confirmation (rxedge procurement confirm, or the page)"
        )
    if given is RequestStatus.REJECTED and RequestStatus.CANCELLED in NEXT_STATUSES.get(now, ()):
        return f"{said}: send cancelled for what will not come"
    return said


def unfinished_requests(
    db: sqlite3.Connection, products: dict[str, Product]
) -> list[ProcurementRequest]:
    """Requests proposed or still open, from the file (oldest first)."""
    wanted = [str(RequestStatus.PROPOSED), *(str(s) for s in OPEN_STATUSES)]
    rows = db.execute(
        "SELECT request_id, created_at, gtin, quantity, status, confirmed_by, priority, received,"
        f" owed FROM procurement_requests WHERE status IN ({','.join('?' * len(wanted))})"
        " ORDER BY created_at, request_id",
        wanted,
    )
    return [
        ProcurementRequest(
            r[0],
            r[1],
            products.get(r[2]) or Product(r[2], r[2], 0, 1),
            int(r[3]),
            Priority(r[6]),
            0,
            0,
            r[5],
            RequestStatus(r[4]),
            int(r[7]),
            int(r[8]),
        )
        for r in rows
    ]
