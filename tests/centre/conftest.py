"""A 3-node NATS cluster (scripts/nats-cluster/node.conf) started per test, its stream ready."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream_feed import STREAM, connect, request_subject
from tests.edge.procurement_rig import CliRun


@pytest.fixture(autouse=True)
async def no_process_left(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Every `rxedge` process a test starts is killed at its end, passed or failed."""
    started: list[CliRun] = []
    start = CliRun.start.__func__  # type: ignore[attr-defined]

    async def tracked(cls: type[CliRun], *args: str) -> CliRun:
        run: CliRun = await start(cls, *args)
        started.append(run)
        return run

    monkeypatch.setattr(CliRun, "start", classmethod(tracked))
    yield
    for run in started:
        if run.process.returncode is None:
            run.process.kill()
            await run.process.wait()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    nodes = NatsCluster(tmp_path / "nats")
    await nodes.start()
    try:
        await nodes.prepare()
        yield nodes
    finally:
        await nodes.stop()


async def stream_request_ids(cluster: NatsCluster) -> Counter[str]:
    """Every request id the stream holds, with how often: read message by message, apart
    from the consumer group's code."""
    nc = await connect(cluster.urls, "test-reader")
    try:
        js = nc.jetstream()
        state = (await js.stream_info(STREAM)).state
        ids: Counter[str] = Counter()
        for seq in range(state.first_seq, state.last_seq + 1):
            message = await js.get_msg(STREAM, seq)
            if (
                message.subject is not None
                and message.data
                and message.subject.endswith("procurement.request")
            ):
                ids[json.loads(message.data)["request_id"]] += 1
        return ids
    finally:
        await nc.close()


async def publish_requests(cluster: NatsCluster, bodies: list[dict[str, object]]) -> None:
    """Requests into the stream, each acknowledged by it, as gateways' messages arrive."""
    nc = await connect(cluster.urls, "test-gateways")
    try:
        js = nc.jetstream()
        for body in bodies:
            subject = request_subject(str(body["site"]), str(body["gateway"]))
            await js.publish(subject, json.dumps(body).encode(), stream=STREAM)
    finally:
        await nc.close()


async def unacknowledged(cluster: NatsCluster, durable: str) -> int:
    """Messages the consumer group's members hold without having acknowledged them."""
    nc = await connect(cluster.urls, "test-probe")
    try:
        info = await nc.jetstream().consumer_info(STREAM, durable)
        return int(info.num_ack_pending or 0)
    finally:
        await nc.close()
