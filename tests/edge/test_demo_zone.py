"""`rxedge demo` runs in the shell that started it, with no configuration file and no service
beside it: a $TZ there is the demo's own zone, not one the service would lack, so the demo does
not warn of it (nor tell anyone to set `timezone` in a configuration it does not have)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from inventory.site_calendar import local_zone

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_takes_the_shells_tz_as_its_zone_without_a_warning() -> None:
    machine = str(local_zone({}))
    shell_zone = "Pacific/Chatham" if machine == "Asia/Kolkata" else "Asia/Kolkata"
    done = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "demo", "--plain", "--seconds", "5"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TZ": shell_zone},
        check=False,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert "\nsummary\n" in out, out
    assert "$TZ" not in out and "timezone" not in out, out
