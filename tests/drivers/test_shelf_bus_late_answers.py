"""A controller that answers after its deadline, alone on an RS-485 line. RTU frames carry no
transaction id, so pymodbus takes such an answer for the next request to the same device (a
write "confirmed" by the previous write's echo, a button read answered by a write's echo). The
bus keeps the line quiet after an unanswered request and throws away what arrives meanwhile: a
late answer costs one failure, nothing else; no press lost or made up, no controller reported
down, every light written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from drivers.events import ButtonPressed, DeviceDown, DriverEvent
from drivers.modbus.lights import DARK, Colour, Mode, SlotLight
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.drivers.conftest import ANSWER_ALLOWANCE, SETUPS, LineSetup, StepClock

ALLOWANCE = ANSWER_ALLOWANCE  # seconds a controller may think: wide, as a busy machine needs
LATE = 1.5 * ALLOWANCE  # the late answer lands halfway into the quiet the bus keeps after it
STEP = 0.25  # test-clock seconds per cycle: the heartbeat (where there is one) every fourth
DEVICE = 1


@dataclass
class LoneController:
    setup: LineSetup
    sim: ShelfControllerSimulator
    bus: ShelfBus
    clock: StepClock
    events: list[DriverEvent] = field(default_factory=list)

    async def cycles(self, count: int) -> None:
        for _ in range(count):
            self.clock.now += STEP
            await self.bus.cycle()

    def downs(self) -> list[DriverEvent]:
        return [e for e in self.events if isinstance(e, DeviceDown)]

    def presses(self) -> list[DriverEvent]:
        return [e for e in self.events if isinstance(e, ButtonPressed)]


@pytest.fixture(params=SETUPS)
async def lone(request: pytest.FixtureRequest) -> AsyncIterator[LoneController]:
    setup: LineSetup = request.param
    sim = ShelfControllerSimulator(
        slots=setup.slots, profile=setup.profile, rtu=True, baudrate=setup.baudrate
    )
    await sim.start()
    clock = StepClock()
    events: list[DriverEvent] = []
    spec = ControllerSpec("A", DEVICE, setup.slots, setup.profile)
    client = RtuClient(sim.serial_port, setup.baudrate)
    bus = ShelfBus(
        "rs485", client, [spec], events.append, clock=clock, response_allowance=ALLOWANCE
    )
    yield LoneController(setup, sim, bus, clock, events)
    bus.close()
    await sim.stop()


def pick_lights(slots: int) -> list[SlotLight]:
    palette = [SlotLight(True, Colour.GREEN, Mode.STEADY, 4), DARK]
    return [palette[i % 2] for i in range(slots)]


async def test_a_late_answer_to_a_write_is_not_taken_for_the_next_request(
    lone: LoneController,
) -> None:
    await lone.cycles(2)  # first contact, then the first heartbeat where there is one
    wanted = pick_lights(lone.setup.slots)
    for slot, light in enumerate(wanted):
        lone.bus.set_light("A", slot, light)
    lone.sim.answer_late(DEVICE, LATE)  # the first write of the next cycle is answered late
    await lone.cycles(1)
    assert lone.bus.stats("A").failures == 1
    await lone.cycles(4)
    assert lone.downs() == [], "one late answer reported the controller down"
    assert await lone.sim.lights(DEVICE) == [lone.setup.profile.shown(x) for x in wanted]
    stats = lone.bus.stats("A")
    assert stats.failures == 1, "a request after the late answer failed too"
    assert stats.discarded == 1, "the late answer was not the one reply thrown away"


@pytest.mark.parametrize("lone", [SETUPS[0]], indirect=True)  # a press counter: rxedge-ptl-v1
async def test_a_press_read_by_a_late_answer_is_counted_once(lone: LoneController) -> None:
    await lone.cycles(2)
    await lone.sim.press(2)
    lone.sim.answer_late(DEVICE, LATE)  # the button read of the next cycle
    await lone.cycles(1)
    assert lone.bus.stats("A").failures == 1 and lone.presses() == []
    await lone.cycles(4)
    assert lone.presses() == [ButtonPressed("A", 2, 1)]
    assert lone.downs() == []
    stats = lone.bus.stats("A")
    assert stats.failures == 1 and stats.discarded == 1


async def test_an_answer_later_than_the_quiet_is_told_apart_by_its_function(
    lone: LoneController,
) -> None:
    await lone.cycles(2)
    wanted = pick_lights(lone.setup.slots)
    for slot, light in enumerate(wanted):
        lone.bus.set_light("A", slot, light)
    await lone.cycles(1)
    # The button read's answer comes after the quiet the bus keeps, within the deadline of the
    # next request: the first write of the lights, written in full again after the failure.
    lone.sim.answer_late(DEVICE, 2.5 * ALLOWANCE)
    await lone.cycles(2)
    stats = lone.bus.stats("A")
    assert stats.failures == 2, "the read's answer was taken for the write"
    await lone.cycles(3)
    assert lone.downs() == []
    assert await lone.sim.lights(DEVICE) == [lone.setup.profile.shown(x) for x in wanted]
    stats = lone.bus.stats("A")
    # The read's answer, and then the write's own answer once it came.
    assert stats.failures == 2 and stats.discarded == 2
