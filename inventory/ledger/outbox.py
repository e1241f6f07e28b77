"""The transactional outbox: messages written with the change that caused them, sent later."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from enum import StrEnum


class MessageKind(StrEnum):
    PROCUREMENT_REQUEST = "procurement_request"
    ALARM = "alarm"
    COMMAND_RESULT = "command_result"
    EVENT = "event"  # an EPCIS event for the optional `events` stream


# What may be dropped when the outbox is over its bound, least important first.
DROPPABLE = (MessageKind.EVENT, MessageKind.COMMAND_RESULT)
# Kinds whose message is the whole present state of its key (an alarm's), published retained:
# once the broker has taken a newer one, an older one is worth nothing and would do harm.
STATE_KINDS = frozenset({MessageKind.ALARM})
_STATE_KIND_NAMES = sorted(str(kind) for kind in STATE_KINDS)
# The newest acknowledged message of each state key among the ids given (a JSON array), and the
# waiting messages of those keys older than it. Waiting rows below the newest id acknowledged are
# only those refused or left behind (batches are acknowledged in order), so few are looked at.
_SUPERSEDE_SQL = f"""
WITH acked (kind, key, newest) AS MATERIALIZED (
    SELECT kind, key, max(id) FROM outbox
    WHERE id IN (SELECT value FROM json_each(?)) AND kind IN ({", ".join("?" * len(STATE_KINDS))})
    GROUP BY kind, key
)
DELETE FROM outbox
WHERE sent_at IS NULL AND id < (SELECT max(newest) FROM acked) AND EXISTS (
    SELECT 1 FROM acked
    WHERE acked.kind = outbox.kind AND acked.key = outbox.key AND acked.newest > outbox.id
)
RETURNING id, created_at, kind, key, payload
"""


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message to the centre. `key` tells messages of one kind apart (the alarm id)."""

    kind: MessageKind
    payload: str
    key: str = ""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A stored message waiting to be sent."""

    id: int
    created_at: str
    kind: MessageKind
    key: str
    payload: str


class Outbox:
    """Reads pending messages and marks them sent; only the publisher calls this."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def pending(self, limit: int, after_id: int = 0) -> list[OutboxRow]:
        """The oldest unsent messages with id above `after_id`, in the order they were written."""
        rows = self._db.execute(
            "SELECT id, created_at, kind, key, payload FROM outbox"
            " WHERE sent_at IS NULL AND id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [OutboxRow(r[0], r[1], MessageKind(r[2]), r[3], r[4]) for r in rows]

    def mark_sent(self, ids: list[int], at: str) -> list[OutboxRow]:
        """Record that the broker acknowledged these messages (in the caller's transaction),
        and drop the waiting messages they supersede: those of a state kind, with the key of
        one acknowledged here and an older id. The broker holds a newer state than theirs:
        sent later (a retry after a refusal, or after a restart), they would put an older state
        back. A dropped message always has a newer one, so its id is never handed out again
        (see `trim`). Returns the dropped messages, oldest first."""
        self._db.executemany("UPDATE outbox SET sent_at = ? WHERE id = ?", [(at, i) for i in ids])
        rows = self._db.execute(_SUPERSEDE_SQL, (json.dumps(ids), *_STATE_KIND_NAMES)).fetchall()
        dropped = [OutboxRow(r[0], r[1], MessageKind(r[2]), r[3], r[4]) for r in rows]
        return sorted(dropped, key=lambda row: row.id)

    def waiting_since(self) -> tuple[int, str] | None:
        """The oldest waiting message's id and when it was written (ISO 8601), or None."""
        row = self._db.execute(
            "SELECT id, created_at FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 1"
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def newest_id(self) -> int:
        """The highest id written so far (0 for none): ids only grow, sent rows are kept."""
        row = self._db.execute("SELECT max(id) FROM outbox").fetchone()
        return int(row[0] or 0)

    def trim(self, max_pending: int) -> int:
        """Keep at most `max_pending` messages waiting by dropping the oldest of the kinds that
        matter least (event streams first, then command answers); procurement requests and
        alarms are never dropped. How many were dropped (counted in `outbox_dropped`).

        The newest row is never dropped: SQLite gives the next row the highest id plus one, so
        dropping the highest would hand its id out again, to a message the publisher (already
        past that id, or waiting for its acknowledgement) would skip or take as sent."""
        excess = self.depth() - max_pending
        dropped = 0
        for kind in DROPPABLE:
            if excess - dropped <= 0:
                break
            cursor = self._db.execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL"
                " AND kind = ? AND id < (SELECT max(id) FROM outbox) ORDER BY id LIMIT ?)",
                (str(kind), excess - dropped),
            )
            dropped += cursor.rowcount
        return dropped

    def waiting_keys(self, kind: MessageKind) -> set[str]:
        """The keys of `kind` with a message waiting (for a state kind: its newest state is
        still to be sent)."""
        rows = self._db.execute(
            "SELECT DISTINCT key FROM outbox WHERE sent_at IS NULL AND kind = ?", (str(kind),)
        )
        return {str(r[0]) for r in rows}

    def depth(self) -> int:
        """How many messages are waiting."""
        row = self._db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()
        return int(row[0])
