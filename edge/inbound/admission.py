"""Which commands from the network are let in: not too fast, not expired, not expiring too far
ahead, and each message at most once.

The rate is a token bucket (`commands.rate_per_second`, `commands.burst`): a message over it
waits its turn (edge.inbound.commands). Message ids are checked against the ids seen and not yet
expired (kept in the ledger, loaded at start) and remembered through the ledger's writer before
the command runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory.ledger.commit import iso


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _tokens: float = field(init=False)
    _at: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens, self._at = self.burst, self.clock()

    def take(self) -> bool:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class Admission:
    """The gate in front of the command handlers (on the event loop)."""

    def __init__(
        self,
        rate: float,
        burst: float,
        max_ahead: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.bucket = TokenBucket(rate, burst, clock)
        self.max_ahead = timedelta(seconds=max_ahead)
        self.seen: dict[str, datetime] = {}

    def load(self, seen: dict[str, str]) -> None:
        """The message ids the ledger remembers (id -> expiry, ISO 8601)."""
        self.seen = {mid: _parse(at) for mid, at in seen.items()}

    def check(self, message_id: str, expires_at: datetime, now: datetime) -> str | None:
        """Why the message may not run (expired, expiring too far ahead, seen before), or None;
        a message let in is remembered."""
        if len(self.seen) > 10_000:  # expired ids need not be remembered
            self.seen = {mid: at for mid, at in self.seen.items() if at > now}
        # Judged by this gateway's clock, which may be the one that is wrong (a box started
        # without a real-time clock, before NTP): both refusals say what it reads.
        gateway_time = f"this gateway's clock reads {iso(now)} (UTC)"
        if expires_at <= now:
            return (
                f"command expired at {expires_at.isoformat()}; not carried out: {gateway_time}. "
                "If it was sent just now, the gateway's clock may be wrong (ahead)"
            )
        if expires_at - now > self.max_ahead:
            return (
                f"command expires {expires_at.isoformat()}, more than "
                f"{self.max_ahead.total_seconds():.0f} s ahead; send a nearer expires_at: "
                f"{gateway_time}. If expires_at is near, the gateway's clock may be wrong "
                "(behind)"
            )
        if message_id in self.seen:
            return f"message {message_id} was received before; a replay is not carried out"
        self.seen[message_id] = expires_at
        return None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
