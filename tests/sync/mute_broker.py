"""A broker that takes connections and publishes and answers pings, but acknowledges no publish
(a broker whose storage or back end hangs while its network side lives on): a raw MQTT 5 /
3.1.1 peer of a few packets, written from the standard. `acknowledge` turns PUBACKs on, as a
broker that recovers."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from tests.sync.loopback_server import LoopbackServer

CONNECT, PUBLISH, SUBSCRIBE, PINGREQ, DISCONNECT = 1, 3, 8, 12, 14


@dataclass(frozen=True, slots=True)
class Received:
    """One PUBLISH as it arrived: on which connection (1, 2, ...), its topic and payload, and
    whether it carried the DUP flag (sent again)."""

    connection: int
    topic: str
    payload: bytes
    dup: bool


@dataclass
class MuteBroker(LoopbackServer):
    acknowledge: bool = False
    connections: int = 0
    received: list[Received] = field(default_factory=list)
    _links: set[asyncio.StreamWriter] = field(default_factory=set)
    _subscribers: dict[asyncio.StreamWriter, int] = field(default_factory=dict)  # -> version

    async def stop(self) -> None:
        for link in list(self._links):
            link.close()
        await super().stop()

    def send(self, topic: str, payload: bytes) -> None:
        """Deliver a message (QoS 0) on every link that subscribed: the broker's network side
        still carries what others publish."""
        for writer, version in self._subscribers.items():
            name = topic.encode()
            body = len(name).to_bytes(2, "big") + name + (b"\x00" if version == 5 else b"")
            body += payload
            writer.write(bytes((0x30,)) + _length(len(body)) + body)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection, version = self.connections, 5
        self._links.add(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                first = (await reader.readexactly(1))[0]
                body = await reader.readexactly(await _remaining_length(reader))
                kind, flags = first >> 4, first & 0x0F
                if kind == CONNECT:
                    version = body[6]  # after the protocol name "MQTT"
                    writer.write(b"\x20\x03\x00\x00\x00" if version == 5 else b"\x20\x02\x00\x00")
                elif kind == PUBLISH:
                    self._publish(connection, version, flags, body, writer)
                elif kind == SUBSCRIBE:
                    writer.write(_suback(version, body))
                    self._subscribers[writer] = version
                elif kind == PINGREQ:
                    writer.write(b"\xd0\x00")
                elif kind == DISCONNECT:
                    break
                await writer.drain()
        self._links.discard(writer)
        self._subscribers.pop(writer, None)
        writer.close()

    def _publish(
        self, connection: int, version: int, flags: int, body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        qos = (flags >> 1) & 0x03
        at = 2 + int.from_bytes(body[:2], "big")
        topic = body[2:at].decode()
        packet_id = body[at : at + 2] if qos else b""
        at += len(packet_id)
        if version == 5:
            properties, used = _varint(body, at)
            at += used + properties
        self.received.append(Received(connection, topic, body[at:], bool(flags & 0x08)))
        if qos == 1 and self.acknowledge:
            writer.write(b"\x40\x02" + packet_id)


def _suback(version: int, body: bytes) -> bytes:
    """Every filter of a SUBSCRIBE granted at QoS 1."""
    at = 2
    if version == 5:
        properties, used = _varint(body, at)
        at += used + properties
    filters = 0
    while at < len(body):
        at += 2 + int.from_bytes(body[at : at + 2], "big") + 1  # the filter and its options
        filters += 1
    answer = body[:2] + (b"\x00" if version == 5 else b"") + b"\x01" * filters
    return bytes((0x90, len(answer))) + answer


def _length(value: int) -> bytes:
    """A remaining length, as a variable byte integer."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


async def _remaining_length(reader: asyncio.StreamReader) -> int:
    value, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value
        shift += 7


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """A variable byte integer at `at`: its value and how many bytes it took."""
    value, shift, used = 0, 0, 0
    while True:
        byte = data[at + used]
        used += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, used
        shift += 7
