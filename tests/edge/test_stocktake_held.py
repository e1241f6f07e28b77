"""Confirming a count on the running daemon (mosquitto, a pty handheld and a pty fixed reader):
a pack the count missed that a recall held where it lies since is still booked out; a pack
taken off the shelf since is left, and the answer (on `cmd-result`, held to the contract) and
the command line say which and why."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from firmware_sim.r2000_sim import R2000Simulator
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.commands import with_envelope
from tests.conftest import Subscriber, eventually
from tests.edge.procurement_rig import CliRun
from tests.edge.test_stocktake_sweep import PREFIX, answers, location, pack, running_daemon, tag


def on_shelf(db: Path) -> dict[str, tuple[str, str]]:
    """Tagged packs on the shelves: serial -> slot, status."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT serial, slot, status FROM stock WHERE epc IS NOT NULL")
        return {serial: (slot, status) for serial, slot, status in rows}


async def test_a_count_confirmed_books_a_pack_held_since_and_says_which_it_left_and_why(
    tmp_path: Path, broker: LocalBroker, subscribe: Callable[..., Subscriber]
) -> None:
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s1", "g1")  # pack 7 of batch R1 in A-04
    seven = pack(7)
    put = Movement(
        MovementKind.PUT_AWAY, seven.gtin, 1, seven.serial, seven.epc, "R1", "2030-01-31"
    )
    keeper.commit([replace(put, to_slot="A-04")])
    keeper.close()
    fixed = R2000Simulator(link=tmp_path / "fixed")  # watches A-01, where packs 1 and 2 lie
    fixed.place(1, tag(1))
    fixed.place(1, tag(2))
    await fixed.start()
    watched = {
        "presence": {"dwell_seconds": 0.5},
        "readers": [
            {
                "name": "hh",
                "protocol": "chafon",
                "role": "handheld",
                "port": str(tmp_path / "handheld"),
            },
            {"name": "fixed", "port": fixed.port, "antennas": {"1": "A-01"}},
        ],
    }
    target = ["--broker", broker.url, "--site", "s1", "--gateway", "g1"]
    try:
        async with running_daemon(tmp_path, broker, watched) as (_, handheld, _):
            centre = subscribe(f"{PREFIX}/cmd-result")
            start = with_envelope({"shelf": "A", "by": "Ana"})
            centre.publish(f"{PREFIX}/cmd/stocktake-start", json.dumps(start))
            [started] = await eventually(lambda: answers(centre, "started"), what="started")
            sid = str(started["stocktake_id"])
            # Pack 2's tag does not answer the handheld; pack 7 is gone from A-04.
            passed = [[location(1), tag(1)], [location(2), tag(3)], [location(3), tag(4)]]
            await handheld.sweep([*passed, [location(4)]], dwell=0.3)
            end = with_envelope({"stocktake_id": sid})
            centre.publish(f"{PREFIX}/cmd/stocktake-end", json.dumps(end))
            [ended] = await eventually(lambda: answers(centre, "ended"), what="report")
            assert ended["summary"]["missing"] == 2
            # Before the pharmacist confirms: batch R1 is recalled (pack 7 held where the
            # ledger has it), and pack 2 is taken off A-01 (its reader books it out).
            recall = with_envelope({"gtin": seven.gtin, "batch": "R1", "note": "maker's recall"})
            centre.publish(f"{PREFIX}/cmd/recall", json.dumps(recall))
            await eventually(lambda: answers(centre, "recalled"), what="recalled")
            assert on_shelf(db)["7"] == ("A-04", "quarantined")
            fixed.remove(tag(2))
            await eventually(lambda: "2" not in on_shelf(db), what="pack 2 booked out")

            confirmed = await CliRun.start("stocktake", "confirm", sid, "--by", "Ana", *target)
            assert await confirmed.finish(timeout=20) == 0, confirmed.errors
            [answer] = await eventually(lambda: answers(centre, "confirmed"), what="confirmed")
            shelf = on_shelf(db)
    finally:
        await fixed.stop()
    assert "7" not in shelf, "the pack the count missed, recalled since, is still booked"
    assert answer["adjustments"] == 1
    assert answer["skipped"] == [
        {
            "epc": pack(2).epc,
            "gtin": pack(2).gtin,
            "serial": "2",
            "slot": "A-01",
            "why": "picked since the count",
        }
    ]
    said = f"{pack(2).gtin}/2 in A-01 (picked since the count)"
    assert any(
        f"{sid} confirmed by Ana: 1 adjustment(s) booked; 1 not booked: {said}" in line
        for line in confirmed.lines
    ), confirmed.lines
