"""A request the centre refuses (cancelled, rejected) is news on the product's live shortage and
stock-out alarms: they stop naming it among the urgent requests, say which request was refused
and how and which proposal waits for a pharmacist, and, once that proposal is confirmed, name
the request it became; once stock rising withdraws it instead, they stop naming it as waiting
and say it was withdrawn. State and acknowledgement are kept, as for a short pick's news."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id
from inventory.apply import apply
from inventory.changes import ConfirmRequest, RequestAnswer
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus
from inventory.replenishment.shortage import (
    Standing,
    after_confirmed,
    after_movements,
    after_request_ended,
    at_start,
)
from sync.contract import check_topic
from tests.inventory.pick_shelves import AMOX, Clock, stocked_keeper
from tests.inventory.test_replenishment_shortages import (
    alarm_messages,
    keeper_at,
    pack,
    sent,
)
from tests.inventory.test_short_pick_lists import rx_2_ended_short

AT = "2026-11-26T09:00:00.000Z"
URGENT = Priority.URGENT
SHORT = alarm_id(AlarmKind.SHORTAGE, AMOX.gtin)


# The product of the withdrawal scenarios: short at 5 packs or fewer, restocked to 10.
AMOX_5 = Product(AMOX.gtin, AMOX.name, reorder_point=5, par=10, home_slots=("A-01",))


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


REFUSAL = {"refused_request": "r-2", "refused_status": "rejected"}


def test_stock_rising_that_withdraws_the_proposal_stops_the_alarm_naming_it_as_waiting() -> None:
    """r-2 rejected left proposal p-1; a pack back (1 on hand, 5 of r-1 on order: nothing
    more is needed) withdraws p-1: the shortage alarm, still live, names it as withdrawn, no
    longer as waiting, and keeps the refusal and the urgent request it named."""
    still = request("r-1", RequestStatus.ACCEPTED)
    waiting = replace(request("p-1", RequestStatus.PROPOSED), product=AMOX_5)
    live = shortage_alarm(REFUSAL | {"urgent_requests": ["r-1"], "proposal_id": "p-1"})
    standing = Standing(1, 5, waiting, live, open=(still,))
    (told,), (withdrawn,) = after_movements(AMOX_5, standing, 1, AT)
    assert (withdrawn.request_id, withdrawn.status) == ("p-1", RequestStatus.WITHDRAWN)
    assert told.detail == {k: v for k, v in live.detail.items() if k != "proposal_id"} | {
        "proposal_withdrawn": "p-1"
    }
    assert (told.state, told.acknowledged_by) == (AlarmState.ACKNOWLEDGED, "Ana Ruiz")


def test_an_alarm_naming_a_proposal_that_still_waits_or_is_cleared_is_not_told_it_withdrawn() -> (
    None
):
    live = shortage_alarm(REFUSAL | {"proposal_id": "p-1"})
    waiting = replace(request("p-1", RequestStatus.PROPOSED), product=AMOX_5)
    alarms, requests = after_movements(AMOX_5, Standing(1, 0, waiting, live), 1, AT)
    assert (alarms, requests) == ([], []), "still needed: p-1 waits, the alarm says so"
    cleared, _ = after_movements(AMOX_5, Standing(6, 5, waiting, live), 1, AT)
    assert [a.state for a in cleared] == [AlarmState.CLEARED], "cleared, not told"


def test_an_alarm_found_at_start_naming_a_proposal_no_longer_waiting_is_told_it_withdrawn() -> None:
    """A ledger written before withdrawals were told: the alarm is put right at start."""
    live = shortage_alarm(REFUSAL | {"proposal_id": "p-1"})
    (told,), requests = at_start(AMOX_5, Standing(1, 5, None, live), AT)
    assert requests == [] and "proposal_id" not in told.detail
    assert told.detail["proposal_withdrawn"] == "p-1"


def test_a_pack_returned_that_withdraws_the_proposal_a_refusal_left_is_told_on_the_alarm(
    tmp_path: Path,
) -> None:
    """Reorder point 5, par 10: 6 packs taken one by one make request X at 5 and urgent
    request Y at 0; the centre rejects Y, leaving proposal P; a pack returned (1 on hand, X's
    5 on order) withdraws P. The shortage alarm, published again, no longer names P as
    waiting (confirming it would be refused), says it was withdrawn, and keeps the refusal;
    so does the alarm the keeper reads from the file after a restart."""
    path = tmp_path / "l.sqlite"
    keeper = keeper_at(path, AMOX_5)
    for n in range(1, 7):
        keeper.put_away(pack(n, AMOX.gtin), "A-01")
    for n in range(1, 7):
        keeper.take(pack(n, AMOX.gtin).epc)
    x, y = (str(r["request_id"]) for r in sent(keeper))
    apply(keeper, RequestAnswer(y, RequestStatus.REJECTED, "discontinued", "w", None))
    (p,) = [r for r in keeper.orders.open_requests() if r.status is RequestStatus.PROPOSED]
    assert alarm_messages(keeper, SHORT)[-1]["detail"]["proposal_id"] == p.request_id
    keeper.put_away(pack(1, AMOX.gtin), "A-01")  # returned
    assert keeper.orders.request(p.request_id) is None, "withdrawn"
    told = alarm_messages(keeper, SHORT)[-1]
    assert told["state"] == "raised"
    assert "proposal_id" not in told["detail"]
    assert (
        told["detail"]["refused_request"],
        told["detail"]["refused_status"],
        told["detail"]["proposal_withdrawn"],
    ) == (y, "rejected", p.request_id)
    assert check_topic(f"rxedge/v1/s/g/alarms/{SHORT}", json.dumps(told)) == []
    keeper.close()
    again = keeper_at(path, AMOX_5)
    live = again.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert live is not None and live.detail == told["detail"]
    assert [r.request_id for r in again.orders.open_requests()] == [x]
