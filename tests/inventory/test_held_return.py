"""A held pack stays held until a person releases it, however it left the shelves and however it
comes back: one a confirmed count missed (booked out of quarantine) is held again when a fixed
reader sees it or the next count finds it, as one written off while held is; and a pack refused
at goods-in is held wherever it turns up, with its `refused_pack` alarm naming the slot, found
by a count on a slot no reader watches as when a fixed reader sees it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind
from inventory.apply import apply
from inventory.changes import Arrived, ConfirmStocktake, FinishStocktake
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.stock.held_packs import LEFT_HELD
from tests.inventory.test_putaway import AMOX, Clock, open_keeper, scan
from tests.inventory.test_putaway_laid import announce, booked, live, tag
from tests.inventory.test_stocktake import pack, sweep_of


def count(keeper: InventoryKeeper, stocktake_id: str, found: dict[int, str]) -> None:
    """A handheld sweep of shelf A finding packs `found` (number -> slot), confirmed by Bea."""
    sweep = sweep_of(found)
    sweep.stocktake_id = stocktake_id
    apply(keeper, FinishStocktake(sweep, ""))
    apply(keeper, ConfirmStocktake(stocktake_id, "Bea"))


def status(keeper: InventoryKeeper, n: int) -> tuple[str, StockStatus] | None:
    line = keeper.line_of_epc(pack(n).epc)
    return None if line is None else (line.slot, line.status)


def shelved(path: Path) -> InventoryKeeper:
    """Pack 1 available in A-01; pack 5, a refused delivery held back, quarantined in A-02."""
    keeper = open_keeper(path, Clock())
    for n, slot, held in ((1, "A-01", StockStatus.AVAILABLE), (5, "A-02", StockStatus.QUARANTINED)):
        p = pack(n)
        put = Movement(MovementKind.PUT_AWAY, AMOX.gtin, 1, p.serial, p.epc, "SHORT", "2027-02-20")
        keeper.commit([replace(put, to_slot=slot, to_status=held)])
    return keeper


@pytest.mark.parametrize("seen_by", ["a fixed reader", "the next count"])
def test_a_held_pack_a_count_missed_and_booked_out_comes_back_held(
    tmp_path: Path, seen_by: str
) -> None:
    keeper = shelved(tmp_path / "l.sqlite")
    count(keeper, "st-1", {1: "A-01"})  # pack 5's tag did not answer the handheld
    assert status(keeper, 5) is None
    (out,) = keeper.db.execute(
        "SELECT kind, from_status FROM movements WHERE serial = '5' ORDER BY id DESC LIMIT 1"
    ).fetchall()
    assert tuple(out) == ("count_adjustment", "quarantined")

    if seen_by == "a fixed reader":
        apply(keeper, Arrived(pack(5), "A-02"))
    else:
        count(keeper, "st-2", {1: "A-01", 5: "A-02"})

    assert status(keeper, 5) == ("A-02", StockStatus.QUARANTINED), "pickable again"
    assert keeper.on_hand(AMOX.gtin) == 1
    reasons = [r for (r,) in keeper.db.execute("SELECT reason FROM movements WHERE serial = '5'")]
    assert any(LEFT_HELD in reason for reason in reasons), reasons


def test_a_pack_released_after_it_came_back_is_not_held_again_when_seen_elsewhere(
    tmp_path: Path,
) -> None:
    keeper = shelved(tmp_path / "l.sqlite")
    held = keeper.line_of_epc(pack(5).epc)
    assert held is not None
    keeper.commit([held.leaving(MovementKind.WRITE_OFF, None, "Ana", "taken off while held")])
    apply(keeper, Arrived(pack(5), "A-02"))  # still there after all: back, held again
    line = keeper.line_of_epc(pack(5).epc)
    assert line is not None and line.status is StockStatus.QUARANTINED
    release = Movement(
        MovementKind.RELEASE,
        AMOX.gtin,
        1,
        line.serial,
        line.epc,
        line.batch,
        line.expiry,
        "A-02",
        "A-02",
        "Ana",
        "looked at: fit to dispense",
        from_status=StockStatus.QUARANTINED,
    )
    keeper.commit([release])

    apply(keeper, Arrived(pack(5), "A-03"))  # a fixed reader sees it where it was moved to

    assert status(keeper, 5) == ("A-03", StockStatus.AVAILABLE)


def refused_and_laid(path: Path, delivery: str) -> InventoryKeeper:
    """Delivery D-1 refuses pack 99 at goods-in as expired; it is laid on a shelf all the same.
    `delivery`: whether D-1 is still open or ended."""
    keeper = open_keeper(path, Clock())
    keeper.commit([Movement(MovementKind.PUT_AWAY, AMOX.gtin, 1, batch="B0", to_slot="A-01")])
    announce(keeper.putaways, "D-1", 2, request_id="")
    keeper.putaways.scanned(scan("B1", days=-5, serial="99"), "goods-in", "R-01", "Ana")
    if delivery == "ended":
        keeper.putaways.end("D-1", "Centre")
    return keeper


@pytest.mark.parametrize("delivery", ["open", "ended"])
def test_a_refused_pack_a_count_finds_is_held_with_its_alarm_as_a_reader_seeing_it_would(
    tmp_path: Path, delivery: str
) -> None:
    counted = refused_and_laid(tmp_path / "counted.sqlite", delivery)
    count(counted, "st-1", {99: "A-02"})  # a slot no fixed reader watches
    seen = refused_and_laid(tmp_path / "seen.sqlite", delivery)
    apply(seen, Arrived(tag("99"), "A-02"))

    expiry = scan(days=-5).expiry.isoformat()  # type: ignore[union-attr]
    [(kind, slot, batch, held_to, to_status, reference)] = booked(counted, "99")
    assert (kind, reference) == ("count_adjustment", "st-1")
    assert (slot, batch, held_to, to_status) == ("A-02", "B1", expiry, "quarantined")
    assert booked(seen, "99")[0][1:5] == (slot, batch, held_to, to_status)
    assert counted.on_hand(AMOX.gtin) == seen.on_hand(AMOX.gtin) == 1, "never pickable"
    [alarm] = [a for a in live(counted, AlarmKind.REFUSED_PACK) if a.get("on_shelf")]
    assert [a for a in live(seen, AlarmKind.REFUSED_PACK) if a.get("on_shelf")] == [alarm]
    assert (alarm["slot"], alarm["on_shelf"], alarm["delivery_id"]) == ("A-02", True, "D-1")
    if delivery == "open":  # its delivery knows where its refused pack is held
        for keeper in (counted, seen):
            (refused,) = keeper.putaways.sessions["D-1"].refusals
            assert refused.held_in == "A-02"
