"""A 3-node NATS cluster (scripts/nats-cluster/node.conf) started per test, its stream ready."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import nats.errors
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from edge.demo.nats_cluster import NatsCluster
from sync.jetstream.link import connect
from sync.jetstream.subjects import MQTT_STORE, request_subject, subject_of
from sync.topics import ROOT
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
