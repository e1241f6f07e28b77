"""A child process for tests that read a ledger while it is written: receives a pack into one
slot after another, each movement a transaction of its own as the daemon commits them, until
its stdin closes. Prints `ready` once its first movement is durable.

Usage: python -m tests.inventory.steady_writer LEDGER GTIN SLOT..."""

from __future__ import annotations

import itertools
import sys
import threading

from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind


def main(path: str, gtin: str, slots: list[str]) -> None:
    keeper = InventoryKeeper(path, {}, "s1", "g1")
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    try:
        for n, slot in enumerate(itertools.cycle(slots)):
            keeper.commit([Movement(MovementKind.RECEIVE, gtin, 1, batch="W", to_slot=slot)])
            if n == 0:
                print("ready", flush=True)
            if stop.is_set():
                return
    finally:
        keeper.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
