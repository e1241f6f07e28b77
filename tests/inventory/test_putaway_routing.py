"""Which delivery a scanned pack counts toward, at the keeper: the one its clerk works at that
desk, then the next announced there; a paused delivery takes only what it still awaits and
nobody newer awaits; one clerk's extra pack stays with that clerk's delivery; a notice not
begun takes only what it announced, and a refused pack brings no paused delivery back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from edge.web.views.deliveries import standing
from inventory.apply import apply
from inventory.changes import PickTick
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.picking.lists import PickLine, PickRequest
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.stock.presence import Arrived
from tests.inventory.test_putaway import (
    AMOX,
    IBU,
    TIMES,
    Clock,
    answers,
    open_keeper,
    receipts,
    scan,
)
from tests.inventory.test_putaway_laid import tag


def scan_and_put(keeper: InventoryKeeper, serial: str, scanner: str = "goods-in") -> str:
    """A pack scanned and its slot pressed at once: the delivery it went to."""
    desk = keeper.putaways
    desk.scanned(scan("B1", serial=serial), scanner, "R-01", "Ana")
    lit = answers(keeper, "lit")[-1]
    desk.button(str(lit["slot"]), 1, shown=desk.sessions[str(lit["command_id"])].number)
    return str(lit["command_id"])


def test_a_delivery_paused_short_takes_none_of_the_next_deliverys_packs(tmp_path: Path) -> None:
    """D-1 came one short and paused; the next day's D-2 gets both its packs and closes done;
    D-1's missing pack, come later, is still D-1's."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 3),), "R-X", "goods-in"))
    assert [scan_and_put(keeper, s) for s in ("a1", "a2")] == ["D-1", "D-1"]
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    clock.now += timedelta(days=1)
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2),), "R-Y", "goods-in"))
    assert [scan_and_put(keeper, s) for s in ("n1", "n2")] == ["D-2", "D-2"]
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert (closed["command_id"], closed["how"], closed["put"]) == ("D-2", "done", 2)
    assert desk.sessions["D-1"].paused and desk.sessions["D-1"].lines[0].received == 2
    assert scan_and_put(keeper, "a3") == "D-1"
    assert [r[3] for r in receipts(keeper)] == ["R-X", "R-X", "R-Y", "R-Y", "R-X"]


def test_one_clerks_extra_pack_is_their_deliverys_excess_not_another_desks(
    tmp_path: Path,
) -> None:
    """Two notices for no desk: Ana's box holds one pack more than D-1 announced; it is D-1's
    excess, and Ben at desk-2 gets D-2 with its two packs."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2),)))
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2),)))
    for serial in ("a1", "a2", "a3"):
        desk.scanned(scan("B1", serial=serial), "goods-in", "R-01", "Ana")
    for serial in ("b1", "b2"):
        desk.scanned(scan("B2", serial=serial), "desk-2", "R-02", "Ben")
    lit = [(a["command_id"], a["serial"]) for a in answers(keeper, "lit")]
    assert lit == [("D-1", "a1"), ("D-1", "a2"), ("D-1", "a3"), ("D-2", "b1"), ("D-2", "b2")]
    assert (desk.sessions["D-1"].scanner, desk.sessions["D-2"].scanner) == ("goods-in", "desk-2")


def test_a_notice_not_begun_takes_no_product_it_did_not_announce(tmp_path: Path) -> None:
    """D-1 (amoxicillin) waits for its truck at goods-in; a wholesaler's ibuprofen scanned
    there meanwhile opens a session of its own."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    keeper.putaways.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B1"),), "R-X", "goods-in"))
    keeper.putaways.scanned(scan("I1", serial="I-1", gtin=IBU.gtin), "goods-in", "R-01", "Ana")
    [lit] = answers(keeper, "lit")
    assert str(lit["command_id"]).startswith("goods-in-")
    d1 = keeper.putaways.sessions["D-1"]
    assert (d1.number, d1.unexpected) == (None, [])


def test_a_refused_pack_does_not_bring_a_paused_delivery_back(tmp_path: Path) -> None:
    """An expired pack of the paused delivery's product is refused for it, and it stays
    paused: the next day's unannounced ibuprofen is not taken into it."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2, "B1"),), "R-X", "goods-in"))
    scan_and_put(keeper, "S1")
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    clock.now += timedelta(hours=20)
    desk.scanned(scan("B1", days=-1, serial="S9"), "goods-in", "R-01", "Ana")
    assert answers(keeper, "refused")[-1]["command_id"] == "D-2"
    assert desk.sessions["D-2"].paused and desk.sessions["D-2"].number is None
    desk.scanned(scan("I1", serial="I-7", gtin=IBU.gtin), "goods-in", "R-01", "Ben")
    assert answers(keeper, "lit")[-1]["command_id"] != "D-2"
    assert desk.sessions["D-2"].unexpected == [] and desk.colours() == {0}


def test_a_pack_more_than_announced_scanned_after_the_last_put_is_the_deliverys_excess(
    tmp_path: Path,
) -> None:
    """Scanned and put one at a time: the third pack of a notice of two comes after the
    second is put; it is the delivery's excess, booked toward its request, and the delivery
    closes done once nothing more of it was scanned for `remind_after_seconds`."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.putaways.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B1"),), "R-X", "goods-in"))
    assert [scan_and_put(keeper, s) for s in ("S1", "S2", "S3")] == ["D-1"] * 3
    assert answers(keeper, "closed") == []
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    [line] = closed["lines"]  # type: ignore[misc]
    assert (closed["how"], line["received"], line["excess"], closed["unexpected"]) == (
        "done",
        3,
        1,
        [],
    )
    assert [r[3] for r in receipts(keeper)] == ["R-X"] * 3
    assert keeper.putaways.sessions == {} and keeper.putaways.colours() == set()


def test_a_pack_scanned_after_a_delivery_is_put_in_full_goes_to_the_next_notice_awaiting_it(
    tmp_path: Path,
) -> None:
    """D-1 and D-2 each announce two packs for no desk; scanned and put one at a time, 20 s
    apart, the third and fourth are D-2's, not D-1's excess, and both close done."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2),), "R-1"))
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2),), "R-2"))
    went = []
    for serial in ("1", "2", "3", "4"):
        clock.now += timedelta(seconds=20)
        went.append(scan_and_put(keeper, serial))
        apply(keeper, PickTick())
    assert went == ["D-1", "D-1", "D-2", "D-2"]
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    closed = {str(c["command_id"]): c for c in answers(keeper, "closed")}
    assert sorted(closed) == ["D-1", "D-2"] and desk.sessions == {}
    for delivery_id, c in closed.items():
        [line] = c["lines"]  # type: ignore[misc]
        assert (c["how"], line["received"], line["excess"]) == ("done", 2, 0), delivery_id
    assert [r[3] for r in receipts(keeper)] == ["R-1", "R-1", "R-2", "R-2"]


def test_a_delivery_put_in_full_frees_its_colour_and_takes_no_other_product(
    tmp_path: Path,
) -> None:
    """Three pick lists and D-1 hold the four colours; D-1's last pack put, a fourth list
    starts at once. The ibuprofen the clerk scans next is a session of its own, and D-1
    closes done with nothing unexpected."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.commit([Movement(MovementKind.PUT_AWAY, IBU.gtin, 6, batch="I0", to_slot="A-05")])
    desk = keeper.putaways
    desk.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 1, "B1"),), "R-X", "goods-in"))
    desk.scanned(scan("B1", serial="1"), "goods-in", "R-01", "Ana")
    for n in range(3):
        apply(keeper, PickRequest(f"P{n}", (PickLine(IBU.gtin, 1),)))
    desk.button("A-01", 1, shown=0)
    assert desk.colours() == set() and "D-1" in desk.sessions
    assert standing(desk.sessions["D-1"]).startswith("put in full")
    out = apply(keeper, PickRequest("P3", (PickLine(IBU.gtin, 1),)))
    assert out.refusals == [] and keeper.picks.lists["P3"].picker_no == 0
    clock.now += timedelta(seconds=10)
    keeper.picks.cancel("P3", "Ana")
    desk.scanned(scan("I7", serial="i1", gtin=IBU.gtin), "goods-in", "R-01", "Ana")
    assert not str(answers(keeper, "lit")[-1]["command_id"]).startswith("D-")
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    [closed] = answers(keeper, "closed")
    assert (closed["command_id"], closed["how"], closed["put"]) == ("D-1", "done", 1)
    assert closed["unexpected"] == [] and "D-1" not in desk.sessions


def test_a_pack_let_go_at_a_pause_goes_back_to_its_delivery_and_is_let_go_no_more_once_booked(
    tmp_path: Path,
) -> None:
    """P paused with S2 lit and never confirmed; D-2 is announced meanwhile for no desk. S2
    scanned again is P's (P resumes), not D-2's, and P lists it let go no more. S3, let go of
    too, booked by its tag for another session's pack, is let go no more either."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("P", (NoticeLine(AMOX.gtin, 4, "B1"),), "R-P", "goods-in"))
    for serial in ("S1", "S2", "S3"):
        desk.scanned(scan("B1", serial=serial), "goods-in", "R-01", "Ana")
    desk.button("A-01", 1, shown=0)
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    apply(keeper, PickTick())
    desk.notice(Notice("D-2", (NoticeLine(AMOX.gtin, 2),), "R-2"))
    p = desk.sessions["P"]
    assert [x.serial for x in p.let_go] == ["S2", "S3"]
    assert scan_and_put(keeper, "S2") == "P"
    assert not p.paused and [x.serial for x in p.let_go] == ["S3"]
    assert desk.sessions["D-2"].number is None and receipts(keeper)[-1][2:] == ("S2", "R-P")
    # Another clerk's pack of another batch lit in A-01, where S3 was: S3's tag books it.
    desk.scanned(scan("B7"), "desk-2", "R-02", "Bo")
    assert answers(keeper, "lit")[-1]["slot"] == "A-01"
    apply(keeper, Arrived(tag("S3"), "A-01"))
    assert receipts(keeper)[-1][2] == "S3" and p.let_go == []
