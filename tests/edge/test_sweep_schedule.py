"""The daemon's nightly expiry sweep runs at 02:00 site time, once each site day: on a European
DST night with no 02:00 and on one with two of them, it runs exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.daemon.alarm_watch import expiry_sweeps
from edge.settings.config import AlarmsConfig
from inventory.site_calendar import SiteCalendar

BERLIN = ZoneInfo("Europe/Berlin")


class Ended(Exception):
    """The simulated days are over."""


async def sweeps_between(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Run the daemon's sweep loop on an injected clock from `start` to `end`: the instants
    (UTC) at which it asked for a sweep."""
    now = [start]
    calendar = SiteCalendar(zone, lambda: now[0])
    asked: list[datetime] = []

    async def sleep(seconds: float) -> None:
        assert 0 < seconds <= 60.0
        now[0] += timedelta(seconds=seconds)
        if now[0] >= end:
            raise Ended

    async def submit(_change: object) -> None:
        asked.append(now[0])

    with pytest.raises(Ended):
        await expiry_sweeps(submit, AlarmsConfig(), calendar, sleep)
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
