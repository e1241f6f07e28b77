"""Writes to a simulated serial line no faster than its baud rate would carry.

ptys move bytes at memory speed; a real 115200 8N1 line carries 11,520 bytes/s (10 bits a byte).
"""

from __future__ import annotations

import asyncio
import os
import time

BITS_PER_BYTE = 10  # start, 8 data, stop


class PacedWriter:
    """Sends byte chunks in order at the line's rate, from its own task."""

    def __init__(self, fd: int, baudrate: int):
        self._fd = fd
        self._byte_time = BITS_PER_BYTE / baudrate
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.bytes_written = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def send(self, data: bytes) -> None:
        """Queue bytes; they leave at line rate."""
        self._queue.put_nowait(data)

    def idle(self) -> bool:
        """Nothing waiting to be sent."""
        return self._queue.empty()

    async def _run(self) -> None:
        due = time.monotonic()
        while True:
            data = await self._queue.get()
            now = time.monotonic()
            due = max(due, now)
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self._fd, view)
                except BlockingIOError:
                    await asyncio.sleep(0.005)  # host is not reading: wait like a full FIFO
                    continue
                except OSError:
                    return  # the line was hung up
                view = view[written:]
                self.bytes_written += written
                due += written * self._byte_time
                delay = due - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)
