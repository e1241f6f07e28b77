"""A broker that keeps the connection up (answers pings) but never acknowledges a publish: the
session gives up on that link after a keepalive without a PUBACK and sends what waits again, on
a new link or to the next broker, so the outbox does not stall behind it for ever. A command
line tool takes the gateway's answer without waiting apart for the PUBACK, and with neither it
says what it knows: sent, not confirmed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from sync.broker_url import BrokerAddress
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun
from tests.sync.mute_broker import MuteBroker
from tests.sync.test_publisher import TOPICS, OutboxOnDisk, request, request_id

KEEPALIVE = 1  # seconds; the gateway's is 30


@pytest.fixture
async def mute() -> AsyncIterator[MuteBroker]:
    broker = MuteBroker()
    await broker.start()
    yield broker
    await broker.stop()


async def test_messages_a_broker_never_acknowledges_are_sent_again_on_a_new_link(
    mute: MuteBroker,
) -> None:
    session = MqttSession(BrokerAddress.parse(mute.url), "gw-mute", keepalive=KEEPALIVE)
    await session.start()
    try:
        await eventually(session.connected.is_set, what="connected")
        answered = session.publish_many([(TOPICS.procurement_request, request(1), False)])
        await eventually(lambda: mute.received, what="the message at the broker")
        mute.acknowledge = True  # from now on: too late for the message already taken
        answers = await asyncio.wait_for(answered, 10 * KEEPALIVE)
        assert answers == [None]
        again = [m for m in mute.received if m.connection == 2]
        assert [(m.payload, m.dup) for m in again] == [(request(1).encode(), True)]
        assert session.connects == 2
    finally:
        await session.stop()


async def test_the_outbox_moves_on_from_a_mute_broker_to_the_next(
    mute: MuteBroker,
    broker: LocalBroker,
    subscribe: Callable[..., Subscriber],
    tmp_path: Path,
) -> None:
    centre = subscribe(TOPICS.procurement_request)
    store = OutboxOnDisk(tmp_path / "ledger.sqlite")
    store.add(5)
    brokers = [BrokerAddress.parse(mute.url), BrokerAddress.parse(broker.url)]
    session = MqttSession(brokers, "gw-mute", keepalive=KEEPALIVE)
    publisher = OutboxPublisher(session, TOPICS, store.pending, store.mark_sent)
    await session.start()
    task = asyncio.create_task(publisher.run())
    try:
        await eventually(lambda: len(mute.received) >= 5, what="sent to the mute broker first")
        await eventually(
            lambda: (
                [p["request_id"] for p in centre.payloads("procurement/request")]
                == [request_id(i) for i in range(5)]
            ),
            timeout=10 * KEEPALIVE,
            what="every request at the next broker",
        )
        await eventually(lambda: store.outbox.pending(10, 0) == [], what="all marked sent")
        assert publisher.sent == 5
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.stop()


RESULTS = "rxedge/v1/s1/g1/cmd-result"


async def command_sent(mute: MuteBroker) -> str:
    """The message_id of `rxedge stocktake start` once it reached the broker."""
    sent = await eventually(
        lambda: [m for m in mute.received if m.topic.endswith("/cmd/stocktake-start")],
        timeout=20,
        what="the command at the broker",
    )
    return str(json.loads(sent[0].payload)["message_id"])


async def test_a_command_answered_before_the_broker_acknowledges_it_is_answered(
    mute: MuteBroker,
) -> None:
    """A broker slow to acknowledge (a cluster electing a leader) while the gateway already
    answers: `rxedge stocktake start` takes the answer, and does not give up on the missing
    PUBACK."""
    cli = await CliRun.start(
        *("stocktake", "start", "A", "--by", "Ana", "--broker", mute.url),
        *("--site", "s1", "--gateway", "g1", "--wait", "20"),
    )
    try:
        message_id = await command_sent(mute)
        answer = {"command": "stocktake-start", "command_id": "A", "status": "started"}
        answer |= {"reply_to": message_id, "stocktake_id": "st-A-1", "shelf": "A", "by": "Ana"}
        mute.send(RESULTS, json.dumps(answer).encode())
        assert await cli.finish(timeout=20) == 0, cli.errors
        assert cli.lines == ["stocktake st-A-1 of shelf A started (by Ana)"]
    finally:
        await cli.kill()


async def test_a_command_whose_answer_was_lost_with_the_link_says_so(mute: MuteBroker) -> None:
    """The link broke before the PUBACK, the client sent the command again, and the gateway
    refused the copy (`replay_of`): the first answer was lost with the link. The tool says so
    (exit 3, look before sending again), not that the command was refused."""
    cli = await CliRun.start(
        *("stocktake", "start", "A", "--by", "Ana", "--broker", mute.url),
        *("--site", "s1", "--gateway", "g1", "--wait", "20"),
    )
    try:
        message_id = await command_sent(mute)
        error = f"message {message_id} was received before; a replay is not carried out"
        copy = {"command": "stocktake-start", "command_id": "", "status": "error"}
        copy |= {"error": error, "replay_of": message_id}
        mute.send(RESULTS, json.dumps(copy).encode())
        assert await cli.finish(timeout=20) == 3, cli.errors
        assert cli.lines == []
        assert any("that answer was lost with the link" in e for e in cli.errors), cli.errors
    finally:
        await cli.kill()


async def test_a_status_the_broker_never_acknowledges_is_told_unconfirmed(
    mute: MuteBroker,
) -> None:
    """Neither a PUBACK nor the gateway's word within --wait: the clerk is told the answer is
    sent but not confirmed (exit 4, send it again later), not that the broker refused it."""
    cli = await CliRun.start(
        *("procurement", "status", "0b7e1c1e-5d0a-4c35-9a5e-6f1f2f9d7a11", "accepted"),
        *("--broker", mute.url, "--site", "s1", "--gateway", "g1", "--wait", "2"),
    )
    try:
        assert await cli.finish(timeout=30) == 4, cli.errors
        assert mute.received and mute.received[0].topic.endswith("/procurement/status")
        assert any("sent, not yet confirmed" in line for line in cli.lines), cli.lines
    finally:
        await cli.kill()
