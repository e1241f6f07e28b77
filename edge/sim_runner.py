"""`rxedge sim ...`: simulated devices on their own, for bench work and manual tests."""

from __future__ import annotations

import asyncio
from pathlib import Path

from firmware_sim.r2000_sim import ANTENNAS, R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96


async def run_reader_sim(link: Path, baudrate: int, tags_per_antenna: int) -> int:
    """An R2000 reader with `tags_per_antenna` packs on each antenna, until Ctrl-C."""
    sim = R2000Simulator(baudrate=baudrate, link=link)
    await sim.start()
    for antenna in ANTENNAS:
        for n in range(tags_per_antenna):
            sim.place(antenna, sgtin96("4012345", "012345", antenna * 1000 + n))
    print(f"R2000 reader simulator at {baudrate} baud on {sim.port}; Ctrl-C to stop", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
    return 0


async def run_shelf_sim(port: int, slots: int) -> int:
    """A shelf controller (profile rxedge-ptl-v1) on Modbus TCP, until Ctrl-C."""
    sim = ShelfControllerSimulator(slots=slots, port=port)
    await sim.start()
    print(
        f"shelf controller simulator, {slots} slots, Modbus TCP on 127.0.0.1:{sim.port}", flush=True
    )
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
    return 0
