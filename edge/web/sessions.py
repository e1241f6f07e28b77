"""Browser sessions, kept in the page's memory: a random id in an HttpOnly cookie, a CSRF token
per session for every form, the account once logged in, an idle timeout; and the limit on
failed logins per account and per client address."""

from __future__ import annotations

import hmac
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from edge.web.accounts import Account

COOKIE = "rxedge_session"
MAX_SESSIONS = 10_000  # the oldest are forgotten beyond this (a flood of anonymous visits)


@dataclass(slots=True)
class Session:
    sid: str
    csrf: str
    account: Account | None = None
    seen: float = 0.0  # monotonic seconds, set by `Sessions`
    flash: list[str] = field(default_factory=list)  # notes shown once, on the next page


class Sessions:
    """Session ids -> sessions; an id unused for `idle_seconds` is gone."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float]):
        self.idle_seconds = idle_seconds
        self._clock = clock  # monotonic seconds
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def find(self, sid: str | None, used: bool = True) -> Session | None:
        """The live session with this id, or None; `used` (someone at the screen, not the
        page refreshing itself) restarts its idle clock."""
        if not sid:
            return None
        session = self._by_id.get(sid)
        now = self._clock()
        if session is None or now - session.seen > self.idle_seconds:
            self._by_id.pop(sid, None)
            return None
        if used:
            session.seen = now
            self._by_id.move_to_end(sid)
        return session

    def new(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        session.seen = self._clock()
        self._by_id[session.sid] = session
        while len(self._by_id) > MAX_SESSIONS:
            self._by_id.popitem(last=False)
        return session

    def log_in(self, old: Session, account: Account) -> Session:
        """A fresh session (new id and token: a planted id is worth nothing) for `account`."""
        self._by_id.pop(old.sid, None)
        session = self.new()
        session.account = account
        return session

    def end(self, session: Session) -> None:
        self._by_id.pop(session.sid, None)

    def end_all_of(self, user: str) -> None:
        for sid in [s.sid for s in self._by_id.values() if s.account and s.account.user == user]:
            del self._by_id[sid]


def csrf_ok(session: Session | None, token: str | None) -> bool:
    """Whether a form's token is its session's."""
    return session is not None and token is not None and hmac.compare_digest(session.csrf, token)


class LoginLimiter:
    """At most `failures` failed logins per account and per client address in `window` s."""

    def __init__(self, failures: int, window: float, clock: Callable[[], float]):
        self._clock = clock  # monotonic seconds
        self.failures = failures
        self.window = window
        self._failed: dict[str, deque[float]] = {}

    def attempt(self, *keys: str) -> float:
        """0 when a login may be tried now: the attempt is then counted as failed at once,
        until `succeeded` takes it back, so that guesses sent together cannot all pass before
        the first of them has failed. Otherwise how long until one may (nothing counted)."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            seen = self._failed.get(key)
            while seen and now - seen[0] > self.window:
                seen.popleft()
            if seen and len(seen) >= self.failures:
                wait = max(wait, self.window - (now - seen[0]))
        if wait == 0:
            for key in keys:
                self._failed.setdefault(key, deque()).append(now)
            if len(self._failed) > MAX_SESSIONS:
                self._forget_idle(now)
        return wait

    def succeeded(self, user_key: str, address_key: str | None = None) -> None:
        """The attempt was a login: the account's failures are forgotten, and the address
        is charged for its failures only."""
        self._failed.pop(user_key, None)
        seen = self._failed.get(address_key) if address_key is not None else None
        if seen:
            seen.pop()

    def _forget_idle(self, now: float) -> None:
        """Forget the accounts and addresses that stopped trying."""
        for key in [k for k, v in self._failed.items() if not v or now - v[-1] > self.window]:
            del self._failed[key]
