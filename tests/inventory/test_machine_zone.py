"""The zone dates are judged in when the configuration leaves `timezone` empty (the machine's
own), and zone names on a machine without zone data: never a crash, never a wrong zone used
in silence. Each problem names the `timezone` key and the fix."""

from __future__ import annotations

import sys
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.settings.config import ConfigError, parse_config
from inventory.site_calendar import (
    local_zone,
    machine_zone_problems,
    tz_zone_name,
    zone_problem,
)


@pytest.fixture
def no_zone_data(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A machine with no IANA zone data: no zoneinfo folder, no tzdata package."""
    for name in ["tzdata", *(m for m in sys.modules if m.startswith("tzdata."))]:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    zoneinfo.reset_tzpath(to=[])
    ZoneInfo.clear_cache()
    try:
        yield
    finally:
        zoneinfo.reset_tzpath()
        ZoneInfo.clear_cache()


@pytest.mark.usefixtures("no_zone_data")
def test_without_zone_data_a_right_name_is_not_called_wrong() -> None:
    problem = zone_problem("Europe/Berlin")
    assert problem is not None and "not an IANA time zone name" not in problem
    assert "no time zone data" in problem and "install tzdata" in problem
    with pytest.raises(ConfigError) as refused:
        parse_config({"site": "s", "gateway": "g", "timezone": "Europe/Berlin"})
    assert "timezone" in str(refused.value) and "install tzdata" in str(refused.value)


@pytest.mark.usefixtures("no_zone_data")
def test_no_zone_at_all_is_utc_said_so_not_a_crash(tmp_path: Path) -> None:
    nowhere = tmp_path / "localtime"
    assert local_zone({}, nowhere) is UTC
    [problem] = machine_zone_problems({}, nowhere)
    assert problem.startswith("timezone: this machine names no time zone")
    assert "dates are judged in UTC" in problem and 'set timezone = "Area/City"' in problem


def test_a_machine_zone_that_is_one_raises_nothing(tmp_path: Path) -> None:
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/America/Bogota")
    assert local_zone({}, link) == ZoneInfo("America/Bogota")
    assert machine_zone_problems({}, link) == []
    assert local_zone({"TZ": "Asia/Shanghai"}, link) == ZoneInfo("Asia/Shanghai")
    shanghai = tmp_path / "shanghai"
    shanghai.symlink_to("/usr/share/zoneinfo/Asia/Shanghai")
    assert machine_zone_problems({"TZ": ":Asia/Shanghai"}, shanghai) == []


def test_a_posix_tz_rule_is_not_read_and_said_so(tmp_path: Path) -> None:
    """TZ="CST-8" (China Standard Time as a POSIX rule) is no IANA name: the machine's zone
    from /etc/localtime (or UTC) is used instead, and the warning names `timezone` as the fix."""
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Etc/UTC")
    posix = {"TZ": "CST-8"}
    assert local_zone(posix, link) == ZoneInfo("Etc/UTC")
    [problem] = machine_zone_problems(posix, link)
    assert problem.startswith("timezone: $TZ is 'CST-8', not an IANA zone name")
    assert "POSIX TZ rule is not read" in problem and "judged in Etc/UTC" in problem
    assert 'set timezone = "Area/City"' in problem
    [nowhere] = machine_zone_problems(posix, tmp_path / "none")
    assert "judged in UTC instead" in nowhere


def test_a_tz_from_the_shell_is_said_not_to_be_the_services(tmp_path: Path) -> None:
    """`timezone` left empty, checked from a login shell with TZ=Asia/Kolkata on a box whose
    /etc/localtime is Etc/UTC: the service (started by systemd, without that $TZ) judges
    dates in Etc/UTC, 5.5 hours off; the warning names both zones and the line to set."""
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Etc/UTC")
    shell = {"TZ": "Asia/Kolkata"}
    assert local_zone(shell, link) == ZoneInfo("Asia/Kolkata")
    [problem] = machine_zone_problems(shell, link)
    assert problem.startswith("timezone: left empty, so dates are judged here in $TZ's zone")
    assert "the service will not have this $TZ" in problem
    assert "judges them in Etc/UTC (the zone" in problem
    assert 'set timezone = "Asia/Kolkata"' in problem
    [by_path] = machine_zone_problems({"TZ": ":/usr/share/zoneinfo/Asia/Kolkata"}, link)
    assert 'set timezone = "Asia/Kolkata"' in by_path
    [no_localtime] = machine_zone_problems(shell, tmp_path / "none")
    assert "judges them in UTC," in no_localtime
    # the daemon as systemd's service: a $TZ it has (a drop-in's Environment=) is its own
    assert machine_zone_problems({**shell, "INVOCATION_ID": "0123abcd"}, link) == []


def test_a_tz_that_keeps_the_services_clocks_is_not_warned_of(tmp_path: Path) -> None:
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Etc/UTC")
    assert machine_zone_problems({"TZ": "UTC"}, link) == []
    assert machine_zone_problems({"TZ": "Etc/UTC"}, link) == []


@pytest.mark.parametrize("copy", ["right", "posix"])
def test_the_leap_second_and_posix_copies_of_a_zone_are_refused_for_its_name(copy: str) -> None:
    """Python's zoneinfo misreads the leap-second right/ files (right/Europe/Berlin runs
    UTC+02:00 in winter); posix/ is a copy missing from the tzdata package."""
    with pytest.raises(ConfigError) as refused:
        parse_config({"site": "s", "gateway": "g", "timezone": f"{copy}/Europe/Berlin"})
    said = str(refused.value)
    assert f"timezone: '{copy}/Europe/Berlin' is the zone data's {copy}/ copy" in said
    assert "give the name without it, 'Europe/Berlin'" in said
    assert parse_config({"site": "s", "gateway": "g", "timezone": "Europe/Berlin"})


WINTER = datetime(2027, 1, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize("copy", ["right", "posix"])
def test_a_machine_zone_linked_into_a_copy_is_judged_in_its_plain_zone_and_warned_of(
    tmp_path: Path, copy: str
) -> None:
    """/etc/localtime linked to right/Europe/Berlin: zoneinfo would read it as UTC+02:00 all
    winter. Dates are judged in Europe/Berlin (UTC+01:00), and the warning names the plain zone
    and the `timezone` line to set. (Here a zone data folder of its own: where posix/ is links
    into the plain data, /etc/localtime resolves to the plain file, which is right.)"""
    source = Path("/usr/share/zoneinfo") / copy / "Europe/Berlin"
    if not source.is_file():
        pytest.skip(f"this machine has no {copy}/ copy of the zone data")
    file = tmp_path / "zoneinfo" / copy / "Europe/Berlin"
    file.parent.mkdir(parents=True)
    file.write_bytes(source.read_bytes())
    link = tmp_path / "localtime"
    link.symlink_to(file)
    zone = local_zone({}, link)
    assert zone == ZoneInfo("Europe/Berlin")
    assert WINTER.astimezone(zone).utcoffset() == timedelta(hours=1)
    [problem] = machine_zone_problems({}, link)
    assert f"{link} names {file}, the zone data's {copy}/ copy of Europe/Berlin" in problem
    assert "dates are judged in Europe/Berlin instead" in problem
    assert 'set timezone = "Europe/Berlin" in the configuration' in problem
    # what the service would say, checked from a shell whose $TZ keeps other clocks
    said = machine_zone_problems({"TZ": "Asia/Kolkata"}, link)
    assert any(f"the zone data's {copy}/ copy of Europe/Berlin" in p for p in said), said


@pytest.mark.parametrize(
    "tz",
    [
        "right/Europe/Berlin",
        ":right/Europe/Berlin",
        "/usr/share/zoneinfo/right/Europe/Berlin",
        "posix/Asia/Kolkata",
        ":/usr/share/zoneinfo/posix/Asia/Kolkata",
    ],
)
def test_a_tz_naming_a_copy_is_judged_in_its_plain_zone_and_the_plain_name_recommended(
    tmp_path: Path, tz: str
) -> None:
    """Never `timezone = "right/..."`, which the configuration refuses: the plain name."""
    copy, plain = tz.lstrip(":").split("zoneinfo/")[-1].split("/", 1)
    if not (Path("/usr/share/zoneinfo") / copy).is_dir():
        pytest.skip(f"this machine has no {copy}/ copy of the zone data")
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Etc/UTC")
    assert local_zone({"TZ": tz}, link) == ZoneInfo(plain)
    said = machine_zone_problems({"TZ": tz}, link)
    assert len(said) == 2, said
    assert f"the zone data's {copy}/ copy of {plain}" in said[0]
    assert said[1].startswith(
        f"timezone: left empty, so dates are judged here in $TZ's zone, {plain};"
    )
    assert all(f'set timezone = "{plain}" in the configuration' in p for p in said)
    assert not any(f'timezone = "{copy}/' in p for p in said), said
    service = machine_zone_problems({"TZ": tz, "INVOCATION_ID": "0123abcd"}, link)
    assert service == said[:1]
    assert tz_zone_name({"TZ": tz}) == plain


def test_a_tz_naming_a_link_into_a_copy_is_read_as_the_plain_zone_it_links_to(
    tmp_path: Path,
) -> None:
    """TZ=:/etc/localtime (a service's drop-in may set it) with /etc/localtime linked into the
    right/ copy: the service's dates are judged in the plain zone, and it says so."""
    source = Path("/usr/share/zoneinfo/right/Europe/Berlin")
    if not source.is_file():
        pytest.skip("this machine has no right/ copy of the zone data")
    link = tmp_path / "localtime"
    link.symlink_to(source)
    service = {"TZ": f":{link}", "INVOCATION_ID": "0123abcd"}
    zone = local_zone(service, link)
    assert zone == ZoneInfo("Europe/Berlin")
    assert WINTER.astimezone(zone).utcoffset() == timedelta(hours=1)
    [problem] = machine_zone_problems(service, link)
    assert "the zone data's right/ copy of Europe/Berlin" in problem
    assert 'set timezone = "Europe/Berlin" in the configuration' in problem
