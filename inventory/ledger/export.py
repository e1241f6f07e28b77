"""The ledger's tables for other systems: rows read through sqlite-utils from a read-only
connection, so an export runs beside the daemon's writes (WAL: a reader sees the last commit
and never blocks the writer, nor waits for it).

The write path stays on plain sqlite3 with group commit (inventory/ledger/writer.py): see
docs/architecture.md for why and the figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inventory.errors import InventoryError
from inventory.ledger.commit import iso
from inventory.ledger.store import connect_readonly

if TYPE_CHECKING:
    from sqlite_utils import Database


@dataclass(frozen=True, slots=True)
class Exported:
    """How one table is exported: its order, the time of a row's last change (None: the table
    is a state with no times, e.g. stock), and the columns that hold JSON documents."""

    order_by: str
    changed_at: str | None = None
    documents: tuple[str, ...] = ()


TABLES: dict[str, Exported] = {
    "movements": Exported("id", "at"),
    "stock": Exported("slot, gtin, batch, serial, status"),
    "alarms": Exported(
        "raised_at, id", "coalesce(cleared_at, acknowledged_at, raised_at)", ("detail",)
    ),
    "procurement_requests": Exported("created_at, request_id", "updated_at"),
    "stocktakes": Exported(
        "ended_at, stocktake_id", "coalesce(confirmed_at, ended_at)", ("report",)
    ),
}


class ExportError(InventoryError, ValueError):
    """An export that cannot be made as asked; the message says why."""


def since_stamp(text: str, zone: tzinfo) -> str:
    """An ISO 8601 time (or date) as the ledger writes times (UTC, milliseconds, Z); one
    without an offset is the site's time in `zone` (a date: the start of that site day), as
    the person typing it means it."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(
            f"--since {text!r} is not an ISO 8601 time: e.g. 2026-11-26T08:00:00Z or 2026-11-26"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return iso(moment.astimezone(UTC))


def open_export(path: Path | str) -> Database:
    """The ledger file, read-only, for sqlite-utils."""
    # Loaded here, by the export alone: sqlite-utils (and numpy with it) takes a fifth of a
    # second to load, which every other `rxedge` command would pay at its start.
    from sqlite_utils import Database

    return Database(connect_readonly(path))


def columns(db: Database, table: str) -> list[str]:
    """The columns of `table`, in the file's order; ExportError when the file has no such
    table (it is not a ledger: an older release's has each, read as the current schema)."""
    # Asked of SQLite, not of sqlite-utils' table list: that holds the file's tables alone.
    found = [
        row["name"] for row in db.query("SELECT name FROM pragma_table_info(?)", [_known(table)])
    ]
    if not found:
        raise ExportError(
            f"the file has no table {table}: it is not a ledger; give the gateway's database file"
        )
    return found


def export_rows(
    db: Database, table: str, since: str | None = None, decode_documents: bool = True
) -> Iterator[dict[str, Any]]:
    """The rows of `table` in a stable order; with `since` (a ledger timestamp) only those
    changed at or after it. JSON documents in a row become objects unless `decode_documents`
    is False (CSV keeps them as text)."""
    how = TABLES[_known(table)]
    where, arguments = "", []
    if since is not None:
        if how.changed_at is None:
            raise ExportError(f"{table} is the state now and has no times: leave out --since")
        where, arguments = f" WHERE {how.changed_at} >= ?", [since]
    rows = db.query(f"SELECT * FROM {table}{where} ORDER BY {how.order_by}", arguments)
    for row in rows:
        if decode_documents:
            for column in how.documents:
                if isinstance(row.get(column), str):
                    row[column] = json.loads(row[column])
        yield row


def _known(table: str) -> str:
    if table not in TABLES:
        raise ExportError(f"no table {table!r} to export; tables: {', '.join(TABLES)}")
    return table
