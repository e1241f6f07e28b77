"""The ledger's write path: its group commit against writing the same movements through
sqlite-utils, the library its read and export side uses.

All three sides write to a fresh ledger file (WAL, synchronous=FULL) and count movements that
are on disk. The group commit does the whole job of a change (stock checked, hash chain, stock
rows, slot index) for 50,000 receipts submitted at once. sqlite-utils gets the finished
`movements` rows (hashes computed beforehand, no stock rows): `insert_all` in batches of 1,000
(its bulk path) and `insert` one row at a time (what a change written on its own costs there).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from bench.bench_ledger import FULL, QUICK, _receive, group_commit
from bench.report import header, row, run_benchmark
from inventory.ledger.book import chained_row
from inventory.ledger.movements import GENESIS_HASH
from inventory.ledger.store import connect

COLUMNS = [  # the order of chained_row's values
    *("at", "kind", "gtin", "serial", "epc", "batch", "expiry", "quantity", "from_slot"),
    *("from_status", "to_slot", "to_status", "actor", "reason", "reference", "prev_hash", "hash"),
]
AT = "2026-11-26T09:00:00.000Z"


def movement_rows(count: int) -> list[dict[str, Any]]:
    """`count` receipts as the ledger's `movements` rows, chained."""
    rows, prev = [], GENESIS_HASH
    for n in range(count):
        values, prev = chained_row(prev, AT, _receive(n))
        rows.append(dict(zip(COLUMNS, values, strict=True)))
    return rows


def sqlite_utils_insert_all(path: Path, rows: list[dict[str, Any]]) -> float:
    db = Database(connect(path, "quick_check"))
    started = time.perf_counter()
    db.table("movements").insert_all(rows, batch_size=1000)
    elapsed = time.perf_counter() - started
    db.conn.close()
    return len(rows) / elapsed


def sqlite_utils_one_by_one(path: Path, rows: list[dict[str, Any]]) -> float:
    db = Database(connect(path, "quick_check"))
    table = db.table("movements")
    started = time.perf_counter()
    for one in rows:
        table.insert(one)  # its own transaction: one fsync each
    elapsed = time.perf_counter() - started
    db.conn.close()
    return len(rows) / elapsed


def main(quick: bool = False) -> None:
    sizes = QUICK if quick else FULL
    rows = movement_rows(sizes.group)
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work = Path(tmp)
        header("the write path: group commit against sqlite-utils (synchronous=FULL)")
        grouped, per_group = group_commit(work / "group.sqlite", sizes.group)
        row(
            f"baseline: group commit, {sizes.group:,} whole changes",
            grouped,
            "moves/s",
            1.0,
            f"{per_group:.0f} movements per commit",
        )
        bulk = sqlite_utils_insert_all(work / "bulk.sqlite", rows)
        row(
            "sqlite-utils insert_all, rows ready, 1000/batch",
            bulk,
            "moves/s",
            bulk / grouped,
            "movements rows only: no checks, no stock",
        )
        single = sqlite_utils_one_by_one(work / "single.sqlite", rows[: sizes.single])
        row(
            "sqlite-utils insert, one row per transaction",
            single,
            "moves/s",
            single / grouped,
            "a change written on its own",
        )


if __name__ == "__main__":
    run_benchmark(main, __doc__)
