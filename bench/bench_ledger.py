"""The ledger: durable movements per second with group commit against one fsync per movement;
cold start with 1M movements over 100k slots (time and peak RSS); FEFO lookup latency; the
vectorized shortage check over 10k products against a plain Python loop."""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path

from bench.ledger_fixture import MOVEMENTS, PRODUCTS, SLOTS, gtin
from bench.report import header, row, run_benchmark
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.writer import LedgerWriter
from inventory.replenishment.policy import Product, ProductTable


@dataclass(frozen=True)
class Sizes:
    group: int  # movements through the writer
    single: int  # movements with one fsync each
    movements: int  # in the large ledger
    slots: int
    products: int
    lookups: int  # FEFO lookups timed


FULL = Sizes(50_000, 3_000, MOVEMENTS, SLOTS, PRODUCTS, 50_000)
QUICK = Sizes(1_000, 100, 3_000, 2_000, 200, 1_000)


def _receive(n: int) -> Movement:
    return Movement(
        MovementKind.RECEIVE,
        gtin(n % 100),
        1,
        batch=f"L{n % 5}",
        expiry="2027-03-31",
        to_slot=f"A-{n % 50:02d}",
        reference=f"r{n}",
    )


def _commit(movement: Movement, keeper: InventoryKeeper) -> None:
    keeper.commit([movement])


def one_fsync_per_movement(path: Path, count: int) -> float:
    keeper = InventoryKeeper(path, {}, "bench", "g1", integrity_check="quick_check")
    movements = [_receive(n) for n in range(count)]
    started = time.perf_counter()
    for movement in movements:
        keeper.commit([movement])  # its own transaction: one fsync each
    elapsed = time.perf_counter() - started
    keeper.close()
    return count / elapsed


def group_commit(path: Path, count: int) -> tuple[float, float]:
    writer = LedgerWriter(
        partial(InventoryKeeper, path, {}, "bench", "g1", integrity_check="quick_check")
    )
    writer.start()
    calls = [partial(_commit, _receive(n)) for n in range(count)]
    started = time.perf_counter()
    futures: list[Future[None]] = [writer.submit(call) for call in calls]
    for future in futures:
        future.result()  # acknowledged only once durable
    elapsed = time.perf_counter() - started
    groups = writer.groups
    writer.stop()
    return count / elapsed, count / groups


def group_commit_backlog(path: Path, count: int) -> float:
    """The writer's own rate: `count` changes queued while it is held, then released at once."""
    writer = LedgerWriter(
        partial(InventoryKeeper, path, {}, "bench", "g1", integrity_check="quick_check")
    )
    writer.start()
    gate = threading.Event()
    writer.submit(lambda keeper: gate.wait())
    futures = [writer.submit(partial(_commit, _receive(n))) for n in range(count)]
    started = time.perf_counter()
    gate.set()
    for future in futures:
        future.result()
    elapsed = time.perf_counter() - started
    writer.stop()
    return count / elapsed


def cold_start(path: Path, check: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.cold_start", str(path), check],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(out.stdout))


def fefo_latency(keeper: InventoryKeeper, sizes: Sizes) -> tuple[float, float, float]:
    rng = random.Random(3)
    today = date(2026, 11, 26)
    first: list[float] = []
    # The first lookup of a GTIN sorts its lines.
    for n in rng.sample(range(sizes.products), min(2000, sizes.products)):
        started = time.perf_counter_ns()
        keeper.index.fefo_slots(gtin(n), today)
        first.append((time.perf_counter_ns() - started) / 1000)
    again: list[float] = []
    for _ in range(sizes.lookups):
        n = rng.randrange(sizes.products)
        started = time.perf_counter_ns()
        keeper.index.fefo_slots(gtin(n), today)
        again.append((time.perf_counter_ns() - started) / 1000)
    again.sort()
    return statistics.median(again), again[int(len(again) * 0.99)], statistics.median(first)


def shortage_check(keeper: InventoryKeeper, count: int) -> tuple[float, float, int]:
    products = [Product(gtin(n), f"P{n}", reorder_point=400, par=800) for n in range(count)]
    table = ProductTable(products, keeper.index)
    on_order = {gtin(n): 5 for n in range(0, count, 10)}
    lines = keeper.index.lines()  # a plain-Python baseline: the same data as Python objects

    def python_loop() -> list[Product]:
        on_hand: dict[str, int] = {}
        for line in lines:
            if line.status == "available":
                on_hand[line.gtin] = on_hand.get(line.gtin, 0) + line.quantity
        return [
            p
            for p in products
            if on_hand.get(p.gtin, 0) + on_order.get(p.gtin, 0) <= p.reorder_point
        ]

    def timed(check: object) -> float:
        runs = []
        for _ in range(7):
            started = time.perf_counter()
            check()  # type: ignore[operator]
            runs.append(time.perf_counter() - started)
        return statistics.median(runs) * 1000

    assert [p.gtin for p in table.shortages(on_order)] == [p.gtin for p in python_loop()]
    return timed(lambda: table.shortages(on_order)), timed(python_loop), len(python_loop())


def main(quick: bool = False) -> None:
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        work = Path(tmp)
        header("durable movements per second (synchronous=FULL, each acknowledged once on disk)")
        single = one_fsync_per_movement(work / "single.sqlite", sizes.single)
        row("baseline: one transaction and fsync per movement", single, "moves/s", 1.0)
        grouped, per_group = group_commit(work / "group.sqlite", sizes.group)
        row(
            f"group commit, {sizes.group:,} submitted while it writes",
            grouped,
            "moves/s",
            grouped / single,
            f"goal >= 20k/s and >= 5x; {per_group:.0f} movements per commit",
        )
        backlog = group_commit_backlog(work / "backlog.sqlite", sizes.group)
        row(
            f"group commit, {sizes.group:,} waiting (the writer's own rate)",
            backlog,
            "moves/s",
            backlog / single,
            "no submitting thread competing for the GIL",
        )

        big = work / "big.sqlite"
        # Built in its own process, so that this one stays small while others are measured.
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"from bench.ledger_fixture import build; from pathlib import Path; "
                f"build(Path({str(big)!r}), {sizes.movements}, 1, {sizes.slots}, {sizes.products})",
            ],
            check=True,
        )
        header(
            f"cold start: {sizes.movements:,} movements, {sizes.slots:,} slots, "
            f"{sizes.products:,} products (fresh process)"
        )
        for check in ("quick_check", "integrity_check"):
            result = cold_start(big, check)
            row(
                f"open + {check} + index rebuild",
                result["seconds"] * 1000,
                "ms",
                None,
                f"goal <= 2000 ms; peak RSS {result['rss_mb']:.0f} MB (goal <= 200); "
                f"{result['stock_lines']:.0f} stock lines",
            )
        keeper = InventoryKeeper(big, {}, "bench", "g1", integrity_check="quick_check")
        p50, p99, first = fefo_latency(keeper, sizes)
        header(f"FEFO lookup (slots of a GTIN in pick order), {sizes.products:,} products")
        row("p50", p50, "us")
        row("p99", p99, "us")
        row("first lookup of a GTIN (sorts its lines), median", first, "us")
        vectorized, loop, found = shortage_check(keeper, sizes.products)
        header(f"shortage check over {sizes.products:,} products and {sizes.slots:,} slots")
        row("baseline: plain Python loop over stock lines", loop, "ms", 1.0)
        row(
            "vectorized (numpy, per-product arrays)",
            vectorized,
            "ms",
            loop / vectorized,
            f"goal <= 5 ms; {found} products short",
        )
        keeper.close()


if __name__ == "__main__":
    run_benchmark(main, __doc__)
