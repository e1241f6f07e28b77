"""A TCP proxy in front of a real broker that breaks the first link right after passing on its
first PUBLISH to a topic with `breaks_on` in it: the broker has the message, its PUBACK never
reaches the client, which sends it again on its next link (passed on whole, as every later one).
A link broken as a cable pulled at the worst moment."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.sync.loopback_server import LoopbackServer, pipe

PUBLISH = 3


@dataclass
class BreakingProxy(LoopbackServer):
    broker_url: str
    breaks_on: str
    links: int = 0
    broken: bool = False

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        self.links += 1
        first = not self.broken
        address = urlsplit(self.broker_url)
        broker_in, broker_out = await asyncio.open_connection(address.hostname, address.port)
        cut = asyncio.Event()  # set: nothing more reaches the client on this link
        up = asyncio.create_task(self._upstream(client_in, broker_out, cut if first else None))
        down = asyncio.create_task(pipe(broker_in, client_out, cut))
        self._tasks |= {up, down}
        try:
            await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            self._tasks -= {up, down}
            for writer in (client_out, broker_out):
                writer.close()

    async def _upstream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: asyncio.Event | None
    ) -> None:
        """Client to broker, packet by packet; given `cut`, sets it once the PUBLISH it waits
        for has reached the broker (nothing, its PUBACK included, goes back to the client)
        and ends, breaking the link."""
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readexactly(1)
                length, raw_length = await _remaining_length(reader)
                body = await reader.readexactly(length)
                breaking = (
                    cut is not None and head[0] >> 4 == PUBLISH and self.breaks_on in _topic(body)
                )
                if cut is not None and breaking:
                    cut.set()  # before it goes: its PUBACK must not come back
                writer.write(head + raw_length + body)
                await writer.drain()
                if breaking:
                    self.broken = True
                    await asyncio.sleep(0.2)  # the broker takes it in before the link goes
                    return


def _topic(body: bytes) -> str:
    return body[2 : 2 + int.from_bytes(body[:2], "big")].decode(errors="replace")


async def _remaining_length(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    value, shift, raw = 0, 0, b""
    while True:
        byte = await reader.readexactly(1)
        raw += byte
        value |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return value, raw
        shift += 7
