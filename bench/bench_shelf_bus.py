"""LED updates per second on one RS-485 line (Modbus RTU), against what the wire can carry.

One 24-slot controller (profile rxedge-ptl-v1) sits on a simulated line paced to the baud rate
(10 bits a byte, 3.5 characters of silence after every frame, one frame at a time), in a separate
process so that its CPU does not count. Two workloads, cycle after cycle as fast as they go:
one slot changing per cycle (a pick: colour, number and LED; three single-value writes), and
all 24 slots changing at once (three writes of 24 values). Every cycle also reads the buttons
(one FC04 of 24 registers), as the bus always does.

The baseline is the wire: the same frames' bytes and silences at the baud rate, so a ratio of 1
would mean the line never idles. A plain pymodbus client sending the same requests in a loop is
measured too, to show what the driver itself costs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pymodbus.client.base import ModbusBaseClient

from bench.report import header, row, run_benchmark
from drivers.modbus.lights import DARK, Colour, Mode, SlotLight
from drivers.modbus.profile import RXEDGE_PTL_V1
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus
from drivers.modbus.wire import FunctionCode, exchange_time
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator

SLOTS = 24


@dataclass(frozen=True)
class Sizes:
    baudrates: tuple[int, ...]
    runs: int
    seconds: float  # per run


FULL = Sizes((19200, 115200), 5, 1.0)
QUICK = Sizes((115200,), 1, 0.2)
WARM_UP = 3  # cycles before timing: the first writes the whole state

Cycle = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Workload:
    name: str
    slots_per_cycle: int

    def light(self, cycle: int, slot: int) -> SlotLight:
        """Lit on even rounds through the shelf, dark on odd ones: colour, number and LED change."""
        if (cycle // (SLOTS // self.slots_per_cycle)) % 2:
            return DARK
        return SlotLight(True, Colour.GREEN, Mode.STEADY, 1 + (cycle + slot) % 9)

    def slots(self, cycle: int) -> range:
        first = (cycle * self.slots_per_cycle) % SLOTS
        return range(first, first + self.slots_per_cycle)

    def exchanges(self) -> list[tuple[FunctionCode, int]]:
        n = self.slots_per_cycle
        return [
            (FunctionCode.WRITE_REGISTERS, n),  # colour
            (FunctionCode.WRITE_REGISTERS, n),  # number
            (FunctionCode.WRITE_COILS, n),  # LED on or off
            (FunctionCode.READ_INPUT_REGISTERS, SLOTS),  # buttons
        ]

    def wire_rate(self, baudrate: int) -> float:
        """Updates per second the line carries with no idle time at all."""
        seconds = sum(exchange_time(baudrate, fc, count) for fc, count in self.exchanges())
        return self.slots_per_cycle / seconds


WORKLOADS = [Workload("one slot per cycle", 1), Workload("all 24 slots per cycle", SLOTS)]


def bus_cycle(bus: ShelfBus, work: Workload) -> Cycle:
    async def cycle(n: int) -> None:
        for slot in work.slots(n):
            bus.set_light("A", slot, work.light(n, slot))
        await bus.cycle()

    return cycle


def client_cycle(client: ModbusBaseClient, work: Workload) -> Cycle:
    """The same requests the bus makes, sent straight from a pymodbus client."""

    async def cycle(n: int) -> None:
        first = work.slots(n)[0]
        lights = [work.light(n, slot) for slot in work.slots(n)]
        await client.write_registers(1001 + first, [int(x.colour) for x in lights], device_id=1)
        await client.write_registers(3001 + first, [x.number for x in lights], device_id=1)
        await client.write_coils(1 + first, [x.on for x in lights], device_id=1)
        await client.read_input_registers(1001, count=SLOTS, device_id=1)

    return cycle


async def rate(cycle: Cycle, work: Workload, start: int, seconds: float) -> float:
    """Updates per second over one timed run (cycles counted from `start`)."""
    for n in range(start, start + WARM_UP):
        await cycle(n)
    n = start + WARM_UP
    began = time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        await cycle(n)
        n += 1
    return (n - start - WARM_UP) * work.slots_per_cycle / elapsed


async def runs(cycle: Cycle, work: Workload, sizes: Sizes) -> float:
    return statistics.median(
        [await rate(cycle, work, i * 10_000, sizes.seconds) for i in range(sizes.runs)]
    )


async def measure_line(baudrate: int, sizes: Sizes) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_shelf_bus", "--simulate", str(baudrate)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sim.stdin is not None and sim.stdout is not None
    port = json.loads(sim.stdout.readline())["port"]
    try:
        for work in WORKLOADS:
            header(f"Shelf bus, {baudrate} baud RTU, {work.name}: LED updates per second")
            wire = work.wire_rate(baudrate)
            row("baseline: what the wire carries (computed)", wire, "updates/s", 1.0, f"{wire:.1f}")
            client = RtuClient(port, baudrate)
            await client.connect()
            plain = await runs(client_cycle(client, work), work, sizes)
            client.close()
            row(
                "pymodbus client, same requests",
                plain,
                "updates/s",
                plain / wire,
                f"{plain:.1f}, {plain / wire:.3f} of the wire",
            )
            bus = ShelfBus(
                "bench",
                RtuClient(port, baudrate),
                [ControllerSpec("A", 1, SLOTS, RXEDGE_PTL_V1)],
                lambda _event: None,
            )
            driven = await runs(bus_cycle(bus, work), work, sizes)
            bus.close()
            row(
                "ShelfBus",
                driven,
                "updates/s",
                driven / wire,
                f"{driven:.1f}, {driven / wire:.3f} of the wire, {driven / plain:.2f}x the client",
            )
    finally:
        sim.stdin.write("\n")
        sim.stdin.flush()
        sim.wait(10)


async def measure(sizes: Sizes) -> None:
    for baudrate in sizes.baudrates:
        await measure_line(baudrate, sizes)


async def simulate(baudrate: int) -> None:
    """The controller on its paced line, until a line arrives on stdin."""
    sys.setswitchinterval(1e-4)  # the line's relay thread gets the interpreter back promptly
    sim = ShelfControllerSimulator(slots=SLOTS, rtu=True, baudrate=baudrate)
    await sim.start()
    print(json.dumps({"port": sim.serial_port}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await sim.stop()


def main(quick: bool = False) -> None:
    asyncio.run(measure(QUICK if quick else FULL))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--simulate"]:  # the controller's own process
        asyncio.run(simulate(int(sys.argv[2])))
    else:
        run_benchmark(main, __doc__)
