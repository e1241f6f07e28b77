"""The peers of the scan-to-LED benchmark, in their own process: a Modbus TCP shelf controller
and a GS1 scanner on a pty. Prints {"shelf_port", "scanner_port"} as one JSON line, then scans
each line read from stdin (GS written as <GS>) until stdin closes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator


async def serve(link: Path, slots: int) -> None:
    shelf = ShelfControllerSimulator(slots=slots)
    scanner = ScannerSimulator(baudrate=115200, link=link)
    await shelf.start()
    await scanner.start()
    print(json.dumps({"shelf_port": shelf.port, "scanner_port": scanner.port}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            scanner.scan(line.strip().replace("<GS>", "\x1d"))
    finally:
        await scanner.stop()
        await shelf.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--link", type=Path, required=True)
    parser.add_argument("--slots", type=int, default=24)
    args = parser.parse_args()
    asyncio.run(serve(args.link, args.slots))


if __name__ == "__main__":
    main()
