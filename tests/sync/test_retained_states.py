"""Retained alarm states against a real mosquitto whose ACL first refuses the alarm topics and is
then opened (reloaded on SIGHUP): a state the broker refused and a newer one it then took never
land on the broker in the wrong order, neither on the publisher's retry nor after a restart;
states that can still go out in order all do."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState
from inventory.ledger.outbox import STATE_KINDS, MessageKind, Outbox, OutboxRow
from inventory.ledger.store import connect, transaction
from sync.broker_url import BrokerAddress
from sync.contract import channel_of
from sync.errors import PublishRefused
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher
from sync.topics import Topics
from tests.conftest import Subscriber, eventually

TOPICS = Topics("site-1", "gw-1")
# The gateway may send its status and requests, not its alarms; everyone may read everything.
CLOSED = f"topic read #\ntopic write {TOPICS.status}\ntopic write {TOPICS.procurement_request}\n"
OPENED = "topic readwrite #\n"
PROBE = "probe/acl"  # outside the contract's topics: allowed only once the ACL is opened

RAISED = Alarm(
    AlarmKind.SHORTAGE,
    "04012345123456",
    AlarmState.RAISED,
    "2026-11-26T13:46:14.006Z",
    {
        "gtin": "04012345123456",
        "name": "Amoxicillin",
        "on_hand": 3,
        "reorder_point": 3,
        "slots": [],
    },
)
ACKNOWLEDGED = replace(
    RAISED,
    state=AlarmState.ACKNOWLEDGED,
    acknowledged_at="2026-11-26T13:50:02.114Z",
    acknowledged_by="Ana Ruiz",
)
ALARM_TOPIC = TOPICS.alarm(RAISED.id)


@pytest.fixture
async def broker(tmp_path: Path) -> AsyncIterator[LocalBroker]:
    """A mosquitto enforcing an ACL file that the test rewrites and has reloaded."""
    acl = tmp_path / "broker.acl"
    acl.write_text(CLOSED)
    server = LocalBroker(tmp_path / "broker", acl_file=acl)
    await server.start()
    yield server
    await server.stop()


class Ledger:
    """The outbox table of a ledger file, as the daemon's writer keeps it."""

    def __init__(self, path: Path):
        self.path = path
        self.db = connect(path)
        self.outbox = Outbox(self.db)

    def add(self, alarm: Alarm) -> int:
        with transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO outbox (created_at, kind, key, payload) VALUES ('t', ?, ?, ?)",
                (str(MessageKind.ALARM), alarm.id, alarm.payload()),
            )
        return int(cursor.lastrowid or 0)

    def is_pending(self, row_id: int) -> bool:
        return any(row.id == row_id for row in self.outbox.pending(1000))

    async def pending(self, limit: int, after: int) -> list[OutboxRow]:
        return self.outbox.pending(limit, after)

    async def mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        with transaction(self.db):
            return self.outbox.mark_sent(ids, "now")


class Gateway:
    """A session and publisher over a ledger file: started, stopped, started again."""

    def __init__(self, broker: LocalBroker, ledger: Ledger):
        self.session = MqttSession(BrokerAddress.parse(broker.url), "rxedge-site-1-gw-1")
        self.publisher = OutboxPublisher(
            self.session, TOPICS, ledger.pending, ledger.mark_sent, retry_after=0.05
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.session.start()
        self._task = asyncio.create_task(self.publisher.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.session.stop()


async def open_acl(broker: LocalBroker) -> None:
    """Open the ACL and wait until mosquitto applies it (a probe message is taken)."""
    assert broker.acl_file is not None
    broker.acl_file.write_text(OPENED)
    broker.reload()
    probe = MqttSession(BrokerAddress.parse(broker.url), "acl-probe", persistent=False)
    await probe.start()

    async def probe_taken() -> bool:
        await asyncio.wait_for(probe.connected.wait(), 5)
        with contextlib.suppress(PublishRefused, TimeoutError):
            await asyncio.wait_for(probe.publish(PROBE, "x"), 2)
            return True
        return False

    try:
        await eventually(probe_taken, what="mosquitto applying the opened ACL")
    finally:
        await probe.stop()


async def retained_on(subscribe: Callable[..., Subscriber], topic: str) -> bytes:
    """What a reader subscribing now gets as the topic's retained message."""
    reader = subscribe(topic, client_id="late-reader")
    first = (await eventually(reader.drain, what=f"the retained message on {topic}"))[0]
    assert first.retain
    return bytes(first.payload)


async def refused_then_newer_taken(broker: LocalBroker, gateway: Gateway, ledger: Ledger) -> None:
    """The broker refuses the raise; then, allowed again, takes the acknowledgement."""
    await eventually(lambda: gateway.publisher.refused >= 1, what="the raise refused")
    await open_acl(broker)
    acknowledged = ledger.add(ACKNOWLEDGED)
    gateway.publisher.notify()
    await eventually(lambda: not ledger.is_pending(acknowledged), what="the ack taken")


async def test_a_refused_state_is_not_retried_once_a_newer_one_is_taken(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    centre = subscribe(ALARM_TOPIC, client_id="centre", persistent=True)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    raised = ledger.add(RAISED)
    gateway = Gateway(broker, ledger)
    await gateway.start()
    try:
        await refused_then_newer_taken(broker, gateway, ledger)
        # Settled: nothing waits, nothing is on the wire (a retry would have had its time).
        await eventually(lambda: ledger.outbox.depth() == 0, what="the outbox settled")
        await eventually(lambda: gateway.publisher.in_flight == 0)
        assert await retained_on(subscribe, ALARM_TOPIC) == ACKNOWLEDGED.payload().encode()
        assert [m.payload for m in centre.drain()] == [ACKNOWLEDGED.payload().encode()]
        assert not ledger.is_pending(raised)
        assert gateway.publisher.superseded == 1
    finally:
        await gateway.stop()


async def test_after_a_restart_the_refused_older_state_is_not_sent(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.add(RAISED)
    gateway = Gateway(broker, ledger)
    await gateway.start()
    try:
        await refused_then_newer_taken(broker, gateway, ledger)
    finally:
        await gateway.stop()  # before the publisher's next retry from the start
    ledger.db.close()

    again = Ledger(ledger.path)
    restarted = Gateway(broker, again)
    await restarted.start()
    try:
        await eventually(restarted.session.connected.is_set, what="the restarted link")
        await eventually(lambda: again.outbox.depth() == 0, what="the outbox settled")
        await eventually(lambda: restarted.publisher.in_flight == 0)
        assert restarted.publisher.sent == 0
        assert await retained_on(subscribe, ALARM_TOPIC) == ACKNOWLEDGED.payload().encode()
    finally:
        await restarted.stop()


async def test_states_refused_together_go_out_in_order_once_the_broker_takes_them(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    centre = subscribe(ALARM_TOPIC, client_id="centre", persistent=True)
    ledger = Ledger(tmp_path / "ledger.sqlite")
    ledger.add(RAISED)
    ledger.add(ACKNOWLEDGED)
    gateway = Gateway(broker, ledger)
    await gateway.start()
    try:
        await eventually(lambda: gateway.publisher.refused >= 2, what="both states refused")
        await open_acl(broker)
        await eventually(lambda: ledger.outbox.depth() == 0, what="the outbox drained")
        # Neither was taken before: the raise still goes out, before the acknowledgement.
        states = [RAISED.payload().encode(), ACKNOWLEDGED.payload().encode()]
        await eventually(lambda: [m.payload for m in centre.drain()] == states)
        assert await retained_on(subscribe, ALARM_TOPIC) == ACKNOWLEDGED.payload().encode()
        assert gateway.publisher.superseded == 0
    finally:
        await gateway.stop()


@pytest.mark.parametrize("kind", list(MessageKind))
def test_the_kinds_whose_older_states_are_dropped_are_those_on_retained_topics(
    kind: MessageKind,
) -> None:
    topic, retain = TOPICS.route(OutboxRow(1, "t", kind, "shortage-x", ""))
    found = channel_of(topic)
    assert found is not None, topic
    assert retain == found[0].retained == (kind in STATE_KINDS)
