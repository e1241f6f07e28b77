"""The outbox publisher on a slow link (a relay that passes the broker's bytes to the gateway
slowly, so PUBACKs come one by one, as on a thin uplink): every PUBACK is progress to the service
watchdog, rows are marked sent in chunks long before their batch is answered in full, and a
restart in the middle sends none of them again. And a refused row is retried within a bounded
time however busy the outbox keeps the publisher."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from edge.daemon.devices import Devices
from edge.demo.local_broker import LocalBroker
from edge.service.heartbeat_sources import PUBLISHER, PUBLISHER_WITHIN, observed_loops
from edge.service.sd_notify import Notifier
from edge.service.watchdog import Heartbeats, ServiceWatchdog
from inventory.ledger.outbox import MessageKind, OutboxRow
from sync.errors import PublishRefused
from sync.mqtt_session import MqttSession
from sync.publisher import MARK_EVERY, OutboxPublisher
from tests.conftest import Subscriber, eventually
from tests.sync.cuttable_link import CuttableLink
from tests.sync.test_publisher import (
    TOPICS,
    HandSession,
    OutboxInMemory,
    OutboxOnDisk,
    request_id,
    session_for,
)

ROWS = 300
SLOW = 40  # bytes a tenth of a second from the broker: about a hundred PUBACKs a second


class Marks:
    """The store's mark_sent, recording each call's ids and whether every row handed to the
    session was answered by then."""

    def __init__(self, store: OutboxOnDisk):
        self.store = store
        self.calls: list[list[int]] = []
        self.publisher: OutboxPublisher | None = None

    async def mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        self.calls.append(list(ids))
        return await self.store.mark_sent(ids)

    def marked(self) -> set[int]:
        return {i for call in self.calls for i in call}


async def slow_link(broker: LocalBroker) -> CuttableLink:
    relay = CuttableLink(broker.url, slow_down=SLOW)
    await relay.start()
    return relay


def through(relay: CuttableLink) -> MqttSession:
    """The gateway's session, connected through `relay`."""
    return session_for(cast(LocalBroker, SimpleNamespace(url=relay.url)))


def publisher_progress(publisher: OutboxPublisher, session: MqttSession) -> Callable[[], object]:
    [loop] = [
        loop
        for loop in observed_loops(Devices(), session, publisher, lambda: False)
        if loop.name == PUBLISHER
    ]
    return loop.progress


def test_rows_in_flight_and_no_puback_at_all_is_a_stall_and_one_puback_is_progress() -> None:
    now = [0.0]
    connected = asyncio.Event()
    connected.set()
    session = cast(MqttSession, SimpleNamespace(connected=connected, connects=1))
    publisher = SimpleNamespace(answered=0, sent=0, refused=0, in_flight=500)
    loops = observed_loops(Devices(), session, cast(OutboxPublisher, publisher), lambda: False)
    watchdog = ServiceWatchdog(Heartbeats(lambda: now[0]), Notifier(None), loops=loops)
    watchdog.check()
    now[0] += PUBLISHER_WITHIN - 1
    assert not watchdog.check()
    now[0] += 2
    assert [name for name, _ in watchdog.check()] == [PUBLISHER]
    publisher.answered += 1  # a PUBACK, the batch still far from answered
    assert not watchdog.check()
    now[0] += PUBLISHER_WITHIN + 1
    assert [name for name, _ in watchdog.check()] == [PUBLISHER]


async def test_on_a_slow_link_every_puback_is_progress_and_rows_are_marked_as_they_come(
    broker: LocalBroker, tmp_path: Path
) -> None:
    relay = await slow_link(broker)
    store = OutboxOnDisk(tmp_path / "ledger.sqlite")
    store.add(ROWS)
    marks = Marks(store)
    session = through(relay)
    publisher = OutboxPublisher(session, TOPICS, store.pending, marks.mark_sent, batch=ROWS)
    progress = publisher_progress(publisher, session)
    await session.start()
    task = asyncio.create_task(publisher.run())
    seen: list[object] = []
    try:
        await eventually(session.connected.is_set, what="link up through the relay")
        seen.append(progress())
        deadline = asyncio.get_running_loop().time() + 20
        while len(seen) < 5 or not marks.calls:
            # The one batch is far from answered: the heartbeat must move all the same.
            assert store.outbox.depth() > 0, "no progress until the whole batch was marked"
            assert asyncio.get_running_loop().time() < deadline, f"progress only {seen}"
            await asyncio.sleep(0.05)
            if progress() != seen[-1]:
                seen.append(progress())
        assert len(marks.calls[0]) < ROWS, "rows were marked only once the batch was answered"
        assert publisher.in_flight > 0
        await eventually(lambda: store.outbox.depth() == 0, timeout=20, what="outbox drained")
        # About a second's PUBACKs each time (or MARK_EVERY of them), never the whole batch.
        assert len(marks.calls) >= 2 and all(len(call) < ROWS for call in marks.calls)
        assert all(len(call) <= MARK_EVERY for call in marks.calls), marks.calls
        assert sorted(marks.marked()) == list(range(1, ROWS + 1))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()
        await relay.stop()


async def test_a_restart_mid_batch_sends_nothing_already_marked_again(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    centre = subscribe(TOPICS.procurement_request, client_id="centre", persistent=True)
    relay = await slow_link(broker)
    store = OutboxOnDisk(tmp_path / "ledger.sqlite")
    store.add(ROWS)
    marks = Marks(store)
    session = through(relay)
    publisher = OutboxPublisher(session, TOPICS, store.pending, marks.mark_sent, batch=ROWS)
    await session.start()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: len(marks.marked()) >= ROWS // 3, what="chunks marked")
    finally:
        task.cancel()  # stopped mid-batch, as by the service manager
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()
        await relay.stop()
    before = marks.marked()
    assert len(before) < ROWS and store.outbox.depth() == ROWS - len(before)

    handed: list[int] = []

    async def pending(limit: int, after: int) -> list[OutboxRow]:
        rows = await store.pending(limit, after)
        handed.extend(row.id for row in rows)
        return rows

    session = session_for(broker)
    publisher = OutboxPublisher(session, TOPICS, pending, store.mark_sent, batch=ROWS)
    await session.start()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: store.outbox.depth() == 0, what="outbox drained after restart")
        # Only what was not marked is read again (the marked rows are not pending any more).
        assert set(handed) == set(range(1, ROWS + 1)) - before
        expected = {request_id(i) for i in range(ROWS)}
        await eventually(
            lambda: {p["request_id"] for p in centre.payloads("request")} == expected,
            what="the centre got every request",
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()


async def test_a_refused_row_is_retried_under_steady_traffic() -> None:
    session, store = HandSession(), OutboxInMemory(2)
    publisher = OutboxPublisher(
        session,  # type: ignore[arg-type]
        TOPICS,
        store.pending,
        store.mark_sent,
        batch=10,
        retry_after=0.01,
        rescan_after=0.5,
    )
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: len(session.batches) == 1)
        session.answer(0, [PublishRefused("not authorized"), None])
        answered = 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        # A row committed every tenth of a second: the publisher is never idle for a second.
        while not any("r1" in ids for ids, _ in session.batches[1:]):
            assert loop.time() < deadline, "the refused row was not tried again"
            n = len(store.rows) + 1
            payload = f'{{"request_id":"r{n}"}}'
            store.rows.append(OutboxRow(n, "t", MessageKind.PROCUREMENT_REQUEST, f"r{n}", payload))
            publisher.notify()
            await asyncio.sleep(0.1)
            for n in range(answered, len(session.batches)):
                session.answer(n)
            answered = len(session.batches)
        await eventually(lambda: 1 in store.marked, what="the retried row marked sent")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
