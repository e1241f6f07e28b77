"""Alarms that come from time passing rather than from a change: the expiry sweep (at start and
daily at `alarms.expiry_sweep_at`, local time), the sync backlog (messages waiting in the
outbox beyond `alarms.backlog_messages`, or older than `alarms.backlog_age_seconds`), and
devices that stayed down (`devices.down_alarm_seconds`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from edge.clock import Clock
from edge.daemon.device_health import DeviceHealth
from edge.settings.config import AlarmsConfig
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import Change, ClearAlarm, ExpirySweep, RaiseAlarm
from inventory.keeper import InventoryKeeper

log = logging.getLogger(__name__)
T = TypeVar("T")
Submit = Callable[[Change], Awaitable[None]]
BACKLOG_CHECK_SECONDS = 10.0


class Ask(Protocol):
    """Runs a question on the ledger's writer."""

    def __call__(self, question: Callable[[InventoryKeeper], T]) -> Awaitable[T]: ...


def seconds_until(at: str, now: datetime) -> float:
    """Seconds from `now` (local, aware) to the next `at` (HH:MM, local time)."""
    hour, minute = (int(part) for part in at.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= now:
        target += timedelta(days=1)
    return (target - now).total_seconds()


async def expiry_sweeps(submit: Submit, config: AlarmsConfig, clock: Clock) -> None:
    """The sweep at start, then every day at its time."""
    while True:
        await submit(ExpirySweep(config.near_expiry_days))
        await asyncio.sleep(seconds_until(config.expiry_sweep_at, clock.local_now()))


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
        for device in health.due(clock.monotonic()):
            reason = health.reasons.get(device, "")
            detail: dict[str, object] = {"device": device, "reason": reason}
            await submit(RaiseAlarm(AlarmKind.DEVICE_DOWN, device, detail))


def _trim(bound: int, keeper: InventoryKeeper) -> int:
    with keeper.group():
        return keeper.outbox.trim(bound)


def _outbox_backlog(keeper: InventoryKeeper) -> tuple[int, str | None]:
    return keeper.outbox.depth(), keeper.outbox.oldest()
