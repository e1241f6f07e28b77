"""An owner waiting its turn at a slot another owner's colour shows, at the keeper: a pick list
behind an older one, a put-away behind a pick list, is neither reminded nor timed out for that
wait (its idle clock starts again once one of its slots shows its colour); a delivery keeps a
slot it lit first until its packs there are put, however many of the desk's deliveries lit it
after; and which owner is older is kept in the file, whatever the clock said."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import ConfirmButton, PickTick
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import CueKind, owner_cue
from inventory.putaway.sessions import Notice, NoticeLine
from tests.inventory import test_putaway as putaway
from tests.inventory.pick_shelves import AMOX, TIMES, Clock, open_keeper, results, stocked_keeper
from tests.inventory.test_pick_presses import two_lists_on_a01


def statuses(keeper: InventoryKeeper, pick_id: str) -> list[object]:
    return [r["status"] for r in results(keeper, pick_id)]


def ticks_until(keeper: InventoryKeeper, clock: Clock, seconds: float, start: float) -> None:
    """The pick clock beating every 10 s until `seconds` after `start` (the clock's time)."""
    while (clock.now.timestamp() - start) < seconds:
        clock.advance(10)
        apply(keeper, PickTick())


def test_a_list_waiting_behind_the_older_one_is_neither_reminded_nor_timed_out_meanwhile(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    start = clock.now.timestamp()
    two_lists_on_a01(keeper)  # rx-a (older) shows at A-01; rx-b wants only A-01's last pack
    clock.advance(50)
    apply(keeper, ConfirmButton("A-02", 1, 0))  # rx-a's picker takes A-02's pack, walks away
    ticks_until(keeper, clock, 50 + TIMES.timeout_seconds - 10, start)
    assert statuses(keeper, "rx-b") == ["accepted"], "waiting behind green is not untouched"
    ticks_until(keeper, clock, 50 + TIMES.timeout_seconds, start)
    assert statuses(keeper, "rx-a")[-1] == "timed_out"
    assert statuses(keeper, "rx-b") == ["accepted"], "A-01 shows it now: its clock starts"
    ticks_until(keeper, clock, 50 + TIMES.timeout_seconds + TIMES.remind_after_seconds, start)
    assert statuses(keeper, "rx-b") == ["accepted", "reminder"]


def test_a_put_away_waiting_behind_a_pick_list_neither_blinks_nor_times_out_meanwhile(
    tmp_path: Path,
) -> None:
    clock = putaway.Clock()
    keeper = putaway.open_keeper(tmp_path / "l.sqlite", clock)
    keeper.commit([Movement(MovementKind.PUT_AWAY, AMOX.gtin, 3, batch="B0", to_slot="A-01")])
    desk = keeper.putaways
    desk.scanned(putaway.scan("B0"), "goods-in", "R-01", "Ana")  # lit in A-01, colour 0
    clock.now += timedelta(seconds=30)
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 1),)))  # A-01 shows the pick
    for _ in range(int(TIMES.timeout_seconds / 10)):  # the picker walks away
        clock.now += timedelta(seconds=10)
        apply(keeper, PickTick())
        assert desk.board.reminded == set(), "its slot shows the pick list's colour"
    [session] = desk.sessions.values()
    assert putaway.answers(keeper, "closed") == [] and not keeper.picks.active
    for _ in range(int(TIMES.remind_after_seconds / 10)):
        clock.now += timedelta(seconds=10)
        apply(keeper, PickTick())
    assert desk.board.reminded == {session.delivery_id}, "A-01 is its own again, untouched"
    assert {c.kind for c in desk.cues()} == {CueKind.REMIND}


def test_a_delivery_keeps_the_slot_it_lit_first_until_its_packs_there_are_put(
    tmp_path: Path,
) -> None:
    clock = putaway.Clock()
    keeper = putaway.open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B7"),), scanner="goods-in"))
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 1, "B8"),), scanner="goods-in"))
    for batch in ("B7", "B8", "B7"):
        desk.scanned(putaway.scan(batch), "goods-in", "R-01", "Ana")
        clock.now += timedelta(seconds=5)
    lit = [(a["command_id"], a["slot"]) for a in putaway.answers(keeper, "lit")]
    assert lit == [("D-1", "A-01"), ("D-2", "A-01"), ("D-1", "A-01")]
    d1, d2 = desk.sessions["D-1"], desk.sessions["D-2"]

    def shown() -> int | None:
        owner = owner_cue(c for c in desk.cues() if c.slot == "A-01")
        return None if owner is None else owner.picker_no

    assert shown() == d1.number
    desk.button("A-01", 1, shown=d1.number)
    assert shown() == d1.number, "D-1 still has a pack waiting there"
    desk.button("A-01", 1, shown=d1.number)
    assert (d1.put, d2.put, shown()) == (2, 0, d2.number)


def shows(keeper: InventoryKeeper, slot: str) -> int | None:
    """The colour number of the owner `slot` shows."""
    owner = owner_cue(c for c in keeper.picks.cues() + keeper.putaways.cues() if c.slot == slot)
    return None if owner is None else owner.picker_no


def test_a_list_begun_after_a_restart_with_the_clock_behind_waits_behind_one_carried_over(
    tmp_path: Path,
) -> None:
    """A box without a battery-backed clock, started before NTP set its time: the list begun
    then is still the younger."""
    clock = Clock()
    keeper = stocked_keeper(tmp_path / "l.sqlite", clock)
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 2),)))  # A-02's and one of A-01's
    keeper.close()
    clock.advance(-3600)
    again = open_keeper(tmp_path / "l.sqlite", clock)
    again.picks.start(PickRequest("rx-c", (PickLine(AMOX.gtin, 1),)))  # one of A-01's
    assert shows(again, "A-01") == again.picks.lists["rx-a"].picker_no
    assert [p.pick_id for p in again.picks.by_age()] == ["rx-a", "rx-c"]


def test_a_delivery_lit_after_a_restart_with_the_clock_behind_waits_behind_one_carried_over(
    tmp_path: Path,
) -> None:
    clock = putaway.Clock()
    keeper = putaway.open_keeper(tmp_path / "l.sqlite", clock)
    keeper.putaways.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 1, "B7"),), scanner="goods-in"))
    keeper.putaways.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 1, "B8"),), scanner="goods-in"))
    keeper.putaways.scanned(putaway.scan("B7"), "goods-in", "R-01", "Ana")
    keeper.close()
    clock.now -= timedelta(hours=1)
    again = putaway.open_keeper(tmp_path / "l.sqlite", clock)
    again.putaways.scanned(putaway.scan("B8"), "goods-in", "R-01", "Ana")
    lit = [(a["command_id"], a["slot"]) for a in putaway.answers(again, "lit")]
    assert lit == [("D-1", "A-01"), ("D-2", "A-01")]
    assert shows(again, "A-01") == again.putaways.sessions["D-1"].number
