"""The Modbus shelf driver against a real pymodbus server implementing rxedge-ptl-v1, over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from drivers.events import ButtonPressed, DeviceDown, DeviceUp, DriverEvent
from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import RXEDGE_PTL_V1, Colour, Mode
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus, tcp_client
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.conftest import eventually
from tests.drivers.conftest import CONTROLLERS, SETUPS, LineSetup

SLOTS = 24


@pytest.fixture
async def controller() -> AsyncIterator[ShelfControllerSimulator]:
    sim = ShelfControllerSimulator(slots=SLOTS)
    await sim.start()
    yield sim
    await sim.stop()


class Harness:
    def __init__(self, sim: ShelfControllerSimulator, poll_interval: float = 0.05):
        self.events: list[DriverEvent] = []
        self.bus = ShelfBus(
            "test-bus",
            tcp_client("127.0.0.1", sim.port, timeout=0.3),
            [ControllerSpec("A", 1, SLOTS, RXEDGE_PTL_V1)],
            self.events.append,
            poll_interval=poll_interval,
        )
        self.task = asyncio.create_task(self.bus.run())

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
async def harness(controller: ShelfControllerSimulator) -> AsyncIterator[Harness]:
    h = Harness(controller)
    await eventually(lambda: DeviceUp("A") in h.events, what="controller up")
    yield h
    await h.close()


async def test_led_state_reaches_the_controller_registers(
    harness: Harness, controller: ShelfControllerSimulator
) -> None:
    amber = SlotLight(True, Colour.AMBER, Mode.SLOW_BLINK, 3)
    green = SlotLight(True, Colour.GREEN, Mode.STEADY, 0)
    harness.bus.set_light("A", 0, amber)
    harness.bus.set_light("A", 23, green)

    async def shown() -> bool:
        return await controller.light(0) == amber and await controller.light(23) == green

    await eventually(shown, what="lights written")
    assert await controller.light(1) == DARK


async def test_only_changes_are_written(
    harness: Harness, controller: ShelfControllerSimulator
) -> None:
    await eventually(lambda: harness.bus.cycles > 3)
    writes_when_idle = harness.bus.stats("A").writes
    cycles_before = harness.bus.cycles
    await eventually(lambda: harness.bus.cycles > cycles_before + 5)
    assert harness.bus.stats("A").writes == writes_when_idle, "an unchanged state was written"
    # One slot turned on: colour and coil change, mode and number stay -> exactly two writes.
    red = SlotLight(True, Colour.RED, Mode.STEADY, 0)
    harness.bus.set_light("A", 5, red)

    async def shown() -> bool:
        return await controller.light(5) == red

    await eventually(shown)
    assert harness.bus.stats("A").writes == writes_when_idle + 2


async def test_button_presses_between_polls_are_all_counted(
    harness: Harness, controller: ShelfControllerSimulator
) -> None:
    await controller.press(7, times=3)
    await eventually(lambda: any(isinstance(e, ButtonPressed) for e in harness.events))
    presses = [e for e in harness.events if isinstance(e, ButtonPressed)]
    assert presses == [ButtonPressed("A", 7, 3)]


async def test_press_counter_wrapping_at_65536_is_one_press(
    controller: ShelfControllerSimulator,
) -> None:
    await controller.press(2, times=65535)  # the counter is one press away from wrapping
    h = Harness(controller)
    try:
        await eventually(lambda: DeviceUp("A") in h.events)
        await eventually(lambda: h.bus.cycles > 2)
        await controller.press(2)
        await eventually(lambda: ButtonPressed("A", 2, 1) in h.events)
    finally:
        await h.close()


async def test_controller_down_then_back_gets_its_whole_state_again(
    harness: Harness, controller: ShelfControllerSimulator
) -> None:
    lights = {i: SlotLight(True, Colour(1 + i % 5), Mode(i % 3), i) for i in range(0, SLOTS, 3)}
    for slot, light in lights.items():
        harness.bus.set_light("A", slot, light)

    async def all_shown(sim: ShelfControllerSimulator) -> bool:
        return all([await sim.light(s) == light for s, light in lights.items()])

    await eventually(lambda: all_shown(controller))
    await controller.stop()
    await eventually(lambda: any(isinstance(e, DeviceDown) for e in harness.events))
    assert not harness.bus.is_up("A")
    # A replacement controller (blank registers) on the same port.
    replacement = ShelfControllerSimulator(slots=SLOTS, port=controller.port)
    await replacement.start()
    try:
        await eventually(lambda: harness.events.count(DeviceUp("A")) == 2, what="back up")
        await eventually(lambda: all_shown(replacement), what="state restored")
    finally:
        await replacement.stop()


@pytest.mark.parametrize("setup", SETUPS)
async def test_three_device_ids_behind_one_tcp_gateway(setup: LineSetup) -> None:
    """A Modbus TCP gateway in front of an RS-485 line: one connection, three device ids."""
    sim = ShelfControllerSimulator(
        slots=setup.slots, device_ids=tuple(CONTROLLERS.values()), profile=setup.profile
    )
    await sim.start()
    events: list[DriverEvent] = []
    specs = [ControllerSpec(n, d, setup.slots, setup.profile) for n, d in CONTROLLERS.items()]
    bus = ShelfBus("gateway", tcp_client("127.0.0.1", sim.port), specs, events.append)
    try:
        await bus.cycle()
        lights = {"A": SlotLight(True, Colour.BLUE, Mode.STEADY, 1), "C": DARK}
        lights["B"] = SlotLight(True, Colour.WHITE, Mode.FAST_BLINK, 0)
        for name, light in lights.items():
            bus.set_light(name, 0, light)
        await sim.press(0, device_id=CONTROLLERS["B"])
        await bus.cycle()
        for name, light in lights.items():
            assert await sim.light(0, CONTROLLERS[name]) == setup.profile.shown(light)
        assert [e for e in events if isinstance(e, ButtonPressed)] == [ButtonPressed("B", 0, 1)]
        assert all(bus.stats(name).polls == 2 for name in CONTROLLERS)
    finally:
        bus.close()
        await sim.stop()
