"""`rxedge check-config` warns when systemd may start the daemon before NTP has set the clock
(systemd-time-wait-sync.service, or chrony's chrony-wait.service, not enabled): a Raspberry Pi
would start at its last shutdown's time. Where systemd does not run the machine, or cannot be
asked, it says nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.settings.clock_checks import time_sync_problem


def fake_systemctl(tmp_path: Path, states: dict[str, str]) -> str:
    """A `systemctl` that answers `is-enabled UNIT` with `states[UNIT]` (nothing, exit 1,
    for a unit not installed), as the real one does."""
    program = tmp_path / "systemctl"
    cases = "".join(
        f"  {unit}) echo {state}; exit {0 if state == 'enabled' else 1} ;;\n"
        for unit, state in states.items()
    )
    program.write_text(
        '#!/bin/sh\ncase "$2" in\n'
        + cases
        + '  *) echo "Failed to get unit file state for $2: No such file" >&2; exit 1 ;;\nesac\n'
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
    problem = time_sync_problem(systemd, systemctl)
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
    assert time_sync_problem(systemd, fake_systemctl(tmp_path, states)) is None


def test_without_systemd_nothing_is_said(tmp_path: Path, systemd: Path) -> None:
    systemctl = fake_systemctl(tmp_path, {"systemd-time-wait-sync.service": "disabled"})
    assert time_sync_problem(tmp_path / "no-such-dir", systemctl) is None
    assert time_sync_problem(systemd, str(tmp_path / "no-systemctl")) is None
