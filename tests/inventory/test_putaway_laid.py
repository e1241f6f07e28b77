"""Packs laid on a shelf that no put confirmed, at the keeper: one the desk refused is held
where it lies with its batch and expiry (red there, an alarm that stays), one a delivery let
go of keeps what the desk scanned and counts toward its delivery; scanned again, neither is
taken for a second pack with its serial."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from edge.lights.light_plan import HELD_LIGHT, plan_lights
from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Left, PickTick
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.outcome import Cue, CueKind
from inventory.putaway.desk import PutawayDesk
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.stock.presence import Arrived
from sync.contract import validate
from tests.inventory.test_putaway import (
    AMOX,
    TIMES,
    Clock,
    answers,
    open_keeper,
    receipts,
    scan,
)


def announce(
    desk: PutawayDesk,
    delivery_id: str,
    quantity: int,
    request_id: str = "R-X",
    scanner: str = "goods-in",
) -> None:
    """A notice for `quantity` packs of amoxicillin batch B1, delivering `request_id`."""
    desk.notice(Notice(delivery_id, (NoticeLine(AMOX.gtin, quantity, "B1"),), request_id, scanner))


def tag(serial: str) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{serial}", AMOX.gtin, serial)


def booked(keeper: InventoryKeeper, serial: str) -> list[tuple[object, ...]]:
    rows = keeper.db.execute(
        "SELECT kind, to_slot, batch, expiry, to_status, reference FROM movements"
        " WHERE serial = ? ORDER BY id",
        (serial,),
    )
    return [tuple(r) for r in rows]


def live(keeper: InventoryKeeper, kind: AlarmKind) -> list[dict[str, object]]:
    return [a.detail for a in keeper.alarms.live() if a.kind is kind]


def test_a_refused_pack_laid_on_a_shelf_all_the_same_is_held_there_and_alarmed(
    tmp_path: Path,
) -> None:
    """The expired pack's tag seen in A-02: booked quarantined with the batch and expiry
    scanned at the desk (never pickable, not counted toward the request), red at A-02 and a
    refused_pack alarm naming A-02 that outlives the delivery; scanned again it is refused
    as expired again, not suspected as a copy."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    keeper.commit([Movement(MovementKind.PUT_AWAY, AMOX.gtin, 1, batch="B0", to_slot="A-01")])
    desk = keeper.putaways
    announce(desk, "D-1", 2, request_id="")
    expired = scan("B1", days=-5, serial="99")
    desk.scanned(expired, "goods-in", "R-01", "Ana")
    apply(keeper, Arrived(tag("99"), "A-02"))
    assert booked(keeper, "99") == [
        ("put_away", "A-02", "B1", expired.expiry.isoformat(), "quarantined", "D-1")  # type: ignore[union-attr]
    ]
    assert keeper.on_hand(AMOX.gtin) == 1, "not pickable"
    assert Cue("A-02", CueKind.MISTAKE) in desk.cues()
    desk.end("D-1", "Centre")
    [alarm] = [a for a in keeper.alarms.live() if a.kind is AlarmKind.REFUSED_PACK]
    assert validate("alarm", alarm.payload()) == []
    detail = alarm.detail
    assert (detail["slot"], detail["on_shelf"], detail["reason"]) == ("A-02", True, "expired")
    assert plan_lights(keeper.alarms.live(), keeper.index) == {"A-02": HELD_LIGHT}
    desk.scanned(expired, "goods-in", "R-01", "Ana")  # scanned again, as the docs advise
    assert answers(keeper, "refused")[-1]["reason"] == "expired"
    assert live(keeper, AlarmKind.DUPLICATE_PACK) == []


def test_a_pack_let_go_at_a_pause_and_seen_on_its_shelf_is_put_for_its_delivery(
    tmp_path: Path,
) -> None:
    """Lit, then the clerk's break: its tag seen in A-01 afterwards books it with its batch and
    expiry as a put of the paused delivery (which is complete then); the clerk, as the docs
    advise, scans it again: nothing is refused or suspected."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    announce(desk, "D-1", 2)
    pack = scan("B1", days=200, serial="78")
    desk.scanned(scan("B1", days=200, serial="77"), "goods-in", "R-01", "Ana")
    desk.scanned(pack, "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    assert [p["serial"] for p in answers(keeper, "paused")[0]["left_waiting"]] == ["78"]  # type: ignore[index]
    apply(keeper, Arrived(tag("78"), "A-01"))
    expiry = pack.expiry.isoformat()  # type: ignore[union-attr]
    assert booked(keeper, "78") == [("receive", "A-01", "B1", expiry, "available", "R-X")]
    assert answers(keeper, "put")[-1]["confirmed_by"] == "tag"
    [closed] = answers(keeper, "closed")
    assert (closed["how"], closed["put"], closed["waiting"]) == ("done", 2, 0)
    desk.scanned(pack, "goods-in", "R-01", "Ana")
    assert answers(keeper, "refused") == []
    assert live(keeper, AlarmKind.DUPLICATE_PACK) == []
    assert len(booked(keeper, "78")) == 1


def test_a_pack_left_waiting_when_its_delivery_was_ended_keeps_its_batch_on_a_shelf(
    tmp_path: Path,
) -> None:
    """The centre ends the delivery while a pack waits in A-01; the clerk lays it there all
    the same: its tag books it with the batch and expiry scanned, toward the request; a press
    where another such pack lies blinks red."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    announce(desk, "D-1", 2)
    pack = scan("B1", days=200, serial="77")
    desk.scanned(pack, "goods-in", "R-01", "Ana")
    desk.end("D-1", "Centre")
    out = apply(keeper, Arrived(tag("77"), "A-01"))
    expiry = pack.expiry.isoformat()  # type: ignore[union-attr]
    assert booked(keeper, "77") == [("receive", "A-01", "B1", expiry, "available", "R-X")]
    assert out.placed == {tag("77").epc: "A-01"}
    assert desk.button("A-01", 1, shown=None).putaway_mistakes == [], "booked: not red"
    desk.scanned(pack, "goods-in", "R-01", "Ana")  # scanned again
    assert live(keeper, AlarmKind.DUPLICATE_PACK) == [] and answers(keeper, "refused") == []

    announce(desk, "D-3", 2)
    desk.scanned(scan("B1", serial="79"), "goods-in", "R-01", "Ana")
    desk.end("D-3", "Centre")
    out = desk.button("A-01", 1, shown=None)
    assert out.putaway_mistakes and Cue("A-01", CueKind.MISTAKE) in desk.cues()
    assert receipts(keeper) == [("A-01", "B1", "77", "R-X")]


def test_a_pack_recalled_while_it_waits_and_seen_in_its_slot_is_held_there(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(scan("B1", serial="80"), "goods-in", "R-01", "Ana")
    keeper.picks.recall(AMOX.gtin, "B1", "supplier notice")
    apply(keeper, Arrived(tag("80"), "A-01"))
    assert [row[4] for row in booked(keeper, "80")] == [str(StockStatus.QUARANTINED)]
    assert answers(keeper, "refused")[-1]["reason"] == "recalled"
    assert [a["slot"] for a in live(keeper, AlarmKind.REFUSED_PACK) if a.get("on_shelf")] == [
        "A-01"
    ]


def test_a_pack_scanned_again_just_after_it_was_put_is_not_taken_for_a_copy(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    announce(desk, "D-1", 2)
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    out = desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")  # the same pack
    assert out.putaway_mistakes == [] and "A-01" in out.putaway_notes[0]
    assert answers(keeper, "refused") == [] and live(keeper, AlarmKind.DUPLICATE_PACK) == []
    desk.scanned(scan("B1", serial="S2"), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert (closed["put"], closed["refused"], closed["refused_packs"]) == (2, 0, [])


def test_a_serial_on_the_shelves_from_an_older_delivery_is_still_suspected(
    tmp_path: Path,
) -> None:
    """Only a delivery at hand (or just closed) knows its packs: a pack with the serial of
    one put away long ago is a copy until a pharmacist has looked."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    announce(desk, "D-1", 1)
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    assert answers(keeper, "closed")[0]["how"] == "done"
    clock.now += timedelta(days=3)
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    assert answers(keeper, "refused")[-1]["reason"] == "duplicate serial"
    assert len(live(keeper, AlarmKind.DUPLICATE_PACK)) == 1


def test_a_serial_a_paused_delivery_put_days_ago_is_suspected_at_another_desk(
    tmp_path: Path,
) -> None:
    """P put S1 at goods-in and paused, four packs short; five days later delivery Q at desk-2
    brings a pack with the same serial: one of the two is not genuine."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    announce(desk, "P", 5, "R-P")
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    clock.now += timedelta(days=5)
    announce(desk, "Q", 1, "R-Q", "desk-2")
    out = desk.scanned(scan("B1", serial="S1"), "desk-2", "R-02", "Bo")
    assert out.putaway_mistakes
    [refused] = answers(keeper, "refused")
    assert (refused["command_id"], refused["reason"]) == ("Q", "duplicate serial")
    [alarm] = live(keeper, AlarmKind.DUPLICATE_PACK)
    assert (alarm["slot"], alarm["scanner"]) == ("A-01", "desk-2")


def test_a_pack_is_taken_for_the_one_just_put_only_at_its_desk_and_only_shortly_after(
    tmp_path: Path,
) -> None:
    """S1 put at goods-in: scanned again there a moment later (after a restart too) it is the
    same pack; scanned at desk-2 a moment later, or at goods-in once `timeout_seconds` have
    passed since its put while the delivery is still open, it is a copy."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    announce(desk, "D-1", 5)
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    keeper.close()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    clock.now += timedelta(seconds=30)
    assert desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana").putaway_mistakes == []
    desk.scanned(scan("B1", serial="S1"), "desk-2", "R-02", "Bo")
    assert [a["serial"] for a in live(keeper, AlarmKind.DUPLICATE_PACK)] == ["S1"]
    keeper.alarms.clear(AlarmKind.DUPLICATE_PACK, f"{AMOX.gtin}/S1")
    for serial in ("S2", "S3"):  # the delivery goes on, never left untouched for long
        clock.now += timedelta(seconds=TIMES.timeout_seconds / 2)
        desk.scanned(scan("B1", serial=serial), "goods-in", "R-01", "Ana")
        desk.button("A-01", 1, shown=0)
    assert "D-1" in desk.sessions
    desk.scanned(scan("B1", serial="S1"), "goods-in", "R-01", "Ana")
    assert [r["reason"] for r in answers(keeper, "refused")] == ["duplicate serial"] * 2
    assert [a["serial"] for a in live(keeper, AlarmKind.DUPLICATE_PACK)] == ["S1"]


def test_a_tag_no_delivery_knows_is_booked_without_reading_a_put_away_session(
    tmp_path: Path,
) -> None:
    """Tags seen on the shelves are the writer's busiest work: one no open delivery waits for
    is looked up in memory, however many deliveries closed before."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    for n in range(3):
        announce(desk, f"D-{n}", 2)
        desk.scanned(scan("B1", serial=f"W{n}"), "goods-in", "R-01", "Ana")
        desk.end(f"D-{n}", "Centre")
    statements: list[str] = []
    keeper.db.set_trace_callback(statements.append)
    apply(keeper, Arrived(tag("500"), "A-03"))
    keeper.db.set_trace_callback(None)
    assert booked(keeper, "500") == [("put_away", "A-03", "", None, "available", "")]
    assert [s for s in statements if "putaway_sessions" in s] == []


def test_a_pack_a_closed_delivery_left_waiting_is_known_by_its_tag_for_30_days(
    tmp_path: Path,
) -> None:
    """77 left waiting by D-1, ended 29 days ago, is booked with its batch when its tag is
    seen (after a restart too); 78, left by D-0 ended 31 days ago, is a tag like any other."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    for delivery_id, serial in (("D-0", "78"), ("D-1", "77")):
        announce(desk, delivery_id, 2)
        desk.scanned(scan("B1", serial=serial), "goods-in", "R-01", "Ana")
        desk.end(delivery_id, "Centre")
        clock.now += timedelta(days=2)
    keeper.close()
    clock.now += timedelta(days=27)
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    apply(keeper, Arrived(tag("77"), "A-02"))
    apply(keeper, Arrived(tag("78"), "A-02"))
    assert [row[2:4] for row in booked(keeper, "77")] == [("B1", scan().expiry.isoformat())]  # type: ignore[union-attr]
    assert [row[2:4] for row in booked(keeper, "78")] == [("", None)]


def test_a_pack_let_go_and_recalled_held_on_its_shelf_is_its_deliverys_refused_pack(
    tmp_path: Path,
) -> None:
    """7 let go at P's pause, its batch recalled, its tag seen in A-01: held there, counted as
    P's refused pack with the slot it is held in (no longer named let go of, no red for an
    unbooked pack at a press there), and P's answers say where it is held."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    announce(desk, "P", 3, "R-P")
    desk.scanned(scan("B1", serial="7"), "goods-in", "R-01", "Ana")
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    keeper.picks.recall(AMOX.gtin, "B1", "supplier notice")
    apply(keeper, Arrived(tag("7"), "A-01"))
    assert [row[4] for row in booked(keeper, "7")] == [str(StockStatus.QUARANTINED)]
    p = desk.sessions["P"]
    assert (p.let_go, p.refused, [r.held_in for r in p.refusals]) == ([], 1, ["A-01"])
    assert answers(keeper, "refused")[-1]["reason"] == "recalled"
    clock.now += timedelta(seconds=TIMES.mistake_seconds)
    apply(keeper, PickTick())
    assert not any("not booked" in m for m in desk.button("A-01", 1, None).putaway_mistakes)
    desk.end("P", "Centre")
    [closed] = answers(keeper, "closed")
    assert validate("cmd-result", closed) == []
    [held] = closed["refused_packs"]  # type: ignore[misc]
    assert (held["serial"], held["reason"], held["held_in"]) == ("7", "recalled", "A-01")


def test_a_refused_pack_taken_back_off_its_shelf_ends_its_alarm_and_goes_dark(
    tmp_path: Path,
) -> None:
    """The clerk takes the expired pack back off A-02 (it goes back with its delivery note):
    once it has stayed gone, it is written off and its refused_pack alarm ends, A-02 dark."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.commit([Movement(MovementKind.PUT_AWAY, AMOX.gtin, 1, batch="B0", to_slot="A-01")])
    desk = keeper.putaways
    announce(desk, "D-1", 2, request_id="")
    desk.scanned(scan("B1", days=-5, serial="99"), "goods-in", "R-01", "Ana")
    apply(keeper, Arrived(tag("99"), "A-02"))

    def on_shelf() -> list[dict[str, object]]:
        return [d for d in live(keeper, AlarmKind.REFUSED_PACK) if d.get("on_shelf")]

    assert len(on_shelf()) == 1
    apply(keeper, Left(tag("99").epc, "A-02"))
    clock.now += timedelta(seconds=TIMES.mistake_seconds + 1)
    apply(keeper, PickTick())
    assert [row[0] for row in booked(keeper, "99")] == ["put_away", "write_off"]
    assert on_shelf() == []
    assert plan_lights(keeper.alarms.live(), keeper.index) == {}


def test_a_refused_pack_is_not_counted_as_still_on_its_way(tmp_path: Path) -> None:
    """Two announced, one refused as expired (it goes back): one is still to come."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    announce(desk, "D-1", 2, request_id="")
    desk.scanned(scan("B1", days=-5, serial="99"), "goods-in", "R-01", "Ana")
    assert desk.still_announced(lambda _request: None) == {AMOX.gtin: 1}
