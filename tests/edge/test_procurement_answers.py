"""The centre's answers on `procurement/status` reaching a running gateway: every answer is
applied or refused in words, however many arrive at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from inventory.changes import Book
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
    change,
    config,
    products,
    requests,
    start_gateway,
    stock,
    stop_gateway,
    take_one,
)


async def test_answers_queued_while_the_gateway_was_away_are_all_applied_on_its_return(
    broker: LocalBroker, tmp_path: Path, subscribe: Callable[..., Subscriber]
) -> None:
    wanted = products(auto=20)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    settings = config(db, broker.url, wanted)
    gateway, task = await start_gateway(settings)
    try:
        for product in wanted:
            change(gateway, Book((take_one(product["gtin"]),)))
        await eventually(lambda: len(requests(db)) == 20, what="twenty requests raised")
    finally:
        await stop_gateway(gateway, task)
    centre = subscribe(f"{PREFIX}/cmd-result")
    # The gateway is away (its session kept); the centre answers each request twice.
    for rid in requests(db):
        for status in ("accepted", "ordered"):
            body = {"request_id": rid, "status": status, "by": "Purchasing"}
            centre.publish(f"{PREFIX}/procurement/status", json.dumps(body))
    gateway, task = await start_gateway(settings)
    try:
        await eventually(
            lambda: set(requests(db).values()) == {"ordered"},
            timeout=15,
            what="every answer applied",
        )
    finally:
        await stop_gateway(gateway, task)
    assert [r for r in centre.payloads("/cmd-result") if r["status"] == "error"] == []
