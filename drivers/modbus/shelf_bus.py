"""One Modbus port (a TCP controller or an RS-485 bus) and the shelf controllers on it.

A single task owns the port and serves every controller on it in turn, so several devices on one
bus need no lock. Each cycle writes only what changed in the desired LED state (runs of slots,
FC15 and FC16), then reads each controller's buttons with one FC02 or FC04.

A silent controller must not starve the others on a shared line. On RTU every request waits only
as long as its exchange takes on the wire at the bus's baud rate plus `response_allowance`. A
controller that fails `down_after` times in a row is reported down and from then on is tried
once every `probe_interval` seconds (one button read) instead of every cycle; when it answers it
gets the whole desired state written anew and is reported up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from drivers.cancellation import raise_if_cancelling
from drivers.errors import Retryable
from drivers.events import ButtonPressed, DeviceDown, DeviceUp, DriverEvent
from drivers.modbus.controller import ControllerSpec, ControllerState, ControllerStats
from drivers.modbus.lights import DARK, SlotLight, changed_runs
from drivers.modbus.profile import COUNTER_WRAP, Plane, Table
from drivers.modbus.wire import MAX_COUNT, FunctionCode, exchange_time

__all__ = [
    "ControllerSpec",
    "ControllerStats",
    "ModbusError",
    "ShelfBus",
    "rtu_client",
    "tcp_client",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
HEARTBEAT_EVERY = 1.0  # seconds between reads of a controller's heartbeat
SLACK = 3.0  # seconds a heartbeat may run ahead of ours (its clock, rounding)


class ModbusError(Retryable):
    """A controller answered with an exception, or not in time."""


def tcp_client(host: str, port: int, timeout: float = 0.5) -> ModbusBaseClient:
    """A Modbus TCP client that leaves reconnecting to the bus loop."""
    return AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)


def rtu_client(url: str, baudrate: int, timeout: float = 2.0) -> ModbusBaseClient:
    """A Modbus RTU client on a serial port, 8N1. `timeout` is only a backstop: the bus gives
    each request a deadline sized to its exchange at this baud rate."""
    return AsyncModbusSerialClient(
        url,
        framer=FramerType.RTU,
        baudrate=baudrate,
        timeout=timeout,
        retries=0,
        reconnect_delay=0,
    )


class ShelfBus:
    """Drives the LEDs and reads the buttons of every controller on one port."""

    def __init__(
        self,
        name: str,
        client: ModbusBaseClient,
        controllers: Sequence[ControllerSpec],
        emit: Callable[[DriverEvent], None],
        poll_interval: float = 0.1,
        down_after: int = 3,
        *,
        probe_interval: float = 1.0,
        response_allowance: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self._client = client
        self._emit = emit
        self._poll_interval = poll_interval
        self._down_after = down_after
        self._probe_interval = probe_interval
        self._allowance = response_allowance
        self._clock = clock
        # Only a serial line has a wire time to size deadlines from; TCP uses the client timeout.
        self._baudrate: int | None = (
            int(client.comm_params.baudrate)
            if isinstance(client, AsyncModbusSerialClient)
            else None
        )
        self._states = {c.name: ControllerState.dark(c) for c in controllers}
        self._changed = asyncio.Event()
        self.cycles = 0

    def set_light(self, controller: str, slot: int, light: SlotLight) -> None:
        """Ask for slot `slot` (0-based) of `controller` to show `light` (written next cycle)."""
        state = self._states[controller]
        if state.desired[slot] != light:
            state.desired[slot] = light
            state.dirty = True
            self._changed.set()

    def is_up(self, controller: str) -> bool:
        """Whether the controller answered its last cycles."""
        return self._states[controller].up is True

    def stats(self, controller: str) -> ControllerStats:
        """A copy of the controller's counters."""
        return replace(self._states[controller].stats)

    def close(self) -> None:
        """Close the port (`run` does it when cancelled)."""
        self._client.close()

    async def run(self) -> None:
        """Serve the bus until cancelled."""
        try:
            while True:
                started = self._clock()
                self._changed.clear()
                await self.cycle()
                raise_if_cancelling()  # the client's wait_for may have dropped one
                delay = self._poll_interval - (self._clock() - started)
                if delay > 0:
                    # A new desired state is written at once instead of waiting for the next poll.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._changed.wait()
        finally:
            self.close()

    async def cycle(self) -> None:
        """One pass over the controllers that are due: write what changed, read the buttons."""
        self.cycles += 1
        due = [state for state in self._states.values() if self._due(state)]
        if not due:
            return
        if not self._client.connected and not await self._client.connect():
            for state in due:
                self._failed(state, f"{self.name}: port not reachable")
            return
        for state in due:
            try:
                if state.up:
                    await self._check_heartbeat(state)
                    await self._write_changes(state)
                    await self._poll_buttons(state)
                else:  # one cheap read first: a silent controller costs one deadline only
                    await self._poll_buttons(state)
                    await self._write_changes(state)
            except (TimeoutError, ModbusException, ModbusError, OSError) as exc:
                self._failed(state, f"{state.spec.name}: {exc}")
                continue
            state.failures = 0
            if not state.up:
                state.up = True
                self._emit(DeviceUp(state.spec.name))

    def _due(self, state: ControllerState) -> bool:
        if state.up is not False:
            return True
        now = self._clock()
        if now < state.next_probe:
            return False
        state.next_probe = now + self._probe_interval
        state.stats.probes += 1
        return True

    def _failed(self, state: ControllerState, reason: str) -> None:
        state.failures += 1
        state.stats.failures += 1
        state.forget_written()
        if state.up is not False and state.failures >= self._down_after:
            state.up = False
            state.buttons = None
            state.next_probe = self._clock() + self._probe_interval
            self._emit(DeviceDown(state.spec.name, reason))
            log.warning("shelf controller down: %s", reason)

    async def _write_changes(self, state: ControllerState) -> None:
        if not state.dirty and state.written is not None:
            return  # nothing asked for since the last complete pass: no encoding, no requests
        spec, desired = state.spec, list(state.desired)
        profile = spec.profile
        state.dirty = False
        whole = state.written is None
        if state.written is None:
            state.written = {p.name: [None] * spec.slots for p in profile.all_planes}
        wanted = {p.name: [p.encode(light) for light in desired] for p in profile.all_planes}
        off = profile.switch.encode(DARK)
        # Slots going dark first, lights coming on last: a slot never shows a half-written light.
        steps: list[tuple[Plane, Callable[[int], bool]]] = [
            (profile.switch, lambda value: value == off),
            *[(plane, lambda _value: True) for plane in profile.planes],
            (profile.switch, lambda value: value != off),
        ]
        for plane, where in steps:
            known = state.written[plane.name]
            for first, values in changed_runs(known, wanted[plane.name], where):
                for start, chunk in _chunks(first, values, _write_code(plane)):
                    known[start : start + len(chunk)] = [None] * len(chunk)
                    await self._write(state, plane, start, chunk)
                    known[start : start + len(chunk)] = chunk
        if whole:
            state.stats.restores += 1

    async def _write(
        self, state: ControllerState, plane: Plane, first: int, values: list[int]
    ) -> None:
        client, dev, address = self._client, state.spec.device_id, plane.base + first
        code = _write_code(plane)
        if code is FunctionCode.WRITE_COILS:
            bits = [bool(v) for v in values]
            call = client.write_coils(address, bits, device_id=dev)
        else:
            call = client.write_registers(address, values, device_id=dev)
        await self._request(call, code, len(values))
        state.stats.writes += 1

    async def _check_heartbeat(self, state: ControllerState) -> None:
        """Once a second: a controller that restarted between two polls, every request
        answered, shows it only in its heartbeat (counting from zero again)."""
        if state.heartbeat and self._clock() - state.heartbeat[1] < HEARTBEAT_EVERY:
            return
        if await self._restarted(state) and state.buttons is not None:
            state.buttons = [0] * len(state.buttons)  # its press counters are at zero too

    async def _restarted(self, state: ControllerState) -> bool:
        """Read the heartbeat: whether it went back since the last read (the controller
        restarted: its lights are then written in full again)."""
        beat, now = state.spec.profile.heartbeat, self._clock()
        if beat is None:
            return False
        dev = state.spec.device_id
        if beat.table is Table.HOLDING_REGISTERS:
            code = FunctionCode.READ_HOLDING_REGISTERS
            call = self._client.read_holding_registers(beat.address, count=1, device_id=dev)
        else:
            code = FunctionCode.READ_INPUT_REGISTERS
            call = self._client.read_input_registers(beat.address, count=1, device_id=dev)
        [value] = _exactly(1, (await self._request(call, code, 1)).registers)
        state.stats.heartbeats += 1
        before, state.heartbeat = state.heartbeat, (value, now)
        # Counting on (it wraps at 65536), it runs no further than the seconds since.
        if before is None or (value - before[0]) % COUNTER_WRAP <= now - before[1] + SLACK:
            return False
        state.stats.restarts += 1
        log.warning("shelf controller %s restarted: its lights are written again", dev)
        state.forget_written()
        return True

    async def _poll_buttons(self, state: ControllerState) -> None:
        spec, buttons = state.spec, state.spec.profile.buttons
        client, dev = self._client, spec.device_id
        now: list[int] = []
        if buttons.table is Table.DISCRETE_INPUTS:
            code = FunctionCode.READ_DISCRETE_INPUTS
            for start, n in _spans(spec.slots, code):
                call = client.read_discrete_inputs(buttons.base + start, count=n, device_id=dev)
                reply = await self._request(call, code, n)
                now += [int(bit) for bit in _exactly(n, reply.bits[:n])]
                state.stats.polls += 1
        else:
            code = FunctionCode.READ_INPUT_REGISTERS
            for start, n in _spans(spec.slots, code):
                call = client.read_input_registers(buttons.base + start, count=n, device_id=dev)
                reply = await self._request(call, code, n)
                now += _exactly(n, reply.registers)
                state.stats.polls += 1
        if state.buttons is not None and now != state.buttons and await self._restarted(state):
            state.buttons = [0] * len(now)  # counted from zero since the restart
        if state.buttons is not None:
            for slot, presses in buttons.presses(state.buttons, now):
                self._emit(ButtonPressed(spec.name, slot, presses))
        state.buttons = now

    async def _request(self, call: Awaitable[Any], code: FunctionCode, count: int) -> Any:
        """The reply to one request, within the deadline its exchange allows."""
        if self._baudrate is None:
            reply = await call
        else:
            deadline = exchange_time(self._baudrate, code, count) + self._allowance
            try:
                async with asyncio.timeout(deadline):
                    reply = await call
            except TimeoutError:
                raise ModbusError(f"no answer within {deadline * 1000:.0f} ms") from None
        if reply.isError():
            raise ModbusError(str(reply))
        return reply


def _exactly(n: int, values: Sequence[T]) -> list[T]:
    """The `n` values a read asked for; a reply with another number of them is a failure."""
    if len(values) != n:
        raise ModbusError(f"asked for {n} values, the reply held {len(values)}")
    return list(values)


def _write_code(plane: Plane) -> FunctionCode:
    return FunctionCode.WRITE_COILS if plane.table is Table.COILS else FunctionCode.WRITE_REGISTERS


def _chunks(first: int, values: list[int], code: FunctionCode) -> list[tuple[int, list[int]]]:
    """A run split into requests no bigger than the function allows."""
    most = MAX_COUNT[code]
    return [(first + i, values[i : i + most]) for i in range(0, len(values), most)]


def _spans(slots: int, code: FunctionCode) -> list[tuple[int, int]]:
    """(first slot, count) of the reads that cover `slots` slots: one for up to 125 registers."""
    most = MAX_COUNT[code]
    return [(start, min(most, slots - start)) for start in range(0, slots, most)]
