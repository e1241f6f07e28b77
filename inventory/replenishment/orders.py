"""Procurement requests: proposed or sent when stock runs short (decided in
`inventory.replenishment.shortage`), confirmed by a pharmacist where the product's policy asks
for it, moved along by the centre's answers, and closed by the delivery being booked in.

What is open (requested, accepted, ordered, shipped, less what has arrived) counts as on order,
so a shortage covered by an open request asks for nothing more; a proposal waiting for its
confirmation also keeps a second one from being made. Packs of it owed to pick lists that came
short (`owed`, kept with each request) are their patients': they cover no later short list,
and the shelf is restocked beside them (`shortage.Standing.unclaimed`). A request the centre
has not answered is sent again after a while (`inventory.replenishment.resend`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from inventory.alarms.book import AlarmBook
from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.errors import RequestError
from inventory.ledger.commit import Commit, iso
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.ledger.outbox import OutboxMessage
from inventory.replenishment import shortage
from inventory.replenishment.policy import Product, is_short
from inventory.replenishment.requests import (
    NEXT_STATUSES,
    OPEN_STATUSES,
    OVERTAKEN_BY_DELIVERY,
    ProcurementRequest,
    RequestAnswer,
    RequestStatus,
    refusal,
    unfinished_requests,
)
from inventory.replenishment.resend import copies_due, unanswered

# The messages that answer the centre's answer, written with it: made of the request's state
# after it and whether it changed that state.
Reply = Callable[[RequestStatus, bool], Sequence[OutboxMessage]]

# Stock arriving by these closes open requests of its GTIN (the delivery being booked in),
# unless it arrives quarantined (a refused pack found on a shelf: it was not delivered).
RECEIVING = (MovementKind.RECEIVE, MovementKind.PUT_AWAY)


class OrderLedger(Protocol):
    """What the order book needs of the keeper."""

    def stamp(self) -> str: ...

    def group(self) -> AbstractContextManager[None]: ...

    def on_hand(self, gtin: str) -> int: ...

    def record(
        self,
        at: str,
        alarms: Sequence[Alarm],
        requests: Sequence[ProcurementRequest],
        extra: Sequence[OutboxMessage] = (),
    ) -> int: ...


class OrderBook:
    """Requests proposed and open, in memory and kept in step with the file."""

    def __init__(
        self,
        products: Mapping[str, Product],
        db: sqlite3.Connection,
        ledger: OrderLedger,
        alarms: AlarmBook,
    ):
        self._products = products
        self._db = db
        self._ledger = ledger
        self._alarms = alarms
        self._requests: dict[str, ProcurementRequest] = {}  # proposed and open, by id

    def load(self) -> None:
        """Requests proposed and open, from the file."""
        found = unfinished_requests(self._db, dict(self._products))
        self._requests = {r.request_id: r for r in found}

    # Questions -------------------------------------------------------------------------------

    def on_order(self, gtin: str) -> int:
        """Quantity of `gtin` requested and not yet received, cancelled or rejected."""
        return sum(r.outstanding for r in self._requests.values() if r.product.gtin == gtin)

    def unclaimed_by_gtin(self) -> dict[str, int]:
        """Every GTIN with something on order for the shelf (owed to no short pick list), and
        how much: what its reorder check weighs."""
        found: dict[str, int] = {}
        for r in self._requests.values():
            found[r.product.gtin] = found.get(r.product.gtin, 0) + r.unclaimed
        return found

    def request(self, request_id: str) -> ProcurementRequest | None:
        """The request, while it is proposed or open."""
        return self._requests.get(request_id)

    def open_requests(self) -> list[ProcurementRequest]:
        """Requests proposed or open, oldest first."""
        return sorted(self._requests.values(), key=lambda r: (r.created_at, r.request_id))

    def standing(
        self, gtin: str, on_hand: int, changed: Mapping[str, ProcurementRequest] | None = None
    ) -> shortage.Standing:
        """`gtin`'s figures for a shortage decision, with `on_hand` as it will be, and its
        requests as `changed` (by id) leaves them: a delivery booked in the same change."""
        changed = changed or {}
        mine = [
            changed.get(r.request_id, r) for r in self._requests.values() if r.product.gtin == gtin
        ]
        return shortage.Standing(
            on_hand,
            sum(r.outstanding for r in mine),
            next((r for r in mine if r.status is RequestStatus.PROPOSED), None),
            self._alarms.get(AlarmKind.SHORTAGE, gtin),
            self._alarms.get(AlarmKind.STOCK_OUT, gtin),
            tuple(r for r in mine if r.status in OPEN_STATUSES),
        )

    def sent(self, request_id: str) -> bool:
        """Whether the request has gone to the centre and is open: written again (made urgent,
        packs of it received), it is not a request to send."""
        return self.open_gtin(request_id) is not None

    def open_gtin(self, request_id: str) -> str | None:
        """The GTIN the request asks for, when it has gone to the centre and is open; None
        when it is not (proposed, ended, unknown)."""
        request = self._requests.get(request_id)
        if request is None or request.status not in OPEN_STATUSES:
            return None
        return request.product.gtin

    # Changes ---------------------------------------------------------------------------------

    def after_movements(
        self,
        movements: Iterable[Movement],
        on_hand_now: Mapping[str, int],
        at: str,
        received: Iterable[ProcurementRequest] = (),
    ) -> tuple[list[Alarm], list[ProcurementRequest]]:
        """Shortage alarms raised or cleared, and requests called for, by these movements
        (`on_hand_now`: each GTIN's available stock before them; `received`: the requests the
        packs they book in fulfil, `receipts`, which no longer count as on order for what
        has arrived)."""
        closed = {r.request_id: r for r in received}
        change: dict[str, int] = {}
        for movement in movements:
            if movement.gtin in self._products or self._alarmed(movement.gtin):
                change[movement.gtin] = change.get(movement.gtin, 0) + movement.available_change()
        alarms: list[Alarm] = []
        requests: list[ProcurementRequest] = []
        for gtin, delta in change.items():
            standing = self.standing(gtin, on_hand_now[gtin] + delta, closed)
            if (product := self._products.get(gtin)) is None:
                alarms += shortage.after_unmanaged(standing, delta, at)
                continue
            raised, called = shortage.after_movements(product, standing, delta, at)
            alarms += raised
            requests += called
        return alarms, requests

    def at_start(self, on_hand: Callable[[str], int], coming: Mapping[str, int] = {}) -> Commit:
        """The shortage check of every product at start, with its stock as found (`on_hand`):
        alarms raised and requests called for as stock falling there would; none raised or
        asked for again where an alarm is live, a request open or a proposal waiting. What
        open delivery notices still announce (`coming`, by GTIN; not what an open request
        they deliver counts already) counts as on order: a delivery on its way is not asked
        for again. Only products at or below their reorder point can call for anything (or a
        live stock-out alarm: stock back meanwhile clears it)."""
        at = self._ledger.stamp()
        alarms: list[Alarm] = []
        requests: list[ProcurementRequest] = []
        for gtin, product in self._products.items():
            found = on_hand(gtin)
            if not is_short(product, found) and not self._alarms.get(AlarmKind.STOCK_OUT, gtin):
                continue
            standing = self.standing(gtin, found)
            standing = replace(standing, on_order=standing.on_order + coming.get(gtin, 0))
            raised, called = shortage.at_start(product, standing, at)
            alarms += raised
            requests += called
        if not alarms and not requests:
            return Commit()
        messages = self._ledger.record(at, alarms, requests)
        return Commit(alarms=tuple(alarms), requests=tuple(requests), messages=messages)

    def send_again(
        self, after: timedelta, named: Set[str] = frozenset(), unnamed: Set[str] = frozenset()
    ) -> tuple[Commit, list[str]]:
        """Every request the centre has not answered (still `requested`, nothing of it booked
        in, no delivery notice on its way for it: one naming it (`named`), or naming none for
        its GTIN (`unnamed`), which fills the oldest) whose last copy the broker took `after`
        ago or longer, published again as it stands now (`resend.again_payload`: its priority
        now, `sent_again`), with what the activity log says of each
        (`inventory.replenishment.resend`)."""
        at = self._ledger.stamp()
        waiting = unanswered(self.open_requests(), named, unnamed)
        copies, notes = copies_due(self._db, waiting, datetime.fromisoformat(at), after)
        if not copies:
            return Commit(), []
        return Commit(messages=self._ledger.record(at, [], [], copies)), notes

    def _alarmed(self, gtin: str) -> bool:
        """Whether `gtin` has a live shortage or stock-out alarm."""
        return any(self._alarms.get(k, gtin) for k in (AlarmKind.SHORTAGE, AlarmKind.STOCK_OUT))

    def report_short(self, gtin: str, missing: int, reference: str) -> Commit:
        """Pick list `reference` asked for `missing` more of `gtin` than the shelves can give:
        what is on order and owed to no earlier short list covers it, the rest is asked for,
        and what covers it is owed to it (`shortage.after_short_pick`)."""
        at = self._ledger.stamp()
        standing = self.standing(gtin, self._ledger.on_hand(gtin))
        alarms, requests = shortage.after_short_pick(
            gtin, self._products.get(gtin), standing, missing, reference, at
        )
        messages = self._ledger.record(at, alarms, requests)
        return Commit(alarms=tuple(alarms), requests=tuple(requests), messages=messages)

    def confirm(
        self,
        request_id: str,
        by: str,
        quantity: int | None = None,
        answer: Callable[[ProcurementRequest], Sequence[OutboxMessage]] = lambda _: (),
    ) -> Commit:
        """A pharmacist confirms a proposed request: it is sent to the centre with its figures
        and priority as they are now, for `quantity` or else what is missing now (never less
        than was proposed: a pick list that came short may have asked for more), with the
        messages `answer` makes of it. A `quantity` below what it owes short pick lists is
        sent as given: it then owes that many (`requests.not_covered` says what is left)."""
        request = self._requests.get(request_id)
        if request is None or request.status is not RequestStatus.PROPOSED:
            state = request.status if request else "not open"
            raise RequestError(f"request {request_id} is {state}; only a proposed one is confirmed")
        gtin = request.product.gtin
        if gtin not in self._products:  # its figures would be made up: none are configured
            raise RequestError(
                f"request {request_id} is for GTIN {gtin}, which is no longer in the "
                "configuration's products; it is not sent (add the product back to confirm it)"
            )
        now = self.standing(gtin, self._ledger.on_hand(gtin))
        ordered, priority = shortage.confirming(
            request.product, request.quantity, request.priority, now.on_hand, now.unclaimed
        )
        quantity = quantity or ordered
        sent = replace(
            request,
            status=RequestStatus.REQUESTED,
            confirmed_by=by,
            quantity=quantity,
            owed=min(request.owed, quantity),  # fewer confirmed: the rest is not covered
            priority=priority,
            on_hand=now.on_hand,
            on_order=now.on_order,
        )
        told = shortage.after_confirmed(now, sent)  # the alarms that named the proposal
        messages = self._ledger.record(self._ledger.stamp(), told, [sent], answer(sent))
        return Commit(alarms=tuple(told), requests=(sent,), messages=messages)

    def update(self, answer: RequestAnswer, reply: Reply = lambda *_: ()) -> Commit:
        """The centre's answer about a request: its status, with who gave it and when, and its
        note (an empty one keeps the note before, e.g. the tracking number). The same status
        again changes only that (a tracking number given later, also about a closed request);
        so does a step the delivery overtook (`OVERTAKEN_BY_DELIVERY`: shipped said about a
        request received meanwhile). One that cannot follow the request's state is refused
        (RequestError). A request cancelled or rejected that still owed packs to short pick
        lists, or while its product is still short, leaves a proposal, and its live alarms
        are told (`shortage.after_request_ended`). The messages `reply` makes (given the request's
        state after the answer and whether the answer changed it) are written with it. A
        request id is a UUID, found whatever the case of its hex digits (ours are lower case)."""
        answer = replace(answer, request_id=answer.request_id.lower())
        request_id, status = answer.request_id, answer.status
        request = self._requests.get(request_id)
        now = request.status if request else self._status_in_file(request_id)
        if now is None:
            raise RequestError(
                f"no request {request_id} at this gateway; check the id and the gateway "
                "it was sent to"
            )
        overtaken = now is RequestStatus.RECEIVED and status in OVERTAKEN_BY_DELIVERY
        if now is status or overtaken:
            with self._ledger.group():
                self._answered(answer, self._ledger.stamp())
                messages = self._ledger.record(self._ledger.stamp(), [], [], reply(now, False))
            return Commit(messages=messages)
        if request is None:
            raise RequestError(
                f"request {request_id} is {now}, closed here; it cannot become {status}"
            )
        if status not in NEXT_STATUSES.get(request.status, frozenset()):
            raise RequestError(refusal(request_id, request.status, status))
        updated = replace(request, status=status)
        with self._ledger.group():
            at = self._ledger.stamp()
            messages = self._ledger.record(at, [], [updated], reply(status, True))
            self._answered(answer, at)
            ended = self._after_ended(updated, at)
        return Commit(
            alarms=ended.alarms,
            requests=(updated, *ended.requests),
            messages=messages + ended.messages,
        )

    def receipts(self, movements: Iterable[Movement]) -> list[ProcurementRequest]:
        """Open requests that packs being booked in fulfil (in part or whole): the request a
        movement references first (a delivery announced for it), then the oldest."""
        arrived: dict[tuple[str, str], int] = {}
        for m in movements:
            delivered = m.kind in RECEIVING and m.to_status is StockStatus.AVAILABLE
            if delivered and m.to_slot is not None:
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

    def follow(self, requests: Iterable[ProcurementRequest]) -> None:
        """Follow requests written with a change."""
        for request in requests:
            if request.status is RequestStatus.PROPOSED or request.status in OPEN_STATUSES:
                self._requests[request.request_id] = request
            else:
                self._requests.pop(request.request_id, None)

    def _answered(self, answer: RequestAnswer, heard: str) -> None:
        """Who gave the answer, when (the centre's time in UTC, else `heard`, the change's:
        `answered_at`), and its note (inside the caller's transaction)."""
        self._db.execute(
            "UPDATE procurement_requests SET answered_by = ?, answered_at = ?,"
            " note = coalesce(nullif(?, ''), note) WHERE request_id = ?",
            (answer.by, answered_at(answer.at, heard), answer.note, answer.request_id),
        )

    def _status_in_file(self, request_id: str) -> RequestStatus | None:
        row = self._db.execute(
            "SELECT status FROM procurement_requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        return None if row is None else RequestStatus(row[0])

    def _after_ended(self, request: ProcurementRequest, at: str) -> Commit:
        """A proposal to ask again for what `request`, ended unfilled, owed short pick lists
        or for a product still short, and its product's live alarms told (inside the
        caller's transaction)."""
        gtin = request.product.gtin
        product = self._products.get(gtin)
        if request.status in OPEN_STATUSES or product is None:
            return Commit()
        standing = self.standing(gtin, self._ledger.on_hand(gtin))
        told, proposed = shortage.after_request_ended(product, standing, request, at)
        if not told and not proposed:
            return Commit()
        messages = self._ledger.record(at, told, proposed)
        return Commit(alarms=tuple(told), requests=tuple(proposed), messages=messages)


def answered_at(said: str | None, heard: str) -> str:
    """When an answer was given, as the ledger keeps it: the time the centre gave with it
    (`said`, any offset), in UTC with milliseconds as every ledger time; else when the gateway
    took it (`heard`, a ledger timestamp)."""
    if said is None:
        return heard
    try:  # RFC 3339 allows a lower-case t and z
        return iso(datetime.fromisoformat(said.upper()))
    except (ValueError, OverflowError):  # the contract refuses these; never a reason to stop
        return heard
