"""The in-memory view of `stock`, rebuilt at start and kept in step with every commit.

Stock lines live in numpy columns (quantity, expiry day, GTIN row, available flag) so that
sweeps over every line (expiry) and every product (shortage) are vectorized; dictionaries give
the direct answers: what a slot holds, where a tagged pack is, a GTIN's lines in FEFO order.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from inventory.movements import Movement, StockStatus

StockKey = tuple[str, str, str, str, StockStatus]  # slot, gtin, batch, serial, status
NO_EXPIRY = np.iinfo(np.int32).max
_EPOCH = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class StockLine:
    """Packs of one GTIN, batch and serial (counted: serial '') in one slot with one status."""

    slot: str
    gtin: str
    batch: str
    serial: str
    status: StockStatus
    epc: str | None
    expiry: str | None
    quantity: int

    @property
    def key(self) -> StockKey:
        return (self.slot, self.gtin, self.batch, self.serial, self.status)


def expiry_day(expiry: str | None) -> int:
    """Days since 1970-01-01 of an ISO date; NO_EXPIRY for none."""
    return NO_EXPIRY if not expiry else date.fromisoformat(expiry).toordinal() - _EPOCH


class SlotIndex:
    """Answers stock questions without touching the database."""

    def __init__(self, capacity: int = 1024) -> None:
        self._meta: list[StockLine | None] = []  # line id -> line (quantity there is stale)
        self._free: list[int] = []
        self._by_key: dict[StockKey, int] = {}
        self._by_slot: dict[str, set[int]] = {}
        self._by_gtin: dict[str, set[int]] = {}
        self._epc_slot: dict[str, str] = {}
        self._fefo_cache: dict[str, list[StockLine]] = {}
        self.quantity: npt.NDArray[np.int64] = np.zeros(capacity, dtype=np.int64)
        self.expiry: npt.NDArray[np.int32] = np.full(capacity, NO_EXPIRY, dtype=np.int32)
        self.available: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=np.bool_)
        self.gtin_row_of_line: npt.NDArray[np.int32] = np.zeros(capacity, dtype=np.int32)
        self.gtin_rows: dict[str, int] = {}
        self.on_hand_by_row: npt.NDArray[np.int64] = np.zeros(256, dtype=np.int64)

    # Building and following ------------------------------------------------------------------

    @classmethod
    def load(cls, db: sqlite3.Connection) -> SlotIndex:
        """Build the index from the `stock` table."""
        rows = db.execute(
            "SELECT slot, gtin, batch, serial, status, epc, expiry, quantity FROM stock"
        ).fetchall()
        index = cls(capacity=max(1024, len(rows) * 2))
        for row in rows:
            index._add(
                StockLine(
                    row[0], row[1], row[2], row[3], StockStatus(row[4]), row[5], row[6], row[7]
                )
            )
        return index

    def apply(self, movement: Movement) -> None:
        """Follow one committed movement."""
        for slot, status, delta in movement.stock_effects():
            key = (slot, movement.gtin, movement.batch, movement.serial, status)
            line_id = self._by_key.get(key)
            if line_id is None:
                self._add(
                    StockLine(
                        slot,
                        movement.gtin,
                        movement.batch,
                        movement.serial,
                        status,
                        movement.epc,
                        movement.expiry,
                        delta,
                    )
                )
                continue
            quantity = int(self.quantity[line_id]) + delta
            if quantity <= 0:
                self._remove(line_id)
            else:
                self._change(line_id, delta)

    # Questions -------------------------------------------------------------------------------

    def on_hand(self, gtin: str) -> int:
        """Available (pickable) packs of `gtin` on the shelves."""
        row = self.gtin_rows.get(gtin)
        return 0 if row is None else int(self.on_hand_by_row[row])

    def quantity_of(self, key: StockKey) -> int:
        """Packs in exactly this stock line."""
        line_id = self._by_key.get(key)
        return 0 if line_id is None else int(self.quantity[line_id])

    def slot_of(self, epc: str) -> str | None:
        """The slot holding the tagged pack, or None."""
        return self._epc_slot.get(epc)

    def placed_epcs(self) -> dict[str, str]:
        """Every tagged pack on the shelves and its slot."""
        return dict(self._epc_slot)

    def contents(self, slot: str) -> list[StockLine]:
        """What `slot` holds."""
        return [self._line(i) for i in self._by_slot.get(slot, ())]

    def lines_of(self, gtin: str) -> list[StockLine]:
        """Every line of `gtin`, any status."""
        return [self._line(i) for i in self._by_gtin.get(gtin, ())]

    def fefo(self, gtin: str, today: date) -> list[StockLine]:
        """Available, unexpired lines of `gtin`, earliest expiry first (no expiry last), then by
        slot and serial: the order packs should leave the shelves in."""
        cached = self._fefo_cache.get(gtin)
        if cached is None:
            lines = [self._line(i) for i in self._by_gtin.get(gtin, ()) if self.available[i]]
            cached = sorted(lines, key=_fefo_order)
            self._fefo_cache[gtin] = cached
        cutoff = today.isoformat()
        return [line for line in cached if line.expiry is None or line.expiry >= cutoff]

    def fefo_slots(self, gtin: str, today: date) -> list[str]:
        """Slots to pick `gtin` from, in FEFO order."""
        return list(dict.fromkeys(line.slot for line in self.fefo(gtin, today)))

    def expiring(self, today: date, within_days: int) -> list[StockLine]:
        """Lines (any status) whose expiry falls before `today + within_days` days, including
        those already expired; earliest first. One vectorized pass over every line."""
        cutoff = today.toordinal() - _EPOCH + within_days
        hits = np.nonzero((self.quantity > 0) & (self.expiry <= cutoff))[0]
        lines = [self._line(int(i)) for i in hits]
        return sorted(lines, key=_expiry_order)

    def lines(self) -> list[StockLine]:
        """Every stock line, for comparing the index with the store."""
        return [self._line(i) for i in self._by_key.values()]

    def row_of(self, gtin: str) -> int:
        """The row of `gtin` in the per-product arrays (allocated on first use)."""
        row = self.gtin_rows.get(gtin)
        if row is None:
            row = len(self.gtin_rows)
            if row == len(self.on_hand_by_row):
                self.on_hand_by_row = _grown(self.on_hand_by_row, 0)
            self.gtin_rows[gtin] = row
        return row

    # Internals -------------------------------------------------------------------------------

    def _line(self, line_id: int) -> StockLine:
        meta = self._meta[line_id]
        assert meta is not None
        quantity = int(self.quantity[line_id])
        return meta if meta.quantity == quantity else _with_quantity(meta, quantity)

    def _add(self, line: StockLine) -> None:
        if self._free:
            line_id = self._free.pop()
            self._meta[line_id] = line
        else:
            line_id = len(self._meta)
            self._meta.append(line)
            if line_id == len(self.quantity):
                self.quantity = _grown(self.quantity, 0)
                self.expiry = _grown(self.expiry, NO_EXPIRY)
                self.available = _grown(self.available, False)
                self.gtin_row_of_line = _grown(self.gtin_row_of_line, 0)
        row = self.row_of(line.gtin)
        available = line.status is StockStatus.AVAILABLE
        self.quantity[line_id] = line.quantity
        self.expiry[line_id] = expiry_day(line.expiry)
        self.available[line_id] = available
        self.gtin_row_of_line[line_id] = row
        if available:
            self.on_hand_by_row[row] += line.quantity
        self._by_key[line.key] = line_id
        self._by_slot.setdefault(line.slot, set()).add(line_id)
        self._by_gtin.setdefault(line.gtin, set()).add(line_id)
        if line.epc is not None:
            self._epc_slot[line.epc] = line.slot
        self._fefo_cache.pop(line.gtin, None)

    def _change(self, line_id: int, delta: int) -> None:
        self.quantity[line_id] += delta
        if self.available[line_id]:
            self.on_hand_by_row[self.gtin_row_of_line[line_id]] += delta
        meta = self._meta[line_id]
        assert meta is not None
        self._fefo_cache.pop(meta.gtin, None)

    def _remove(self, line_id: int) -> None:
        line = self._meta[line_id]
        assert line is not None
        if self.available[line_id]:
            self.on_hand_by_row[self.gtin_row_of_line[line_id]] -= self.quantity[line_id]
        self.quantity[line_id] = 0
        self.expiry[line_id] = NO_EXPIRY
        self.available[line_id] = False
        del self._by_key[line.key]
        self._by_slot[line.slot].discard(line_id)
        self._by_gtin[line.gtin].discard(line_id)
        if line.epc is not None and self._epc_slot.get(line.epc) == line.slot:
            del self._epc_slot[line.epc]
        self._meta[line_id] = None
        self._free.append(line_id)
        self._fefo_cache.pop(line.gtin, None)


def _with_quantity(line: StockLine, quantity: int) -> StockLine:
    return StockLine(
        line.slot, line.gtin, line.batch, line.serial, line.status, line.epc, line.expiry, quantity
    )


def _fefo_order(line: StockLine) -> tuple[str, str, str]:
    return (line.expiry or "9999-12-31", line.slot, line.serial)


def _expiry_order(line: StockLine) -> tuple[str, str, str, str]:
    return (line.expiry or "", line.gtin, line.slot, line.serial)


A = TypeVar("A", bound=np.generic)


def _grown(array: npt.NDArray[A], fill: object) -> npt.NDArray[A]:
    extra = np.full(len(array), fill, dtype=array.dtype)
    return np.concatenate([array, extra])
