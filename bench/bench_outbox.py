"""The outbox against a local mosquitto, QoS 1.

Drain: procurement requests already in a real ledger's outbox, sent by the real OutboxPublisher
wired as the gateway wires it (fetch and mark sent through the LedgerWriter; a row is marked sent
only on its PUBACK), against a raw paho QoS 1 publish loop of the same payloads to the same
broker, in the same run. Both use paho's default in-flight window (20), which the session keeps.

Backlog after an outage: the broker stopped, requests queued as the daemon queues them, the
broker started again on the same port: time to the link being back and to the last row marked
sent, and an independent persistent subscriber checks that every request arrived exactly once.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from bench.report import header, row, run_benchmark
from edge.daemon import ledger_questions
from edge.demo.local_broker import LocalBroker
from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import MessageKind, OutboxMessage, OutboxRow
from inventory.ledger.writer import LedgerWriter
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import Priority, ProcurementRequest
from sync.broker_url import BrokerAddress
from sync.mqtt_client import SESSION_EXPIRY_SECONDS
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher
from sync.topics import Topics


@dataclass(frozen=True)
class Sizes:
    messages: int
    drain_runs: int
    outage_runs: int


FULL, QUICK = Sizes(10_000, 7, 3), Sizes(300, 1, 1)
SITE, GATEWAY = "pharmacy-0042", "gw-bench"
TOPICS = Topics(SITE, GATEWAY)
PRODUCTS = [
    Product(f"0{4_000_000_000_000 + n:013d}", f"Product {n} 500 mg tablets", 20, 60)
    for n in range(100)
]
T = TypeVar("T")


def queue_requests(first: int, count: int, keeper: InventoryKeeper) -> None:
    """On the writer: `count` procurement requests and their outbox messages, as one change
    each (what the keeper writes when stock falls below the reorder point)."""
    for n in range(first, first + count):
        product = PRODUCTS[n % len(PRODUCTS)]
        at = keeper.stamp()
        request = ProcurementRequest(
            str(uuid.uuid4()), at, product, 40 + n % 7, Priority.ROUTINE, 18, 0, "auto"
        )
        message = OutboxMessage(
            MessageKind.PROCUREMENT_REQUEST, request.payload(SITE, GATEWAY), request.request_id
        )
        with keeper.group():
            keeper.ledger.write(at, requests=[request], messages=[message])


def pending(limit: int, keeper: InventoryKeeper) -> list[OutboxRow]:
    return keeper.pending_messages(limit)


def mark_sent(ids: list[int], keeper: InventoryKeeper) -> list[OutboxRow]:
    return keeper.mark_sent(ids)


def outbox_depth(keeper: InventoryKeeper) -> int:
    return keeper.outbox.depth()


class Daemon:
    """The ledger writer, session and publisher, wired as edge.daemon.gateway wires them."""

    def __init__(self, db: Path, broker: LocalBroker, client_id: str):
        self.writer = LedgerWriter(partial(InventoryKeeper, db, {}, SITE, GATEWAY))
        self.session = MqttSession(BrokerAddress.parse(broker.url), client_id)
        self.marked = 0
        self.target = 0
        self.all_marked = asyncio.Event()
        self.publisher = OutboxPublisher(
            self.session,
            TOPICS,
            fetch_pending=ledger_questions.pending_from(self.on_writer),
            mark_sent=self._mark_sent,
        )
        self._task: asyncio.Task[None] | None = None

    def on_writer(self, call: Callable[[InventoryKeeper], T]) -> Awaitable[T]:
        return self.writer.call(call)

    async def _mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        superseded = await self.on_writer(partial(mark_sent, ids))
        self.marked += len(ids)  # counted once durable, as the gateway's call returns
        if self.marked >= self.target:
            self.all_marked.set()
        return superseded

    async def open(self) -> None:
        await asyncio.to_thread(self.writer.start)

    async def connect(self) -> None:
        await self.session.start()
        await asyncio.wait_for(self.session.connected.wait(), 10)

    def publish(self) -> None:
        self._task = asyncio.create_task(self.publisher.run())

    async def depth(self) -> int:
        return await self.on_writer(outbox_depth)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.session.stop()
        await asyncio.to_thread(self.writer.stop)


def paho_client(client_id: str, persistent: bool = True) -> tuple[mqtt.Client, Properties]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if persistent:
        properties.SessionExpiryInterval = SESSION_EXPIRY_SECONDS
    return client, properties


def raw_paho_loop(port: int, payloads: list[str], client_id: str) -> float:
    """Baseline: publish every payload at QoS 1 in a loop, wait for every PUBACK (msgs/s)."""
    client, properties = paho_client(client_id)
    connected, done = threading.Event(), threading.Event()
    acked = 0

    def on_publish(*_: object) -> None:
        nonlocal acked
        acked += 1
        if acked == len(payloads):
            done.set()

    client.on_connect = lambda *_: connected.set()
    client.on_publish = on_publish
    client.connect("127.0.0.1", port, clean_start=False, properties=properties)
    client.loop_start()
    if not connected.wait(10):
        raise TimeoutError("baseline client did not connect")
    topic = TOPICS.procurement_request
    started = time.perf_counter()
    for payload in payloads:
        client.publish(topic, payload, qos=1)
    if not done.wait(120):
        raise TimeoutError(f"baseline: {acked} of {len(payloads)} PUBACKs")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return len(payloads) / elapsed


async def quiet() -> None:
    """Let the writes before a measurement reach the disk, and the garbage go, first: whichever
    side ran right after the outbox was filled was otherwise slowed by the kernel's writeback."""
    await asyncio.to_thread(os.sync)
    gc.collect()
    await asyncio.sleep(0.5)


async def drain_once(
    work: Path, broker: LocalBroker, run: int, messages: int
) -> tuple[float, float, int]:
    """One run: (publisher msgs/s, baseline msgs/s, payload bytes). The two take turns going
    first, so that neither always meets the broker fresh."""
    daemon = Daemon(work / f"drain-{run}.sqlite", broker, f"rxedge-bench-drain-{run}")
    await daemon.open()
    for first in range(0, messages, 1000):
        await daemon.on_writer(partial(queue_requests, first, min(1000, messages - first)))
    rows = await daemon.on_writer(partial(pending, messages + 1))
    payloads = [r.payload for r in rows]
    assert len(payloads) == messages

    async def baseline() -> float:
        await quiet()
        return await asyncio.to_thread(
            raw_paho_loop, broker.port, payloads, f"rxedge-bench-raw-{run}"
        )

    raw = await baseline() if run % 2 == 0 else 0.0
    daemon.target = messages
    await daemon.connect()
    await quiet()
    started = time.perf_counter()
    daemon.publish()
    await asyncio.wait_for(daemon.all_marked.wait(), 120)
    elapsed = time.perf_counter() - started
    left = await daemon.depth()
    await daemon.close()
    if left:
        raise AssertionError(f"{left} rows still pending after the drain")
    raw = raw or await baseline()
    return messages / elapsed, raw, len(payloads[0].encode())


async def when_set(event: asyncio.Event) -> float:
    await event.wait()
    return time.perf_counter()


class Centre:
    """An independent subscriber (plain paho, persistent session, QoS 1) counting request ids."""

    def __init__(self, port: int, client_id: str):
        self.ids: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client, properties = paho_client(client_id)
        self._client.on_connect = lambda c, *_: c.subscribe(TOPICS.procurement_request, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]  # floats work
        self._client.connect("127.0.0.1", port, clean_start=False, properties=properties)
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("centre could not subscribe")

    def _on_message(self, _client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        request_id = json.loads(msg.payload)["request_id"]
        with self._lock:
            self.ids[request_id] += 1

    def distinct(self) -> int:
        with self._lock:
            return len(self.ids)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


async def outage_once(work: Path, run: int, messages: int) -> dict[str, float]:
    """One outage: seconds from broker start to listening, link back and outbox drained."""
    broker = LocalBroker(work / f"broker-outage-{run}")
    await broker.start()
    centre = Centre(broker.port, f"centre-{run}")
    daemon = Daemon(work / f"outage-{run}.sqlite", broker, f"rxedge-bench-outage-{run}")
    await daemon.open()
    await daemon.connect()
    daemon.publish()
    await broker.stop()
    while daemon.session.connected.is_set():
        await asyncio.sleep(0.01)
    # While the broker is away the daemon goes on: each request is its own change.
    futures = [daemon.writer.submit(partial(queue_requests, n, 1)) for n in range(messages)]
    await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
    daemon.publisher.notify()
    await asyncio.sleep(1.5)  # paho's reconnect back-off reaches its ceiling
    queued = await daemon.depth()
    assert queued == messages, f"{messages - queued} rows marked sent while the broker was down"
    rows = await daemon.on_writer(partial(pending, queued))
    written = [json.loads(r.payload)["request_id"] for r in rows]
    daemon.target = messages

    link_back = asyncio.create_task(when_set(daemon.session.connected))
    all_marked = asyncio.create_task(when_set(daemon.all_marked))
    started = time.perf_counter()
    await broker.start()
    listening = time.perf_counter() - started
    link = await link_back - started
    drained = await asyncio.wait_for(all_marked, 120) - started
    deadline = time.perf_counter() + 30
    while centre.distinct() < messages and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # let any duplicate arrive too
    left = await daemon.depth()
    await daemon.close()
    centre.close()
    await broker.stop()
    counts = centre.ids
    return {
        "listening": listening,
        "link": link,
        "drained": drained,
        "left": left,
        "distinct": len(counts),
        "missing": len(set(written) - set(counts)),
        "unknown": len(set(counts) - set(written)),
        "duplicates": sum(c - 1 for c in counts.values()),
    }


async def measure(sizes: Sizes) -> None:
    messages = sizes.messages
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker(work / "broker")
        await broker.start()
        runs = [await drain_once(work, broker, run, messages) for run in range(sizes.drain_runs)]
        await broker.stop()
        size = runs[0][2]
        header(
            f"outbox drain to a local mosquitto, QoS 1: {messages:,} procurement requests "
            f"({size} bytes each), median of {sizes.drain_runs} runs; in-flight window 20 on both"
        )
        for n, (publisher, baseline, _) in enumerate(runs, 1):
            row(
                f"run {n}: publisher (raw paho {baseline:,.0f}/s)",
                publisher,
                "msgs/s",
                publisher / baseline,
                f"{publisher / baseline:.2f}x",
            )
        baseline = statistics.median(r[1] for r in runs)
        publisher = statistics.median(r[0] for r in runs)
        ratios = statistics.median(r[0] / r[1] for r in runs)
        row("baseline: raw paho QoS 1 loop, every PUBACK", baseline, "msgs/s", 1.0)
        row(
            "OutboxPublisher via LedgerWriter, all marked",
            publisher,
            "msgs/s",
            ratios,
            f"{ratios:.2f}x, the median of the runs' ratios; goal >= 0.8x",
        )

        outages = [await outage_once(work, run, messages) for run in range(sizes.outage_runs)]
        header(
            f"backlog after a broker outage: {messages:,} requests queued while it was down, "
            f"a persistent QoS 1 subscriber counting them; median of {sizes.outage_runs} runs"
        )
        for key, name, note in (
            ("listening", "broker start -> accepting connections", ""),
            ("link", "broker start -> session connected", "goal <= 2000 ms"),
            ("drained", "broker start -> last row marked sent", ""),
        ):
            value = statistics.median(o[key] for o in outages) * 1000
            spread = ", ".join(f"{o[key] * 1000:.0f}" for o in outages)
            row(name, value, "ms", None, f"{note}{'; ' if note else ''}runs: {spread}")
        rates = [messages / (o["drained"] - o["link"]) for o in outages]
        row(
            "drain rate once connected",
            statistics.median(rates),
            "msgs/s",
            None,
            "with the subscriber",
        )
        for o in outages:
            exact = o["distinct"] == messages and not (o["missing"] or o["unknown"])
            verdict = "every request exactly once" if exact and not o["duplicates"] else "CHECK"
            row(
                "centre: distinct request ids received",
                o["distinct"],
                "ids",
                None,
                f"{verdict}; missing {o['missing']:.0f}, duplicates {o['duplicates']:.0f}, "
                f"unknown {o['unknown']:.0f}, rows left {o['left']:.0f}",
            )


def main(quick: bool = False) -> None:
    asyncio.run(measure(QUICK if quick else FULL))


if __name__ == "__main__":
    run_benchmark(main, __doc__)
