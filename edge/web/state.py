"""Everything one running page holds: the gateway's config, the accounts and sessions, the
ledger reader, the live feed and the command sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from edge.clock import Clock
from edge.settings.config import GatewayConfig
from edge.web.accounts import Accounts
from edge.web.badge_login import BadgeLogins
from edge.web.commands import CommandRefused, CommandSender
from edge.web.live import LiveFeed
from edge.web.reading import LedgerReader
from edge.web.sessions import LoginLimiter, Sessions
from edge.web.shared_parts import SharedParts
from inventory.site_calendar import SiteCalendar, configured_zone_problems


@dataclass(slots=True)
class LedgerCheck:
    """The page's last `quick_check` of the ledger file: its verdict and when (epoch s)."""

    verdict: str = "not yet"
    at: float | None = None


@dataclass(slots=True)
class WebState:
    config: GatewayConfig
    accounts: Accounts
    reader: LedgerReader
    live: LiveFeed
    sender: CommandSender | None = None
    clock: Clock = field(default_factory=Clock)  # the page's one clock
    sessions: Sessions = field(init=False)
    limiter: LoginLimiter = field(init=False)
    parts: SharedParts = field(init=False)  # live parts rendered once per change
    badge_logins: BadgeLogins = field(init=False)
    names: dict[str, str] = field(init=False)  # GTIN -> product name
    slots: frozenset[str] = field(init=False)  # every slot of the configured shelves
    calendar: SiteCalendar = field(init=False)
    zone_problems: list[str] = field(init=False)  # why the machine's zone is not what it seems
    started: float = field(init=False)
    ledger_check: LedgerCheck = field(default_factory=LedgerCheck)
    untrusted_proxy: bool = False  # a request came through a proxy web.behind_proxy ignores
    accounts_problem: str = ""  # why the accounts file could not be read, as last logged

    def __post_init__(self) -> None:
        web = self.config.web
        tick = self.clock.monotonic
        self.sessions = Sessions(web.session_minutes * 60.0, tick)
        self.limiter = LoginLimiter(web.login_failures, web.login_window_seconds, tick)
        self.parts = SharedParts()
        self.badge_logins = BadgeLogins(self.accounts, web.badge_login_seconds, tick)
        self.started = self.clock.time()
        self.names = {p.gtin: p.name for p in self.config.products}
        self.calendar = SiteCalendar.named(self.config.timezone, self.clock.now)
        # `timezone` left empty: the machine's zone, which a POSIX $TZ leaves UTC (Health says so)
        self.zone_problems = configured_zone_problems(self.config.timezone)
        self.live.today = self.today  # a new site day refreshes what every page shows
        self.slots = frozenset(s for shelf in self.config.shelves for s in shelf.slot_names())

    async def command(
        self,
        name: str,
        body: dict[str, Any],
        answer_id: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        """Send a command to the gateway (as message `message_id`: the form's one-time id,
        when it has one) and return its answer (CommandRefused if none)."""
        if self.sender is None:
            raise CommandRefused("the page is still connecting to the gateway's broker")
        return await self.sender.send(name, body, answer_id, message_id)

    def today(self) -> date:
        """The site's date (its `timezone`): expiry is judged by it, as the daemon does."""
        return self.calendar.today()
