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
# Sessions nobody has logged in to (every browser's first request makes one): beyond this the
# least recently used of them are forgotten, so a flood of visits pushes out only its own kind.
MAX_ANONYMOUS = 10_000
# Logged-in sessions, made only by a login: far more than a pharmacy's staff ever hold. They end
# by their idle time (the expired ones go first once this is reached), never for anonymous ones.
MAX_LOGGED_IN = 10_000
MAX_LIMITED_KEYS = 10_000  # accounts and addresses with failed logins, before idle ones go
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
    """Session ids -> sessions; an id unused for `idle_seconds` is gone. Anonymous sessions and
    logged-in ones are kept apart, each with its own limit (`max_anonymous`, `max_logged_in`):
    however many sessions requests without a cookie make, nobody's login is forgotten for them."""

    def __init__(
        self,
        idle_seconds: float,
        clock: Callable[[], float],
        max_anonymous: int = MAX_ANONYMOUS,
        max_logged_in: int = MAX_LOGGED_IN,
    ):
        self.idle_seconds = idle_seconds
        self._clock = clock  # monotonic seconds
        self.max_anonymous = max_anonymous
        self.max_logged_in = max_logged_in
        self._anonymous: OrderedDict[str, Session] = OrderedDict()  # least recently used first
        self._logged_in: dict[str, Session] = {}
        # Sessions a login replaced lately: id -> (their login form's token, when).
        self._replaced: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def find(self, sid: str | None, used: bool = True) -> Session | None:
        """The live session with this id, or None; `used` (someone at the screen, not the
        page refreshing itself) restarts its idle clock."""
        if not sid:
            return None
        pool = self._logged_in if sid in self._logged_in else self._anonymous
        session = pool.get(sid)
        now = self._clock()
        if session is None or now - session.seen > self.idle_seconds:
            pool.pop(sid, None)
            return None
        if used:
            session.seen = now
            if pool is self._anonymous:
                self._anonymous.move_to_end(sid)
        return session

    def new(self) -> Session:
        """A session nobody is logged in to."""
        session = self._fresh()
        self._anonymous[session.sid] = session
        while len(self._anonymous) > self.max_anonymous:
            self._anonymous.popitem(last=False)
        return session

    def _fresh(self) -> Session:
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32))
        session.seen = self._clock()
        return session

    def log_in(self, old: Session, account: Account) -> Session:
        """A fresh session (new id and token: a planted id is worth nothing) for `account`."""
        self.end(old)
        form = (old.csrf, self._clock())  # the login form's token, and when it logged in
        self._replaced[old.sid] = form
        while len(self._replaced) > self.max_logged_in or (
            form[1] - next(iter(self._replaced.values()))[1] > REPEATED_LOGIN_SECONDS
        ):
            self._replaced.popitem(last=False)
        session = self._fresh()
        session.account, session.login_form = account, form
        self._logged_in[session.sid] = session
        if len(self._logged_in) > self.max_logged_in:
            self._forget_logins(session.seen)
        return session

    def _forget_logins(self, now: float) -> None:
        """Down to `max_logged_in`: the idle logins go, then the least recently used."""
        for sid in [s.sid for s in self._logged_in.values() if now - s.seen > self.idle_seconds]:
            del self._logged_in[sid]
        while len(self._logged_in) > self.max_logged_in:
            del self._logged_in[min(self._logged_in.values(), key=lambda s: s.seen).sid]

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
        self._anonymous.pop(session.sid, None)
        self._logged_in.pop(session.sid, None)

    def end_all_of(self, user: str) -> None:
        logins = self._logged_in
        for sid in [s.sid for s in logins.values() if s.account and s.account.user == user]:
            del logins[sid]


def csrf_ok(session: Session | str | None, token: str | None) -> bool:
    """Whether a form's token is its session's (or the token given)."""
    expected = session.csrf if isinstance(session, Session) else session
    if expected is None or token is None:
        return False
    # As bytes: compare_digest refuses a str with anything but ASCII in it (a forged token).
    sent = token.encode("utf-8", "surrogatepass")
    return hmac.compare_digest(expected.encode(), sent)


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
            if len(self._failed) > MAX_LIMITED_KEYS:
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
