"""Where a shortage becomes a procurement request: the one place that decides, for every way a
shortage is found.

- Stock falling through movements (`after_movements`): the shortage alarm is raised when the
  product falls to its reorder point, the stock-out alarm when none is left, and a request is
  called for when what is on hand and on order for the shelf (`Standing.unclaimed`: not the
  packs owed to short pick lists, which their patients take) no longer covers the reorder
  point. Only falling stock starts a shortage and only rising stock ends one: packs put away
  one by one on a new shelf must not each raise a request.
- A pick list asking for more than the shelves hold (`after_short_pick`): the shortage alarm
  (with what short lists are owed of the product in all and the list's id, added to the alarm
  when it is live already), the product's open requests made urgent, and the missing packs
  claimed: a request remembers how many of its packs are owed to short lists (`owed`), so
  what is on order for one list does not cover the next one's, whether the first is still
  open or ended. What no earlier list is owed of the open requests covers it; for the rest,
  the waiting proposal is enlarged or else an urgent request made.
- The gateway starting (`at_start`): every product is judged as a falling stock would judge it,
  so a shelf found short or empty gets its alarms and request; what is live or open already is
  not raised or asked for again.
- A GTIN with no product policy (`after_unmanaged`): its live alarms clear once stock returns.

- A request the centre cancels or rejects (`after_request_ended`): a proposal, whatever the
  product's policy, when the request still owed packs to short pick lists that were not booked
  in (for at least those, which it then owes), or while what is on hand and on order for the
  shelf still does not cover the reorder point (for what is missing). A person decides whether
  to ask again: patients left waiting or a shelf left empty by a refusal are never forgotten,
  and a centre that refuses is not asked again and again by the gateway alone. The product's
  live shortage and stock-out alarms are told (`_told_refused`): they name the refused
  request, the proposal that waits, and only the open requests among those urgent; once the
  pharmacist confirms that proposal (`after_confirmed`), the request it became.

A product whose requests a pharmacist confirms gets a proposal instead of a request; while one
waits, no second is made. Stock rising until nothing more is needed withdraws it, so the next
shortage proposes afresh, for what is missing then; unless it owes packs to short pick lists:
their patients wait whatever the shelf holds, so it stays for the pharmacist. A live alarm
that named it as left by a refusal then says it was withdrawn (`_told_withdrawn`): nobody is
sent to confirm a proposal that no longer waits.

A stock-out, like a short pick, makes the product's open routine requests urgent. The contract
carries a request once (the centre applies each request_id once), so the change cannot go out
as the request again: the alarm that caused it names the requests now urgent
(`urgent_requests` in its detail), and the request stays urgent in the ledger and on the page.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Set
from dataclasses import dataclass, replace

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState
from inventory.replenishment.policy import Product, is_short, needs_order, suggested_quantity
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus

# Stock found at start is judged as stock that fell to where it is: alarms raised and requests
# called for, no shortage cleared nor proposal withdrawn (a stock-out alarm with stock back is
# cleared, as after any movement).
FOUND_AT_START = -1


@dataclass(frozen=True, slots=True)
class Standing:
    """A product's figures at the moment of the decision, and its live alarms."""

    on_hand: int
    on_order: int  # requested and still to come (a request's `reason` says it)
    proposal: ProcurementRequest | None  # waiting for a pharmacist's confirmation
    shortage: Alarm | None = None
    stock_out: Alarm | None = None
    open: tuple[ProcurementRequest, ...] = ()  # sent to the centre, not yet ended; oldest first

    @property
    def unclaimed(self) -> int:
        """What is on order for the shelf: `on_order` less the packs of the open requests that
        are owed to short pick lists (their patients take them as they come). The reorder
        check weighs this, so the shelf is restocked beside what patients are owed."""
        return self.on_order - sum(r.outstanding - r.unclaimed for r in self.open)


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
    requests: list[ProcurementRequest] = []
    if on_hand <= 0 and standing.stock_out is None:
        # None left: what is on its way is wanted now, and so is a proposal when confirmed.
        waiting = (
            standing.open if standing.proposal is None else (*standing.open, standing.proposal)
        )
        requests += made_urgent(waiting)
        detail = {"gtin": product.gtin, "name": product.name, "slots": list(product.home_slots)}
        detail |= _naming_urgent(standing.open)
        alarms.append(Alarm(AlarmKind.STOCK_OUT, product.gtin, AlarmState.RAISED, at, detail))
    elif on_hand > 0 and standing.stock_out is not None:
        alarms.append(replace(standing.stock_out, state=AlarmState.CLEARED, cleared_at=at))
    needed = needs_order(product, on_hand, standing.unclaimed)
    proposal = standing.proposal
    if delta < 0 and needed and proposal is None:
        requests.append(new_request(product, standing, at))
    elif delta > 0 and not needed and proposal is not None and not proposal.owed:
        requests.append(replace(proposal, status=RequestStatus.WITHDRAWN))
        proposal = None
    cleared = {a.kind for a in alarms if a.state is AlarmState.CLEARED}
    alarms += _told_withdrawn(standing, proposal, cleared)
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
    """What pick list `pick_id`, found short of `gtin` by `missing` more packs, calls for. For
    a known product its open routine requests are made urgent (a patient waits for what they
    bring) and the packs are claimed (`_claimed`). The shortage alarm is raised with what short
    lists are owed of it in all (`short_by`: these packs and what earlier lists are still owed
    by its open requests and waiting proposal) and the list's id, or, live already (stock fell
    to the reorder point before), given them; either way it names the open requests, all
    urgent now."""
    waiting = standing.open if standing.proposal is None else (*standing.open, standing.proposal)
    owed = sum(r.owed for r in waiting)
    requests: list[ProcurementRequest] = []
    sent: tuple[ProcurementRequest, ...] = ()
    if product is not None:
        requests, sent = _claimed(product, standing, missing, at)
    detail: dict[str, object] = {
        "gtin": gtin,
        "name": product.name if product else gtin,
        "on_hand": standing.on_hand,
        "short_by": owed + missing,
        "pick_id": pick_id,
        "slots": list(product.home_slots) if product else [],
    }
    detail |= _naming_urgent(sent)
    live = standing.shortage
    if live is None:
        alarms = [Alarm(AlarmKind.SHORTAGE, gtin, AlarmState.RAISED, at, detail)]
    else:  # the same alarm (state, raise time, acknowledgement kept), told of the pick list
        told = {k: v for k, v in live.detail.items() if k not in _TOLD_AFRESH} | detail
        alarms = [] if told == live.detail else [replace(live, detail=told)]
    return alarms, requests


# What a short list's news replaces in a live alarm's detail rather than keeps: the requests
# now urgent, and the open lists an earlier release named (`short_by` now counts every list
# still owed packs, open or ended).
_TOLD_AFRESH = frozenset({"urgent_requests", "pick_ids"})


def _claimed(
    product: Product, standing: Standing, missing: int, at: str
) -> tuple[list[ProcurementRequest], tuple[ProcurementRequest, ...]]:
    """The requests written when a short list claims `missing` packs of `product`, and the
    requests the centre has (open) among them or before. A pack is covered only by what no
    earlier short list is owed yet: first what is unclaimed of the open requests (oldest
    first), then the waiting proposal, enlarged to what it owes, or else a new request for at
    least the rest (what brings the product to its par level, if more); each owes what it
    covers, and all are urgent. Nothing else is asked again: what a request owes ends with it
    (received, cancelled, rejected), and a refused one leaves a person to decide."""
    rest = missing
    written: list[ProcurementRequest] = []
    for request in standing.open:  # oldest first
        take = min(rest, request.unclaimed)
        rest -= take
        if take or request.priority is Priority.ROUTINE:
            written.append(replace(request, owed=request.owed + take, priority=Priority.URGENT))
    sent = standing.open
    if rest > 0 and standing.proposal is not None:
        proposal = standing.proposal
        owed = proposal.owed + rest
        quantity = max(proposal.quantity, owed)
        written.append(replace(proposal, quantity=quantity, owed=owed, priority=Priority.URGENT))
    elif rest > 0:
        request = new_request(product, standing, at)
        quantity = max(request.quantity, rest)
        written.append(replace(request, quantity=quantity, owed=rest, priority=Priority.URGENT))
        if request.status is RequestStatus.REQUESTED:
            sent = (*sent, written[-1])
    return written, sent


def at_start(
    product: Product, standing: Standing, at: str
) -> tuple[list[Alarm], list[ProcurementRequest]]:
    """What the product's stock as found at start calls for: what stock falling to it would
    (alarms not live yet raised, a request or proposal unless one is open or waiting), and a
    live alarm naming as waiting a proposal that no longer waits told it was withdrawn."""
    return after_movements(product, standing, FOUND_AT_START, at)


def made_urgent(requests: Iterable[ProcurementRequest]) -> list[ProcurementRequest]:
    """The routine ones of `requests`, made urgent."""
    return [
        replace(r, priority=Priority.URGENT) for r in requests if r.priority is Priority.ROUTINE
    ]


def _naming_urgent(sent: Iterable[ProcurementRequest]) -> dict[str, object]:
    """The alarm detail naming the requests the centre has that are urgent now (none: nothing)."""
    ids = [r.request_id for r in sent]
    return {"urgent_requests": ids} if ids else {}


def after_request_ended(
    product: Product, standing: Standing, ended: ProcurementRequest, at: str
) -> tuple[list[Alarm], list[ProcurementRequest]]:
    """What a request of the product calls for once the centre cancelled or rejected it
    (`ended`; `standing`: the figures without it): the product's live alarms told
    (`_told_refused`), and a proposal. What it owed short pick lists and did not bring
    (`owed_to_come`) is theirs still: the waiting proposal owes it, enlarged to it, or else a
    new urgent proposal does, for at least that much. With nothing owed, a proposal for what
    is missing when the product is still short and none waits. Never a request: a person
    decides whether to ask again."""
    proposed = _proposed_again(product, standing, ended, at)
    waiting = proposed[0] if proposed else standing.proposal
    return _told_refused(standing, ended, waiting), proposed


def _proposed_again(
    product: Product, standing: Standing, ended: ProcurementRequest, at: str
) -> list[ProcurementRequest]:
    owed, on_hand, proposal = ended.owed_to_come, standing.on_hand, standing.proposal
    if proposal is not None and owed:
        owes = proposal.owed + owed
        quantity = max(proposal.quantity, owes)
        return [replace(proposal, quantity=quantity, owed=owes, priority=Priority.URGENT)]
    if proposal is not None or not (owed or needs_order(product, on_hand, standing.unclaimed)):
        return []
    fresh = new_request(product, standing, at)
    priority = Priority.URGENT if owed else fresh.priority
    return [
        replace(
            fresh,
            quantity=max(fresh.quantity, owed),
            owed=owed,
            priority=priority,
            status=RequestStatus.PROPOSED,
            confirmed_by="",
        )
    ]


# What a refusal writes in a live alarm's detail, replaced by the next refusal: the request
# refused, how (cancelled, rejected), the proposal left waiting for a pharmacist, and the
# request that proposal became once confirmed, or else the proposal withdrawn unconfirmed.
_REFUSAL = (
    "refused_request",
    "refused_status",
    "proposal_id",
    "requested_again",
    "proposal_withdrawn",
)


def _told_refused(
    standing: Standing, ended: ProcurementRequest, waiting: ProcurementRequest | None
) -> list[Alarm]:
    """The product's live shortage and stock-out alarms told that the centre refused `ended`
    (`refused_request`, `refused_status`) and which proposal waits for a pharmacist
    (`proposal_id`; absent when none does), naming among `urgent_requests` only requests
    still open. Like a short pick's news, this keeps their state, raise time and
    acknowledgement: an acknowledged alarm is one a person is on already; the news is in its
    detail, published again."""
    news: dict[str, object] = {
        "refused_request": ended.request_id,
        "refused_status": str(ended.status),
    }
    if waiting is not None:
        news["proposal_id"] = waiting.request_id
    still_open = {r.request_id for r in standing.open}
    return [a for live in _live(standing) for a in _retold(live, news, still_open, ())]


def after_confirmed(standing: Standing, sent: ProcurementRequest) -> list[Alarm]:
    """The product's live alarms that name `sent` as the proposal a refusal left waiting,
    told that a pharmacist confirmed it (`standing`: the figures before it was sent):
    `requested_again` names the request it became in place of `proposal_id`, and so do
    `urgent_requests` when it is urgent."""
    still_open = {r.request_id for r in standing.open} | {sent.request_id}
    urgent = (sent.request_id,) if sent.priority is not Priority.ROUTINE else ()
    told: list[Alarm] = []
    for live in _live(standing):
        if live.detail.get("proposal_id") != sent.request_id:
            continue
        news = {k: v for k, v in live.detail.items() if k in _REFUSAL[:2]}
        news["requested_again"] = sent.request_id
        told += _retold(live, news, still_open, urgent)
    return told


def _told_withdrawn(
    standing: Standing, waiting: ProcurementRequest | None, ending: Set[AlarmKind]
) -> list[Alarm]:
    """The product's live alarms (but those of the kinds `ending` now) that name as waiting a
    proposal that no longer does (`waiting`: the one that does, if any), told that it was
    withdrawn: stock rose until nothing more was needed, before anyone confirmed it.
    `proposal_withdrawn` names it in place of `proposal_id`; the refusal stays told, and so
    do the urgent requests named."""
    told: list[Alarm] = []
    for live in _live(standing):
        named = live.detail.get("proposal_id")
        if live.kind in ending or named is None or (waiting and waiting.request_id == named):
            continue
        news = {k: v for k, v in live.detail.items() if k in _REFUSAL[:2]}
        news["proposal_withdrawn"] = named
        told += _retold(live, news, set(live.detail.get("urgent_requests", ())), ())
    return told


def _live(standing: Standing) -> list[Alarm]:
    return [a for a in (standing.shortage, standing.stock_out) if a is not None]


def _retold(
    live: Alarm, news: dict[str, object], still_open: Set[str], urgent: Iterable[str]
) -> list[Alarm]:
    """`live` with `news` in place of what a refusal wrote before, naming among
    `urgent_requests` those of its requests still open and `urgent` (nothing when that
    changes nothing)."""
    kept = {k: v for k, v in live.detail.items() if k not in _REFUSAL}
    named = [r for r in kept.pop("urgent_requests", []) if r in still_open]
    named += [r for r in urgent if r not in named]
    detail = kept | ({"urgent_requests": named} if named else {}) | news
    return [] if detail == live.detail else [replace(live, detail=detail)]


def confirming(
    product: Product, proposed: int, priority: Priority, on_hand: int, unclaimed: int
) -> tuple[int, Priority]:
    """What confirming a proposal of `proposed` packs at `priority` orders, no other quantity
    given, with `on_hand` packs available and `unclaimed` on order for the shelf (owed to no
    short pick list): what is missing now, never less than was proposed (a pick list that
    came short may have asked for more), and urgent once the product is out of stock (it was
    not when proposed), as a new request would be."""
    missing = suggested_quantity(product, on_hand, unclaimed)
    return max(proposed, missing), Priority.URGENT if on_hand <= 0 else priority


def new_request(product: Product, standing: Standing, at: str) -> ProcurementRequest:
    """A request for what brings the product back to its par level, weighed against what is
    on order for the shelf (`Standing.unclaimed`), with everything on order as its reason (a
    proposal where a pharmacist confirms the product's requests)."""
    on_hand = standing.on_hand
    return ProcurementRequest(
        request_id=str(uuid.uuid4()),
        created_at=at,
        product=product,
        quantity=suggested_quantity(product, on_hand, standing.unclaimed),
        priority=Priority.URGENT if on_hand <= 0 else Priority.ROUTINE,
        on_hand=on_hand,
        on_order=standing.on_order,
        confirmed_by="auto" if product.auto_confirm else "",
        status=RequestStatus.REQUESTED if product.auto_confirm else RequestStatus.PROPOSED,
    )
