"""Clerks' processes sharing the centre's stream as one consumer group (`procurement watch
--nats ... --durable NAME`), against a real 3-node cluster: the load is shared, a process killed
with requests in hand leaves them to the others, and each request is applied once."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter

import pytest
from nats.aio.client import Client as Nats
from nats.js.errors import KeyNotFoundError

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream.consumer_group import JetStreamRequests
from sync.jetstream.link import connect
from sync.procurement_feed import ReceivedRequest
from tests.centre.conftest import publish_requests, summary_counts, unacknowledged
from tests.conftest import eventually
from tests.edge.procurement_rig import CliRun, request_message

REQUESTS = 1500  # enough that the killed clerk is mid-batch, with work still waiting


def applied_ids(watcher: CliRun) -> list[str]:
    return [str(line["request_id"]) for line in watcher.json_lines()]


async def start_watchers(cluster: NatsCluster, count: int) -> list[CliRun]:
    nats = ",".join(cluster.urls)
    watchers = [
        await CliRun.start(
            *("procurement", "watch", "--nats", nats, "--durable", "clerks", "--json"),
            *("--ack-wait", "2"),
        )
        for _ in range(count)
    ]
    for watcher in watchers:
        await watcher.watching()
    return watchers


@pytest.mark.timeout(120)
async def test_clerks_share_the_requests_and_one_killed_mid_batch_loses_none(
    cluster: NatsCluster,
) -> None:
    bodies = [request_message(site=f"s{n % 7}", gateway="g1", n=n) for n in range(1, REQUESTS + 1)]
    sent = {str(b["request_id"]) for b in bodies}
    first = (await start_watchers(cluster, 1))[0]
    await publish_requests(cluster, bodies)
    await eventually(lambda: len(first.lines) >= 5, timeout=30, what="the first clerk busy")
    # Freeze it while it holds requests it has not acknowledged, then kill it: they go to the
    # others once the ack wait (2 s) runs out.
    while True:
        os.kill(first.process.pid, signal.SIGSTOP)
        if await unacknowledged(cluster, "clerks"):
            break
        os.kill(first.process.pid, signal.SIGCONT)
        await asyncio.sleep(0.005)
    others = await start_watchers(cluster, 2)
    await first.kill()
    # An acknowledgement it wrote just before it froze may still have reached the cluster:
    # what it holds is read again once it is dead.
    still_held = await unacknowledged(cluster, "clerks")
    held = set(applied_ids(first))  # all it printed, read to the end of its output
    await eventually(
        lambda: sent <= held | {i for w in others for i in applied_ids(w)},
        timeout=60,
        what="every request applied by the clerks left",
    )
    for watcher in others:
        await watcher.interrupt()
    assert all(applied_ids(w) for w in [first, *others]), "the load is shared"
    by_others = Counter(i for w in others for i in applied_ids(w))
    assert max(by_others.values()) == 1, "no request applied twice by the clerks left"
    counts = [summary_counts(w) for w in others]
    # Printed by the killed clerk and again by another: only requests it had taken and not
    # finished (no entry marked done in the register) may be, and the others say so.
    assert len(set(by_others) & held) <= sum(c["finished"] for c in counts)
    if still_held:
        assert sum(c["again"] for c in counts) > 0, "what the killed clerk held came again"


@pytest.mark.timeout(120)
async def test_a_request_left_for_a_fault_of_the_clusters_comes_again_in_seconds(
    cluster: NatsCluster,
) -> None:
    """A member that cannot finish a request because the cluster did not answer gives it back
    at once: it comes again within seconds, not after the whole ack wait (30 s here)."""
    body = request_message(site="s1", gateway="g1", n=1)
    tries: list[float] = []
    loop = asyncio.get_running_loop()

    async def apply(request: ReceivedRequest) -> None:
        tries.append(loop.time())
        if len(tries) == 1:
            raise TimeoutError("the register's leader did not answer")  # as nats-py says it

    nc = await connect(cluster.urls, "test-clerk")
    member = JetStreamRequests(nc, "desk", apply, member="m1", ack_wait=30.0)
    await member.start()
    running = asyncio.create_task(member.run())
    try:
        await publish_requests(cluster, [body])
        # Counted by deliveries, not by tries: under load the MQTT publish may be sent twice
        # (at least once), a second message of the same request that is tried as a first; and
        # a cluster slow to answer the member taking it again may leave it a second time.
        await eventually(
            lambda: member.counts.again >= 1 and member.counts.finished == 1,
            timeout=20,
            what=lambda: f"the request given back, delivered again and finished: {member.counts}",
        )
        assert tries[-1] - tries[0] < 10, "offered again long before the ack wait"
        assert member.counts.left >= 1

        async def acknowledged() -> bool:
            return await unacknowledged(cluster, "desk") == 0

        await eventually(acknowledged, timeout=10, what="the request acknowledged")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await nc.close()


@pytest.mark.timeout(120)
async def test_a_clerk_slower_than_the_ack_wait_keeps_its_batch_and_nothing_is_applied_twice(
    cluster: NatsCluster,
) -> None:
    """A member whose first request takes 2.5 ack waits (its answer waiting for a broker, say)
    keeps the whole batch it fetched: the other member gets none of it, each is applied once."""
    # Its "still at work" goes every third of the ack wait: 4 s leaves more room for a loaded
    # machine's scheduling than the 2 s this test had before.
    ack_wait = 4.0
    bodies = [request_message(site="s2", gateway="g1", n=n) for n in range(1, 4)]
    applied: list[tuple[str, str]] = []

    def member(name: str, nc: Nats) -> JetStreamRequests:
        async def apply(request: ReceivedRequest) -> None:
            applied.append((name, request.request_id))
            if len(applied) == 1:
                await asyncio.sleep(2.5 * ack_wait)

        return JetStreamRequests(nc, "slow", apply, member=name, ack_wait=ack_wait)

    nc = await connect(cluster.urls, "test-clerks")
    slow, other = member("slow", nc), member("other", nc)
    await slow.start()
    await publish_requests(cluster, bodies)  # all there before its first fetch: one batch
    running = [asyncio.create_task(slow.run())]
    try:
        await eventually(lambda: applied, timeout=20, what="the slow clerk at work")
        await other.start()
        running.append(asyncio.create_task(other.run()))
        sent = {str(b["request_id"]) for b in bodies}
        await eventually(
            lambda: {i for _, i in applied} == sent and slow.counts.deliveries == 3,
            timeout=40,
            what=lambda: (
                f"every request handled, each delivered once ({applied}; the slow "
                f"clerk's deliveries: {slow.counts.deliveries})"
            ),
        )
        await asyncio.sleep(2 * ack_wait)  # two ack waits more: nothing comes again
        assert sorted(i for _, i in applied) == sorted(sent), applied
        assert {n for n, _ in applied} == {"slow"}
        assert other.counts.deliveries == 0
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await nc.close()


@pytest.mark.timeout(120)
async def test_a_request_applied_whose_done_mark_fails_once_is_marked_again_not_applied_again(
    cluster: NatsCluster,
) -> None:
    """The register's leader does not answer the mark "done" once (a node lost, say): the
    member tries it again instead of giving the request back, so it is applied once."""
    body = request_message(site="s3", gateway="g1", n=1)
    applied: list[str] = []

    async def apply(request: ReceivedRequest) -> None:
        applied.append(request.request_id)

    nc = await connect(cluster.urls, "test-clerk")
    member = JetStreamRequests(nc, "marks", apply, member="m1", ack_wait=30.0)
    await member.start()
    assert member._register is not None
    register = member._register.kv
    put, failed = register.put, []

    async def put_failing_once(key: str, value: bytes) -> int:
        if not failed:
            failed.append(key)
            raise TimeoutError("no answer from the register's leader")  # as nats-py says it
        return await put(key, value)

    register.put = put_failing_once  # type: ignore[method-assign]
    running = asyncio.create_task(member.run())
    try:
        await publish_requests(cluster, [body])

        async def done() -> bool:
            try:
                entry = await register.get(f"s3.g1.{body['request_id']}")
            except KeyNotFoundError:
                return False
            return b'"done"' in (entry.value or b"")

        await eventually(done, timeout=20, what="the request marked done")
        await eventually(lambda: member.counts.deliveries == 1 and failed, what="one delivery")

        async def acknowledged() -> bool:
            return await unacknowledged(cluster, "marks") == 0

        await eventually(acknowledged, timeout=10, what="the request acknowledged")
        assert applied == [body["request_id"]]
        assert member.counts.left == 0
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await nc.close()


@pytest.mark.timeout(120)
async def test_a_copy_fetched_by_another_member_while_the_first_applies_it_is_applied_once(
    cluster: NatsCluster,
) -> None:
    """The gateway sent a request twice (its PUBACK lost). One member takes the first message
    and applies it slowly, for three ack waits (an answer waiting for its broker); another
    fetches the copy meanwhile. The register says the request is taken by the other message,
    which is not acknowledged until it is done: the copy is dropped, not applied again."""
    body = request_message(site="s4", gateway="g1", n=1)
    applied: list[str] = []

    def member(name: str, nc: Nats) -> JetStreamRequests:
        async def apply(request: ReceivedRequest) -> None:
            applied.append(name)
            if name == "first":
                await asyncio.sleep(6.0)

        return JetStreamRequests(nc, "copies", apply, member=name, ack_wait=2.0)

    nc = await connect(cluster.urls, "test-clerks")
    first, second = member("first", nc), member("second", nc)
    await first.start()
    running = [asyncio.create_task(first.run())]
    try:
        await publish_requests(cluster, [body])
        await eventually(lambda: applied, timeout=20, what="the first member at work")
        await second.start()
        running.append(asyncio.create_task(second.run()))
        await publish_requests(cluster, [body])  # the copy: the first member is busy
        await eventually(
            lambda: second.counts.duplicates + second.counts.finished,
            timeout=30,
            what="the copy resolved at the second member",
        )
        assert applied == ["first"], "applied once, by the member that took it"
        assert (second.counts.duplicates, second.counts.finished) == (1, 0), second.counts
        assert first.counts.applied == 1

        async def acknowledged() -> bool:
            return await unacknowledged(cluster, "copies") == 0

        await eventually(acknowledged, timeout=10, what="both messages acknowledged")
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await nc.close()
