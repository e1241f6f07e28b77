"""3-node NATS clusters (scripts/nats-cluster/node.conf), their stream ready: one shared by the
tests of a test process that neither stop its nodes nor leave MQTT sessions on it (`cluster`,
set back after each test to what it was once ready), or one of the test's own (`own_cluster`).
Starting one takes seconds (its nodes elect the leaders JetStream and its MQTT gateway need)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream.consumer_group import REGISTER, STREAM
from sync.jetstream.link import connect
from sync.jetstream.subjects import (
    MQTT_PREFIX,
    MQTT_STORE,
    SUBJECT_ROOT,
    request_subject,
    subject_of,
)
from sync.topics import ROOT
from tests.edge.procurement_rig import CliRun

T = TypeVar("T")


@pytest.fixture(autouse=True)
async def no_process_left(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[CliRun]]:
    """Every `rxedge` process a test starts is killed at its end, passed or failed."""
    started: list[CliRun] = []
    start = CliRun.start.__func__  # type: ignore[attr-defined]

    async def tracked(cls: type[CliRun], *args: str) -> CliRun:
        run: CliRun = await start(cls, *args)
        started.append(run)
        return run

    monkeypatch.setattr(CliRun, "start", classmethod(tracked))
    yield started
    await _kill(started)


async def _kill(runs: list[CliRun]) -> None:
    for run in runs:
        if run.process.returncode is None:
            run.process.kill()
            await run.process.wait()


@pytest.fixture
async def own_cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    """A cluster for one test: one that kills a node, or whose gateways keep MQTT sessions."""
    nodes = NatsCluster(tmp_path / "nats")
    await nodes.start()
    try:
        await nodes.prepare()
        yield nodes
    finally:
        await nodes.stop()


Made = dict[str, set[str]]  # stream -> its consumers


@pytest.fixture(scope="session")
def shared_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NatsCluster, Made]]:
    """One cluster per test process, started when a test first asks for it, and what its
    streams and consumers were once it was ready."""
    nodes = NatsCluster(tmp_path_factory.mktemp("nats"))
    try:
        made = _on_a_loop_of_its_own(_ready(nodes))
        yield nodes, made
    finally:
        _on_a_loop_of_its_own(nodes.stop())


@pytest.fixture
async def cluster(
    shared_nodes: tuple[NatsCluster, Made], no_process_left: list[CliRun]
) -> AsyncIterator[NatsCluster]:
    """The shared cluster, as it was once ready: after the test (its processes killed first,
    so that none makes anything again), the consumers and streams it made are deleted and the
    gateways' requests, the stream and the register emptied (a new consumer group would
    otherwise be handed an earlier test's requests)."""
    nodes, made = shared_nodes
    yield nodes
    await _kill(no_process_left)
    nc = await connect(nodes.urls, "test-set-back")
    try:
        js = nc.jetstream()
        for stream in await js.streams_info():
            name = stream.config.name
            if name is None or (name.startswith("$MQTT_") and name != MQTT_STORE):
                continue  # the MQTT gateway's own, untouched by these tests
            if name not in made:
                await js.delete_stream(name)
                continue
            for consumer in await js.consumers_info(name):
                if consumer.name not in made[name]:
                    await js.delete_consumer(name, consumer.name)
        await js.purge_stream(MQTT_STORE, subject=f"{MQTT_PREFIX}{SUBJECT_ROOT}.>")
        await js.purge_stream(STREAM)
        await js.purge_stream(f"KV_{REGISTER}")
    finally:
        await nc.close()


async def _ready(nodes: NatsCluster) -> Made:
    await nodes.start()
    await nodes.prepare()
    nc = await connect(nodes.urls, "test-setup")
    try:
        js = nc.jetstream()
        names = [s.config.name for s in await js.streams_info() if s.config.name]
        return {n: {c.name for c in await js.consumers_info(n) if c.name} for n in names}
    finally:
        await nc.close()


def _on_a_loop_of_its_own(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` in a thread with its own event loop: a session fixture outlives the loop of
    the test that first asked for it (the cluster's processes are not bound to any loop)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work).result()


class Tally:
    """A durable consumer of its own on the MQTT gateway's store, apart from the consumer
    group's code: made before the gateways publish, it keeps every request acknowledged to a
    gateway in the store until it has counted it."""

    def __init__(self, cluster: NatsCluster, durable: str = "tally"):
        self.cluster = cluster
        self.durable = durable
        self.ids: Counter[str] = Counter()

    async def open(self) -> None:
        nc = await connect(self.cluster.urls, "test-tally")
        try:
            await nc.jetstream().add_consumer(
                MQTT_STORE,
                ConsumerConfig(
                    durable_name=self.durable,
                    filter_subject=request_subject(),
                    ack_policy=AckPolicy.EXPLICIT,
                ),
            )
        finally:
            await nc.close()

    async def count(self) -> Counter[str]:
        """Every request id taken so far, with how often."""
        nc = await connect(self.cluster.urls, "test-tally")
        try:
            pull = await nc.jetstream().pull_subscribe_bind(self.durable, MQTT_STORE)
            while True:
                try:
                    messages = await pull.fetch(200, timeout=0.5)
                except (nats.errors.TimeoutError, TimeoutError):  # nats-py raises either
                    return self.ids
                for message in messages:
                    self.ids[json.loads(message.data)["request_id"]] += 1
                    await message.ack()
        finally:
            await nc.close()


async def publish_requests(cluster: NatsCluster, bodies: list[dict[str, object]]) -> None:
    """Requests into the MQTT gateway's store, each acknowledged by it, as the gateway keeps a
    QoS 1 message before its PUBACK; the stream draws them from there."""
    nc = await connect(cluster.urls, "test-gateways")
    try:
        js = nc.jetstream()
        for body in bodies:
            subject = subject_of(f"{ROOT}/{body['site']}/{body['gateway']}/procurement/request")
            await js.publish(subject, json.dumps(body).encode(), stream=MQTT_STORE)
    finally:
        await nc.close()


async def unacknowledged(cluster: NatsCluster, durable: str) -> int:
    """Messages the consumer group's members hold without having acknowledged them."""
    nc = await connect(cluster.urls, "test-probe")
    try:
        info = await nc.jetstream().consumer_info(MQTT_STORE, durable)
        return int(info.num_ack_pending or 0)
    finally:
        await nc.close()


def summary_counts(watcher: CliRun) -> dict[str, int]:
    """The counts a watch prints on stderr as it ends."""
    line = next(e for e in watcher.errors if " applied, " in e)
    numbers = [int(part.split()[0]) for part in line.split(": ", 1)[1].split(", ")]
    numbers.append(int(line.split("(")[1].split()[0]))
    names = ("applied", "finished", "duplicates", "deliveries", "left", "malformed", "again")
    return dict(zip(names, numbers, strict=True))
