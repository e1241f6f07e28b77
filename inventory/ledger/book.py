"""The ledger: movements appended to a hash chain, stock, alarms, requests and outbox messages.

A change is checked in full against the stock before anything is written (`plan_stock`), so a
refused change leaves no trace. `Ledger.write` takes checked changes; `flush` writes all of them
in bulk inside the caller's transaction, which then commits: many changes share one fsync
(group commit).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.errors import StockError
from inventory.ledger.movements import (
    Movement,
    MovementError,
    MovementKind,
    StockStatus,
    canonical,
    next_hash,
)
from inventory.ledger.outbox import OutboxMessage
from inventory.replenishment.requests import ProcurementRequest

Key = tuple[str, str, str, str, str]  # slot, gtin, batch, serial, status
_RELEASE, _QUARANTINED = str(MovementKind.RELEASE), str(StockStatus.QUARANTINED)


def plan_stock(
    movements: Sequence[Movement],
    quantity_of: Callable[[Key], int],
    slot_of_epc: Callable[[str], str | None],
) -> dict[Key, tuple[int, int]]:
    """Check a change against the current stock: key -> (quantity before, after) for every
    stock line it touches. StockError, before any write, if it is impossible."""
    plan: dict[Key, tuple[int, int]] = {}
    freed: set[str] = set()
    for movement in movements:
        try:
            movement.check()
        except MovementError as exc:
            raise StockError(str(exc)) from None
        for slot, status, delta in movement.stock_effects():
            key = (slot, movement.gtin, movement.batch, movement.serial, str(status))
            before, have = plan.get(key) or (quantity_of(key),) * 2
            if have + delta < 0:
                what = (
                    f"serial {movement.serial}" if movement.serial else f"batch '{movement.batch}'"
                )
                raise StockError(
                    f"slot {slot} holds {have} {status} of GTIN {movement.gtin} {what}; "
                    f"a {movement.kind} of {-delta} would make stock negative"
                )
            if movement.epc is not None:
                if delta < 0:
                    freed.add(movement.epc)
                elif (where := slot_of_epc(movement.epc)) is not None and (
                    movement.epc not in freed
                ):
                    raise StockError(f"pack {movement.epc} is already in slot {where}")
            plan[key] = (before, have + delta)
    return plan


class Ledger:
    """Collects checked changes and writes them into the open transaction of `db` in bulk
    (`flush`, before the commit). One per file, one writer."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.last_hash = ""
        self.count = 0
        self._movements: list[tuple[object, ...]] = []
        # key -> (quantity before the flush, after, EPC, expiry, emptied and filled again)
        self._stock: dict[Key, tuple[int, int, str | None, str | None, bool]] = {}
        self._rows: list[tuple[str, tuple[object, ...]]] = []
        self.taken = 0  # changes taken so far: a caller can tell whether a call wrote
        self.reload()

    def reload(self) -> None:
        """Forget what was not flushed and read the chain's head again (after a rollback)."""
        count, last_hash = self.db.execute(
            "SELECT movements, last_hash FROM ledger_head"
        ).fetchone()
        self.count, self.last_hash = int(count), str(last_hash)
        self._movements.clear()
        self._stock.clear()
        self._rows.clear()

    def write(
        self,
        at: str,
        movements: Sequence[Movement] = (),
        stock: dict[Key, tuple[int, int]] | None = None,
        alarms: Sequence[Alarm] = (),
        requests: Sequence[ProcurementRequest] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> None:
        """Take one change planned by `plan_stock`; it reaches the file at the next flush."""
        self.taken += 1
        prev = self.last_hash
        for movement in movements:
            row, prev = chained_row(prev, at, movement)
            self._movements.append(row)
        if stock:
            details = {(m.gtin, m.batch, m.serial): (m.epc, m.expiry) for m in movements}
            for key, (before, after) in stock.items():
                first = self._stock.get(key)
                epc, expiry = details[(key[1], key[2], key[3])]
                # Within one flush only the first "before" and the last "after" matter, and
                # whether the line was emptied on the way: it comes back as the slot index
                # makes it again, with the EPC and expiry of the movement that refilled it.
                renewed = first is not None and (first[4] or (first[1] == 0 and after > 0))
                self._stock[key] = (first[0] if first else before, after, epc, expiry, renewed)
        for alarm in alarms:
            self._rows.append(
                (
                    _ALARM_SQL,
                    (
                        alarm.id,
                        str(alarm.kind),
                        alarm.subject,
                        str(alarm.state),
                        alarm.raised_at,
                        json.dumps(alarm.detail),
                        alarm.acknowledged_at,
                        alarm.acknowledged_by,
                        alarm.cleared_at,
                    ),
                )
            )
        for request in requests:
            self._rows.append(
                (
                    _REQUEST_SQL,
                    (
                        request.request_id,
                        request.created_at,
                        request.product.gtin,
                        request.quantity,
                        str(request.status),
                        request.confirmed_by,
                        at,
                        str(request.priority),
                        request.received,
                        request.owed,
                    ),
                )
            )
        for message in messages:
            self._rows.append((_OUTBOX_SQL, (at, str(message.kind), message.key, message.payload)))
        self.last_hash = prev
        self.count += len(movements)

    def newest_stamp(self) -> datetime | None:
        """The newest stamp written (of the last movement and the last outbox message, whose
        stamps follow the clock they were written by); None for an empty ledger. Movements
        stamped no later than a `clock_behind` alarm's newest stamp, once a person has
        acknowledged that alarm (the clock was right, they said), were written by a clock that
        was ahead: the acknowledgement's stamp stands in for them, so that the alarm does not
        come back at every start until the clock has caught up with them."""
        movement, message = (
            datetime.fromisoformat(str(row[0])) if row is not None else None
            for row in (
                self.db.execute("SELECT at FROM movements ORDER BY id DESC LIMIT 1").fetchone(),
                self.db.execute(
                    "SELECT created_at FROM outbox ORDER BY id DESC LIMIT 1"
                ).fetchone(),
            )
        )
        vouched = self.db.execute(
            "SELECT detail, acknowledged_at FROM alarms"
            " WHERE kind = ? AND acknowledged_at IS NOT NULL",
            (str(AlarmKind.CLOCK_BEHIND),),
        ).fetchone()
        if movement is not None and vouched is not None:
            ahead = datetime.fromisoformat(str(json.loads(vouched[0])["newest_stamp"]))
            if movement <= ahead:
                movement = datetime.fromisoformat(str(vouched[1]))
        return max((s for s in (movement, message) if s is not None), default=None)

    def held_before(self, epc: str, gtin: str, serial: str) -> tuple[str, str | None] | None:
        """The batch and expiry of the last movement (written, or taken and not flushed yet)
        that moved this pack, by its tag or by its GTIN and serial when it was booked from a
        scan; None when none ever did."""
        for row in reversed(self._movements):  # columns: at, kind, gtin, serial, epc, batch,
            if row[4] == epc or (serial and (row[2], row[3]) == (gtin, serial)):  # expiry, ...
                return str(row[5]), None if row[6] is None else str(row[6])
        found = self.db.execute(
            "SELECT batch, expiry FROM movements WHERE epc = ? ORDER BY id DESC LIMIT 1", (epc,)
        ).fetchone() or (
            serial
            and self.db.execute(
                "SELECT batch, expiry FROM movements WHERE gtin = ? AND serial = ?"
                " ORDER BY id DESC LIMIT 1",
                (gtin, serial),
            ).fetchone()
        )
        return (str(found[0]), found[1]) if found else None

    def left_held(self, epc: str) -> bool:
        """Whether the last movement (written, or taken and not flushed yet) that took this
        tagged pack off the shelves, or released it from quarantine, took it off while it was
        quarantined: by whatever kind (written off, booked out by a count); never released
        since. False when none ever took it off."""
        for row in reversed(self._movements):  # columns in `_MOVEMENT_SQL` order
            if row[4] == epc and (row[1] == _RELEASE or (row[8] is not None and row[10] is None)):
                return row[1] != _RELEASE and row[9] == _QUARANTINED
        found = self.db.execute(
            "SELECT kind, from_status FROM movements WHERE epc = ? AND (kind = ?"
            " OR (from_slot IS NOT NULL AND to_slot IS NULL)) ORDER BY id DESC LIMIT 1",
            (epc, _RELEASE),
        ).fetchone()
        return found is not None and found[0] != _RELEASE and found[1] == _QUARANTINED

    def flush(self) -> None:
        """Write everything taken since the last flush into the current transaction."""
        db = self.db
        if self._movements:
            db.executemany(_MOVEMENT_SQL, self._movements)
            db.execute(
                "UPDATE ledger_head SET movements = ?, last_id = (SELECT max(id) FROM"
                " movements), last_hash = ?",
                (self.count, self.last_hash),
            )
        deletes, inserts, updates, tags = [], [], [], []
        for key, (before, after, epc, expiry, renewed) in self._stock.items():
            if after == 0:
                if before:
                    deletes.append(key)
            elif before == 0:
                inserts.append((*key, epc, expiry, after))
            elif renewed:
                deletes.append(key)
                inserts.append((*key, epc, expiry, after))
            elif after != before:
                updates.append((after, *key))
            elif epc is not None:  # a pack booked by its code, moved in place with its tag
                tags.append((epc, *key))
        # Deletes first: a tagged pack leaving one line frees its EPC for the line it enters.
        db.executemany(
            "DELETE FROM stock WHERE slot = ? AND gtin = ? AND batch = ?"
            " AND serial = ? AND status = ?",
            deletes,
        )
        db.executemany(
            "UPDATE stock SET quantity = ? WHERE slot = ? AND gtin = ? AND batch = ?"
            " AND serial = ? AND status = ?",
            updates,
        )
        db.executemany(
            "UPDATE stock SET epc = ? WHERE slot = ? AND gtin = ? AND batch = ?"
            " AND serial = ? AND status = ?",
            tags,
        )
        db.executemany(
            "INSERT INTO stock (slot, gtin, batch, serial, status, epc, expiry,"
            " quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            inserts,
        )
        for sql, row in self._rows:
            db.execute(sql, row)
        self._movements.clear()
        self._stock.clear()
        self._rows.clear()


def chained_row(prev_hash: str, at: str, movement: Movement) -> tuple[tuple[object, ...], str]:
    """One `movements` row chained after `prev_hash` (values in `_MOVEMENT_SQL` order), and its
    hash."""
    columns = movement.columns(at)
    digest = next_hash(prev_hash, canonical(columns))
    return (*columns, prev_hash, digest), digest


_MOVEMENT_SQL = (
    "INSERT INTO movements (at, kind, gtin, serial, epc, batch, expiry, quantity, from_slot,"
    " from_status, to_slot, to_status, actor, reason, reference, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ALARM_SQL = (
    "INSERT OR REPLACE INTO alarms (id, kind, subject, state, raised_at, detail,"
    " acknowledged_at, acknowledged_by, cleared_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# An upsert, not a replace: the columns the centre's answers fill (note, answered_by,
# answered_at) stay as they are when the request is written again.
_REQUEST_SQL = (
    "INSERT INTO procurement_requests (request_id, created_at, gtin, quantity, status,"
    " confirmed_by, updated_at, priority, received, owed)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (request_id) DO UPDATE SET quantity = excluded.quantity,"
    " status = excluded.status, confirmed_by = excluded.confirmed_by,"
    " updated_at = excluded.updated_at, priority = excluded.priority,"
    " received = excluded.received, owed = excluded.owed"
)
_OUTBOX_SQL = "INSERT INTO outbox (created_at, kind, key, payload) VALUES (?, ?, ?, ?)"
