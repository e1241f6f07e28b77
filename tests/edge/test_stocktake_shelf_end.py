"""A sweep stopped next to the shelf's end, on the running daemon (mosquitto, a pty Chafon
handheld reporting no signal strength, a Modbus TCP shelf controller with six slots): rounds
that missed the tag behind (one, or two in a row) read what the handheld would read at the last
slot, yet the last slot is neither counted nor written off, and the shelf shows no discrepancy;
swept to the end later, the last slot is counted."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from drivers.modbus.lights import SlotLight
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.test_stocktake_sweep import PREFIX, answers, location, running_daemon, tag

SLOTS = 6
# Packs 1 and 2 in A-01, 3 in A-02, 4 in A-03 (running_daemon); 5 in A-04, 6 in A-05, and
# four packs, 7 to 10, in A-06.
STOCK = {5: "A-04", 6: "A-05", 7: "A-06", 8: "A-06", 9: "A-06", 10: "A-06"}
PACKS = {1: (1, 2), 2: (3,), 3: (4,), 4: (5,), 5: (6,), 6: (7, 8, 9, 10)}
DARK = SlotLight()

Rig = tuple[Gateway, ChafonSimulator, ShelfControllerSimulator, Path]


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    shelf = ShelfControllerSimulator(slots=SLOTS)
    await shelf.start()
    on_shelf = {"name": "A", "host": "127.0.0.1", "port": shelf.port, "slots": SLOTS}
    extra: dict[str, object] = {"shelves": [{**on_shelf, "gln": "4012345000016"}]}
    try:
        async with running_daemon(tmp_path, broker, extra, STOCK) as (gateway, handheld, db):
            yield gateway, handheld, shelf, db
    finally:
        await shelf.stop()


def field_at(slot: int) -> list[bytes]:
    """What the handheld reads held at `slot` (1-based): the location tags of the slot and of
    its neighbours, alike (no signal strength), and the slot's own packs."""
    tags = [location(n) for n in (slot - 1, slot, slot + 1) if 1 <= n <= SLOTS]
    return [*tags, *(tag(n) for n in PACKS[slot])]


async def rounds(handheld: ChafonSimulator, field: Sequence[bytes], n: int = 3) -> None:
    """`field` read in `n` whole rounds (the reader has asked for the next one after them)."""
    handheld.present(field)
    done = handheld.inventories
    await eventually(lambda: handheld.inventories > done + n, what=f"{n} rounds")


async def count(
    centre: Subscriber, handheld: ChafonSimulator, slots: Sequence[int], misses: int = 1
) -> dict[str, Any]:
    """A count of shelf A by command, the handheld held at each of `slots`; the end's answer.
    At A-05, `misses` rounds in a row miss A-04's tag, and read A-05's and A-06's alone."""
    before = len(answers(centre, "started"))
    start = with_envelope({"shelf": "A", "by": "Ana"})
    centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
    started = await eventually(lambda: answers(centre, "started")[before:], what="started")
    sid = str(started[0]["stocktake_id"])
    for slot in slots:
        await rounds(handheld, field_at(slot))
        if slot == 5:
            handheld.miss(location(4), rounds=misses)
            await rounds(handheld, field_at(slot))
    await rounds(handheld, [])  # the handheld lowered
    centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(with_envelope({"stocktake_id": sid})))
    [ended] = await eventually(
        lambda: [r for r in answers(centre, "ended") if r["stocktake_id"] == sid], what="report"
    )
    return dict(ended)


async def confirm(centre: Subscriber, stocktake_id: str) -> dict[str, object]:
    body = with_envelope({"stocktake_id": stocktake_id, "by": "Dr. Ruiz"})
    centre.publish(f"{PREFIX}/cmd/stocktake-confirm", json.dumps(body))
    [answer] = await eventually(
        lambda: [r for r in answers(centre, "confirmed") if r["stocktake_id"] == stocktake_id],
        what="confirmed",
    )
    return dict(answer)


def in_a06(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT serial FROM stock WHERE slot = 'A-06' ORDER BY serial")
        return [str(serial) for (serial,) in rows]


@pytest.mark.parametrize("misses", [1, 2])
async def test_a_sweep_stopped_next_to_the_end_does_not_count_or_write_off_the_last_slot(
    rig: Rig, subscribe: Callable[..., Subscriber], misses: int
) -> None:
    gateway, handheld, shelf, db = rig
    centre = subscribe(f"{PREFIX}/cmd-result")
    [bus] = gateway.devices.buses
    # Ana sweeps and stops there, leaving A-06 for later.
    first = await count(centre, handheld, [1, 2, 3, 4, 5], misses)
    assert first["not_counted"] == ["A-06"]
    assert first["summary"] == {
        "slots": 5,
        "expected": 6,
        "seen": 6,
        "missing": 0,
        "unexpected": 0,
        "misplaced": 0,
    }
    cycles = bus.cycles
    await eventually(lambda: bus.cycles > cycles + 3, what="the shelf's lights written")
    assert await shelf.lights() == [DARK] * SLOTS, "a discrepancy shown on the shelf"
    answer = await confirm(centre, str(first["stocktake_id"]))
    assert answer["adjustments"] == 0
    assert in_a06(db) == ["10", "7", "8", "9"], "A-06's packs written off"
    # Later, she sweeps on from A-05 to the shelf's end: A-06 is counted, all four there.
    rest = await count(centre, handheld, [5, 6])
    assert rest["not_counted"] == ["A-01", "A-02", "A-03", "A-04"]
    assert (rest["summary"]["slots"], rest["summary"]["seen"]) == (2, 5)
    assert rest["summary"]["missing"] == 0
