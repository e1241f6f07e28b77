"""Movements: the append-only facts of the ledger, and their place in the hash chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

GENESIS_HASH = "0" * 64


class MovementKind(StrEnum):
    RECEIVE = "receive"
    PUT_AWAY = "put_away"
    PICK = "pick"
    DISPENSE = "dispense"
    MOVE = "move"
    COUNT_ADJUSTMENT = "count_adjustment"
    QUARANTINE = "quarantine"
    RETURN = "return"


@dataclass(frozen=True, slots=True)
class Movement:
    """Packs going out of `from_slot` and/or into `to_slot`.

    Serialized packs carry their serial (and EPC URI when tagged) with quantity 1; counted packs
    carry GTIN, batch and a quantity.
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

    def stock_effects(self) -> list[tuple[str, int]]:
        """(slot, signed quantity) pairs this movement applies to stock."""
        effects: list[tuple[str, int]] = []
        if self.from_slot is not None:
            effects.append((self.from_slot, -self.quantity))
        if self.to_slot is not None:
            effects.append((self.to_slot, self.quantity))
        return effects

    def on_hand_change(self) -> int:
        """How this movement changes the gateway's on-hand quantity of its GTIN."""
        return sum(delta for _, delta in self.stock_effects())


def chain_hash(prev_hash: str, at: str, movement: Movement) -> str:
    """SHA-256 over the previous row's hash and this row's canonical content."""
    content = json.dumps(
        [
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
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()
