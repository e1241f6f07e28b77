"""The procurement round trip on the running daemon: a proposal confirmed by a pharmacist goes
out, the centre's answers move it along (a bad one is answered with an error), and the delivery
scanned in at the receiving desk closes it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.scanner_sim import GS, ScannerSimulator
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.replenishment.policy import Product
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually, scanners_open, subscribed

PREFIX = "rxedge/v1/s1/g1"
GTIN = "05012345678900"
PRODUCT = Product(GTIN, "Ibuprofen 400 mg", reorder_point=2, par=6, auto_confirm=False)


def status(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status, received FROM procurement_requests").fetchall()


async def test_a_confirmed_request_is_answered_and_closed_by_the_delivery(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {GTIN: PRODUCT}, "s1", "g1")
    keeper.commit([Movement(MovementKind.RECEIVE, GTIN, 3, batch="B1", to_slot="A-01")])
    keeper.commit([Movement(MovementKind.PICK, GTIN, 1, batch="B1", from_slot="A-01")])
    [proposal] = keeper.orders.open_requests()
    keeper.close()
    scanner = ScannerSimulator(link=tmp_path / "desk")
    await scanner.start()
    config = parse_config(
        {
            "site": "s1",
            "gateway": "g1",
            "database": str(db),
            "create_database": True,
            "broker": {"url": broker.url},
            "scanners": [
                {"name": "desk", "port": scanner.port, "role": "receiving", "receive_to": "A-02"}
            ],
            "shelves": [{"name": "A", "host": "127.0.0.1", "port": 1, "slots": 4}],
            "products": [
                {
                    "gtin": GTIN,
                    "name": PRODUCT.name,
                    "reorder_point": 2,
                    "par": 6,
                    "auto_confirm": False,
                }
            ],
        }
    )
    gateway = Gateway(config)
    task = asyncio.create_task(gateway.run())
    try:
        centre = subscribe(f"{PREFIX}/procurement/request", f"{PREFIX}/cmd-result")
        await eventually(gateway.ready.is_set)
        await subscribed(gateway)  # a command sent before would reach no one
        rid = proposal.request_id
        assert centre.payloads("/procurement/request") == [], "a proposal is not sent"
        centre.publish(
            f"{PREFIX}/cmd/procurement-confirm",
            json.dumps(with_envelope({"request_id": rid, "by": "Dr. Ruiz"})),
        )
        [request] = await eventually(lambda: centre.payloads("/procurement/request"))
        assert request["request_id"] == rid and request["confirmed_by"] == "Dr. Ruiz"
        shipped = {"note": "DHL 123", "by": "Ana Ruiz", "at": "2026-12-05T10:02:00Z"}
        for answer, said in (("accepted", {}), ("shipped", shipped), ("accepted", {})):
            body = {"request_id": rid, "status": answer, **said}  # the last cannot follow
            centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
        errors = await eventually(
            lambda: [r for r in centre.payloads("/cmd-result") if r["status"] == "error"]
        )
        assert errors[0]["command"] == "procurement-status" and "cannot become" in str(
            errors[0]["error"]
        )
        assert status(db) == [("shipped", 0)]
        await scanners_open(gateway)
        for n in range(4):
            scanner.scan(f"01{GTIN}17301231" + f"10B2{GS}21S{n}")
        await eventually(lambda: status(db) == [("received", 4)], what="closed by the delivery")
        with sqlite3.connect(db) as conn:
            received = conn.execute(
                "SELECT count(*) FROM movements WHERE kind = 'receive' AND to_slot = 'A-02'"
            ).fetchone()[0]
            kept = conn.execute(
                "SELECT note, answered_by, answered_at FROM procurement_requests"
            ).fetchone()
        assert received == 4
        assert kept == ("DHL 123", "Ana Ruiz", "2026-12-05T10:02:00.000Z"), "the answer outlives it"
    finally:
        gateway.stop()
        await asyncio.wait_for(task, 10)
        await scanner.stop()
