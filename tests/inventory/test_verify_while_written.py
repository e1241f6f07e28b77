"""`rxedge ledger verify` beside the running daemon: the ledger is checked as it stood when the
check began, whatever is written meanwhile, and a good ledger is never called damaged; and the
daily backup unit (systemd/rxedge-backup.service), its command lines run as systemd would run
them, copies a ledger being written into a copy that verifies, or fails."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.ledger_fixture import build, gtin, slot

ROOT = Path(__file__).resolve().parents[2]
MOVEMENTS = 60_000  # enough for the check to take a few seconds


def large_ledger(path: Path) -> Path:
    """A ledger whose check takes seconds: many movements over many slots."""
    build(path, movements=MOVEMENTS, slots=6_000, products=600)
    return path


@contextlib.contextmanager
def steady_writer(ledger: Path) -> Iterator[None]:
    """A writer process committing one movement after another into `ledger`, as the daemon
    does, from its first durable movement on until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.inventory.steady_writer", str(ledger), gtin(1)]
        + [slot(n) for n in range(1, 40)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdin is not None and writer.stdout is not None
        try:
            assert select.select([writer.stdout], [], [], 60)[0], "the writer did not start"
            assert writer.stdout.readline() == "ready\n", "the writer ended"
            yield
        finally:
            writer.stdin.close()  # its sign to stop
            assert writer.wait(timeout=60) == 0


def written(ledger: Path) -> int:
    """How many movements the ledger's head counts now."""
    with contextlib.closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT movements FROM ledger_head").fetchone()[0])


def rxedge_verify(ledger: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "ledger", "verify", "--db", str(ledger), *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def test_a_ledger_written_during_the_check_verifies_as_it_stood_when_the_check_began(
    tmp_path: Path,
) -> None:
    ledger = large_ledger(tmp_path / "ledger.sqlite")
    with steady_writer(ledger):
        before = written(ledger)
        result = rxedge_verify(ledger, "--json")
        after = written(ledger)
    assert (result.returncode, result.stderr) == (0, ""), result
    verdict = result.stdout
    assert '"ok": true' in verdict and '"problems": []' in verdict, verdict
    checked = int(verdict.split('"movements": ')[1].split(",")[0])
    assert before <= checked < after, (before, checked, after)  # written while it checked
    assert rxedge_verify(ledger).stdout.startswith(f"ledger ok: {written(ledger)} movements")


BACKUP_UNIT = ROOT / "systemd" / "rxedge-backup.service"


def unit_commands(unit: Path, paths: dict[str, str]) -> tuple[list[list[str]], dict[str, str]]:
    """The command lines systemd runs for a oneshot `unit` (ExecStartPre=, then ExecStart=,
    each in order) as it would run them, with the installed `paths` replaced by the test's;
    and the unit's Environment=."""
    lines = [line for line in unit.read_text().splitlines() if not line.startswith("#")]
    env = dict(
        item.split("=", 1)
        for line in lines
        if line.startswith("Environment=")
        for item in shlex.split(line.removeprefix("Environment="))
    )
    commands = []
    for key in ("ExecStartPre=", "ExecStart="):
        for line in (line.removeprefix(key) for line in lines if line.startswith(key)):
            assert "%" not in line.replace("%%", ""), f"a specifier in {line}"
            for installed, here in paths.items():
                line = line.replace(installed, here)
            words = []
            for word in shlex.split(line.replace("%%", "%")):
                for name, value in env.items():
                    word = word.replace(f"${{{name}}}", value)
                words.append(word.replace("$$", "$"))
            commands.append(words)
    return commands, env


def run_backup_unit(ledger: Path, backups: Path) -> int:
    """Run rxedge-backup.service's commands as systemd would: one after another, stopping at
    the first that fails (its status, the unit's; 0 when all succeed)."""
    sqlite3_program = shutil.which("sqlite3")
    rxedge = Path(sys.executable).parent / "rxedge"
    if sqlite3_program is None or not rxedge.exists():
        pytest.skip("no sqlite3 (Debian package sqlite3) or no rxedge script in this venv")
    commands, env = unit_commands(
        BACKUP_UNIT,
        {
            "/usr/bin/sqlite3": sqlite3_program,
            "/opt/rxedge/.venv/bin/rxedge": str(rxedge),
            "/var/lib/rxedge/ledger.sqlite": str(ledger),
            "/var/backups/rxedge": str(backups),
        },
    )
    for command in commands:
        done = subprocess.run(command, env={**os.environ, **env}, timeout=120, check=False)
        if done.returncode != 0:
            return done.returncode
    return 0


def aged(path: Path, days: float) -> Path:
    path.write_bytes(b"an old copy")
    then = time.time() - days * 86400
    os.utime(path, (then, then))
    return path


def test_the_backup_unit_copies_a_ledger_being_written_and_the_copy_verifies(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    build(ledger, movements=3_000, slots=300, products=30)
    backups = tmp_path / "backups"
    backups.mkdir()
    old = aged(backups / "ledger-20000101-0315.sqlite", days=40)
    recent = aged(backups / "ledger-20000102-0315.sqlite", days=3)
    with steady_writer(ledger):
        before = written(ledger)
        assert run_backup_unit(ledger, backups) == 0
        after = written(ledger)
    [copy] = [c for c in backups.glob("ledger-*.sqlite") if c != recent]
    assert re.fullmatch(r"ledger-\d{8}-\d{4}\.sqlite", copy.name), copy.name
    assert not old.exists() and recent.exists(), "copies older than KEEP_DAYS are removed"
    assert sorted(p.name for p in backups.iterdir()) == sorted([copy.name, recent.name])
    result = rxedge_verify(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert before <= written(copy) <= after


def test_a_copy_that_fails_the_check_fails_the_backup_unit_and_keeps_the_old_copies(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    build(ledger, movements=300, slots=30, products=3)
    with contextlib.closing(sqlite3.connect(ledger)) as db, db:
        db.execute("UPDATE movements SET reference = 'rx-9' WHERE id = 3")
    backups = tmp_path / "backups"
    backups.mkdir()
    old = aged(backups / "ledger-20000101-0315.sqlite", days=40)
    assert run_backup_unit(ledger, backups) == 1  # LEDGER DAMAGED
    assert sorted(p.name for p in backups.iterdir()) == [old.name, "ledger-new.sqlite.part"]
    assert run_backup_unit(ledger, backups) == 1, "the next run starts afresh"
