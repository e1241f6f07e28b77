"""Time zone names as an operator types them, and what to say about one that is no zone.

A site's dates follow the clocks of its city, so the zone to give is a place: Area/City
("Australia/Sydney"), which keeps the city's daylight saving time and its law changes. Spelling
alone points elsewhere: "GMT+8" is nearest to "Etc/GMT+8", which is UTC-08:00 (the Etc/GMT
names count the sign the POSIX way, west of UTC), and "AEST" to "EST", New York's winter.
So only places are suggested, each with its UTC offset now; an offset or an abbreviation
is answered with the places at that offset, or whose clocks show that abbreviation, now.
Names that are no place (EST, Etc/GMT+8) are still accepted when typed exactly."""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, tzinfo
from itertools import groupby
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo

AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
SHOWN = 6  # places named in one hint
HALF_YEAR = timedelta(days=182)  # the other side of daylight saving time
CITY = (
    "give the site's city instead, as Area/City (e.g. 'Australia/Sydney'): dates then follow "
    "its clocks, daylight saving time included"
)
# "GMT+8", "UTC-11", "+14:00", "UTC+5:30", "gmt+0530", "Z": an offset as people write it,
# ahead of UTC for "+".
OFFSET = re.compile(
    r"(?:UTC|GMT|UT|Z)?\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2})|[.,](\d{1,2}))?)?", re.IGNORECASE
)
# Written after UTC, GMT or UT, an offset is meant ahead of UTC for "+", never a POSIX rule.
UTC_NAMED = re.compile(r"(?:UTC|GMT|UT)(?![A-Za-z])", re.IGNORECASE)
# "CST-8", "AEST-10AEDT,M10.1.0,M4.1.0/3": a POSIX TZ rule, whose offset counts west of UTC.
POSIX = re.compile(r"(?:[A-Za-z]{3,}|<[^>]+>)([+-]?)(\d{1,2})(?::(\d{2}))?(?:\D.*)?")
ABBREVIATION = re.compile(r"[A-Za-z]{2,5}")


def is_place(name: str) -> bool:
    """`name` is of the Area/City form ("Europe/Berlin", "America/Argentina/Salta")."""
    area, _, city = name.partition("/")
    return area in AREAS and bool(city)


def offset_text(zone: tzinfo, instant: datetime) -> str:
    """The UTC offset of `zone` at `instant` (aware), as ISO 8601 writes it: "+08:00"."""
    delta = instant.astimezone(zone).utcoffset() or timedelta(0)
    return _signed(delta)


def not_a_place_note(name: str, now: datetime) -> str | None:
    """What to know of `timezone` = `name`, legal but no place (EST, Etc/GMT+8, CET): its
    offset now, and that the site's city is what to give. None for a place, UTC itself, or
    "" (the machine's zone)."""
    if not name or is_place(name):
        return None
    zone = ZoneInfo(name)
    if {offset_text(zone, now), offset_text(zone, now + HALF_YEAR)} == {"+00:00"}:
        return None
    backwards = " (the Etc/GMT names count their sign west of UTC)" * name.startswith("Etc/GMT")
    return (
        f"timezone {name!r} is a fixed offset or a legacy name, no place: it is "
        f"UTC{offset_text(zone, now)} now{backwards}; unless that is meant, {CITY}"
    )


def zone_hint(name: str, known: set[str], now: datetime) -> str:
    """Why `name` (none of the `known` zone names) is no zone, and the places it may mean."""
    typed = name.strip()
    places = _places(known)
    if (ahead := _offset_typed(typed)) is not None:
        return _offered(name, "a UTC offset", ahead, _at_offset(places, ahead, now))
    if UTC_NAMED.match(typed):  # "GMT+8 (Perth)", "UTC+10 Sydney", "UTC8", "UTC+1:60"
        lead = OFFSET.match(typed)
        ahead = _offset_read(lead) if lead is not None and lead.group(1) else None
        if lead is None or ahead is None:
            return f"{name!r} is not an IANA time zone name, nor a UTC offset read plainly; {CITY}"
        what = f"a UTC offset with more after it (read as {lead.group(0).strip()!r})"
        return _offered(name, what, ahead, _at_offset(places, ahead, now))
    if (rule := POSIX.fullmatch(typed)) is not None:
        sign, hours, minutes = rule.groups()
        west = timedelta(hours=int(hours), minutes=int(minutes or 0))
        ahead = west if sign == "-" else -west
        what = "a POSIX TZ rule (not read; its sign counts west of UTC)"
        return _offered(name, what, ahead, _at_offset(places, ahead, now))
    cities = {_city_key(zone): zone for zone in sorted(known) if is_place(zone)}
    if (city := cities.get(_city_key(typed))) is not None:
        return f"{name!r} is not an IANA time zone name; did you mean {_listed([city], now)}?"
    if (area := {a.lower(): a for a in AREAS}.get(typed.strip("/").lower())) is not None:
        inside = _by_offset([zone for zone in places if zone.startswith(f"{area}/")], now)
        found = f"places in {area}: {_listed(inside, now)}"
        return f"{name!r} is not an IANA time zone name but an area; {CITY}; {found}"
    if ABBREVIATION.fullmatch(typed) and (showing := _showing(places, typed.upper(), now)):
        what = "an abbreviation, which names no place and may stand for several"
        found = f"places whose clocks show {typed.upper()}: {_listed(showing, now)}"
        return f"{name!r} is not an IANA time zone name but {what}; {CITY}; {found}"
    named = [zone for zone in known if is_place(zone)]
    close = difflib.get_close_matches(typed, named, n=3, cutoff=0.5)
    if not close:  # "shanghia" for Asia/Shanghai: match the city alone too
        close = [cities[c] for c in difflib.get_close_matches(_city_key(typed), cities, n=3)]
    hint = f"; did you mean {_listed(close, now, ' or ')}?" if close else f"; {CITY}"
    return f"{name!r} is not an IANA time zone name (like 'Europe/Berlin'){hint}"


def _offered(name: str, what: str, ahead: timedelta, zones: list[str]) -> str:
    """The hint for an offset typed (`zones`: the places at it), the offset written as people
    mean it: UTC+08:00 is eight hours ahead of UTC."""
    at = f"UTC{_signed(ahead)}"
    found = f"places at {at} now: " + _listed(zones) if zones else f"no place is at {at} now"
    kept = "; 'UTC' itself is taken, for a site that keeps UTC" if not ahead else ""
    return f"{name!r} is not an IANA time zone name but {what}, {at}; {CITY}; {found}{kept}"


def _listed(zones: list[str], now: datetime | None = None, joint: str = ", ") -> str:
    """The first `SHOWN` of `zones` quoted; with `now`, each run of them at one offset
    followed by it."""
    shown: list[str] = []
    at = (lambda zone: offset_text(ZoneInfo(zone), now)) if now else (lambda zone: "")
    for offset, run in groupby(zones[:SHOWN], at):
        names = [f"{zone!r}" for zone in run]
        shown += [*names[:-1], f"{names[-1]} (UTC{offset} now)" if offset else names[-1]]
    more = f" and {len(zones) - SHOWN} more" if len(zones) > SHOWN else ""
    return joint.join(shown) + more


def _signed(delta: timedelta) -> str:
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _offset_typed(typed: str) -> timedelta | None:
    found = OFFSET.fullmatch(typed)
    return _offset_read(found) if typed and found is not None else None


def _offset_read(found: re.Match[str]) -> timedelta | None:
    """The offset an OFFSET match says ("+9.5": nine and a half hours), None when it is none."""
    sign, hours, minutes, fraction = found.groups()
    if sign is None:
        return timedelta(0)  # "utc", "Gmt", "Z": UTC, not written as a zone's name
    if fraction is not None:
        minutes = str(round(float(f"0.{fraction}") * 60))
    if int(minutes or 0) >= 60:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return -delta if sign == "-" else delta


def _ahead(zone: str, now: datetime) -> timedelta:
    return now.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)


def _city_key(name: str) -> str:
    return name.rsplit("/", 1)[-1].replace(" ", "_").lower()


def _at_offset(places: list[str], ahead: timedelta, now: datetime) -> list[str]:
    """The places whose clocks are `ahead` of UTC now, spread over the areas."""
    at = [zone for zone in places if _ahead(zone, now) == ahead]
    return _spread(at, lambda zone: zone.split("/", 1)[0], last="Antarctica")


def _showing(places: list[str], abbreviation: str, now: datetime) -> list[str]:
    """The places whose clocks show `abbreviation` now or in half a year (an abbreviation
    may stand for several offsets)."""
    found = [
        zone
        for zone in places
        if abbreviation in {t.astimezone(ZoneInfo(zone)).tzname() for t in (now, now + HALF_YEAR)}
    ]
    return _by_offset(found, now)


def _by_offset(zones: list[str], now: datetime) -> list[str]:
    """`zones` taking turns between their offsets now, the first `SHOWN` in offset order."""
    spread = _spread(zones, lambda zone: offset_text(ZoneInfo(zone), now))
    return sorted(spread[:SHOWN], key=lambda zone: _ahead(zone, now)) + spread[SHOWN:]


def _spread(zones: Iterable[str], group: Callable[[str], str], last: str = "") -> list[str]:
    """`zones` taking turns between their groups, the largest group first (group `last`,
    research stations, after all others): the first few named show every group."""
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for zone in sorted(zones):
        groups[group(zone)].append(zone)
    ordered = [groups[key] for key in sorted(groups, key=lambda k: (k == last, -len(groups[k]), k))]
    turns = max((len(members) for members in ordered), default=0)
    return [members[i] for i in range(turns) for members in ordered if i < len(members)]


def _places(known: set[str]) -> list[str]:
    """The places to offer: the zones of zone.tab (one a region of a country, no old
    aliases), else every Area/City name."""
    listed = _zone_tab()
    return sorted((listed & known) if listed else {z for z in known if is_place(z)})


def _zone_tab() -> set[str]:
    """The zone names in zone.tab, where the zone data is (the system's, else the tzdata
    package's); empty if none is found."""
    for folder in TZPATH:
        if (path := Path(folder) / "zone.tab").is_file():
            return _tab_zones(path.read_text(encoding="utf-8"))
    from importlib import resources  # only where the system has no zone data: slow to load

    try:
        data = resources.files("tzdata").joinpath("zoneinfo", "zone.tab")
        return _tab_zones(data.read_text(encoding="utf-8"))
    except (ImportError, OSError):
        return set()


def _tab_zones(text: str) -> set[str]:
    rows = (line.split("\t") for line in text.splitlines() if not line.startswith("#"))
    return {row[2] for row in rows if len(row) > 2 and is_place(row[2])}
