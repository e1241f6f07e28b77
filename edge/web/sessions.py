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
# A login form sent again within this (tapped twice, the first answer not in yet) is the same.
REPEATED_LOGIN_SECONDS = 30.0


@dataclass(slots=True)
class Session:
    sid: str
    csrf: str
    account: Account | None = None
    seen: float = 0.0  # monotonic seconds, set by `Sessions`
    flash: list[str] = field(default_factory=list)  # notes shown once, on the next page
    # The login form's token this session was logged in by, and when (monotonic seconds).
    login_form: tuple[str, float] | None = None


class Sessions:
    """Session ids -> sessions; an id unused for `idle_seconds` is gone."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float]):
        self.idle_seconds = idle_seconds
        self._clock = clock  # monotonic seconds
        self._by_id: OrderedDict[str, Session] = OrderedDict()
        # Sessions a login replaced lately: id -> (their login form's token, when).
        self._replaced: OrderedDict[str, tuple[str, float]] = OrderedDict()

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
        form = (old.csrf, self._clock())  # the login form's token, and when it logged in
        self._replaced[old.sid] = form
        while len(self._replaced) > MAX_SESSIONS or (
            form[1] - next(iter(self._replaced.values()))[1] > REPEATED_LOGIN_SECONDS
        ):
            self._replaced.popitem(last=False)
        session = self.new()
        session.account, session.login_form = account, form
        return session

    def login_sent_again(self, session: Session, sid: str | None, token: str | None) -> bool:
        """Whether a login form is one that logged in within REPEATED_LOGIN_SECONDS, sent again
        (tapped twice): by a browser still holding the session that form was drawn in (`sid`,
        which the login replaced: the first answer had not arrived), or one already holding
        the login (`session`). Its token must be that form's, so no other page can send it."""
        now = self._clock()
        drawn = self._replaced.get(sid) if sid else None
        for form in (drawn, session.login_form):
            if (
                form is not None
                and now - form[1] <= REPEATED_LOGIN_SECONDS
                and csrf_ok(form[0], token)
            ):
                return True
        return False

    def end(self, session: Session) -> None:
        self._by_id.pop(session.sid, None)

    def end_all_of(self, user: str) -> None:
        for sid in [s.sid for s in self._by_id.values() if s.account and s.account.user == user]:
            del self._by_id[sid]


def csrf_ok(session: Session | str | None, token: str | None) -> bool:
    """Whether a form's token is its session's (or the token given)."""
    expected = session.csrf if isinstance(session, Session) else session
    return expected is not None and token is not None and hmac.compare_digest(expected, token)


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
