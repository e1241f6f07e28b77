"""A ledger left by a release of every older schema version, holding stock, movements, alarms,
procurement requests and waiting messages, opens in this release with all of them intact."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from inventory.ledger import schema, store
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.verify import verify
from inventory.replenishment.policy import Product
from tests.inventory.test_store import file_at_version

GTIN = "04012345123456"
PRODUCTS = {GTIN: Product(GTIN, "Amoxicillin 500 mg x21", reorder_point=4, par=10)}
EPCS = [f"urn:epc:id:sgtin:4012345.012345.{n}" for n in range(1, 4)]


def busy_ledger(path: Path) -> Path:
    """A ledger that has seen some work: packs in, one picked (a shortage: its alarm and
    request), messages waiting for the broker."""
    keeper = InventoryKeeper(path, PRODUCTS, "s1", "g1")
    try:
        keeper.commit(
            [
                Movement(MovementKind.RECEIVE, GTIN, serial=str(n), epc=epc, to_slot="A-01")
                for n, epc in enumerate(EPCS, 1)
            ]
            + [Movement(MovementKind.RECEIVE, GTIN, 2, batch="B7", to_slot="A-02")]
        )
        keeper.commit(
            [Movement(MovementKind.PICK, GTIN, serial="1", epc=EPCS[0], from_slot="A-01")]
        )
    finally:
        keeper.close()
    return path


def contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """What must survive: rows of the tables every version has, in the columns version 1 had."""
    with sqlite3.connect(path) as db:
        return {
            "movements": db.execute("SELECT * FROM movements ORDER BY id").fetchall(),
            "stock": db.execute("SELECT * FROM stock ORDER BY slot, serial").fetchall(),
            "alarms": db.execute("SELECT id, state, detail FROM alarms ORDER BY id").fetchall(),
            "outbox": db.execute(
                "SELECT id, kind, payload FROM outbox WHERE sent_at IS NULL"
            ).fetchall(),
            "requests": db.execute(
                "SELECT request_id, gtin, quantity, status FROM procurement_requests"
            ).fetchall(),
        }


def copy_into(old: Path, current: Path) -> None:
    """Every row of `current` into the older file `old`, in the columns its schema has."""
    db = sqlite3.connect(old, isolation_level=None)
    try:
        db.execute("ATTACH DATABASE ? AS current", (str(current),))
        db.execute("DELETE FROM ledger_head")
        tables = [
            r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type='table'")
        ]
        for table in tables:
            columns = ", ".join(r[1] for r in db.execute(f"PRAGMA main.table_info({table})"))
            db.execute(
                f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM current.{table}"
            )
        db.execute("DETACH DATABASE current")
    finally:
        db.close()


@pytest.mark.parametrize("version", range(1, schema.SCHEMA_VERSION))
def test_a_busy_ledger_of_each_older_version_opens_with_its_work_intact(
    tmp_path: Path, version: int
) -> None:
    current = busy_ledger(tmp_path / "current.sqlite")
    expected = contents(current)
    assert expected["alarms"] and expected["outbox"] and expected["requests"]
    old = file_at_version(tmp_path / f"v{version}.sqlite", version)
    copy_into(old, current)

    keeper = InventoryKeeper(old, PRODUCTS, "s1", "g1")
    try:
        assert keeper.on_hand(GTIN) == 4
        assert keeper.index.placed_epcs() == {EPCS[1]: "A-01", EPCS[2]: "A-01"}
        assert [a.id for a in keeper.alarms.live()] == [row[0] for row in expected["alarms"]]
        keeper.commit([Movement(MovementKind.PICK, GTIN, 1, batch="B7", from_slot="A-02")])
    finally:
        keeper.close()
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert verify(db).ok
    found = contents(old)
    assert found["movements"][: len(expected["movements"])] == expected["movements"]
    assert found["requests"] == expected["requests"]
    assert found["outbox"][: len(expected["outbox"])] == expected["outbox"]


@pytest.mark.parametrize("version", [7, 11])
def test_alarm_messages_waiting_under_an_id_with_dots_are_dropped_and_the_rest_kept(
    tmp_path: Path, version: int
) -> None:
    """Written before alarm ids lost their dots and never sent: published, the topic would make
    NATS's MQTT gateway close the connection, again at every try. The gateway publishes each
    live alarm's state under its new id on connect instead (edge.alarms.retained_alarms)."""
    alarm_id = "discrepancy-A1.2" if version < 8 else "discrepancy-A1_2"

    def message(n: int, kind: str, key: str, payload: str, sent: bool = False) -> str:
        sent_at = "'2026-12-05T08:00:01Z'" if sent else "NULL"
        return (
            "INSERT INTO outbox (id, created_at, kind, key, payload, sent_at) VALUES"
            f" ({n}, '2026-12-05T08:00:00Z', '{kind}', '{key}', '{payload}', {sent_at})"
        )

    old = file_at_version(
        tmp_path / f"v{version}.sqlite",
        version,
        "INSERT INTO alarms (id, kind, subject, state, raised_at, detail) VALUES"
        f" ('{alarm_id}', 'discrepancy', 'A1.2', 'raised', '2026-12-05T08:00:00Z', '{{}}')",
        message(1, "alarm", "device_down-rdr.1", '{"alarm_id": "device_down-rdr.1"}', sent=True),
        message(2, "alarm", "device_down-rdr.1", ""),  # its clear
        message(3, "alarm", "discrepancy-A1.2", '{"alarm_id": "discrepancy-A1.2"}'),
        message(4, "command_result", "c1", '{"ok": true}'),
        message(5, "alarm", "shortage-04012345123456", '{"alarm_id": "shortage-04012345123456"}'),
    )
    keeper = InventoryKeeper(old, PRODUCTS, "s1", "g1")
    try:
        assert [a.id for a in keeper.alarms.live()] == ["discrepancy-A1_2"]
        assert [(row.id, row.key) for row in keeper.pending_messages(10)] == [
            (4, "c1"),
            (5, "shortage-04012345123456"),
        ]
    finally:
        keeper.close()
    with sqlite3.connect(old) as db:
        sent = db.execute("SELECT id FROM outbox WHERE sent_at IS NOT NULL").fetchall()
    assert sent == [(1,)], "what was sent stays on record"


def test_requests_open_in_a_ledger_of_schema_12_are_owed_nothing_until_a_list_comes_short(
    tmp_path: Path,
) -> None:
    """Schema 13 remembers what of each request is owed to short pick lists: a request made
    before is owed nothing, read-only (before the upgrade) and after it, so it covers the
    first list short of its drug, and only that."""
    old = file_at_version(
        tmp_path / "v12.sqlite",
        12,
        "INSERT INTO procurement_requests (request_id, created_at, gtin, quantity, status,"
        " confirmed_by, updated_at) VALUES ('r-1', '2026-12-05T08:00:00.000Z', '"
        + GTIN
        + "', 5, 'requested', 'auto', '2026-12-05T08:00:00.000Z')",
    )
    with contextlib.closing(store.connect_readonly(old)) as db:
        assert [tuple(r) for r in db.execute("SELECT owed FROM procurement_requests")] == [(0,)]
    keeper = InventoryKeeper(old, PRODUCTS, "s1", "g1")
    try:
        keeper.orders.report_short(GTIN, 5, "rx-1")
        assert [r.request_id for r in keeper.orders.open_requests()] == ["r-1"], "covered"
        keeper.orders.report_short(GTIN, 1, "rx-2")
        owed = keeper.db.execute(
            "SELECT quantity, owed FROM procurement_requests ORDER BY rowid"
        ).fetchall()
        # rx-2's pack ordered, with the shelf's restock to par beside the packs owed
        assert [tuple(r) for r in owed] == [(5, 5), (10, 1)], "rx-2's pack ordered"
    finally:
        keeper.close()
