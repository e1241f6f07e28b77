"""A gateway starting over a real mosquitto judges every product's shelf as found: one empty or
short gets its alarms and its request at once (none twice across restarts); a new ledger,
whose shelves are still to be read in, asks for nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.daemon import gateway as gateway_module
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import (
    PREFIX,
    config,
    products,
    requests,
    start_gateway,
    stock,
    stop_gateway,
)


async def written(gateway: Gateway) -> None:
    """Until the start's check (after the readers' time to book the shelves) is carried out."""
    await asyncio.wait_for(gateway.shortages_checked.wait(), 30)


def request_messages(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'procurement_request'")
        return int(row.fetchone()[0])


async def test_a_shelf_found_empty_at_start_is_alarmed_and_requested_once(
    broker: LocalBroker,
    tmp_path: Path,
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wanted = products(auto=2)
    stocked, empty = wanted
    db = tmp_path / "ledger.sqlite"
    stock(db, [stocked])  # the second product was added to the configuration, its shelf empty
    settings = config(db, broker.url, wanted)
    # No reader here has packs to book: the start's check need not wait the usual 10 s for them.
    settings["presence"] = {"dwell_seconds": 0.5}
    monkeypatch.setattr(gateway_module, "SHELVES_READ_IN_SECONDS", 0.5)
    centre = subscribe(f"{PREFIX}/procurement/request", f"{PREFIX}/alarms/+")
    gateway, task = await start_gateway(settings)
    try:
        await written(gateway)  # judged once the shelves have been read in, not before
        (request,) = await eventually(
            lambda: centre.payloads("/procurement/request"), what="the empty shelf requested"
        )

        def alarm_ids() -> set[str]:
            return {m.topic.rsplit("/", 1)[1] for m in centre.drain() if "/alarms/" in m.topic}

        await eventually(lambda: len(alarm_ids()) == 2, what="its alarms")
        await written(gateway)
    finally:
        await stop_gateway(gateway, task)
    assert (request["gtin"], request["quantity"], request["priority"]) == (
        empty["gtin"],
        empty["par"],
        "urgent",
    )
    assert request["reason"]["on_hand"] == 0
    assert alarm_ids() == {f"shortage-{empty['gtin']}", f"stock_out-{empty['gtin']}"}
    gateway, task = await start_gateway(settings)  # restarted: covered, nothing asked again
    try:
        await written(gateway)
    finally:
        await stop_gateway(gateway, task)
    assert request_messages(db) == 1 and len(requests(db)) == 1


async def test_a_new_ledger_asks_for_nothing_before_its_shelves_are_read_in(
    broker: LocalBroker, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.sqlite"
    gateway, task = await start_gateway(config(db, broker.url, products(auto=2)))
    try:
        await written(gateway)
    finally:
        await stop_gateway(gateway, task)
    assert requests(db) == {}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM alarms").fetchone()[0] == 0
