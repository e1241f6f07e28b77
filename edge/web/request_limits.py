"""What one client may cost the page, so that nobody on the pharmacy's network can take it
from everyone else: connections (in all, per client address, and how long one may take to send
its request head) and request bodies (size, and how long one may take to arrive). The live
streams' own limits are the live feed's (edge.web.live)."""

from __future__ import annotations

import asyncio
import contextlib
import resource
from collections import Counter
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

# The page's forms are a few hundred bytes: a body beyond this is refused (413) unread.
MAX_BODY_BYTES = 64 * 1024
BODY_SECONDS = 10.0  # a request's body must have come whole within this of its head (408)
HEAD_SECONDS = 10.0  # a connection must send a whole request head within this, or is closed
MAX_CONNECTIONS = 1000  # requests beyond this many connections are answered 503 ...
# ... and beyond this many from one client address (a browser holds six at most), a connection
# is closed at once. Not behind a reverse proxy, whose connections all come from itself.
MAX_CONNECTIONS_PER_ADDRESS = 64


def connection_limit() -> int:
    """Connections served at once (uvicorn's limit_concurrency): MAX_CONNECTIONS, or half the
    process's file descriptors where they are fewer (1024 unless the unit's LimitNOFILE raises
    it), leaving the rest for the ledger, the broker and connections being turned away."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft // 2))


class _Refused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


class BodyLimit:
    """Refuses a request body larger than `max_bytes` before reading it whole: by its
    Content-Length at once, or by the bytes as they come (chunked), 413; and one not all come
    within `seconds` of the request, 408. Either answer closes the connection."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, seconds: float = BODY_SECONDS
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            await _answer(send, 413, self._too_large())
            return
        has_body = (length.isdigit() and int(length) > 0) or b"transfer-encoding" in headers
        deadline = asyncio.get_running_loop().time() + self.seconds
        received, whole, answered = 0, not has_body, False

        async def limited_receive() -> Message:
            nonlocal received, whole
            if whole:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _Refused(408, "the request's body did not come in time") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _Refused(413, self._too_large())
                whole = not message.get("more_body", False)
            return message

        async def answer(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                answered = True
                if not whole:  # a body left unread: the connection cannot carry another request
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, limited_receive, answer)
        except _Refused as refused:
            if answered:
                raise
            await _answer(send, refused.status, str(refused))

    def _too_large(self) -> str:
        return f"the form is larger than the page takes ({self.max_bytes // 1024} KiB)"


async def _answer(send: Send, status: int, reason: str) -> None:
    body = reason.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def guarded_protocol(per_address: int | None) -> type[H11Protocol]:
    """uvicorn's HTTP/1.1 protocol (h11) for one page, closing a connection that has not sent a
    whole request head within HEAD_SECONDS of its start or of its last answer (one sending
    nothing, or its head a few bytes at a time), and one from a client address that already
    holds `per_address` (None: no limit)."""
    held: Counter[str] = Counter()  # client address -> connections open, this page's

    class GuardedProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _address: str | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if per_address is not None:
                self._address = self.client[0] if self.client else ""
                held[self._address] += 1
                if held[self._address] > per_address:
                    self.transport.abort()
                    return
            self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            if self._address is not None:
                held[self._address] -= 1
                if held[self._address] <= 0:
                    del held[self._address]
                self._address = None
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()

        def _await_head(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_due)

        def _head_due(self) -> None:
            """No request since the timer started (h11 still waits for a head): closed."""
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                with contextlib.suppress(h11.LocalProtocolError):
                    self.conn.send(h11.ConnectionClosed())
                self.transport.close()

    return GuardedProtocol
