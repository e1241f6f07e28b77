"""What the test's own network peers in front of or instead of a broker share: a server on a
free loopback port whose links `_serve` handles, each link's tasks cancelled on stopping, and
one direction of a relayed link."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(kw_only=True)
class LoopbackServer:
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"mqtt://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


async def pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cut: asyncio.Event | None = None
) -> None:
    """Pass on what `reader` gives to `writer` until it ends (once `cut` is set, nothing)."""
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            if cut is None or not cut.is_set():
                writer.write(data)
                await writer.drain()
