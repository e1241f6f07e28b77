"""Packs the ledger holds by their code, read by their tags in a large sweep: joined to their
lines in time linear in the lines (the reconciliation runs on the ledger's writer)."""

from __future__ import annotations

import time

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
    started = time.perf_counter()
    report = reconcile("st-1", "S", "Ana", slots, seen, packs, [], untagged)
    took = time.perf_counter() - started
    assert report.summary()["seen"] == 10_000 and report.summary()["unexpected"] == 0
    assert took < 1.0, f"{took:.2f} s on the ledger's writer for 20,000 lines"
