"""The ledger: movements appended to a hash chain, stock, alarms, requests and outbox messages.

`Ledger.apply` writes one change (everything it caused) inside the caller's transaction, under
a savepoint: a refused change leaves no trace, and the changes around it stand. The caller
commits, so many changes can share one fsync (group commit).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from inventory.alarms import Alarm
from inventory.movements import Movement, MovementError, chain_hash
from inventory.outbox import OutboxMessage
from inventory.procurement import ProcurementRequest


class StockError(Exception):
    """A change is impossible against the stock (or in itself); nothing of it was written."""


class Ledger:
    """Writes changes into the open transaction of `db`. One instance per file, one writer."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.last_hash = ""
        self.count = 0
        self.reload()

    def reload(self) -> None:
        """Read the chain's head again (after a rolled-back transaction)."""
        count, last_hash = self.db.execute(
            "SELECT movements, last_hash FROM ledger_head"
        ).fetchone()
        self.count, self.last_hash = int(count), str(last_hash)

    def apply(
        self,
        at: str,
        movements: Sequence[Movement] = (),
        alarms: Sequence[Alarm] = (),
        requests: Sequence[ProcurementRequest] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> None:
        """Write one change, all or nothing, inside the current transaction."""
        db = self.db
        prev, count = self.last_hash, self.count
        db.execute("SAVEPOINT change")
        try:
            for movement in movements:
                try:
                    movement.check()
                except MovementError as exc:
                    raise StockError(str(exc)) from None
                _apply_to_stock(db, movement)
                digest = chain_hash(prev, at, movement)
                cursor = db.execute(
                    "INSERT INTO movements (at, kind, gtin, serial, epc, batch, expiry, quantity,"
                    " from_slot, from_status, to_slot, to_status, actor, reason, reference,"
                    " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        at,
                        str(movement.kind),
                        movement.gtin,
                        movement.serial,
                        movement.epc,
                        movement.batch,
                        movement.expiry,
                        movement.quantity,
                        movement.from_slot,
                        str(movement.from_status) if movement.from_slot else None,
                        movement.to_slot,
                        str(movement.to_status) if movement.to_slot else None,
                        movement.actor,
                        movement.reason,
                        movement.reference,
                        prev,
                        digest,
                    ),
                )
                prev, count, last_id = digest, count + 1, cursor.lastrowid
            if movements:
                db.execute(
                    "UPDATE ledger_head SET movements = ?, last_id = ?, last_hash = ?",
                    (count, last_id, prev),
                )
            for alarm in alarms:
                db.execute(
                    "INSERT OR REPLACE INTO alarms (id, kind, subject, state, raised_at, detail,"
                    " acknowledged_at, acknowledged_by, cleared_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            for request in requests:
                db.execute(
                    "INSERT OR REPLACE INTO procurement_requests (request_id, created_at, gtin,"
                    " quantity, status, confirmed_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        request.request_id,
                        request.created_at,
                        request.product.gtin,
                        request.quantity,
                        str(request.status),
                        request.confirmed_by,
                        at,
                    ),
                )
            db.executemany(
                "INSERT INTO outbox (created_at, kind, key, payload) VALUES (?, ?, ?, ?)",
                [(at, str(m.kind), m.key, m.payload) for m in messages],
            )
        except sqlite3.IntegrityError as exc:
            db.execute("ROLLBACK TO change")
            db.execute("RELEASE change")
            raise StockError(f"change conflicts with stock: {exc}") from None
        except BaseException:
            db.execute("ROLLBACK TO change")
            db.execute("RELEASE change")
            raise
        db.execute("RELEASE change")
        self.last_hash, self.count = prev, count


def _apply_to_stock(db: sqlite3.Connection, movement: Movement) -> None:
    for slot, status, delta in movement.stock_effects():
        key = (slot, movement.gtin, movement.batch, movement.serial, str(status))
        if delta > 0:
            db.execute(
                "INSERT INTO stock (slot, gtin, batch, serial, status, epc, expiry, quantity)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot, gtin, batch, serial, status)"
                " DO UPDATE SET quantity = quantity + excluded.quantity",
                (*key, movement.epc, movement.expiry, delta),
            )
            continue
        held = db.execute(
            "SELECT quantity FROM stock WHERE slot = ? AND gtin = ? AND batch = ? AND serial = ?"
            " AND status = ?",
            key,
        ).fetchone()
        have = held[0] if held else 0
        if have < -delta:
            what = f"serial {movement.serial}" if movement.serial else f"batch '{movement.batch}'"
            raise StockError(
                f"slot {slot} holds {have} {status} of GTIN {movement.gtin} {what}; "
                f"a {movement.kind} of {-delta} would make stock negative"
            )
        if have == -delta:
            db.execute(
                "DELETE FROM stock WHERE slot = ? AND gtin = ? AND batch = ? AND serial = ?"
                " AND status = ?",
                key,
            )
        else:
            db.execute(
                "UPDATE stock SET quantity = quantity + ? WHERE slot = ? AND gtin = ?"
                " AND batch = ? AND serial = ? AND status = ?",
                (delta, *key),
            )
