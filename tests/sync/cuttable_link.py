"""A TCP relay in front of a real broker that can be cut and mended: a cable pulled and
plugged in again, the broker staying up for every other client; and that can be slow from the
broker to the client (a thin uplink, on which PUBACKs come one by one)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.sync.loopback_server import LoopbackServer, pipe


@dataclass
class CuttableLink(LoopbackServer):
    """A TCP relay in front of the broker: `cut()` is a cable pulled (the links closed, new
    ones closed at once) while the broker stays up for everyone else; `mend()` plugs it in.
    With `slow_down` set, at most that many bytes a tenth of a second reach the client."""

    broker_url: str
    up: bool = True
    slow_down: int | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def cut(self) -> None:
        self.up = False
        for writer in list(self._writers):
            writer.close()

    def mend(self) -> None:
        self.up = True

    async def stop(self) -> None:
        self.cut()
        await super().stop()

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if not self.up:
            client_out.close()
            return
        address = urlsplit(self.broker_url)
        broker_in, broker_out = await asyncio.open_connection(address.hostname, address.port)
        self._writers |= {client_out, broker_out}
        pipes = {
            asyncio.create_task(pipe(client_in, broker_out)),
            asyncio.create_task(self._down(broker_in, client_out)),
        }
        self._tasks |= pipes
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in pipes:
                task.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._tasks -= pipes
            for writer in (client_out, broker_out):
                writer.close()
                self._writers.discard(writer)

    async def _down(
        self, broker_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        if self.slow_down is None:
            return await pipe(broker_in, client_out)
        with contextlib.suppress(ConnectionError):
            while data := await broker_in.read(self.slow_down):
                client_out.write(data)
                await client_out.drain()
                await asyncio.sleep(0.1)
