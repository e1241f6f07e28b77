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

`python -m bench.bench_putaway_latency --quick` runs one round instead of fifteen.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

from bench.report import header, row
from bench.scan_timing import NUMBER_BASE, fsync_seconds, run_scans, timed_daemon
from drivers.events import ButtonPressed
from edge.daemon import ledger_questions as ask
from inventory.codes.gtin import gtin_check_digit

PRODUCTS = 20
ROUNDS, QUICK_ROUNDS = 15, 1


def gtin(n: int) -> str:
    first13 = f"040123459{n:04d}"
    return first13 + str(gtin_check_digit(first13))


def code(n: int) -> str:
    return f"01{gtin(n)}17311231" + "10B1<GS>"


async def measure(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work = Path(tmp)
        settings = {
            "picking": {"remind_after_seconds": 3000, "timeout_seconds": 6000},
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
        goods_in = {"name": "goods-in", "role": "putaway", "receive_to": "A-24"}
        latencies: list[float] = []
        async with timed_daemon(work, settings, goods_in) as timed:
            await asyncio.sleep(1.0)  # the controller is up, the scanner line open
            plans = [(code(n), NUMBER_BASE + n, 1) for n in range(PRODUCTS)]
            for n in range(rounds + 1):  # the first round warms up and is not counted
                took = await run_scans(timed.watch, timed.peers, plans)
                latencies += took if n else []
                for slot in range(PRODUCTS):  # every pack put: the slots are empty again
                    timed.forward(ButtonPressed("A", slot, 1))
                last = partial(ask.on_hand, gtin(PRODUCTS - 1))
                while await timed.gateway.ledger.ask(last) < n + 1:
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)  # the puts' reports sent before the next round
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
