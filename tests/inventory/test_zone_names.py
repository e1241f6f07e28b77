"""What an operator is told for a `timezone` that is no zone. Suggestions by spelling alone
sent a Sydney pharmacy to 'EST' (New York's winter) and 'GMT+8' to 'Etc/GMT+8' (UTC-08:00,
the Etc names count the sign west): only places (Area/City) are offered, each with its UTC
offset now; an offset or an abbreviation is answered with the places at that offset, or
whose clocks show it, and the advice to give the site's city. Exact legal names stay
accepted."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from inventory.site_calendar import zone_problem
from inventory.zone_names import is_place, not_a_place_note

DECEMBER = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # 18:30 in Sydney (UTC+11:00, summer)
JUNE = datetime(2026, 6, 7, 7, 30, tzinfo=UTC)  # 17:30 in Sydney (UTC+10:00)
QUOTED = re.compile(r"'([^']+)'(?: \(UTC([+-]\d\d:\d\d) now\))?")


def hint(name: str, now: datetime = DECEMBER) -> str:
    problem = zone_problem(name, clock=lambda: now)
    assert problem is not None, f"{name!r} was accepted"
    return problem


def offered(problem: str) -> dict[str, str]:
    """The zones a hint offers (its last part), each with the offset given after it or after
    the run of zones it ends ("" if none)."""
    found: dict[str, str] = {}
    given = ""
    for zone, ahead in reversed(QUOTED.findall(problem.rsplit("; ", 1)[1])):
        given = ahead or given
        found[zone] = given
    return found


def offset_now(zone: str, now: datetime = DECEMBER) -> str:
    delta = now.astimezone(ZoneInfo(zone)).utcoffset()
    assert delta is not None
    minutes = int(delta.total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@pytest.mark.parametrize(
    ("typed", "ahead", "place"),
    [
        ("GMT+8", "+08:00", "Australia/Perth"),
        ("UTC+8", "+08:00", "Asia/Hong_Kong"),
        ("UTC-11", "-11:00", "Pacific/Pago_Pago"),
        ("+14:00", "+14:00", "Pacific/Kiritimati"),
        ("utc+5:30", "+05:30", "Asia/Kolkata"),
        ("CST-8", "+08:00", "Asia/Brunei"),  # a POSIX rule: its sign counts west
        ("UTC+9.5", "+09:30", "Australia/Darwin"),  # hours with a fraction
        ("GMT+8 (Perth)", "+08:00", "Australia/Perth"),  # after UTC/GMT: never a POSIX rule
        ("UTC+10 Sydney", "+10:00", "Australia/Brisbane"),
        ("UTC+08:00:00", "+08:00", "Australia/Perth"),
    ],
)
def test_an_offset_is_answered_with_places_at_that_offset_as_people_mean_it(
    typed: str, ahead: str, place: str
) -> None:
    problem = hint(typed)
    assert f"UTC{ahead}" in problem and "Area/City" in problem and "city" in problem
    assert f"places at UTC{ahead} now: " in problem
    named = offered(problem)
    assert place in named
    for zone in named:
        assert is_place(zone), f"{zone} offered for {typed}: no place"
        assert offset_now(zone) == ahead, f"{zone} offered for {typed}"
    for wrong in ("Etc/GMT+8", "Etc/GMT-8", "Etc/GMT-11", "GMT+0", "GMT", "UTC", "UCT"):
        assert f"'{wrong}'" not in problem


@pytest.mark.parametrize(
    ("typed", "now", "places"),
    [
        (
            "AEST",
            DECEMBER,
            {"Australia/Sydney": "+11:00", "Australia/Brisbane": "+10:00"},
        ),
        ("AEST", JUNE, {"Australia/Sydney": "+10:00", "Australia/Brisbane": "+10:00"}),
        (
            "IST",
            DECEMBER,
            {"Asia/Kolkata": "+05:30", "Europe/Dublin": "+00:00", "Asia/Jerusalem": "+02:00"},
        ),
        ("cet", DECEMBER, {}),
    ],
)
def test_an_abbreviation_is_answered_with_the_places_whose_clocks_show_it(
    typed: str, now: datetime, places: dict[str, str]
) -> None:
    problem = hint(typed, now)
    assert "abbreviation" in problem and "Area/City" in problem
    assert f"places whose clocks show {typed.upper()}: " in problem
    shown = offered(problem)
    assert shown and all(places[zone] == shown[zone] for zone in places)
    for zone, ahead in shown.items():
        assert is_place(zone) and offset_now(zone, now) == ahead, zone
    for fixed in ("EST", "WET", "MST", "HST", "CET", "MET"):
        assert f"'{fixed}'" not in problem


def test_each_suggestion_carries_its_offset_now() -> None:
    problem = hint("AEST")
    assert "'Australia/Brisbane', 'Australia/Lindeman' (UTC+10:00 now)" in problem
    assert "'Australia/Sydney' (UTC+11:00 now)" in problem
    assert "'Australia/Sydney' (UTC+10:00 now)" in hint("AEST", JUNE)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("Asia/Shangai", "'Asia/Shanghai' (UTC+08:00 now)"),
        ("Europe/Berln", "'Europe/Berlin' (UTC+01:00 now)"),
        ("sydney", "'Australia/Sydney' (UTC+11:00 now)"),
        ("new york", "'America/New_York' (UTC-05:00 now)"),
    ],
)
def test_a_misspelt_place_is_offered_places_only(typed: str, meant: str) -> None:
    problem = hint(typed)
    assert "did you mean" in problem and meant in problem
    assert all(is_place(zone) for zone in offered(problem))


@pytest.mark.parametrize("typed", ["Etc/GMT+15", "UTC+15", "Nowhere"])
def test_a_name_that_matches_no_place_says_to_give_the_city(typed: str) -> None:
    problem = hint(typed)
    assert "Area/City" in problem and "Etc/" not in problem.replace(typed, "")


@pytest.mark.parametrize("exact", ["Etc/GMT+8", "EST", "UTC", "CET", "Australia/Sydney"])
def test_a_legal_name_typed_exactly_is_accepted(exact: str) -> None:
    assert zone_problem(exact, clock=lambda: DECEMBER) is None


def test_a_legal_name_that_is_no_place_is_told_with_its_offset() -> None:
    etc = not_a_place_note("Etc/GMT+8", DECEMBER)
    assert etc is not None and "UTC-08:00 now" in etc and "west of UTC" in etc
    est = not_a_place_note("EST", DECEMBER)
    assert est is not None and "UTC-05:00 now" in est and "Area/City" in est
    for quiet in ("", "UTC", "Etc/UTC", "Australia/Sydney"):
        assert not_a_place_note(quiet, DECEMBER) is None


@pytest.mark.parametrize("folder", ["Australia", "Etc", "America/Argentina"])
def test_a_folder_of_the_zone_data_is_refused_in_words_not_a_crash(folder: str) -> None:
    """The zone data has folders by these names: looking one up as a zone raised
    IsADirectoryError, a traceback instead of the key's error."""
    problem = hint(folder)
    assert "Area/City" in problem or "did you mean" in problem
    assert "'Etc/" not in problem


def test_an_area_alone_is_answered_with_its_places_at_each_offset() -> None:
    problem = hint("Australia")
    assert "but an area" in problem and "places in Australia: " in problem
    shown = offered(problem)
    assert shown["Australia/Perth"] == "+08:00" and shown["Australia/Brisbane"] == "+10:00"
    assert all(zone.startswith("Australia/") for zone in shown)


@pytest.mark.parametrize("typed", ["UTC8", "UTC+1:60", "GMT 8"])
def test_an_offset_that_cannot_be_read_plainly_is_not_guessed(typed: str) -> None:
    """Written after UTC or GMT, "8" might be ahead or (as a POSIX rule reads it) behind: no
    places are offered for either, only the advice to give the city."""
    problem = hint(typed)
    assert "nor a UTC offset read plainly" in problem and "Area/City" in problem
    assert "places at" not in problem and "UTC+08:00" not in problem


def test_utc_typed_in_lowercase_is_told_that_utc_itself_is_taken() -> None:
    assert "'UTC' itself is taken" in hint("utc")
