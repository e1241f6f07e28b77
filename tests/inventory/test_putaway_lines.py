"""Which line of its notice a pack put counts on, at the keeper: the line naming its batch
before a line for any batch, wherever the notice lists them, and the same when reckoning what
a line still awaits while packs wait to be put."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from inventory.apply import apply
from inventory.changes import PickTick
from inventory.keeper import InventoryKeeper
from inventory.putaway.sessions import Notice, NoticeLine
from tests.inventory.test_putaway import AMOX, TIMES, Clock, answers, open_keeper, scan

# Any batch first, then batch AX: AX packs belong on the second line.
ANY_THEN_AX = (NoticeLine(AMOX.gtin, 2), NoticeLine(AMOX.gtin, 2, "AX"))


def scan_and_put(keeper: InventoryKeeper, batch: str, serial: str) -> None:
    desk = keeper.putaways
    desk.scanned(scan(batch, serial=serial), "goods-in", "R-01", "Ana")
    lit = answers(keeper, "lit")[-1]
    desk.button(str(lit["slot"]), 1, shown=desk.sessions[str(lit["command_id"])].number)


def figures(lines: object) -> list[tuple[object, ...]]:
    assert isinstance(lines, list)
    return [(ln["batch"], ln["received"], ln["missing"], ln["excess"]) for ln in lines]


def test_a_pack_counts_on_its_batchs_line_before_a_line_for_any_batch(tmp_path: Path) -> None:
    """Two AX and two BX packs put for a notice of two of any batch, then two AX: every line
    is received in full, nothing is still to come, and the delivery closes done by itself."""
    clock = Clock()
    keeper = open_keeper(tmp_path / "l.sqlite", clock)
    desk = keeper.putaways
    desk.notice(Notice("N1", ANY_THEN_AX, scanner="goods-in"))
    for batch, serial in (("AX", "a0"), ("AX", "a1"), ("BX", "b0"), ("BX", "b1")):
        scan_and_put(keeper, batch, serial)
    session = desk.sessions["N1"]
    assert (session.put, session.missing, session.still_to_come) == (4, 0, False)
    clock.now += timedelta(seconds=TIMES.remind_after_seconds)
    apply(keeper, PickTick())
    assert answers(keeper, "paused") == []
    [closed] = answers(keeper, "closed")
    assert closed["how"] == "done"
    assert figures(closed["lines"]) == [(None, 2, 0, 0), ("AX", 2, 0, 0)]


def test_a_delivery_ended_by_hand_reports_no_named_batch_missing_that_came(
    tmp_path: Path,
) -> None:
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    keeper.putaways.notice(Notice("N1", ANY_THEN_AX, scanner="goods-in"))
    for batch, serial in (("AX", "a0"), ("AX", "a1"), ("AX", "a2"), ("BX", "b0")):
        scan_and_put(keeper, batch, serial)
    keeper.putaways.end("N1", "Ana")
    [closed] = answers(keeper, "closed")
    assert figures(closed["lines"]) == [(None, 2, 0, 0), ("AX", 2, 0, 0)]


def test_packs_waiting_for_a_batchs_line_leave_the_line_for_any_batch_awaiting_others(
    tmp_path: Path,
) -> None:
    """N1 announces three AX and two of any batch; three AX packs wait to be put there: a BX
    pack is N1's still (its line for any batch awaits two), not N2's."""
    keeper = open_keeper(tmp_path / "l.sqlite", Clock())
    desk = keeper.putaways
    lines = (NoticeLine(AMOX.gtin, 3, "AX"), NoticeLine(AMOX.gtin, 2))
    desk.notice(Notice("N1", lines, scanner="goods-in"))
    desk.notice(Notice("N2", (NoticeLine(AMOX.gtin, 5),), scanner="goods-in"))
    for serial in ("a0", "a1", "a2"):
        desk.scanned(scan("AX", serial=serial), "goods-in", "R-01", "Ana")
    desk.scanned(scan("BX", serial="b0"), "goods-in", "R-01", "Ana")
    assert [(a["batch"], a["command_id"]) for a in answers(keeper, "lit")] == [
        ("AX", "N1"),
        ("AX", "N1"),
        ("AX", "N1"),
        ("BX", "N1"),
    ]
    assert desk.sessions["N1"].still_expected(AMOX.gtin, "BX") == 1
