"""The put-away desk on a real ledger file: where a delivered pack goes (same batch, home slot
with room, a free slot on the shelf), what is refused and never booked, puts booked only when
confirmed and counted toward the request the delivery fulfils, a notice's missing and excess
lines, and sessions carried across a restart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import PickTick
from inventory.codes.barcodes import PackScan
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.colours import COLOUR_REST_SECONDS
from inventory.picking.lists import PickLine, PickRequest
from inventory.picking.outcome import Cue, CueKind
from inventory.picking.results import PickTimes
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar
from inventory.stock.presence import Arrived, Moved

AMOX = Product(
    "04012345123456",
    "Amoxicillin 500 mg",
    reorder_point=2,
    par=8,
    home_slots=("A-01", "A-02"),
    min_shelf_life_days=90,
    slot_capacity=4,
)
IBU = Product("04012345000016", "Ibuprofen 400 mg", 1, 6, home_slots=("A-05",))
SLOTS = [f"A-{n:02d}" for n in range(1, 9)]
TODAY = date(2026, 11, 26)
TIMES = PickTimes(remind_after_seconds=60, timeout_seconds=300, mistake_seconds=20)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def scan(batch: str = "B1", days: int = 400, serial: str = "", gtin: str = AMOX.gtin) -> PackScan:
    return PackScan(gtin, TODAY + timedelta(days=days), batch, serial)


def open_keeper(
    path: Path, clock: Clock, products: Sequence[Product] = (AMOX, IBU)
) -> InventoryKeeper:
    calendar = SiteCalendar(UTC, clock)
    by_gtin = {p.gtin: p for p in products}
    return InventoryKeeper(path, by_gtin, "s", "g", calendar, pick_times=TIMES, shelf_slots=SLOTS)


@pytest.fixture
def keeper(tmp_path: Path) -> InventoryKeeper:
    k = open_keeper(tmp_path / "l.sqlite", Clock())
    k.commit([Movement(MovementKind.PUT_AWAY, AMOX.gtin, 3, batch="B0", to_slot="A-01")])
    return k


def answers(keeper: InventoryKeeper, status: str) -> list[dict[str, object]]:
    rows = keeper.pending_messages(10_000)
    bodies = [json.loads(r.payload) for r in rows if r.kind == "command_result"]
    return [b for b in bodies if b["status"] == status]


def receipts(keeper: InventoryKeeper) -> list[tuple[str, str, str, str]]:
    rows = keeper.db.execute(
        "SELECT to_slot, batch, serial, reference FROM movements WHERE kind = 'receive'"
    )
    return [tuple(r) for r in rows]


def test_a_pack_goes_to_its_batch_then_a_home_slot_with_room_then_a_free_slot(
    keeper: InventoryKeeper,
) -> None:
    desk = keeper.putaways
    desk.scanned(scan("B0"), "goods-in", "R-01", "Ana")  # A-01 holds B0 (3 of 4)
    assert answers(keeper, "lit")[-1]["slot"] == "A-01"
    desk.scanned(scan("B9"), "goods-in", "R-01", "Ana")  # A-01 is full now: next home slot
    assert answers(keeper, "lit")[-1]["slot"] == "A-02"
    for _ in range(4):
        desk.scanned(scan("B9"), "goods-in", "R-01", "Ana")
    lit = [a["slot"] for a in answers(keeper, "lit")]
    # A-02 full at 4; A-05 is ibuprofen's home: the first free slot on shelf A is A-03.
    assert lit[-4:] == ["A-02", "A-02", "A-02", "A-03"]
    assert receipts(keeper) == [], "nothing is booked before it is put"
    cues = desk.cues()
    assert Cue("A-02", CueKind.PUT, 0, 4) in cues and Cue("A-01", CueKind.PUT, 0, 1) in cues


def test_a_button_press_books_one_pack_into_its_slot_and_a_tag_books_its_own(
    keeper: InventoryKeeper,
) -> None:
    desk = keeper.putaways
    desk.scanned(scan("B0"), "goods-in", "R-01", "Ana")
    desk.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")  # A-01 is full: A-02
    desk.button("A-01", 1, shown=0)
    assert receipts(keeper)[0][:3] == ("A-01", "B0", "")
    epc = "urn:epc:id:sgtin:4012345.012345.77"
    assert desk.tag_arrived(PackId(epc, AMOX.gtin, "77"), "A-02") is not None
    assert receipts(keeper)[1][:3] == ("A-02", "B0", "77")
    assert keeper.index.slot_of(epc) == "A-02"
    assert [a["confirmed_by"] for a in answers(keeper, "put")] == ["button", "tag"]
    assert desk.cues() == []


def test_a_press_or_a_tag_where_nothing_was_lit_books_nothing_and_shows_red(
    keeper: InventoryKeeper,
) -> None:
    desk = keeper.putaways
    desk.scanned(scan("B0", serial="5"), "goods-in", "R-01", "Ana")
    desk.button("A-07", 1, shown=None)
    epc = "urn:epc:id:sgtin:4012345.012345.5"
    desk.tag_arrived(PackId(epc, AMOX.gtin, "5"), "A-06")
    assert receipts(keeper) == []
    assert {c.slot for c in desk.cues() if c.kind is CueKind.MISTAKE} == {"A-06", "A-07"}
    assert [a["slot"] for a in answers(keeper, "wrong_slot")] == ["A-07", "A-06"]
    apply(keeper, Moved(epc, "A-06", "A-01"))  # then put where it was lit
    assert receipts(keeper)[0][:3] == ("A-01", "B0", "5")


def test_a_tag_the_shelves_already_hold_puts_nothing_away(keeper: InventoryKeeper) -> None:
    tagged = PackId("urn:epc:id:sgtin:4012345.012345.9", AMOX.gtin, "9")
    keeper.put_away(tagged, "A-06")
    desk = keeper.putaways
    desk.scanned(scan("B0"), "goods-in", "R-01", "Ana")  # a counted pack lit in A-01
    [session] = desk.sessions.values()
    apply(keeper, Arrived(tagged, "A-01"))  # a pack of the shelves put down there: moved
    moved = keeper.line_of_epc(tagged.epc)
    assert moved is not None and moved.slot == "A-01"
    keeper.move(tagged.epc, "A-06")  # (back where it was, for what follows)
    # Nor is it taken for the delivery's counted pack (its serial is the shelves' pack's).
    assert desk.tag_arrived(tagged, "A-01") is None
    assert (session.put, len(session.waiting), session.waiting[0].serial) == (0, 1, "")
    desk.button("A-01", 1, shown=session.number)
    assert receipts(keeper) == [("A-01", "B0", "", session.reference)]
    assert [a["put"] for a in answers(keeper, "put")] == [1]


def test_a_pack_put_by_a_press_is_not_booked_again_when_its_tag_is_seen(
    keeper: InventoryKeeper,
) -> None:
    desk = keeper.putaways
    desk.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")  # with its batch, in A-01
    desk.button("A-01", 1, shown=0)
    tag = PackId("urn:epc:id:sgtin:4012345.012345.77", AMOX.gtin, "77")
    apply(keeper, Arrived(tag, "A-01"))  # then a fixed reader sees the pack's tag
    assert keeper.on_hand(AMOX.gtin) == 4, "one pack, booked once"
    line = keeper.line_of_epc(tag.epc)
    assert line is not None and (line.slot, line.batch, line.serial) == ("A-01", "B0", "77")
    assert len(keeper.index.lines_of(AMOX.gtin)) == 2, "the tag joined the pack's own line"


@pytest.mark.parametrize(
    ("pack", "reason", "alarm"),
    [
        (scan(days=-1), "expired", AlarmKind.REFUSED_PACK),
        (scan(days=30), "short shelf life", AlarmKind.REFUSED_PACK),
        (scan(gtin="05012345678900"), "unknown product", None),
        (scan(serial="S1"), "duplicate serial", AlarmKind.DUPLICATE_PACK),
    ],
)
def test_a_pack_that_must_not_reach_a_shelf_is_refused_with_red_at_the_station(
    keeper: InventoryKeeper, pack: PackScan, reason: str, alarm: AlarmKind | None
) -> None:
    keeper.commit([Movement(MovementKind.PUT_AWAY, AMOX.gtin, 1, "S1", batch="B0", to_slot="A-01")])
    before = keeper.db.execute("SELECT count(*) FROM movements").fetchone()[0]
    keeper.putaways.scanned(pack, "goods-in", "R-01", "Ana")
    [refused] = answers(keeper, "refused")
    assert refused["reason"] == reason and refused["slot"] == "R-01"
    assert refused["gtin"] == pack.gtin
    assert keeper.db.execute("SELECT count(*) FROM movements").fetchone()[0] == before
    assert Cue("R-01", CueKind.MISTAKE) in keeper.putaways.cues()
    kinds = {a.kind for a in keeper.alarms.live()}
    assert (alarm in kinds) if alarm else not kinds & {AlarmKind.REFUSED_PACK}


def test_a_notice_for_a_scanner_gets_its_packs_while_another_session_is_open_there(
    keeper: InventoryKeeper,
) -> None:
    desk = keeper.putaways
    desk.scanned(scan("I1", gtin=IBU.gtin), "goods-in", "R-01", "Ana")  # a session of its own
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2, "B1"),), scanner="goods-in"))
    desk.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    number = desk.sessions["D-2"].number
    [lit] = [c.slot for c in desk.cues() if c.kind is CueKind.PUT and c.picker_no == number]
    desk.button(lit, 1, shown=number)
    assert [r[3] for r in receipts(keeper)] == [desk.sessions["D-2"].reference]
    assert desk.sessions["D-2"].put == 1


def test_a_recalled_batch_is_refused(keeper: InventoryKeeper) -> None:
    keeper.picks.recall(AMOX.gtin, "BAD", "supplier notice")
    keeper.putaways.scanned(scan("BAD"), "goods-in", "R-01", "Ana")
    assert answers(keeper, "refused")[0]["reason"] == "recalled"


def test_a_notice_counts_toward_its_request_and_reports_missing_and_excess(
    keeper: InventoryKeeper,
) -> None:
    for _ in range(3):  # stock falls to the reorder point: two requests, the second later
        keeper.commit([Movement(MovementKind.PICK, AMOX.gtin, 1, batch="B0", from_slot="A-01")])
    first = keeper.orders.open_requests()[0]
    notice = Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B1"), NoticeLine(IBU.gtin, 1)), "R-X")
    keeper.putaways.notice(notice)
    assert answers(keeper, "expected")[0]["lines"][0]["quantity"] == 2
    for _ in range(3):
        keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-01", 3, shown=0)
    assert {r[3] for r in receipts(keeper)} == {"R-X"}
    assert keeper.orders.open_requests()[0].received == 3, first
    keeper.putaways.end("D-1", "Ana")
    [closed] = answers(keeper, "closed")
    amox, ibu = closed["lines"]  # type: ignore[misc]
    assert (amox["received"], amox["excess"], ibu["missing"]) == (3, 1, 1)
    assert closed["how"] == "ended" and keeper.putaways.sessions == {}


def test_a_complete_delivery_closes_by_itself_and_its_alarms_end(keeper: InventoryKeeper) -> None:
    """Once its clerk had the time to scan a pack more of it (`remind_after_seconds`)."""
    keeper.putaways.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 1),)))
    keeper.putaways.scanned(scan(days=-3), "goods-in", "R-01", "Ana")
    assert any(a.kind is AlarmKind.REFUSED_PACK for a in keeper.alarms.live())
    keeper.putaways.scanned(scan("B0"), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-01", 1, shown=None)
    clock = keeper.calendar.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds - 1)
    apply(keeper, PickTick())
    assert answers(keeper, "closed") == []
    clock.now += timedelta(seconds=1)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert closed["how"] == "done" and closed["refused"] == 1
    assert not any(a.kind is AlarmKind.REFUSED_PACK for a in keeper.alarms.live())


def test_a_second_scanner_takes_the_next_colour_and_a_pick_list_the_one_after(
    keeper: InventoryKeeper,
) -> None:
    keeper.putaways.scanned(scan("B0"), "goods-in", "R-01", "Ana")
    keeper.putaways.scanned(scan("B0"), "desk-2", "R-02", "Ben")
    assert [a["number"] for a in answers(keeper, "lit")] == [0, 1]
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 1, ""),)))
    assert answers(keeper, "accepted")[0]["picker_no"] == 2


def test_a_restart_keeps_the_waiting_packs_and_books_nothing_twice(tmp_path: Path) -> None:
    path, clock = tmp_path / "l.sqlite", Clock()
    keeper = open_keeper(path, clock)
    keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-01", 1, shown=0)
    keeper.close()
    again = open_keeper(path, clock)
    assert again.putaways.cues() == [Cue("A-01", CueKind.PUT, 0, 1)]
    again.putaways.button("A-01", 3, shown=0)
    assert len(receipts(again)) == 2
    assert again.on_hand(AMOX.gtin) == 2


def test_a_press_on_a_slot_lit_for_a_pick_and_a_put_counts_for_the_colour_it_showed(
    keeper: InventoryKeeper,
) -> None:
    keeper.putaways.scanned(scan("B0"), "goods-in", "R-01", "Ana")  # put-away colour 0
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 1, ""),)))  # picker 1, A-01
    assert {c.kind for c in keeper.putaways.cues() + keeper.picks.cues()} == {
        CueKind.PUT,
        CueKind.PICK,
    }
    keeper.putaways.button("A-01", 1, shown=1)  # the slot showed the pick list's colour
    picked = keeper.db.execute("SELECT count(*) FROM movements WHERE kind = 'pick'")
    assert picked.fetchone()[0] == 1 and receipts(keeper) == []
    keeper.putaways.button("A-01", 1, shown=0)  # then the put-away's
    assert receipts(keeper)[0][:2] == ("A-01", "B0")


def test_a_session_of_its_own_is_named_by_the_sites_local_time(tmp_path: Path) -> None:
    clock = Clock()  # 09:00 UTC: 10:00 in Berlin
    calendar = SiteCalendar(ZoneInfo("Europe/Berlin"), clock)
    keeper = InventoryKeeper(
        tmp_path / "l.sqlite", {AMOX.gtin: AMOX}, "s", "g", calendar, shelf_slots=SLOTS
    )
    keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    assert list(keeper.putaways.sessions) == ["goods-in-20261126T100000"]


def test_a_pack_that_expires_at_midnight_while_it_waits_is_refused_at_its_slot(
    tmp_path: Path,
) -> None:
    clock = Clock()
    amox = Product(AMOX.gtin, AMOX.name, 2, 8, home_slots=("A-01",))  # no minimum shelf life
    keeper = open_keeper(tmp_path / "l.sqlite", clock, [amox])
    keeper.putaways.scanned(scan("B1", days=0), "goods-in", "R-01", "Ana")  # good today
    clock.now += timedelta(hours=15)  # put after midnight: expired now
    keeper.putaways.button("A-01", 1, shown=0)
    assert receipts(keeper) == []
    assert answers(keeper, "refused")[0]["reason"] == "expired"
    assert Cue("A-01", CueKind.MISTAKE) in keeper.putaways.cues()


def test_presses_beyond_what_the_shown_colour_waits_for_book_nothing_for_another_session(
    keeper: InventoryKeeper,
) -> None:
    desk = keeper.putaways
    desk.scanned(scan("I1", gtin=IBU.gtin), "goods-in", "R-01", "Ana")
    desk.scanned(scan("B1"), "desk-2", "R-02", "Ben")
    [ana, ben] = sorted(desk.sessions.values(), key=lambda s: s.number or 0)
    # A slot is lit for one desk at a time (Ben's ibuprofen would wait): Ben puts another drug.
    [slot], [bens] = {p.slot for p in ana.waiting}, {p.slot for p in ben.waiting}
    assert slot != bens
    desk.button(slot, 2, shown=ana.number)  # Ana presses once too often
    assert (ana.put, ben.put) == (1, 0), "Ben's pack booked by Ana's extra press"
    assert [p.slot for p in ben.waiting] == [bens]
    desk.button(bens, 1, shown=ben.number)
    assert (ana.put, ben.put) == (1, 1)


def test_a_session_saved_before_refused_packs_were_named_still_loads(tmp_path: Path) -> None:
    """A gateway upgraded mid-delivery carries on: the session's refused packs, from before
    they were kept, are counted and not named."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    keeper.putaways.scanned(scan("B1"), "goods-in", "R-01", "Ana")
    keeper.putaways.scanned(scan("B1", days=-1), "goods-in", "R-01", "Ana")
    [delivery_id] = keeper.putaways.sessions
    body = json.loads(keeper.putaways.board.store.open_sessions()[0].to_json())
    assert len(body.pop("refusals")) == 1
    with keeper.db:
        keeper.db.execute("UPDATE putaway_sessions SET body = ?", (json.dumps(body),))
    keeper.close()
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    keeper.putaways.end(delivery_id, "Ana")
    [closed] = answers(keeper, "closed")
    assert (closed["refused"], closed["refused_packs"], closed["waiting"]) == (1, [], 1)


def test_a_pack_refused_for_a_reason_that_passed_and_put_after_all_is_not_a_refused_pack(
    keeper: InventoryKeeper,
) -> None:
    """Every colour held by pick lists: two packs refused `no colour free`; once the lists
    are done they are scanned again and put: the delivery's answer names no refused pack."""
    keeper.commit([Movement(MovementKind.PUT_AWAY, IBU.gtin, 8, batch="I0", to_slot="A-05")])
    for n in range(4):
        keeper.picks.start(PickRequest(f"rx-{n}", (PickLine(IBU.gtin, 1, ""),)))
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B1"),), scanner="goods-in"))
    packs = (scan("B1", serial="S1"), scan("B1"))  # one serialized, one counted
    for pack in packs:
        desk.scanned(pack, "goods-in", "R-01", "Ana")
    assert [a["reason"] for a in answers(keeper, "refused")] == ["no colour free"] * 2
    for n in range(4):
        keeper.picks.cancel(f"rx-{n}", "Ana")
    for pack in packs:
        desk.scanned(pack, "goods-in", "R-01", "Ana")
    clock = keeper.calendar.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(seconds=COLOUR_REST_SECONDS)  # a press now is the clerk's
    for lit in answers(keeper, "lit"):
        desk.button(str(lit["slot"]), 1, shown=desk.sessions["D-1"].number)
    desk.end("D-1", "Ana")
    [closed] = answers(keeper, "closed")
    assert (closed["put"], closed["refused"], closed["refused_packs"]) == (2, 0, [])


def test_each_delivery_refusing_a_batch_has_an_alarm_of_its_own(keeper: InventoryKeeper) -> None:
    """Two deliveries and a receiving desk refuse packs of one short-dated batch: three
    alarms, and the end of one delivery clears only its own."""
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2),), scanner="goods-in"))
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2),), scanner="desk-2"))
    desk.scanned(scan("K1", days=30, serial="s1"), "goods-in", "R-01", "Ana")
    desk.scanned(scan("K1", days=30, serial="s2"), "desk-2", "R-02", "Ben")
    desk.received(scan("K1", days=30, serial="s3"), "R-09", "Cleo", "recv-desk")
    refused = [a for a in keeper.alarms.live() if a.kind is AlarmKind.REFUSED_PACK]
    assert sorted(str(a.detail["serial"]) for a in refused) == ["s1", "s2", "s3"]
    desk.end("D-1", "Centre")
    left = [a.detail["serial"] for a in keeper.alarms.live() if a.kind is AlarmKind.REFUSED_PACK]
    assert sorted(str(s) for s in left) == ["s2", "s3"]
