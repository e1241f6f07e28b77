"""Movements: the append-only facts of the ledger, and their place in the hash chain.

A movement takes packs out of one stock line and/or puts them into another. A stock line is
one GTIN, batch and serial (serial '' for counted packs) in one slot with one status: available
(pickable) or quarantined (held back: recalled, damaged, expired).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from inventory.errors import StockError

GENESIS_HASH = "0" * 64
# One encoder for every row: json.dumps with options would build a new one per call.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class MovementKind(StrEnum):
    RECEIVE = "receive"  # a delivery booked in
    PUT_AWAY = "put_away"  # packs placed on a shelf
    PICK = "pick"  # taken for a prescription or order
    DISPENSE = "dispense"  # handed out to a patient
    MOVE = "move"  # from one slot to another
    # A count found more or fewer: a stocktake, or a counted pack found to be a tagged one.
    COUNT_ADJUSTMENT = "count_adjustment"
    QUARANTINE = "quarantine"  # held back, no longer pickable
    RELEASE = "release"  # back from quarantine
    RETURN = "return"  # back into stock (a patient's or a ward's return)
    WRITE_OFF = "write_off"  # destroyed, or sent back to the supplier


class StockStatus(StrEnum):
    AVAILABLE = "available"
    QUARANTINED = "quarantined"


# Which sides each kind has: (takes from a line, puts into a line).
SIDES: dict[MovementKind, tuple[bool, bool]] = {
    MovementKind.RECEIVE: (False, True),
    MovementKind.PUT_AWAY: (False, True),
    MovementKind.PICK: (True, False),
    MovementKind.DISPENSE: (True, False),
    MovementKind.MOVE: (True, True),
    MovementKind.QUARANTINE: (True, True),
    MovementKind.RELEASE: (True, True),
    MovementKind.RETURN: (False, True),
    MovementKind.WRITE_OFF: (True, False),
}


class MovementError(StockError, ValueError):
    """A movement that cannot be right whatever the stock (the message says why)."""


@dataclass(frozen=True, slots=True)
class Movement:
    """Packs going out of (`from_slot`, `from_status`) and/or into (`to_slot`, `to_status`).

    Serialized packs carry their serial (and EPC URI when tagged) with quantity 1; counted packs
    carry GTIN, batch and a quantity. Batches carry their expiry (ISO date).
    """

    kind: MovementKind
    gtin: str
    quantity: int = 1
    serial: str = ""
    epc: str | None = None
    batch: str = ""
    expiry: str | None = None
    from_slot: str | None = None
    to_slot: str | None = None
    actor: str = "system"
    reason: str = ""
    reference: str = ""
    from_status: StockStatus = StockStatus.AVAILABLE
    to_status: StockStatus = StockStatus.AVAILABLE

    def check(self) -> None:
        """Raise MovementError when the movement is wrong in itself."""
        if self.quantity <= 0:
            raise MovementError(f"quantity must be positive, got {self.quantity}")
        if self.serial and self.quantity != 1:
            raise MovementError(f"serialized pack {self.serial} moves one at a time")
        takes, puts = (self.from_slot is not None, self.to_slot is not None)
        if self.kind is MovementKind.COUNT_ADJUSTMENT:
            if takes == puts:
                raise MovementError(
                    "a count adjustment either adds (to_slot) or removes (from_slot) packs"
                )
        elif (takes, puts) != SIDES[self.kind]:
            need = {
                (True, False): "from_slot only",
                (False, True): "to_slot only",
                (True, True): "from_slot and to_slot",
            }[SIDES[self.kind]]
            raise MovementError(f"a {self.kind} needs {need}")
        if self.kind in (MovementKind.PICK, MovementKind.DISPENSE) and (
            self.from_status is not StockStatus.AVAILABLE
        ):
            raise MovementError(f"quarantined stock cannot be handed out ({self.kind})")
        if self.kind is MovementKind.QUARANTINE and (
            self.from_slot != self.to_slot
            or (self.from_status, self.to_status)
            != (StockStatus.AVAILABLE, StockStatus.QUARANTINED)
        ):
            raise MovementError("quarantine holds back available stock where it is")
        if self.kind is MovementKind.RELEASE and (
            self.from_slot != self.to_slot
            or (self.from_status, self.to_status)
            != (StockStatus.QUARANTINED, StockStatus.AVAILABLE)
        ):
            raise MovementError("release returns quarantined stock to available where it is")

    def stock_effects(self) -> list[tuple[str, StockStatus, int]]:
        """(slot, status, signed quantity) for each stock line this movement changes."""
        effects: list[tuple[str, StockStatus, int]] = []
        if self.from_slot is not None:
            effects.append((self.from_slot, self.from_status, -self.quantity))
        if self.to_slot is not None:
            effects.append((self.to_slot, self.to_status, self.quantity))
        return effects

    def available_change(self) -> int:
        """How this movement changes the available (pickable) quantity of its GTIN."""
        return sum(d for _, status, d in self.stock_effects() if status is StockStatus.AVAILABLE)

    def columns(self, at: str) -> list[object]:
        """The row's content in the `movements` columns' order, from `at` to `reference`."""
        return [
            at,
            str(self.kind),
            self.gtin,
            self.serial,
            self.epc,
            self.batch,
            self.expiry,
            self.quantity,
            self.from_slot,
            str(self.from_status) if self.from_slot else None,
            self.to_slot,
            str(self.to_status) if self.to_slot else None,
            self.actor,
            self.reason,
            self.reference,
        ]


def canonical(columns: list[object]) -> str:
    """A row's columns (`Movement.columns`) as the compact JSON array that is hashed."""
    return _CANONICAL(columns)


def next_hash(prev_hash: str, content: str) -> str:
    """SHA-256 over the previous row's hash and this row's canonical content."""
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def chain_hash(prev_hash: str, at: str, movement: Movement) -> str:
    """SHA-256 over the previous row's hash and this row's canonical content."""
    return next_hash(prev_hash, canonical(movement.columns(at)))
