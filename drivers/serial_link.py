"""Byte links to serial devices: a local port or any pyserial URL (socket://, rfc2217://)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import serial_asyncio_fast


@dataclass(frozen=True, slots=True)
class SerialPort:
    """Where a device is: its `name` (in events and logs), the port's `url` (a path or a
    pyserial URL) and its `baudrate`."""

    name: str
    url: str
    baudrate: int


class _LinkProtocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], closed: asyncio.Future[None]):
        self._on_data = on_data
        self._closed = closed

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)


class SerialLink:
    """One open port. `on_data` gets every chunk received; `closed` completes when it goes away."""

    def __init__(self, transport: asyncio.Transport, closed: asyncio.Future[None]):
        self._transport = transport
        self.closed = closed

    @classmethod
    async def open(cls, url: str, baudrate: int, on_data: Callable[[bytes], None]) -> SerialLink:
        """Open `url` (a device path or pyserial URL) at `baudrate`, 8N1, exclusively."""
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()
        kwargs: dict[str, object] = {"baudrate": baudrate}
        if "://" not in url:
            kwargs["exclusive"] = True
        transport, _ = await serial_asyncio_fast.create_serial_connection(
            loop, lambda: _LinkProtocol(on_data, closed), url, **kwargs
        )
        return cls(transport, closed)

    def write(self, data: bytes) -> None:
        """Queue bytes for sending; never blocks."""
        self._transport.write(data)

    def close(self) -> None:
        """Close the port; `closed` completes."""
        self._transport.close()
