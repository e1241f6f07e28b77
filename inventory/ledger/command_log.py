"""Command messages already received, so that each is carried out at most once.

A command's message id is remembered until REMEMBERED_AFTER_EXPIRY past its expiry, not only
until it: a broker hands a message over again that it delivered and never saw acknowledged (the
gateway stopped between carrying it out and its acknowledgement) when the gateway is back, which
may be after the expiry. For as long as the broker keeps the gateway's session (MQTT 5: the 7 days
the gateway asks for, sync.mqtt_client.SESSION_EXPIRY_SECONDS) such a copy can come, and it must
be known as one, not refused as expired as if it had never been carried out.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from inventory.ledger.commit import iso

REMEMBERED_AFTER_EXPIRY = timedelta(days=7)


def forgotten_before(now: datetime) -> datetime:
    """Ids of commands that expired before this are no longer remembered at `now`."""
    return now - REMEMBERED_AFTER_EXPIRY


class CommandLog:
    """Rows of `commands_seen`, written in the caller's transaction."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def remembered(self, now: str) -> dict[str, str]:
        """Message id -> expiry of every command remembered at `now` (ISO 8601 UTC)."""
        rows = self._db.execute(
            "SELECT message_id, expires_at FROM commands_seen WHERE expires_at > ?",
            (_cutoff(now),),
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
        """Drop what need not be remembered any more at `now`; how many rows went."""
        return self._db.execute(
            "DELETE FROM commands_seen WHERE expires_at <= ?", (_cutoff(now),)
        ).rowcount


def _cutoff(now: str) -> str:
    return iso(forgotten_before(datetime.fromisoformat(now)))
