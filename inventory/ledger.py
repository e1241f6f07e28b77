"""The ledger: movements appended to a hash chain, stock, alarms, requests and outbox messages,
all written in one transaction per change."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from inventory.alarms import Alarm
from inventory.movements import GENESIS_HASH, Movement, chain_hash
from inventory.outbox import OutboxMessage
from inventory.procurement import ProcurementRequest
from inventory.store import transaction


class StockError(Exception):
    """A movement would take more packs out of a slot than it holds; nothing was written."""


class Ledger:
    """Writes changes atomically. One instance per database file, used by one writer."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        row = db.execute("SELECT hash FROM movements ORDER BY id DESC LIMIT 1").fetchone()
        self._last_hash: str = row[0] if row else GENESIS_HASH

    def write(
        self,
        at: str,
        movements: Sequence[Movement] = (),
        alarms: Sequence[Alarm] = (),
        requests: Sequence[ProcurementRequest] = (),
        messages: Sequence[OutboxMessage] = (),
    ) -> None:
        """Write everything or nothing; durable when this returns."""
        try:
            self._last_hash = self._write(at, movements, alarms, requests, messages)
        except sqlite3.IntegrityError as exc:
            raise StockError(f"movement conflicts with stock: {exc}") from None

    def _write(
        self,
        at: str,
        movements: Sequence[Movement],
        alarms: Sequence[Alarm],
        requests: Sequence[ProcurementRequest],
        messages: Sequence[OutboxMessage],
    ) -> str:
        prev = self._last_hash
        with transaction(self.db) as db:
            for movement in movements:
                _apply_to_stock(db, movement)
                digest = chain_hash(prev, at, movement)
                db.execute(
                    "INSERT INTO movements (at, kind, gtin, serial, epc, batch, expiry, quantity,"
                    " from_slot, to_slot, actor, reason, reference, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                        movement.to_slot,
                        movement.actor,
                        movement.reason,
                        movement.reference,
                        prev,
                        digest,
                    ),
                )
                prev = digest
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
        return prev


def _apply_to_stock(db: sqlite3.Connection, movement: Movement) -> None:
    for slot, delta in movement.stock_effects():
        key = (slot, movement.gtin, movement.batch, movement.serial)
        if delta > 0:
            db.execute(
                "INSERT INTO stock (slot, gtin, batch, serial, epc, expiry, quantity)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (slot, gtin, batch, serial)"
                " DO UPDATE SET quantity = quantity + excluded.quantity",
                (*key, movement.epc, movement.expiry, delta),
            )
            continue
        held = db.execute(
            "SELECT quantity FROM stock WHERE slot = ? AND gtin = ? AND batch = ? AND serial = ?",
            key,
        ).fetchone()
        have = held[0] if held else 0
        if have < -delta:
            what = f"serial {movement.serial}" if movement.serial else f"batch '{movement.batch}'"
            raise StockError(
                f"slot {slot} holds {have} of GTIN {movement.gtin} {what}; "
                f"a {movement.kind} of {-delta} would make stock negative"
            )
        if have == -delta:
            db.execute(
                "DELETE FROM stock WHERE slot = ? AND gtin = ? AND batch = ? AND serial = ?", key
            )
        else:
            db.execute(
                "UPDATE stock SET quantity = quantity + ? WHERE slot = ? AND gtin = ? AND batch = ?"
                " AND serial = ?",
                (delta, *key),
            )
