"""Alarms that come from time passing rather than from a change: the expiry sweep (at start and
daily at `alarms.expiry_sweep_at`, site time: once each site day, DST nights included; never
while the wall clock reads earlier than the ledger's newest stamp, `clock_behind`, unless a
person has acknowledged that alarm), the sync backlog (messages waiting in the
outbox beyond `alarms.backlog_messages`, or older than `alarms.backlog_age_seconds`, an age
measured on the monotonic clock), devices that stayed down (`devices.down_alarm_seconds`), and
the link to the broker while another client takes the gateway's session over."""

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
from edge.daemon.ledger_questions import newest_stamp
from edge.settings.config import AlarmsConfig
from edge.settings.device_names import BROKER_LINK
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import Change, ClearAlarm, ExpirySweep, RaiseAlarm
from inventory.keeper import InventoryKeeper
from inventory.ledger.commit import iso
from inventory.site_calendar import SiteCalendar
from sync.broker_refusal import CONFIG_SETTINGS, SessionTakeover

log = logging.getLogger(__name__)
T = TypeVar("T")
Submit = Callable[[Change], Awaitable[None]]
BACKLOG_CHECK_SECONDS = 10.0  # at most; a quarter of `backlog_age_seconds` when shorter
# The sweep's wait looks at the wall clock at least this often: a clock set forward or back
# (NTP after a cold boot) moves the sweep with it.
SWEEP_WAKE_SECONDS = 60.0
# The wait for the clock to pass the ledger's newest stamp looks this often whether a person
# has acknowledged `clock_behind` meanwhile (the clock is right, they say).
CLOCK_WAKE_SECONDS = 5.0
CLOCK_SUBJECT = "wall_clock"  # the subject of the clock_behind alarm
HELD_CHECK_SECONDS = 1.0  # how often a link that held is looked at, whether it is gone
Sleep = Callable[[float], Awaitable[None]]


class Ask(Protocol):
    """Runs a question on the ledger's writer."""

    def __call__(self, question: Callable[[InventoryKeeper], T]) -> Awaitable[T]: ...


async def expiry_sweeps(
    submit: Submit,
    config: AlarmsConfig,
    calendar: SiteCalendar,
    ask: Ask,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """The sweep at start, once the wall clock is not behind the ledger (`clock_set`), then
    once each site day at `expiry_sweep_at` site time, the start's day counting as swept.
    The next sweep's time is worked out again at every wake, so a clock set forward or back
    moves it: set back before the day last swept (it was ahead), that day counts as not swept
    yet, and the sweep runs on each day the clock reads from then on, none skipped."""
    hour, minute = (int(part) for part in config.expiry_sweep_at.split(":"))
    at = time(hour, minute)
    await clock_set(submit, ask, calendar, await ask(newest_stamp), sleep)
    while True:
        swept = calendar.today()
        await submit(ExpirySweep(config.near_expiry_days))
        while True:
            swept = min(swept, calendar.today())
            left = (calendar.next_daily(at, swept) - calendar.now()).total_seconds()
            if left <= 0:
                break
            await sleep(min(left, SWEEP_WAKE_SECONDS))


async def clock_set(
    submit: Submit, ask: Ask, calendar: SiteCalendar, newest: datetime | None, sleep: Sleep
) -> None:
    """Return once the wall clock reads `newest` (the ledger's newest stamp when it was
    opened) or later, or once a person has acknowledged the `clock_behind` alarm. A clock
    behind that stamp is wrong, or the stamp is: a box without a real-time clock that started
    at its last shutdown's time, before NTP set it; or a run whose clock was ahead (by days,
    weeks) wrote stamps in the future. A sweep on a wrong date would clear an expired alarm
    (its acknowledgement lost) and let expired packs be picked, so meanwhile the alarm is
    live and no sweep runs. Whoever has checked the clock (`date`, `timedatectl`) ends the
    wait by acknowledging the alarm: the clock is taken as right, and the sweep runs."""
    now = calendar.now()
    if newest is not None and now < newest:
        log.warning(
            "the clock reads %s, earlier than the newest stamp in the ledger (%s): one of them "
            "is wrong; the expiry sweep waits until the clock has passed that stamp (is NTP "
            "reachable?), or until the clock_behind alarm is acknowledged (the clock is right)",
            iso(now),
            iso(newest),
        )
        detail: dict[str, object] = {"clock": iso(now), "newest_stamp": iso(newest)}
        await submit(RaiseAlarm(AlarmKind.CLOCK_BEHIND, CLOCK_SUBJECT, detail))
        while (left := (newest - calendar.now()).total_seconds()) > 0:
            if (by := await ask(_clock_vouched_by)) is not None:
                log.warning(
                    "%s acknowledged clock_behind: the clock, reading %s, is taken as right "
                    "(the ledger's newest stamp, %s, as written by a clock that was ahead); "
                    "the expiry sweep runs",
                    by,
                    iso(calendar.now()),
                    iso(newest),
                )
                break
            await sleep(min(left, CLOCK_WAKE_SECONDS))
        else:
            log.info("the clock now reads %s, past the ledger's newest stamp", iso(calendar.now()))
    await submit(ClearAlarm(AlarmKind.CLOCK_BEHIND, CLOCK_SUBJECT))  # live from a run before


def _clock_vouched_by(keeper: InventoryKeeper) -> str | None:
    """Who acknowledged the live `clock_behind` alarm, or None."""
    alarm = keeper.alarms.get(AlarmKind.CLOCK_BEHIND, CLOCK_SUBJECT)
    return alarm.acknowledged_by if alarm is not None else None


class WaitingAge:
    """How long the oldest waiting message has waited, measured so that a step of the wall
    clock (NTP after a cold boot) neither raises a false backlog alarm nor hides a real one.

    A message written while the daemon runs is dated by the check that first saw its id (ids
    only grow), on the monotonic clock: at most one check late. One written before this run
    started is dated by its stamp against the wall clock read once, at the first check."""

    def __init__(self, clock: Clock):
        self._clock = clock
        self._seen: list[tuple[int, float]] = []  # (newest id, monotonic time it was seen)
        self._start: tuple[int, datetime, float] | None = None  # newest id, wall, monotonic

    def age(self, oldest: tuple[int, str] | None, newest_id: int) -> float:
        """Seconds the oldest waiting message (its id and stamp; None: none) has waited."""
        now = self._clock.monotonic()
        if self._start is None:
            self._start = (newest_id, self._clock.now(), now)
        if newest_id > (self._seen[-1][0] if self._seen else self._start[0]):
            self._seen.append((newest_id, now))
        if oldest is None:
            return 0.0
        oldest_id, stamp = oldest
        while self._seen and self._seen[0][0] < oldest_id:
            self._seen.pop(0)  # every message those checks first saw has gone
        start_id, start_wall, start_mono = self._start
        if oldest_id <= start_id:
            waited = (start_wall - datetime.fromisoformat(stamp)).total_seconds()
            return max(0.0, waited) + now - start_mono
        return now - self._seen[0][1] if self._seen else 0.0


async def backlog_watch(
    ask: Ask,
    submit: Submit,
    config: AlarmsConfig,
    counters: Counter[str],
    clock: Clock,
    measured: Callable[[float], None] = lambda _age: None,
) -> None:
    """Raise the sync backlog alarm while the outbox holds too much or too old, clear it after;
    each check's age of the oldest waiting message is handed to `measured` (the metrics)."""
    raised: bool | None = None  # unknown at start: a raised alarm may be live from before
    bound = config.outbox_max_messages
    waiting_age = WaitingAge(clock)
    every = min(BACKLOG_CHECK_SECONDS, config.backlog_age_seconds / 4)
    while True:
        dropped = await ask(partial(_trim, bound))
        if dropped:
            log.warning(
                "outbox over %d messages: %d event or answer messages dropped", bound, dropped
            )
            counters["outbox_dropped"] += dropped
        depth, oldest, newest_id = await ask(_outbox_backlog)
        age = waiting_age.age(oldest, newest_id)
        measured(age)
        behind = depth > config.backlog_messages or age > config.backlog_age_seconds
        if behind and raised is not True:
            detail: dict[str, object] = {"waiting": depth, "oldest_seconds": round(age)}
            await submit(RaiseAlarm(AlarmKind.SYNC_BACKLOG, "outbox", detail))
        elif not behind and raised is not False:
            await submit(ClearAlarm(AlarmKind.SYNC_BACKLOG, "outbox"))
        raised = behind
        counters["backlog_checks"] += 1
        await asyncio.sleep(every)


async def device_alarms(health: DeviceHealth, submit: Submit, clock: Clock) -> None:
    """Raise `device_down` for each device that stayed down for the configured time, or kept
    dropping; clear it for each that has stayed up long enough after its drops."""
    while True:
        await asyncio.sleep(min(1.0, max(health.alarm_after / 4, 0.05)))
        now = clock.monotonic()
        for device, detail in health.due(now):
            await submit(RaiseAlarm(AlarmKind.DEVICE_DOWN, device, detail))
        for device in health.settled(now):
            await submit(ClearAlarm(AlarmKind.DEVICE_DOWN, device))


def _trim(bound: int, keeper: InventoryKeeper) -> int:
    with keeper.group():
        return keeper.outbox.trim(bound)


def _outbox_backlog(keeper: InventoryKeeper) -> tuple[int, tuple[int, str] | None, int]:
    outbox = keeper.outbox
    return outbox.depth(), outbox.waiting_since(), outbox.newest_id()


async def broker_link_alarms(
    takeover: SessionTakeover, submit: Submit, alarmed: bool, held: Callable[[], None]
) -> None:
    """Raise `device_down` for the link to the broker (device BROKER_LINK) while another client
    takes the gateway's session over, its reason naming the client id and the fix; clear it
    once the session has held again. `alarmed`: the ledger holds it live from before a start.
    `held` is called each time a link has held as the gateway's alone, the first after the
    start included."""
    while True:
        await _either(takeover.taken_over, takeover.held)
        if takeover.taken_over.is_set():
            if not alarmed:
                detail: dict[str, object] = {
                    "device": BROKER_LINK,
                    "reason": takeover.message(CONFIG_SETTINGS),
                    "client_id": takeover.client_id,
                }
                await submit(RaiseAlarm(AlarmKind.DEVICE_DOWN, BROKER_LINK, detail))
                alarmed = True
            await takeover.held.wait()
            continue
        if alarmed:
            await submit(ClearAlarm(AlarmKind.DEVICE_DOWN, BROKER_LINK))
            alarmed = False
        held()
        while takeover.held.is_set():  # until this link goes
            await asyncio.sleep(HELD_CHECK_SECONDS)


async def _either(*events: asyncio.Event) -> None:
    """Return once one of `events` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
