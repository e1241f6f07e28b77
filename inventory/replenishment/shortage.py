"""Where a shortage becomes a procurement request: the one place that decides, for both ways a
shortage is found.

- Stock falling through movements (`after_movements`): the shortage alarm is raised when the
  product falls to its reorder point, the stock-out alarm when none is left, and a request is
  called for when what is on hand and on order no longer covers the reorder point. Only falling
  stock starts a shortage and only rising stock ends one: packs put away one by one on a new
  shelf must not each raise a request.
- A pick list asking for more than the shelves hold (`after_short_pick`): the shortage alarm
  (with what the list was short by) and an urgent request for at least what is missing, unless
  enough is on order already.
- A GTIN with no product policy (`after_unmanaged`): its live alarms clear once stock returns.

- A request the centre cancels or rejects (`after_request_ended`): while what is on hand and on
  order still does not cover the reorder point, a proposal for what is missing, whatever the
  product's policy. A person decides whether to ask again: a shelf left empty by a refusal is
  never forgotten, and a centre that refuses is not asked again and again by the gateway alone.

A product whose requests a pharmacist confirms gets a proposal instead of a request; while one
waits, no second is made. Stock rising until nothing more is needed withdraws it, so the next
shortage proposes afresh, for what is missing then.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState
from inventory.replenishment.policy import Product, is_short, needs_order, suggested_quantity
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus


@dataclass(frozen=True, slots=True)
class Standing:
    """A product's figures at the moment of the decision, and its live alarms."""

    on_hand: int
    on_order: int
    proposal: ProcurementRequest | None  # waiting for a pharmacist's confirmation
    shortage: Alarm | None = None
    stock_out: Alarm | None = None


def after_movements(
    product: Product, standing: Standing, delta: int, at: str
) -> tuple[list[Alarm], list[ProcurementRequest]]:
    """Alarm transitions and requests called for by movements that changed the product's
    available stock by `delta` (to `standing.on_hand`)."""
    on_hand = standing.on_hand
    alarms: list[Alarm] = []
    short = is_short(product, on_hand)
    if short and standing.shortage is None and delta < 0:
        detail: dict[str, object] = {
            "gtin": product.gtin,
            "name": product.name,
            "on_hand": on_hand,
            "reorder_point": product.reorder_point,
            "slots": list(product.home_slots),
        }
        alarms.append(Alarm(AlarmKind.SHORTAGE, product.gtin, AlarmState.RAISED, at, detail))
    elif not short and standing.shortage is not None and delta > 0:
        alarms.append(replace(standing.shortage, state=AlarmState.CLEARED, cleared_at=at))
    if on_hand <= 0 and standing.stock_out is None:
        detail = {"gtin": product.gtin, "name": product.name, "slots": list(product.home_slots)}
        alarms.append(Alarm(AlarmKind.STOCK_OUT, product.gtin, AlarmState.RAISED, at, detail))
    elif on_hand > 0 and standing.stock_out is not None:
        alarms.append(replace(standing.stock_out, state=AlarmState.CLEARED, cleared_at=at))
    requests: list[ProcurementRequest] = []
    needed = needs_order(product, on_hand, standing.on_order)
    if delta < 0 and needed and standing.proposal is None:
        requests.append(new_request(product, on_hand, standing.on_order, at))
    elif delta > 0 and not needed and standing.proposal is not None:
        requests.append(replace(standing.proposal, status=RequestStatus.WITHDRAWN))
    return alarms, requests


def after_unmanaged(standing: Standing, delta: int, at: str) -> list[Alarm]:
    """The live alarms of a GTIN without a product policy (raised by a short pick, or before
    its product was taken out of the configuration), cleared once its stock rises above none:
    without a reorder point, stock back is the only sign they are over. Nothing is raised or
    requested for it."""
    if delta <= 0 or standing.on_hand <= 0:
        return []
    live = (a for a in (standing.shortage, standing.stock_out) if a is not None)
    return [replace(alarm, state=AlarmState.CLEARED, cleared_at=at) for alarm in live]


def after_short_pick(
    gtin: str,
    product: Product | None,
    standing: Standing,
    missing: int,
    pick_id: str,
    at: str,
) -> tuple[list[Alarm], list[ProcurementRequest]]:
    """The shortage alarm (unless live) and, for a known product with too little on order, an
    urgent request for at least `missing`, when pick list `pick_id` was short by `missing`."""
    alarms: list[Alarm] = []
    if standing.shortage is None:
        detail: dict[str, object] = {
            "gtin": gtin,
            "name": product.name if product else gtin,
            "on_hand": standing.on_hand,
            "short_by": missing,
            "pick_id": pick_id,
            "slots": list(product.home_slots) if product else [],
        }
        alarms.append(Alarm(AlarmKind.SHORTAGE, gtin, AlarmState.RAISED, at, detail))
    requests: list[ProcurementRequest] = []
    if product is not None and standing.on_order < missing and standing.proposal is None:
        request = new_request(product, standing.on_hand, standing.on_order, at)
        wanted = max(request.quantity, missing - standing.on_order)
        requests.append(replace(request, quantity=wanted, priority=Priority.URGENT))
    return alarms, requests


def after_request_ended(product: Product, standing: Standing, at: str) -> list[ProcurementRequest]:
    """A proposal for what is still missing, when a request of the product has just been
    cancelled or rejected (`standing`: the figures without it) and the product is still short."""
    if standing.proposal is not None or not needs_order(
        product, standing.on_hand, standing.on_order
    ):
        return []
    proposal = new_request(product, standing.on_hand, standing.on_order, at)
    return [replace(proposal, status=RequestStatus.PROPOSED, confirmed_by="")]


def new_request(product: Product, on_hand: int, on_order: int, at: str) -> ProcurementRequest:
    """A request for what brings the product back to its par level (a proposal where a
    pharmacist confirms the product's requests)."""
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
