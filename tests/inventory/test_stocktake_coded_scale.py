"""Packs the ledger holds by their code, read by their tags in a large sweep: each joined to its
own line, none counted twice (the time it takes: bench/bench_stocktake.py)."""

from __future__ import annotations

from inventory.codes.identifiers import PackId
from inventory.ledger.movements import StockStatus
from inventory.stock.slot_index import StockLine
from inventory.stocktake.reconcile import reconcile

GTIN = "04012345000001"


def test_thousands_of_packs_booked_by_code_reconcile_at_once() -> None:
    untagged, packs, seen = [], {}, {}
    for n in range(20_000):  # a shelf's packs booked in by their code, no tag
        slot = f"S-{n % 100 + 1:02d}"
        serial = f"{n:08d}"
        untagged.append(StockLine(slot, GTIN, "B1", serial, StockStatus.AVAILABLE, None, None, 1))
        if n % 2 == 0:  # tagged since: the handheld reads their tags
            epc = f"urn:epc:id:sgtin:4012345.000000.{n}"
            packs[epc] = PackId(epc, GTIN, serial)
            seen[epc] = slot
    slots = [f"S-{n:02d}" for n in range(1, 101)]
    report = reconcile("st-1", "S", "Ana", slots, seen, packs, [], untagged)
    assert report.summary()["seen"] == 10_000 and report.summary()["unexpected"] == 0
