"""Requests the centre has not answered, sent again.

A request can be lost on its way to the centre after the broker took it: a broker that crashed
before saving it, a clerk's watch that kept no session while it was away. Its sender cannot
tell: the broker acknowledged it. So a request still `requested` (no answer from the centre) a
while after the broker took its last copy is published again, as it stands now: the same
request_id, quantity and created_at, its priority as it is now (made urgent since, it says
urgent), and `sent_again`, how many times it went out before. A centre that has it already
applies it once (and drops it as a copy); one that may have it shows it as a repeat. Again each
such while, until the centre answers (or packs of it are booked in: it has it). What was sent
and when is the outbox's: every copy is a row there (kind `procurement_request`, key the
request's id), so the count of copies and the time of the last survive a restart, and a copy
still waiting for the broker is not joined by another. A copy waits in the outbox until the
link has settled (the answers the broker kept taken in); handed to the MQTT client only while
its request is still unanswered, else dropped (`hand_over_copies`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import datetime, timedelta

from inventory.ledger.outbox import MessageKind, OutboxMessage, OutboxRow
from inventory.replenishment.requests import ProcurementRequest, RequestStatus

# The newest message of each request among those given, and how many there are; `kind` is
# written out so that the index on request messages (schema version 11) serves it.
_SENDINGS_SQL = """
SELECT key, count(*), max(id) FROM outbox
WHERE kind = 'procurement_request' AND key IN (SELECT value FROM json_each(?))
GROUP BY key
"""
# The waiting copies among the ids given, and whether each may go: handed over before, or its
# request still unanswered.
_HANDED_SQL = """
SELECT outbox.id, outbox.handed_at IS NOT NULL OR coalesce(r.status = 'requested', 0)
FROM outbox LEFT JOIN procurement_requests AS r ON r.request_id = outbox.key
WHERE outbox.id IN (SELECT value FROM json_each(?)) AND outbox.sent_at IS NULL
"""


@dataclass(frozen=True, slots=True)
class Sending:
    """How a request has gone out: `copies` messages so far (the first, then each sent again),
    the newest one's `payload`, and when the broker took it (`taken_at`; None: waiting)."""

    copies: int
    payload: str
    taken_at: str | None

    def due(self, now: datetime, after: timedelta) -> bool:
        """Whether the request is to be sent again at `now`: its newest copy taken by the broker
        at least `after` ago."""
        return self.taken_at is not None and datetime.fromisoformat(self.taken_at) + after <= now


def sendings(db: sqlite3.Connection, requests: Sequence[ProcurementRequest]) -> dict[str, Sending]:
    """How each of `requests` has gone out, by request id (one never published: absent)."""
    ids = json.dumps([r.request_id for r in requests])
    found: dict[str, Sending] = {}
    for key, copies, newest in db.execute(_SENDINGS_SQL, (ids,)).fetchall():
        payload, taken_at = db.execute(
            "SELECT payload, sent_at FROM outbox WHERE id = ?", (newest,)
        ).fetchone()
        found[str(key)] = Sending(int(copies), str(payload), taken_at)
    return found


def is_copy(row: OutboxRow) -> bool:
    """Whether an outbox row is a copy of a request sent again (`sent_again` above 0), not the
    request's first message."""
    if row.kind is not MessageKind.PROCUREMENT_REQUEST:
        return False
    return bool(json.loads(row.payload).get("sent_again"))


def hand_over_copies(db: sqlite3.Connection, ids: Sequence[int], at: str) -> list[int]:
    """Of the waiting copies `ids` (`is_copy`), those to hand to the MQTT client now, marked
    handed at `at`: each handed over before (it may have gone out then: it goes, and counts)
    and each whose request is still `requested`. Sent after the centre's answer, a copy would
    tell the centre it has none: one never handed over whose request is answered (or closed) is
    dropped instead, never sent nor counted in `sent_again`. The newest row of the outbox,
    whose id SQLite would hand out again (`Outbox.trim`), is not dropped: left out, it is
    dropped at a later look."""
    found = db.execute(_HANDED_SQL, (json.dumps(list(ids)),)).fetchall()
    going = [int(i) for i, goes in found if goes]
    unwanted = [int(i) for i, goes in found if not goes]
    db.executemany(
        "UPDATE outbox SET handed_at = ? WHERE id = ? AND handed_at IS NULL",
        [(at, i) for i in going],
    )
    db.execute(
        "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?)) AND sent_at IS NULL"
        " AND handed_at IS NULL AND id < (SELECT max(id) FROM outbox)",
        (json.dumps(unwanted),),
    )
    return going


def again_payload(request: ProcurementRequest, sending: Sending) -> str:
    """The copy sent again: the last one with the request's priority as it is now and
    `sent_again`, the number of copies gone out before it."""
    body = json.loads(sending.payload)
    body["priority"] = str(request.priority)
    body["sent_again"] = sending.copies
    return json.dumps(body, separators=(",", ":"))


def resent_note(request: ProcurementRequest, sending: Sending) -> str:
    """What the activity log says of a request sent again (`sending`: before this copy)."""
    times = sending.copies
    return (
        f"request {request.request_id} ({request.quantity} x {request.product.name}) sent again "
        f"({times} time{'s' if times > 1 else ''} so far): no answer from the centre since the "
        f"broker took it at {sending.taken_at}"
    )


def unanswered(
    requests: Iterable[ProcurementRequest], named: Set[str], unnamed: Set[str]
) -> list[ProcurementRequest]:
    """Of `requests` (oldest first), those the centre has not answered: still `requested`,
    nothing of them booked in, no delivery notice on its way for them (one naming it, `named`,
    or naming none for its GTIN, `unnamed`, which fills the oldest)."""
    waiting: list[ProcurementRequest] = []
    filled: set[str] = set()  # GTINs whose oldest request an unnamed notice fills
    for r in requests:
        if r.status is not RequestStatus.REQUESTED or r.received or r.request_id in named:
            continue
        if r.product.gtin in unnamed and r.product.gtin not in filled:
            filled.add(r.product.gtin)
            continue
        waiting.append(r)
    return waiting


def copies_due(
    db: sqlite3.Connection, waiting: Sequence[ProcurementRequest], now: datetime, after: timedelta
) -> tuple[list[OutboxMessage], list[str]]:
    """The copies of `waiting` whose last copy the broker took `after` before `now` or earlier
    (`again_payload`), with what the activity log says of each."""
    found = sendings(db, waiting)
    copies: list[OutboxMessage] = []
    notes: list[str] = []
    for request in waiting:
        sending = found.get(request.request_id)
        if sending is None or not sending.due(now, after):
            continue
        payload = again_payload(request, sending)
        copies.append(OutboxMessage(MessageKind.PROCUREMENT_REQUEST, payload, request.request_id))
        notes.append(resent_note(request, sending))
    return copies, notes
