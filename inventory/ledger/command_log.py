"""Command messages already received, so that each is carried out at most once.

A command's message id is remembered until its expiry: after that the command would be refused
as expired anyway, so the log stays as small as the commands in flight.
"""

from __future__ import annotations

import sqlite3


class CommandLog:
    """Rows of `commands_seen`, written in the caller's transaction."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def live(self, now: str) -> dict[str, str]:
        """Message id -> expiry of every command not yet expired at `now` (ISO 8601 UTC)."""
        rows = self._db.execute(
            "SELECT message_id, expires_at FROM commands_seen WHERE expires_at > ?", (now,)
        )
        return {str(r[0]): str(r[1]) for r in rows}

    def remember(self, message_id: str, command: str, received_at: str, expires_at: str) -> bool:
        """Record a command message; False when it was recorded before (a replay)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO commands_seen (message_id, command, received_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (message_id, command, received_at, expires_at),
        )
        return cursor.rowcount == 1

    def forget_expired(self, now: str) -> int:
        """Drop what has expired; how many rows went."""
        return self._db.execute("DELETE FROM commands_seen WHERE expires_at <= ?", (now,)).rowcount
