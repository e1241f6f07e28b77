"""Alarms that come from time passing rather than from a change: the expiry sweep (at start and
daily at `alarms.expiry_sweep_at`, site time: once each site day, DST nights included) and the
sync backlog (messages waiting in the outbox beyond `alarms.backlog_messages`, or older than
`alarms.backlog_age_seconds`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from functools import partial
from typing import Any, TypeVar

from edge.daemon.changes import Change
from edge.settings.config import AlarmsConfig
from inventory.alarms.lifecycle import AlarmKind
from inventory.keeper import Commit, InventoryKeeper
from inventory.site_calendar import SiteCalendar
from inventory.stock.expiry import expiry_sweep

log = logging.getLogger(__name__)
T = TypeVar("T")
Ask = Callable[[Callable[[InventoryKeeper], T]], Awaitable[T]]
BACKLOG_CHECK_SECONDS = 10.0
# The sweep's wait looks at the wall clock at least this often: a clock set forward or back
# (NTP after a cold boot) moves the sweep with it.
SWEEP_WAKE_SECONDS = 60.0
Sleep = Callable[[float], Awaitable[None]]


async def expiry_sweeps(
    submit: Callable[[Change], None],
    config: AlarmsConfig,
    calendar: SiteCalendar,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """The sweep at start, then once each site day at `expiry_sweep_at` site time."""
    days = config.near_expiry_days
    hour, minute = (int(part) for part in config.expiry_sweep_at.split(":"))
    at = time(hour, minute)
    while True:
        submit(lambda keeper: expiry_sweep(keeper, calendar.today(), days))
        due = calendar.next_daily(at, calendar.now())
        while (left := (due - calendar.now()).total_seconds()) > 0:
            await sleep(min(left, SWEEP_WAKE_SECONDS))


async def backlog_watch(
    ask: Ask[Any],
    submit: Callable[[Change], None],
    config: AlarmsConfig,
    counters: Counter[str],
) -> None:
    """Raise the sync backlog alarm while the outbox holds too much or too old, clear it after."""
    raised: bool | None = None  # unknown at start: a raised alarm may be live from before
    bound = config.outbox_max_messages
    while True:
        dropped = await ask(lambda keeper: _trim(keeper, bound))
        if dropped:
            log.warning(
                "outbox over %d messages: %d event or answer messages dropped", bound, dropped
            )
            counters["outbox_dropped"] += dropped
        depth, oldest = await ask(lambda keeper: (keeper.outbox.depth(), keeper.outbox.oldest()))
        age = 0.0
        if oldest is not None:
            age = (datetime.now(UTC) - datetime.fromisoformat(oldest)).total_seconds()
        behind = depth > config.backlog_messages or age > config.backlog_age_seconds
        if behind and raised is not True:
            detail: dict[str, object] = {"waiting": depth, "oldest_seconds": round(age)}
            submit(partial(_raise, detail))
        elif not behind and raised is not False:
            submit(lambda keeper: keeper.clear_alarm(AlarmKind.SYNC_BACKLOG, "outbox"))
        raised = behind
        await asyncio.sleep(BACKLOG_CHECK_SECONDS)


def _trim(keeper: InventoryKeeper, bound: int) -> int:
    with keeper.group():
        return keeper.outbox.trim(bound)


def _raise(detail: dict[str, object], keeper: InventoryKeeper) -> Commit:
    return keeper.raise_alarm(AlarmKind.SYNC_BACKLOG, "outbox", detail)
