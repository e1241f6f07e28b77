"""A consumer group's ack wait is the group's, set by the member that made it, against a real
3-node cluster: a member given a longer one (`--ack-wait`) tells the cluster it is at work on a
slow request at the pace of the group's, so the request is not delivered to another member
meanwhile and applied twice; it says so at -v; and it follows a group made again meanwhile."""

from __future__ import annotations

import asyncio
import logging

import pytest
from nats.aio.client import Client as Nats
from nats.js.api import ConsumerConfig, ConsumerInfo

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream import consumer_group
from sync.jetstream.consumer_group import JetStreamRequests
from sync.jetstream.link import connect
from sync.jetstream.subjects import MQTT_STORE
from sync.procurement_feed import ReceivedRequest
from tests.centre.conftest import publish_requests, unacknowledged
from tests.conftest import eventually
from tests.edge.procurement_rig import CliRun, request_message

GROUP_ACK_WAIT = 2.0
SLOW = 5.0  # an answer waiting for its broker: two and a half of the group's ack waits


class Desk:
    """Members of one group, given their own ack waits; what each applied, in order."""

    def __init__(self, nc: Nats, durable: str):
        self.nc = nc
        self.durable = durable
        self.applied: list[tuple[str, str]] = []

    def member(self, name: str, ack_wait: float) -> JetStreamRequests:
        async def apply(request: ReceivedRequest) -> None:
            self.applied.append((name, request.request_id))
            await asyncio.sleep(SLOW)

        return JetStreamRequests(self.nc, self.durable, apply, member=name, ack_wait=ack_wait)


def said(caplog: pytest.LogCaptureFixture, durable: str) -> list[str]:
    """What members said of the group's ack wait."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(f"group {durable} delivers a request again after")
    ]


@pytest.mark.timeout(120)
async def test_a_member_given_a_longer_ack_wait_than_its_group_keeps_a_slow_request_applied_once(
    cluster: NatsCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=consumer_group.__name__)
    body = request_message(site="s5", gateway="g1", n=1)
    nc = await connect(cluster.urls, "test-clerks")
    desk = Desk(nc, "brief")
    await desk.member("maker", GROUP_ACK_WAIT).start()  # the group, made with 2 s
    members = [desk.member(name, 30.0) for name in ("m1", "m2")]  # the watch's default
    for member in members:
        await member.start()
    running = [asyncio.create_task(m.run()) for m in members]
    try:
        await publish_requests(cluster, [body])
        await eventually(lambda: desk.applied, timeout=20, what="a member at work")

        async def acknowledged() -> bool:
            return await unacknowledged(cluster, "brief") == 0

        await eventually(acknowledged, timeout=30, what="the request acknowledged")
        assert [i for _, i in desk.applied] == [body["request_id"]], desk.applied
        assert sum(m.counts.deliveries for m in members) == 1, "never delivered again"
        assert [m.ack_wait for m in members] == [GROUP_ACK_WAIT] * 2
        expected = (
            "group brief delivers a request again after 2 s unacknowledged (its ack wait), "
            "not 30 s: this member tells the cluster every 0.667 s that it is still at work "
            "on one. --ack-wait is a group's only when the watch makes the group; change the "
            "group's with NATS's tool: nats consumer edit '$MQTT_msgs' brief --wait 30s"
        )
        assert said(caplog, "brief") == [expected] * 2
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await nc.close()


@pytest.mark.timeout(120)
async def test_a_member_follows_its_group_made_again_with_a_shorter_ack_wait(
    cluster: NatsCluster, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group is deleted while a member runs and made again by another member given 2 s:
    the member still bound to it reads the new ack wait within GROUP_CHECK_SECONDS and keeps
    its slow request, which a member started later does not get."""
    caplog.set_level(logging.INFO, logger=consumer_group.__name__)
    monkeypatch.setattr(consumer_group, "GROUP_CHECK_SECONDS", 0.5)
    body = request_message(site="s6", gateway="g1", n=1)
    nc = await connect(cluster.urls, "test-clerks")
    desk = Desk(nc, "remade")
    first = desk.member("first", 30.0)
    await first.start()  # the group, made with 30 s
    running = [asyncio.create_task(first.run())]
    try:
        await nc.jetstream().delete_consumer(MQTT_STORE, "remade")
        await desk.member("maker", GROUP_ACK_WAIT).start()  # made again, with 2 s
        await eventually(
            lambda: first.ack_wait == GROUP_ACK_WAIT, timeout=10, what="the new ack wait read"
        )
        assert len(said(caplog, "remade")) == 1
        await publish_requests(cluster, [body])
        await eventually(lambda: desk.applied, timeout=20, what="the first member at work")
        later = desk.member("later", 30.0)
        await later.start()
        running.append(asyncio.create_task(later.run()))

        async def acknowledged() -> bool:
            return await unacknowledged(cluster, "remade") == 0

        await eventually(acknowledged, timeout=30, what="the request acknowledged")
        assert desk.applied == [("first", body["request_id"])]
        assert later.counts.deliveries == 0
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await nc.close()


@pytest.mark.timeout(60)
async def test_a_watch_says_at_v_that_its_groups_ack_wait_is_not_its_own(
    cluster: NatsCluster,
) -> None:
    nats = ",".join(cluster.urls)
    watch = ("procurement", "watch", "--nats", nats, "--durable", "told", "--seconds", "0.5")
    maker = await CliRun.start(*watch, "--ack-wait", "2")
    assert await maker.finish() == 0, maker.errors
    joining = await CliRun.start("-v", *watch)
    assert await joining.finish() == 0, joining.errors
    (line,) = [e for e in joining.errors if "group told delivers a request again after" in e]
    assert "after 2 s unacknowledged (its ack wait), not 30 s" in line
    assert line.endswith("nats consumer edit '$MQTT_msgs' told --wait 30s")


def test_an_ack_wait_read_back_in_nanoseconds_is_the_one_given(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The cluster keeps nanoseconds, so 4.1 s comes back a hair under: no disagreement."""
    member = JetStreamRequests(Nats(), "desk", lambda _request: None, "m1", ack_wait=4.1)
    read_back = ConsumerInfo(
        stream_name=MQTT_STORE,
        name="desk",
        config=ConsumerConfig(ack_wait=4099999999 / 1e9),
        created=0.0,
    )
    with caplog.at_level(logging.INFO, logger=consumer_group.__name__):
        member._follow(read_back)
    assert caplog.records == []


async def test_a_member_goes_on_following_its_group_after_a_failure_it_did_not_expect(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An error reading the group other than the cluster's own is logged and the member reads
    it again: it never stops following (one left behind would apply a slow request twice)."""
    member = JetStreamRequests(Nats(), "desk", lambda _request: None, "m1", ack_wait=30.0)
    reads: list[int] = []

    async def consumer_info(_stream: str, _durable: str) -> ConsumerInfo:
        reads.append(1)
        if len(reads) == 1:
            raise RuntimeError("an answer the client could not read")
        return ConsumerInfo(
            stream_name=MQTT_STORE, name="desk", config=ConsumerConfig(ack_wait=2.0), created=0.0
        )

    monkeypatch.setattr(member._js, "consumer_info", consumer_info)
    monkeypatch.setattr(consumer_group, "GROUP_CHECK_SECONDS", 0.01)
    following = asyncio.create_task(member._follow_the_group())
    try:
        await eventually(lambda: member.ack_wait == 2.0, timeout=5, what="the group followed")
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    assert any("its ack wait could not be read" in r.getMessage() for r in caplog.records)
