"""A simulated RS-485 line: two pseudo-terminals joined by a relay thread. The host opens one end
like /dev/ttyUSB0; the simulated devices (a Modbus RTU server) open the other.

A pty carries bytes as fast as they are written, so a paced line holds each frame for the time it
takes on a real wire (10 bits a byte at the baud rate), keeps 3.5 characters of silence after
every frame, and carries one frame at a time in either direction (RS-485 is half duplex). Each
write is taken as one frame, as Modbus RTU masters and servers write them.

A device id can be silenced: requests for it still use the line but never reach the devices, as
when that controller has lost power. Its next answer can be made late: it goes on the line that
much later, and the host's requests after it wait behind it (the controller is still busy), as
when a controller stalls writing its flash.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections import Counter, deque
from pathlib import Path

from drivers.modbus.wire import char_time, silence
from firmware_sim.pty_port import PtyPort


class Rs485Line:
    """The line; `baudrate=None` relays without pacing."""

    def __init__(self, baudrate: int | None = None, link: Path | None = None):
        self.baudrate = baudrate
        self._link = link
        self._host: PtyPort | None = None
        self._devices: PtyPort | None = None
        self._silenced: set[int] = set()
        self._late: dict[int, float] = {}  # device id -> seconds its next answer is late
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._line_free = 0.0
        self.requests: Counter[tuple[int, int]] = Counter()  # (device id, function code)
        self.bytes_carried = 0

    @property
    def host_port(self) -> str:
        """What the host opens (the link if one was asked for)."""
        return self._require(self._host).name

    @property
    def device_port(self) -> str:
        """What the simulated devices open."""
        return self._require(self._devices).path

    def start(self) -> None:
        self._host = PtyPort(self._link)
        self._devices = PtyPort()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._relay, name="rs485-line", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stopping.set()
            os.write(self._wake_w, b"x")
            self._thread.join()
            self._thread = None
            for fd in (self._wake_r, self._wake_w):
                os.close(fd)
        for port in (self._host, self._devices):
            if port is not None:
                port.close()
        self._host = self._devices = None

    def silence(self, *device_ids: int) -> None:
        """These devices stop answering (their requests are lost on the line)."""
        self._silenced.update(device_ids)

    def unsilence(self, *device_ids: int) -> None:
        """These devices hear their requests again."""
        self._silenced.difference_update(device_ids)

    def answer_late(self, device_id: int, by: float) -> None:
        """The device's next answer goes on the line `by` seconds after it was given."""
        self._late[device_id] = by

    def _relay(self) -> None:
        host, devices = self._require(self._host).master, self._require(self._devices).master
        pending: deque[tuple[float, int | None, bytes]] = deque()  # (due, to, frame)
        while not self._stopping.is_set():
            timeout = max(0.0, pending[0][0] - time.monotonic()) if pending else None
            readable, _, _ = select.select([host, devices, self._wake_r], [], [], timeout)
            now = time.monotonic()
            for fd in readable:
                if fd == self._wake_r:
                    continue
                try:
                    frame = os.read(fd, 4096)
                except OSError:
                    continue
                if not frame:
                    continue
                if fd == host:
                    heard = len(frame) >= 2 and frame[0] not in self._silenced
                    if len(frame) >= 2:
                        self.requests[(frame[0], frame[1])] += 1
                    pending.append((self._carry(frame, now), devices if heard else None, frame))
                else:
                    late = self._late.pop(frame[0], 0.0)
                    pending.append((self._carry(frame, now + late), host, frame))
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, to, frame = pending.popleft()
                if to is not None:
                    with contextlib.suppress(OSError):
                        os.write(to, frame)

    def _carry(self, frame: bytes, now: float) -> float:
        """When the frame has crossed the line (all of it: a receiver acts on whole frames)."""
        self.bytes_carried += len(frame)
        if self.baudrate is None:
            return now
        start = max(now, self._line_free)
        end = start + len(frame) * char_time(self.baudrate)
        self._line_free = end + silence(self.baudrate)
        return end

    @staticmethod
    def _require(port: PtyPort | None) -> PtyPort:
        if port is None:
            raise RuntimeError("RS-485 line not started")
        return port
