"""A sweep left running by a stop is kept abandoned when the ledger is next opened; a file that
cannot be written at that moment (held by another process) still opens, not called damaged,
and the sweep is dealt with at the open after."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from inventory.keeper import InventoryKeeper
from inventory.stocktake.sweep import Sweep


def running_sweep(db: Path) -> str:
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    sweep = Sweep("st-A-20261206T120000", "A", ["A-01"], "Ana")
    keeper.stocktakes.started(sweep)
    keeper.close()
    return sweep.stocktake_id


def state_of(db: Path, stocktake_id: str) -> str:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT state FROM stocktakes WHERE stocktake_id = ?", (stocktake_id,))
        return str(row.fetchone()[0])


def test_a_sweep_left_running_waits_for_an_open_that_can_write(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    sid = running_sweep(db)
    assert state_of(db, sid) == "running"
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing: this open cannot
    try:
        keeper = InventoryKeeper(db, {}, "s1", "g1")  # opens all the same
        keeper.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert state_of(db, sid) == "running"
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    try:
        assert state_of(db, sid) == "abandoned"
        told = [json.loads(r.payload) for r in keeper.pending_messages(100)]
        [answer] = [t for t in told if t.get("status") == "abandoned"]
        assert (answer["stocktake_id"], answer["shelf"]) == (sid, "A")
    finally:
        keeper.close()
