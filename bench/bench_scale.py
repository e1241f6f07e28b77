"""Many pharmacies, one centre: 1,000 simulated gateways against a 3-node NATS cluster
(JetStream, MQTT 3.1.1 gateway) with one node killed and started again mid-run, and the same
load against one mosquitto for comparison. Loopback only, bounded in time and count.

The gateways (bench.scale_gateways, spread over a few processes) each send a pharmacy's day,
compressed into the run: procurement requests, alarm changes, a stocktake's burst of EPCIS
events, `online` at every connect. Three `rxedge procurement watch` processes take the
requests: on NATS as one consumer group on the stream (`--nats --durable`), on mosquitto as one
MQTT 5 share group (`--group`). Counted from outside both: every request the broker acknowledged
to a gateway must be applied by exactly one consumer (lost 0, applied twice 0); end to end is
from a request's `created_at` at the gateway to its line read from a consumer's output. Every
request applied more than LATE_SECONDS after its PUBACK is named: p99 hides a few such (a
delivery lost in flight with the killed node waits out the consumer group's ack wait).

`python -m bench.bench_scale --quick` runs 12 gateways for 3 seconds instead, against both
centres at once (its figures show that everything runs, they are not for comparing).
"""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.report import header, row
from bench.scale_gateways import GatewaysSummary
from edge.demo.local_broker import LocalBroker
from edge.demo.nats_cluster import NatsCluster

ROOT = Path(__file__).resolve().parents[1]
CONSUMERS = 3
KILLED = 1  # the node killed a third of the way in and started again at two thirds
LATE_SECONDS = 10.0  # a request applied this long after its PUBACK is named in the report


@dataclass(frozen=True, slots=True)
class Load:
    gateways: int
    processes: int
    seconds: float
    speedup: float  # a 10-hour day lasts 36,000 / speedup seconds
    warmup: float  # for every gateway to connect before the day starts
    together: bool = False  # both centres measured at once, not one after the other


FULL = Load(gateways=1000, processes=4, seconds=120, speedup=90, warmup=30)
QUICK = Load(gateways=12, processes=2, seconds=3, speedup=12000, warmup=2, together=True)


class Consumer:
    """One `rxedge procurement watch` process; each request line timed as it is read."""

    def __init__(self, process: asyncio.subprocess.Process):
        self.process = process
        # request id, seconds from its created_at, when its line was read (epoch seconds)
        self.applied: list[tuple[str, float, float]] = []
        self.errors: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(process.stdout)),
            asyncio.create_task(self._collect(process.stderr)),
        ]

    @classmethod
    async def start(cls, *args: str) -> Consumer:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge.cli.main", "procurement", "watch", "--json", *args,
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        return cls(process)

    async def watching(self) -> None:
        while not any("watching" in e for e in self.errors):
            if self.process.returncode is not None:
                raise RuntimeError("a consumer ended: " + "\n".join(self.errors))
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        await asyncio.wait_for(self.process.wait(), 30)
        await asyncio.gather(*self._readers)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            now = time.time()
            body = json.loads(line)
            created = datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))
            self.applied.append((body["request_id"], now - created.timestamp(), now))

    async def _collect(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:
            self.errors.append(line.decode().rstrip())


@dataclass
class Outcome:
    acked_requests: int
    lost: int
    twice: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    late: list[tuple[str, float]]  # request id, seconds from its PUBACK to its first line
    messages_per_second: float
    requests_per_second: float
    messages: int
    resent: int
    failed_attempts: int
    unacknowledged: int
    waiting: list[str]


async def run_gateways(load: Load, brokers: str, start_at: float) -> list[GatewaysSummary]:
    share = -(-load.gateways // load.processes)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.scale_gateways",
            "--brokers",
            brokers,
            "--first",
            str(first),
            "--count",
            str(min(share, load.gateways - first)),
            "--seconds",
            str(load.seconds),
            "--speedup",
            str(load.speedup),
            "--start-at",
            str(start_at),
            "--seed",
            str(first + 1),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        for first in range(0, load.gateways, share)
    ]
    outputs = await asyncio.gather(*(w.communicate() for w in workers))
    return [GatewaysSummary(**json.loads(out)) for out, _ in outputs]


async def measure(load: Load, centre: str, work: Path) -> Outcome:
    """The load against `centre` ("nats": the cluster, one node killed; "mosquitto")."""
    cluster = NatsCluster(work / "nats") if centre == "nats" else None
    mosquitto = LocalBroker(work / "mosquitto") if centre == "mosquitto" else None
    if cluster is not None:
        await cluster.start()
        await cluster.prepare()
        brokers = [u.removeprefix("mqtt://") for u in cluster.mqtt_urls]
        take = ["--nats", ",".join(cluster.urls), "--durable", "scale"]
        takers = [take] * CONSUMERS
    else:
        assert mosquitto is not None
        await mosquitto.start()
        brokers = [mosquitto.url.removeprefix("mqtt://")]
        takers = [
            ["--broker", mosquitto.url, "--group", "scale", "--client-id", f"scale-{i}"]
            for i in range(CONSUMERS)
        ]
    consumers = [await Consumer.start(*args) for args in takers]
    try:
        for consumer in consumers:
            await consumer.watching()
        start_at = time.time() + load.warmup
        outage = (
            None if cluster is None else asyncio.create_task(node_outage(cluster, start_at, load))
        )
        summaries = await run_gateways(load, ",".join(brokers), start_at)
        if outage is not None:
            await outage
        acked = {i: at for s in summaries for i, at in s.acked_requests.items()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not acked.keys() <= applied_ids(consumers):
            await asyncio.sleep(0.2)
    finally:
        for consumer in consumers:
            await consumer.stop()
        if cluster is not None:
            await cluster.stop()
        if mosquitto is not None:
            await mosquitto.stop()
    counts = Counter(i for c in consumers for i, _, _ in c.applied)
    delays = sorted(d for c in consumers for i, d, _ in c.applied if i in acked)
    messages = sum(sum(s.acked.values()) for s in summaries)
    seconds = max(s.acked_seconds for s in summaries)
    return Outcome(
        acked_requests=len(acked),
        lost=len(acked.keys() - set(counts)),
        twice=sum(1 for n in counts.values() if n > 1),
        p50_ms=1000 * statistics.median(delays) if delays else float("nan"),
        p99_ms=1000 * delays[int(0.99 * (len(delays) - 1))] if delays else float("nan"),
        max_ms=1000 * delays[-1] if delays else float("nan"),
        late=late_requests(acked, consumers),
        messages_per_second=messages / seconds,
        requests_per_second=len(acked) / seconds,
        messages=messages,
        resent=sum(s.resent for s in summaries),
        failed_attempts=sum(s.failed_attempts for s in summaries),
        unacknowledged=sum(s.unacknowledged for s in summaries),
        waiting=[w for s in summaries for w in s.waiting],
    )


def applied_ids(consumers: list[Consumer]) -> set[str]:
    return {i for c in consumers for i, _, _ in c.applied}


def late_requests(acked: dict[str, float], consumers: list[Consumer]) -> list[tuple[str, float]]:
    """The requests acknowledged to a gateway at `acked` (request id -> epoch seconds) whose
    first line came more than LATE_SECONDS later, with how much later; the latest first."""
    first_read: dict[str, float] = {}
    for consumer in consumers:
        for request_id, _, read in consumer.applied:
            first_read[request_id] = min(read, first_read.get(request_id, read))
    late = [
        (request_id, first_read[request_id] - puback)
        for request_id, puback in acked.items()
        if request_id in first_read and first_read[request_id] - puback > LATE_SECONDS
    ]
    return sorted(late, key=lambda item: -item[1])


async def node_outage(cluster: NatsCluster, start_at: float, load: Load) -> None:
    await asyncio.sleep(max(0.0, start_at + load.seconds / 3 - time.time()))
    cluster.kill(KILLED)
    await asyncio.sleep(load.seconds / 3)
    await cluster.start_node(KILLED)


def report(name: str, outcome: Outcome) -> None:
    row(f"{name}: requests acknowledged to gateways", outcome.acked_requests, "requests")
    row(f"{name}: lost", outcome.lost, "requests", note="must be 0")
    row(f"{name}: applied twice", outcome.twice, "requests", note="must be 0")
    row(f"{name}: end to end p50", outcome.p50_ms, "ms")
    row(f"{name}: end to end p99", outcome.p99_ms, "ms")
    row(f"{name}: end to end max", outcome.max_ms, "ms")
    row(f"{name}: applied > {LATE_SECONDS:.0f} s after PUBACK", len(outcome.late),
        "requests", note="on NATS, a delivery lost in flight waits out the ack wait")  # fmt: skip
    for request_id, seconds in outcome.late:
        print(f"      {request_id}: applied {seconds:.1f} s after its PUBACK")
    row(f"{name}: messages acknowledged", outcome.messages_per_second, "msgs/s",
        note=f"{outcome.messages:,} in all, until the last PUBACK")  # fmt: skip
    row(f"{name}: left unacknowledged at the end", outcome.unacknowledged, "msgs",
        note="still in the gateways' outboxes")  # fmt: skip
    for waiting in outcome.waiting[:10]:
        print(f"      {waiting}")
    row(f"{name}: requests", outcome.requests_per_second, "reqs/s")
    row(f"{name}: sent again after a lost link", outcome.resent, "msgs",
        note=f"{outcome.failed_attempts} failed connection attempts")  # fmt: skip


async def run(load: Load) -> None:
    header(
        f"Scale: {load.gateways} gateways in {load.processes} processes, {CONSUMERS} consumers, "
        f"a pharmacy day x{load.speedup:.0f} for {load.seconds:.0f} s"
    )
    with tempfile.TemporaryDirectory(prefix="rxedge-scale-") as work:
        if load.together:
            nats, single = await asyncio.gather(
                measure(load, "nats", Path(work)), measure(load, "mosquitto", Path(work))
            )
        else:
            nats = await measure(load, "nats", Path(work))
            single = await measure(load, "mosquitto", Path(work))
        report("3-node NATS, node 2 killed", nats)
        report("one mosquitto", single)
    if nats.lost or nats.twice or single.lost or single.twice:
        raise SystemExit("requests lost or applied twice")


def main() -> None:
    asyncio.run(run(QUICK if "--quick" in sys.argv[1:] else FULL))


if __name__ == "__main__":
    main()
