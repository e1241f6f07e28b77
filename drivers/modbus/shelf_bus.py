"""One Modbus port (a TCP controller or an RS-485 bus) and the shelf controllers on it.

A single task owns the port and serves every controller on it in turn, so several devices on one
bus need no lock. Each cycle writes only what changed in the desired LED state (runs of slots,
FC15 and FC16), then reads each controller's buttons with one FC02 or FC04.

A silent controller must not starve the others on a shared line. On RTU every request waits only
as long as its exchange takes on the wire at the bus's baud rate plus `response_allowance`. A
controller that fails `down_after` times in a row is reported down and from then on is tried
once every `probe_interval` seconds (one button read) instead of every cycle; when it answers it
gets the whole desired state written anew and is reported up. Presses made while it was down are
counted then, from the counters read before it went down, or from zero when its heartbeat shows
that it restarted meanwhile.

An RTU answer names no request, so one that comes after its deadline would be taken for the next
request to that device. After a request goes unanswered the line is left alone until it has been
silent for `response_allowance`, and what arrives meanwhile is thrown away; a reply whose
function, quantity or address is not the request's is thrown away too (both are counted as
`discarded` in the controller's stats).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from drivers.cancellation import raise_if_cancelling
from drivers.errors import Retryable
from drivers.events import ButtonPressed, DeviceDown, DeviceUp, DriverEvent
from drivers.modbus.controller import ControllerSpec, ControllerState, ControllerStats
from drivers.modbus.lights import DARK, SlotLight, changed_runs
from drivers.modbus.profile import COUNTER_WRAP, Plane, Table
from drivers.modbus.replies import mismatch
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.wire import MAX_COUNT, FunctionCode, exchange_time
from drivers.serial_link import permission_problem

__all__ = [
    "ControllerSpec",
    "ControllerStats",
    "ModbusError",
    "ShelfBus",
    "tcp_client",
]

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 1.0  # seconds between reads of a controller's heartbeat
SLACK = 3.0  # seconds a heartbeat may run ahead of ours (its clock, rounding)


class ModbusError(Retryable):
    """A controller answered with an exception, or not in time."""


def tcp_client(host: str, port: int, timeout: float = 0.5) -> ModbusBaseClient:
    """A Modbus TCP client that leaves reconnecting to the bus loop."""
    return AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)


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
        # Only a serial line has a wire time to size deadlines from; TCP uses the client timeout
        # (and its transaction ids match answers to requests).
        self._line = client if isinstance(client, RtuClient) else None
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
        state = self._states[controller]
        stats = replace(state.stats)
        if self._line is not None:  # answers that came while none was awaited
            stats.discarded += self._line.stray[state.spec.device_id]
        return stats

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
            url = None if self._line is None else self._line.url
            denied = None if url is None else permission_problem(url)
            reason = "port not reachable" if denied is None else f"cannot open {url}: {denied}"
            for state in due:
                self._failed(state, f"{self.name}: {reason}")
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
                if state.up is not False:
                    # Not down (yet): an answer lost on the line is asked again at once, not a
                    # poll later; a controller that keeps failing is down after `down_after`.
                    self._changed.set()
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
            if state.up is None and self._line is not None and self._client.connected:
                reason += (  # the port opened, but it never answered
                    f"; it never answered: check its device_id, and that it is set to "
                    f"{self._line.settings} as the line is (baudrate, parity, stopbits)"
                )
            state.up = False
            # Presses made while it is down are counted on its return from the counters read
            # before, unless it restarted meanwhile, which only a heartbeat can show.
            if state.spec.profile.heartbeat is None:
                state.buttons = None
            state.next_probe = self._clock() + self._probe_interval
            self._emit(DeviceDown(state.spec.name, reason))  # the gateway logs it

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
        await self._request(state, _write_code(plane), plane.base + first, len(values), values)
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
        code = (
            FunctionCode.READ_HOLDING_REGISTERS
            if beat.table is Table.HOLDING_REGISTERS
            else FunctionCode.READ_INPUT_REGISTERS
        )
        [value] = (await self._request(state, code, beat.address, 1)).registers
        state.stats.heartbeats += 1
        before, state.heartbeat = state.heartbeat, (value, now)
        if before is None:
            return False
        # Counting on (it wraps at 65536), it runs no further than the seconds since; counting
        # again from zero after a restart, it is no older than them. Neither: not a restart but
        # a stale answer or a clock that slipped, and a false restart would count every press
        # counter from zero.
        since = now - before[1] + SLACK
        if (value - before[0]) % COUNTER_WRAP <= since or value > since:
            return False
        state.stats.restarts += 1
        log.warning("shelf controller %s restarted: its lights are written again", state.spec.name)
        state.forget_written()
        return True

    def _restart_shows(self, state: ControllerState) -> bool:
        """Whether the heartbeat can still show a restart since it was last read (it wraps
        at 65536 seconds)."""
        beat = state.heartbeat
        return beat is not None and self._clock() - beat[1] + SLACK < COUNTER_WRAP

    async def _poll_buttons(self, state: ControllerState) -> None:
        spec, buttons = state.spec, state.spec.profile.buttons
        now: list[int] = []
        bits = buttons.table is Table.DISCRETE_INPUTS
        code = FunctionCode.READ_DISCRETE_INPUTS if bits else FunctionCode.READ_INPUT_REGISTERS
        for start, n in _spans(spec.slots, code):
            reply = await self._request(state, code, buttons.base + start, n)
            now += [int(bit) for bit in reply.bits[:n]] if bits else list(reply.registers)
            state.stats.polls += 1
        before, kept = state.buttons, now
        if before is not None and state.up is False and not self._restart_shows(state):
            before = None  # back after too long to tell a restart: counted from here
        if before is not None and now != before:
            if await self._restarted(state):
                before = [0] * len(now)  # counted from zero since the restart
            elif spec.profile.heartbeat is not None:  # known not to have restarted
                kept = buttons.latest(before, now)
        if before is not None:
            for slot, presses in buttons.presses(before, now):
                self._emit(ButtonPressed(spec.name, slot, presses))
        state.buttons = kept

    async def _request(
        self,
        state: ControllerState,
        code: FunctionCode,
        address: int,
        count: int,
        values: Sequence[int] = (),
    ) -> ModbusPDU:
        """The reply to one request (a read of `count` values at `address`, or a write of
        `values` there), within the deadline its exchange allows on a serial line."""
        line, dev = self._line, state.spec.device_id
        if line is None:
            reply = await self._send(dev, code, address, count, values)
        else:
            await line.quiet(self._allowance)  # after a missed answer, until it cannot come
            deadline = exchange_time(line.baudrate, code, count, line.char_bits) + self._allowance
            try:
                async with asyncio.timeout(deadline):
                    reply = await self._send(dev, code, address, count, values)
            except TimeoutError:
                line.unanswered()
                raise ModbusError(f"no answer within {deadline * 1000:.0f} ms") from None
        if (wrong := mismatch(reply, code, address, count)) is not None:
            state.stats.discarded += 1
            if line is not None:
                line.unanswered()  # the answer of its own may still be on its way
            raise ModbusError(f"{wrong}, discarded")
        if reply.isError():
            raise ModbusError(str(reply))
        return reply

    def _send(
        self, dev: int, code: FunctionCode, address: int, count: int, values: Sequence[int]
    ) -> Awaitable[ModbusPDU]:
        client = self._client
        if code is FunctionCode.WRITE_COILS:
            return client.write_coils(address, [bool(v) for v in values], device_id=dev)
        if code is FunctionCode.WRITE_REGISTERS:
            return client.write_registers(address, list(values), device_id=dev)
        read = {
            FunctionCode.READ_DISCRETE_INPUTS: client.read_discrete_inputs,
            FunctionCode.READ_HOLDING_REGISTERS: client.read_holding_registers,
            FunctionCode.READ_INPUT_REGISTERS: client.read_input_registers,
        }[code]
        return read(address, count=count, device_id=dev)


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
