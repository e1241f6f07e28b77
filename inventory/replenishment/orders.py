"""The keeper's procurement requests: proposed or sent when stock runs short, confirmed by a
pharmacist where the product's policy asks for it, moved along by the centre's answers, and
closed by the delivery being booked in.

What is open (requested, accepted, ordered, shipped, less what has arrived) counts as on order,
so a shortage covered by an open request asks for nothing more; a proposal waiting for its
confirmation also keeps a second one from being made.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id
from inventory.ledger.commit import Commit
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.outbox import OutboxMessage
from inventory.replenishment.policy import Product, needs_order, suggested_quantity
from inventory.replenishment.requests import (
    NEXT_STATUSES,
    OPEN_STATUSES,
    Priority,
    ProcurementRequest,
    RequestStatus,
)

# Stock arriving by these closes open requests of its GTIN (the delivery being booked in).
RECEIVING = (MovementKind.RECEIVE, MovementKind.PUT_AWAY)


class RequestError(Exception):
    """A request cannot be confirmed or moved to that status (the message says why)."""


class OrderKeeping:
    """Part of the keeper (inventory.keeper.InventoryKeeper)."""

    products: dict[str, Product]
    db: sqlite3.Connection
    _alarms: dict[str, Alarm]
    _requests: dict[str, ProcurementRequest]  # proposed and open, by id

    if TYPE_CHECKING:

        def stamp(self) -> str: ...

        def group(self) -> AbstractContextManager[None]: ...

        def on_hand(self, gtin: str) -> int: ...

        def _publish(
            self, alarms: Iterable[Alarm], requests: Iterable[ProcurementRequest]
        ) -> list[OutboxMessage]: ...

        def _take(
            self,
            at: str,
            movements: tuple[Movement, ...],
            stock: dict[tuple[str, str, str, str, str], tuple[int, int]],
            alarms: list[Alarm],
            requests: list[ProcurementRequest],
            messages: list[OutboxMessage],
        ) -> None: ...

    # Questions -------------------------------------------------------------------------------

    def on_order(self, gtin: str) -> int:
        """Quantity of `gtin` requested and not yet received, cancelled or rejected."""
        return sum(r.outstanding for r in self._requests.values() if r.product.gtin == gtin)

    def open_requests(self) -> list[ProcurementRequest]:
        """Requests proposed or open, oldest first."""
        return sorted(self._requests.values(), key=lambda r: (r.created_at, r.request_id))

    # Changes ---------------------------------------------------------------------------------

    def report_short(self, gtin: str, missing: int, reference: str) -> Commit:
        """A pick list asked for `missing` more of `gtin` than the shelves can give: the
        shortage alarm (unless live) and, for a product with too little on order, an urgent
        request (proposed, where a pharmacist confirms the product's requests)."""
        at = self.stamp()
        product = self.products.get(gtin)
        on_hand, on_order = self.on_hand(gtin), self.on_order(gtin)
        alarms: list[Alarm] = []
        if alarm_id(AlarmKind.SHORTAGE, gtin) not in self._alarms:
            detail = {
                "gtin": gtin,
                "name": product.name if product else gtin,
                "on_hand": on_hand,
                "short_by": missing,
                "pick_id": reference,
                "slots": list(product.home_slots) if product else [],
            }
            alarms.append(Alarm(AlarmKind.SHORTAGE, gtin, AlarmState.RAISED, at, detail))
        requests: list[ProcurementRequest] = []
        if product is not None and on_order < missing and self._proposal(gtin) is None:
            request = self._new_request(product, on_hand, on_order, at)
            wanted = max(request.quantity, missing - on_order)
            requests.append(replace(request, quantity=wanted, priority=Priority.URGENT))
        with self.group():
            self._take(at, (), {}, alarms, requests, self._publish(alarms, requests))
        messages = len(alarms) + len(requests)
        return Commit(alarms=tuple(alarms), requests=tuple(requests), messages=messages)

    def confirm_request(
        self,
        request_id: str,
        by: str,
        quantity: int | None = None,
        answer: Sequence[OutboxMessage] = (),
    ) -> Commit:
        """A pharmacist confirms a proposed request (optionally for another quantity): it is
        sent to the centre with its figures as they are now."""
        request = self._requests.get(request_id)
        if request is None or request.status is not RequestStatus.PROPOSED:
            state = request.status if request else "not open"
            raise RequestError(f"request {request_id} is {state}; only a proposed one is confirmed")
        gtin = request.product.gtin
        sent = replace(
            request,
            status=RequestStatus.REQUESTED,
            confirmed_by=by,
            quantity=quantity or request.quantity,
            on_hand=self.on_hand(gtin),
            on_order=self.on_order(gtin),
        )
        at = self.stamp()
        with self.group():
            self._take(at, (), {}, [], [sent], [*self._publish([], [sent]), *answer])
        return Commit(requests=(sent,), messages=1 + len(answer))

    def update_request(self, request_id: str, status: RequestStatus, note: str = "") -> Commit:
        """The centre's answer about a request. The same answer twice changes nothing; one that
        cannot follow the request's state is refused (RequestError)."""
        request = self._requests.get(request_id)
        if request is not None and request.status is status:
            return Commit()
        allowed = NEXT_STATUSES.get(request.status, frozenset()) if request else frozenset()
        if request is None or status not in allowed:
            state = request.status if request else "not open here"
            raise RequestError(f"request {request_id} is {state}; it cannot become {status}")
        updated = replace(request, status=status)
        with self.group():
            self._take(self.stamp(), (), {}, [], [updated], [])
            if note:
                self._note(request_id, note)
        return Commit(requests=(updated,))

    # Internals -------------------------------------------------------------------------------

    def _requests_called_for(
        self, product: Product, on_hand: int, delta: int, at: str
    ) -> list[ProcurementRequest]:
        """A new request when falling stock leaves the product short of what is on order."""
        on_order = self.on_order(product.gtin)
        if (
            delta < 0
            and needs_order(product, on_hand, on_order)
            and not self._proposal(product.gtin)
        ):
            return [self._new_request(product, on_hand, on_order, at)]
        return []

    def _receipts(self, movements: Iterable[Movement]) -> list[ProcurementRequest]:
        """Open requests that packs being booked in fulfil (in part or whole): the request a
        movement references first (a delivery announced for it), then the oldest."""
        arrived: dict[tuple[str, str], int] = {}
        for m in movements:
            if m.kind in RECEIVING and m.to_slot is not None:
                arrived[m.gtin, m.reference] = arrived.get((m.gtin, m.reference), 0) + m.quantity
        updated: dict[str, ProcurementRequest] = {}
        for (gtin, reference), quantity in arrived.items():
            requests = [updated.get(r.request_id, r) for r in self.open_requests()]
            requests.sort(key=lambda r: r.request_id != reference)  # stable: then oldest first
            for request in requests:
                if quantity <= 0:
                    break
                if request.product.gtin != gtin or request.outstanding <= 0:
                    continue
                take = min(quantity, request.outstanding)
                quantity -= take
                received = request.received + take
                status = RequestStatus.RECEIVED if received >= request.quantity else request.status
                updated[request.request_id] = replace(request, received=received, status=status)
        return list(updated.values())

    def _follow_requests(self, requests: Iterable[ProcurementRequest]) -> None:
        for request in requests:
            if request.status is RequestStatus.PROPOSED or request.status in OPEN_STATUSES:
                self._requests[request.request_id] = request
            else:
                self._requests.pop(request.request_id, None)

    def _proposal(self, gtin: str) -> ProcurementRequest | None:
        return next(
            (
                r
                for r in self._requests.values()
                if r.product.gtin == gtin and r.status is RequestStatus.PROPOSED
            ),
            None,
        )

    def _new_request(
        self, product: Product, on_hand: int, on_order: int, at: str
    ) -> ProcurementRequest:
        return ProcurementRequest(
            request_id=str(uuid.uuid4()),
            created_at=at,
            product=product,
            quantity=suggested_quantity(product, on_hand, on_order),
            priority=Priority.URGENT if on_hand <= 0 else Priority.ROUTINE,
            on_hand=on_hand,
            on_order=on_order,
            confirmed_by="auto" if product.auto_confirm else "",
            status=RequestStatus.REQUESTED if product.auto_confirm else RequestStatus.PROPOSED,
        )

    def _note(self, request_id: str, note: str) -> None:
        self.db.execute(
            "UPDATE procurement_requests SET note = ? WHERE request_id = ?", (note, request_id)
        )
