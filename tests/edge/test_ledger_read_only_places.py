"""A backup kept where its reader cannot write (a folder of another user, read-only media such as
a USB stick checked on a replacement box): `ledger verify` and the questions read it as it is,
although SQLite cannot make the -shm file it reads a WAL-mode ledger through there. A ledger
that cannot be read here (its file closed to this user, changes in a -wal beside it that
cannot be read without an -shm) is named with why and what to do, never called damaged."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.edge.test_check_config_ledger_access import (
    AS_SERVICE_USER,
    ROOT,
    USER,
    _private_mounts,
    as_service_user,
    in_private_mounts,
    rxedge,
)
from tests.inventory.test_store_upgrades import EPCS, GTIN, busy_ledger
from tests.inventory.test_verify_while_written import large_ledger, steady_writer

pytestmark = pytest.mark.skipif(USER is None, reason="needs root to act as another user")


def sqlite_backup(ledger: Path, backup: Path) -> None:
    """A backup as docs/install.md takes it (`sqlite3 LEDGER ".backup FILE"`): in WAL mode,
    as the ledger it was taken of."""
    subprocess.run(["sqlite3", str(ledger), f".backup '{backup}'"], check=True, timeout=30)
    assert backup.read_bytes()[18:20] == b"\x02\x02", "a WAL-mode file"
    assert not Path(f"{backup}-shm").exists()
    backup.chmod(0o644)


def closed_folder(place: Path) -> Path:
    folder = place / "backups"
    folder.mkdir()
    return folder


@as_service_user
def test_a_backup_in_a_folder_its_reader_cannot_write_is_verified_and_questioned(
    place: Path,
) -> None:
    folder = closed_folder(place)
    backup = folder / "ledger-20261207.sqlite"
    sqlite_backup(busy_ledger(place / "ledger.sqlite"), backup)
    folder.chmod(0o555)

    verified = rxedge("ledger", "verify", "--db", str(backup))
    assert (verified.returncode, verified.stderr) == (0, ""), verified.stdout + verified.stderr
    assert verified.stdout.startswith("ledger ok: 5 movements chained")
    stock = rxedge("stock", GTIN, "--db", str(backup))
    assert stock.returncode == 0 and "A-01" in stock.stdout, stock.stderr
    assert sorted(p.name for p in folder.iterdir()) == [backup.name], "nothing made beside it"


def wait_until_open(pid: int, file: Path) -> None:
    """Until the process `pid` has `file` open."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        fds = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):  # a descriptor closed while looked at
            if any(os.readlink(fd) == str(file) for fd in fds.iterdir()):
                return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not open {file}")


@as_service_user
def test_a_writer_starting_during_a_lockless_check_is_said_never_called_damage(
    place: Path,
) -> None:
    """A backup in a folder its reader cannot write is read as immutable, without locks: a
    program that starts writing it meanwhile (the daemon started on it) changes pages under
    the check. That is said (exit 2: run it again), never called damage; run again beside
    the writer, the check reads through the writer's -shm and finds the ledger ok."""
    folder = closed_folder(place)
    backup = folder / "ledger.sqlite"
    sqlite_backup(large_ledger(place / "ledger.sqlite"), backup)
    folder.chmod(0o555)
    verify = [*AS_SERVICE_USER, sys.executable, "-m", "edge.cli.main", "ledger", "verify"]
    with subprocess.Popen(
        [*verify, "--db", str(backup)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as check:
        wait_until_open(check.pid, backup)
        with steady_writer(backup):
            said, problem = check.communicate(timeout=120)
            again = rxedge("ledger", "verify", "--db", str(backup))
    assert "DAMAGED" not in said and check.returncode in (0, 2), said + problem
    if check.returncode == 2:
        assert said == "" and problem == (
            f"rxedge: ledger {backup} changed during the check (a program began writing it), "
            "so what was read may be half-written: it is not known to be damaged; run the "
            "check again\n"
        )
    assert (again.returncode, again.stderr) == (0, ""), again.stdout + again.stderr
    assert again.stdout.startswith("ledger ok: ")


@as_service_user
def test_changes_in_a_wal_that_cannot_be_read_here_are_named_not_called_damage(
    place: Path,
) -> None:
    """A ledger copied with its -wal and without its -shm (a box that lost power, copied as
    it lay) into a folder its reader cannot write: the -wal's changes need an -shm to be
    read, and SQLite cannot make one there."""
    folder = closed_folder(place)
    ledger = folder / "ledger.sqlite"
    source = busy_ledger(place / "ledger.sqlite")
    with contextlib.closing(sqlite3.connect(source)) as db:
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute(f"INSERT INTO recalls VALUES ('{GTIN}', 'B7', '2026-12-07', 'supplier')")
        db.commit()
        for suffix in ("", "-wal"):  # copied while the ledger is open: its -wal holds a change
            shutil.copy(f"{source}{suffix}", f"{ledger}{suffix}")
    assert Path(f"{ledger}-wal").stat().st_size > 0
    for file in folder.iterdir():
        file.chmod(0o644)
    folder.chmod(0o555)

    for question in (["ledger", "verify"], ["stock", GTIN]):
        refused = rxedge(*question, "--db", str(ledger))
        said = refused.stderr
        assert refused.returncode == 2 and refused.stdout == "", (question, said)
        assert "damaged or unreadable" not in said and "restore it" not in said, said
        assert f"ledger {ledger} cannot be read here: ledger.sqlite-wal beside it holds" in said
        assert f"user nobody cannot create one in {folder}; the file is not damaged" in said
        assert f"(cp {ledger} {ledger}-wal FOLDER/)" in said


@as_service_user
def test_a_ledger_its_reader_may_not_read_is_named_with_its_owner_not_called_damaged(
    place: Path,
) -> None:
    ledger = place / "ledger.sqlite"
    busy_ledger(ledger)
    ledger.chmod(0o600)  # root's

    for question in (["ledger", "verify"], ["history", "A-01"]):
        refused = rxedge(*question, "--db", str(ledger))
        said = refused.stderr
        assert refused.returncode == 2 and refused.stdout == "", said
        assert "damaged or unreadable" not in said and "restore it" not in said, said
        assert (
            f"ledger {ledger} cannot be opened: user nobody may not read {ledger} (it belongs "
            "to root:root, mode -rw-------); the file is not damaged: ask as a user who may "
            "read it (runuser -u root -- rxedge ...)"
        ) in said


@pytest.mark.skipif(not _private_mounts(), reason="needs root and unshare to mount read-only")
def test_a_backup_on_read_only_media_is_verified_and_questioned(place: Path) -> None:
    """Even root cannot write there: the stick is mounted read-only."""
    stick = closed_folder(place)
    backup = stick / "ledger-20261207.sqlite"
    sqlite_backup(busy_ledger(place / "ledger.sqlite"), backup)
    rxedge_cli = f"{sys.executable} -m edge.cli.main"
    found = in_private_mounts(
        f"mount --bind {stick} {stick} && mount -o remount,ro,bind {stick} && "
        f"{rxedge_cli} ledger verify --db {backup}; echo verify=$?; "
        f"{rxedge_cli} where {EPCS[2]} --db {backup}; echo where=$?"
    )
    assert "verify=0" in found.stdout and "where=0" in found.stdout, found.stdout + found.stderr
    assert "ledger ok: 5 movements chained" in found.stdout and found.stderr == ""
    assert os.listdir(stick) == [backup.name]
    with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal", "left as it was"
