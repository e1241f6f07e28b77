"""Browsers as the gateway sees them, for bench_web_live: N clients of the web page, each
holding its Server-Sent Events stream and fetching its view's live part again after every
nudge (`ledger`, `result`, `alarm`), 150 ms after it as the page's script does. Lights events
need no fetch. Runs in its own process until killed; prints "ready" once every stream is open.

`python -m bench.web_clients URL COUNT`
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit

NUDGES = (b"event: ledger", b"event: result", b"event: alarm")
VIEWS = ("/shelves?part=live", "/picks?part=live")
DEBOUNCE = 0.15


async def fetch(host: str, port: int, path: str) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    await reader.read()  # the whole answer, as a browser would
    writer.close()


async def client(host: str, port: int, view: str, opened: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    opened.set()
    pending: asyncio.Task[None] | None = None

    async def later() -> None:
        await asyncio.sleep(DEBOUNCE)
        await fetch(host, port, view)

    while line := await reader.readline():
        if line.startswith(NUDGES) and (pending is None or pending.done()):
            pending = asyncio.create_task(later())


async def main(url: str, count: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    opened = [asyncio.Event() for _ in range(count)]
    tasks = [
        asyncio.create_task(client(host, port, VIEWS[n % len(VIEWS)], opened[n]))
        for n in range(count)
    ]
    await asyncio.gather(*(event.wait() for event in opened))
    print("ready", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
