"""The zone dates are judged in when the configuration leaves `timezone` empty (the machine's
own), and zone names on a machine without zone data: never a crash, never a wrong zone used
in silence. Each problem names the `timezone` key and the fix."""

from __future__ import annotations

import sys
import zoneinfo
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.settings.config import ConfigError, parse_config
from inventory.site_calendar import local_zone, machine_zone_problems, zone_problem


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
    assert local_zone({"TZ": "Asia/Shanghai"}, tmp_path / "none") == ZoneInfo("Asia/Shanghai")
    assert machine_zone_problems({"TZ": ":Asia/Shanghai"}, tmp_path / "none") == []
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/America/Bogota")
    assert local_zone({}, link) == ZoneInfo("America/Bogota")
    assert machine_zone_problems({}, link) == []


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
