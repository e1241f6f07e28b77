"""Simulated gateways for the scale benchmark (bench.bench_scale), run as a process: `count`
light MQTT 3.1.1 clients (bench.light_mqtt), each sending a pharmacy's day compressed into the
run. Prints one JSON summary on stdout at the end: what was sent and acknowledged, and the ids
of the procurement requests the broker acknowledged.

A pharmacy's opening day (10 hours) on one gateway, from the shelves of a mid-sized pharmacy:
24 procurement requests, 12 alarm changes (retained), one stocktake sweeping a 60-slot section
(one EPCIS event per slot, all within a minute), and `online` at every connect. Scaled by
`speedup`, a day lasts 36,000 / speedup seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from bench.light_mqtt import LightClient, Outgoing

DAY_SECONDS = 10 * 3600
REQUESTS_PER_DAY = 24
ALARM_CHANGES_PER_DAY = 12
STOCKTAKE_SLOTS = 60
SWEEP_SECONDS = 60  # a stocktake's events leave within a minute of real time
DRAIN_SECONDS = 60


def stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_body(site: str, gateway: str, n: int) -> dict[str, object]:
    return {
        "request_id": str(uuid.uuid4()),
        "created_at": stamp(time.time()),
        "site": site,
        "gateway": gateway,
        "gtin": "04012345123456",
        "name": f"Product {n % 400} 500 mg tablets",
        "batch_hint": None,
        "quantity": 10 + n % 7,
        "unit": "pack",
        "priority": "routine",
        "reason": {"on_hand": 2, "on_order": 0, "reorder_point": 3, "par": 12},
        "confirmed_by": "auto",
    }


def epcis_event(site: str, slot: int) -> bytes:
    return json.dumps(
        {
            "type": "ObjectEvent",
            "eventTime": stamp(time.time()),
            "action": "OBSERVE",
            "bizStep": "cycle_counting",
            "readPoint": {"id": f"urn:epc:id:sgln:4012345.00001.{slot}"},
            "quantityList": [{"epcClass": "urn:epc:idpat:sgtin:4012345.012345.*", "quantity": 3}],
            "site": site,
        }
    ).encode()


def schedule(
    gateways: int, seconds: float, speedup: float, rng: random.Random
) -> list[tuple[float, int, str]]:
    """(time from start, gateway index, kind) for the whole run, in time order."""
    days = seconds * speedup / DAY_SECONDS
    plan: list[tuple[float, int, str]] = []
    sweep = SWEEP_SECONDS / speedup
    for g in range(gateways):
        for kind, per_day in (("request", REQUESTS_PER_DAY), ("alarm", ALARM_CHANGES_PER_DAY)):
            expected = per_day * days
            count = int(expected) + (rng.random() < expected - int(expected))
            plan += [(rng.uniform(0, seconds), g, kind) for _ in range(count)]
        sweeps = int(days) + (rng.random() < days - int(days))
        for _ in range(sweeps):
            start = rng.uniform(0, max(0.0, seconds - sweep))
            plan += [
                (start + sweep * i / STOCKTAKE_SLOTS, g, "event") for i in range(STOCKTAKE_SLOTS)
            ]
    return sorted(plan)


@dataclass
class GatewaysSummary:
    """What one process of simulated gateways sent, and what the broker acknowledged."""

    sent: dict[str, int]
    acked: dict[str, int]
    unacknowledged: int  # still waiting for a PUBACK at the end
    waiting: list[str]  # the gateways still waiting, and their links
    connects: int
    failed_attempts: int
    resent: int  # sent again, marked DUP, after a lost link
    publish_seconds: float
    acked_seconds: float  # from the start to the last PUBACK
    acked_requests: dict[str, float]  # request id -> when its PUBACK came (epoch seconds)


async def run(args: argparse.Namespace) -> GatewaysSummary:
    brokers = [(url.split(":")[0], int(url.split(":")[1])) for url in args.brokers.split(",")]
    rng = random.Random(args.seed)
    clients = []
    for i in range(args.count):
        n = args.first + i
        # Gateways spread over the nodes: each starts at a different one, then goes in order.
        order = brokers[n % len(brokers) :] + brokers[: n % len(brokers)]
        site, gateway = f"pharmacy-{n:04d}", "gw-1"
        clients.append(
            LightClient(
                f"rxedge-{site}-{gateway}",
                order,
                (f"rxedge/v1/{site}/{gateway}/status", b"online"),
            )
        )
    links = [asyncio.create_task(c.run()) for c in clients]
    plan = schedule(args.count, args.seconds, args.speedup, rng)
    sent: dict[str, int] = {"request": 0, "alarm": 0, "event": 0}
    acked: dict[str, int] = {"request": 0, "alarm": 0, "event": 0}
    acked_requests: dict[str, float] = {}

    last_ack = 0.0

    def on_ack(kind: str, request_id: str | None = None) -> Callable[[], None]:
        def acknowledged() -> None:
            nonlocal last_ack
            last_ack = time.monotonic()
            acked[kind] += 1
            if request_id is not None:
                acked_requests.setdefault(request_id, time.time())

        return acknowledged

    await asyncio.sleep(max(0.0, args.start_at - time.time()))
    started = time.monotonic()
    for at, g, kind in plan:
        delay = started + at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n = args.first + g
        site, prefix = f"pharmacy-{n:04d}", f"rxedge/v1/pharmacy-{n:04d}/gw-1"
        if kind == "request":
            body = request_body(site, "gw-1", sent["request"])
            message = Outgoing(
                f"{prefix}/procurement/request",
                json.dumps(body).encode(),
                False,
                on_ack("request", str(body["request_id"])),
            )
        elif kind == "alarm":
            alarm = f"shortage-{rng.randrange(400):013d}"
            payload = json.dumps({"alarm_id": alarm, "state": "raised", "at": stamp(time.time())})
            message = Outgoing(f"{prefix}/alarms/{alarm}", payload.encode(), True, on_ack(kind))
        else:
            message = Outgoing(
                f"{prefix}/events", epcis_event(site, sent["event"]), False, on_ack(kind)
            )
        sent[kind] += 1
        clients[g].publish(message)
    published = time.monotonic() - started
    deadline = time.monotonic() + DRAIN_SECONDS
    while any(c.unacknowledged for c in clients) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for link in links:
        link.cancel()
    await asyncio.gather(*links, return_exceptions=True)
    return GatewaysSummary(
        sent=sent,
        acked=acked,
        unacknowledged=sum(c.unacknowledged for c in clients),
        waiting=[
            f"{c.client_id}: {c.unacknowledged} waiting, "
            f"{'connected' if c.connected else 'not connected'}, {c.counts.connects} connects"
            for c in clients
            if c.unacknowledged
        ],
        connects=sum(c.counts.connects for c in clients),
        failed_attempts=sum(c.counts.failed_attempts for c in clients),
        resent=sum(c.counts.resent for c in clients),
        publish_seconds=published,
        acked_seconds=max(published, last_ack - started),
        acked_requests=acked_requests,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--brokers", required=True, help="host:port,host:port,...")
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--speedup", type=float, required=True)
    parser.add_argument("--start-at", type=float, required=True, help="epoch seconds")
    parser.add_argument("--seed", type=int, default=1)
    summary = asyncio.run(run(parser.parse_args()))
    json.dump(asdict(summary), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
