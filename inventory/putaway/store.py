"""Put-away sessions in the ledger file (written in the caller's transaction)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inventory.putaway.sessions import PutawaySession, SessionState


@dataclass(frozen=True, slots=True)
class LeftPacks:
    """The packs a closed session left waiting or let go of (`left`) and those it refused
    (`refused`), as saved, and when it closed (seconds)."""

    delivery_id: str
    closed_at: float
    left: list[dict[str, Any]]
    refused: list[dict[str, Any]]


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

    def closed_since(self, since: str) -> list[PutawaySession]:
        """Sessions no longer open, last changed (closed) at `since` or later."""
        rows = self._db.execute(
            "SELECT body FROM putaway_sessions WHERE state != ? AND updated_at >= ?",
            (str(SessionState.OPEN), since),
        )
        return [PutawaySession.from_json(row[0]) for row in rows]

    def left_since(self, since: str) -> list[LeftPacks]:
        """What each session closed at `since` or later, the oldest first, left waiting, let
        go of or refused (as saved), with when it closed (seconds); only the sessions that
        did, and without reading the rest of their state."""
        # As a saved session (compact JSON) writes each list when it is empty.
        none = ('"waiting":[]', '"let_go":[]', '"refusals":[]')
        rows = self._db.execute(
            "SELECT delivery_id, updated_at, json_extract(body, '$.waiting'),"
            " json_extract(body, '$.let_go'), json_extract(body, '$.refusals')"
            " FROM putaway_sessions WHERE state != ? AND updated_at >= ?"
            " AND (instr(body, ?) = 0 OR instr(body, ?) = 0 OR instr(body, ?) = 0)"
            " ORDER BY updated_at",
            (str(SessionState.OPEN), since, *none),
        )
        return [
            LeftPacks(
                delivery_id,
                datetime.fromisoformat(at).timestamp(),
                [*json.loads(waiting or "[]"), *json.loads(let_go or "[]")],
                json.loads(refusals or "[]"),
            )
            for delivery_id, at, waiting, let_go, refusals in rows
        ]

    def session(self, delivery_id: str) -> PutawaySession | None:
        row = self._db.execute(
            "SELECT body FROM putaway_sessions WHERE delivery_id = ?", (delivery_id,)
        ).fetchone()
        return None if row is None else PutawaySession.from_json(row[0])

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
