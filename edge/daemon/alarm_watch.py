"""Alarms that come from time passing rather than from a change: the expiry sweep (at start and
daily at `alarms.expiry_sweep_at`, site time: once each site day, DST nights included), the
sync backlog (messages waiting in the
outbox beyond `alarms.backlog_messages`, or older than `alarms.backlog_age_seconds`), and
devices that stayed down (`devices.down_alarm_seconds`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, time
from functools import partial
from typing import Protocol, TypeVar

from edge.clock import Clock
from edge.daemon.device_health import DeviceHealth
from edge.settings.config import AlarmsConfig
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import Change, ClearAlarm, ExpirySweep, RaiseAlarm
from inventory.keeper import InventoryKeeper
from inventory.site_calendar import SiteCalendar

log = logging.getLogger(__name__)
T = TypeVar("T")
Submit = Callable[[Change], Awaitable[None]]
BACKLOG_CHECK_SECONDS = 10.0
# The sweep's wait looks at the wall clock at least this often: a clock set forward or back
# (NTP after a cold boot) moves the sweep with it.
SWEEP_WAKE_SECONDS = 60.0
Sleep = Callable[[float], Awaitable[None]]


class Ask(Protocol):
    """Runs a question on the ledger's writer."""

    def __call__(self, question: Callable[[InventoryKeeper], T]) -> Awaitable[T]: ...


async def expiry_sweeps(
    submit: Submit, config: AlarmsConfig, calendar: SiteCalendar, sleep: Sleep = asyncio.sleep
) -> None:
    """The sweep at start, then once each site day at `expiry_sweep_at` site time."""
    hour, minute = (int(part) for part in config.expiry_sweep_at.split(":"))
    at = time(hour, minute)
    while True:
        await submit(ExpirySweep(config.near_expiry_days))
        due = calendar.next_daily(at, calendar.now())
        while (left := (due - calendar.now()).total_seconds()) > 0:
            await sleep(min(left, SWEEP_WAKE_SECONDS))


async def backlog_watch(
    ask: Ask,
    submit: Submit,
    config: AlarmsConfig,
    counters: Counter[str],
    clock: Clock,
) -> None:
    """Raise the sync backlog alarm while the outbox holds too much or too old, clear it after."""
    raised: bool | None = None  # unknown at start: a raised alarm may be live from before
    bound = config.outbox_max_messages
    while True:
        dropped = await ask(partial(_trim, bound))
        if dropped:
            log.warning(
                "outbox over %d messages: %d event or answer messages dropped", bound, dropped
            )
            counters["outbox_dropped"] += dropped
        depth, oldest = await ask(_outbox_backlog)
        age = 0.0
        if oldest is not None:
            age = (clock.now() - datetime.fromisoformat(oldest)).total_seconds()
        behind = depth > config.backlog_messages or age > config.backlog_age_seconds
        if behind and raised is not True:
            detail: dict[str, object] = {"waiting": depth, "oldest_seconds": round(age)}
            await submit(RaiseAlarm(AlarmKind.SYNC_BACKLOG, "outbox", detail))
        elif not behind and raised is not False:
            await submit(ClearAlarm(AlarmKind.SYNC_BACKLOG, "outbox"))
        raised = behind
        await asyncio.sleep(BACKLOG_CHECK_SECONDS)


async def device_alarms(health: DeviceHealth, submit: Submit, clock: Clock) -> None:
    """Raise `device_down` for each device that stayed down for the configured time."""
    while True:
        await asyncio.sleep(min(1.0, max(health.alarm_after / 4, 0.05)))
        for device, detail in health.due(clock.monotonic()):
            await submit(RaiseAlarm(AlarmKind.DEVICE_DOWN, device, detail))


def _trim(bound: int, keeper: InventoryKeeper) -> int:
    with keeper.group():
        return keeper.outbox.trim(bound)


def _outbox_backlog(keeper: InventoryKeeper) -> tuple[int, str | None]:
    return keeper.outbox.depth(), keeper.outbox.oldest()
