"""`verify` and `rxedge ledger verify` catch every kind of tampering, and name the first bad row."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.verify import verify
from inventory.site_calendar import SiteCalendar

ROOT = Path(__file__).resolve().parents[2]
GTIN = "04012345123456"


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(
        path, {}, "s", "g", SiteCalendar(UTC, lambda: datetime(2026, 11, 26, tzinfo=UTC))
    )
    keeper.commit(
        [
            Movement(
                MovementKind.RECEIVE,
                GTIN,
                10,
                batch="B1",
                expiry="2027-01-31",
                to_slot="A-01",
                actor="ana",
            )
        ]
    )
    for n in range(4):
        keeper.commit(
            [
                Movement(
                    MovementKind.PICK,
                    GTIN,
                    1,
                    batch="B1",
                    expiry="2027-01-31",
                    from_slot="A-01",
                    reference=f"rx-{n}",
                )
            ]
        )
    keeper.commit(
        [
            Movement(
                MovementKind.MOVE,
                GTIN,
                2,
                batch="B1",
                expiry="2027-01-31",
                from_slot="A-01",
                to_slot="A-02",
            )
        ]
    )
    keeper.close()
    return path


def tamper(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql)


def check(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return verify(db).problems


def rxedge_verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "ledger", "verify", "--db", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def test_untouched_ledger_verifies(ledger: Path) -> None:
    assert check(ledger) == []
    result = rxedge_verify(ledger)
    assert result.returncode == 0 and "6 movements chained" in result.stdout


def test_one_changed_byte_in_a_movement_is_caught(ledger: Path) -> None:
    tamper(ledger, "UPDATE movements SET reference = 'rx-9' WHERE id = 3")
    assert check(ledger) == ["movement 3: content does not match its hash (the row was edited)"]
    result = rxedge_verify(ledger)
    assert result.returncode == 1 and "movement 3" in result.stdout


def test_a_changed_quantity_is_caught(ledger: Path) -> None:
    tamper(ledger, "UPDATE movements SET quantity = 2 WHERE id = 2")
    assert check(ledger)[0].startswith("movement 2:")


def test_a_deleted_row_in_the_middle_is_caught(ledger: Path) -> None:
    tamper(ledger, "DELETE FROM movements WHERE id = 4")
    (problem,) = check(ledger)
    assert problem.startswith("movement 5: prev_hash does not match movement 3")


def test_a_deleted_last_row_is_caught(ledger: Path) -> None:
    tamper(ledger, "DELETE FROM movements WHERE id = 6")
    (problem,) = check(ledger)
    assert "movements at the end were deleted" in problem


def test_an_edited_stock_row_is_caught(ledger: Path) -> None:
    tamper(ledger, "UPDATE stock SET quantity = quantity + 1 WHERE slot = 'A-01'")
    (problem,) = check(ledger)
    assert problem.startswith("stock of slot A-01 GTIN 04012345123456 batch 'B1'")
    assert "is 5, the movements add up to 4" in problem
    assert rxedge_verify(ledger).returncode == 1


def test_a_deleted_stock_row_is_caught(ledger: Path) -> None:
    tamper(ledger, "DELETE FROM stock WHERE slot = 'A-02'")
    (problem,) = check(ledger)
    assert "slot A-02" in problem and "is 0, the movements add up to 2" in problem


def rot_index_page(path: Path, index: str) -> None:
    """Change a digit of every GTIN on `index`'s page, as a bad block in a copy would: the file
    still reads, and nothing `verify` walks (movements, stock) reads that page."""
    with sqlite3.connect(path) as db:
        (page,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (index,)
        ).fetchone()
        (size,) = db.execute("PRAGMA page_size").fetchone()
    db.close()
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    rotten = data[start : start + size].replace(GTIN.encode(), GTIN[:-1].encode() + b"7")
    data[start : start + size] = rotten
    path.write_bytes(bytes(data))


def test_a_damaged_page_sqlite_finds_is_caught(ledger: Path) -> None:
    rot_index_page(ledger, "movements_gtin")
    (first, *_) = check(ledger)
    assert first.startswith("SQLite's integrity check: "), first
    result = rxedge_verify(ledger)
    assert result.returncode == 1, result
    assert result.stdout.startswith("LEDGER DAMAGED: SQLite's integrity check: "), result.stdout
    assert result.stdout.count("\n") == 1 and not result.stderr


def unreadable_copy(ledger: Path, kind: str) -> Path:
    """A backup that went wrong: empty, not SQLite at all, or cut short."""
    copy = ledger.with_name(f"{kind}.sqlite")
    data = ledger.read_bytes()
    copy.write_bytes({"empty": b"", "text": b"hello\n", "truncated": data[: len(data) // 3]}[kind])
    return copy


@pytest.mark.parametrize(
    ("kind", "said"),
    [
        ("empty", "the file has no table movements, ledger_head, stock: it is not a ledger"),
        ("text", "the file cannot be read as a ledger: file is not a database"),
        ("truncated", "the file cannot be read as a ledger: database disk image is malformed"),
    ],
)
def test_a_backup_that_cannot_be_read_is_damaged_not_a_traceback(
    ledger: Path, kind: str, said: str
) -> None:
    copy = unreadable_copy(ledger, kind)
    result = rxedge_verify(copy)
    assert (result.returncode, result.stderr) == (1, ""), result
    assert result.stdout.startswith(f"LEDGER DAMAGED: {said}"), result.stdout


@pytest.mark.parametrize("kind", ["empty", "text", "truncated"])
@pytest.mark.parametrize(
    "command", [["stock", GTIN], ["ledger", "export", "--table", "stock", "--format", "json"]]
)
def test_the_other_commands_say_in_one_line_that_a_file_is_no_ledger(
    ledger: Path, kind: str, command: list[str]
) -> None:
    copy = unreadable_copy(ledger, kind)
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", *command, "--db", str(copy)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (2, ""), result
    (line,) = result.stderr.splitlines()
    assert str(copy) in line or "the file has no table stock" in line, line
    assert "not a ledger" in line or "damaged or unreadable" in line, line


def test_a_ledger_another_program_holds_locked_is_not_called_damaged(ledger: Path) -> None:
    with sqlite3.connect(ledger) as db:
        db.execute(
            "PRAGMA journal_mode=DELETE"
        )  # as a copy may be: a writer then shuts readers out
    db.close()
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = rxedge_verify(ledger)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (result.returncode, result.stdout) == (2, ""), result
    assert f"ledger {ledger} is locked by another program" in result.stderr, result.stderr
    assert rxedge_verify(ledger).returncode == 0


def test_the_help_tells_damage_from_a_ledger_that_cannot_be_checked() -> None:
    """A script keeping backups acts on the status: 1 (take the backup again) only for damage;
    what keeps the check from reading the file (permissions, a -wal that needs an -shm, a
    writer that started during the check) is 2, as the command exits."""
    shown = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "ledger", "verify", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    ).stdout
    entries = re.split(r"\n  (?=\S)", "\n" + shown.split("\nexit status:\n")[1])[1:]
    statuses = dict(" ".join(entry.split()).split(" ", 1) for entry in entries)
    assert list(statuses) == ["0", "1", "2"], statuses
    assert statuses["0"] == "ok: the ledger is untouched"
    assert statuses["1"] == (
        "damaged: SQLite's integrity check fails, the chain or the stock does not hold, or "
        "the file is no ledger (empty, cut short, not SQLite); the first problem is named"
    )
    assert statuses["2"] == (
        "it cannot be checked, which says nothing of its content (the message says why and "
        "what to do): no file there; another program holds it locked; it cannot be opened or "
        "read here (this user may not read a file of it, or a -wal beside it holds changes "
        "that need an -shm this user cannot create); it changed during the check (run it "
        "again); the configuration cannot be read; or a usage error"
    )
