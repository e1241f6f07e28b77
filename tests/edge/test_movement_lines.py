"""The lines a person watching the daemon reads about booked movements: each says what the
shelves hold of its product right after it, also when several land in one change."""

from __future__ import annotations

from pathlib import Path

from edge.daemon.applied import activities, apply_change
from inventory.changes import Book
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.replenishment.policy import Product

AMOXICILLIN, PARACETAMOL = "04012345123456", "05012345678900"


def put(gtin: str, serial: str) -> Movement:
    return Movement(
        MovementKind.PUT_AWAY, gtin, serial=serial, batch="B1", expiry="2030-12-31", to_slot="A-01"
    )


def test_moves_booked_together_each_state_the_on_hand_after_their_own(tmp_path: Path) -> None:
    keeper = InventoryKeeper(tmp_path / "ledger.sqlite", {}, "s1", "g1")
    try:
        keeper.commit([put(AMOXICILLIN, str(n)) for n in range(1, 8)])  # 7 on the shelf
        keeper.commit([put(PARACETAMOL, "1"), put(PARACETAMOL, "2")])
        together = Book(
            (
                put(AMOXICILLIN, "10"),
                put(AMOXICILLIN, "11"),
                Movement(MovementKind.PICK, PARACETAMOL, serial="1", batch="B1", from_slot="A-01"),
                put(AMOXICILLIN, "12"),
            )
        )
        applied = apply_change(together, lambda _keeper: {}, keeper)
    finally:
        keeper.close()
    products = {AMOXICILLIN: Product(AMOXICILLIN, "Amoxicillin 500 mg", 0, 0)}
    lines = [a.text for a in activities(applied, products) if a.kind == "movement"]
    assert lines == [
        "put_away Amoxicillin 500 mg serial 10 at A-01; on hand now 8",
        "put_away Amoxicillin 500 mg serial 11 at A-01; on hand now 9",
        f"pick {PARACETAMOL} serial 1 at A-01; on hand now 1",
        "put_away Amoxicillin 500 mg serial 12 at A-01; on hand now 10",
    ]
