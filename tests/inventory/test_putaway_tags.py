"""Which pack a tag seen on a shelf is, at the keeper: a counted pack put by its button owns the
tag seen in its slot soon after (a restart between changes nothing; later, it is untagged for
good), but never a tag the ledger held before (a pack coming back), nor one of two batches
pressed for there; a tag where a counted pack was pressed for, while the one lit for it is
elsewhere, is that one laid astray; a refused pack's tag is that refused pack, and only a tag
no pack booked, refused or let go of accounts for confirms a waiting counted pack; a pack seen
in a slot not lit for it and moved on once its delivery timed out or paused is booked where
it went, even when a failed commit came between."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Book, PickTick, Recall
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.picking.outcome import Cue, CueKind
from inventory.putaway.sessions import Notice, NoticeLine
from inventory.site_calendar import SiteCalendar
from inventory.stock.presence import Arrived, Left, Moved
from tests.inventory.test_putaway import (
    AMOX,
    IBU,
    SLOTS,
    TIMES,
    Clock,
    answers,
    open_keeper,
    scan,
)

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


def test_a_counted_pack_pressed_in_a_slot_no_reader_watches_waits_for_no_tag(
    tmp_path: Path,
) -> None:
    """No tag is ever seen there: the pack is not kept for one (a busy delivery's session, and
    every commit writing it, grew by each pack put)."""
    products = {p.gtin: p for p in (AMOX, OTC)}
    keeper = InventoryKeeper(
        tmp_path / "l.sqlite",
        products,
        "s",
        "g",
        SiteCalendar(UTC, Clock()),
        pick_times=TIMES,
        shelf_slots=SLOTS,
        watched_slots=["A-01"],
    )
    keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 1, shown=0)
    assert keeper.on_hand(OTC.gtin) == 1
    [session] = keeper.putaways.sessions.values()
    assert session.untagged == []


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


def kinds(keeper: InventoryKeeper) -> list[str]:
    return [r[0] for r in keeper.db.execute("SELECT kind FROM movements ORDER BY id")]


def shelved(
    keeper: InventoryKeeper,
    serial: str,
    expiry: str | None,
    status: StockStatus,
    batch: str = "OLD",
) -> None:
    """A tagged pack of OTC on the shelf in A-05 before any delivery."""
    pack = Movement(
        MovementKind.RECEIVE,
        OTC.gtin,
        serial=serial,
        epc=otc_tag(serial).epc,
        batch=batch,
        expiry=expiry,
        to_slot="A-05",
        to_status=status,
    )
    apply(keeper, Book((pack,)))


@pytest.mark.parametrize("batch", ["OLD", ""])  # "": a tag booked as seen, of no known batch
def test_a_tagged_pack_lifted_and_put_back_where_a_counted_pack_was_pressed_is_returned(
    tmp_path: Path, batch: str
) -> None:
    """A pack of the product on the shelf, lifted and put back while a counted pack (no tag)
    was just pressed for in its slot: a `return` of that pack, with its own batch; the
    counted pack stays counted. Two packs lie there, two are booked."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), products=(AMOX, OTC))
    shelved(keeper, "5", "2027-01-31" if batch else None, StockStatus.AVAILABLE, batch)
    keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 1, shown=0)
    apply(keeper, Left(otc_tag("5").epc, "A-05"))
    apply(keeper, Arrived(otc_tag("5"), "A-05"))
    assert keeper.on_hand(OTC.gtin) == 2
    assert sorted(lines(keeper, OTC.gtin), key=lambda x: x[2]) == [
        ("A-05", "C1", "", None, 1),
        ("A-05", batch, "5", otc_tag("5").epc, 1),
    ]
    assert kinds(keeper)[-1] == "return"


def test_an_expired_pack_written_off_and_laid_back_where_a_counted_pack_was_pressed_is_held(
    tmp_path: Path,
) -> None:
    """An expired pack held in A-05, taken off (written off) and laid back there after a
    counted pack was pressed for: back quarantined with its own dates, the alarm raised
    again; not the counted pack, available with a fresh expiry."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock, products=(AMOX, OTC))
    shelved(keeper, "5", "2026-10-31", StockStatus.QUARANTINED)
    keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 1, shown=0)
    apply(keeper, Left(otc_tag("5").epc, "A-05"))
    clock.now += timedelta(seconds=TIMES.mistake_seconds + 1)
    apply(keeper, PickTick())  # not back in time: written off
    apply(keeper, Arrived(otc_tag("5"), "A-05"))
    [counted, back] = sorted(keeper.index.lines_of(OTC.gtin), key=lambda x: x.serial)
    assert (counted.batch, counted.serial, counted.status) == ("C1", "", StockStatus.AVAILABLE)
    assert (back.batch, back.expiry, back.status) == ("OLD", "2026-10-31", StockStatus.QUARANTINED)
    assert keeper.on_hand(OTC.gtin) == 1
    assert (AlarmKind.EXPIRED, f"{OTC.gtin}/OLD") in [
        (a.kind, a.subject) for a in keeper.alarms.live()
    ]


def test_a_tagged_pack_put_back_where_a_counted_pack_is_lit_does_not_put_that_pack(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), products=(AMOX, OTC))
    shelved(keeper, "5", "2027-01-31", StockStatus.AVAILABLE)
    keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    apply(keeper, Left(otc_tag("5").epc, "A-05"))
    apply(keeper, Arrived(otc_tag("5"), "A-05"))
    assert lines(keeper, OTC.gtin) == [("A-05", "OLD", "5", otc_tag("5").epc, 1)]
    assert kinds(keeper)[-1] == "return"
    assert keeper.putaways.cues() == [Cue("A-05", CueKind.PUT, 0, 1)], "still to put"
    assert answers(keeper, "put") == []


def test_a_pressed_pack_takes_a_tag_read_soon_after_and_a_restart_takes_no_time_off_that(
    tmp_path: Path,
) -> None:
    """Two counted packs of one batch lit in A-05. The first pressed for, the gateway off a
    minute: its tag read after the start is its own. The second pressed for, no tag read
    within the dwell time and a mistake's time: untagged for good, so a tag read there later
    is a pack of its own (of unknown batch), not that one."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock, products=(AMOX, OTC))
    for _ in range(2):
        keeper.putaways.scanned(scan("C1", gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 1, shown=0)
    keeper.close()
    clock.now += timedelta(seconds=60)
    keeper = open_keeper(tmp_path / "l.sqlite", clock, products=(AMOX, OTC))
    apply(keeper, Arrived(otc_tag("901"), "A-05"))
    assert lines(keeper, OTC.gtin) == [("A-05", "C1", "901", otc_tag("901").epc, 1)]
    keeper.putaways.button("A-05", 1, shown=0)
    clock.now += timedelta(seconds=5 + TIMES.mistake_seconds)  # the default dwell, a mistake
    apply(keeper, PickTick())
    [session] = keeper.putaways.sessions.values()
    assert session.untagged == []
    apply(keeper, Arrived(otc_tag("902"), "A-05"))
    assert keeper.on_hand(OTC.gtin) == 3
    assert lines(keeper, OTC.gtin) == [
        ("A-05", "", "902", otc_tag("902").epc, 1),
        ("A-05", "C1", "", None, 1),
        ("A-05", "C1", "901", otc_tag("901").epc, 1),
    ]


def test_a_tag_where_a_counted_pack_was_pressed_for_is_the_pack_lit_elsewhere_laid_astray(
    tmp_path: Path,
) -> None:
    """Two counted packs lit in A-01 and A-02; the first (no tag) laid in A-01 and pressed
    for, the second (tagged) laid in A-01 too: red there and the sessions told, A-02 still
    lit, nothing booked for it; moved to A-02, its tag puts it."""
    product = dataclasses.replace(AMOX, require_serial=False, slot_capacity=1)
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), products=(product, IBU))
    for _ in range(2):
        keeper.putaways.scanned(scan("C1"), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-01", 1, shown=0)
    out = apply(keeper, Arrived(amox_tag("902"), "A-01"))
    assert out.putaway_mistakes and out.putaway_mistakes[0].startswith("MISTAKE at A-01")
    assert keeper.putaways.cues() == [Cue("A-01", CueKind.MISTAKE), Cue("A-02", CueKind.PUT, 0, 1)]
    assert [a["slot"] for a in answers(keeper, "wrong_slot")] == ["A-01"]
    assert lines(keeper, AMOX.gtin) == [("A-01", "C1", "", None, 1)]
    apply(keeper, Moved(amox_tag("902").epc, "A-01", "A-02"))
    assert lines(keeper, AMOX.gtin) == [
        ("A-01", "C1", "", None, 1),
        ("A-02", "C1", "902", amox_tag("902").epc, 1),
    ]


def test_a_tag_where_counted_packs_of_two_batches_were_pressed_for_joins_neither(
    tmp_path: Path,
) -> None:
    """Batches C1 and C2 pressed for in A-05, a tag read there: a tag names no batch, so it
    is booked as a pack of unknown batch, and each counted pack keeps its batch and expiry:
    a recall of C1 holds the C1 pack, not the tagged one."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock(), products=(AMOX, OTC))
    keeper.putaways.scanned(scan("C1", days=40, gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.scanned(scan("C2", days=400, gtin=OTC.gtin), "goods-in", "R-01", "Ana")
    keeper.putaways.button("A-05", 2, shown=0)
    out = apply(keeper, Arrived(otc_tag("902"), "A-05"))
    assert "cannot be told" in out.putaway_notes[0]
    assert lines(keeper, OTC.gtin) == [
        ("A-05", "", "902", otc_tag("902").epc, 1),
        ("A-05", "C1", "", None, 1),
        ("A-05", "C2", "", None, 1),
    ]
    apply(keeper, Recall(OTC.gtin, "C1", "supplier notice", "Ana"))
    held = [x for x in keeper.index.lines_of(OTC.gtin) if x.status is StockStatus.QUARANTINED]
    assert [(x.batch, x.serial) for x in held] == [("C1", "")]


def test_a_pack_seen_astray_is_booked_where_it_lies_after_a_failed_commit_between(
    tmp_path: Path,
) -> None:
    """Its tag seen in A-06 (not lit for it), then a commit fails and the desk reads its
    sessions again from the file: when the delivery times out, the reader is still told to
    watch the pack anew."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    keeper.putaways.scanned(scan("B0", serial="77"), "goods-in", "R-01", "Ana")
    assert apply(keeper, Arrived(amox_tag("77"), "A-06")).putaway_mistakes
    flush = keeper.ledger.flush

    def full() -> None:
        flush()
        raise sqlite3.OperationalError("database or disk is full")

    keeper.ledger.flush = full  # type: ignore[method-assign]
    other = Movement(MovementKind.RECEIVE, IBU.gtin, 1, batch="X", to_slot="A-05")
    with pytest.raises(sqlite3.OperationalError):
        apply(keeper, Book((other,)))
    keeper.ledger.flush = flush  # type: ignore[method-assign]
    clock.now += timedelta(seconds=TIMES.timeout_seconds)
    assert apply(keeper, PickTick()).booked_epcs == [amox_tag("77").epc]
