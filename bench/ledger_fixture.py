"""A large ledger for benchmarks: 1M chained movements over 100k slots and 10k products,
written straight into a file in big transactions (setting it up is not what is measured)."""

from __future__ import annotations

import random
from pathlib import Path

from inventory.ledger.book import chained_row
from inventory.ledger.movements import GENESIS_HASH, Movement, MovementKind
from inventory.ledger.store import connect

PRODUCTS = 10_000
SLOTS = 100_000
MOVEMENTS = 1_000_000
AT = "2026-11-26T09:00:00.000Z"


def gtin(n: int) -> str:
    """A valid GTIN-14 for product n."""
    body = f"04{n:011d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def slot(n: int) -> str:
    return f"S{n // 100:04d}-{n % 100 + 1:02d}"


def build(
    path: Path,
    movements: int = MOVEMENTS,
    seed: int = 1,
    slots: int = SLOTS,
    products: int = PRODUCTS,
) -> None:
    """Receive a batch into every slot, then mix picks, receives and moves up to `movements`."""
    rng = random.Random(seed)
    db = connect(path, "quick_check")
    stock: dict[tuple[str, str, str], int] = {}
    expiry_of: dict[str, str] = {}
    rows: list[tuple[object, ...]] = []
    prev = GENESIS_HASH

    def add(movement: Movement) -> None:
        nonlocal prev
        row, prev = chained_row(prev, AT, movement)
        rows.append(row)
        for where, _, delta in movement.stock_effects():
            key = (where, movement.gtin, movement.batch)
            stock[key] = stock.get(key, 0) + delta
            if stock[key] == 0:
                del stock[key]

    keys: list[tuple[str, str, str]] = []
    for n in range(slots):
        product = gtin(n % products)
        batch = f"L{n % 7}"
        expiry_of[batch] = f"2027-{n % 7 + 1:02d}-28"
        add(
            Movement(
                MovementKind.RECEIVE,
                product,
                rng.randint(5, 40),
                batch=batch,
                expiry=expiry_of[batch],
                to_slot=slot(n),
            )
        )
        keys.append((slot(n), product, batch))
    while len(rows) < movements:
        where, product, batch = rng.choice(keys)
        have = stock.get((where, product, batch), 0)
        roll = rng.random()
        if have and roll < 0.6:
            add(
                Movement(
                    MovementKind.PICK,
                    product,
                    rng.randint(1, min(have, 3)),
                    batch=batch,
                    expiry=expiry_of[batch],
                    from_slot=where,
                )
            )
        elif have and roll < 0.7:
            target = slot(rng.randrange(slots))
            add(
                Movement(
                    MovementKind.MOVE,
                    product,
                    1,
                    batch=batch,
                    expiry=expiry_of[batch],
                    from_slot=where,
                    to_slot=target,
                )
            )
            keys.append((target, product, batch))
        else:
            add(
                Movement(
                    MovementKind.RECEIVE,
                    product,
                    rng.randint(1, 10),
                    batch=batch,
                    expiry=expiry_of[batch],
                    to_slot=where,
                )
            )
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO movements (at, kind, gtin, serial, epc, batch, expiry, quantity, from_slot,"
        " from_status, to_slot, to_status, actor, reason, reference, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.executemany(
        "INSERT INTO stock (slot, gtin, batch, serial, status, epc, expiry, quantity)"
        " VALUES (?, ?, ?, '', 'available', NULL, ?, ?)",
        [(s, g, b, expiry_of[b], q) for (s, g, b), q in stock.items()],
    )
    db.execute(
        "UPDATE ledger_head SET movements = ?, last_id = ?, last_hash = ?",
        (len(rows), len(rows), prev),
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # leave no large WAL behind
    db.close()
