"""HTTP/1.1 spoken by hand to the running page, as a script on the pharmacy's network would
speak it: from a chosen address of this machine (127.0.0.x), with headers and bodies sent
whole, in part or not at all."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

WAIT = 10.0  # seconds: generous under load


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def head(self, method: str, path: str, headers: dict[str, str] | None = None) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Answer:
        if body:
            headers = {"Content-Length": str(len(body)), **(headers or {})}
        self.send(self.head(method, path, headers) + body)
        return await self.answer()

    async def answer(self, whole: bool = True, within: float = WAIT) -> Answer:
        """The next answer, within `within` seconds: its head, and (`whole`) its body by
        Content-Length."""
        async with asyncio.timeout(within):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in filter(None, lines):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0")) if whole else 0
            body = await self.reader.readexactly(length) if length else b""
        return Answer(int(status_line.split()[1]), headers, body)

    async def closed_by_page(self, within: float) -> bool:
        """Whether the page closes the connection within `within` seconds (what it still
        sends meanwhile is read and dropped)."""
        try:
            async with asyncio.timeout(within):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except ConnectionResetError:
            pass
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


Connect = Callable[..., Awaitable[Connection]]


@asynccontextmanager
async def connections(url: str) -> AsyncIterator[Connect]:
    """`connect(source="127.0.0.1")`: a connection to the page at `url` from the local address
    `source`; every one made is closed at the end."""
    where = urlsplit(url)
    assert where.hostname is not None and where.port is not None
    made: list[Connection] = []

    async def connect(source: str = "127.0.0.1") -> Connection:
        reader, writer = await asyncio.open_connection(
            where.hostname, where.port, local_addr=(source, 0), limit=1 << 20
        )
        made.append(Connection(reader, writer, where.netloc))
        return made[-1]

    try:
        yield connect
    finally:
        for connection in made:
            await connection.close()
