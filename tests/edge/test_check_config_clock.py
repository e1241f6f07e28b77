"""`rxedge check-config` warns when systemd may start the daemon before NTP has set the clock
(systemd-time-wait-sync.service, or chrony's chrony-wait.service, not enabled): a Raspberry Pi
would start at its last shutdown's time. Where systemd does not run the machine, or cannot be
asked, it says nothing. With `timezone` left empty, a $TZ that is a POSIX rule (not read) is
warned of by check-config and by the daemon at start, naming the key to set; so is a $TZ from
the checking shell that the service (started without it) will not have."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.daemon.gateway import Gateway
from edge.settings import clock_checks
from edge.settings.clock_checks import Systemd, time_sync_problem
from edge.settings.config import parse_config
from inventory.site_calendar import local_zone

ROOT = Path(__file__).resolve().parents[2]


def fake_systemctl(
    tmp_path: Path, states: dict[str, str], timeouts: dict[str, str] | None = None
) -> str:
    """A `systemctl` that answers `is-enabled UNIT` with `states[UNIT]` (nothing, exit 1,
    for a unit not installed), and `show --property=TimeoutStartUSec --value UNIT` with
    `timeouts[UNIT]`, as the real one does."""
    program = tmp_path / "systemctl"
    cases = "".join(
        f"  is-enabled{unit}) echo {state}; exit {0 if state == 'enabled' else 1} ;;\n"
        for unit, state in states.items()
    ) + "".join(f"  show{unit}) echo {t}; exit 0 ;;\n" for unit, t in (timeouts or {}).items())
    program.write_text(
        '#!/bin/sh\nfor unit; do :; done\ncase "$1$unit" in\n'
        + cases
        + '  *) echo "Failed to get unit file state for $unit: No such file" >&2; exit 1 ;;\n'
        "esac\n"
    )
    program.chmod(0o755)
    return str(program)


@pytest.fixture
def systemd(tmp_path: Path) -> Path:
    """The marker of a machine booted with systemd."""
    booted = tmp_path / "run-systemd-system"
    booted.mkdir()
    return booted


def test_a_systemd_box_without_the_time_wait_service_is_warned(
    tmp_path: Path, systemd: Path
) -> None:
    systemctl = fake_systemctl(tmp_path, {"systemd-time-wait-sync.service": "disabled"})
    problem = time_sync_problem(Systemd(systemd, systemctl))
    assert problem is not None
    assert problem.startswith("clock: systemd-time-wait-sync.service is disabled")
    assert "systemctl enable systemd-time-wait-sync" in problem


@pytest.mark.parametrize(
    "states",
    [
        {"systemd-time-wait-sync.service": "enabled"},
        {"systemd-time-wait-sync.service": "disabled", "chrony-wait.service": "enabled"},
    ],
)
def test_a_box_that_waits_for_ntp_is_not_warned(
    tmp_path: Path, systemd: Path, states: dict[str, str]
) -> None:
    assert time_sync_problem(Systemd(systemd, fake_systemctl(tmp_path, states))) is None


def test_an_endless_wait_for_ntp_is_warned_with_the_drop_in_that_bounds_it(
    tmp_path: Path, systemd: Path
) -> None:
    """Debian's systemd-time-wait-sync.service never times out: where NTP is blocked, the
    daemon (after time-sync.target) would never start after a reboot."""
    unit = "systemd-time-wait-sync.service"
    endless = fake_systemctl(tmp_path, {unit: "enabled"}, {unit: "infinity"})
    problem = time_sync_problem(Systemd(systemd, endless))
    assert problem is not None and problem.startswith(f"clock: {unit} waits for NTP without end")
    install = f"/opt/rxedge/systemd/{unit}.d/rxedge.conf /etc/systemd/system/{unit}.d/rxedge.conf"
    assert install in problem
    assert (ROOT / "systemd" / f"{unit}.d" / "rxedge.conf").is_file()
    bounded = fake_systemctl(tmp_path, {unit: "enabled"}, {unit: "5min"})
    assert time_sync_problem(Systemd(systemd, bounded)) is None
    disabled = fake_systemctl(tmp_path, {unit: "disabled"})
    problem = time_sync_problem(Systemd(systemd, disabled))
    assert problem is not None and "drop-in that bounds the wait" in problem


def test_without_systemd_nothing_is_said(tmp_path: Path, systemd: Path) -> None:
    systemctl = fake_systemctl(tmp_path, {"systemd-time-wait-sync.service": "disabled"})
    assert time_sync_problem(Systemd(tmp_path / "no-such-dir", systemctl)) is None
    assert time_sync_problem(Systemd(systemd, str(tmp_path / "no-systemctl"))) is None


def test_check_config_asks_the_machine_it_runs_on(
    tmp_path: Path,
    systemd: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The suite's machine is one without systemd (tests/conftest.py), whatever the host is;
    made one with systemd and without the service, check-config warns."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ntimezone = "UTC"\ndatabase = "{tmp_path}/l.db"\n'
    )
    (tmp_path / "l.db").touch()
    assert main(["check-config", str(config)]) == 0
    assert capsys.readouterr().err == ""
    systemctl = fake_systemctl(tmp_path, {"systemd-time-wait-sync.service": "disabled"})
    monkeypatch.setattr(clock_checks, "HOST", Systemd(systemd, systemctl))
    assert main(["check-config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "1 warning(s)" in out
    assert err.startswith("warning: clock: systemd-time-wait-sync.service is disabled")


def check_config(tmp_path: Path, zone_line: str, tz: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gateway.toml"
    config.write_text(f'site = "s1"\ngateway = "g1"\n{zone_line}database = "{tmp_path}/l.db"\n')
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "check-config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        # from a login shell, not as systemd's service (which sets INVOCATION_ID)
        env={**{k: v for k, v in os.environ.items() if k != "INVOCATION_ID"}, "TZ": tz},
        check=False,
        timeout=60,
    )


def test_check_config_warns_of_a_posix_tz_rule_and_names_the_key(tmp_path: Path) -> None:
    done = check_config(tmp_path, "", "CST-8")
    assert done.returncode == 0, done.stderr
    assert "warning: timezone: $TZ is 'CST-8', not an IANA zone name" in done.stderr
    assert 'set timezone = "Area/City"' in done.stderr
    named = check_config(tmp_path, 'timezone = "Asia/Shanghai"\n', "CST-8")
    assert named.returncode == 0 and "$TZ" not in named.stderr, "the configured zone is used"


def test_check_config_from_a_shell_with_tz_says_the_service_will_not_have_it(
    tmp_path: Path,
) -> None:
    """`runuser -u rxedge -- rxedge check-config` passes the shell's TZ on; systemd does not:
    the service judges dates in /etc/localtime's zone. A warning (exit 0) naming both zones
    and the line to set; with `timezone` set, nothing."""
    service_zone = str(local_zone({}))
    shell_zone = "Pacific/Chatham" if service_zone == "Asia/Kolkata" else "Asia/Kolkata"
    done = check_config(tmp_path, "", shell_zone)
    assert done.returncode == 0, done.stderr
    assert f"(time zone {shell_zone}, " in done.stdout and "warning(s)" in done.stdout
    [said] = [line for line in done.stderr.splitlines() if "$TZ" in line]
    assert said.startswith(
        f"warning: timezone: left empty, so dates are judged here in $TZ's zone, {shell_zone}; "
        "the service will not have this $TZ"
    ), done.stderr
    assert f"judges them in {service_zone}" in said and f'set timezone = "{shell_zone}"' in said
    named = check_config(tmp_path, f'timezone = "{shell_zone}"\n', shell_zone)
    assert named.returncode == 0 and "$TZ" not in named.stderr, named.stderr


@pytest.mark.parametrize("tz", ["right/Europe/Berlin", "posix/Asia/Kolkata"])
def test_check_config_with_a_tz_naming_a_copy_recommends_the_plain_name(
    tmp_path: Path, tz: str
) -> None:
    """TZ=right/Europe/Berlin: dates are judged in Europe/Berlin, and the line recommended is
    one check-config then takes, not `timezone = "right/Europe/Berlin"`, which it refuses."""
    plain = tz.split("/", 1)[1]
    done = check_config(tmp_path, "", tz)
    assert done.returncode == 0, done.stderr
    assert f"(time zone {plain}, " in done.stdout
    assert f'set timezone = "{plain}" in the configuration' in done.stderr
    assert 'timezone = "right/' not in done.stderr and 'timezone = "posix/' not in done.stderr
    named = check_config(tmp_path, f'timezone = "{plain}"\n', tz)
    assert named.returncode == 0 and "$TZ" not in named.stderr, named.stderr


def test_the_daemon_warns_of_a_posix_tz_rule_at_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv("TZ", "CST-8")
    with caplog.at_level(logging.WARNING):
        Gateway(parse_config({"site": "s", "gateway": "g", "database": str(tmp_path / "l")}))
    assert any("timezone: $TZ is 'CST-8'" in r.getMessage() for r in caplog.records)
