"""Shortages the keeper must not miss: shelves found short or empty at start, an open routine
request made urgent by a stock-out or a short pick (the alarm naming it for the centre), a
waiting proposal enlarged by a short pick, and a delivery judged with its own request closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from inventory.alarms.lifecycle import AlarmKind, AlarmState
from inventory.apply import apply
from inventory.changes import RequestAnswer, ShortageCheck
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import RequestStatus
from inventory.site_calendar import SiteCalendar

AMOX = Product("04012345123456", "Amoxicillin", reorder_point=3, par=8, home_slots=("A-01",))
IBU = Product("05012345678900", "Ibuprofen", reorder_point=1, par=4, auto_confirm=False)
PARA = Product("04012345000023", "Paracetamol", reorder_point=1, par=4, home_slots=("A-03",))


def clock() -> datetime:
    return datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def pack(n: int, gtin: str) -> PackId:
    return PackId(f"urn:epc:id:sgtin:{gtin[1:8]}.0{gtin[8:13]}.{n}", gtin, str(n))


def keeper_at(path: Path, *products: Product) -> InventoryKeeper:
    chosen = products or (AMOX, IBU)
    return InventoryKeeper(path, {p.gtin: p for p in chosen}, "s", "g", SiteCalendar(UTC, clock))


def stocked(path: Path, packs: int) -> InventoryKeeper:
    keeper = keeper_at(path, AMOX)
    for n in range(1, packs + 1):
        keeper.put_away(pack(n, AMOX.gtin), "A-01")
    return keeper


def sent(keeper: InventoryKeeper) -> list[dict[str, object]]:
    rows = keeper.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'procurement_request' ORDER BY id"
    )
    return [json.loads(r[0]) for r in rows]


def alarm_messages(keeper: InventoryKeeper, alarm_id: str) -> list[dict[str, object]]:
    rows = keeper.db.execute(
        "SELECT payload FROM outbox WHERE kind = 'alarm' AND key = ? ORDER BY id", (alarm_id,)
    )
    return [json.loads(r[0]) for r in rows]


def requests(keeper: InventoryKeeper) -> list[tuple[str, int, str, str]]:
    """(GTIN, quantity, status, priority) of every request, in the order written."""
    rows = keeper.db.execute(
        "SELECT gtin, quantity, status, priority FROM procurement_requests ORDER BY rowid"
    )
    return [(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]


def live(keeper: InventoryKeeper) -> set[str]:
    return {a.id for a in keeper.alarms.live()}


# At start ----------------------------------------------------------------------------------


def test_shelves_found_short_or_empty_at_start_get_their_alarms_and_requests_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.sqlite"
    keeper = keeper_at(path, AMOX)
    for n in range(1, 6):
        keeper.put_away(pack(n, AMOX.gtin), "A-01")
    keeper.close()
    # Restarted with Amoxicillin's reorder point raised to 5, Ibuprofen (a pharmacist confirms
    # its requests) and Paracetamol new to the configuration, their shelves empty.
    raised = Product(AMOX.gtin, AMOX.name, reorder_point=5, par=9, home_slots=("A-01",))
    keeper = keeper_at(path, raised, IBU, PARA)
    try:
        assert sent(keeper) == [] and live(keeper) == set()
        apply(keeper, ShortageCheck())
        assert live(keeper) == {
            f"shortage-{AMOX.gtin}",
            f"shortage-{IBU.gtin}",
            f"stock_out-{IBU.gtin}",
            f"shortage-{PARA.gtin}",
            f"stock_out-{PARA.gtin}",
        }
        assert sorted(requests(keeper)) == [
            (PARA.gtin, 4, "requested", "urgent"),
            (AMOX.gtin, 4, "requested", "routine"),
            (IBU.gtin, 4, "proposed", "urgent"),
        ]
        assert {(r["gtin"], r["quantity"]) for r in sent(keeper)} == {
            (AMOX.gtin, 4),
            (PARA.gtin, 4),
        }
        before = keeper.db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        apply(keeper, ShortageCheck())
    finally:
        keeper.close()
    again = keeper_at(path, raised, IBU, PARA)  # and restarted: nothing raised or asked again
    try:
        apply(again, ShortageCheck())
        assert again.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == before
        assert len(requests(again)) == 3
    finally:
        again.close()


def test_a_product_above_its_reorder_point_at_start_calls_for_nothing(tmp_path: Path) -> None:
    keeper = stocked(tmp_path / "l.sqlite", 4)
    apply(keeper, ShortageCheck())
    assert sent(keeper) == [] and live(keeper) == set() and requests(keeper) == []


def test_a_delivery_announced_and_not_yet_put_away_counts_as_coming_at_start(
    tmp_path: Path,
) -> None:
    """Paracetamol new to the configuration, its shelf empty, its first deliveries announced
    (4 packs in two notices, no request of ours): nothing is asked for again."""
    path = tmp_path / "l.sqlite"
    keeper = stocked(path, 5)
    keeper.putaways.notice(Notice("D-1", (NoticeLine(PARA.gtin, 3),)))
    keeper.putaways.notice(Notice("D-2", (NoticeLine(PARA.gtin, 1),)))
    keeper.close()
    keeper = keeper_at(path, AMOX, PARA)
    try:
        apply(keeper, ShortageCheck())
        assert requests(keeper) == [], "its par (4) is on its way"
        assert live(keeper) == {f"shortage-{PARA.gtin}", f"stock_out-{PARA.gtin}"}, "shelf empty"
    finally:
        keeper.close()


def test_a_delivery_announced_for_less_than_is_missing_leaves_the_rest_to_ask(
    tmp_path: Path,
) -> None:
    path = tmp_path / "l.sqlite"
    keeper = stocked(path, 5)
    keeper.putaways.notice(Notice("D-1", (NoticeLine(PARA.gtin, 1),)))
    keeper.close()
    keeper = keeper_at(path, AMOX, PARA)
    try:
        apply(keeper, ShortageCheck())
        assert requests(keeper) == [(PARA.gtin, 3, "requested", "urgent")], "par 4, 1 coming"
    finally:
        keeper.close()


def test_a_notice_delivering_a_request_counts_its_other_products_as_coming_at_start(
    tmp_path: Path,
) -> None:
    """The notice delivers the open amoxicillin request and brings paracetamol too (new to
    the configuration, its shelf empty): the request counts only its own product, so the
    4 paracetamol announced are on their way and not asked for again."""
    path = tmp_path / "l.sqlite"
    keeper = stocked(path, 4)
    keeper.take(pack(1, AMOX.gtin).epc)  # 3: a request for 5 is open
    (request,) = keeper.orders.open_requests()
    lines = (NoticeLine(AMOX.gtin, 5), NoticeLine(PARA.gtin, 4))
    keeper.putaways.notice(Notice("D-1", lines, request.request_id))
    keeper.close()
    keeper = keeper_at(path, AMOX, PARA)
    try:
        apply(keeper, ShortageCheck())
        assert requests(keeper) == [(AMOX.gtin, 5, "requested", "routine")], "its par is coming"
    finally:
        keeper.close()


# Urgent ------------------------------------------------------------------------------------


def test_a_stock_out_makes_the_open_routine_request_urgent_and_its_alarm_names_it(
    tmp_path: Path,
) -> None:
    keeper = stocked(tmp_path / "l.sqlite", 4)
    keeper.take(pack(1, AMOX.gtin).epc)  # 3: a routine request for 5
    ((rid, *_),) = [(r.request_id,) for r in keeper.orders.open_requests()]
    for n in (2, 3, 4):
        keeper.take(pack(n, AMOX.gtin).epc)  # the shelf empties
    assert requests(keeper) == [(AMOX.gtin, 5, "requested", "urgent")]
    assert [(r["quantity"], r["priority"]) for r in sent(keeper)] == [(5, "routine")], (
        "the centre applies a request_id once: not sent again as a change"
    )
    (raised,) = alarm_messages(keeper, f"stock_out-{AMOX.gtin}")
    assert raised["detail"]["urgent_requests"] == [rid]
    assert keeper.orders.on_order(AMOX.gtin) == 5


def test_a_short_pick_covered_by_an_open_request_makes_it_urgent_and_tells_the_live_alarm(
    tmp_path: Path,
) -> None:
    keeper = stocked(tmp_path / "l.sqlite", 4)
    keeper.take(pack(1, AMOX.gtin).epc)  # 3: the shortage alarm and a routine request for 5
    (request,) = keeper.orders.open_requests()
    keeper.alarms.acknowledge(f"shortage-{AMOX.gtin}", "Ana")
    # rx-9, the one open list short, is short by 4: the 5 on order cover it
    keeper.orders.report_short(AMOX.gtin, 4, "rx-9")
    assert requests(keeper) == [(AMOX.gtin, 5, "requested", "urgent")]
    assert len(sent(keeper)) == 1
    alarm = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert alarm is not None and alarm.state is AlarmState.ACKNOWLEDGED
    assert alarm.detail == {
        "gtin": AMOX.gtin,
        "name": AMOX.name,
        "on_hand": 3,
        "reorder_point": 3,
        "slots": ["A-01"],
        "short_by": 4,
        "pick_id": "rx-9",
        "urgent_requests": [request.request_id],
    }
    published = alarm_messages(keeper, alarm.id)
    assert [m["state"] for m in published] == ["raised", "acknowledged", "acknowledged"]
    assert published[-1]["detail"] == alarm.detail


def test_a_short_pick_beyond_what_is_on_order_asks_urgently_for_the_rest(tmp_path: Path) -> None:
    keeper = stocked(tmp_path / "l.sqlite", 4)
    keeper.take(pack(1, AMOX.gtin).epc)  # 3: a routine request for 5
    keeper.orders.report_short(AMOX.gtin, 9, "rx-10")
    assert requests(keeper) == [
        (AMOX.gtin, 5, "requested", "urgent"),
        (AMOX.gtin, 4, "requested", "urgent"),
    ]
    assert [(r["quantity"], r["priority"]) for r in sent(keeper)] == [
        (5, "routine"),
        (4, "urgent"),
    ]
    alarm = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert alarm is not None
    named = {r.request_id for r in keeper.orders.open_requests()}
    assert len(named) == 2 and set(alarm.detail["urgent_requests"]) == named


# Proposals ---------------------------------------------------------------------------------


def test_a_short_pick_while_a_proposal_waits_enlarges_it_and_makes_it_urgent(
    tmp_path: Path,
) -> None:
    keeper = keeper_at(tmp_path / "l.sqlite")
    for n in range(1, 4):
        keeper.put_away(pack(n, IBU.gtin), "A-02")
    keeper.take(pack(1, IBU.gtin).epc)
    keeper.take(pack(2, IBU.gtin).epc)  # 1: a routine proposal for 3
    (proposal,) = keeper.orders.open_requests()
    assert (proposal.quantity, proposal.priority) == (3, "routine")
    keeper.orders.report_short(IBU.gtin, 8, "rx-1")
    assert requests(keeper) == [(IBU.gtin, 8, "proposed", "urgent")], "one proposal, enlarged"
    keeper.orders.confirm(proposal.request_id, "Dr. Ruiz")
    assert [(r["quantity"], r["priority"]) for r in sent(keeper)] == [(8, "urgent")]


def test_a_short_pick_after_a_refusal_enlarges_the_proposal_left_to_ask_again(
    tmp_path: Path,
) -> None:
    keeper = stocked(tmp_path / "l.sqlite", 4)
    keeper.take(pack(1, AMOX.gtin).epc)  # 3: a request for 5
    (request,) = keeper.orders.open_requests()
    apply(keeper, RequestAnswer(request.request_id, RequestStatus.REJECTED, "", "w", None))
    keeper.orders.report_short(AMOX.gtin, 10, "rx-2")
    assert requests(keeper) == [
        (AMOX.gtin, 5, "rejected", "routine"),
        (AMOX.gtin, 10, "proposed", "urgent"),
    ]
    assert len(sent(keeper)) == 1, "a person decides whether to ask again"


def test_a_delivery_is_judged_with_its_request_closed_so_a_proposal_still_needed_stays(
    tmp_path: Path,
) -> None:
    ibu = Product(IBU.gtin, IBU.name, reorder_point=3, par=4, auto_confirm=False)
    keeper = keeper_at(tmp_path / "l.sqlite", ibu)
    for n in range(1, 5):
        keeper.put_away(pack(n, ibu.gtin), "A-02")
    keeper.take(pack(1, ibu.gtin).epc)  # 3: a proposal for 1, confirmed
    (first,) = keeper.orders.open_requests()
    keeper.orders.confirm(first.request_id, "Dr. Ruiz")
    keeper.take(pack(2, ibu.gtin).epc)  # 2, and 1 on order: a proposal for 1 more
    keeper.put_away(pack(10, ibu.gtin), "A-02")  # the first request's pack arrives: 3, none due
    assert keeper.on_hand(ibu.gtin) == 3 and keeper.orders.on_order(ibu.gtin) == 0
    assert requests(keeper) == [
        (ibu.gtin, 1, "received", "routine"),
        (ibu.gtin, 1, "proposed", "routine"),
    ], "still at the reorder point with nothing on order: the proposal is still needed"
