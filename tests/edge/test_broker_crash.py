"""A broker that crashes (SIGKILL, as a power cut would) comes back with what it last saved to
disk (mosquitto: every `autosave_interval`, 1800 s unless set), not with everything it had
acknowledged since. The gateway marked those messages sent; when it connects again it puts its
retained alarms right: a clear the broker lost is sent again, and so is a raise."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

from edge.daemon.activity import Activity
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.alarms.lifecycle import AlarmKind, alarm_id
from inventory.changes import Book
from tests.conftest import Subscriber, eventually, retained_at, subscribed
from tests.edge.procurement_rig import (
    PREFIX,
    change,
    config,
    products,
    put_back,
    stock,
    stop_gateway,
    take_one,
)

ALARMS = f"{PREFIX}/alarms/+"


def shortage_topic(gtin: str) -> str:
    return f"{PREFIX}/alarms/{alarm_id(AlarmKind.SHORTAGE, gtin)}"


def alarm_messages(db: Path) -> tuple[int, int]:
    """Alarm messages in the outbox: written, and acknowledged by the broker."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT count(*), count(sent_at) FROM outbox WHERE kind = 'alarm'")
        written, sent = row.fetchone()
        return int(written), int(sent)


async def held_states(broker: LocalBroker) -> dict[str, str]:
    """Alarm topic -> state, as the broker holds them retained."""
    held = await asyncio.to_thread(retained_at, broker.port, ALARMS)
    return {topic: payload.decode() for topic, payload in held.items()}


async def holds_only(broker: LocalBroker, topic: str) -> bool:
    return list(await held_states(broker)) == [topic]


async def test_alarms_a_broker_crash_lost_are_put_right_when_the_gateway_connects_again(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    wanted = products(auto=2)
    first, second = (p["gtin"] for p in wanted)
    db = tmp_path / "ledger.sqlite"
    stock(db, wanted)
    told: list[Activity] = []
    subscribe(ALARMS)  # every alarm message the gateway sends is checked against the contract
    gateway = Gateway(parse_config(config(db, broker.url, wanted)), observer=told.append)
    task = asyncio.create_task(gateway.run())
    try:
        await subscribed(gateway)
        change(gateway, Book((take_one(first),)))  # the first product runs short
        await eventually(lambda: alarm_messages(db) == (1, 1), what="the alarm at the broker")
        states = await held_states(broker)
        assert list(states) == [shortage_topic(first)]
        await broker.stop()  # an orderly restart: the broker saves what it holds
        await broker.start()
        rounds = gateway.alarms_at_broker.rounds
        await eventually(lambda: gateway.alarms_at_broker.rounds > rounds, what="reconnected")
        assert await held_states(broker) == states
        assert not [a for a in told if "put right" in a.text], "nothing lost, nothing sent"

        change(gateway, Book((put_back(first),)))  # its alarm clears
        change(gateway, Book((take_one(second),)))  # the second runs short
        await eventually(lambda: alarm_messages(db) == (3, 3), what="both acknowledged")
        assert await holds_only(broker, shortage_topic(second))

        broker.kill()  # before its next autosave: what it acknowledged since the last is gone
        told.clear()
        await broker.start()
        await eventually(
            lambda: holds_only(broker, shortage_topic(second)),
            what="the broker holding the ledger's live alarms",
        )
        held = await held_states(broker)
        assert '"state":"raised"' in held[shortage_topic(second)]
        put_right = [a.text for a in told if "put right" in a.text]
        assert put_right == [
            "alarms at the broker put right: 1 live sent again, 1 no longer live cleared"
        ], "the broker came back with the first raised and without the second"
    finally:
        await stop_gateway(gateway, task)
