"""Requests the centre has not answered are sent again: the same message, with the same
request_id, once the broker took the last copy `after` ago, and again each such while until
the centre answers; counted and timed by the ledger's outbox, so a restart carries on."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import RequestAnswer, SendRequestsAgain
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import SHOWN_COLUMNS, RequestStatus
from inventory.replenishment.resend import hand_over_copies, is_copy
from inventory.site_calendar import SiteCalendar

AMOX = Product("04012345123456", "Amoxicillin", reorder_point=2, par=6, home_slots=("A-01",))
HOURS = 4 * 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def pack(n: int) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{n}", AMOX.gtin, str(n))


def keeper_at(path: Path, clock: Clock) -> InventoryKeeper:
    return InventoryKeeper(path, {AMOX.gtin: AMOX}, "s", "g", SiteCalendar(UTC, clock))


def request_messages(keeper: InventoryKeeper) -> list[tuple[str, str]]:
    rows = keeper.db.execute(
        "SELECT key, payload FROM outbox WHERE kind = 'procurement_request' ORDER BY id"
    )
    return [(str(r[0]), str(r[1])) for r in rows]


def broker_takes_everything(keeper: InventoryKeeper) -> None:
    """The publisher's round: every waiting message acknowledged, stamped now."""
    keeper.mark_sent([row.id for row in keeper.pending_messages(1000)])


def sent_again(keeper: InventoryKeeper, rid: str) -> int:
    row = keeper.db.execute(
        f"SELECT {SHOWN_COLUMNS} FROM procurement_requests WHERE request_id = ?", (rid,)
    ).fetchone()
    return int(row["sent_again"])


def one_request(path: Path, clock: Clock) -> tuple[InventoryKeeper, str]:
    """5 packs, 3 taken: a request for 4, which the broker took at 09:00."""
    keeper = keeper_at(path, clock)
    for n in range(1, 6):
        keeper.put_away(pack(n), "A-01")
    for n in range(1, 4):
        keeper.take(pack(n).epc)
    ((rid, _),) = request_messages(keeper)
    broker_takes_everything(keeper)
    return keeper, rid


def test_an_unanswered_request_goes_out_again_marked_a_copy_each_period_until_answered(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keeper, rid = one_request(tmp_path / "l.sqlite", clock)
    ((_, first),) = request_messages(keeper)
    clock.advance(HOURS - 1)
    out = apply(keeper, SendRequestsAgain(HOURS))
    assert out.notes == [] and len(request_messages(keeper)) == 1, "not due yet"
    clock.advance(1)
    out = apply(keeper, SendRequestsAgain(HOURS))
    assert request_messages(keeper)[0] == (rid, first)
    (_, copy) = request_messages(keeper)[1]
    assert json.loads(copy) == {**json.loads(first), "sent_again": 1}, "the same, marked a copy"
    assert out.notes == [
        f"request {rid} (4 x Amoxicillin) sent again (1 time so far): no answer from the centre "
        "since the broker took it at 2026-11-26T09:00:00.000Z"
    ]
    assert sent_again(keeper, rid) == 1
    # The copy waits for the broker (away): however long, no second copy joins it.
    clock.advance(3 * HOURS)
    apply(keeper, SendRequestsAgain(HOURS))
    assert len(request_messages(keeper)) == 2
    broker_takes_everything(keeper)  # the broker back at 01:00: the next is due at 05:00
    clock.advance(HOURS - 1)
    apply(keeper, SendRequestsAgain(HOURS))
    assert len(request_messages(keeper)) == 2
    clock.advance(1)
    out = apply(keeper, SendRequestsAgain(HOURS))
    assert len(request_messages(keeper)) == 3 and "(2 times so far)" in out.notes[0]
    assert json.loads(request_messages(keeper)[-1][1])["sent_again"] == 2
    assert sent_again(keeper, rid) == 2
    broker_takes_everything(keeper)
    # The centre answers: nothing more goes out, however long the wait.
    apply(keeper, RequestAnswer(rid, RequestStatus.ACCEPTED, "", "purchasing", None))
    clock.advance(10 * HOURS)
    assert apply(keeper, SendRequestsAgain(HOURS)).notes == []
    assert len(request_messages(keeper)) == 3
    assert json.loads(request_messages(keeper)[-1][1])["request_id"] == rid


def test_the_count_and_the_time_of_the_last_copy_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "l.sqlite"
    keeper, rid = one_request(path, clock)
    clock.advance(HOURS)
    apply(keeper, SendRequestsAgain(HOURS))
    broker_takes_everything(keeper)  # the first copy taken at 13:00
    keeper.close()
    clock.advance(HOURS / 2)
    again = keeper_at(path, clock)
    try:
        apply(again, SendRequestsAgain(HOURS))
        assert len(request_messages(again)) == 2, "13:30: not due since the restart"
        clock.advance(HOURS / 2)
        out = apply(again, SendRequestsAgain(HOURS))
        assert len(request_messages(again)) == 3 and "(2 times so far)" in out.notes[0]
        assert sent_again(again, rid) == 2
    finally:
        again.close()


def test_proposals_and_requests_answered_are_never_sent_again(tmp_path: Path) -> None:
    clock = Clock()
    ask = Product("05012345678900", "Ibuprofen", reorder_point=1, par=4, auto_confirm=False)
    keeper = InventoryKeeper(
        tmp_path / "l.sqlite", {AMOX.gtin: AMOX, ask.gtin: ask}, "s", "g", SiteCalendar(UTC, clock)
    )
    for n in range(1, 6):
        keeper.put_away(pack(n), "A-01")
    keeper.put_away(PackId("urn:epc:id:sgtin:5012345.067890.1", ask.gtin, "1"), "A-02")
    keeper.take(pack(1).epc)
    keeper.take(pack(2).epc)
    keeper.take(pack(3).epc)  # Amoxicillin: a request
    keeper.take("urn:epc:id:sgtin:5012345.067890.1")  # Ibuprofen: a proposal
    ((rid, _),) = request_messages(keeper)
    assert {r.status for r in keeper.orders.open_requests()} == {
        RequestStatus.REQUESTED,
        RequestStatus.PROPOSED,
    }
    broker_takes_everything(keeper)
    apply(keeper, RequestAnswer(rid, RequestStatus.ORDERED, "88123", "purchasing", None))
    clock.advance(100 * HOURS)
    assert apply(keeper, SendRequestsAgain(HOURS)).notes == []
    assert len(request_messages(keeper)) == 1


def test_a_request_packs_of_which_were_booked_in_is_not_sent_again(tmp_path: Path) -> None:
    """Packs delivered against it show the centre has it, though it never answered."""
    clock = Clock()
    keeper, rid = one_request(tmp_path / "l.sqlite", clock)
    keeper.put_away(pack(10), "A-01")
    assert [(r.request_id, r.status, r.received) for r in keeper.orders.open_requests()] == [
        (rid, RequestStatus.REQUESTED, 1)
    ]
    clock.advance(10 * HOURS)
    assert apply(keeper, SendRequestsAgain(HOURS)).notes == []
    assert len(request_messages(keeper)) == 1


def test_a_request_made_urgent_since_goes_out_again_urgent_with_its_first_figures(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keeper, rid = one_request(tmp_path / "l.sqlite", clock)
    ((_, first),) = request_messages(keeper)
    assert json.loads(first)["priority"] == "routine"
    keeper.take(pack(4).epc)
    keeper.take(pack(5).epc)  # out of stock: the open request is made urgent
    assert [r.priority for r in keeper.orders.open_requests()] == ["urgent"]
    broker_takes_everything(keeper)
    clock.advance(HOURS)
    apply(keeper, SendRequestsAgain(HOURS))
    copy = json.loads(request_messages(keeper)[-1][1])
    assert copy["request_id"] == rid and copy["priority"] == "urgent" and copy["sent_again"] == 1
    kept = ("quantity", "created_at", "reason", "confirmed_by", "gtin")
    assert {k: copy[k] for k in kept} == {k: json.loads(first)[k] for k in kept}


def test_a_request_a_delivery_notice_is_on_its_way_for_is_not_sent_again(
    tmp_path: Path,
) -> None:
    """The centre announced the delivery (naming the request, or naming none for its GTIN):
    it has the request, whatever it said; nothing is sent again while the notice is open."""
    clock = Clock()
    keeper, rid = one_request(tmp_path / "l.sqlite", clock)
    for delivery, named in (("D-9", rid), ("D-10", "")):
        line = NoticeLine(AMOX.gtin, 4, "B1")
        keeper.putaways.notice(Notice(delivery, (line,), named, "goods-in"))
        clock.advance(HOURS)
        assert apply(keeper, SendRequestsAgain(HOURS)).notes == [], delivery
        keeper.putaways.end(delivery, "Centre")  # closed with nothing put
    clock.advance(HOURS)
    assert len(apply(keeper, SendRequestsAgain(HOURS)).notes) == 1, "no notice: sent again"


def waiting_copy(path: Path, clock: Clock) -> tuple[InventoryKeeper, str, str, int]:
    """A request, its first message taken by the broker, and a copy of it waiting: the keeper,
    the request's id, its first message and the copy's outbox id."""
    keeper, rid = one_request(path, clock)
    ((_, first),) = request_messages(keeper)
    clock.advance(HOURS)
    apply(keeper, SendRequestsAgain(HOURS))
    (copy,) = keeper.pending_messages(10)
    assert is_copy(copy) and sent_again(keeper, rid) == 1
    return keeper, rid, first, copy.id


def hand_over(keeper: InventoryKeeper, ids: list[int]) -> list[int]:
    """The publisher's look at copies it would hand to the MQTT client now."""
    with keeper.group():
        return hand_over_copies(keeper.db, ids, keeper.stamp())


def test_a_copy_never_handed_over_is_dropped_when_the_answer_came_first(tmp_path: Path) -> None:
    """The copy waited for the link to settle, and the answer the broker kept came in first:
    the copy would tell the centre there was none. Dropped unsent, it is not counted."""
    keeper, rid, first, copy = waiting_copy(tmp_path / "l.sqlite", Clock())
    apply(keeper, RequestAnswer(rid, RequestStatus.ACCEPTED, "", "purchasing", None))
    assert sent_again(keeper, rid) == 1, "waiting: counted until the publisher looks at it"
    assert hand_over(keeper, [copy]) == []
    assert request_messages(keeper) == [(rid, first)], "the first stays, the copy is gone"
    assert sent_again(keeper, rid) == 0
    assert [row.kind for row in keeper.pending_messages(10)] == ["command_result"], "the reply"


def test_a_copy_handed_over_goes_and_counts_whatever_came_after(tmp_path: Path) -> None:
    """Handed to the MQTT client, a copy may have gone out (the link lost before the PUBACK,
    the daemon stopped): it is never dropped, and stays counted."""
    keeper, rid, _, copy = waiting_copy(tmp_path / "l.sqlite", Clock())
    assert hand_over(keeper, [copy]) == [copy], "unanswered: it goes"
    apply(keeper, RequestAnswer(rid, RequestStatus.ACCEPTED, "", "purchasing", None))
    assert hand_over(keeper, [copy]) == [copy], "handed before: it goes again"
    assert sent_again(keeper, rid) == 1


def test_the_newest_row_is_not_dropped_its_id_would_come_again(tmp_path: Path) -> None:
    keeper, rid, _, copy = waiting_copy(tmp_path / "l.sqlite", Clock())
    keeper.db.execute("UPDATE procurement_requests SET status = 'accepted'")  # no reply written
    assert hand_over(keeper, [copy]) == [], "not sent"
    assert sent_again(keeper, rid) == 1, "kept waiting, for a later look"
