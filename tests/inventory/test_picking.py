"""The pick desk on a real ledger file: FEFO allocation, confirmations, mistakes caught with the
ledger untouched, reminders, timeouts, cancel, restart, and the reports on `cmd-result`."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.lights.light_plan import plan_lights
from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import AckAlarm, Book, ExpirySweep, Moved, ScannedAtPick
from inventory.codes.barcodes import PackScan
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import CueKind
from tests.inventory.pick_shelves import (
    AMOX,
    IBU,
    TIMES,
    Clock,
    assert_every_lit_slot_holds_its_packs,
    movements,
    open_keeper,
    put,
    results,
    tagged,
)


def test_fefo_allocation_skips_expired_quarantined_and_recalled_and_reports_short(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 5),), picker="Ana"))
    accepted = results(keeper, "rx-1")[0]
    assert accepted["status"] == "accepted"
    line = accepted["lines"][0]  # type: ignore[index]
    assert [(s["slot"], s["batch"], s["quantity"]) for s in line["slots"]] == [
        ("A-02", "EARLY", 1),
        ("A-01", "LATE", 3),
    ]
    assert line["short"] == 1
    live = {a.kind: a for a in keeper.alarms.live()}
    assert live[AlarmKind.SHORTAGE].detail["short_by"] == 1
    cues = {(c.slot, c.kind, c.number) for c in keeper.picks.cues()}
    assert cues == {("A-02", CueKind.PICK, 1), ("A-01", CueKind.PICK, 3)}


def test_buttons_book_picks_against_the_list_until_done(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-2", (PickLine(AMOX.gtin, 2),)))
    keeper.shelf.button("A-02", 1)
    keeper.shelf.button("A-01", 1)
    assert movements(keeper) == [
        ("pick", "A-02", "EARLY", 1, "rx-2"),
        ("pick", "A-01", "LATE", 1, "rx-2"),
    ]
    statuses = [r["status"] for r in results(keeper, "rx-2")]
    assert statuses == ["accepted", "progress", "progress", "done"]
    assert not keeper.picks.active and keeper.picks.cues() == []
    assert keeper.shelf.button("A-01", 1).notes == ["button at A-01: nothing to pick there"]


def test_two_lists_never_share_a_pack_and_a_fifth_list_waits(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 3),)))
    keeper.picks.start(PickRequest("rx-b", (PickLine(AMOX.gtin, 3),)))
    first = results(keeper, "rx-a")[0]["lines"][0]  # type: ignore[index]
    second = results(keeper, "rx-b")[0]["lines"][0]  # type: ignore[index]
    assert first["allocated"] == 3 and second["allocated"] == 1 and second["short"] == 2
    assert [s["slot"] for s in second["slots"]] == ["A-01"]
    keeper.picks.start(PickRequest("rx-c", (PickLine(IBU, 1),)))
    keeper.picks.start(PickRequest("rx-d", (PickLine(IBU, 1),)))
    keeper.picks.start(PickRequest("rx-e", (PickLine(IBU, 1),)))
    refused = results(keeper, "rx-e")[0]
    assert refused["status"] == "error" and "4 pick lists are open" in str(refused["error"])
    assert {p.picker_no for p in keeper.picks.lists.values()} == {0, 1, 2, 3}


@pytest.mark.parametrize(
    ("gtin", "batch", "reason"),
    [
        (IBU, "I1", "not on the pick list"),
        (AMOX.gtin, "OLD", "expired"),
        (AMOX.gtin, "HELD", "quarantined"),
        (AMOX.gtin, "BAD", "recalled"),
    ],
)
def test_wrong_scans_are_caught_and_nothing_is_booked(
    keeper: InventoryKeeper, gtin: str, batch: str, reason: str
) -> None:
    keeper.picks.start(PickRequest("rx-3", (PickLine(AMOX.gtin, 1),)))
    before = keeper.ledger.count
    out = keeper.shelf.scanned(PackScan(gtin, None, batch, ""), "desk")
    assert [m.reason for m in out.mistakes] == [reason]
    assert keeper.ledger.count == before
    mistake = results(keeper, "rx-3")[-1]
    assert mistake["status"] == "mistake" and mistake["reason"] == reason
    assert "GTIN" in str(mistake["expected"]) and f"batch {batch}" in str(mistake["seen"])
    slot = out.mistakes[0].slot
    assert slot is not None and (slot, CueKind.MISTAKE) in {
        (c.slot, c.kind) for c in keeper.picks.cues()
    }


def test_a_named_batch_refuses_another_batch(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-4", (PickLine(AMOX.gtin, 1, batch="LATE"),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, None, "EARLY", ""), "desk")
    assert [m.reason for m in out.mistakes] == ["wrong batch"]
    assert movements(keeper) == []
    keeper.shelf.scanned(PackScan(AMOX.gtin, None, "LATE", ""), "desk")
    assert movements(keeper) == [("pick", "A-01", "LATE", 1, "rx-4")]
    assert all(c.kind is not CueKind.MISTAKE or c.slot != "A-01" for c in keeper.picks.cues())


def test_a_tagged_pack_taken_wrongly_is_held_until_it_comes_back(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    keeper.put_away(tagged(7, IBU), "B-02")
    keeper.picks.start(PickRequest("rx-5", (PickLine(AMOX.gtin, 1),)))
    before = keeper.ledger.count
    out = keeper.shelf.removed(tagged(7, IBU).epc, "B-02")
    assert [m.slot for m in out.mistakes] == ["B-02"] and keeper.ledger.count == before
    assert keeper.shelf.holds(tagged(7, IBU).epc)
    keeper.shelf.returned(tagged(7, IBU).epc)
    assert not keeper.shelf.holds(tagged(7, IBU).epc)
    # Taken wrongly again and never put back: booked out, with an unexpected-removal alarm.
    keeper.shelf.removed(tagged(7, IBU).epc, "B-02")
    clock.advance(TIMES.mistake_seconds + 1)
    keeper.picks.tick()
    assert keeper.line_of_epc(tagged(7, IBU).epc) is None
    assert AlarmKind.UNEXPECTED_REMOVAL in {a.kind for a in keeper.alarms.live()}


def test_an_unexpected_removal_ends_when_acknowledged_and_its_slot_goes_dark(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    """The pack was handed out or destroyed: it never comes back to a shelf. Someone who saw
    where it went acknowledges the alarm, and that ends it."""
    pack = tagged(8, IBU)
    keeper.put_away(pack, "B-02")
    keeper.picks.start(PickRequest("rx-11", (PickLine(AMOX.gtin, 1),)))
    keeper.shelf.removed(pack.epc, "B-02")
    clock.advance(TIMES.mistake_seconds + 1)
    keeper.picks.tick()
    alarm = keeper.alarms.get(AlarmKind.UNEXPECTED_REMOVAL, pack.epc)
    assert alarm is not None and "B-02" in plan_lights(keeper.alarms.live(), keeper.index)

    out = apply(keeper, AckAlarm(alarm.id, "Ana Ruiz"))

    assert keeper.alarms.get(AlarmKind.UNEXPECTED_REMOVAL, pack.epc) is None
    assert "B-02" not in plan_lights(keeper.alarms.live(), keeper.index)
    assert out.lights_changed and out.notes == [f"alarm {alarm.id} acknowledged by Ana Ruiz"]
    [state] = keeper.db.execute("SELECT state FROM alarms WHERE id = ?", (alarm.id,)).fetchone()
    assert state == "cleared"


def test_reminder_then_timeout_releases_the_slots(keeper: InventoryKeeper, clock: Clock) -> None:
    keeper.picks.start(PickRequest("rx-6", (PickLine(AMOX.gtin, 1),)))
    clock.advance(TIMES.remind_after_seconds + 1)
    keeper.picks.tick()
    assert {c.kind for c in keeper.picks.cues()} == {CueKind.REMIND}
    clock.advance(TIMES.timeout_seconds)
    keeper.picks.tick()
    assert keeper.picks.cues() == [] and not keeper.picks.active
    assert [r["status"] for r in results(keeper, "rx-6")] == ["accepted", "reminder", "timed_out"]


def test_cancel_and_duplicates(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-7", (PickLine(AMOX.gtin, 2),)))
    keeper.shelf.button("A-02", 1)
    keeper.picks.cancel("rx-7", "Ana")
    keeper.picks.start(PickRequest("rx-7", (PickLine(AMOX.gtin, 2),)))
    keeper.picks.cancel("rx-7")
    statuses = [r["status"] for r in results(keeper, "rx-7")]
    assert statuses == ["accepted", "progress", "cancelled", "duplicate", "error"]
    assert movements(keeper) == [("pick", "A-02", "EARLY", 1, "rx-7")]


def test_open_lists_survive_a_restart(
    tmp_path: Path, keeper: InventoryKeeper, clock: Clock
) -> None:
    keeper.picks.start(PickRequest("rx-8", (PickLine(AMOX.gtin, 2),)))
    keeper.shelf.button("A-02", 1)
    keeper.close()
    again = open_keeper(tmp_path / "l.sqlite", clock)
    assert {(c.slot, c.number) for c in again.picks.cues()} == {("A-01", 1)}
    assert (AMOX.gtin, "BAD") in again.picks.recalled
    again.shelf.button("A-01", 1)
    assert [r["status"] for r in results(again, "rx-8")][-1] == "done"


def test_a_line_naming_a_batch_is_allocated_before_a_line_taking_any(
    keeper: InventoryKeeper,
) -> None:
    """EARLY is first to expire and has one pack: the line that names it gets it, and the line
    taking any batch gets LATE; neither is short, and no shortage is raised."""
    any_batch, early = PickLine(AMOX.gtin, 1), PickLine(AMOX.gtin, 1, batch="EARLY")
    keeper.picks.start(PickRequest("rx-26", (any_batch, early)))
    lines = keeper.picks.lists["rx-26"].lines
    assert [[(a.slot, a.batch) for a in line.allocations] for line in lines] == [
        [("A-01", "LATE")],
        [("A-02", "EARLY")],
    ]
    assert keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin) is None


def test_locate_lights_every_slot_holding_the_drug_for_its_time(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    out = keeper.picks.locate(IBU, 30, "where-1")
    assert out.notes == ["GTIN 04012345000016 is in B-01 (4)"]
    assert {(c.slot, c.kind, c.number) for c in keeper.picks.cues()} == {
        ("B-01", CueKind.LOCATE, 4)
    }
    clock.advance(31)
    keeper.picks.tick()
    assert keeper.picks.cues() == []


def test_serialized_scan_books_that_exact_pack(keeper: InventoryKeeper) -> None:
    for serial in (1, 2):
        keeper.put_away(tagged(serial), "A-06")
    keeper.picks.start(PickRequest("rx-9", (PickLine(AMOX.gtin, 6),)))
    keeper.shelf.scanned(PackScan(AMOX.gtin, None, "", "2"), "desk")
    assert keeper.line_of_epc(tagged(2).epc) is None and keeper.line_of_epc(tagged(1).epc)
    # the same pack scanned twice
    again = keeper.shelf.scanned(PackScan(AMOX.gtin, None, "", "2"), "desk")
    assert again.mistakes == [] and len(movements(keeper)) == 1


def test_a_press_counts_for_the_list_the_slot_was_showing(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 3),)))
    keeper.picks.start(PickRequest("rx-b", (PickLine(AMOX.gtin, 1),)))  # A-01's last pack
    keeper.shelf.button("A-01", 1, shown=1)
    keeper.shelf.button("A-01", 1, shown=None)
    assert [m[4] for m in movements(keeper)] == ["rx-b", "rx-a"]


def test_a_press_on_a_pack_that_expired_since_it_was_allocated_books_nothing(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    put(keeper, "A-06", "LAST", "2026-11-26", 1, gtin=IBU)  # good until the end of today
    keeper.picks.start(PickRequest("rx-20", (PickLine(IBU, 1),)))
    clock.advance(16 * 3600)  # past midnight: the pack has expired on the shelf
    out = keeper.shelf.button("A-06", 1)
    assert [m.reason for m in out.mistakes] == ["expired"] and movements(keeper) == []
    assert results(keeper, "rx-20")[-1]["status"] == "mistake"


def test_a_tag_booked_without_its_batch_is_picked_by_scanning_its_code(
    keeper: InventoryKeeper,
) -> None:
    keeper.put_away(tagged(5), "A-07")  # from a fixed reader: the ledger has no batch for it
    keeper.picks.start(PickRequest("rx-21", (PickLine(AMOX.gtin, 4),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, None, "B1", "5"), "desk")
    assert out.mistakes == [] and keeper.line_of_epc(tagged(5).epc) is None


def test_a_list_with_nothing_to_allocate_is_done_at_once(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-22", (PickLine("04012345999998", 2),)))
    assert [r["status"] for r in results(keeper, "rx-22")] == ["accepted", "done"]
    assert "rx-22" not in keeper.picks.lists and keeper.picks.cues() == []


def test_a_batch_recalled_while_a_list_is_open_is_no_longer_lit_for_it(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-23", (PickLine(AMOX.gtin, 2),)))
    assert {c.slot for c in keeper.picks.cues() if c.kind is CueKind.PICK} == {"A-02", "A-01"}
    keeper.picks.recall(AMOX.gtin, "EARLY", "supplier notice 18")
    lit = {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.PICK}
    assert lit == {"A-01": 2}, "the held batch's slot goes dark; LATE makes up the line"
    keeper.shelf.button("A-01", 2)
    assert movements(keeper) == [("pick", "A-01", "LATE", 1, "rx-23")] * 2
    assert results(keeper, "rx-23")[-1]["status"] == "done"


def test_a_batch_held_back_with_nothing_left_to_allocate_is_reported_short(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-25", (PickLine(AMOX.gtin, 3, batch="LATE"),)))
    assert keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin) is None
    keeper.picks.recall(AMOX.gtin, "LATE", "supplier notice 19")
    assert [c for c in keeper.picks.cues() if c.kind is CueKind.PICK] == []
    shortage = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)
    assert shortage is not None and shortage.detail["pick_id"] == "rx-25"
    assert shortage.detail["short_by"] == 3


def test_a_batch_the_nightly_sweep_holds_back_is_allocated_again(
    keeper: InventoryKeeper, clock: Clock
) -> None:
    put(keeper, "A-06", "LAST", "2026-11-26", 1, gtin=IBU)
    keeper.picks.start(PickRequest("rx-24", (PickLine(IBU, 2),)))  # LAST, then I1 in B-01
    clock.advance(17 * 3600)  # 02:00 the next day: the sweep quarantines LAST
    apply(keeper, ExpirySweep(30))
    lit = {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.PICK}
    assert lit == {"B-01": 2}


def test_a_scan_restricted_to_one_list_takes_its_own_slot_and_leaves_the_others_lit_right(
    keeper: InventoryKeeper,
) -> None:
    put(keeper, "A-06", "EARLY", "2027-01-31", 1)  # EARLY now in
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 1),), scanner="s1"))
    keeper.picks.start(PickRequest("rx-b", (PickLine(AMOX.gtin, 1),), scanner="s2"))
    lit = {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.PICK}
    assert set(lit) == {"A-02", "A-06"}
    own = next(c.slot for c in keeper.picks.cues() if c.picker_no == 1)
    apply(keeper, ScannedAtPick(PackScan(AMOX.gtin, None, "EARLY", ""), "s2"))
    assert movements(keeper) == [("pick", own, "EARLY", 1, "rx-b")]
    assert_every_lit_slot_holds_its_packs(keeper)
    other = next(c.slot for c in keeper.picks.cues() if c.kind is CueKind.PICK)
    keeper.shelf.button(other, 1)
    assert results(keeper, "rx-a")[-1]["status"] == "done"


def test_a_tagged_pack_another_list_held_is_replaced_for_it_from_what_is_free(
    keeper: InventoryKeeper,
) -> None:
    keeper.put_away(tagged(1), "A-06")
    keeper.put_away(tagged(2), "A-07")
    # FEFO: A-02 EARLY, A-01 LATE x3, then the tags (no expiry) in slot order
    keeper.picks.start(PickRequest("rx-a", (PickLine(AMOX.gtin, 5),), scanner="s1"))
    keeper.picks.start(PickRequest("rx-b", (PickLine(AMOX.gtin, 1),), scanner="s2"))
    assert {c.slot for c in keeper.picks.cues() if c.picker_no == 1} == {"A-07"}
    # picker 2 takes the tag in A-06, which rx-a held: a right pack for rx-b all the same
    out = apply(keeper, ScannedAtPick(PackScan(AMOX.gtin, None, "", "1"), "s2"))
    assert out.mistakes == [] and results(keeper, "rx-b")[-1]["status"] == "done"
    lit = {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.PICK}
    assert lit == {"A-02": 1, "A-01": 3, "A-07": 1}, "rx-a now takes the tag rx-b left in A-07"
    assert_every_lit_slot_holds_its_packs(keeper)
    keeper.shelf.scanned(PackScan(AMOX.gtin, None, "", "2"), "s1")
    assert keeper.line_of_epc(tagged(2).epc) is None
    assert results(keeper, "rx-a")[-1]["status"] == "progress"


def test_packs_moved_or_counted_out_of_a_held_slot_are_made_good_for_the_list(
    keeper: InventoryKeeper,
) -> None:
    keeper.put_away(tagged(1), "A-06")
    keeper.put_away(tagged(2), "A-07")
    keeper.picks.start(PickRequest("rx-31", (PickLine(AMOX.gtin, 5),)))  # EARLY, LATE x3, tag 1
    apply(keeper, Moved(tagged(1).epc, "A-06", "A-08"))  # a reader sees it in another slot
    lit = {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.PICK}
    assert lit == {"A-02": 1, "A-01": 3, "A-07": 1}, "tag 2 is the first free tag now"
    count = Movement(
        MovementKind.COUNT_ADJUSTMENT,
        AMOX.gtin,
        2,
        batch="LATE",
        expiry="2027-12-31",
        from_slot="A-01",
    )
    apply(keeper, Book((count,)))  # a count found two LATE packs fewer in A-01
    lit = {c.slot: c.number for c in keeper.picks.cues() if c.kind is CueKind.PICK}
    assert lit == {"A-02": 1, "A-01": 1, "A-07": 1, "A-08": 1}
    assert_every_lit_slot_holds_its_packs(keeper)
    shortage = keeper.alarms.get(AlarmKind.SHORTAGE, AMOX.gtin)  # one pack fewer than asked
    assert shortage is not None and shortage.detail["pick_id"] == "rx-31"


def test_a_pick_the_ledger_refuses_leaves_the_list_as_it_was(keeper: InventoryKeeper) -> None:
    keeper.picks.start(PickRequest("rx-30", (PickLine(AMOX.gtin, 1),)))
    on_hand = keeper.on_hand(AMOX.gtin)
    keeper.db.execute(
        "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.movements"
        " BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    )
    with pytest.raises(Exception, match="the disk is full"):
        keeper.shelf.button("A-02", 1)
    pick = keeper.picks.lists["rx-30"]
    assert pick.lines[0].picked == 0 and not pick.finished
    assert movements(keeper) == [] and keeper.on_hand(AMOX.gtin) == on_hand
    keeper.db.execute("DROP TRIGGER refuse")
    keeper.shelf.button("A-02", 1)
    assert movements(keeper) == [("pick", "A-02", "EARLY", 1, "rx-30")]
    assert [r["status"] for r in results(keeper, "rx-30")] == ["accepted", "progress", "done"]
