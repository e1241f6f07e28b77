"""The device side of a simulated serial line: a pty (the host opens a path, as /dev/ttyUSB0)
or a TCP listener (the host opens socket://127.0.0.1:PORT, as behind a serial-to-Ethernet
converter). Writes are paced to the line's baud rate and may pass through injected faults."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from firmware_sim.faults import LineFaults
from firmware_sim.pty_port import PtyPort

BITS_PER_BYTE = 10  # start, 8 data, stop

DataHandler = Callable[[bytes], None]


class Line(ABC):
    """One simulated line; `on_data` receives what the host sends."""

    def __init__(self, baudrate: int, on_data: DataHandler, faults: LineFaults | None = None):
        self.baudrate = baudrate
        self.faults = faults or LineFaults()
        self._on_data = on_data
        self._byte_time = BITS_PER_BYTE / baudrate
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._pacer: asyncio.Task[None] | None = None
        self.bytes_sent = 0

    @property
    @abstractmethod
    def url(self) -> str:
        """What the host puts in its config to reach this line."""

    async def start(self) -> None:
        await self._open()
        self._pacer = asyncio.get_running_loop().create_task(self._pace())

    async def stop(self) -> None:
        if self._pacer is not None:
            self._pacer.cancel()
            await asyncio.gather(self._pacer, return_exceptions=True)
            self._pacer = None
        await self._close()

    async def unplug(self, seconds: float) -> None:
        """Pull the cable for `seconds`, then plug it back in (same path or port)."""
        await self._close()
        await asyncio.sleep(seconds)
        await self._open()

    def send(self, data: bytes) -> None:
        """Queue bytes; they leave at line rate."""
        self._queue.put_nowait(data)

    async def _pace(self) -> None:
        due = time.monotonic()
        while True:
            data = self.faults.apply(await self._queue.get())
            due = max(due, time.monotonic())
            view = memoryview(data)
            while view:
                written = self._write(view)
                if written is None:
                    await asyncio.sleep(0.005)  # the host is not reading: wait like a full FIFO
                    continue
                view = view[written:]
                self.bytes_sent += written
                due += written * self._byte_time
                delay = due - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)

    @abstractmethod
    async def _open(self) -> None: ...

    @abstractmethod
    async def _close(self) -> None: ...

    @abstractmethod
    def _write(self, data: memoryview) -> int | None:
        """Write what fits now; None when nothing can be written at the moment."""


class PtyLine(Line):
    """A pseudo-terminal; `link` (a symlink) keeps one name across unplug and replug."""

    def __init__(
        self,
        baudrate: int,
        on_data: DataHandler,
        link: Path | None = None,
        faults: LineFaults | None = None,
    ):
        super().__init__(baudrate, on_data, faults)
        self._link = link
        self._port: PtyPort | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            if self._link is None:
                raise RuntimeError("line not started")
            return str(self._link)
        return self._port.name

    @property
    def master(self) -> int:
        if self._port is None:
            raise RuntimeError("line not started")
        return self._port.master

    async def _open(self) -> None:
        self._port = PtyPort(self._link)
        asyncio.get_running_loop().add_reader(self._port.master, self._readable)

    async def _close(self) -> None:
        if self._port is not None:
            asyncio.get_running_loop().remove_reader(self._port.master)
            self._port.close()
            self._port = None

    def _readable(self) -> None:
        if self._port is None:
            return
        try:
            data = os.read(self._port.master, 4096)
        except OSError:
            return
        if data:
            self._on_data(data)

    def _write(self, data: memoryview) -> int | None:
        if self._port is None:
            return len(data)  # unplugged: the bytes are lost
        try:
            return os.write(self._port.master, data)
        except (BlockingIOError, OSError):
            return None


class TcpLine(Line):
    """A TCP listener serving one host connection at a time, like ser2net or a converter box."""

    def __init__(
        self,
        baudrate: int,
        on_data: DataHandler,
        port: int = 0,
        faults: LineFaults | None = None,
    ):
        super().__init__(baudrate, on_data, faults)
        self.port = port
        self._server: asyncio.Server | None = None
        self._client: asyncio.StreamWriter | None = None
        self._readers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        for task in self._readers:
            task.cancel()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._client is not None:
            self._client.close()
        self._client = writer
        task = asyncio.current_task()
        assert task is not None
        self._readers.add(task)
        try:
            while data := await reader.read(4096):
                self._on_data(data)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._readers.discard(task)
            if self._client is writer:
                self._client = None
            writer.close()

    def _write(self, data: memoryview) -> int | None:
        if self._client is None or self._client.is_closing():
            return len(data)  # no host connected: the bytes are lost
        self._client.write(bytes(data))
        return len(data)
