"""Pick lists short of one drug, one after another: each request remembers how many of its
packs are owed to short lists (`owed`), so what is on order for one list's missing packs does
not cover the next list's, whether the first is still open or has ended; what nobody is owed
of it does. What a request owes ends with it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from pathlib import Path

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import RequestAnswer
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus
from inventory.replenishment.shortage import Standing, after_short_pick
from inventory.site_calendar import SiteCalendar
from tests.inventory.pick_shelves import AMOX, TIMES, Clock, open_keeper, put, stocked_keeper
from tests.inventory.test_replenishment_shortages import pack, sent, stocked

URGENT = Priority.URGENT
AT = "2026-11-26T09:00:00.000Z"


def start(keeper: InventoryKeeper, pick_id: str, quantity: int) -> None:
    keeper.picks.start(PickRequest(pick_id, (PickLine(AMOX.gtin, quantity),)))


def ordered(keeper: InventoryKeeper) -> list[tuple[int, Priority, RequestStatus]]:
    """(quantity, priority, status) of the requests proposed or open, oldest first."""
    return [(r.quantity, r.priority, r.status) for r in keeper.orders.open_requests()]


def owed_in_file(keeper: InventoryKeeper) -> list[tuple[int, int, str]]:
    """(quantity, owed, status) of every request the ledger holds, in the order written."""
    rows = keeper.db.execute(
        "SELECT quantity, owed, status FROM procurement_requests ORDER BY rowid"
    )
    return [(int(r[0]), int(r[1]), str(r[2])) for r in rows]


def short_by(keeper: InventoryKeeper) -> tuple[object, object]:
    alarm = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert alarm is not None
    assert "pick_ids" not in alarm.detail
    return alarm.detail["short_by"], alarm.detail["pick_id"]


def rx_2_ended_short(keeper: InventoryKeeper) -> None:
    """4 usable packs (A-01 3, A-02 1): rx-1 takes all 4; rx-2 asks 5, none can be set aside
    for it, so it is short by 5 and done at once."""
    start(keeper, "rx-1", 4)
    start(keeper, "rx-2", 5)
    assert keeper.picks.store.state_of("rx-2") == "done"


def test_a_list_that_ended_short_is_still_owed_its_packs_so_the_next_list_is_ordered(
    tmp_path: Path, clock: Clock
) -> None:
    keeper = stocked_keeper(tmp_path / "l.sqlite", clock)
    rx_2_ended_short(keeper)
    start(keeper, "rx-3", 5)
    assert ordered(keeper) == [(5, URGENT, RequestStatus.REQUESTED)] * 2
    assert keeper.orders.on_order(AMOX.gtin) == 10
    assert owed_in_file(keeper) == [(5, 5, "requested")] * 2, "10 patients' packs owed"
    assert short_by(keeper) == (10, "rx-3")
    assert [r["quantity"] for r in sent(keeper)] == [5, 5]


def test_what_each_request_owes_survives_a_restart_between_the_lists(
    tmp_path: Path, clock: Clock
) -> None:
    path = tmp_path / "l.sqlite"
    keeper = stocked_keeper(path, clock)
    rx_2_ended_short(keeper)
    keeper.close()
    keeper = open_keeper(path, clock)
    start(keeper, "rx-3", 5)
    assert ordered(keeper) == [(5, URGENT, RequestStatus.REQUESTED)] * 2
    assert owed_in_file(keeper) == [(5, 5, "requested")] * 2
    assert short_by(keeper) == (10, "rx-3")


def test_a_proposal_grows_to_what_every_short_list_is_owed(tmp_path: Path, clock: Clock) -> None:
    """A product a pharmacist confirms: one proposal, enlarged to what both lists are owed."""
    confirmed = replace(AMOX, auto_confirm=False)
    keeper = InventoryKeeper(
        tmp_path / "l.sqlite",
        {AMOX.gtin: confirmed},
        "s",
        "g",
        SiteCalendar(UTC, clock),
        pick_times=TIMES,
    )
    put(keeper, "A-01", "LATE", "2027-12-31", 3)
    put(keeper, "A-02", "EARLY", "2027-01-31", 1)
    rx_2_ended_short(keeper)
    start(keeper, "rx-3", 5)
    assert ordered(keeper) == [(10, URGENT, RequestStatus.PROPOSED)]
    assert owed_in_file(keeper) == [(10, 10, "proposed")]
    assert sent(keeper) == []
    (proposal,) = keeper.orders.open_requests()
    keeper.orders.confirm(proposal.request_id, "Dr. Ruiz")
    assert [(r["quantity"], r["priority"]) for r in sent(keeper)] == [(10, "urgent")]
    assert owed_in_file(keeper) == [(10, 10, "requested")]


def test_what_is_on_order_and_owed_to_nobody_covers_a_short_list_once(tmp_path: Path) -> None:
    """4 tagged packs, one taken: 3 left, at the reorder point, and a routine request for 5
    on order that nobody is owed. rx-0 takes the 3; rx-1 asks 5 (none left: short by 5, done
    at once): the request covers it. rx-2 asks 2: the 5 are all owed, so 2 more are ordered."""
    keeper = stocked(tmp_path / "l.sqlite", 4)
    keeper.take(pack(1, AMOX.gtin).epc)
    assert ordered(keeper) == [(5, Priority.ROUTINE, RequestStatus.REQUESTED)]
    start(keeper, "rx-0", 3)
    start(keeper, "rx-1", 5)
    assert keeper.picks.store.state_of("rx-1") == "done"
    assert ordered(keeper) == [(5, URGENT, RequestStatus.REQUESTED)], "covered: nothing new"
    assert owed_in_file(keeper) == [(5, 5, "requested")]
    start(keeper, "rx-2", 2)
    assert sorted(ordered(keeper)) == [
        (2, URGENT, RequestStatus.REQUESTED),
        (5, URGENT, RequestStatus.REQUESTED),
    ]
    assert owed_in_file(keeper) == [(5, 5, "requested"), (2, 2, "requested")]
    assert [(r["quantity"], r["priority"]) for r in sent(keeper)] == [(5, "routine"), (2, "urgent")]


def test_a_rejected_request_takes_what_it_owed_with_it_and_is_not_asked_again(
    tmp_path: Path, clock: Clock
) -> None:
    keeper = stocked_keeper(tmp_path / "l.sqlite", clock)
    rx_2_ended_short(keeper)
    (request,) = keeper.orders.open_requests()
    apply(keeper, RequestAnswer(request.request_id, RequestStatus.REJECTED, "", "w", None))
    assert ordered(keeper) == [], "rx-2's patients are the pharmacist's to see to"
    assert len(sent(keeper)) == 1
    start(keeper, "rx-3", 5)
    assert ordered(keeper) == [(5, URGENT, RequestStatus.REQUESTED)], "rx-3's packs alone"
    assert owed_in_file(keeper) == [(5, 5, "rejected"), (5, 5, "requested")]
    assert short_by(keeper) == (5, "rx-3")


def test_packs_of_a_request_already_booked_in_cover_no_later_list() -> None:
    """10 on order, 3 of them arrived (on the shelves: a list short now could not have them),
    5 owed: 2 still to come are nobody's. A list short by 4 claims those 2 and orders 2."""
    on_order = ProcurementRequest("r-1", AT, AMOX, 10, URGENT, 0, 0, "auto", received=3, owed=5)
    standing = Standing(0, on_order.outstanding, None, open=(on_order,))
    alarms, requests = after_short_pick(AMOX.gtin, AMOX, standing, 4, "rx-9", AT)
    claimed, new = requests
    assert (claimed.request_id, claimed.owed) == ("r-1", 7)
    assert (new.quantity >= 2, new.owed, new.priority) == (True, 2, URGENT)
    (alarm,) = alarms
    assert (alarm.detail["short_by"], alarm.detail["urgent_requests"]) == (
        9,
        ["r-1", new.request_id],
    )
