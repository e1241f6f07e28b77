"""Controllers failing on a shared RS-485 line: a silent one is marked down after consecutive
failures while the others keep their poll rate, it is only probed while down, and when it answers
again it gets its whole desired state; the same when the whole line or its port goes away."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from pathlib import Path

import pytest

from drivers.events import ButtonPressed, DeviceDown, DeviceUp, DriverEvent
from drivers.modbus.lights import DARK, Colour, Mode, SlotLight
from drivers.modbus.profile import RXEDGE_PTL_V1
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus, tcp_client
from drivers.modbus.wire import FunctionCode
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.conftest import eventually
from tests.drivers.conftest import (
    ANSWER_ALLOWANCE,
    BACKSTOP,
    CONTROLLERS,
    SETUPS,
    LineSetup,
    RtuRig,
    StepClock,
)
from tests.drivers.test_shelf_bus_rtu import poll_code

B = CONTROLLERS["B"]
GREEN = SlotLight(True, Colour.GREEN, Mode.STEADY, 2)
STEP = 0.25  # test-clock seconds per cycle: exact in binary, four to a probe interval


def desired_lights(slots: int) -> list[SlotLight]:
    palette = [
        SlotLight(True, Colour.GREEN, Mode.STEADY, 1),
        SlotLight(True, Colour.RED, Mode.FAST_BLINK, 0),
        DARK,
        SlotLight(True, Colour.BLUE, Mode.SLOW_BLINK, 12),
    ]
    return [palette[i % len(palette)] for i in range(slots)]


def downs(events: list[DriverEvent]) -> list[str]:
    return [e.device for e in events if isinstance(e, DeviceDown)]


async def test_a_silent_controller_is_marked_down_and_the_others_keep_their_polls(
    rig: RtuRig,
) -> None:
    await rig.cycles(1, STEP)
    for _ in range(20):  # first a cycle B answered in time: on a loaded machine one can be late
        failed = rig.bus.stats("B").failures
        await rig.cycles(1, STEP)
        if rig.bus.stats("B").failures == failed:
            break
    rig.sim.silence(B)
    polls = {name: rig.bus.stats(name).polls for name in CONTROLLERS}
    started = time.monotonic()
    await rig.cycles(1, STEP)
    # The silent controller costs one deadline sized to its exchange (and the quiet kept after
    # it), not the client's own timeout.
    assert time.monotonic() - started < 2 * ANSWER_ALLOWANCE + 1.0 < BACKSTOP
    await rig.cycles(1, STEP)
    assert downs(rig.events) == [], "marked down before three failures in a row"
    await rig.cycles(1, STEP)
    assert downs(rig.events) == ["B"]
    assert not rig.bus.is_up("B") and rig.bus.is_up("A") and rig.bus.is_up("C")
    asked = rig.sim.requests(B, poll_code(rig))
    await rig.cycles(8, STEP)  # two seconds: a down controller is tried once a second
    assert rig.bus.stats("B").probes == 2
    assert rig.sim.requests(B, poll_code(rig)) == asked + 2
    for name in ("A", "C"):
        assert rig.bus.stats(name).polls == polls[name] + 11, f"{name} missed polls"


async def test_a_controller_that_never_answered_is_down_with_the_line_settings_to_check(
    rig: RtuRig,
) -> None:
    """One set to another speed or parity than the line never answers; one that answered before
    and falls silent has lost power or its cable, and its reason says only that."""
    rig.sim.silence(B)
    await rig.cycles(3, STEP)
    rig.sim.silence(CONTROLLERS["C"])
    await rig.cycles(3, STEP)
    reasons = {e.device: e.reason for e in rig.events if isinstance(e, DeviceDown)}
    assert sorted(reasons) == ["B", "C"]
    assert "never answered" in reasons["B"]
    assert f"set to {rig.setup.baudrate} 8N1 as the line is" in reasons["B"]
    assert "device_id" in reasons["B"] and "parity" in reasons["B"]
    assert "never answered" not in reasons["C"]


async def test_a_controller_that_answers_again_gets_its_whole_state(rig: RtuRig) -> None:
    wanted = desired_lights(rig.setup.slots)
    for slot, light in enumerate(wanted):
        rig.bus.set_light("B", slot, light)
    await rig.cycles(1, STEP)
    rig.sim.silence(B)
    await rig.cycles(3, STEP)
    assert downs(rig.events) == ["B"]
    await rig.sim.power_cycle(B)  # it comes back blank, as after a power loss
    wanted[0] = SlotLight(True, Colour.WHITE, Mode.STEADY, 5)  # asked for while it was away
    rig.bus.set_light("B", 0, wanted[0])
    rig.sim.unsilence(B)
    await rig.cycles(4, STEP)
    assert rig.events.count(DeviceUp("B")) == 2
    assert await rig.sim.lights(B) == [rig.profile.shown(light) for light in wanted]
    assert rig.bus.stats("B").restores == 2


async def test_the_whole_line_going_silent_and_coming_back(rig: RtuRig) -> None:
    rig.bus.set_light("A", 0, SlotLight(True, Colour.AMBER, Mode.STEADY, 0))
    await rig.cycles(1, STEP)
    rig.sim.silence()
    await rig.cycles(3, STEP)
    assert sorted(downs(rig.events)) == sorted(CONTROLLERS)
    for device_id in CONTROLLERS.values():
        await rig.sim.power_cycle(device_id)
    rig.sim.unsilence()
    await rig.cycles(4, STEP)
    assert all(rig.bus.is_up(name) for name in CONTROLLERS)
    amber = rig.profile.shown(SlotLight(True, Colour.AMBER, Mode.STEADY, 0))
    assert (await rig.sim.lights(CONTROLLERS["A"]))[0] == amber


@pytest.mark.parametrize("rig", [SETUPS[0]], indirect=True)  # a press counter: rxedge-ptl-v1
async def test_presses_during_one_missed_answer_are_still_counted(rig: RtuRig) -> None:
    await rig.cycles(1, STEP)
    rig.sim.silence(B)
    await rig.cycles(1, STEP)
    await rig.sim.press(1, times=2, device_id=B)
    rig.sim.unsilence(B)
    await rig.cycles(1, STEP)
    assert ButtonPressed("B", 1, 2) in rig.events
    assert downs(rig.events) == []


@pytest.mark.parametrize("setup", SETUPS)
async def test_a_port_that_vanishes_and_returns(setup: LineSetup, tmp_path: Path) -> None:
    link = tmp_path / "ttyRS485"

    def simulator() -> ShelfControllerSimulator:
        return ShelfControllerSimulator(
            slots=setup.slots,
            device_ids=tuple(CONTROLLERS.values()),
            profile=setup.profile,
            rtu=True,
            baudrate=setup.baudrate,
            link=link,
        )

    events: list[DriverEvent] = []
    clock = StepClock()
    specs = [ControllerSpec(n, d, setup.slots, setup.profile) for n, d in CONTROLLERS.items()]
    client = RtuClient(str(link), setup.baudrate)
    bus = ShelfBus(
        "rs485", client, specs, events.append, clock=clock, response_allowance=ANSWER_ALLOWANCE
    )
    wanted = desired_lights(setup.slots)
    for slot, light in enumerate(wanted):
        bus.set_light("C", slot, light)
    first = simulator()
    await first.start()
    try:
        await bus.cycle()
        assert all(bus.is_up(name) for name in CONTROLLERS)
    finally:
        await first.stop()  # the USB adapter is pulled: the port itself is gone
    for _ in range(3):
        clock.now += STEP
        await bus.cycle()
    assert sorted(downs(events)) == sorted(CONTROLLERS)
    second = simulator()
    await second.start()
    try:
        for _ in range(4):
            clock.now += STEP
            await bus.cycle()
        assert all(bus.is_up(name) for name in CONTROLLERS)
        assert await second.lights(CONTROLLERS["C"]) == [setup.profile.shown(x) for x in wanted]
        assert second.requests(CONTROLLERS["C"], FunctionCode.WRITE_REGISTERS) > 0
    finally:
        bus.close()
        await second.stop()


async def test_a_reply_with_the_wrong_number_of_values_is_a_failure_not_the_end_of_the_bus() -> (
    None
):
    """A controller (a raw Modbus TCP peer) whose third poll answer is one register short."""
    polls = 0

    async def controller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal polls
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                pdu = await reader.readexactly(length - 1)
                if pdu[0] == FunctionCode.READ_INPUT_REGISTERS:
                    polls += 1
                    count = struct.unpack(">H", pdu[3:5])[0] - (1 if polls == 3 else 0)
                    body = bytes([pdu[0], 2 * count]) + b"\x00\x01" * count
                else:  # a write: echo its address and count
                    body = pdu[:5]
                writer.write(struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(controller, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events: list[DriverEvent] = []
    spec = ControllerSpec("A", 1, 8, RXEDGE_PTL_V1)
    bus = ShelfBus("b", tcp_client("127.0.0.1", port), [spec], events.append, poll_interval=0.01)
    task = asyncio.create_task(bus.run())
    try:
        await eventually(lambda: polls >= 6 or task.done(), what="polls past the short answer")
        assert not task.done(), "the bus task ended"
        assert bus.stats("A").failures == 1 and bus.is_up("A")
        assert not [e for e in events if isinstance(e, ButtonPressed)], "no presses made up"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        server.close()
        await eventually(lambda: not server.is_serving())
        await server.wait_closed()


async def test_a_controller_that_restarted_between_two_polls_gets_its_lights_and_presses() -> None:
    sim = ShelfControllerSimulator(slots=8)
    await sim.start()
    events: list[DriverEvent] = []
    spec = ControllerSpec("A", 1, 8, RXEDGE_PTL_V1)
    bus = ShelfBus(
        "b", tcp_client("127.0.0.1", sim.port), [spec], events.append, poll_interval=0.05
    )
    task = asyncio.create_task(bus.run())

    def presses() -> int:
        return sum(e.presses for e in events if isinstance(e, ButtonPressed))

    async def green() -> bool:
        return await sim.light(0) == GREEN

    try:
        bus.set_light("A", 0, GREEN)
        await eventually(green, what="slot 0 lit")
        await eventually(sim.heartbeat, timeout=5, what="a heartbeat the bus has read")
        await eventually(lambda: bus.stats("A").polls > 40, what="a second of polls")
        await sim.press(3, times=4)
        await eventually(lambda: presses() == 4, what="the presses before")
        await sim.power_cycle()  # dark, counters and heartbeat at zero; no request fails
        await sim.press(3, times=6)
        await eventually(green, timeout=5, what="slot 0 lit again")
        await eventually(lambda: presses() == 10, what="the six presses after the restart")
        assert bus.stats("A").restarts == 1 and bus.stats("A").failures == 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sim.stop()


async def test_writes_answered_with_an_exception_are_not_taken_as_done() -> None:
    """A controller (a raw Modbus TCP peer) that answers its first light writes with exception
    0x06 (server device busy): they count as failures, are written again, and the lights end up
    as wanted; the bus task goes on."""
    busy = 2
    registers: dict[int, int] = {}
    coils: dict[int, int] = {}

    async def controller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal busy
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                tid, _, length, unit = struct.unpack(">HHHB", await reader.readexactly(7))
                pdu = await reader.readexactly(length - 1)
                code, address, count = pdu[0], *struct.unpack(">HH", pdu[1:5])
                if code in (FunctionCode.WRITE_COILS, FunctionCode.WRITE_REGISTERS) and busy:
                    busy -= 1
                    body = bytes([code | 0x80, 0x06])
                elif code == FunctionCode.WRITE_REGISTERS:
                    values = struct.unpack(f">{count}H", pdu[6 : 6 + 2 * count])
                    registers.update(zip(range(address, address + count), values, strict=True))
                    body = pdu[:5]
                elif code == FunctionCode.WRITE_COILS:
                    bits = int.from_bytes(pdu[6:], "little")
                    coils.update({address + i: bits >> i & 1 for i in range(count)})
                    body = pdu[:5]
                else:  # a read: every value zero
                    body = bytes([code, 2 * count]) + b"\x00\x00" * count
                writer.write(struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body)
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(controller, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events: list[DriverEvent] = []
    spec = ControllerSpec("A", 1, 8, RXEDGE_PTL_V1)
    bus = ShelfBus("b", tcp_client("127.0.0.1", port), [spec], events.append, poll_interval=0.01)
    task = asyncio.create_task(bus.run())
    try:
        bus.set_light("A", 2, GREEN)
        await eventually(lambda: 3003 in registers and 3 in coils, what="written at last")
        assert busy == 0 and bus.stats("A").failures == 2
        # Slot 2 of rxedge-ptl-v1: coil 1 + 2 on, colour 1001 + 2 green, mode steady, number 2.
        assert (coils[3], registers[1003], registers[2003], registers[3003]) == (1, 1, 0, 2)
        assert not task.done(), "the bus task ended"
        assert bus.is_up("A") and downs(events) == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        server.close()
        await eventually(lambda: not server.is_serving())
        await server.wait_closed()
