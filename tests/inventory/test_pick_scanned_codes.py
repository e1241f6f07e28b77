"""A tagged pack the ledger knows by its tag alone (booked from a fixed reader's first sight:
no batch, no expiry), scanned by its GS1 code for a pick list: judged by the batch and expiry
its code says, and booked with them."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inventory.apply import apply
from inventory.changes import Arrived
from inventory.codes.barcodes import PackScan
from inventory.keeper import InventoryKeeper
from inventory.picking.lists import PickLine, PickRequest
from tests.inventory.pick_shelves import (
    AMOX,
    Clock,
    movements,
    put,
    results,
    stocked_keeper,
    tagged,
)


@pytest.fixture
def keeper(tmp_path: Path, clock: Clock) -> InventoryKeeper:
    k = stocked_keeper(tmp_path / "l.sqlite", clock)
    k.put_away(tagged(5), "A-07", reason="seen on shelf")  # a fixed reader's first sight
    line = k.line_of_epc(tagged(5).epc)
    assert line is not None and (line.batch, line.expiry) == ("", None)
    return k


@pytest.mark.parametrize(
    ("batch", "expiry", "reason"),
    [("OLD", date(2026, 10, 31), "expired"), ("BAD", date(2027, 3, 31), "recalled")],
)
def test_a_tag_scanned_whose_code_is_expired_or_recalled_is_a_mistake(
    keeper: InventoryKeeper, batch: str, expiry: date, reason: str
) -> None:
    keeper.picks.start(PickRequest("rx-1", (PickLine(AMOX.gtin, 4),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, expiry, batch, "5"), "desk")
    assert [(m.reason, m.slot) for m in out.mistakes] == [(reason, "A-07")]
    assert f"batch {batch}" in out.mistakes[0].seen
    assert movements(keeper) == [] and keeper.line_of_epc(tagged(5).epc) is not None


def test_a_code_is_expired_by_the_sites_date(keeper: InventoryKeeper, clock: Clock) -> None:
    """12:00 UTC on the 26th is past midnight in Auckland: a pack good through the 26th is
    expired there, whatever the date in UTC."""
    keeper.calendar.zone = ZoneInfo("Pacific/Auckland")
    clock.advance(3 * 3600)
    keeper.picks.start(PickRequest("rx-2", (PickLine(AMOX.gtin, 4),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, date(2026, 11, 26), "B1", "5"), "desk")
    assert [m.reason for m in out.mistakes] == ["expired"] and movements(keeper) == []
    tomorrow = date(2026, 11, 26) + timedelta(days=1)
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, tomorrow, "B1", "5"), "desk")
    assert out.mistakes == [] and len(movements(keeper)) == 1


def test_a_tag_scanned_for_a_line_naming_its_batch_is_booked_with_its_code(
    keeper: InventoryKeeper,
) -> None:
    put(keeper, "A-08", "B1", "2027-06-30", 1)  # the line is allocated B1 there
    keeper.picks.start(PickRequest("rx-3", (PickLine(AMOX.gtin, 1, batch="B1"),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, date(2027, 6, 30), "B1", "5"), "desk")
    assert out.mistakes == [] and keeper.line_of_epc(tagged(5).epc) is None
    report = results(keeper, "rx-3")[1]
    assert (report["status"], report["slot"], report["batch"], report["expiry"]) == (
        "progress",
        "A-07",
        "B1",
        "2027-06-30",
    )
    [(slot, expiry, reason)] = keeper.db.execute(
        "SELECT from_slot, expiry, reason FROM movements WHERE kind = 'pick'"
    ).fetchall()
    assert (slot, expiry) == ("A-07", "2027-06-30") and "batch B1 as scanned" in reason
    # A-08's B1 pack is free again, and the list is done with the pack it took.
    assert results(keeper, "rx-3")[-1]["status"] == "done"


def test_a_scanned_tag_put_back_is_on_the_shelf_with_its_codes_batch_and_expiry(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-4", (PickLine(AMOX.gtin, 5),)))
    keeper.shelf.scanned(PackScan(AMOX.gtin, date(2027, 8, 31), "B2", "5"), "desk")
    assert keeper.line_of_epc(tagged(5).epc) is None
    apply(keeper, Arrived(tagged(5), "A-07"))  # put back while the list is open
    line = keeper.line_of_epc(tagged(5).epc)
    assert line is not None and (line.slot, line.batch, line.expiry) == (
        "A-07",
        "B2",
        "2027-08-31",
    )
    assert results(keeper, "rx-4")[-1]["confirmed_by"] == "put back"


def test_a_counted_pack_whose_printed_expiry_has_passed_is_expired_whatever_the_ledger_says(
    keeper: InventoryKeeper,
) -> None:
    """The ledger has batch LATE good until 2027-12-31; a pack of it printed 2026-01-01 is
    mislabelled or not genuine, and its patient would go by the printed date."""
    keeper.picks.start(PickRequest("rx-5", (PickLine(AMOX.gtin, 1),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, date(2026, 1, 1), "LATE", ""), "desk")
    assert [(m.reason, m.slot) for m in out.mistakes] == [("expired", "A-01")]
    seen = out.mistakes[0].seen
    assert "expiry 2026-01-01" in seen and "the ledger has 2027-12-31" in seen, seen
    assert results(keeper, "rx-5")[-1]["seen"] == seen and movements(keeper) == []


def test_a_pack_printed_later_than_its_expired_batch_on_the_ledger_is_expired(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-6", (PickLine(AMOX.gtin, 1),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, date(2028, 1, 31), "OLD", ""), "desk")
    assert [m.reason for m in out.mistakes] == ["expired"] and movements(keeper) == []
    assert "printed expiry 2028-01-31, the ledger has 2026-10-31" in out.mistakes[0].seen


def test_a_pack_printed_earlier_but_still_good_is_booked_by_its_printed_date_and_said(
    keeper: InventoryKeeper,
) -> None:
    keeper.picks.start(PickRequest("rx-7", (PickLine(AMOX.gtin, 1),)))
    out = keeper.shelf.scanned(PackScan(AMOX.gtin, date(2027, 6, 30), "LATE", ""), "desk")
    assert out.mistakes == [] and movements(keeper) == [("pick", "A-01", "LATE", 1, "rx-7")]
    assert results(keeper, "rx-7")[1]["expiry"] == "2027-06-30"
    assert any("printed expiry 2027-06-30, the ledger has 2027-12-31" in n for n in out.notes)
