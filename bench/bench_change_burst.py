"""A burst of changes through the daemon's queue: tagged packs arriving on the shelves at once
(a tote put on a shelf, a first start reading in every pack), applied by the daemon's apply
loop (`LedgerLink.apply_changes`) on a real ledger (WAL, synchronous=FULL).

The changes waiting together are written in one commit (up to `TOGETHER`); against it, the
same burst applied one change per commit (as the loop did before), and the disk's own rate:
one row inserted and committed at a time (one fsync each), measured in the same run."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections import Counter
from pathlib import Path

from epcpy.epc_schemes.sgtin import SGTIN, SGTINFilterValue

from bench.report import header, median_of, row, run_benchmark
from edge.clock import Clock
from edge.daemon import ledger_link
from edge.daemon.applied import Applied
from edge.daemon.ledger_link import LedgerLink
from edge.daemon.storage_guard import StorageGuard
from edge.service.latency import COMMIT_BUCKETS, LatencyHistogram
from edge.service.watchdog import Heartbeats
from inventory.changes import Arrived, Change
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper

FULL, QUICK = 2_000, 200  # packs arriving
PRODUCTS = 100  # GTINs they are spread over


def arrivals(count: int, products: int = PRODUCTS) -> list[Change]:
    """`count` tagged packs (SGTIN-96) of `products` products, arriving in 10 slots."""
    decoder, found = EpcDecoder(), list[Change]()
    for n in range(count):
        uri = f"urn:epc:id:sgtin:0614141.{812300 + n % products}.{1000 + n}"
        epc = SGTIN(uri).hex(
            binary_coding_scheme=SGTIN.BinaryCodingScheme.SGTIN_96,
            filter_value=SGTINFilterValue.POS_ITEM,
        )
        pack = decoder.decode(bytes.fromhex(epc))
        assert isinstance(pack, PackId)
        found.append(Arrived(pack, f"A-{n % 10:02d}"))
    return found


async def burst(path: Path, changes: list[Change], together: int) -> tuple[float, int]:
    """Changes per second through the apply loop, `together` at most per commit; commits."""
    clock = Clock()
    applied: list[Applied] = []

    async def took(change: Applied) -> None:
        applied.append(change)

    link = LedgerLink(
        lambda: InventoryKeeper(path, {}, "bench", "g1", integrity_check="quick_check"),
        StorageGuard(lambda _alarm: None, lambda _activity: None, clock),
        Heartbeats(clock.monotonic),
        Counter(),
        LatencyHistogram(COMMIT_BUCKETS, clock.monotonic),
        lambda _keeper: {},
        took,
        lambda _epc: None,
        max_waiting=len(changes),
    )
    await link.open()
    for change in changes:
        assert link.offer(change)
    before, kept = link.writer.groups, ledger_link.TOGETHER
    ledger_link.TOGETHER = together
    started = time.perf_counter()
    applying = asyncio.create_task(link.apply_changes())
    try:
        done = asyncio.Event()
        link.when_written(done.set)
        await done.wait()
        elapsed = time.perf_counter() - started
    finally:
        ledger_link.TOGETHER = kept
        applying.cancel()
        await asyncio.gather(applying, return_exceptions=True)
        await link.close()
    assert len(applied) == len(changes), f"{len(applied)} of {len(changes)} applied"
    return len(changes) / elapsed, link.writer.groups - before


def fsync_per_row(path: Path, count: int) -> float:
    """The disk's rate for rows committed one at a time (WAL, synchronous=FULL)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (n INTEGER, at TEXT)")
    started = time.perf_counter()
    for n in range(count):
        db.execute("BEGIN")
        db.execute("INSERT INTO t VALUES (?, ?)", (n, "2026-12-07T09:00:00Z"))
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


def main(quick: bool = False) -> None:
    count = QUICK if quick else FULL
    changes = arrivals(count)
    runs = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work, files = Path(tmp), iter(range(1_000_000))

        def fresh() -> Path:
            return work / f"ledger-{next(files)}.sqlite"

        header(f"a burst of {count:,} tagged packs arriving, through the daemon's apply loop")
        disk = median_of(runs, lambda: fsync_per_row(fresh(), min(count, 500)))
        row("baseline: one row per commit (one fsync each)", disk, "rows/s", 1.0)
        commits: list[int] = []

        def measure(together: int) -> float:
            rate, groups = asyncio.run(burst(fresh(), changes, together))
            commits.append(groups)
            return rate

        alone = median_of(runs, lambda: measure(1))
        row("one change per commit", alone, "changes/s", alone / disk, f"{commits[-1]} commits")
        grouped = median_of(runs, lambda: measure(ledger_link.TOGETHER))
        row(
            f"changes waiting together, {ledger_link.TOGETHER} a commit",
            grouped,
            "changes/s",
            grouped / disk,
            f"{commits[-1]} commits; {grouped / alone:.1f}x one change per commit",
        )
        one_product = arrivals(count, products=1)  # every pack's lookups find all the others
        same = median_of(
            runs, lambda: asyncio.run(burst(fresh(), one_product, ledger_link.TOGETHER))[0]
        )
        row("the same, every pack of one product", same, "changes/s", same / disk)


if __name__ == "__main__":
    run_benchmark(main, __doc__)
