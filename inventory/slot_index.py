"""The in-memory view of `stock`: what is in each slot, where each tagged pack is, and on-hand
per GTIN in a numpy array, rebuilt at start and kept in step with every commit."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from inventory.movements import Movement

StockKey = tuple[str, str, str]  # gtin, batch, serial


@dataclass(frozen=True, slots=True)
class StockLine:
    """Packs of one GTIN, batch and serial (or counted, serial '') in one slot."""

    slot: str
    gtin: str
    batch: str
    serial: str
    epc: str | None
    expiry: str | None
    quantity: int


class SlotIndex:
    """Answers stock questions without touching the database."""

    def __init__(self) -> None:
        self._slots: dict[str, dict[StockKey, StockLine]] = defaultdict(dict)
        self._epc_slot: dict[str, str] = {}
        self._gtin_row: dict[str, int] = {}
        self._on_hand: npt.NDArray[np.int64] = np.zeros(64, dtype=np.int64)

    @classmethod
    def load(cls, db: sqlite3.Connection) -> SlotIndex:
        """Build the index from the `stock` table."""
        index = cls()
        for row in db.execute("SELECT slot, gtin, batch, serial, epc, expiry, quantity FROM stock"):
            index._put(StockLine(*row))
        return index

    def apply(self, movement: Movement) -> None:
        """Follow one committed movement."""
        key = (movement.gtin, movement.batch, movement.serial)
        for slot, delta in movement.stock_effects():
            lines = self._slots[slot]
            line = lines.get(key)
            quantity = (line.quantity if line else 0) + delta
            if line is not None:
                self._drop(line)
            if quantity > 0:
                base = line or StockLine(
                    slot,
                    movement.gtin,
                    movement.batch,
                    movement.serial,
                    movement.epc,
                    movement.expiry,
                    0,
                )
                self._put(replace(base, quantity=quantity))

    def on_hand(self, gtin: str) -> int:
        """Packs of `gtin` on the shelves."""
        row = self._gtin_row.get(gtin)
        return 0 if row is None else int(self._on_hand[row])

    def on_hand_all(self) -> dict[str, int]:
        """On-hand of every GTIN the index has seen."""
        return {gtin: int(self._on_hand[row]) for gtin, row in self._gtin_row.items()}

    def quantity(self, slot: str, gtin: str, batch: str = "", serial: str = "") -> int:
        """Packs of exactly this line in `slot`."""
        line = self._slots.get(slot, {}).get((gtin, batch, serial))
        return line.quantity if line else 0

    def slot_of(self, epc: str) -> str | None:
        """The slot holding the tagged pack, or None."""
        return self._epc_slot.get(epc)

    def placed_epcs(self) -> dict[str, str]:
        """Every tagged pack on the shelves and its slot."""
        return dict(self._epc_slot)

    def contents(self, slot: str) -> list[StockLine]:
        """What `slot` holds."""
        return list(self._slots.get(slot, {}).values())

    def slots_holding(self, gtin: str) -> list[str]:
        """Slots holding `gtin`, earliest expiry first (no expiry last), then by slot name."""
        best: dict[str, str] = {}
        for slot, lines in self._slots.items():
            for line in lines.values():
                if line.gtin == gtin:
                    expiry = line.expiry or "9999-99-99"
                    best[slot] = min(best.get(slot, expiry), expiry)
        return sorted(best, key=lambda slot: (best[slot], slot))

    def lines(self) -> list[StockLine]:
        """Every stock line, for comparing the index with the store."""
        return [line for lines in self._slots.values() for line in lines.values()]

    def _row(self, gtin: str) -> int:
        row = self._gtin_row.get(gtin)
        if row is None:
            row = len(self._gtin_row)
            if row == len(self._on_hand):
                self._on_hand = np.concatenate([self._on_hand, np.zeros_like(self._on_hand)])
            self._gtin_row[gtin] = row
        return row

    def _put(self, line: StockLine) -> None:
        self._slots[line.slot][(line.gtin, line.batch, line.serial)] = line
        if line.epc is not None:
            self._epc_slot[line.epc] = line.slot
        self._on_hand[self._row(line.gtin)] += line.quantity

    def _drop(self, line: StockLine) -> None:
        del self._slots[line.slot][(line.gtin, line.batch, line.serial)]
        if line.epc is not None and self._epc_slot.get(line.epc) == line.slot:
            del self._epc_slot[line.epc]
        self._on_hand[self._row(line.gtin)] -= line.quantity
