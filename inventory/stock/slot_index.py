"""The in-memory view of `stock`, rebuilt at start and kept in step with every commit.

Stock lines live in numpy columns (quantity, expiry day, GTIN row, available flag) so that
sweeps over every line (expiry) and every product (shortage) are vectorized; dictionaries give
the direct answers: what a slot holds, where a tagged pack is, a GTIN's lines in FEFO order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from inventory.ledger.movements import Movement, MovementKind, StockStatus

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

    def leaving(
        self,
        kind: MovementKind,
        to_slot: str | None,
        actor: str,
        reason: str,
        reference: str = "",
        quantity: int = 1,
    ) -> Movement:
        """`quantity` of this line's packs (a tagged line: its one pack) leaving its slot: for
        `to_slot` (their status kept), or out of stock."""
        return Movement(
            kind,
            self.gtin,
            quantity,
            self.serial,
            self.epc,
            self.batch,
            self.expiry,
            self.slot,
            to_slot,
            actor,
            reason,
            reference,
            self.status,
            self.status,
        )

    def held(self, actor: str, reason: str) -> Movement:
        """This whole line quarantined where it lies (expired, recalled)."""
        return Movement(
            MovementKind.QUARANTINE,
            self.gtin,
            self.quantity,
            self.serial,
            self.epc,
            self.batch,
            self.expiry,
            self.slot,
            self.slot,
            actor,
            reason,
            from_status=StockStatus.AVAILABLE,
            to_status=StockStatus.QUARANTINED,
        )


def expiry_day(expiry: str | None) -> int:
    """Days since 1970-01-01 of an ISO date; NO_EXPIRY for none."""
    return NO_EXPIRY if not expiry else date.fromisoformat(expiry).toordinal() - _EPOCH


class SlotIndex:
    """Answers stock questions without touching the database.

    Line ids index the columns: text columns are Python lists (strings shared, not copied per
    line), numbers are numpy arrays. Freed ids are reused.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._slot: list[str] = []
        self._gtin: list[str] = []
        self._batch: list[str] = []
        self._serial: list[str] = []
        self._status: list[str] = []
        self._epc: list[str | None] = []
        self._expiry_text: list[str | None] = []
        self._free: list[int] = []
        self._by_key: dict[tuple[str, str, str, str, str], int] = {}
        # Built on first use (not needed to start): slot -> line ids, GTIN -> line ids.
        self._slot_lines: dict[str, list[int]] | None = {}
        self._gtin_lines: dict[str, list[int]] | None = {}
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
        """Build the index from the `stock` table, a column at a time."""
        cursor = db.cursor()
        cursor.row_factory = None
        rows = cursor.execute(
            "SELECT slot, gtin, batch, serial, status, epc, expiry, quantity FROM stock"
        ).fetchall()
        index = cls(capacity=max(1024, len(rows) + len(rows) // 4))
        if rows:
            index._load_columns(rows)
        return index

    def _load_columns(self, rows: list[tuple[Any, ...]]) -> None:
        count = len(rows)
        slots, gtins, batches, serials, statuses, epcs, expiries, quantities = zip(
            *rows, strict=True
        )
        shared: dict[str, str] = {}  # one string object per distinct value
        self._slot = list(slots)
        self._gtin = [shared.setdefault(g, g) for g in gtins]
        self._batch = [shared.setdefault(b, b) for b in batches]
        self._serial = list(serials)
        self._status = [shared.setdefault(s, s) for s in statuses]
        self._epc = list(epcs)
        self._expiry_text = [e if e is None else shared.setdefault(e, e) for e in expiries]
        days = {e: expiry_day(e) for e in set(expiries)}
        self.quantity[:count] = quantities
        self.expiry[:count] = np.fromiter((days[e] for e in expiries), np.int32, count)
        self.available[:count] = np.array(statuses) == StockStatus.AVAILABLE.value
        gtin_row = {g: self.row_of(g) for g in set(self._gtin)}
        self.gtin_row_of_line[:count] = np.fromiter(
            (gtin_row[g] for g in self._gtin), np.int32, count
        )
        held = self.quantity[:count] * self.available[:count]
        self.on_hand_by_row[: len(self.gtin_rows)] = np.bincount(
            self.gtin_row_of_line[:count], weights=held, minlength=len(self.gtin_rows)
        ).astype(np.int64)
        self._by_key = dict(
            zip(
                zip(slots, gtins, batches, serials, statuses, strict=True),
                range(count),
                strict=True,
            )
        )
        self._slot_lines = self._gtin_lines = None
        for slot, epc in zip(self._slot, self._epc, strict=True):
            if epc is not None:
                self._epc_slot[epc] = slot

    def apply(self, movement: Movement) -> None:
        """Follow one committed movement."""
        for slot, status, delta in movement.stock_effects():
            key = (slot, movement.gtin, movement.batch, movement.serial, str(status))
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

    def quantity_of(self, key: tuple[str, str, str, str, str]) -> int:
        """Packs in exactly this stock line (slot, gtin, batch, serial, status)."""
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
        return [self._line(i) for i in self._by_slot().get(slot, ())]

    def lines_of(self, gtin: str, serial: str | None = None) -> list[StockLine]:
        """Every line of `gtin`, any status; with `serial`, only those of packs with that serial
        ('': the counted packs), without making a line of every other pack of the GTIN."""
        found = self._by_gtin().get(gtin, ())
        return [self._line(i) for i in found if serial is None or self._serial[i] == serial]

    def fefo(self, gtin: str, today: date) -> list[StockLine]:
        """Available, unexpired lines of `gtin`, earliest expiry first (no expiry last), then by
        slot and serial: the order packs should leave the shelves in."""
        cached = self._fefo_cache.get(gtin)
        if cached is None:
            lines = [self._line(i) for i in self._by_gtin().get(gtin, ()) if self.available[i]]
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

    def line_count(self) -> int:
        """How many stock lines there are."""
        return len(self._by_key)

    def lines(self) -> list[StockLine]:
        """Every stock line, for comparing the index with the store."""
        return [self._line(i) for i in self._by_key.values()]

    def row_of(self, gtin: str) -> int:
        """The row of `gtin` in the per-product arrays (allocated on first use)."""
        row = self.gtin_rows.get(gtin)
        if row is None:
            row = len(self.gtin_rows)
            while row >= len(self.on_hand_by_row):
                self.on_hand_by_row = _grown(self.on_hand_by_row, 0)
            self.gtin_rows[gtin] = row
        return row

    # Internals -------------------------------------------------------------------------------

    def _line(self, i: int) -> StockLine:
        return StockLine(
            self._slot[i],
            self._gtin[i],
            self._batch[i],
            self._serial[i],
            StockStatus(self._status[i]),
            self._epc[i],
            self._expiry_text[i],
            int(self.quantity[i]),
        )

    def _add(self, line: StockLine) -> None:
        columns = (
            line.slot,
            line.gtin,
            line.batch,
            line.serial,
            str(line.status),
            line.epc,
            line.expiry,
        )
        if self._free:
            i = self._free.pop()
            (
                self._slot[i],
                self._gtin[i],
                self._batch[i],
                self._serial[i],
                self._status[i],
                self._epc[i],
                self._expiry_text[i],
            ) = columns
        else:
            i = len(self._slot)
            for column, value in zip(self._text_columns(), columns, strict=True):
                column.append(value)
            if i == len(self.quantity):
                self.quantity = _grown(self.quantity, 0)
                self.expiry = _grown(self.expiry, NO_EXPIRY)
                self.available = _grown(self.available, False)
                self.gtin_row_of_line = _grown(self.gtin_row_of_line, 0)
        row = self.row_of(line.gtin)
        available = line.status is StockStatus.AVAILABLE
        self.quantity[i] = line.quantity
        self.expiry[i] = expiry_day(line.expiry)
        self.available[i] = available
        self.gtin_row_of_line[i] = row
        if available:
            self.on_hand_by_row[row] += line.quantity
        self._by_key[(line.slot, line.gtin, line.batch, line.serial, str(line.status))] = i
        if self._slot_lines is not None:
            self._slot_lines.setdefault(line.slot, []).append(i)
        if self._gtin_lines is not None:
            self._gtin_lines.setdefault(line.gtin, []).append(i)
        if line.epc is not None:
            self._epc_slot[line.epc] = line.slot
        self._fefo_cache.pop(line.gtin, None)

    def _by_slot(self) -> dict[str, list[int]]:
        if self._slot_lines is None:
            self._slot_lines = _group(self._slot, self._by_key.values())
        return self._slot_lines

    def _by_gtin(self) -> dict[str, list[int]]:
        if self._gtin_lines is None:
            self._gtin_lines = _group(self._gtin, self._by_key.values())
        return self._gtin_lines

    def _text_columns(self) -> tuple[list[Any], ...]:
        return (
            self._slot,
            self._gtin,
            self._batch,
            self._serial,
            self._status,
            self._epc,
            self._expiry_text,
        )

    def _change(self, i: int, delta: int) -> None:
        self.quantity[i] += delta
        if self.available[i]:
            self.on_hand_by_row[self.gtin_row_of_line[i]] += delta
        self._fefo_cache.pop(self._gtin[i], None)

    def _remove(self, i: int) -> None:
        slot, gtin, epc = self._slot[i], self._gtin[i], self._epc[i]
        if self.available[i]:
            self.on_hand_by_row[self.gtin_row_of_line[i]] -= self.quantity[i]
        self.quantity[i] = 0
        self.expiry[i] = NO_EXPIRY
        self.available[i] = False
        del self._by_key[(slot, gtin, self._batch[i], self._serial[i], self._status[i])]
        if self._slot_lines is not None:
            self._slot_lines[slot].remove(i)
        if self._gtin_lines is not None:
            self._gtin_lines[gtin].remove(i)
        if epc is not None and self._epc_slot.get(epc) == slot:
            del self._epc_slot[epc]
        self._epc[i] = None
        self._free.append(i)
        self._fefo_cache.pop(gtin, None)


def _group(column: list[str], line_ids: Iterable[int]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i in line_ids:
        groups.setdefault(column[i], []).append(i)
    return groups


def _fefo_order(line: StockLine) -> tuple[str, str, str]:
    return (line.expiry or "9999-12-31", line.slot, line.serial)


def _expiry_order(line: StockLine) -> tuple[str, str, str, str]:
    return (line.expiry or "", line.gtin, line.slot, line.serial)


A = TypeVar("A", bound=np.generic)


def _grown(array: npt.NDArray[A], fill: object) -> npt.NDArray[A]:
    extra = np.full(len(array), fill, dtype=array.dtype)
    return np.concatenate([array, extra])
