"""`rxedge expiring --json` as a process under a fake clock: what is expired, and the days
left, are judged on the site's date, in the zone given, of the configuration or of the machine
(which it then names)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind

ROOT = Path(__file__).resolve().parents[2]
GTIN = "04012345123456"


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    keeper.commit(
        [
            Movement(
                MovementKind.RECEIVE, GTIN, 2, batch="B1", expiry="2026-03-09", to_slot="A-01"
            ),
            Movement(
                MovementKind.RECEIVE, GTIN, 1, batch="B2", expiry="2026-03-20", to_slot="A-02"
            ),
        ]
    )
    keeper.close()
    return db


def run_expiring(moment: str, machine_zone: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`rxedge expiring --json --days 30 ARGS` with the clock at `moment` (the machine's local
    time) in `machine_zone`."""
    command = ["expiring", "--json", "--days", "30", *args]
    return subprocess.run(
        ["faketime", "-f", f"@{moment}", sys.executable, "-m", "edge.cli.main", *command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TZ": machine_zone},
        check=False,
        timeout=60,
    )


def expiring_at(moment: str, machine_zone: str, *args: str) -> dict[str, dict[str, object]]:
    """Each batch's line of `run_expiring`."""
    done = run_expiring(moment, machine_zone, *args)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return {str(line["batch"]): line for line in lines}


def test_at_utc_plus_8_just_after_midnight_yesterdays_expiry_is_expired(
    ledger: Path, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ntimezone = "Asia/Shanghai"\ndatabase = "{ledger}"\n'
    )
    # 17:00 UTC on 9 March (the machine runs on UTC) is 01:00 on 10 March in Shanghai.
    lines = expiring_at("2026-03-09 17:00:00", "UTC", "--config", str(config))
    assert lines["B1"]["expired"] is True and lines["B1"]["days_left"] == -1
    assert lines["B2"]["expired"] is False and lines["B2"]["days_left"] == 10
    # 23:00 on 9 March there: the last good day.
    lines = expiring_at("2026-03-09 15:00:00", "UTC", "--config", str(config))
    assert lines["B1"]["expired"] is False and lines["B1"]["days_left"] == 0


def test_at_utc_minus_5_in_the_evening_the_pack_is_still_good(ledger: Path) -> None:
    # The machine's own zone (no configuration): 19:30 on 9 March in Bogota is already
    # 10 March in UTC.
    lines = expiring_at("2026-03-09 19:30:00", "America/Bogota", "--db", str(ledger))
    assert lines["B1"]["expired"] is False and lines["B1"]["days_left"] == 0
    lines = expiring_at("2026-03-10 00:30:00", "America/Bogota", "--db", str(ledger))
    assert lines["B1"]["expired"] is True and lines["B1"]["days_left"] == -1


def test_a_bare_ledger_file_is_judged_in_the_zone_given(ledger: Path) -> None:
    """A ledger copied to a laptop in UTC, read for a site in Shanghai: 17:00 UTC on 9 March
    is 10 March there, and B1 (good through the 9th) is expired."""
    lines = expiring_at(
        "2026-03-09 17:00:00", "UTC", "--db", str(ledger), "--timezone", "Asia/Shanghai"
    )
    assert lines["B1"]["expired"] is True and lines["B1"]["days_left"] == -1


def test_a_bare_ledger_file_names_the_machines_zone_it_judges_in(ledger: Path) -> None:
    done = run_expiring("2026-03-09 17:00:00", "America/Bogota", "--db", str(ledger))
    assert done.returncode == 0, done.stderr
    assert "dates judged in this machine's time zone, America/Bogota" in done.stderr
    assert "--timezone ZONE" in done.stderr
    assert all(json.loads(line) for line in done.stdout.splitlines()), "stdout stays JSON"


def test_a_wrong_zone_is_refused_by_name(ledger: Path) -> None:
    done = run_expiring("2026-03-09 17:00:00", "UTC", "--db", str(ledger), "--timezone", "Asia/X")
    assert done.returncode == 2
    assert "--timezone: 'Asia/X' is not an IANA time zone name" in done.stderr


def test_a_posix_tz_left_to_judge_by_is_warned_of_once(ledger: Path, tmp_path: Path) -> None:
    """`timezone` left empty on a machine whose $TZ is a POSIX rule: the dates are judged in
    UTC (the rule is not read), and the command says so, as the daemon and check-config do;
    stdout stays JSON."""
    config = tmp_path / "gateway.toml"
    config.write_text(f'site = "s1"\ngateway = "g1"\ndatabase = "{ledger}"\n')
    # 02:00 on 10 March on the machine's clock (UTC+8 by its rule) is 18:00 on 9 March in UTC.
    done = run_expiring("2026-03-10 02:00:00", "CST-8", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("$TZ is 'CST-8', not an IANA zone name") == 1, done.stderr
    assert done.stderr.startswith("rxedge: warning: timezone: $TZ is 'CST-8'")
    assert 'set timezone = "Area/City"' in done.stderr
    lines = {line["batch"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert lines["B1"]["expired"] is False, "judged on UTC's 9 March, as the warning says"
    named = config.with_name("named.toml")
    named.write_text(config.read_text() + 'timezone = "Asia/Shanghai"\n')
    quiet = run_expiring("2026-03-10 02:00:00", "CST-8", "--config", str(named))
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    in_shanghai = {line["batch"]: line for line in map(json.loads, quiet.stdout.splitlines())}
    assert in_shanghai["B1"]["expired"] is True, "10 March there"
