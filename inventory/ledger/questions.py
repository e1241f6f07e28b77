"""The questions people ask of the ledger, answered from the file (also while the daemon runs):
stock of a GTIN, where a pack is, the history of a GTIN, pack or slot, what expires soon."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

from inventory.site_calendar import SiteCalendar

HISTORY_LIMIT = 200


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def stock_of(db: sqlite3.Connection, gtin: str) -> list[dict[str, Any]]:
    """On hand of `gtin` by slot, batch and status (serialized packs counted per batch)."""
    return _rows(
        db.execute(
            "SELECT slot, batch, expiry, status, sum(quantity) AS quantity, count(*) AS lines"
            " FROM stock WHERE gtin = ? GROUP BY slot, batch, expiry, status"
            " ORDER BY coalesce(expiry, '9999-12-31'), slot, batch",
            (gtin,),
        )
    )


def stock_by_slot(db: sqlite3.Connection) -> dict[str, int]:
    """How many packs each slot holds (every status)."""
    rows = db.execute("SELECT slot, sum(quantity) FROM stock GROUP BY slot ORDER BY slot")
    return {str(slot): int(quantity) for slot, quantity in rows}


def where_is(db: sqlite3.Connection, epc: str) -> dict[str, Any] | None:
    """Where a tagged pack is now, or where it was last seen leaving; None if never booked."""
    rows = _rows(
        db.execute(
            "SELECT slot, gtin, batch, serial, status, expiry FROM stock WHERE epc = ?", (epc,)
        )
    )
    if rows:
        return {"on_shelf": True, **rows[0]}
    last = _rows(
        db.execute(
            "SELECT id, at, kind, gtin, serial, from_slot, to_slot, actor, reason, reference"
            " FROM movements WHERE epc = ? ORDER BY id DESC LIMIT 1",
            (epc,),
        )
    )
    return {"on_shelf": False, **last[0]} if last else None


def history(db: sqlite3.Connection, key: str, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """Movements of a GTIN, a pack (EPC URI) or a slot, newest first."""
    if key.startswith("urn:epc:"):
        where, args = "epc = ?", (key,)
    elif key.isdigit() and len(key) == 14:
        where, args = "gtin = ?", (key,)
    else:
        # Two indexed lookups instead of one OR that would scan the table.
        return _rows(
            db.execute(
                "SELECT * FROM (SELECT id, at, kind, gtin, serial, batch, quantity, from_slot,"
                " to_slot, actor, reason, reference FROM movements WHERE from_slot = ?"
                " UNION SELECT id, at, kind, gtin, serial, batch, quantity, from_slot, to_slot,"
                " actor, reason, reference FROM movements WHERE to_slot = ?)"
                " ORDER BY id DESC LIMIT ?",
                (key, key, limit),
            )
        )
    return _rows(
        db.execute(
            "SELECT id, at, kind, gtin, serial, batch, quantity, from_slot, to_slot, actor, reason,"
            f" reference FROM movements WHERE {where} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
    )


def slot_meant(db: sqlite3.Connection, key: str) -> str | None:
    """The slot of the ledger that `key` names in another case or with spaces around it (a
    slot name typed loosely), or None."""
    typed = key.strip()
    for column in ("to_slot", "from_slot"):  # each an index of its own
        found = db.execute(
            f"SELECT {column} FROM movements WHERE {column} = ? COLLATE NOCASE LIMIT 1", (typed,)
        ).fetchone()
        if found is not None:
            return None if found[0] == key else str(found[0])
    return None


def expiring(db: sqlite3.Connection, days: int, calendar: SiteCalendar) -> list[dict[str, Any]]:
    """Stock whose expiry is within `days` days of the site's today (expired stock included),
    each line with its days left and whether it is expired, judged on the site's date."""
    today = calendar.today()
    cutoff = (today + timedelta(days=days)).isoformat()
    rows = _rows(
        db.execute(
            "SELECT expiry, gtin, batch, slot, status, sum(quantity) AS quantity FROM stock"
            " WHERE expiry IS NOT NULL AND expiry <= ? GROUP BY expiry, gtin, batch, slot, status"
            " ORDER BY expiry, gtin, slot",
            (cutoff,),
        )
    )
    for row in rows:
        row["days_left"] = calendar.days_left(row["expiry"], today)
        row["expired"] = calendar.expired(row["expiry"], today)
    return rows
