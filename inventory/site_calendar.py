"""The site's calendar: the one place that turns instants into the dates people judge by.

The ledger and the wire keep UTC instants. Whether a pack is expired, how many days it has
left, which day a count belongs to and when the nightly sweep runs are questions of the site's
local date, in its IANA time zone. A GS1 expiry date is good through the end of that local day.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from inventory.zone_names import offset_text, zone_hint

Clock = Callable[[], datetime]
LOCALTIME = Path("/etc/localtime")
NO_ZONE_DATA = (
    "this machine has no time zone data (neither the tzdata package nor /usr/share/zoneinfo); "
    "install tzdata (pip install tzdata in the daemon's environment, or apt install tzdata)"
)

# Copies of the zone data under other names, which a `timezone` must not name.
COPIES = {
    "right": "its clocks count leap seconds, which Python's zoneinfo does not read: its "
    "offsets come out wrong (Berlin's stays UTC+02:00 in winter)",
    "posix": "a copy kept for old software, which the tzdata package and many machines lack",
}


def system_clock() -> datetime:
    """Now, from the machine's clock (aware, UTC)."""
    return datetime.now(UTC)


def local_zone(environ: Mapping[str, str] = os.environ, localtime: Path = LOCALTIME) -> tzinfo:
    """The machine's own time zone: $TZ, else the zone /etc/localtime names; UTC if neither
    gives one (`machine_zone_problems` then says why)."""
    return _machine_zone(environ, localtime)[0]


def machine_zone_problems(
    environ: Mapping[str, str] = os.environ, localtime: Path = LOCALTIME
) -> list[str]:
    """What makes the machine's own zone (used where `timezone` is left empty) not what it
    seems: a $TZ that names no IANA zone (a POSIX rule such as "CST-8" is not read), or no
    zone found at all, so that UTC is used; or a $TZ that is read but is not the service's
    (systemd starts the daemon without it, in /etc/localtime's zone). Each says the key to
    set."""
    return _machine_zone(environ, localtime)[1]


def configured_zone_problems(timezone: str) -> list[str]:
    """What makes the zone a configuration's `timezone` judges dates in not what it seems:
    nothing when it names a zone; left empty, the machine's zone's problems."""
    return [] if timezone else machine_zone_problems()


def tz_zone_name(environ: Mapping[str, str] = os.environ) -> str:
    """The IANA name of the zone $TZ gives (a right/ or posix/ copy's plain name); "" when
    $TZ is unset or names no zone (a POSIX rule, a zone file outside the zone data)."""
    named = environ.get("TZ", "").lstrip(":")
    return _read_zone(named)[1] if named else ""


def _machine_zone(environ: Mapping[str, str], localtime: Path) -> tuple[tzinfo, list[str]]:
    system, found, linked_copy = _system_zone(localtime)
    named = environ.get("TZ", "").lstrip(":")
    unread = ""
    if named:
        from_tz, name, copy = _read_zone(named)
        if from_tz is not None:
            own = [_copy_problem(f"$TZ is {named!r}", name, copy)] if copy else []
            if "INVOCATION_ID" in environ:  # systemd's own service: this $TZ is the service's
                return from_tz, own
            shell = _not_the_services(name or named, name, from_tz, system or UTC, found)
            return from_tz, own + shell + linked_copy
        unread = (
            f"$TZ is {named!r}, which cannot be looked up: {NO_ZONE_DATA}"
            if not available_timezones()
            else f"$TZ is {named!r}, not an IANA zone name (a POSIX TZ rule is not read)"
        )
    if system is None:
        unread = unread or f"this machine names no time zone (no $TZ, no {localtime})"
    if not unread:
        return system or UTC, linked_copy
    fix = 'set timezone = "Area/City", the site\'s IANA zone name (e.g. "Asia/Shanghai")'
    problem = f"timezone: {unread}: dates are judged in {found} instead; {fix}"
    return system or UTC, [problem, *linked_copy]


def _system_zone(localtime: Path) -> tuple[tzinfo | None, str, list[str]]:
    """The zone /etc/localtime names, how to name it to a person (None and "UTC" if it names
    none), and the problem of a link into a right/ or posix/ copy (its plain zone is used)."""
    target = str(localtime.resolve()) if localtime.is_symlink() else ""
    linked, name, copy = _read_zone(target) if "zoneinfo/" in target else (None, "", "")
    zone = linked or _zone_file(localtime)
    if zone is None:
        return None, "UTC", []
    problem = _copy_problem(f"{localtime} names {target}", name, copy) if copy else ""
    return zone, f"{zone} (the zone {localtime} names)", [problem] if problem else []


def _read_zone(named: str) -> tuple[ZoneInfo | None, str, str]:
    """The zone `named` gives: an IANA name, or a zone file's path ($TZ's, /etc/localtime's
    link); its IANA name ("" for a file outside the zone data); and the copy of the zone data
    ("right", "posix") it is in ("" for none). A copy's plain zone is read instead of it:
    zoneinfo misreads the right/ files. A path that links into the zone data is read as the
    zone it links to (TZ=:/etc/localtime)."""
    if named.startswith("/") and Path(named).is_symlink():
        target = str(Path(named).resolve())
        named = target if "zoneinfo/" in target else named
    key = named.split("zoneinfo/", 1)[1] if "zoneinfo/" in named else named
    plain, copy = _plain(key)
    zone = _zone_named(plain)
    if zone is not None:
        return zone, plain, copy
    return _zone_file(Path(named)) if named.startswith("/") else None, "", ""


def _plain(name: str) -> tuple[str, str]:
    """`name` without the right/ or posix/ of a copy of the zone data, and that copy."""
    copy, _, plain = name.partition("/")
    return (plain, copy) if copy in COPIES and plain else (name, "")


def _copy_problem(said: str, plain: str, copy: str) -> str:
    """A machine zone from a copy of the zone data, judged in its plain zone `plain`."""
    return (
        f"timezone: left empty, and {said}, the zone data's {copy}/ copy of {plain}: "
        f"{COPIES[copy]}; dates are judged in {plain} instead; set "
        f'timezone = "{plain}" in the configuration'
    )


def _not_the_services(named: str, name: str, zone: tzinfo, system: tzinfo, found: str) -> list[str]:
    """A $TZ read here is a login shell's (runuser and sudo pass it on), not the service's:
    systemd starts the daemon without one, so it judges dates in /etc/localtime's zone
    (`system`, said as `found`). `named` is how $TZ's zone is said, `name` its IANA name
    ("" for a zone file outside the zone data). Nothing when both keep the same clocks the
    coming year."""
    now = system_clock()
    moments = [now + timedelta(days=30 * month) for month in range(13)]
    if all(m.astimezone(zone).utcoffset() == m.astimezone(system).utcoffset() for m in moments):
        return []
    return [
        f"timezone: left empty, so dates are judged here in $TZ's zone, {named}; the service "
        f"will not have this $TZ (systemd starts it without one): it judges them in {found}, "
        "so packs would expire and the nightly sweep run at other hours; set "
        f'timezone = "{name or "Area/City"}" in the configuration to be sure'
    ]


def _zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder ("Australia")
        return None


def _zone_file(path: Path) -> ZoneInfo | None:
    """The zone in a TZif file (/etc/localtime, or one $TZ names by its path)."""
    try:
        with path.open("rb") as data:
            return ZoneInfo.from_file(data, key=path.name)
    except (OSError, ValueError):
        return None


def zone_problem(name: str, clock: Clock = system_clock) -> str | None:
    """Why `name` is not an IANA time zone, with the places it may mean and their UTC offsets
    at `clock`'s now (`zone_names.zone_hint`), or None. With no zone data on this machine no
    name can be found: that is said instead. The leap-second ("right/") and "posix/" copies
    of the zone data are refused for the plain name."""
    plain, copy = _plain(name)
    if copy:
        return (
            f"{name!r} is the zone data's {copy}/ copy of {plain!r}: {COPIES[copy]}; give the "
            f"name without it, {plain!r}"
        )
    if _zone_named(name) is not None:
        return None
    known = available_timezones()
    if not known:
        return f"{name!r} cannot be looked up: {NO_ZONE_DATA}"
    return zone_hint(name, known, clock())


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
        return offset_text(self.zone, instant)

    def zone_now(self) -> str:
        """The zone, its UTC offset and the site's clock now, for the person who set it up:
        "Australia/Sydney, UTC+11:00 now, local 2026-12-07 18:30"."""
        moment = self.clock()
        local = moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        return f"{self.zone}, UTC{self.offset(moment)} now, local {local}"

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
