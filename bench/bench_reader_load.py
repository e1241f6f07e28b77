"""CPU the daemon spends per second of wire time with 8 R2000 readers at line rate.

The readers (simulated, paced to 115200 baud, in a separate process) keep their lines as busy
as real-time inventory allows: 30 tags on each of 4 antennas, antennas cycled every round. The
daemon (the real Gateway: decoding, EPC identity, presence, ledger, MQTT session) runs in this
process; its CPU time over a measured window is divided by the window's length.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.daemon_config import bench_config
from bench.report import header, row, run_benchmark
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from edge.settings.config import PresenceConfig
from firmware_sim.lines import BITS_PER_BYTE

BAUD = 115200


async def measure(
    readers: int, tags: int, window: float, dwell: float = PresenceConfig().dwell_seconds
) -> None:
    """`dwell`: how long a pack is seen before the daemon books it (the window starts once
    every pack is booked)."""
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker(work / "broker")
        await broker.start()
        farm = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.reader_farm",
                "--links",
                str(work),
                "--readers",
                str(readers),
                "--tags",
                str(tags),
                "--slots",
                str(readers * 4),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert farm.stdout is not None and farm.stdin is not None
        shelf_port = json.loads(farm.stdout.readline())["shelf_port"]
        antennas = (1, 2, 3, 4)
        readers_config = [
            {
                "name": f"r{n}",
                "port": str(work / f"r{n}"),
                "antennas": {str(a): f"A-{n * 4 + a:02d}" for a in antennas},
            }
            for n in range(readers)
        ]
        config = bench_config(
            work,
            broker.url,
            shelf_port,
            readers * 4,
            readers=readers_config,
            presence={"dwell_seconds": dwell},
        )
        gateway = Gateway(config, observer=lambda _activity: None)
        task = asyncio.create_task(gateway.run())
        packs = readers * 4 * tags
        while gateway.counters["movements"] < packs:
            await asyncio.sleep(0.2)
        reads0, cpu0, wall0 = gateway.counters["tag_reads"], time.process_time(), time.monotonic()
        await asyncio.sleep(window)
        reads1, cpu1, wall1 = gateway.counters["tag_reads"], time.process_time(), time.monotonic()
        farm.stdin.write("stop\n")
        farm.stdin.flush()
        carried = json.loads(farm.stdout.readline())
        farm.wait(10)
        gateway.stop()
        await task
        await broker.stop()

    wall = wall1 - wall0
    cpu_per_wire_second = (cpu1 - cpu0) / wall
    capacity = BAUD / BITS_PER_BYTE
    utilisation = sum(carried["bytes"]) / carried["seconds"] / (readers * capacity)
    header(f"daemon CPU with {readers} R2000 readers at {BAUD} baud ({packs} tagged packs)")
    row("wire: line utilisation (bytes carried / capacity)", utilisation * 100, "%")
    row("tag reads handled", (reads1 - reads0) / wall, "reads/s")
    row(
        "daemon CPU per wire second",
        cpu_per_wire_second * 1000,
        "ms/s",
        None,
        f"{cpu_per_wire_second * 100:.1f} % of one core",
    )
    per_line = cpu_per_wire_second / (readers * utilisation)
    row(
        "lines at full rate one core could serve",
        1 / per_line,
        "lines",
        1 / per_line / readers,
        f"ratio to the {readers} measured",
    )


def main(quick: bool = False) -> None:
    # readers, tags per antenna, seconds measured (quick: packs booked after a second's dwell)
    asyncio.run(measure(2, 2, 1.0, dwell=1.0) if quick else measure(8, 30, 10.0))


if __name__ == "__main__":
    run_benchmark(main, __doc__)
