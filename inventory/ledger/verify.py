"""Proof that a ledger file is untouched: SQLite finds its pages sound, the hash chain holds from
the first movement to the head, and `stock` is exactly what replaying every movement gives."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from inventory.ledger.movements import GENESIS_HASH, Movement, MovementKind, StockStatus, chain_hash
from inventory.ledger.store import locked, unopened
from inventory.stock.slot_index import SlotIndex

_COLUMNS = (
    "id, at, kind, gtin, serial, epc, batch, expiry, quantity, from_slot, from_status, to_slot,"
    " to_status, actor, reason, reference, prev_hash, hash"
)
_TABLES = ("movements", "ledger_head", "stock")  # what `verify` reads


@dataclass
class Verdict:
    """What `verify` found: `problems` is empty for a sound ledger."""

    movements: int = 0
    stock_lines: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def movement_of(row: Sequence[Any]) -> Movement:
    """A stored movement row (columns as in _COLUMNS) as a Movement."""
    return Movement(
        kind=MovementKind(row[2]),
        gtin=row[3],
        quantity=row[8],
        serial=row[4],
        epc=row[5],
        batch=row[6],
        expiry=row[7],
        from_slot=row[9],
        to_slot=row[11],
        actor=row[13],
        reason=row[14],
        reference=row[15],
        from_status=StockStatus(row[10] or StockStatus.AVAILABLE),
        to_status=StockStatus(row[12] or StockStatus.AVAILABLE),
    )


def verify(db: sqlite3.Connection) -> Verdict:
    """Check the file's pages (SQLite's integrity check: a page damaged in a copy may hold no
    movement and no stock, only an index), then the chain, the head, stock against the replay,
    and the index built from stock. A file that is not a ledger or cannot be read (empty, not
    SQLite, cut short) is a verdict with that problem; a file another program holds locked, or
    one SQLite cannot open here (permissions, a folder it cannot write in), raises its
    sqlite3.OperationalError: it is not damaged. Every check reads the same state of the file
    (`_one_snapshot`), so a ledger the daemon writes to meanwhile verifies as it stood when
    the check began."""
    verdict = Verdict()
    try:
        with _one_snapshot(db):
            if _sound_ledger_file(db, verdict):
                _check_chain(db, verdict)
    except sqlite3.DatabaseError as exc:
        if locked(exc) or unopened(exc):
            raise
        verdict.problems.append(f"the file cannot be read as a ledger: {exc}")
    return verdict


@contextmanager
def _one_snapshot(db: sqlite3.Connection) -> Iterator[None]:
    """Run the checks in one read transaction (unless `db` is in one already): on a WAL-mode
    ledger each query outside one would see the file as the last commit left it, and a
    movement written between two of them would look like a deleted movement or stock that
    does not add up."""
    if db.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.rollback()  # it only read


def _sound_ledger_file(db: sqlite3.Connection, verdict: Verdict) -> bool:
    """SQLite's integrity check passes and the tables of a ledger are there."""
    found = [
        line
        for row in db.execute("PRAGMA integrity_check(20)")
        for line in str(row[0]).splitlines()
        if not line.startswith("*** in database")  # a heading, not a problem
    ]
    if found != ["ok"]:
        verdict.problems += [f"SQLite's integrity check: {problem}" for problem in found]
        return False
    tables = {str(row[0]) for row in db.execute("SELECT name FROM sqlite_master")}
    if missing := [table for table in _TABLES if table not in tables]:
        verdict.problems.append(
            f"the file has no table {', '.join(missing)}: it is not a ledger (an empty or "
            "unfinished copy?)"
        )
        return False
    return True


def _check_chain(db: sqlite3.Connection, verdict: Verdict) -> None:
    expected: Counter[tuple[str, str, str, str, str]] = Counter()
    prev, last_id = GENESIS_HASH, 0
    for row in db.execute(f"SELECT {_COLUMNS} FROM movements ORDER BY id"):
        verdict.movements += 1
        row_id = row[0]
        if row[16] != prev:
            verdict.problems.append(
                f"movement {row_id}: prev_hash does not match movement {last_id or 'start'} "
                "(a movement before it was deleted or changed)"
            )
            return
        movement = movement_of(row)
        if chain_hash(prev, row[1], movement) != row[17]:
            verdict.problems.append(
                f"movement {row_id}: content does not match its hash (the row was edited)"
            )
            return
        for slot, status, delta in movement.stock_effects():
            expected[(slot, movement.gtin, movement.batch, movement.serial, str(status))] += delta
        prev, last_id = row[17], row_id
    count, head_id, head_hash = db.execute(
        "SELECT movements, last_id, last_hash FROM ledger_head"
    ).fetchone()
    if (count, head_id, head_hash) != (verdict.movements, last_id, prev):
        verdict.problems.append(
            f"the chain ends at movement {last_id} ({verdict.movements} movements) but the head "
            f"records movement {head_id} ({count}): movements at the end were deleted"
        )
        return
    _compare_stock(db, +expected, verdict)


def _compare_stock(
    db: sqlite3.Connection, expected: Counter[tuple[str, str, str, str, str]], verdict: Verdict
) -> None:
    stored: dict[tuple[str, str, str, str, str], int] = {}
    for row in db.execute("SELECT slot, gtin, batch, serial, status, quantity FROM stock"):
        stored[(row[0], row[1], row[2], row[3], row[4])] = row[5]
    verdict.stock_lines = len(stored)
    for key in sorted(set(stored) | set(expected)):
        if stored.get(key, 0) != expected.get(key, 0):
            slot, gtin, batch, serial, status = key
            verdict.problems.append(
                f"stock of slot {slot} GTIN {gtin} batch '{batch}' serial '{serial}' ({status}) "
                f"is {stored.get(key, 0)}, the movements add up to {expected.get(key, 0)}"
            )
            return
    index = SlotIndex.load(db)
    indexed = {line.key: line.quantity for line in index.lines()}
    if {tuple(map(str, k)): v for k, v in indexed.items()} != stored:
        verdict.problems.append("the slot index built from stock does not match stock")
