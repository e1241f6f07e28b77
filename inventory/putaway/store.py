"""Put-away sessions in the ledger file (written in the caller's transaction)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from inventory.putaway.sessions import PutawaySession, SessionState


class PutawayStore:
    """Rows of `putaway_sessions`; the keeper's transaction makes them durable."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def open_sessions(self) -> list[PutawaySession]:
        rows = self._db.execute(
            "SELECT body FROM putaway_sessions WHERE state = ? ORDER BY created_at",
            (str(SessionState.OPEN),),
        )
        return [PutawaySession.from_json(row[0]) for row in rows]

    def closed_naming(self, needles: Sequence[str], since: str = "") -> list[PutawaySession]:
        """Sessions no longer open whose saved state holds one of `needles` (as written in
        their JSON), last changed at `since` or later, the latest first."""
        holds = " OR ".join(["instr(body, ?) > 0"] * len(needles))
        rows = self._db.execute(
            "SELECT body FROM putaway_sessions WHERE state != ? AND updated_at >= ?"
            f" AND ({holds}) ORDER BY updated_at DESC",
            (str(SessionState.OPEN), since, *needles),
        )
        return [PutawaySession.from_json(row[0]) for row in rows]

    def closed_since(self, since: str) -> list[PutawaySession]:
        """Sessions no longer open, last changed at `since` or later, the oldest first."""
        rows = self._db.execute(
            "SELECT body FROM putaway_sessions WHERE state != ? AND updated_at >= ?"
            " ORDER BY updated_at",
            (str(SessionState.OPEN), since),
        )
        return [PutawaySession.from_json(row[0]) for row in rows]

    def state_of(self, delivery_id: str) -> str | None:
        row = self._db.execute(
            "SELECT state FROM putaway_sessions WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def save(self, session: PutawaySession, at: str) -> None:
        self._db.execute(
            "INSERT INTO putaway_sessions (delivery_id, created_at, updated_at, state, body)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (delivery_id) DO UPDATE SET"
            " updated_at = excluded.updated_at, state = excluded.state, body = excluded.body",
            (session.delivery_id, at, at, str(session.state), session.to_json()),
        )
