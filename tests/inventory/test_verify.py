"""`verify` and `rxedge ledger verify` catch every kind of tampering, and name the first bad row."""

from __future__ import annotations

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
