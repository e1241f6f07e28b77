"""A child process for the crash test: writes a mixed workload through the group-committing
writer and prints `ack REFERENCE` for each movement once it is durable, until it is killed.

Each line read on stdin starts one such life in a process forked from this one, with
everything imported already (a new interpreter would spend most of a life importing): this
process prints `pid PID` for it, and `ended STATUS` (as a Popen's returncode) once it is
reaped, after the life's own `ready` and `ack` lines."""

from __future__ import annotations

import os
import random
import sys
import traceback
from concurrent.futures import Future
from functools import partial
from pathlib import Path

from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.writer import LedgerWriter
from inventory.replenishment.policy import Product

GTINS = ["04012345123456", "04012345987652"]
SLOTS = ["A-01", "A-02", "A-03"]


def movement_for(keeper: InventoryKeeper, rng: random.Random, reference: str) -> Movement:
    """A movement that is possible against the keeper's stock (called on the writer thread)."""
    gtin, slot = rng.choice(GTINS), rng.choice(SLOTS)
    held = [
        line
        for line in keeper.index.lines_of(gtin)
        if line.slot == slot and not line.serial and line.status == "available"
    ]
    roll = rng.random()
    if held and roll < 0.4:
        line = rng.choice(held)
        return Movement(
            MovementKind.PICK,
            gtin,
            rng.randint(1, line.quantity),
            batch=line.batch,
            expiry=line.expiry,
            from_slot=slot,
            reference=reference,
        )
    if held and roll < 0.55:
        line = rng.choice(held)
        return Movement(
            MovementKind.MOVE,
            gtin,
            1,
            batch=line.batch,
            expiry=line.expiry,
            from_slot=slot,
            to_slot=rng.choice(SLOTS),
            reference=reference,
        )
    batch = rng.choice(["B1", "B2"])
    return Movement(
        MovementKind.RECEIVE,
        gtin,
        rng.randint(1, 5),
        batch=batch,
        expiry="2027-01-31" if batch == "B1" else "2027-06-30",
        to_slot=slot,
        reference=reference,
    )


def commit_one(rng: random.Random, reference: str, keeper: InventoryKeeper) -> str:
    keeper.commit([movement_for(keeper, rng, reference)])
    return reference


def say(line: str) -> None:
    """One line on stdout in one write: a life killed between the two writes of a print (its
    text, then the newline, when Python's output is unbuffered) would leave half a line."""
    os.write(sys.stdout.fileno(), f"{line}\n".encode())


def live(path: Path) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    products = {GTINS[0]: Product(GTINS[0], "Amoxicillin", reorder_point=3, par=20)}
    writer = LedgerWriter(
        partial(InventoryKeeper, path, products, "s", "g", integrity_check="quick_check")
    )
    writer.start()
    say("ready")
    n = 0
    while True:
        # Several in flight at once, so that groups of them share a commit.
        futures: list[Future[str]] = []
        for _ in range(rng.randint(1, 40)):
            n += 1
            futures.append(writer.submit(partial(commit_one, rng, f"p{os.getpid()}-{n}")))
        for future in futures:
            say(f"ack {future.result()}")


def main() -> None:
    path = Path(sys.argv[1])
    for _ in sys.stdin:
        pid = os.fork()
        if pid == 0:
            try:
                live(path)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"ended {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
