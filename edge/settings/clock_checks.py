"""The machine's clock and zone, as `rxedge check-config` looks at them: whether systemd holds
the daemon back until NTP has set the time, and, where `timezone` is left empty, whether the
machine's own zone is one (`configured_zone_problems`).

The unit starts after time-sync.target, which waits for the clock only where
systemd-time-wait-sync.service (or chrony's chrony-wait.service) is enabled; without it a box
with no real-time clock (a Raspberry Pi) starts the daemon at its last shutdown's time, and the
expiry sweep waits with a `clock_behind` alarm until NTP sets it. Debian's
systemd-time-wait-sync.service waits without end: on a network that blocks NTP the daemon
would never start after a reboot, unless the drop-in shipped beside the units bounds the wait
(chrony-wait.service gives up after 3 minutes by itself)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from edge.settings.config import GatewayConfig
from inventory.site_calendar import configured_zone_problems

TIME_WAIT_UNITS = ("systemd-time-wait-sync.service", "chrony-wait.service")
ENABLED = ("enabled", "enabled-runtime")
# The drop-in that bounds the wait (TimeoutStartSec= alone: it fits either unit).
DROP_IN = "/opt/rxedge/systemd/systemd-time-wait-sync.service.d/rxedge.conf"


@dataclass(frozen=True, slots=True)
class Systemd:
    """Where to ask systemd about this machine: the directory that exists only on a machine
    booted with systemd, and the `systemctl` to run."""

    booted: Path = Path("/run/systemd/system")
    systemctl: str = "systemctl"

    def ask(self, *args: str) -> subprocess.CompletedProcess[str] | None:
        """`systemctl ARGS` run, or None where it could not be run in time."""
        try:
            return subprocess.run(
                [self.systemctl, *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None


# The machine check-config looks at (the test suite points it at a machine of its own).
HOST = Systemd()


def clock_warnings(config: GatewayConfig) -> list[str]:
    """What this machine's clock and zone say about running `config` (warnings)."""
    found = configured_zone_problems(config.timezone)
    if (unsynced := time_sync_problem(HOST)) is not None:
        found.append(unsynced)
    return found


def time_sync_problem(systemd: Systemd) -> str | None:
    """Why the daemon may start before NTP has set the clock, or None (also where systemd does
    not run this machine, or cannot be asked)."""
    if not systemd.booted.is_dir():
        return None
    states = []
    for unit in TIME_WAIT_UNITS:
        if (asked := systemd.ask("is-enabled", unit)) is None:
            return None
        state = asked.stdout.strip() or "not installed"
        if state in ENABLED:
            return endless_wait_problem(systemd, unit)
        states.append(state)
    return (
        f"clock: systemd-time-wait-sync.service is {states[0]}, so the daemon may start before "
        "NTP has set the clock (its unit waits for time-sync.target, which waits for the time "
        "only with that service): a box without a real-time clock, as a Raspberry Pi, would "
        "start at its last shutdown's time, its expiry sweep held back (clock_behind alarm). "
        "Enable it: systemctl enable systemd-time-wait-sync, with its drop-in that bounds the "
        "wait (docs/install.md, section 5; with chrony instead of systemd-timesyncd: "
        "systemctl enable chrony-wait)"
    )


def endless_wait_problem(systemd: Systemd, unit: str) -> str | None:
    """Why the enabled `unit` may hold the daemon back for ever after a reboot (its start
    never times out), or None (also where systemd cannot be asked)."""
    asked = systemd.ask("show", "--property=TimeoutStartUSec", "--value", unit)
    if asked is None or asked.returncode != 0 or asked.stdout.strip() != "infinity":
        return None
    return (
        f"clock: {unit} waits for NTP without end (TimeoutStartSec=infinity), and the daemon "
        "starts only after it: on a network that blocks NTP the daemon would never start after "
        f"a reboot. Bound the wait: install -D -m 0644 {DROP_IN} "
        f"/etc/systemd/system/{unit}.d/rxedge.conf; systemctl daemon-reload"
    )
