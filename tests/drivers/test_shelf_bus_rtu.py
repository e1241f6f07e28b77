"""Three controllers on one RS-485 line (Modbus RTU over a paced pty pair, the pymodbus server on
the far end), for every built-in profile: lights reach the right registers, presses come back
with the right controller, slot and count, and the bus does one button read per controller per
cycle and writes only what changed, in runs."""

from __future__ import annotations

import asyncio
import os
import termios

import pytest

from drivers.events import ButtonPressed, DeviceUp, DriverEvent
from drivers.modbus.lights import DARK, Colour, Mode, SlotLight
from drivers.modbus.profile import Table
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus
from drivers.modbus.wire import FunctionCode, char_bits, exchange_time
from tests.conftest import eventually
from tests.drivers.conftest import ANSWER_ALLOWANCE, CONTROLLERS, RtuRig

PICK = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
WRONG = SlotLight(True, Colour.RED, Mode.FAST_BLINK, 0)
SHORT = SlotLight(True, Colour.AMBER, Mode.SLOW_BLINK, 7)
ACROSS = [PICK, WRONG, SHORT]  # controller A, B, C


def poll_code(rig: RtuRig) -> FunctionCode:
    if rig.profile.buttons.table is Table.DISCRETE_INPUTS:
        return FunctionCode.READ_DISCRETE_INPUTS
    return FunctionCode.READ_INPUT_REGISTERS


def wire_writes(rig: RtuRig, device_id: int) -> int:
    return rig.sim.requests(device_id, FunctionCode.WRITE_COILS) + rig.sim.requests(
        device_id, FunctionCode.WRITE_REGISTERS
    )


async def test_every_controller_shows_its_own_lights(rig: RtuRig) -> None:
    await rig.cycles(1)
    assert [e for e in rig.events if isinstance(e, DeviceUp)] == [DeviceUp(n) for n in CONTROLLERS]
    wanted: dict[str, list[SlotLight]] = {}
    for n, (name, light) in enumerate(zip(CONTROLLERS, ACROSS, strict=True)):
        wanted[name] = [DARK] * rig.setup.slots
        slot = n % rig.setup.slots  # a different slot on each controller where there are several
        wanted[name][slot] = light
        rig.bus.set_light(name, slot, light)
    await rig.cycles(1)
    for name, device_id in CONTROLLERS.items():
        shown = [rig.profile.shown(light) for light in wanted[name]]
        assert await rig.sim.lights(device_id) == shown, name
    # Off again: every register back to dark.
    for name in CONTROLLERS:
        for slot in range(rig.setup.slots):
            rig.bus.set_light(name, slot, DARK)
    await rig.cycles(1)
    for device_id in CONTROLLERS.values():
        assert await rig.sim.lights(device_id) == [DARK] * rig.setup.slots


async def test_presses_come_back_with_controller_slot_and_count(rig: RtuRig) -> None:
    await rig.cycles(1)  # the first read is the baseline
    last = rig.setup.slots - 1
    await rig.sim.press(0, times=3, device_id=CONTROLLERS["A"])  # three presses between polls
    await rig.sim.press(last, device_id=CONTROLLERS["C"])
    await rig.cycles(1)
    presses = [e for e in rig.events if isinstance(e, ButtonPressed)]
    # A press counter adds up every press; a touch input shows one touch per poll that sees it.
    three = 3 if rig.profile.buttons.counting else 1
    assert sorted(presses, key=lambda e: e.controller) == [
        ButtonPressed("A", 0, three),
        ButtonPressed("C", last, 1),
    ]
    await rig.cycles(1)
    assert [e for e in rig.events if isinstance(e, ButtonPressed)] == presses, "counted twice"


async def test_one_button_read_per_controller_per_cycle(rig: RtuRig) -> None:
    await rig.cycles(1)
    before = {name: rig.bus.stats(name) for name in CONTROLLERS}
    on_wire = {name: rig.sim.requests(d, poll_code(rig)) for name, d in CONTROLLERS.items()}
    await rig.cycles(5)
    for name, device_id in CONTROLLERS.items():
        stats = rig.bus.stats(name)
        assert stats.polls == before[name].polls + 5
        # Besides, the heartbeat is read at most once a second (an input register here too,
        # on profiles whose buttons are input registers).
        beats = stats.heartbeats - before[name].heartbeats
        assert beats <= 2
        if poll_code(rig) != FunctionCode.READ_INPUT_REGISTERS:
            beats = 0
        assert rig.sim.requests(device_id, poll_code(rig)) == on_wire[name] + 5 + beats


async def test_only_what_changed_is_written_in_runs(rig: RtuRig) -> None:
    await rig.cycles(1)  # first contact: the whole (dark) state is written once
    assert all(rig.bus.stats(name).restores == 1 for name in CONTROLLERS)
    written = {name: rig.bus.stats(name).writes for name in CONTROLLERS}
    on_wire = {name: wire_writes(rig, d) for name, d in CONTROLLERS.items()}
    await rig.cycles(3)
    assert {name: rig.bus.stats(name).writes for name in CONTROLLERS} == written, "idle writes"
    # Every slot of B turns red and steady: only colour and the switch change, each as one run.
    red = SlotLight(True, Colour.RED, Mode.STEADY, 0)
    for slot in range(rig.setup.slots):
        rig.bus.set_light("B", slot, red)
    await rig.cycles(1)
    assert rig.bus.stats("B").writes == written["B"] + 2
    assert wire_writes(rig, CONTROLLERS["B"]) == on_wire["B"] + 2
    assert rig.bus.stats("A").writes == written["A"]
    assert await rig.sim.lights(CONTROLLERS["B"]) == [rig.profile.shown(red)] * rig.setup.slots


async def test_run_writes_a_new_light_without_waiting_for_the_poll(rig: RtuRig) -> None:
    events: list[DriverEvent] = []
    specs = [ControllerSpec(n, d, rig.setup.slots, rig.profile) for n, d in CONTROLLERS.items()]
    client = RtuClient(rig.sim.serial_port, rig.setup.baudrate)
    # Polling every 30 s: only the new light can start a cycle before the test ends.
    bus = ShelfBus(
        "rs485",
        client,
        specs,
        events.append,
        poll_interval=30.0,
        response_allowance=ANSWER_ALLOWANCE,
    )
    task = asyncio.create_task(bus.run())
    try:
        await eventually(lambda: DeviceUp("C") in events)
        bus.set_light("C", 0, SHORT)

        async def shown() -> bool:
            return await rig.sim.light(0, CONTROLLERS["C"]) == rig.profile.shown(SHORT)

        await eventually(shown, timeout=5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_line_set_to_two_stop_bits_is_driven_so(rig: RtuRig) -> None:
    """A pty keeps the stop bits the host sets (not the parity, which pymodbus is handed)."""
    client = RtuClient(rig.sim.serial_port, rig.setup.baudrate, stopbits=2)
    specs = [ControllerSpec("A", CONTROLLERS["A"], rig.setup.slots, rig.profile)]
    bus = ShelfBus("rs485", client, specs, lambda _e: None, response_allowance=ANSWER_ALLOWANCE)
    try:
        bus.set_light("A", 0, PICK)
        await bus.cycle()
        assert await rig.sim.light(0, CONTROLLERS["A"]) == rig.profile.shown(PICK)
        host = os.open(rig.sim.serial_port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            assert termios.tcgetattr(host)[2] & termios.CSTOPB
        finally:
            os.close(host)
    finally:
        bus.close()
    even = RtuClient("/dev/ttyUSB1", 19200, parity="E")
    assert (even.comm_params.parity, even.comm_params.stopbits) == ("E", 1)
    # 11 bits a character instead of 10: each request's deadline is sized to match.
    assert exchange_time(19200, FunctionCode.READ_INPUT_REGISTERS, 24, char_bits("E", 1)) == (
        pytest.approx(1.1 * exchange_time(19200, FunctionCode.READ_INPUT_REGISTERS, 24))
    )
