"""One Modbus port (a TCP controller or an RS-485 bus) and the shelf controllers on it.

A single task owns the port and serves every controller on it in turn, so several devices on one
bus need no lock. Each cycle writes only what changed in the desired LED state (in runs, FC15 and
FC16), then reads each controller's press counters with one FC04. A controller that fails
`down_after` cycles in a row is reported down; when it answers again it gets the whole desired
state written anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.client.base import ModbusBaseClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

from drivers.events import ButtonPressed, DeviceDown, DeviceUp, DriverEvent
from drivers.modbus.lights import DARK, SlotLight, changed_runs
from drivers.modbus.profile import RegisterMap

log = logging.getLogger(__name__)

_COUNTER_WRAP = 65536


@dataclass(frozen=True, slots=True)
class ControllerSpec:
    """A controller on the bus: its name, Modbus device id, slot count and register map."""

    name: str
    device_id: int
    slots: int
    profile: RegisterMap


@dataclass(slots=True)
class _ControllerState:
    spec: ControllerSpec
    desired: list[SlotLight]
    written: list[SlotLight] | None = None
    counters: list[int] | None = None
    failures: int = 0
    up: bool = False
    writes: int = field(default=0)


class ModbusError(Exception):
    """A controller answered with an exception or not at all."""


def tcp_client(host: str, port: int, timeout: float = 0.5) -> ModbusBaseClient:
    """A Modbus TCP client that leaves reconnecting to the bus loop."""
    return AsyncModbusTcpClient(host, port=port, timeout=timeout, retries=0, reconnect_delay=0)


def rtu_client(url: str, baudrate: int, timeout: float = 0.5) -> ModbusBaseClient:
    """A Modbus RTU client on a serial port, 8N1."""
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
    ):
        self.name = name
        self._client = client
        self._emit = emit
        self._poll_interval = poll_interval
        self._down_after = down_after
        self._states = {c.name: _ControllerState(c, [DARK] * c.slots) for c in controllers}
        self._changed = asyncio.Event()
        self.cycles = 0

    def set_light(self, controller: str, slot: int, light: SlotLight) -> None:
        """Ask for slot `slot` (0-based) of `controller` to show `light` (written next cycle)."""
        state = self._states[controller]
        if state.desired[slot] != light:
            state.desired[slot] = light
            self._changed.set()

    def is_up(self, controller: str) -> bool:
        """Whether the controller answered its last cycles."""
        return self._states[controller].up

    async def run(self) -> None:
        """Serve the bus until cancelled."""
        try:
            while True:
                started = time.monotonic()
                await self.cycle()
                self._changed.clear()
                delay = self._poll_interval - (time.monotonic() - started)
                if delay > 0:
                    # A new desired state is written at once instead of waiting for the next poll.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), delay)
        finally:
            self._client.close()

    async def cycle(self) -> None:
        """One pass over every controller: write what changed, then read the press counters."""
        self.cycles += 1
        if not self._client.connected and not await self._client.connect():
            for state in self._states.values():
                self._failed(state, f"{self.name}: port not reachable")
            return
        for state in self._states.values():
            try:
                await self._write_changes(state)
                await self._poll_buttons(state)
            except (TimeoutError, ModbusException, ModbusError, OSError) as exc:
                self._failed(state, f"{state.spec.name}: {exc}")
                continue
            if not state.up:
                state.up = True
                self._emit(DeviceUp(state.spec.name))
            state.failures = 0

    def _failed(self, state: _ControllerState, reason: str) -> None:
        state.failures += 1
        state.written = None  # unknown after a failure: rewrite everything on return
        if state.up and state.failures >= self._down_after:
            state.up = False
            state.counters = None
            self._emit(DeviceDown(state.spec.name, reason))
            log.warning("shelf controller down: %s", reason)

    async def _write_changes(self, state: _ControllerState) -> None:
        spec, desired, written = state.spec, list(state.desired), state.written
        client, dev, reg = self._client, spec.device_id, spec.profile
        # Colour, mode and number first so that a light never comes on showing the old colour.
        for base, attr in (
            (reg.colour_register, "colour"),
            (reg.mode_register, "mode"),
            (reg.number_register, "number"),
            (reg.led_coil, "on"),
        ):
            new = [int(getattr(light, attr)) for light in desired]
            if written is None:
                runs = [(0, new)]
            else:
                runs = changed_runs([int(getattr(light, attr)) for light in written], new)
            for first, values in runs:
                if attr == "on":
                    bits = [bool(v) for v in values]
                    _check(await client.write_coils(base + first, bits, device_id=dev))
                else:
                    _check(await client.write_registers(base + first, values, device_id=dev))
                state.writes += 1
        state.written = desired

    async def _poll_buttons(self, state: _ControllerState) -> None:
        spec = state.spec
        reply = await self._client.read_input_registers(
            spec.profile.press_counter, count=spec.slots, device_id=spec.device_id
        )
        _check(reply)
        counters = list(reply.registers)
        if state.counters is not None:
            for slot, (before, now) in enumerate(zip(state.counters, counters, strict=True)):
                presses = (now - before) % _COUNTER_WRAP
                if presses:
                    self._emit(ButtonPressed(spec.name, slot, presses))
        state.counters = counters


def _check(reply: object) -> None:
    if getattr(reply, "isError", lambda: False)():
        raise ModbusError(str(reply))
