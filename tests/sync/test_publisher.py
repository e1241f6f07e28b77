"""The outbox publisher against a real mosquitto: marked sent only on PUBACK, nothing lost
while the broker is away, birth and last will on the status topic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from edge.local_broker import LocalBroker
from inventory.outbox import MessageKind, Outbox, OutboxRow
from inventory.store import connect, transaction
from sync.broker_url import BrokerAddress
from sync.mqtt_session import Announcement, MqttSession
from sync.publisher import OutboxPublisher
from sync.topics import Topics
from tests.conftest import Subscriber, eventually

TOPICS = Topics("site-1", "gw-1")


class OutboxOnDisk:
    def __init__(self, path: Path):
        self.db = connect(path)
        self.outbox = Outbox(self.db)

    def add(self, n: int, start: int = 0) -> None:
        with transaction(self.db):
            self.db.executemany(
                "INSERT INTO outbox (created_at, kind, key, payload) VALUES ('t', ?, ?, ?)",
                [
                    (str(MessageKind.PROCUREMENT_REQUEST), request_id(i), request(i))
                    for i in range(start, start + n)
                ],
            )

    async def pending(self, limit: int, after: int) -> list[OutboxRow]:
        return self.outbox.pending(limit, after)

    async def mark_sent(self, ids: list[int]) -> None:
        self.outbox.mark_sent(ids, "now")


def request_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def request(i: int) -> str:
    """A request as the contract has it (the subscribers check every message they get)."""
    return json.dumps(
        {
            "request_id": request_id(i),
            "created_at": "2026-11-26T09:00:00.000Z",
            "site": TOPICS.site,
            "gateway": TOPICS.gateway,
            "gtin": "04012345123456",
            "name": "Amoxicillin 500 mg capsules x21",
            "batch_hint": None,
            "quantity": 1 + i % 9,
            "unit": "pack",
            "priority": "routine",
            "reason": {"on_hand": 0, "on_order": 0, "reorder_point": 3, "par": 8},
            "confirmed_by": "auto",
        }
    )


def session_for(broker: LocalBroker, client_id: str = "rxedge-test-gw") -> MqttSession:
    return MqttSession(
        BrokerAddress.parse(broker.url),
        client_id,
        birth=Announcement(TOPICS.status, "online"),
        will=Announcement(TOPICS.status, "offline"),
    )


async def test_every_row_is_delivered_then_marked_sent(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    sub = subscribe(TOPICS.procurement_request)
    store = OutboxOnDisk(tmp_path / "ledger.sqlite")
    store.add(1200)
    session = session_for(broker)
    publisher = OutboxPublisher(session, TOPICS, store.pending, store.mark_sent, batch=500)
    await session.start()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: store.outbox.depth() == 0, what="outbox drained")
        await eventually(lambda: len(sub.payloads("procurement/request")) >= 1200)
        ids = [p["request_id"] for p in sub.payloads("procurement/request")]
        assert sorted(ids) == sorted(request_id(i) for i in range(1200))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()


async def test_nothing_is_marked_sent_while_the_broker_is_down_and_all_arrives_after(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    centre = subscribe(TOPICS.procurement_request, client_id="centre", persistent=True)
    store = OutboxOnDisk(tmp_path / "ledger.sqlite")
    session = session_for(broker)
    publisher = OutboxPublisher(session, TOPICS, store.pending, store.mark_sent)
    await session.start()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(session.connected.is_set)
        await broker.stop()
        await eventually(lambda: not session.connected.is_set(), what="link lost")
        store.add(50)
        publisher.notify()
        await asyncio.sleep(0.5)  # give a wrong implementation the chance to mark rows sent
        assert store.outbox.depth() == 50
        await broker.start()
        await eventually(session.connected.is_set, timeout=5, what="link back")
        await eventually(lambda: store.outbox.depth() == 0, what="outbox drained after outage")
        await eventually(lambda: len(centre.payloads("request")) >= 50, what="centre got all")
        ids = {p["request_id"] for p in centre.payloads("request")}
        assert ids == {request_id(i) for i in range(50)}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()


async def test_status_is_online_while_connected_and_offline_after_a_crash(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    session = session_for(broker, "gw-that-crashes")
    await session.start()
    await eventually(session.connected.is_set)
    watcher = subscribe(TOPICS.status)
    await eventually(lambda: [m.payload for m in watcher.drain()] == [b"online"])
    assert watcher.received[0].retain
    # Drop the TCP connection without DISCONNECT, as a crash or a pulled cable does.
    session._client.socket().close()  # type: ignore[union-attr]
    await eventually(lambda: b"offline" in [m.payload for m in watcher.drain()], what="will")
    await session.stop()
