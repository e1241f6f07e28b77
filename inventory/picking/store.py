"""Pick lists and recalled batches in the ledger file (written in the caller's transaction)."""

from __future__ import annotations

import sqlite3

from inventory.picking.lists import PickList, PickState


class PickStore:
    """Rows of `pick_lists` and `recalls`; the keeper's transaction makes them durable."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def open_lists(self) -> list[PickList]:
        rows = self._db.execute(
            "SELECT body FROM pick_lists WHERE state = ? ORDER BY created_at",
            (str(PickState.OPEN),),
        )
        return [PickList.from_json(row[0]) for row in rows]

    def state_of(self, pick_id: str) -> str | None:
        row = self._db.execute(
            "SELECT state FROM pick_lists WHERE pick_id = ?", (pick_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def save(self, pick: PickList, at: str) -> None:
        self._db.execute(
            "INSERT INTO pick_lists (pick_id, created_at, updated_at, state, body)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (pick_id) DO UPDATE SET"
            " updated_at = excluded.updated_at, state = excluded.state, body = excluded.body",
            (pick.pick_id, at, at, str(pick.state), pick.to_json()),
        )

    def recalls(self) -> set[tuple[str, str]]:
        return {(r[0], r[1]) for r in self._db.execute("SELECT gtin, batch FROM recalls")}

    def add_recall(self, gtin: str, batch: str, at: str, note: str) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO recalls (gtin, batch, recalled_at, note) VALUES (?, ?, ?, ?)",
            (gtin, batch, at, note),
        )
