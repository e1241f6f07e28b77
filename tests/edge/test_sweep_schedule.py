"""The daemon's nightly expiry sweep runs at its set site time (02:00 here; midnight by
default), once each site day: on a European DST night with no 02:00 and on one with two of
them, it runs exactly once. A wall clock set back or forward moves the sweep with it: no site
day is skipped, none swept twice."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.daemon.alarm_watch import expiry_sweeps
from edge.settings.config import AlarmsConfig
from inventory.changes import ExpirySweep
from inventory.site_calendar import SiteCalendar

BERLIN = ZoneInfo("Europe/Berlin")


class Ended(Exception):
    """The simulated days are over."""


class NewLedger:
    """A ledger with nothing stamped yet: no clock is behind it."""

    newest_stamp = None


async def ask(question: Callable[[NewLedger], object]) -> object:
    return question(NewLedger())


async def sweeps_between(
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    at: str = "02:00",
    step: tuple[datetime, timedelta] | None = None,
) -> list[datetime]:
    """Run the daemon's sweep loop on an injected clock from `start` until it reads `end`:
    the instants (UTC, as the clock read them) at which it asked for a sweep. `step`: once
    the clock reads that instant, it is set by that much (as NTP sets it)."""
    now = [start]
    calendar = SiteCalendar(zone, lambda: now[0])
    asked: list[datetime] = []

    async def sleep(seconds: float) -> None:
        nonlocal step
        assert 0 < seconds <= 60.0
        now[0] += timedelta(seconds=seconds)
        if step is not None and now[0] >= step[0]:
            now[0] += step[1]
            step = None
        if now[0] >= end:
            raise Ended

    async def submit(change: object) -> None:
        if isinstance(change, ExpirySweep):
            asked.append(now[0])

    with pytest.raises(Ended):
        await expiry_sweeps(submit, AlarmsConfig(expiry_sweep_at=at), calendar, ask, sleep)
    return asked


@pytest.mark.parametrize(
    ("night", "expected"),
    [
        # Spring forward: 02:00 CET does not exist; it runs at 03:00 CEST (01:00 UTC).
        (date(2026, 3, 29), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # Fall back: 02:00 comes twice; it runs at the first (02:00 CEST, 00:00 UTC) only.
        (date(2026, 10, 25), datetime(2026, 10, 25, 0, 0, tzinfo=UTC)),
    ],
)
async def test_the_sweep_runs_once_on_a_dst_night(night: date, expected: datetime) -> None:
    start = datetime.combine(night - timedelta(days=1), datetime.min.time(), BERLIN).replace(
        hour=12
    )
    end = start + timedelta(days=3)
    asked = await sweeps_between(BERLIN, start.astimezone(UTC), end.astimezone(UTC))
    at_start, *nightly = asked
    assert at_start == start.astimezone(UTC)
    days = [moment.astimezone(BERLIN).date() for moment in nightly]
    assert days == [night, night + timedelta(days=1), night + timedelta(days=2)]
    assert nightly[0] == expected
    assert all(m.astimezone(BERLIN).hour in (2, 3) for m in nightly)


async def test_the_sweep_follows_the_sites_zone_not_utc() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 3, 9, 12, tzinfo=UTC)  # 20:00 in Shanghai
    asked = await sweeps_between(shanghai, start, start + timedelta(hours=12))
    assert asked[1:] == [datetime(2026, 3, 9, 18, 0, tzinfo=UTC)]  # 02:00 on 10 March there


@pytest.mark.parametrize(
    ("zone", "night", "first"),
    [
        # New York springs forward at 02:00 EST: the sweep runs at 03:00 EDT (07:00 UTC).
        ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
        # ... and falls back at 02:00 EDT: 01:00-02:00 twice, 02:00 once (EST, 07:00 UTC).
        ("America/New_York", date(2026, 11, 1), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
        # Lord Howe Island moves its clocks by half an hour: 02:00 -> 02:30 on 4 October.
        ("Australia/Lord_Howe", date(2026, 10, 4), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
        # ... and back, 02:00 -> 01:30 on 5 April: 02:00 comes once (+10:30).
        ("Australia/Lord_Howe", date(2026, 4, 5), datetime(2026, 4, 4, 15, 30, tzinfo=UTC)),
        # India is UTC+05:30 all year.
        ("Asia/Kolkata", date(2026, 3, 29), datetime(2026, 3, 28, 20, 30, tzinfo=UTC)),
    ],
)
async def test_the_sweep_runs_once_a_site_day_in_zones_that_shift_oddly(
    zone: str, night: date, first: datetime
) -> None:
    site = ZoneInfo(zone)
    start = datetime.combine(night - timedelta(days=1), datetime.min.time(), site).replace(hour=12)
    asked = await sweeps_between(site, start.astimezone(UTC), (start + timedelta(days=3)))
    nightly = asked[1:]
    assert [moment.astimezone(site).date() for moment in nightly] == [
        night + timedelta(days=n) for n in range(3)
    ]
    assert nightly[0] == first


@pytest.mark.parametrize(
    ("night", "first"),
    [
        # Santiago springs forward at midnight: 00:00 does not exist, 01:00 -03 (04:00 UTC).
        (date(2026, 9, 6), datetime(2026, 9, 6, 4, 0, tzinfo=UTC)),
        # ... and falls back at midnight to 23:00 the day before: 00:00 comes once (-04).
        (date(2026, 4, 5), datetime(2026, 4, 5, 4, 0, tzinfo=UTC)),
    ],
)
async def test_by_default_the_sweep_runs_as_the_site_day_begins(
    night: date, first: datetime
) -> None:
    site = ZoneInfo("America/Santiago")
    start = datetime.combine(night - timedelta(days=1), datetime.min.time(), site).replace(hour=12)
    end = start + timedelta(days=3)
    default = AlarmsConfig().expiry_sweep_at
    nightly = (await sweeps_between(site, start.astimezone(UTC), end, default))[1:]
    assert [moment.astimezone(site).date() for moment in nightly] == [
        night + timedelta(days=n) for n in range(3)
    ]
    assert nightly[0] == first
    assert [moment.astimezone(site).hour for moment in nightly[1:]] == [0, 0]


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """An instant of December 2026 as Berlin's clocks show it (+01:00), in UTC."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


async def test_a_clock_set_back_days_skips_no_nightly_sweep() -> None:
    """The box started with its clock three days ahead and swept at once; an hour later NTP
    set it right: every night after is swept, none waits for the day the wrong clock read."""
    asked = await sweeps_between(
        BERLIN, berlin(9, 12), berlin(10, 12), "02:30", step=(berlin(9, 13), -timedelta(days=3))
    )
    assert asked == [berlin(9, 12), *(berlin(day, 2, 30) for day in (7, 8, 9, 10))]


async def test_a_clock_set_back_an_hour_after_the_sweep_does_not_sweep_that_day_again() -> None:
    asked = await sweeps_between(
        BERLIN, berlin(6, 12), berlin(9, 12), "02:30", step=(berlin(7, 2, 31), -timedelta(hours=1))
    )
    assert asked == [berlin(6, 12), *(berlin(day, 2, 30) for day in (7, 8, 9))]


async def test_a_clock_set_forward_days_sweeps_at_once() -> None:
    """The box started with its clock behind (no stamp in its ledger to tell); NTP sets it
    three days forward: the sweep runs then, on the right day, not at the next 02:30."""
    asked = await sweeps_between(
        BERLIN, berlin(6, 12), berlin(11, 12), "02:30", step=(berlin(6, 13), timedelta(days=3))
    )
    assert asked[:2] == [berlin(6, 12), berlin(9, 13)]
    assert asked[2:] == [berlin(10, 2, 30), berlin(11, 2, 30)]
