"""The site's calendar: the one place that turns instants into the dates people judge by.

The ledger and the wire keep UTC instants. Whether a pack is expired, how many days it has
left, which day a count belongs to and when the nightly sweep runs are questions of the site's
local date, in its IANA time zone. A GS1 expiry date is good through the end of that local day.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, from the machine's clock (aware, UTC)."""
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    """The machine's own time zone: $TZ, else the zone /etc/localtime points to (UTC if none)."""
    named = os.environ.get("TZ", "").lstrip(":")
    if named:
        try:
            return ZoneInfo(named)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    target = str(localtime.resolve()) if localtime.is_symlink() else ""
    if "zoneinfo/" in target:
        try:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if localtime.is_file():
        with localtime.open("rb") as data:
            return ZoneInfo.from_file(data, key="localtime")
    return ZoneInfo("UTC")


def zone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone (with the nearest names), or None."""
    try:
        ZoneInfo(name)
        return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    known = available_timezones()
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if not close:  # "shanghai" for Asia/Shanghai: match the city alone too
        cities = {zone.rsplit("/", 1)[-1].lower(): zone for zone in known}
        close = [cities[c] for c in difflib.get_close_matches(name.lower(), cities, n=3)]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"{name!r} is not an IANA time zone name (like 'Europe/Berlin'){hint}"


class SiteCalendar:
    """The site's time zone with the injected clock: site dates of instants, and the instants
    of the site's daily times."""

    def __init__(self, zone: tzinfo | None = None, clock: Clock = system_clock):
        self.zone = zone if zone is not None else local_zone()
        self.clock = clock

    @classmethod
    def named(cls, name: str, clock: Clock = system_clock) -> SiteCalendar:
        """The calendar of IANA zone `name` ("" for the machine's own zone)."""
        return cls(ZoneInfo(name) if name else None, clock)

    def now(self) -> datetime:
        """Now, from the clock (aware)."""
        return self.clock()

    def today(self) -> date:
        """Today's date at the site."""
        return self.date_of(self.clock())

    def date_of(self, instant: datetime) -> date:
        """The site's date at `instant` (aware)."""
        return instant.astimezone(self.zone).date()

    def offset(self, instant: datetime) -> str:
        """The site's UTC offset at `instant`, as EPCIS writes it: "+08:00", "-05:00"."""
        delta = instant.astimezone(self.zone).utcoffset() or timedelta(0)
        sign = "-" if delta < timedelta(0) else "+"
        minutes = abs(int(delta.total_seconds())) // 60
        return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"

    def clock_time(self, instant: str | datetime) -> str:
        """An instant (aware, or ISO 8601 as the ledger keeps it) as the site's clocks showed
        it, with their UTC offset: "2026-12-06 21:28 +14:00". RFC 3339 lets `t` and `z` be
        lower case (a centre's answer may write them so)."""
        moment = datetime.fromisoformat(instant.upper()) if isinstance(instant, str) else instant
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M ") + self.offset(moment)

    def at(self, day: date, clock_time: time) -> datetime:
        """The UTC instant of `clock_time` on site date `day`. A time the clocks skip (a spring
        DST night) falls at the end of the gap; a time that happens twice (autumn) is its first."""
        local = datetime.combine(day, clock_time, tzinfo=self.zone).replace(fold=0)
        return local.astimezone(UTC)

    def next_daily(self, clock_time: time, done: date) -> datetime:
        """When the site's clocks show `clock_time` on the day after `done` (the site day
        whose daily work is done): once each site day. It may have passed (the clock was set
        forward): the work is then due at once."""
        return self.at(done + timedelta(days=1), clock_time)

    def expired(self, expiry: str | date | None, on: date | None = None) -> bool:
        """A pack with this expiry date is expired on site date `on` (today): good through the
        end of its expiry day."""
        if expiry is None or expiry == "":
            return False
        day = date.fromisoformat(expiry) if isinstance(expiry, str) else expiry
        return day < (on or self.today())

    def days_left(self, expiry: str | date, on: date | None = None) -> int:
        """Days from site date `on` (today) to the expiry date: 0 on its last good day,
        negative once expired."""
        day = date.fromisoformat(expiry) if isinstance(expiry, str) else expiry
        return (day - (on or self.today())).days
