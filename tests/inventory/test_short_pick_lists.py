"""Pick lists short of one drug: what the lists found short are owed accumulates in the live
shortage alarm until it clears, whether the lists are open or ended (a list done or timed out
still waits for its packs; a cancelled one does not), and what is on order is weighed against
that: a request made for one list's missing packs does not swallow the next one's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar
from tests.inventory.pick_shelves import AMOX, TIMES, Clock, put

# A par level at the shelf's 4 packs: what is ordered is what the lists are short of, no more.
DRUG = replace(AMOX, reorder_point=1, par=4)


def keeper_of(path: Path, clock: Clock, drug: Product = DRUG) -> InventoryKeeper:
    """The keeper of the ledger file at `path` (again, after a restart)."""
    return InventoryKeeper(
        path, {drug.gtin: drug}, "s", "g", SiteCalendar(UTC, clock), pick_times=TIMES
    )


def shelves(path: Path, clock: Clock, drug: Product = DRUG) -> InventoryKeeper:
    """4 usable packs: 1 in A-02 (expiring first), 3 in A-01."""
    keeper = keeper_of(path, clock, drug)
    put(keeper, "A-01", "LATE", "2027-12-31", 3)
    put(keeper, "A-02", "EARLY", "2027-01-31", 1)
    return keeper


def start(keeper: InventoryKeeper, pick_id: str, quantity: int) -> None:
    keeper.picks.start(PickRequest(pick_id, (PickLine(DRUG.gtin, quantity),)))


def asked(keeper: InventoryKeeper) -> list[tuple[int, str, str]]:
    """(quantity, priority, status) of the drug's requests proposed or open, oldest first."""
    return [(r.quantity, r.priority, r.status) for r in keeper.orders.open_requests()]


def owed(keeper: InventoryKeeper) -> dict[str, object]:
    """What the live shortage alarm says the lists found short are owed."""
    alarm = keeper.alarms.get(AlarmKind.SHORTAGE, DRUG.gtin)
    assert alarm is not None, "no live shortage alarm"
    keys = ("short_by", "pick_id", "pick_ids", "short_by_pick")
    return {k: alarm.detail.get(k) for k in keys}


def test_a_list_ended_short_is_still_owed_so_the_next_lists_shortfall_is_ordered(
    tmp_path: Path, clock: Clock
) -> None:
    """rx-1 takes the 4 packs; rx-2 and rx-3 ask 5 each, get nothing and are done at once:
    10 are owed, and 10 asked for."""
    keeper = shelves(tmp_path / "l.sqlite", clock)
    for pick_id, quantity in (("rx-1", 4), ("rx-2", 5), ("rx-3", 5)):
        start(keeper, pick_id, quantity)
    assert set(keeper.picks.lists) == {"rx-1"}
    assert asked(keeper) == [(5, "urgent", "requested")] * 2
    assert owed(keeper) == {
        "short_by": 10,
        "pick_id": "rx-3",
        "pick_ids": ["rx-2", "rx-3"],
        "short_by_pick": {"rx-2": 5, "rx-3": 5},
    }


def test_what_is_owed_is_kept_in_the_ledger_over_a_restart(tmp_path: Path, clock: Clock) -> None:
    keeper = shelves(tmp_path / "l.sqlite", clock)
    start(keeper, "rx-1", 4)
    start(keeper, "rx-2", 5)  # short by 5, done at once: 5 asked for
    keeper.close()
    again = keeper_of(tmp_path / "l.sqlite", clock)
    start(again, "rx-3", 5)
    assert asked(again) == [(5, "urgent", "requested")] * 2
    assert owed(again)["short_by_pick"] == {"rx-2": 5, "rx-3": 5}


def test_a_waiting_proposal_grows_to_what_every_list_found_short_is_owed(
    tmp_path: Path, clock: Clock
) -> None:
    """A pharmacist confirms the drug's requests. rx-1 asks 7 (4 set aside, 3 short) and its
    4 packs are picked, so it is done; then rx-2 asks 4 and rx-3 2, getting nothing: 9 are
    owed, and the one proposal waiting says 9."""
    keeper = shelves(tmp_path / "l.sqlite", clock, replace(DRUG, auto_confirm=False))
    start(keeper, "rx-1", 7)
    keeper.shelf.button("A-02", 1)
    keeper.shelf.button("A-01", 3)
    assert "rx-1" not in keeper.picks.lists, "rx-1 done, its given packs picked"
    start(keeper, "rx-2", 4)
    start(keeper, "rx-3", 2)
    assert asked(keeper) == [(9, "urgent", "proposed")]
    assert owed(keeper) == {
        "short_by": 9,
        "pick_id": "rx-3",
        "pick_ids": ["rx-1", "rx-2", "rx-3"],
        "short_by_pick": {"rx-1": 3, "rx-2": 4, "rx-3": 2},
    }


def test_a_list_found_short_again_is_owed_what_it_lacks_now_once(
    tmp_path: Path, clock: Clock
) -> None:
    """rx-1 asks 6: 4 set aside, 2 short, ordered. The batch in A-02 is recalled and nothing
    is left to set aside instead: rx-1 lacks 3 now, so 3 in all are ordered (not 2, nor 5)."""
    keeper = shelves(tmp_path / "l.sqlite", clock)
    start(keeper, "rx-1", 6)
    keeper.picks.recall(DRUG.gtin, "EARLY", "supplier notice 20")
    assert keeper.orders.on_order(DRUG.gtin) == 3, asked(keeper)
    assert owed(keeper) == {
        "short_by": 3,
        "pick_id": "rx-1",
        "pick_ids": ["rx-1"],
        "short_by_pick": {"rx-1": 3},
    }


@pytest.mark.parametrize(
    ("ending", "ordered", "still_owed"),
    [
        ("cancelled", [3], {"rx-3": 3}),  # nobody waits for rx-2's packs
        ("timed out", [3, 3], {"rx-2": 3, "rx-3": 3}),  # its patient still does
    ],
)
def test_a_list_cancelled_is_owed_nothing_more_one_timed_out_still_waits(
    tmp_path: Path, clock: Clock, ending: str, ordered: list[int], still_owed: dict[str, int]
) -> None:
    """rx-2 asks 7 (4 set aside, 3 short: 3 ordered) and ends; rx-3 then asks 7 and is short
    by 3 too."""
    keeper = shelves(tmp_path / "l.sqlite", clock)
    start(keeper, "rx-2", 7)
    if ending == "cancelled":
        keeper.picks.cancel("rx-2", "Ana")
        told = keeper.alarms.get(AlarmKind.SHORTAGE, DRUG.gtin)
        assert told is not None and "short_by" not in told.detail, "none owed for now"
    else:
        clock.advance(TIMES.timeout_seconds)
        keeper.picks.tick()
    assert "rx-2" not in keeper.picks.lists
    start(keeper, "rx-3", 7)
    assert [q for q, _, _ in asked(keeper)] == ordered
    assert owed(keeper)["short_by_pick"] == still_owed
    assert owed(keeper)["short_by"] == sum(still_owed.values())


def test_what_is_owed_ends_with_the_shortage(tmp_path: Path, clock: Clock) -> None:
    """rx-1 takes the 4 packs, rx-2 is short by 5; the 5 arrive, stock rises above the reorder
    point and the alarm clears: rx-3, short by 2, is the one list owed."""
    keeper = shelves(tmp_path / "l.sqlite", clock)
    start(keeper, "rx-1", 4)
    start(keeper, "rx-2", 5)
    delivery = Movement(
        MovementKind.PUT_AWAY, DRUG.gtin, 5, batch="NEW", expiry="2028-06-30", to_slot="A-03"
    )
    keeper.commit([delivery])
    assert keeper.alarms.get(AlarmKind.SHORTAGE, DRUG.gtin) is None
    assert asked(keeper) == []
    start(keeper, "rx-3", 7)
    assert owed(keeper)["short_by_pick"] == {"rx-3": 2}
    assert asked(keeper) == [(2, "urgent", "requested")]
