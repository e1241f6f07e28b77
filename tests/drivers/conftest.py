"""Three shelf controllers (device ids 1, 2, 3) on one simulated RS-485 line, and the ShelfBus that
serves them, for each built-in profile. Tests drive the bus cycle by cycle, so what happened on
the line after each cycle is exact; time for probing down controllers comes from a test clock.

A simulated controller that answers does so within milliseconds, but on a busy machine the
thread relaying its line can be held up for longer than a real controller's 0.1 s allowance: the
bus is given ANSWER_ALLOWANCE instead, so that only a controller made silent misses a deadline
and counts stay exact. Tests about the deadlines themselves set their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from drivers.events import DriverEvent
from drivers.modbus.profile import BANNER_PICK_IQ, RXEDGE_PTL_V1, ShelfProfile
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator

CONTROLLERS = {"A": 1, "B": 2, "C": 3}
ANSWER_ALLOWANCE = 0.3  # seconds a simulated controller may take to answer (see above)
BACKSTOP = 10.0  # seconds: the client's own timeout, far beyond any deadline the bus sets


@dataclass(frozen=True)
class LineSetup:
    """A profile with the slot count and line speed its devices typically have."""

    profile: ShelfProfile
    slots: int
    baudrate: int


SETUPS = [
    pytest.param(LineSetup(RXEDGE_PTL_V1, 8, 115200), id="rxedge-ptl-v1"),
    pytest.param(LineSetup(BANNER_PICK_IQ, 1, 19200), id="banner-pick-iq"),
]


@dataclass
class StepClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class RtuRig:
    setup: LineSetup
    sim: ShelfControllerSimulator
    bus: ShelfBus
    clock: StepClock
    events: list[DriverEvent] = field(default_factory=list)

    @property
    def profile(self) -> ShelfProfile:
        return self.setup.profile

    async def cycles(self, count: int, step: float = 0.1) -> None:
        """`count` bus cycles, the test clock moving `step` seconds before each."""
        for _ in range(count):
            self.clock.now += step
            await self.bus.cycle()


@pytest.fixture(params=SETUPS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[RtuRig]:
    setup: LineSetup = request.param
    sim = ShelfControllerSimulator(
        slots=setup.slots,
        device_ids=tuple(CONTROLLERS.values()),
        profile=setup.profile,
        rtu=True,
        baudrate=setup.baudrate,
    )
    await sim.start()
    clock = StepClock()
    events: list[DriverEvent] = []
    specs = [ControllerSpec(n, d, setup.slots, setup.profile) for n, d in CONTROLLERS.items()]
    client = RtuClient(sim.serial_port, setup.baudrate, timeout=BACKSTOP)
    bus = ShelfBus(
        "rs485", client, specs, events.append, clock=clock, response_allowance=ANSWER_ALLOWANCE
    )
    yield RtuRig(setup, sim, bus, clock, events)
    bus.close()
    await sim.stop()
