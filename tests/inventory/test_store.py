"""The ledger file: schema versions and forward migrations, checks at open."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from inventory.alarms.lifecycle import AlarmKind, alarm_id
from inventory.errors import StoreUnavailable
from inventory.keeper import InventoryKeeper
from inventory.ledger import schema, store
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.verify import verify


def file_at_version(path: Path, version: int, *rows: str) -> Path:
    """A ledger file as the release of schema `version` left it, with `rows` inserted."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:version]:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute(f"PRAGMA user_version={version}")
    for row in rows:
        db.execute(row)
    db.close()
    return path


def test_a_version_1_file_is_migrated_and_keeps_its_movements(tmp_path: Path) -> None:
    path = file_at_version(tmp_path / "old.sqlite", 1)  # what the first release created
    keeper = InventoryKeeper(path, {}, "s", "g")
    keeper.commit([Movement(MovementKind.RECEIVE, "04012345123456", 3, to_slot="A-01")])
    keeper.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION == 14
        indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"movements_gtin", "movements_epc", "movements_from_slot"} <= indexes
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"pick_lists", "recalls", "stocktakes"} <= tables
        assert verify(db).ok


def test_alarm_ids_lose_their_dots_in_migration_as_new_ids_are_made(tmp_path: Path) -> None:
    path = file_at_version(
        tmp_path / "v7.sqlite",
        7,
        "INSERT INTO alarms (id, kind, subject, state, raised_at, detail) VALUES"
        " ('discrepancy-A1.2', 'discrepancy', 'A1.2', 'raised', '2026-12-05T08:00:00Z', '{}')",
    )
    keeper = InventoryKeeper(path, {}, "s", "g")
    try:
        (live,) = keeper.alarms.live()
        assert live.id == alarm_id(AlarmKind.DISCREPANCY, "A1.2") == "discrepancy-A1_2"
    finally:
        keeper.close()
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT id FROM alarms")] == ["discrepancy-A1_2"]


@pytest.mark.parametrize(
    ("dotted", "plain", "kept"),
    [
        (("cleared", "2026-01-10"), ("raised", "2026-03-02"), ("rdr_1", "raised")),
        (("raised", "2026-01-10"), ("cleared", "2026-03-02"), ("rdr.1", "raised")),
        (("cleared", "2026-01-10"), ("cleared", "2026-03-02"), ("rdr_1", "cleared")),
        (("cleared", "2026-03-02"), ("cleared", "2026-01-10"), ("rdr.1", "cleared")),
    ],
)
def test_alarm_ids_that_become_one_keep_the_live_row_else_the_later(
    tmp_path: Path, dotted: tuple[str, str], plain: tuple[str, str], kept: tuple[str, str]
) -> None:
    def row(subject: str, state: str, day: str) -> str:
        return (
            "INSERT INTO alarms (id, kind, subject, state, raised_at, detail) VALUES"
            f" ('device_down-{subject}', 'device_down', '{subject}', '{state}',"
            f" '{day}T08:00:00Z', '{{}}')"
        )

    path = file_at_version(tmp_path / "v7.sqlite", 7, row("rdr.1", *dotted), row("rdr_1", *plain))
    InventoryKeeper(path, {}, "s", "g").close()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, subject, state FROM alarms").fetchall()
    assert rows == [("device_down-rdr_1", *kept)]


def test_requests_keep_their_note_and_gain_who_answered_in_migration(tmp_path: Path) -> None:
    path = file_at_version(
        tmp_path / "v8.sqlite",
        8,
        "INSERT INTO procurement_requests (request_id, created_at, gtin, quantity, status,"
        " confirmed_by, updated_at, note) VALUES ('r1', '2026-12-05T08:00:00Z',"
        " '04012345123456', 4, 'shipped', 'auto', '2026-12-05T09:00:00Z', 'DHL 123')",
    )
    InventoryKeeper(path, {}, "s", "g").close()
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT status, note, answered_by, answered_at FROM procurement_requests"
        ).fetchone()
        assert row == ("shipped", "DHL 123", "", None)


def test_alarm_states_superseded_by_an_acknowledged_newer_one_are_dropped_in_migration(
    tmp_path: Path,
) -> None:
    def row(n: int, key: str, sent: bool, kind: str = "alarm") -> str:
        sent_at = "'2026-12-05T09:00:00Z'" if sent else "NULL"
        return (
            "INSERT INTO outbox (id, created_at, kind, key, payload, sent_at) VALUES"
            f" ({n}, '2026-12-05T08:00:00Z', '{kind}', '{key}', '{{\"n\": {n}}}', {sent_at})"
        )

    path = file_at_version(
        tmp_path / "v9.sqlite",
        9,
        row(1, "shortage-a", sent=False),  # refused, then overtaken by 3: dropped
        row(2, "shortage-b", sent=False),  # nothing newer of its alarm: kept
        row(3, "shortage-a", sent=True),
        row(4, "shortage-a", sent=False),  # newer than what the broker took: kept
        row(5, "r1", sent=False, kind="procurement_request"),
        row(6, "r1", sent=True, kind="procurement_request"),
    )
    keeper = InventoryKeeper(path, {}, "s", "g")
    try:
        assert [row.id for row in keeper.pending_messages(10)] == [2, 4, 5]
    finally:
        keeper.close()


def test_a_file_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version={schema.SCHEMA_VERSION + 1}")
    with pytest.raises(store.StoreError, match="upgrade rxedge"):
        store.connect(path)


def test_a_damaged_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite"
    keeper = InventoryKeeper(path, {}, "s", "g")
    for n in range(200):
        keeper.commit(
            [
                Movement(
                    MovementKind.RECEIVE,
                    "04012345123456",
                    1,
                    batch=f"B{n}",
                    to_slot="A-01",
                    reason="x" * 200,
                )
            ]
        )
    keeper.close()
    data = bytearray(path.read_bytes())
    for offset in range(8192, len(data), 4096):  # scribble over every page but the first two
        data[offset + 100 : offset + 140] = b"\xff" * 40
    path.write_bytes(bytes(data))
    with pytest.raises(store.StoreError, match="restore it from a backup") as refused:
        store.connect(path)
    assert not isinstance(refused.value, StoreUnavailable), "no start again would mend it"


def test_a_new_ledger_and_its_companions_are_closed_to_other_users(tmp_path: Path) -> None:
    """Created from a shell (`runuser -u rxedge -- rxedge run --init`, umask 022) as under systemd:
    the stock of a controlled-goods store is no one else's to read."""
    path = tmp_path / "state" / "ledger.sqlite"
    before = os.umask(0o022)
    try:
        keeper = InventoryKeeper(path, {}, "s", "g")
        keeper.commit([Movement(MovementKind.RECEIVE, "04012345123456", 3, to_slot="A-01")])
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode) for p in [path.parent, *path.parent.iterdir()]
        }
        keeper.close()
    finally:
        os.umask(before)
    assert {"ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"} <= modes.keys()
    assert all(mode & 0o007 == 0 for mode in modes.values()), modes


def test_a_ledger_locked_by_another_program_at_migration_is_not_called_damaged(
    tmp_path: Path,
) -> None:
    """A file that needs migrating while another program holds a write lock on it (an open
    sqlite3 session) is whole: the error says it is locked and what to do, never to restore a
    backup or to move the ledger aside, and it is one that may pass (the daemon tries again)."""
    path = file_at_version(tmp_path / "v9.sqlite", 9)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable) as refused:
            store.connect(path, integrity_check=None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    said = str(refused.value)
    assert f"ledger {path} is locked by another program" in said, said
    assert "backup" not in said and "move it aside" not in said
    store.connect(path).close()  # and once let go, it migrates
