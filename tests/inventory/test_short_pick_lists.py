"""Several open pick lists short of one drug: what is missing is what all of them are short
of, so the request made for one list's shortfall does not swallow the next one's, and the
shortage alarm says the total and every list short of it, the latest by `pick_id`."""

from __future__ import annotations

from pathlib import Path

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import Priority, ProcurementRequest
from inventory.replenishment.shortage import Standing, after_short_pick
from tests.inventory.pick_shelves import AMOX, Clock, stocked_keeper

AT = "2026-11-26T09:00:00.000Z"
DRUG = Product("04012345123456", "Amoxicillin 500 mg", reorder_point=1, par=8)


def asked_for(short_by: int) -> ProcurementRequest:
    """The urgent request an earlier short list made."""
    return ProcurementRequest("r-1", AT, DRUG, short_by, Priority.URGENT, 4, 0, "auto")


def test_what_is_on_order_for_one_lists_shortfall_does_not_cover_the_next_ones() -> None:
    """4 packs usable; rx-2 is short by 4 (ordered), then rx-3 by 1: 5 missing, 4 on order."""
    earlier = {"gtin": DRUG.gtin, "short_by": 4, "pick_id": "rx-2", "pick_ids": ["rx-2"]}
    live = Alarm(AlarmKind.SHORTAGE, DRUG.gtin, AlarmState.RAISED, AT, earlier)
    standing = Standing(4, 4, None, live, None, (asked_for(4),))
    alarms, requests = after_short_pick(
        DRUG.gtin, DRUG, standing, {"rx-1": 0, "rx-2": 4, "rx-3": 1}, "rx-3", AT
    )
    [(quantity, priority)] = [(r.quantity, r.priority) for r in requests]
    assert (quantity, priority) == (1, Priority.URGENT)
    [alarm] = alarms
    assert (alarm.state, alarm.raised_at) == (AlarmState.RAISED, AT), "the same alarm, told"
    said = {k: alarm.detail[k] for k in ("short_by", "pick_id", "pick_ids")}
    assert said == {"short_by": 5, "pick_id": "rx-3", "pick_ids": ["rx-2", "rx-3"]}


def test_a_list_no_longer_open_no_longer_counts() -> None:
    """rx-2, short by 4 and ordered, has ended: rx-3's one pack is covered by what is on
    order."""
    standing = Standing(4, 4, None, None, None, (asked_for(4),))
    alarms, requests = after_short_pick(DRUG.gtin, DRUG, standing, {"rx-3": 1}, "rx-3", AT)
    assert requests == []
    [alarm] = alarms
    assert (alarm.detail["short_by"], alarm.detail["pick_ids"]) == (1, ["rx-3"])


def test_lists_started_short_one_after_another_order_every_missing_pack(
    tmp_path: Path, clock: Clock
) -> None:
    """The shelves hold 4 usable packs (A-01 3, A-02 1): rx-1 takes 3, rx-2 asks 5 (1 set
    aside, 4 short), rx-3 asks 1 (short)."""
    keeper: InventoryKeeper = stocked_keeper(tmp_path / "l.sqlite", clock)
    for pick_id, quantity in (("rx-1", 3), ("rx-2", 5), ("rx-3", 1)):
        keeper.picks.start(PickRequest(pick_id, (PickLine(AMOX.gtin, quantity),)))
    ordered = sorted((r.quantity, r.priority) for r in keeper.orders.open_requests())
    assert ordered == [(1, Priority.URGENT), (4, Priority.URGENT)]  # made at the same time
    assert keeper.orders.on_order(AMOX.gtin) == 5
    alarm = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert alarm is not None
    said = {k: alarm.detail[k] for k in ("short_by", "pick_id", "pick_ids")}
    assert said == {"short_by": 5, "pick_id": "rx-3", "pick_ids": ["rx-2", "rx-3"]}

    # rx-2 cancelled (its pack set aside is free again; what was ordered stays) and rx-3 done
    # at once (nothing set aside): rx-4, asking 2, is the one open list short, by 1.
    keeper.picks.cancel("rx-2")
    keeper.picks.start(PickRequest("rx-4", (PickLine(AMOX.gtin, 2),)))
    assert len(keeper.orders.open_requests()) == 2, "the 5 on order cover rx-4's pack"
    alarm = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert alarm is not None and (alarm.detail["short_by"], alarm.detail["pick_ids"]) == (
        1,
        ["rx-4"],
    )
