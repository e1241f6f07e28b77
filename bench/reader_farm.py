"""Simulated readers for the load benchmark, in their own process so that their CPU time is not
counted as the daemon's: N R2000 readers on ptys with tags on four antennas each, and one shelf
controller. Prints a JSON line when ready, and the bytes each line carried when it stops."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96


async def farm(links: Path, readers: int, tags: int, slots: int) -> None:
    shelf = ShelfControllerSimulator(slots=slots)
    await shelf.start()
    sims = []
    for n in range(readers):
        sim = R2000Simulator(link=links / f"r{n}", round_time=0.0)
        await sim.start()
        for antenna in (1, 2, 3, 4):
            for t in range(tags):
                sim.place(antenna, sgtin96("4012345", "012345", (n * 4 + antenna) * 10_000 + t))
        sims.append(sim)
    print(json.dumps({"ready": True, "shelf_port": shelf.port}), flush=True)
    started = time.monotonic()
    sent_at_start = [s.line.bytes_sent for s in sims]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # run until told to stop
    elapsed = time.monotonic() - started
    sent = [s.line.bytes_sent - b for s, b in zip(sims, sent_at_start, strict=True)]
    print(json.dumps({"seconds": elapsed, "bytes": sent}), flush=True)
    for sim in sims:
        await sim.stop()
    await shelf.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=Path, required=True)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--tags", type=int, default=30)
    parser.add_argument("--slots", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(farm(args.links, args.readers, args.tags, args.slots))


if __name__ == "__main__":
    main()
