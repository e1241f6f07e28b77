"""Which pack a tag seen on a shelf is, at the keeper: a counted pack put by its button owns the
tag seen in its slot next (a restart between changes nothing), a refused pack's tag is that
refused pack, and only a tag no pack booked, refused or let go of accounts for confirms a
waiting counted pack; a pack seen in a slot not lit for it and moved on once its delivery
timed out or paused is booked where it went."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Book, PickTick
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.outcome import Cue, CueKind
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.stock.presence import Arrived, Moved
from tests.inventory.test_putaway import AMOX, IBU, TIMES, Clock, answers, open_keeper, scan

# Packs scanned without a serial (its code carries none), yet tagged: 4012345.000001.n
OTC = dataclasses.replace(IBU, require_serial=False)


def otc_tag(serial: str) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.000001.{serial}", OTC.gtin, serial)


def amox_tag(serial: str) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{serial}", AMOX.gtin, serial)


def lines(keeper: InventoryKeeper, gtin: str) -> list[tuple[str, str, str, str | None, int]]:
    """(slot, batch, serial, EPC, quantity) of each stock line of `gtin`."""
    return sorted(
        (x.slot, x.batch, x.serial, x.epc, x.quantity) for x in keeper.index.lines_of(gtin)
    )


def test_a_counted_pack_put_by_its_button_takes_its_tag_seen_there_and_is_not_booked_twice(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), products=(AMOX, OTC))
    keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 1, shown=0)
    out = apply(keeper, Arrived(otc_tag("901"), "A-05"))
    assert keeper.on_hand(OTC.gtin) == 1
    assert lines(keeper, OTC.gtin) == [("A-05", "C1", "901", otc_tag("901").epc, 1)]
    assert out.placed == {otc_tag("901").epc: "A-05"}
    kinds = [r[0] for r in keeper.db.execute("SELECT kind FROM movements ORDER BY id")]
    assert kinds == ["receive", "count_adjustment", "count_adjustment"]
    assert [a["confirmed_by"] for a in answers(keeper, "put")] == ["button"]


def test_the_tag_seen_after_a_press_is_the_pressed_packs_not_the_next_one_lit_there(
    tmp_path: Path,
) -> None:
    """Two counted packs lit in A-05, the first laid and pressed: its tag does not put the
    second (still in the clerk's hand), which its own tag puts once laid; across a restart
    of the ledger between the press and the tag too."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock, products=(AMOX, OTC))
    for _ in range(2):
        keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 1, shown=0)
    keeper.close()
    keeper = open_keeper(tmp_path / "l.sqlite", clock, products=(AMOX, OTC))
    apply(keeper, Arrived(otc_tag("901"), "A-05"))
    assert keeper.putaways.cues() == [Cue("A-05", CueKind.PUT, 0, 1)], "one still to put"
    assert keeper.on_hand(OTC.gtin) == 1
    apply(keeper, Arrived(otc_tag("902"), "A-05"))
    assert keeper.putaways.cues() == []
    assert keeper.on_hand(OTC.gtin) == 2
    assert [x[2] for x in lines(keeper, OTC.gtin)] == ["901", "902"]


def test_a_refused_packs_tag_is_that_pack_held_not_a_waiting_counted_pack_put(
    tmp_path: Path,
) -> None:
    """An expired pack refused at the desk, laid in A-05 where a good counted pack of its
    product is lit: held there quarantined with its own batch and expiry; the good pack
    still waits for its put."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), products=(AMOX, OTC))
    desk = keeper.putaways
    desk.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    expired = scan("OLD", days=-3, serial="909", gtin=OTC.gtin)
    desk.scanned(expired, "goods-in", "R-01", "Ana")
    apply(keeper, Arrived(otc_tag("909"), "A-05"))
    [held] = keeper.index.lines_of(OTC.gtin)
    assert (held.batch, held.serial, held.status) == ("OLD", "909", StockStatus.QUARANTINED)
    assert held.expiry == expired.expiry.isoformat()  # type: ignore[union-attr]
    assert keeper.on_hand(OTC.gtin) == 0, "nothing pickable"
    assert Cue("A-05", CueKind.PUT, 0, 1) in desk.cues()
    on_shelf = [a.detail for a in keeper.alarms.live() if a.kind is AlarmKind.REFUSED_PACK]
    assert [d["slot"] for d in on_shelf if d.get("on_shelf")] == ["A-05"]
    assert answers(keeper, "put") == []


def test_a_pack_seen_in_the_wrong_slot_and_moved_after_its_delivery_timed_out_is_booked(
    tmp_path: Path,
) -> None:
    """Lit in A-01, laid in A-06 (its red missed), left there past the timeout; moved to
    A-01 later: booked there with the batch and expiry scanned, as a pack left waiting. The
    tracker, which had it in A-06, is told to watch it anew when the delivery closes."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.putaways.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")
    assert apply(keeper, Arrived(amox_tag("77"), "A-06")).putaway_mistakes
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    closing = apply(keeper, PickTick())
    assert answers(keeper, "closed")[0]["how"] == "timed_out"
    assert closing.booked_epcs == [amox_tag("77").epc]
    out = apply(keeper, Moved(amox_tag("77").epc, "A-06", "A-01"))
    assert out.placed == {amox_tag("77").epc: "A-01"}
    assert lines(keeper, AMOX.gtin) == [("A-01", "B0", "77", amox_tag("77").epc, 1)]
    [(kind, expiry)] = keeper.db.execute("SELECT kind, expiry FROM movements").fetchall()
    assert (kind, expiry) == ("receive", scan("B0").expiry.isoformat())  # type: ignore[union-attr]


def test_a_pack_seen_in_the_wrong_slot_and_moved_while_its_delivery_is_paused_is_put_for_it(
    tmp_path: Path,
) -> None:
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.putaways.notice(Notice("D-1", (NoticeLine(AMOX.gtin, 2, "B0"),), "", "goods-in"))
    keeper.putaways.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")
    apply(keeper, Arrived(amox_tag("77"), "A-06"))
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    pausing = apply(keeper, PickTick())
    assert len(answers(keeper, "paused")) == 1
    assert pausing.booked_epcs == [amox_tag("77").epc]
    apply(keeper, Moved(amox_tag("77").epc, "A-06", "A-01"))
    assert lines(keeper, AMOX.gtin) == [("A-01", "B0", "77", amox_tag("77").epc, 1)]
    [put] = answers(keeper, "put")
    assert (put["serial"], put["slot"], put["confirmed_by"]) == ("77", "A-01", "tag")
    assert [ln.received for ln in keeper.putaways.sessions["D-1"].lines] == [1]


def test_a_receiving_desk_refuses_a_pack_waiting_at_a_put_away_desk_and_says_where(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")  # lit in A-01
    out = desk.received(scan("B0", serial="77"), "A-08", "Bo", "recv-desk")
    assert out.commits == [] and "waiting to be put away in A-01" in out.putaway_mistakes[0]
    assert Cue("A-08", CueKind.MISTAKE) in desk.cues()
    assert keeper.alarms.live() == []
    desk.button("A-01", 1, shown=0)
    assert lines(keeper, AMOX.gtin) == [("A-01", "B0", "77", None, 1)]


def test_a_press_for_a_pack_whose_serial_was_booked_meanwhile_books_nothing_and_shows_red(
    tmp_path: Path,
) -> None:
    """Its serial booked elsewhere by its code while it waited: the press does not book the
    serial a second time; a pharmacist is asked to look at the two."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    desk.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")
    elsewhere = Movement(MovementKind.RECEIVE, AMOX.gtin, serial="77", batch="B0", to_slot="A-08")
    apply(keeper, Book((elsewhere,)))
    out = desk.button("A-01", 1, shown=0)
    assert lines(keeper, AMOX.gtin) == [("A-08", "B0", "77", None, 1)]
    assert out.putaway_mistakes and Cue("A-01", CueKind.MISTAKE) in desk.cues()
    assert answers(keeper, "refused")[-1]["reason"] == "duplicate serial"
    assert [a.kind for a in keeper.alarms.live()] == [AlarmKind.DUPLICATE_PACK]
    assert desk.cues() == [Cue("A-01", CueKind.MISTAKE)], "nothing waits there any more"
