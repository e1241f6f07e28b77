"""Logging in by a badge tap: a browser asks (the login page's "Log in with your badge"), and
the next badge put on the gateway's reader within `web.badge_login_seconds` logs that browser
in as the badge's holder.

The page watches the PC/SC readers itself (through pcscd, which serves the daemon and the page
alike), so a tap never leaves the box. A tap counts only when exactly one browser is waiting:
with two waiting, nobody is logged in and both are told, so a screen elsewhere cannot quietly
take a tap meant for the one beside the reader. A badge already on the reader when a browser
asks is not a tap. Only browsers at `web.badge_login_from` may ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.events import BadgePresented, DriverEvent
from drivers.pcsc.badge_reader import BadgeReaders
from edge.web.accounts import Account, AccountError, Accounts

log = logging.getLogger(__name__)
AMBIGUOUS = (
    "more than one screen was waiting for a badge, so the tap logged in nobody; "
    "ask again on one screen"
)
UNKNOWN = "this badge belongs to no account; `rxedge web add-user ... --badge UID` adds it"


class BadgeLoginRefused(Exception):
    """No login from this wait; the message says why, for the person at the screen."""


@dataclass(slots=True)
class _Waiting:
    since: float  # monotonic seconds
    answer: asyncio.Future[Account] = field(default_factory=asyncio.Future)


class BadgeLogins:
    """Browsers (by session id) waiting for a badge tap, and the taps."""

    def __init__(self, accounts: Accounts, window: float, clock: Callable[[], float]):
        self._accounts = accounts
        self.window = window
        self._clock = clock  # monotonic seconds
        self._waiting: dict[str, _Waiting] = {}

    def ask(self, sid: str) -> None:
        """The browser of session `sid` waits for the next tap (again, if it was waiting)."""
        now = self._clock()
        for old in [s for s, w in self._waiting.items() if now - w.since > 2 * self.window]:
            self._end(self._waiting.pop(old), "the wait for a badge ended; ask again")
        if sid in self._waiting:
            self._end(self._waiting.pop(sid), "this screen asked again")
        self._waiting[sid] = _Waiting(now)

    def waiting(self, sid: str) -> bool:
        return sid in self._pending()

    async def wait(self, sid: str) -> Account:
        """The account whose badge was tapped for session `sid` (BadgeLoginRefused if none
        within the window, or the tap could not be told apart)."""
        found = self._waiting.get(sid)
        if found is None:
            raise BadgeLoginRefused("this screen is not waiting for a badge; ask again")
        left = self.window - (self._clock() - found.since)
        try:
            return await asyncio.wait_for(asyncio.shield(found.answer), max(left, 0.0))
        except TimeoutError:
            raise BadgeLoginRefused(
                f"no badge was tapped within {self.window:.0f} s; ask again"
            ) from None
        finally:
            if self._waiting.get(sid) is found:
                del self._waiting[sid]  # one answer per asking

    def tapped(self, uid: str, reader: str) -> None:
        """A badge was put on `reader`: it logs in the one browser waiting, if exactly one is."""
        pending = self._pending()
        if len(pending) > 1:
            log.warning(
                "badge tapped on %s while %d screens waited: none logged in", reader, len(pending)
            )
            for waiting in pending.values():
                self._end(waiting, AMBIGUOUS)
            return
        for waiting in pending.values():
            try:
                account = self._accounts.for_badge(uid)
            except AccountError as exc:
                log.error("a badge tapped on %s logged in nobody: %s", reader, exc)
                self._end(waiting, f"nobody can log in now: {exc}")
                continue
            if account is None:
                log.warning("an unknown badge %s was tapped on %s to log in", uid, reader)
                self._end(waiting, UNKNOWN)
            else:
                log.info("%s logged in to the page by a badge tap on %s", account.user, reader)
                waiting.answer.set_result(account)

    def _pending(self) -> dict[str, _Waiting]:
        """The browsers waiting now (asked within the window, not answered yet)."""
        now = self._clock()
        return {
            sid: w
            for sid, w in self._waiting.items()
            if not w.answer.done() and now - w.since < self.window
        }

    @staticmethod
    def _end(waiting: _Waiting, why: str) -> None:
        if not waiting.answer.done():
            waiting.answer.set_exception(BadgeLoginRefused(why))
            waiting.answer.exception()  # told to whoever waits; nobody may be waiting any more


class BadgeWatch:
    """The PC/SC readers named like [badges] reader, watched while the page runs."""

    def __init__(self, logins: BadgeLogins, reader_filter: str):
        self._logins = logins
        self._readers = BadgeReaders(self._on_event, reader_filter, device_name="page badges")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._readers.run(), name="badge readers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_event(self, event: DriverEvent) -> None:
        if isinstance(event, BadgePresented):
            self._logins.tapped(event.uid, event.reader)
