"""The procurement round trip in the keeper: requests sent or proposed, confirmed, moved along by
the centre's answers, counted as on order, and closed by the delivery booked in."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.apply import apply
from inventory.changes import Arrived, RequestAnswer
from inventory.codes.identifiers import PackId
from inventory.errors import RequestError
from inventory.keeper import InventoryKeeper
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import RequestStatus
from inventory.site_calendar import SiteCalendar

AUTO = Product("04012345123456", "Amoxicillin", reorder_point=2, par=6, home_slots=("A-01",))
ASK = Product("05012345678900", "Ibuprofen", reorder_point=1, par=4, auto_confirm=False)


def pack(n: int, gtin: str) -> PackId:
    return PackId(f"urn:epc:id:sgtin:{gtin[1:8]}.0{gtin[8:13]}.{n}", gtin, str(n))


def clock() -> datetime:
    return datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def keeper_at(path: Path) -> InventoryKeeper:
    return InventoryKeeper(
        path, {AUTO.gtin: AUTO, ASK.gtin: ASK}, "s", "g", SiteCalendar(UTC, clock)
    )


def sent(keeper: InventoryKeeper) -> list[dict[str, object]]:
    rows = keeper.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'procurement_request' ORDER BY id"
    )
    return [json.loads(r[0]) for r in rows]


def said(rid: str, status: RequestStatus, note: str = "") -> RequestAnswer:
    """The wholesaler's answer about `rid`, without a time of its own."""
    return RequestAnswer(rid, status, note, "wholesaler", None)


def answered(keeper: InventoryKeeper, request_id: str) -> tuple[str, str, str | None]:
    """The request's note, who gave the last answer and when the centre said it."""
    row = keeper.db.execute(
        "SELECT note, answered_by, answered_at FROM procurement_requests WHERE request_id = ?",
        (request_id,),
    ).fetchone()
    return str(row[0]), str(row[1]), row[2]


def status_of(keeper: InventoryKeeper, request_id: str) -> tuple[str, int]:
    row = keeper.db.execute(
        "SELECT status, received FROM procurement_requests WHERE request_id = ?", (request_id,)
    ).fetchone()
    return str(row[0]), int(row[1])


@pytest.fixture
def keeper(tmp_path: Path) -> InventoryKeeper:
    k = keeper_at(tmp_path / "l.sqlite")
    for n in range(1, 6):
        k.put_away(pack(n, AUTO.gtin), "A-01")
    for n in range(1, 4):
        k.put_away(pack(n, ASK.gtin), "A-02")
    return k


def test_an_auto_request_is_sent_once_moved_along_and_closed_by_the_delivery(
    keeper: InventoryKeeper,
) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)  # 5 -> 2: at the reorder point
    [request] = sent(keeper)
    assert request["quantity"] == 4 and request["confirmed_by"] == "auto"
    rid = str(request["request_id"])
    assert keeper.orders.on_order(AUTO.gtin) == 4
    keeper.take(pack(4, AUTO.gtin).epc)
    assert len(sent(keeper)) == 1, "on order covers the shortage: no second request"
    for status in (RequestStatus.ACCEPTED, RequestStatus.ORDERED, RequestStatus.ORDERED):
        keeper.orders.update(said(rid, status))
    with pytest.raises(RequestError, match="cannot become accepted"):
        keeper.orders.update(said(rid, RequestStatus.ACCEPTED))
    keeper.orders.update(said(rid, RequestStatus.SHIPPED, note="DHL 123"))
    for n in (10, 11):
        keeper.put_away(pack(n, AUTO.gtin), "A-01")
    assert status_of(keeper, rid) == ("shipped", 2) and keeper.orders.on_order(AUTO.gtin) == 2
    for n in (12, 13):
        keeper.put_away(pack(n, AUTO.gtin), "A-01")
    assert status_of(keeper, rid) == ("received", 4) and keeper.orders.on_order(AUTO.gtin) == 0
    # An answer without a time of its own is dated when the gateway took it.
    heard = "2026-11-26T09:00:00.000Z"
    assert answered(keeper, rid) == ("DHL 123", "wholesaler", heard), "booking in keeps the note"
    with pytest.raises(RequestError, match="is received, closed here; it cannot become cancel"):
        keeper.orders.update(said(rid, RequestStatus.CANCELLED))
    with pytest.raises(RequestError, match="no request rq-nope at this gateway; check the id"):
        keeper.orders.update(said("rq-nope", RequestStatus.CANCELLED))


def test_the_centres_answer_through_the_ledger_says_who_gave_it(keeper: InventoryKeeper) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)
    rid = str(sent(keeper)[0]["request_id"])
    answer = RequestAnswer(rid, RequestStatus.ACCEPTED, "truck 4", "wholesaler", None)
    outcome = apply(keeper, answer)
    assert outcome.notes == [f"request {rid}: accepted (truck 4), said by wholesaler"]
    assert status_of(keeper, rid)[0] == "accepted"
    again = apply(keeper, replace(answer, status=RequestStatus.REQUESTED))  # cannot go back
    assert again.refusals and status_of(keeper, rid)[0] == "accepted"
    # Said at the centre's time with its offset: kept in UTC, as every time of the ledger.
    shipped = RequestAnswer(rid, RequestStatus.SHIPPED, "", "Ana Ruiz", "2026-11-26T12:02:00+02:00")
    apply(keeper, shipped)
    assert answered(keeper, rid) == ("truck 4", "Ana Ruiz", "2026-11-26T10:02:00.000Z")


def test_a_proposal_waits_for_a_pharmacist(tmp_path: Path, keeper: InventoryKeeper) -> None:
    keeper.take(pack(1, ASK.gtin).epc)
    keeper.take(pack(2, ASK.gtin).epc)  # 3 -> 1: short
    assert sent(keeper) == [] and keeper.orders.on_order(ASK.gtin) == 0
    [proposal] = keeper.orders.open_requests()
    assert proposal.status is RequestStatus.PROPOSED and proposal.quantity == 3
    keeper.take(pack(3, ASK.gtin).epc)
    assert len(keeper.orders.open_requests()) == 1, "one proposal at a time"
    keeper.close()
    keeper = keeper_at(tmp_path / "l.sqlite")  # it survives a restart
    keeper.orders.confirm(proposal.request_id, "Dr. Ruiz", quantity=5)
    [request] = sent(keeper)
    assert request["confirmed_by"] == "Dr. Ruiz" and request["quantity"] == 5
    assert keeper.orders.on_order(ASK.gtin) == 5
    with pytest.raises(RequestError, match="only a proposed one"):
        keeper.orders.confirm(proposal.request_id, "Dr. Ruiz")


def test_a_cancelled_request_no_longer_counts_and_shortage_asks_again(
    keeper: InventoryKeeper,
) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)  # 5 -> 2: a request for 4
    rid = str(sent(keeper)[0]["request_id"])
    for n in (10, 11):
        keeper.put_away(pack(n, AUTO.gtin), "A-01")  # 2 of the 4 came: no longer short
    keeper.orders.update(said(rid, RequestStatus.CANCELLED))
    assert keeper.orders.on_order(AUTO.gtin) == 0 and keeper.orders.open_requests() == []
    keeper.take(pack(4, AUTO.gtin).epc)
    keeper.take(pack(5, AUTO.gtin).epc)  # 4 -> 2: short again, asked again by itself
    assert len(sent(keeper)) == 2


def test_a_request_refused_while_still_short_leaves_one_proposal_for_what_is_missing(
    keeper: InventoryKeeper,
) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)  # 5 -> 2: a request for 4
    rid = str(sent(keeper)[0]["request_id"])
    keeper.take(pack(4, AUTO.gtin).epc)  # 1 left
    keeper.put_away(pack(10, AUTO.gtin), "A-01")  # 1 of the 4 came: 2 on the shelf
    outcome = apply(keeper, said(rid, RequestStatus.REJECTED, note="discontinued"))
    [proposal] = keeper.orders.open_requests()
    assert proposal.status is RequestStatus.PROPOSED and proposal.quantity == 4  # 6 - 2 - 0
    assert outcome.notes[-1] == (
        f"{AUTO.gtin} is still short: proposal {proposal.request_id} for 4 waits for a pharmacist"
    )
    assert len(sent(keeper)) == 1, "the centre is not asked again by the gateway alone"
    keeper.take(pack(5, AUTO.gtin).epc)  # 1 left
    assert len(sent(keeper)) == 1 and len(keeper.orders.open_requests()) == 1
    keeper.orders.confirm(proposal.request_id, "Dr. Ruiz")
    assert sent(keeper)[-1]["quantity"] == 5 and sent(keeper)[-1]["confirmed_by"] == "Dr. Ruiz"


def test_a_proposal_left_by_a_refusal_is_withdrawn_once_stock_covers_the_need(
    keeper: InventoryKeeper,
) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)  # 5 -> 2: a request for 4
    keeper.orders.update(said(str(sent(keeper)[0]["request_id"]), RequestStatus.REJECTED))
    [proposal] = keeper.orders.open_requests()
    for n in (10, 11):  # packs from elsewhere: 4 on the shelf, above the reorder point
        keeper.put_away(pack(n, AUTO.gtin), "A-01")
    assert keeper.orders.open_requests() == []
    assert status_of(keeper, proposal.request_id) == ("withdrawn", 0)
    for n in (4, 5):  # 4 -> 2: short again, and this product's requests go out by themselves
        keeper.take(pack(n, AUTO.gtin).epc)
    assert len(sent(keeper)) == 2 and sent(keeper)[-1]["confirmed_by"] == "auto"


def test_a_pack_taken_and_put_back_delivers_nothing(keeper: InventoryKeeper) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)  # 5 -> 2: a request for 4
    rid = str(sent(keeper)[0]["request_id"])
    for _ in range(4):  # a pharmacist shows a pack at the counter and puts it back, four times
        keeper.take(pack(4, AUTO.gtin).epc)
        apply(keeper, Arrived(pack(4, AUTO.gtin), "A-01"))
    assert status_of(keeper, rid) == ("requested", 0), "the request is still waited for"
    assert keeper.orders.on_order(AUTO.gtin) == 4 and keeper.on_hand(AUTO.gtin) == 2
    kinds = keeper.db.execute(
        "SELECT kind FROM movements WHERE epc = ? ORDER BY id", (pack(4, AUTO.gtin).epc,)
    ).fetchall()
    assert [k[0] for k in kinds] == ["put_away"] + ["pick", "return"] * 4
    apply(keeper, Arrived(pack(10, AUTO.gtin), "A-01"))  # a pack never seen here: delivered
    assert status_of(keeper, rid) == ("requested", 1)


def test_a_proposal_confirmed_after_the_shelf_emptied_goes_out_urgent(
    keeper: InventoryKeeper,
) -> None:
    keeper.take(pack(1, ASK.gtin).epc)
    keeper.take(pack(2, ASK.gtin).epc)  # 3 -> 1: a routine proposal
    [proposal] = keeper.orders.open_requests()
    keeper.take(pack(3, ASK.gtin).epc)  # none left while it waits
    keeper.orders.confirm(proposal.request_id, "Dr. Ruiz")
    [request] = sent(keeper)
    assert request["reason"] == {"on_hand": 0, "on_order": 0, "reorder_point": 1, "par": 4}
    assert request["priority"] == "urgent", "out of stock when sent"
    assert request["quantity"] == 4, "what is missing when sent, not when proposed (3)"


def live_kinds(keeper: InventoryKeeper, gtin: str) -> set[str]:
    return {str(a.kind) for a in keeper.alarms.live() if a.subject == gtin}


def test_alarms_of_a_product_taken_out_of_the_configuration_clear_when_stock_returns(
    tmp_path: Path,
) -> None:
    """A product removed from the configuration while its shortage and stock-out alarms were
    live has no policy left to judge it by: once its stock comes back they clear, instead of
    staying live for ever. Nothing new is raised or requested for it."""
    path = tmp_path / "l.sqlite"
    keeper = keeper_at(path)
    keeper.put_away(pack(1, AUTO.gtin), "A-01")
    keeper.take(pack(1, AUTO.gtin).epc)
    assert live_kinds(keeper, AUTO.gtin) == {"shortage", "stock_out"}
    keeper.close()
    keeper = InventoryKeeper(path, {ASK.gtin: ASK}, "s", "g", SiteCalendar(UTC, clock))
    try:
        requests = len(sent(keeper))
        keeper.put_away(pack(2, AUTO.gtin), "A-01")
        assert live_kinds(keeper, AUTO.gtin) == set()
        keeper.take(pack(2, AUTO.gtin).epc)
        assert live_kinds(keeper, AUTO.gtin) == set() and len(sent(keeper)) == requests
    finally:
        keeper.close()


def results(keeper: InventoryKeeper) -> list[dict[str, object]]:
    rows = keeper.db.execute("SELECT payload FROM outbox WHERE kind = 'command_result' ORDER BY id")
    return [json.loads(r[0]) for r in rows]


def test_every_answer_is_answered_naming_its_message_and_a_late_shipped_is_kept(
    keeper: InventoryKeeper,
) -> None:
    for n in (1, 2, 3):
        keeper.take(pack(n, AUTO.gtin).epc)
    rid = str(sent(keeper)[0]["request_id"])  # for 4

    def answer(status: RequestStatus, message_id: str, note: str = "") -> dict[str, object]:
        apply(keeper, replace(said(rid, status, note), message_id=message_id))
        return results(keeper)[-1]

    assert answer(RequestStatus.ORDERED, "m1") == {
        "command": "procurement-status",
        "command_id": rid,
        "status": "applied",
        "at": "2026-11-26T09:00:00.000Z",
        "request_id": rid,
        "given": "ordered",
        "state": "ordered",
        "reply_to": "m1",
    }
    again = answer(RequestStatus.ORDERED, "m2", note="order 88123")
    assert (again["status"], again["state"], again["reply_to"]) == ("duplicate", "ordered", "m2")
    for n in (10, 11, 12, 13):  # the delivery comes before the wholesaler's word that it shipped
        keeper.put_away(pack(n, AUTO.gtin), "A-01")
    assert status_of(keeper, rid) == ("received", 4)
    late = answer(RequestStatus.SHIPPED, "m3", note="DHL 1Z999")
    assert (late["status"], late["given"], late["state"]) == ("applied", "shipped", "received")
    assert status_of(keeper, rid) == ("received", 4), "it stays received"
    kept = ("DHL 1Z999", "wholesaler", "2026-11-26T09:00:00.000Z")  # no time: when it came
    assert answered(keeper, rid) == kept, "the answer is kept"
    refused = answer(RequestStatus.CANCELLED, "m4")
    assert (refused["status"], refused["reply_to"]) == ("error", "m4")
    assert "is received, closed here; it cannot become cancelled" in str(refused["error"])
