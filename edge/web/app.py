"""The page as an ASGI application: every view's routes, the event stream, the page's own
script and style (served from the package, nothing from another host), and what runs beside
it (the live feed, the periodic ledger check)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from edge.web.accounts import AccountError
from edge.web.badge_login import BadgeWatch
from edge.web.commands import CommandSender
from edge.web.live import LiveFeed
from edge.web.pages import (
    DataRoute,
    DrawnAfter,
    SecurityHeaders,
    UntrustedProxy,
    refuse,
    state_of,
)
from edge.web.request_limits import BodyLimit
from edge.web.state import WebState
from edge.web.views import (
    alarms,
    badge,
    deliveries,
    expiring,
    find,
    health,
    login,
    picks,
    procurement,
    shelves,
    stocktake,
    write_off,
)
from inventory.errors import StoreError
from inventory.ledger.store import check_file

log = logging.getLogger(__name__)
LEDGER_CHECK_SECONDS = 3600.0
STREAM_RETRY_SECONDS = 10  # Retry-After of a stream refused for the limit


class _AdmittedStream(StreamingResponse):
    """A browser's event stream, counted as open (LiveFeed.admit) until it ends, also when it
    ends before its first byte is sent."""

    def __init__(self, live: LiveFeed, address: str):
        super().__init__(
            live.stream(),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},  # a reverse proxy must not hold events back
        )
        self._live, self._address = live, address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._live.release(self._address)


async def events(request: Request) -> Response:
    """Server-Sent Events: lights as they change, and nudges to fetch the page's live parts.
    Beyond the streams the page holds open (in all, and per client address): 503 with
    Retry-After, and the page's script opens its stream again later."""
    live = state_of(request).live
    address = request.client.host if request.client else ""
    if not live.admit(address):
        return PlainTextResponse(
            "the page serves as many live streams as it may now; the page tries again by itself",
            503,
            headers={"retry-after": str(STREAM_RETRY_SECONDS)},
        )
    return _AdmittedStream(live, address)


async def unreadable_ledger(request: Request, exc: Exception) -> Response:
    """A view while the ledger cannot be read (moved aside, being restored, damaged)."""
    return refuse(
        request,
        503,
        f"the ledger cannot be read now ({exc}). If it is being restored or was moved aside, "
        "start the daemon again (rxedge run): this page reads the new file by itself",
    )


async def unreadable_accounts(request: Request, exc: Exception) -> Response:
    """A view of a logged-in browser, or a login, while the accounts file cannot be read (edited
    by hand and left wrong, or not readable to the page): which file, and the fix; logged once."""
    state = state_of(request)
    if state.accounts_problem != str(exc):
        state.accounts_problem = str(exc)
        log.error("web: %s", exc)
    request.state.accounts_unreadable = True  # the refusal itself asks no more of the file
    return refuse(request, 503, f"nobody can log in or act now: {exc}")


def build_app(state: WebState) -> Starlette:
    """The page for `state` (its live feed starts and stops with the application)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await state.live.start()
        assert state.live.session is not None
        state.sender = CommandSender(state.live.session, state.live.topics.command)
        state.live.on_result = state.sender.on_result
        checking = asyncio.create_task(_check_ledger(state), name="ledger check")
        badges = BadgeWatch(state.badge_logins, state.config.badges.reader)
        if state.config.badges.enabled:
            badges.start()
        try:
            yield
        finally:
            await badges.stop()
            checking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checking
            await state.live.stop()

    routes = [
        *shelves.routes,
        *picks.routes,
        *deliveries.routes,
        *alarms.routes,
        *find.routes,
        *expiring.routes,
        *write_off.routes,
        *stocktake.routes,
        *procurement.routes,
        *health.routes,
        *login.routes,
        *badge.routes,
        DataRoute("/events", events),
        Mount("/static", StaticFiles(packages=[("edge.web", "static")]), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit),  # before any view reads a form, logged in or not
            Middleware(DrawnAfter, state=state),
            *([] if state.config.web.behind_proxy else [Middleware(UntrustedProxy, state=state)]),
        ],
        exception_handlers={
            StoreError: unreadable_ledger,
            sqlite3.Error: unreadable_ledger,
            AccountError: unreadable_accounts,
        },
        lifespan=lifespan,
    )
    app.state.web = state
    return app


async def _check_ledger(state: WebState) -> None:
    """`PRAGMA quick_check` of the ledger on a connection of its own, now and then hourly."""
    while True:
        try:
            verdict = await to_thread.run_sync(lambda: check_file(state.reader.path, "quick_check"))
        except StoreError as exc:  # no file there now: said, and checked again in an hour
            verdict = str(exc)
        state.ledger_check.verdict, state.ledger_check.at = verdict, state.clock.time()
        await asyncio.sleep(LEDGER_CHECK_SECONDS)
