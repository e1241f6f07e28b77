"""A light MQTT 3.1.1 publisher for simulating many gateways in one process: asyncio streams,
QoS 1, a persistent session (clean session off), no thread of its own.

It does what a gateway's link does and nothing more: connects to the first broker of its list
that answers (the next one after a failure or a lost link, with a back-off doubling from 0.25 s
to 2 s), says `online` (retained), sends what it is given at QoS 1 (at most WINDOW messages
waiting for their PUBACKs), and sends again, marked
DUP, whatever the broker had not acknowledged when the link went. The real session
(sync.mqtt_session) runs a paho thread per client, too heavy for a thousand in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

CONNECT, CONNACK, PUBLISH, PUBACK, PINGREQ = 0x10, 0x20, 0x30, 0x40, 0xC0
KEEPALIVE = 60
WINDOW = 20  # messages in flight at once, as paho's default (the real session keeps it)


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def _packet(kind: int, body: bytes) -> bytes:
    size, length = len(body), bytearray()
    while True:
        size, digit = divmod(size, 128)
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([kind]) + bytes(length) + body


def connect_packet(client_id: str) -> bytes:
    flags = 0x00  # clean session off: the broker keeps the session
    return _packet(
        CONNECT,
        _string("MQTT") + bytes([4, flags]) + struct.pack("!H", KEEPALIVE) + _string(client_id),
    )


def publish_packet(topic: str, payload: bytes, pid: int, retain: bool, dup: bool) -> bytes:
    kind = PUBLISH | 0x02 | (0x01 if retain else 0) | (0x08 if dup else 0)
    return _packet(kind, _string(topic) + struct.pack("!H", pid) + payload)


@dataclass
class Outgoing:
    topic: str
    payload: bytes
    retain: bool
    on_ack: Callable[[], None] | None = None


@dataclass
class LinkCounts:
    connects: int = 0
    failed_attempts: int = 0
    resent: int = 0
    acked: int = 0


@dataclass
class LightClient:
    """One simulated gateway's link; `publish` queues, `run` keeps the link."""

    client_id: str
    brokers: list[tuple[str, int]]
    birth: tuple[str, bytes] | None = None
    counts: LinkCounts = field(default_factory=LinkCounts)
    _queue: deque[Outgoing] = field(default_factory=deque)
    _inflight: dict[int, Outgoing] = field(default_factory=dict)
    _next_pid: int = 0
    _writer: asyncio.StreamWriter | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, message: Outgoing) -> None:
        self._queue.append(message)
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    @property
    def unacknowledged(self) -> int:
        return len(self._queue) + len(self._inflight)

    async def run(self) -> None:
        at, delay = 0, 0.25
        while True:
            host, port = self.brokers[at]
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
                writer.write(connect_packet(self.client_id))
                head = await asyncio.wait_for(reader.readexactly(4), 5)
                if head[0] != CONNACK or head[3] != 0:
                    raise ConnectionError(f"refused: {head.hex()}")
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                self.counts.failed_attempts += 1
                at = (at + 1) % len(self.brokers)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            delay = 0.25
            self.counts.connects += 1
            await self._serve(reader, writer)
            at = (at + 1) % len(self.brokers)  # the link went: the next broker in order

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        for pid, message in list(self._inflight.items()):
            self.counts.resent += 1
            writer.write(publish_packet(message.topic, message.payload, pid, message.retain, True))
        if self.birth is not None:
            self._send(Outgoing(self.birth[0], self.birth[1], True), dup=False)
        sending = asyncio.create_task(self._drain_queue())
        try:
            await self._read(reader)
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            sending.cancel()
            await asyncio.wait([sending])  # a cancellation of this task still goes through
            self._writer = None
            writer.close()

    async def _drain_queue(self) -> None:
        last_ping = time.monotonic()
        while True:
            if not self._queue or len(self._inflight) >= WINDOW:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that comes as the wake-up does, and this task never ends.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEPALIVE / 2):
                        await self._wake.wait()
            self._wake.clear()
            while self._queue and len(self._inflight) < WINDOW:
                self._send(self._queue.popleft(), dup=False)
            if time.monotonic() - last_ping > KEEPALIVE / 2 and self._writer is not None:
                self._writer.write(bytes([PINGREQ, 0]))
                last_ping = time.monotonic()

    def _send(self, message: Outgoing, dup: bool) -> None:
        self._next_pid = self._next_pid % 65535 + 1
        self._inflight[self._next_pid] = message
        if self._writer is None or self._writer.is_closing():
            return  # the link is going: sent again, marked DUP, on the next one
        self._writer.write(
            publish_packet(message.topic, message.payload, self._next_pid, message.retain, dup)
        )

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            async with asyncio.timeout(KEEPALIVE * 1.5):
                first = await reader.readexactly(1)
            size, shift = 0, 0
            while True:
                digit = (await reader.readexactly(1))[0]
                size += (digit & 0x7F) << shift
                shift += 7
                if not digit & 0x80:
                    break
            body = await reader.readexactly(size) if size else b""
            if first[0] & 0xF0 == PUBACK:
                message = self._inflight.pop(struct.unpack("!H", body[:2])[0], None)
                if message is not None:
                    self._wake.set()  # room in the window
                    self.counts.acked += 1
                    if message.on_ack is not None:
                        message.on_ack()
