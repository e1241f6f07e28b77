"""A request the centre refuses (cancelled, rejected) is news on the product's live shortage and
stock-out alarms: they stop naming it among the urgent requests, say which request was refused
and how and which proposal waits for a pharmacist, and, once that proposal is confirmed, name
the request it became. State and acknowledgement are kept, as for a short pick's news."""

from __future__ import annotations

import json
from pathlib import Path

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id
from inventory.apply import apply
from inventory.changes import ConfirmRequest, RequestAnswer
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus
from inventory.replenishment.shortage import Standing, after_confirmed, after_request_ended
from sync.contract import check_topic
from tests.inventory.pick_shelves import AMOX, Clock, stocked_keeper
from tests.inventory.test_replenishment_shortages import alarm_messages
from tests.inventory.test_short_pick_lists import rx_2_ended_short

AT = "2026-11-26T09:00:00.000Z"
URGENT = Priority.URGENT
SHORT = alarm_id(AlarmKind.SHORTAGE, AMOX.gtin)


def request(rid: str, status: RequestStatus, owed: int = 0) -> ProcurementRequest:
    return ProcurementRequest(rid, AT, AMOX, 5, URGENT, 0, 0, "auto", status, owed=owed)


def shortage_alarm(detail: dict[str, object]) -> Alarm:
    base = {"gtin": AMOX.gtin, "name": AMOX.name, "on_hand": 0, "slots": ["A-01"], "short_by": 4}
    return Alarm(
        AlarmKind.SHORTAGE, AMOX.gtin, AlarmState.ACKNOWLEDGED, AT, base | detail, AT, "Ana Ruiz"
    )


def test_a_refusal_leaves_the_alarm_naming_only_open_requests_and_the_proposal_that_waits() -> None:
    """r-1 (owing 4) rejected, r-2 still open: the alarm names r-2 alone as urgent, r-1 as
    refused, and the new proposal, still acknowledged by the pharmacist who was on it."""
    refused = request("r-1", RequestStatus.REJECTED, owed=4)
    still = request("r-2", RequestStatus.ACCEPTED)
    live = shortage_alarm({"pick_id": "rx-1", "urgent_requests": ["r-1", "r-2"]})
    standing = Standing(0, still.outstanding, None, live, open=(still,))
    (told,), (proposal,) = after_request_ended(AMOX, standing, refused, AT)
    assert (proposal.status, proposal.owed) == (RequestStatus.PROPOSED, 4)
    assert told.detail == live.detail | {
        "urgent_requests": ["r-2"],
        "refused_request": "r-1",
        "refused_status": "rejected",
        "proposal_id": proposal.request_id,
    }
    assert (told.state, told.acknowledged_by, told.raised_at) == (
        AlarmState.ACKNOWLEDGED,
        "Ana Ruiz",
        AT,
    )


def test_a_refusal_with_no_request_left_open_drops_urgent_requests_and_names_the_old_proposal() -> (
    None
):
    """A proposal waited already: it owes the refused request's packs, and the alarm names it."""
    refused = request("r-1", RequestStatus.CANCELLED, owed=2)
    waiting = request("p-1", RequestStatus.PROPOSED)
    live = shortage_alarm({"urgent_requests": ["r-1"]})
    (told,), _ = after_request_ended(AMOX, Standing(0, 0, waiting, live), refused, AT)
    assert "urgent_requests" not in told.detail
    assert (told.detail["refused_status"], told.detail["proposal_id"]) == ("cancelled", "p-1")


def test_a_refusal_tells_no_alarm_when_none_is_live() -> None:
    refused = request("r-1", RequestStatus.REJECTED, owed=2)
    alarms, requests = after_request_ended(AMOX, Standing(0, 0, None), refused, AT)
    assert alarms == [] and len(requests) == 1


def test_confirming_the_proposal_a_refusal_left_names_the_request_it_became() -> None:
    live = shortage_alarm(
        {"refused_request": "r-1", "refused_status": "rejected", "proposal_id": "p-1"}
    )
    sent = request("p-1", RequestStatus.REQUESTED)
    (told,) = after_confirmed(Standing(0, 0, None, live), sent)
    refusal = {"refused_request": "r-1", "refused_status": "rejected"}
    assert told.detail == {k: v for k, v in live.detail.items() if k != "proposal_id"} | refusal | {
        "urgent_requests": ["p-1"],
        "requested_again": "p-1",
    }
    other = request("p-9", RequestStatus.REQUESTED)
    assert after_confirmed(Standing(0, 0, None, live), other) == [], "not the proposal it named"


def test_a_rejected_short_pick_request_is_news_on_the_alarm_until_its_proposal_is_confirmed(
    tmp_path: Path, clock: Clock
) -> None:
    """rx-2, short by 5, made urgent request X; the pharmacist acknowledged the alarm; the
    centre rejects X: the alarm, published again, stays acknowledged, no longer names X as
    urgent, says X was rejected and names proposal Y; once Y is confirmed it names Y."""
    keeper = stocked_keeper(tmp_path / "l.sqlite", clock)
    rx_2_ended_short(keeper)
    (x,) = keeper.orders.open_requests()
    assert alarm_messages(keeper, SHORT)[-1]["detail"]["urgent_requests"] == [x.request_id]
    keeper.alarms.acknowledge(SHORT, "Ana Ruiz")
    apply(keeper, RequestAnswer(x.request_id, RequestStatus.REJECTED, "discontinued", "w", None))
    (y,) = keeper.orders.open_requests()
    after = alarm_messages(keeper, SHORT)[-1]
    assert (after["state"], after["acknowledged_by"]) == ("acknowledged", "Ana Ruiz")
    assert "urgent_requests" not in after["detail"]
    assert after["detail"]["refused_request"] == x.request_id
    assert (after["detail"]["refused_status"], after["detail"]["proposal_id"]) == (
        "rejected",
        y.request_id,
    )
    apply(keeper, ConfirmRequest(y.request_id, "Dr. Ruiz", None))
    confirmed = alarm_messages(keeper, SHORT)[-1]
    assert confirmed["detail"]["urgent_requests"] == [y.request_id]
    assert confirmed["detail"]["requested_again"] == y.request_id
    assert "proposal_id" not in confirmed["detail"]
    live = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert live is not None and live.detail == confirmed["detail"]
    for payload in (after, confirmed):
        assert check_topic(f"rxedge/v1/s/g/alarms/{SHORT}", json.dumps(payload)) == []
