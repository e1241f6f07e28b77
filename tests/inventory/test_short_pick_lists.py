"""Pick lists short of one drug, one after another: each request remembers how many of its
packs are owed to short lists (`owed`), so what is on order for one list's missing packs does
not cover the next list's, whether the first is still open or has ended; what nobody is owed
of it does. What a request owes ends with it; what it did not bring is proposed again to the
pharmacist when the centre cancels or rejects it. Packs owed to patients never restock the
shelf, and stock rising never withdraws a proposal that owes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from pathlib import Path

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import ConfirmRequest, RequestAnswer
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
from inventory.replenishment.requests import Priority, ProcurementRequest, RequestStatus
from inventory.replenishment.shortage import Standing, after_request_ended, after_short_pick
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
    keeper = four_packs(tmp_path / "l.sqlite", clock, auto_confirm=False)
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
    at once): the request covers it. rx-2 asks 2: the 5 are all owed, so a new request owes
    the 2, for the 5 that bring the shelf to par beside what is owed."""
    keeper = stocked(tmp_path / "l.sqlite", 4)
    keeper.take(pack(1, AMOX.gtin).epc)
    assert ordered(keeper) == [(5, Priority.ROUTINE, RequestStatus.REQUESTED)]
    start(keeper, "rx-0", 3)
    start(keeper, "rx-1", 5)
    assert keeper.picks.store.state_of("rx-1") == "done"
    assert ordered(keeper) == [(5, URGENT, RequestStatus.REQUESTED)], "covered: nothing new"
    assert owed_in_file(keeper) == [(5, 5, "requested")]
    start(keeper, "rx-2", 2)
    assert ordered(keeper) == [(5, URGENT, RequestStatus.REQUESTED)] * 2
    assert owed_in_file(keeper) == [(5, 5, "requested"), (5, 2, "requested")]
    assert [(r["quantity"], r["priority"]) for r in sent(keeper)] == [(5, "routine"), (5, "urgent")]


def test_a_rejected_request_leaves_what_it_owed_to_the_pharmacist_and_is_not_asked_again(
    tmp_path: Path, clock: Clock
) -> None:
    """The centre rejects rx-2's request: a proposal owes its 5 packs (the pharmacist decides
    whether to ask again). rx-3, short by 5 too, enlarges that proposal: nothing is sent."""
    keeper = stocked_keeper(tmp_path / "l.sqlite", clock)
    rx_2_ended_short(keeper)
    (request,) = keeper.orders.open_requests()
    apply(keeper, RequestAnswer(request.request_id, RequestStatus.REJECTED, "", "w", None))
    assert ordered(keeper) == [(5, URGENT, RequestStatus.PROPOSED)], "rx-2's patients wait"
    assert len(sent(keeper)) == 1
    start(keeper, "rx-3", 5)
    assert ordered(keeper) == [(10, URGENT, RequestStatus.PROPOSED)]
    assert owed_in_file(keeper) == [(5, 5, "rejected"), (10, 10, "proposed")]
    assert len(sent(keeper)) == 1, "not asked again by itself"
    assert short_by(keeper) == (10, "rx-3")


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


def four_packs(path: Path, clock: Clock, auto_confirm: bool = True) -> InventoryKeeper:
    """A new ledger with the 4 usable packs of `stocked_keeper` (A-01 3, A-02 1) and nothing
    else; for a product a pharmacist confirms unless `auto_confirm`."""
    keeper = InventoryKeeper(
        path,
        {AMOX.gtin: replace(AMOX, auto_confirm=auto_confirm)},
        "s",
        "g",
        SiteCalendar(UTC, clock),
        pick_times=TIMES,
    )
    put(keeper, "A-01", "LATE", "2027-12-31", 3)
    put(keeper, "A-02", "EARLY", "2027-01-31", 1)
    return keeper


def returned(keeper: InventoryKeeper, packs: int) -> None:
    """`packs` brought back to A-01 (a patient's return): stock rises, nothing is delivered."""
    back = Movement(
        MovementKind.RETURN, AMOX.gtin, packs, batch="LATE", expiry="2027-12-31", to_slot="A-01"
    )
    keeper.commit([back])


def picked_rx_1(keeper: InventoryKeeper) -> None:
    """rx-1 picks the 4 packs set aside for it: the shelf is empty."""
    keeper.shelf.button("A-02", 1)
    keeper.shelf.button("A-01", 3)
    assert keeper.picks.store.state_of("rx-1") == "done"
    assert keeper.on_hand(AMOX.gtin) == 0


def test_stock_rising_never_withdraws_a_proposal_owed_to_a_short_list(
    tmp_path: Path, clock: Clock
) -> None:
    """rx-1 holds the 4 packs on the shelf, rx-2 came short by 5: a proposal for 5, owed to
    rx-2. A pack brought back lifts the stock above the reorder point; rx-2's patients still
    wait, so the proposal stays for the pharmacist."""
    keeper = four_packs(tmp_path / "l.sqlite", clock, auto_confirm=False)
    rx_2_ended_short(keeper)
    assert owed_in_file(keeper) == [(5, 5, "proposed")]
    returned(keeper, 1)
    assert keeper.on_hand(AMOX.gtin) == 5
    assert owed_in_file(keeper) == [(5, 5, "proposed")], "not withdrawn"
    assert ordered(keeper) == [(5, URGENT, RequestStatus.PROPOSED)]


def test_a_proposal_owed_to_nobody_is_still_withdrawn_by_stock_rising(
    tmp_path: Path, clock: Clock
) -> None:
    keeper = four_packs(tmp_path / "l.sqlite", clock, auto_confirm=False)
    start(keeper, "rx-1", 4)
    picked_rx_1(keeper)
    assert owed_in_file(keeper) == [(7, 0, "proposed")], "proposed with 1 pack left"
    returned(keeper, 2)
    assert owed_in_file(keeper) == [(7, 0, "withdrawn")]


def test_packs_owed_to_a_short_list_do_not_restock_the_shelf(tmp_path: Path, clock: Clock) -> None:
    """Reorder point 1, par 8: rx-2's 5 packs are on order, all owed to it. rx-1 picks the
    shelf empty: at the reorder point the shelf is restocked beside them (7 more, everything
    on order given as the reason), so rx-2's patients and the next walk-in are both served."""
    keeper = four_packs(tmp_path / "l.sqlite", clock)
    rx_2_ended_short(keeper)
    picked_rx_1(keeper)
    assert owed_in_file(keeper) == [(5, 5, "requested"), (7, 0, "requested")]
    restock = sent(keeper)[-1]
    assert (restock["quantity"], restock["reason"]) == (
        7,
        {"on_hand": 1, "on_order": 5, "reorder_point": 1, "par": 8},
    )
    assert keeper.shortages() == []


def test_with_only_owed_packs_on_order_the_product_counts_as_short(
    tmp_path: Path, clock: Clock
) -> None:
    """A pharmacist confirms rx-2's proposal; rx-1 empties the shelf: a proposal to restock
    waits, and until it is confirmed the product is short (the 5 on order are rx-2's)."""
    keeper = four_packs(tmp_path / "l.sqlite", clock, auto_confirm=False)
    rx_2_ended_short(keeper)
    (proposal,) = keeper.orders.open_requests()
    keeper.orders.confirm(proposal.request_id, "Dr. Ruiz")
    picked_rx_1(keeper)
    assert owed_in_file(keeper) == [(5, 5, "requested"), (7, 0, "proposed")]
    assert [p.gtin for p in keeper.shortages()] == [AMOX.gtin]


def test_confirming_fewer_than_owed_goes_through_and_says_what_is_not_covered(
    tmp_path: Path, clock: Clock
) -> None:
    keeper = four_packs(tmp_path / "l.sqlite", clock, auto_confirm=False)
    rx_2_ended_short(keeper)
    (proposal,) = keeper.orders.open_requests()
    rid = proposal.request_id
    outcome = apply(keeper, ConfirmRequest(rid, "Dr. Ruiz", 3))
    assert outcome.notes == [
        f"request {rid} confirmed by Dr. Ruiz (3); 2 packs owed to short pick lists are not covered"
    ]
    assert owed_in_file(keeper) == [(3, 3, "requested")]
    assert [r["quantity"] for r in sent(keeper)] == [3]


def test_a_request_cancelled_after_part_of_it_came_leaves_a_proposal_for_what_it_still_owed(
    tmp_path: Path, clock: Clock
) -> None:
    """rx-2's request for 5: 2 arrive, the wholesaler cancels the rest. The 3 rx-2's patients
    still wait for are proposed to the pharmacist, urgent and owed to them; nothing is sent."""
    keeper = four_packs(tmp_path / "l.sqlite", clock)
    rx_2_ended_short(keeper)
    (request,) = keeper.orders.open_requests()
    rid = request.request_id
    apply(keeper, RequestAnswer(rid, RequestStatus.SHIPPED, "", "w", None))
    put(keeper, "A-01", "NEW", "2028-01-31", 2)
    assert keeper.on_hand(AMOX.gtin) == 6, "above the reorder point: not short"
    apply(keeper, RequestAnswer(rid, RequestStatus.CANCELLED, "3 not delivered", "w", None))
    assert owed_in_file(keeper) == [(5, 5, "cancelled"), (3, 3, "proposed")]
    assert ordered(keeper) == [(3, URGENT, RequestStatus.PROPOSED)]
    assert len(sent(keeper)) == 1, "not asked again by itself"


def test_a_refused_request_adds_what_it_did_not_bring_to_the_waiting_proposal() -> None:
    """Rejected after 1 of its 5 arrived, 4 of them owed: the 4 not booked in are owed by the
    proposal that waits already (urgent now, its 7 packs covering them)."""
    refused = ProcurementRequest(
        "r-1", AT, AMOX, 5, URGENT, 0, 0, "auto", RequestStatus.REJECTED, received=1, owed=4
    )
    waiting = ProcurementRequest(
        "p-1", AT, AMOX, 7, Priority.ROUTINE, 1, 0, "", RequestStatus.PROPOSED
    )
    _, (proposal,) = after_request_ended(AMOX, Standing(1, 0, waiting), refused, AT)
    assert (proposal.request_id, proposal.quantity, proposal.owed, proposal.priority) == (
        "p-1",
        7,
        4,
        URGENT,
    )
    assert proposal.status is RequestStatus.PROPOSED
