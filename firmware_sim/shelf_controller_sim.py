"""Simulated pick-to-light shelf controllers of any profile, on Modbus TCP or on an RS-485 line.

Several controllers can share one simulated line (one device id each). Tests read back the LED
state from the registers the host wrote and press buttons: a counting profile's press counter
goes up, a touch profile's input is held for `touch_time` seconds, as under a finger.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.base import ModbusBaseServer
from pymodbus.simulator import SimDevice

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import COUNTER_WRAP, RXEDGE_PTL_V1, Setting, ShelfProfile, Table
from firmware_sim.rs485_line import Rs485Line
from firmware_sim.shelf_registers import controller_device


class ShelfControllerSimulator:
    """Controllers with `slots` slots each, one per device id, served on TCP (`port`, 0 for any
    free one) or, with `rtu=True`, on an RS-485 line paced to `baudrate` unless `paced=False`."""

    def __init__(
        self,
        slots: int = 24,
        device_ids: Sequence[int] = (1,),
        profile: ShelfProfile = RXEDGE_PTL_V1,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rtu: bool = False,
        baudrate: int | None = None,
        paced: bool = True,
        link: Path | None = None,
        touch_time: float = 0.25,
    ):
        self.slots = slots
        self.device_ids = tuple(device_ids)
        self.profile = profile
        self.baudrate = baudrate or profile.baudrate
        self.touch_time = touch_time
        self._host = host
        self._port = port
        self._line = Rs485Line(self.baudrate if paced else None, link) if rtu else None
        self._server: ModbusBaseServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The TCP port it listens (or last listened) on."""
        return self._port

    @property
    def rtu(self) -> bool:
        """Served on an RS-485 line (RTU) rather than TCP."""
        return self._line is not None

    @property
    def serial_port(self) -> str:
        """The host's end of the RS-485 line (what goes in config as serial_port)."""
        return self._rs485().host_port

    @property
    def line(self) -> Rs485Line:
        """The simulated RS-485 line (RTU only)."""
        return self._rs485()

    async def start(self) -> None:
        devices = [controller_device(d, self.slots, self.profile) for d in self.device_ids]
        if self._line is None:
            self._server = await self._listen(devices)
            transport = self._server.transport
            self._port = int(transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        else:
            self._line.start()
            self._server = ModbusSerialServer(
                devices,
                framer=FramerType.RTU,
                port=self._line.device_port,
                baudrate=self.baudrate,
            )
            await self._server.serve_forever(background=True)
        if self.profile.heartbeat is not None:
            self._spawn(self._beat(self.profile.heartbeat.address))

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None
        if self._line is not None:
            self._line.stop()

    async def values(self, slot: int, device_id: int | None = None) -> dict[str, int]:
        """Plane name -> the raw value slot `slot` (0-based) holds."""
        server, dev = self._require(), device_id or self.device_ids[0]
        found = {}
        for plane in self.profile.all_planes:
            value = (await server.async_getValues(dev, plane.table, plane.base + slot, 1))[0]
            found[plane.name] = int(value)
        return found

    async def light(self, slot: int, device_id: int | None = None) -> SlotLight:
        """What slot `slot` (0-based) shows, read from the registers the host wrote."""
        return self.profile.decode(await self.values(slot, device_id))

    async def lights(self, device_id: int | None = None) -> list[SlotLight]:
        """Every slot's light."""
        return [await self.light(slot, device_id) for slot in range(self.slots)]

    async def press(self, slot: int, times: int = 1, device_id: int | None = None) -> None:
        """A pharmacist presses (or touches) the confirm button of `slot` (0-based)."""
        server, dev = self._require(), device_id or self.device_ids[0]
        buttons = self.profile.buttons
        address = buttons.base + slot
        if buttons.counting:
            count = (await server.async_getValues(dev, buttons.table, address, 1))[0]
            await server.async_setValues(
                dev, buttons.table, address, [(int(count) + times) % COUNTER_WRAP]
            )
            return
        await server.async_setValues(dev, buttons.table, address, [True])
        self._spawn(self._lift_finger(dev, address))

    async def set_counter(self, slot: int, count: int, device_id: int | None = None) -> None:
        """Put a press counter at `count` outright: what a stale answer shows the host."""
        server, dev = self._require(), device_id or self.device_ids[0]
        buttons = self.profile.buttons
        if not buttons.counting:
            raise ValueError(f"profile {self.profile.name} has no press counters")
        await server.async_setValues(dev, buttons.table, buttons.base + slot, [count])

    async def set_heartbeat(self, value: int, device_id: int | None = None) -> None:
        """Put the heartbeat at `value` (a controller up for that many seconds, or a stale
        answer); it counts on from there."""
        beat = self._beat_setting()
        server, dev = self._require(), device_id or self.device_ids[0]
        await server.async_setValues(dev, beat.table, beat.address, [value])

    async def heartbeat(self, device_id: int | None = None) -> int:
        """The heartbeat counter (seconds since power-on, wrapping at 65536)."""
        beat = self._beat_setting()
        server, dev = self._require(), device_id or self.device_ids[0]
        return int((await server.async_getValues(dev, beat.table, beat.address, 1))[0])

    async def power_cycle(self, device_id: int | None = None) -> None:
        """The controller loses power and comes back: every light dark, counters (and its
        heartbeat) at zero."""
        server, dev = self._require(), device_id or self.device_ids[0]
        if self.profile.heartbeat is not None:
            beat = self.profile.heartbeat
            await server.async_setValues(dev, beat.table, beat.address, [0])
        tables = [(p.table, p.base) for p in self.profile.all_planes]
        for table, base in [*tables, (self.profile.buttons.table, self.profile.buttons.base)]:
            if table in (Table.COILS, Table.DISCRETE_INPUTS):
                await server.async_setValues(dev, table, base, [False] * self.slots)
            else:
                await server.async_setValues(dev, table, base, [0] * self.slots)

    def silence(self, *device_ids: int) -> None:
        """These controllers stop answering (RTU): unpowered, or a cut stub of the bus."""
        self._rs485().silence(*(device_ids or self.device_ids))

    def unsilence(self, *device_ids: int) -> None:
        """These controllers answer again, with whatever their registers hold."""
        self._rs485().unsilence(*(device_ids or self.device_ids))

    def answer_late(self, device_id: int, by: float) -> None:
        """The controller's next answer reaches the host `by` seconds late (RTU)."""
        self._rs485().answer_late(device_id, by)

    def requests(self, device_id: int, function_code: int) -> int:
        """How many requests with this function code the host sent this device id (RTU)."""
        return self._rs485().requests[(device_id, function_code)]

    async def _listen(self, devices: list[SimDevice]) -> ModbusBaseServer:
        """Serve on the TCP port. A fixed port that the previous controller still holds for a
        moment (a restart on the same port) is tried again for up to 5 s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while True:
            server = ModbusTcpServer(devices, address=(self._host, self._port))
            try:
                await server.serve_forever(background=True)
                return server
            except RuntimeError:
                if self._port == 0 or loop.time() > deadline:
                    raise
            await asyncio.sleep(0.1)

    def _require(self) -> ModbusBaseServer:
        if self._server is None:
            raise RuntimeError("shelf controller simulator not started")
        return self._server

    def _beat_setting(self) -> Setting:
        if self.profile.heartbeat is None:
            raise ValueError(f"profile {self.profile.name} has no heartbeat")
        return self.profile.heartbeat

    def _rs485(self) -> Rs485Line:
        if self._line is None:
            raise RuntimeError("this simulator serves Modbus TCP, not an RS-485 line")
        return self._line

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _lift_finger(self, device_id: int, address: int) -> None:
        await asyncio.sleep(self.touch_time)
        table = self.profile.buttons.table
        with contextlib.suppress(RuntimeError):
            await self._require().async_setValues(device_id, table, address, [False])

    async def _beat(self, address: int) -> None:
        server = self._require()
        while True:
            await asyncio.sleep(1.0)
            for device_id in self.device_ids:
                beats = (
                    await server.async_getValues(device_id, Table.INPUT_REGISTERS, address, 1)
                )[0]
                await server.async_setValues(
                    device_id, Table.INPUT_REGISTERS, address, [(int(beats) + 1) % COUNTER_WRAP]
                )
