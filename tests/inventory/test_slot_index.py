"""The slot index: FEFO order, exclusions, the expiry sweep and the vectorized shortage check."""

from __future__ import annotations

from datetime import date

from inventory.ledger.movements import Movement, MovementKind, StockStatus
from inventory.replenishment.policy import Product, ProductTable
from inventory.stock.slot_index import SlotIndex

GTIN = "04012345123456"
TODAY = date(2026, 11, 26)


def receive(
    index: SlotIndex, slot: str, batch: str, expiry: str | None, qty: int, gtin: str = GTIN
) -> None:
    index.apply(Movement(MovementKind.RECEIVE, gtin, qty, batch=batch, expiry=expiry, to_slot=slot))


def test_fefo_puts_the_earliest_expiry_first_and_leaves_out_expired_and_quarantined() -> None:
    index = SlotIndex()
    receive(index, "A-03", "LATE", "2027-06-30", 5)
    receive(index, "A-01", "SOON", "2026-12-31", 2)
    receive(index, "A-02", "GONE", "2026-11-25", 4)  # expired yesterday
    receive(index, "A-04", "NONE", None, 1)  # no expiry: last
    receive(index, "A-05", "HELD", "2026-12-01", 3)
    index.apply(
        Movement(
            MovementKind.QUARANTINE,
            GTIN,
            3,
            batch="HELD",
            expiry="2026-12-01",
            from_slot="A-05",
            to_slot="A-05",
            to_status=StockStatus.QUARANTINED,
        )
    )
    assert [line.batch for line in index.fefo(GTIN, TODAY)] == ["SOON", "LATE", "NONE"]
    assert index.fefo_slots(GTIN, TODAY) == ["A-01", "A-03", "A-04"]
    assert index.on_hand(GTIN) == 2 + 5 + 4 + 1  # expired stock is on hand until written off


def test_fefo_follows_changes() -> None:
    index = SlotIndex()
    receive(index, "A-01", "SOON", "2026-12-31", 2)
    receive(index, "A-02", "LATE", "2027-06-30", 5)
    assert index.fefo_slots(GTIN, TODAY) == ["A-01", "A-02"]
    index.apply(
        Movement(MovementKind.PICK, GTIN, 2, batch="SOON", expiry="2026-12-31", from_slot="A-01")
    )
    assert index.fefo_slots(GTIN, TODAY) == ["A-02"]
    assert index.contents("A-01") == []


def test_expiry_sweep_finds_what_expires_within_the_window() -> None:
    index = SlotIndex()
    receive(index, "A-01", "SOON", "2026-12-10", 2)
    receive(index, "A-02", "GONE", "2026-11-01", 1)
    receive(index, "A-03", "LATE", "2027-06-30", 5)
    receive(index, "A-04", "NONE", None, 1)
    assert [line.batch for line in index.expiring(TODAY, 30)] == ["GONE", "SOON"]
    assert [line.batch for line in index.expiring(TODAY, 0)] == ["GONE"]


def test_shortage_check_over_every_product_at_once() -> None:
    index = SlotIndex()
    products = [Product(f"0401234512{n:03d}0", f"P{n}", reorder_point=2, par=6) for n in range(5)]
    for n, product in enumerate(products):
        receive(index, f"A-{n:02d}", "B", None, n, gtin=product.gtin)  # on hand 0..4
    table = ProductTable(products, index)
    assert [p.name for p in table.shortages({})] == ["P0", "P1", "P2"]
    assert [p.name for p in table.shortages({products[0].gtin: 6})] == ["P1", "P2"]


def test_lines_of_a_serial_are_the_packs_with_it_and_empty_means_the_counted_ones() -> None:
    index = SlotIndex()
    receive(index, "A-01", "B1", "2027-01-31", 3)  # counted packs
    for n, slot in enumerate(("A-01", "A-02", "A-02")):
        index.apply(
            Movement(MovementKind.RECEIVE, GTIN, 1, serial=f"S{n}", batch="B2", to_slot=slot)
        )
    index.apply(Movement(MovementKind.RECEIVE, "04012345123463", 1, serial="S1", to_slot="A-03"))
    assert [(x.slot, x.serial) for x in index.lines_of(GTIN, "S1")] == [("A-02", "S1")]
    assert [(x.batch, x.quantity) for x in index.lines_of(GTIN, "")] == [("B1", 3)]
    assert index.lines_of(GTIN, "S9") == []
    assert len(index.lines_of(GTIN)) == 4
