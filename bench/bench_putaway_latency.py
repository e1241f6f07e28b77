"""From a pack scanned in at a put-away scanner to its home slot's LED write leaving.

The real Gateway runs here with a local mosquitto; the shelf controller (Modbus TCP on
loopback) and the GS1 scanner (a pty) run in their own process (bench.scan_peers), as for the
pick-to-light benchmark. Twenty products each have a home slot; every round scans one pack of
each (the clock starts when the scanner's line has been decoded into a scan, and stops when the
shelf bus hands Modbus the write that shows "1 to put" on that product's slot: the pack checked,
its slot chosen, the session's new state and its `lit` report durably committed), then presses
every slot's button once so that the next round starts from empty slots. A first round warms
the daemon up (first session, first parse of each code) and is not counted.

Baseline, measured in the same run: one fsync of a small write on the ledger's disk, the floor
for anything acknowledged durably. Budget (DESIGN.md): p99 <= 10 ms.

`python -m bench.bench_putaway_latency --quick` runs three rounds instead of fifteen.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_pick_latency import NUMBER_BASE, Stopwatch, fsync_seconds, run_scans
from bench.report import header, row
from drivers.events import ButtonPressed
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import parse_config
from inventory.codes.identifiers import gtin_check_digit

PRODUCTS = 20
ROUNDS, QUICK_ROUNDS = 15, 3


def gtin(n: int) -> str:
    first13 = f"040123459{n:04d}"
    return first13 + str(gtin_check_digit(first13))


def code(n: int) -> str:
    return f"01{gtin(n)}17311231" + "10B1<GS>"


async def measure(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker(work / "broker")
        await broker.start()
        peers = subprocess.Popen(
            [sys.executable, "-m", "bench.scan_peers", "--link", str(work / "scanner")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert peers.stdout is not None
        ports = json.loads(peers.stdout.readline())
        config = parse_config(
            {
                "site": "bench",
                "gateway": "g1",
                "database": str(work / "ledger.sqlite"),
                "create_database": True,
                "broker": {"url": broker.url},
                "metrics": {"listen": ""},
                "picking": {"remind_after_seconds": 3000, "timeout_seconds": 6000},
                "scanners": [
                    {
                        "name": "goods-in",
                        "port": ports["scanner_port"],
                        "baudrate": 115200,
                        "role": "putaway",
                        "receive_to": "A-24",
                    }
                ],
                "shelves": [
                    {"name": "A", "host": "127.0.0.1", "port": ports["shelf_port"], "slots": 24}
                ],
                "products": [
                    {
                        "gtin": gtin(n),
                        "name": f"product {n}",
                        "reorder_point": 0,
                        "par": 10,
                        "slots": [f"A-{n + 1:02d}"],
                        "require_serial": False,  # counted packs
                    }
                    for n in range(PRODUCTS)
                ],
            }
        )
        watch = Stopwatch()
        gateway = Gateway(config, observer=lambda _a: None)
        forward = gateway.events.on_event
        gateway.events.on_event = watch.on_event(forward)  # type: ignore[method-assign]
        daemon = asyncio.create_task(gateway.run())
        latencies: list[float] = []
        try:
            await gateway.ready.wait()
            for bus in gateway.devices.buses:
                client = bus._client  # the bench times the write leaving
                client.write_registers = watch.wrap_write(client.write_registers)  # type: ignore[method-assign]
            await asyncio.sleep(1.0)  # the controller is up, the scanner line open
            plans = [(code(n), NUMBER_BASE + n, 1) for n in range(PRODUCTS)]
            for n in range(rounds + 1):  # the first round warms up and is not counted
                took = await run_scans(watch, peers, plans)
                latencies += took if n else []
                for slot in range(PRODUCTS):  # every pack put: the slots are empty again
                    forward(ButtonPressed("A", slot, 1))
                while await gateway.on_hand(gtin(PRODUCTS - 1)) < n + 1:
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)  # the puts' reports sent before the next round
        finally:
            gateway.stop()
            await daemon
            assert peers.stdin is not None
            peers.stdin.close()
            peers.wait(10)
            await broker.stop()
        fsync = fsync_seconds(work)
    header(
        f"Put-away scan -> home slot lit, {len(latencies)} scans of {PRODUCTS} products, "
        "Modbus TCP on loopback (goal p99 <= 10 ms)"
    )
    row("one fsync on the ledger's disk (baseline)", fsync * 1e6, "us")
    q = statistics.quantiles(latencies, n=100)
    median = statistics.median(latencies)
    row("pack scanned in: slot lit, p50", median * 1e6, "us", median / fsync, "x one fsync")
    row("pack scanned in: slot lit, p99", q[98] * 1e6, "us", q[98] / fsync, "x one fsync")


def main() -> None:
    asyncio.run(measure(QUICK_ROUNDS if "--quick" in sys.argv[1:] else ROUNDS))


if __name__ == "__main__":
    main()
