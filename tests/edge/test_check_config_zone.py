"""The person setting up the box sees the zone dates are judged in, with its UTC offset and
the site's clock now: `rxedge check-config` says it on its ok line, and the daemon at start.
A zone typed on purpose that is no place (Etc/GMT+8) is kept, with a note of its offset; an
offset typed as a zone is refused with the places at that offset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.edge.daemon_process import logged_until

ROOT = Path(__file__).resolve().parents[2]
MOMENT = "2026-12-07 07:30:00"  # UTC: 18:30 in Sydney (UTC+11:00), 23:30 the day before at -8


def check_config(tmp_path: Path, zone: str, *options: str) -> subprocess.CompletedProcess[str]:
    """`rxedge check-config` of a file with `timezone = zone`, the clock at MOMENT (UTC)."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ntimezone = "{zone}"\ndatabase = "{tmp_path}/l.db"\n'
    )
    (tmp_path / "l.db").touch()
    command = [sys.executable, "-m", "edge.cli.main", "check-config", str(config), *options]
    return subprocess.run(
        ["faketime", "-f", f"@{MOMENT}", *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TZ": "UTC"},
        check=False,
        timeout=60,
    )


def test_the_ok_line_names_the_zone_with_its_offset_and_the_sites_clock(tmp_path: Path) -> None:
    done = check_config(tmp_path, "Australia/Sydney")
    assert done.returncode == 0, done.stderr
    assert "ok: site s1 (time zone Australia/Sydney, UTC+11:00 now, local 2026-12-07 18:30)" in (
        done.stdout
    )
    assert done.stderr == ""
    verdict = json.loads(check_config(tmp_path, "Australia/Sydney", "--json").stdout)
    assert verdict["timezone"] == "Australia/Sydney" and verdict["utc_offset"] == "+11:00"
    assert verdict["local_time"] == "2026-12-07T18:30+11:00" and verdict["notes"] == []


def test_an_etc_zone_typed_on_purpose_is_kept_with_its_offset_told(tmp_path: Path) -> None:
    done = check_config(tmp_path, "Etc/GMT+8")
    assert done.returncode == 0, done.stderr
    assert "(time zone Etc/GMT+8, UTC-08:00 now, local 2026-12-06 23:30)" in done.stdout
    assert "note: timezone 'Etc/GMT+8' is a fixed offset" in done.stderr
    assert "UTC-08:00 now" in done.stderr and "Area/City" in done.stderr


def test_an_offset_given_as_the_zone_is_refused_with_the_places_at_it(tmp_path: Path) -> None:
    done = check_config(tmp_path, "GMT+8")
    assert done.returncode == 2
    assert "'GMT+8' is not an IANA time zone name but a UTC offset, UTC+08:00" in done.stderr
    assert "'Australia/Perth'" in done.stderr and "Area/City" in done.stderr
    assert "'Etc/GMT+8'" not in done.stderr and "'GMT+0'" not in done.stderr


def libfaketime() -> str:
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not found:
        pytest.fail("Debian's faketime is not installed: run `make setup` (scripts/bootstrap.sh)")
    return str(found[0])


def daemon_log(tmp_path: Path, zone: str) -> list[str]:
    """The lines `rxedge run --init` logs with `timezone = zone`, the clock started at MOMENT
    (UTC), until it has named its zone (its broker refuses: it runs on regardless)."""
    config = tmp_path / f"{zone.replace('/', '-')}.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ntimezone = "{zone}"\n'
        f'database = "{tmp_path / zone.replace("/", "-")}.sqlite"\n'
        '[broker]\nurl = "mqtt://127.0.0.1:1"\n[metrics]\nlisten = ""\n'
    )
    command = [sys.executable, "-m", "edge.cli.main", "run", "--init", "--config", str(config)]
    # faketime's library itself (not its wrapper, which would take the SIGTERM)
    env = {**os.environ, "TZ": "UTC", "LD_PRELOAD": libfaketime(), "FAKETIME": f"@{MOMENT}"}
    return logged_until(command, tmp_path / "stderr", "site time zone", env)


def test_the_daemon_names_its_zone_offset_and_local_time_at_start(tmp_path: Path) -> None:
    lines = daemon_log(tmp_path, "Australia/Sydney")
    said = [line for line in lines if "site time zone" in line]
    assert len(said) == 1 and " INFO edge.daemon.gateway: " in said[0], lines
    assert said[0].endswith(
        "site time zone Australia/Sydney, UTC+11:00 now, local 2026-12-07 18:30"
    )
    assert not [line for line in lines if "timezone" in line], lines
    etc = daemon_log(tmp_path, "Etc/GMT+8")
    assert any(
        " WARNING " in line and "'Etc/GMT+8'" in line and "UTC-08:00 now" in line for line in etc
    ), etc
