"""The outbox publisher against a real mosquitto: marked sent only on PUBACK, nothing lost
while the broker is away (or goes away mid-drain), birth and last will on the status topic; its
pipelined batches step by step against a session answered by hand; the session's batches."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from inventory.ledger.outbox import MessageKind, Outbox, OutboxRow
from inventory.ledger.store import connect, transaction
from sync.broker_url import BrokerAddress
from sync.errors import PublishRefused
from sync.mqtt_session import (
    ACK_GROUP,
    Announcement,
    Answers,
    MqttSession,
    Outgoing,
)
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

    async def mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        return self.outbox.mark_sent(ids, "now")


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


# Pipelined batches, against a session whose answers the test gives by hand ----------------------


class HandSession:
    """Stands in for MqttSession: records each batch and lets the test answer it."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.connected.set()
        self.batches: list[tuple[list[str], asyncio.Future[Answers]]] = []

    def publish_many(
        self, messages: Sequence[Outgoing], on_answer: object = None
    ) -> asyncio.Future[Answers]:
        future: asyncio.Future[Answers] = asyncio.get_running_loop().create_future()
        ids = [json.loads(payload)["request_id"] for _, payload, _ in messages]
        self.batches.append((ids, future))
        return future

    def answer(self, n: int, answers: Answers | None = None) -> None:
        ids, future = self.batches[n]
        future.set_result(answers if answers is not None else [None] * len(ids))


class OutboxInMemory:
    def __init__(self, n: int):
        self.rows = [
            OutboxRow(i, "t", MessageKind.PROCUREMENT_REQUEST, f"r{i}", f'{{"request_id":"r{i}"}}')
            for i in range(1, n + 1)
        ]
        self.marked: list[int] = []

    async def pending(self, limit: int, after: int) -> list[OutboxRow]:
        sent = set(self.marked)
        return [r for r in self.rows if r.id > after and r.id not in sent][:limit]

    async def mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        self.marked += ids
        return []


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_the_next_batch_goes_out_before_the_one_before_is_acknowledged() -> None:
    session, store = HandSession(), OutboxInMemory(10)
    publisher = OutboxPublisher(
        session,  # type: ignore[arg-type]
        TOPICS,
        store.pending,
        store.mark_sent,
        batch=3,
        batches_in_flight=2,
    )
    task = asyncio.create_task(publisher.run())
    try:
        await settle()
        # Two batches handed over, nothing marked: no PUBACK yet.
        assert [ids for ids, _ in session.batches] == [["r1", "r2", "r3"], ["r4", "r5", "r6"]]
        assert store.marked == [] and publisher.in_flight == 6
        session.answer(1)  # the second batch's PUBACKs first: still waits for the first's
        await settle()
        assert store.marked == [] and len(session.batches) == 2
        session.answer(0)
        await settle()
        assert store.marked == [1, 2, 3, 4, 5, 6]
        assert [ids for ids, _ in session.batches[2:]] == [["r7", "r8", "r9"], ["r10"]]
        session.answer(2)
        session.answer(3)
        await settle()
        assert store.marked == list(range(1, 11)) and publisher.in_flight == 0
        assert publisher.sent == 10
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_refused_and_unanswered_rows_stay_unsent_and_are_retried_when_idle() -> None:
    session, store = HandSession(), OutboxInMemory(4)
    publisher = OutboxPublisher(
        session,  # type: ignore[arg-type]
        TOPICS,
        store.pending,
        store.mark_sent,
        batch=2,
        retry_after=0.01,
    )
    task = asyncio.create_task(publisher.run())
    try:
        await settle()
        session.answer(0, [PublishRefused("not authorized"), None])
        session.answer(1, [None, asyncio.CancelledError()])  # the session was stopped
        await eventually(lambda: store.marked == [2, 3], what="acknowledged rows marked")
        assert publisher.refused == 1
        # With nothing in flight and nothing new, the skipped rows are tried again.
        await eventually(lambda: len(session.batches) == 3, timeout=3, what="retry")
        assert session.batches[2][0] == ["r1", "r4"]
        session.answer(2)
        await eventually(lambda: sorted(store.marked) == [1, 2, 3, 4])
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_stopping_the_publisher_gives_up_its_batches_without_marking_them() -> None:
    session, store = HandSession(), OutboxInMemory(4)
    publisher = OutboxPublisher(
        session,  # type: ignore[arg-type]
        TOPICS,
        store.pending,
        store.mark_sent,
        batch=2,
    )
    task = asyncio.create_task(publisher.run())
    await settle()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert all(future.cancelled() for _, future in session.batches)
    assert store.marked == [] and publisher.in_flight == 0


# The session's batches against mosquitto -------------------------------------------------------


async def test_a_batch_is_answered_message_by_message_in_order(
    broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    sub = subscribe(TOPICS.procurement_request)
    session = session_for(broker)
    await session.start()
    try:
        await eventually(session.connected.is_set)
        # More than ACK_GROUP and not a multiple of it: the last PUBACKs come by the timer.
        batch = [(TOPICS.procurement_request, request(i), False) for i in range(1000)]
        batch.insert(500, ("rxedge/v1/+/bad", "{}", False))  # paho refuses a wildcard topic
        assert ACK_GROUP < 1000 and 1000 % ACK_GROUP
        answered = session.publish_many(batch)
        alone = session.publish(TOPICS.status, "online", retain=True)
        await asyncio.wait_for(alone, 5)  # a single publish behind the batch is answered too
        answers = await asyncio.wait_for(answered, 20)
        assert isinstance(answers[500], PublishRefused)
        assert answers[:500] + answers[501:] == [None] * 1000
        await eventually(lambda: len(sub.payloads("procurement/request")) >= 1000)
        ids = [p["request_id"] for p in sub.payloads("procurement/request")]
        assert ids == [request_id(i) for i in range(1000)]
    finally:
        await session.stop()


async def test_the_broker_going_away_mid_drain_loses_nothing(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    centre = subscribe(TOPICS.procurement_request, client_id="centre", persistent=True)
    store = OutboxOnDisk(tmp_path / "ledger.sqlite")
    store.add(3000)
    session = session_for(broker)
    publisher = OutboxPublisher(session, TOPICS, store.pending, store.mark_sent, batch=100)
    await session.start()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: publisher.sent >= 500, what="drain under way")
        assert publisher.in_flight > 0
        await broker.stop()  # with batches on the wire and waiting for PUBACKs
        await eventually(lambda: not session.connected.is_set(), what="link lost")
        assert store.outbox.depth() > 0
        await broker.start()
        await eventually(lambda: store.outbox.depth() == 0, timeout=60, what="drained")
        # QoS 1: what was on the wire when the broker went may come twice, but all of it comes.
        expected = {request_id(i) for i in range(3000)}
        await eventually(
            lambda: {p["request_id"] for p in centre.payloads("request")} == expected,
            timeout=30,
            what="the centre got every request",
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()


async def test_stopping_the_session_answers_what_still_waits(broker: LocalBroker) -> None:
    session = session_for(broker)
    await session.start()
    await eventually(session.connected.is_set)
    await broker.stop()
    await eventually(lambda: not session.connected.is_set(), what="link lost")
    answered = session.publish_many(
        [(TOPICS.procurement_request, request(i), False) for i in range(3)]
    )
    await session.stop()
    answers = await asyncio.wait_for(answered, 5)
    assert [type(a) for a in answers] == [asyncio.CancelledError] * 3
