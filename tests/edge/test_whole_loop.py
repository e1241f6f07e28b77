"""The whole loop over real transports: a reader on a pty, a Modbus TCP shelf controller, the
daemon, a real mosquitto and an independent subscriber standing in for the centre."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from drivers.modbus.profile import Colour
from edge.daemon import ledger_questions as ask
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from tests.conftest import Subscriber, eventually

GTIN = "04012345123456"
PACKS = [sgtin96("4012345", "012345", n) for n in range(1, 6)]
OTHER = sgtin96("5012345", "067890", 1)  # GTIN 05012345678900


@dataclass
class Shelf:
    reader: R2000Simulator
    controller: ShelfControllerSimulator
    db: Path
    broker: LocalBroker

    def config(self) -> dict[str, object]:
        return {
            "site": "site-1",
            "gateway": "gw-1",
            "database": str(self.db),
            "create_database": True,
            "broker": {"url": self.broker.url},
            "presence": {"dwell_seconds": 0.6},
            "readers": [
                {"name": "r1", "port": self.reader.port, "antennas": {"1": "A-01", "2": "A-02"}}
            ],
            "shelves": [
                {"name": "A", "host": "127.0.0.1", "port": self.controller.port, "slots": 24}
            ],
            "products": [
                {
                    "gtin": GTIN,
                    "name": "Amoxicillin 500 mg",
                    "reorder_point": 2,
                    "par": 6,
                    "slots": ["A-01"],
                },
                {
                    "gtin": "05012345678900",
                    "name": "Ibuprofen 400 mg",
                    "reorder_point": 0,
                    "par": 3,
                },
            ],
        }


@pytest.fixture
async def shelf(broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Shelf]:
    reader = R2000Simulator(link=tmp_path / "reader")
    controller = ShelfControllerSimulator(slots=24)
    await reader.start()
    await controller.start()
    for epc in PACKS:
        reader.place(1, epc)
    reader.place(2, OTHER)
    made = Shelf(reader, controller, tmp_path / "ledger.sqlite", broker)
    yield made
    await reader.stop()
    await made.controller.stop()  # a test may have replaced it


async def start_gateway(shelf: Shelf) -> tuple[Gateway, asyncio.Task[None]]:
    gateway = Gateway(parse_config(shelf.config()))
    task = asyncio.create_task(gateway.run())
    await eventually(gateway.ready.is_set)
    return gateway, task


async def stop_gateway(gateway: Gateway, task: asyncio.Task[None]) -> None:
    gateway.stop()
    await asyncio.wait_for(task, 10)


def movements(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT kind, serial, coalesce(from_slot, to_slot) FROM movements ORDER BY id"
        ).fetchall()


async def test_packs_leaving_the_shelf_end_in_a_procurement_request(
    shelf: Shelf, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe("rxedge/v1/site-1/gw-1/#")
    gateway, task = await start_gateway(shelf)
    try:
        await eventually(lambda: len(movements(shelf.db)) == 6, what="packs put away")
        assert sorted(m[0] for m in movements(shelf.db)) == ["put_away"] * 6
        assert centre.payloads("procurement/request") == []

        for epc in PACKS[:3]:
            shelf.reader.remove(epc)
        await eventually(lambda: len(movements(shelf.db)) == 9, what="three picks")
        picks = [m for m in movements(shelf.db) if m[0] == "pick"]
        assert sorted(picks) == [("pick", str(n), "A-01") for n in (1, 2, 3)]
        assert await gateway.ledger.ask(partial(ask.on_hand, GTIN)) == 2

        (request,) = await eventually(lambda: centre.payloads("procurement/request"))
        assert uuid.UUID(request["request_id"])
        for name in (
            "created_at",
            "gtin",
            "name",
            "batch_hint",
            "quantity",
            "unit",
            "priority",
            "reason",
            "confirmed_by",
        ):
            assert name in request, name
        assert request["gtin"] == GTIN and request["name"] == "Amoxicillin 500 mg"
        assert request["quantity"] == 4 and request["unit"] == "pack"
        assert request["reason"] == {"on_hand": 2, "on_order": 0, "reorder_point": 2, "par": 6}

        alarm_topic = f"rxedge/v1/site-1/gw-1/alarms/shortage-{GTIN}"
        alarms = await eventually(
            lambda: [m for m in centre.drain() if m.topic == alarm_topic], what="alarm message"
        )
        assert json.loads(alarms[0].payload)["state"] == "raised"
        late = subscribe(alarm_topic, client_id="late-subscriber")  # sees retained state only
        (kept,) = await eventually(late.drain, what="retained alarm")
        assert kept.retain and json.loads(kept.payload)["kind"] == "shortage"
        with sqlite3.connect(shelf.db) as conn:
            assert conn.execute("SELECT kind, state FROM alarms").fetchall() == [
                ("shortage", "raised")
            ]

        async def slot_amber() -> bool:
            light = await shelf.controller.light(0)
            return light.on and light.colour is Colour.AMBER

        await eventually(slot_amber, what="slot A-01 amber")
        assert not (await shelf.controller.light(1)).on  # A-02 (not short) stays dark
        await eventually(lambda: _empty(gateway.ledger.ask(ask.all_pending)), what="outbox drained")
        status = [m.payload for m in centre.drain() if m.topic.endswith("/status")]
        assert status[0] == b"online"
    finally:
        await stop_gateway(gateway, task)


async def test_after_a_restart_the_state_and_the_light_come_back_and_nothing_is_asked_twice(
    shelf: Shelf, subscribe: Callable[..., Subscriber]
) -> None:
    centre = subscribe("rxedge/v1/site-1/gw-1/procurement/request")
    gateway, task = await start_gateway(shelf)
    await eventually(lambda: len(movements(shelf.db)) == 6)
    for epc in PACKS[:3]:
        shelf.reader.remove(epc)
    await eventually(lambda: centre.payloads("request"), what="first request")
    await stop_gateway(gateway, task)

    # The controller loses power meanwhile: its registers are blank when the daemon returns.
    port = shelf.controller.port
    await shelf.controller.stop()
    shelf.controller = ShelfControllerSimulator(slots=24, port=port)
    await shelf.controller.start()

    gateway, task = await start_gateway(shelf)
    try:
        assert await gateway.ledger.ask(partial(ask.on_hand, GTIN)) == 2

        async def slot_amber() -> bool:
            return (await shelf.controller.light(0)).colour is Colour.AMBER

        await eventually(slot_amber, what="light restored from the live alarm")
        shelf.reader.remove(PACKS[3])  # on hand 1: the open request still covers it
        await eventually(lambda: _on_hand_is(gateway, 1))
        await asyncio.sleep(0.3)
        # Delivery is at least once (a message on the wire when the daemon stopped is sent
        # again); what must not happen is a second request.
        assert len({r["request_id"] for r in centre.payloads("request")}) == 1
    finally:
        await stop_gateway(gateway, task)


async def _empty(rows: object) -> bool:
    return await rows == []  # type: ignore[misc]


async def _on_hand_is(gateway: Gateway, expected: int) -> bool:
    return await gateway.ledger.ask(partial(ask.on_hand, GTIN)) == expected
