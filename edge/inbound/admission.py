"""Which commands from the network are let in: each message at most once, not too fast, not
expired, not expiring too far ahead.

The rate is a token bucket (`commands.rate_per_second`, `commands.burst`): a message over it
waits its turn (edge.inbound.commands). Message ids are checked against the ids seen (kept in
the ledger a week past their expiry, loaded at start: inventory.ledger.command_log) and
remembered through the ledger's writer before the command runs. A copy is told as one before
its expiry is looked at: the broker may hand a message over again after its expiry, and it was
carried out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inventory.ledger.command_log import forgotten_before
from inventory.ledger.commit import iso

PRUNE_FROM = 10_000  # ids remembered in memory before those past remembering are dropped


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
        self._prune_at = PRUNE_FROM

    def load(self, seen: dict[str, str]) -> None:
        """The message ids the ledger remembers (id -> expiry, ISO 8601)."""
        self.seen = {mid: _parse(at) for mid, at in seen.items()}

    def check(self, message_id: str, expires_at: datetime, now: datetime) -> str | None:
        """Why the message may not run (seen before, expired, expiring too far ahead), or None;
        a message let in is remembered."""
        if len(self.seen) > self._prune_at:
            after = forgotten_before(now)
            self.seen = {mid: at for mid, at in self.seen.items() if at > after}
            self._prune_at = max(PRUNE_FROM, 2 * len(self.seen))
        if message_id in self.seen:
            return f"message {message_id} was received before; a replay is not carried out"
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
        self.seen[message_id] = expires_at
        return None


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
