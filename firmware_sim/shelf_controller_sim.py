"""A simulated pick-to-light shelf controller (profile rxedge-ptl-v1) on Modbus TCP or RTU.

Several controllers can share one simulated RS-485 bus (one device id each). Tests read back
the LED state from the registers and press buttons, which bumps the slot's press counter.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.server.base import ModbusBaseServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import RXEDGE_PTL_V1, Colour, Mode, RegisterMap

FIRMWARE_VERSION = 0x0100
_FC_COILS, _FC_DISCRETE, _FC_HOLDING, _FC_INPUT = 1, 2, 3, 4


def _device(device_id: int, slots: int, reg: RegisterMap) -> SimDevice:
    def bits(address: int) -> SimData:
        return SimData(address, count=slots, values=False, datatype=DataType.BITS)

    def registers(address: int, count: int = slots) -> SimData:
        return SimData(address, count=count, values=0, datatype=DataType.REGISTERS)

    return SimDevice(
        device_id,
        simdata=(
            [bits(reg.led_coil)],
            [bits(reg.button_input)],
            [
                registers(reg.colour_register),
                registers(reg.mode_register),
                registers(reg.number_register),
            ],
            [registers(reg.firmware_register, 2), registers(reg.press_counter)],
        ),
    )


class ShelfControllerSimulator:
    """Controllers with `slots` slots each, one per device id, served on TCP (default) or on
    the serial port `rtu_port`."""

    def __init__(
        self,
        slots: int = 24,
        device_ids: Sequence[int] = (1,),
        profile: RegisterMap = RXEDGE_PTL_V1,
        host: str = "127.0.0.1",
        port: int = 0,
        rtu_port: str | None = None,
        baudrate: int = 115200,
    ):
        self.slots = slots
        self.device_ids = tuple(device_ids)
        self.profile = profile
        self._host = host
        self._port = port
        self._rtu_port = rtu_port
        self._baudrate = baudrate
        self._server: ModbusBaseServer | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The TCP port it listens (or last listened) on."""
        return self._port

    async def start(self) -> None:
        devices = [_device(d, self.slots, self.profile) for d in self.device_ids]
        if self._rtu_port is None:
            self._server = ModbusTcpServer(devices, address=(self._host, self._port))
        else:
            self._server = ModbusSerialServer(
                devices, framer=FramerType.RTU, port=self._rtu_port, baudrate=self._baudrate
            )
        await self._server.serve_forever(background=True)
        if self._rtu_port is None:
            transport = self._server.transport
            self._port = int(transport.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        for device_id in self.device_ids:
            await self._server.async_setValues(
                device_id, _FC_INPUT, self.profile.firmware_register, [FIRMWARE_VERSION]
            )
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    async def light(self, slot: int, device_id: int | None = None) -> SlotLight:
        """What slot `slot` (0-based) shows, read from the registers the host wrote."""
        server, reg, dev = self._require(), self.profile, device_id or self.device_ids[0]
        on = (await server.async_getValues(dev, _FC_COILS, reg.led_coil + slot, 1))[0]
        colour = (await server.async_getValues(dev, _FC_HOLDING, reg.colour_register + slot, 1))[0]
        mode = (await server.async_getValues(dev, _FC_HOLDING, reg.mode_register + slot, 1))[0]
        number = (await server.async_getValues(dev, _FC_HOLDING, reg.number_register + slot, 1))[0]
        return SlotLight(bool(on), Colour(int(colour)), Mode(int(mode)), int(number))

    async def lights(self, device_id: int | None = None) -> list[SlotLight]:
        """Every slot's light."""
        return [await self.light(slot, device_id) for slot in range(self.slots)]

    async def press(self, slot: int, times: int = 1, device_id: int | None = None) -> None:
        """A pharmacist presses the confirm button of `slot` (0-based)."""
        server, reg, dev = self._require(), self.profile, device_id or self.device_ids[0]
        count = (await server.async_getValues(dev, _FC_INPUT, reg.press_counter + slot, 1))[0]
        await server.async_setValues(
            dev, _FC_INPUT, reg.press_counter + slot, [(int(count) + times) % 65536]
        )

    def _require(self) -> ModbusBaseServer:
        if self._server is None:
            raise RuntimeError("shelf controller simulator not started")
        return self._server

    async def _beat(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(1.0)
            beats = (beats + 1) % 65536
            for device_id in self.device_ids:
                await self._require().async_setValues(
                    device_id, _FC_INPUT, self.profile.heartbeat_register, [beats]
                )
