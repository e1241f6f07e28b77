"""Reconciling a 10,000-pack stocktake sweep against the ledger (goal <= 100 ms).

A ledger with 10,000 serialised packs over 500 slots (20 each), one in five booked by its code
only (GTIN and serial: its tag, first read in the count, joins its line); a sweep that reads
every slot's location tag and its packs, with 1 % of the packs gone, 1 % moved to another slot
and 100 packs the ledger never had. Timed: the assignment of reads to slots plus the vectorized
reconciliation (`reconcile`), and the whole `finish` on the ledger's writer (reconciliation,
report stored, discrepancy alarm, one EPCIS event per slot, one durable commit). Baselines in
the same run: the same reconciliation as a plain Python loop over dictionaries, and the time
the handheld's serial line (Chafon, 57600 baud) needs to carry those reads once.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import header, row, run_benchmark
from drivers.chafon.inventory import encode_inventory_answer
from firmware_sim.chafon_sim import EPCS_PER_FRAME
from firmware_sim.lines import BITS_PER_BYTE
from firmware_sim.tags import sgtin96
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.stock.slot_index import StockLine
from inventory.stocktake.reconcile import reconcile
from inventory.stocktake.sweep import Sweep

BAUD = 57600


@dataclass(frozen=True)
class Sizes:
    packs: int
    slots: int
    runs: int


FULL, QUICK = Sizes(10_000, 500, 7), Sizes(500, 25, 1)
CODED = 5  # every fifth pack is booked by its code only


def slot_name(n: int) -> str:
    return f"S{n // 24:03d}-{n % 24 + 1:02d}"


def build(path: Path, sizes: Sizes) -> tuple[InventoryKeeper, list[PackId], list[str]]:
    decoder = EpcDecoder()
    packs = []
    for n in range(sizes.packs + 100):
        found = decoder.decode(sgtin96("4012345", f"{n % 50:06d}", n))
        assert isinstance(found, PackId)
        packs.append(found)
    slots = [slot_name(n) for n in range(sizes.slots)]
    keeper = InventoryKeeper(path, {}, "bench", "g1")
    with keeper.group():
        for n, pack in enumerate(packs[: sizes.packs]):
            keeper.commit(
                [
                    Movement(
                        MovementKind.PUT_AWAY,
                        pack.gtin,
                        serial=pack.serial,
                        epc=None if n % CODED == 0 else pack.epc,
                        to_slot=slots[n % len(slots)],
                    )
                ]
            )
    return keeper, packs, slots


def sweep_of(packs: list[PackId], slots: list[str], seed: int) -> Sweep:
    rng = random.Random(seed)
    booked = packs[:-100]  # the last 100 were never booked in
    where = {p.epc: slots[n % len(slots)] for n, p in enumerate(booked)}
    for p in rng.sample(booked, len(booked) // 100):
        del where[p.epc]  # gone
    for p in rng.sample([p for p in booked if p.epc in where], len(booked) // 100):
        where[p.epc] = rng.choice(slots)  # moved
    for p in packs[-100:]:
        where[p.epc] = rng.choice(slots)  # never booked in
    by_slot: dict[str, list[PackId]] = {s: [] for s in slots}
    for p in packs:
        if p.epc in where:
            by_slot[where[p.epc]].append(p)
    sweep = Sweep("bench", "S", slots, "bench")
    for slot in slots:
        sweep.location(slot, f"urn:epc:id:sgln:4012345.00001.{slot}", -40)
        for p in by_slot[slot]:
            sweep.pack(p, -50)
        sweep.round_done()
    return sweep


def plain_reconcile(
    slots: list[str], seen: dict[str, str], packs: dict[str, PackId], lines: list[StockLine]
) -> tuple[int, int, int]:
    """The same answer, one dictionary lookup at a time."""
    swept = set(slots)
    booked = {line.epc: line.slot for line in lines if line.epc}
    by_code = {(line.gtin, line.serial): line.slot for line in lines if not line.epc}
    for epc in seen:
        pack = packs[epc]
        if epc not in booked and (pack.gtin, pack.serial) in by_code:
            booked[epc] = by_code.pop((pack.gtin, pack.serial))
    missing = sum(1 for epc, s in booked.items() if s in swept and epc not in seen)
    unexpected = sum(1 for epc, s in seen.items() if s in swept and epc not in booked)
    moved = sum(1 for epc, s in seen.items() if s in swept and epc in booked and booked[epc] != s)
    return missing, unexpected, moved


def wire_seconds(reads: int) -> float:
    """The handheld's line time for `reads` tag reads in full answer frames."""
    frame = len(encode_inventory_answer(0, 0x03, [bytes(12)] * EPCS_PER_FRAME))
    frames = -(-reads // EPCS_PER_FRAME)
    return frames * frame * BITS_PER_BYTE / BAUD


def main(quick: bool = False) -> None:
    sizes = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="rxedge-bench-") as tmp:
        keeper, packs, slots = build(Path(tmp) / "ledger.sqlite", sizes)
        lines = keeper.index.lines()
        pure, plain, whole = [], [], []
        summary: dict[str, int] = {}
        for run in range(sizes.runs):
            sweep = sweep_of(packs, slots, run)
            started = time.perf_counter()
            seen = sweep.seen()
            tagged = [line for line in lines if line.epc]
            coded = [line for line in lines if not line.epc]
            report = reconcile("b", "S", "bench", slots, seen, sweep.packs, tagged, coded)
            pure.append(time.perf_counter() - started)
            summary = report.summary()
            started = time.perf_counter()
            plain_reconcile(slots, seen, sweep.packs, lines)
            plain.append(time.perf_counter() - started)
            sweep = sweep_of(packs, slots, run)
            sweep.stocktake_id = f"bench-{run}"
            started = time.perf_counter()
            keeper.stocktakes.finish(sweep)
            whole.append(time.perf_counter() - started)
        keeper.close()
    wire = wire_seconds(sizes.packs + 100 + sizes.slots)
    header(
        f"Stocktake reconciliation: {sizes.packs:,} packs, {sizes.slots} slots, "
        f"median of {sizes.runs} runs"
    )
    print(f"   found: {summary}")
    row("handheld line time for the reads (baseline)", wire * 1e3, "ms")
    row("plain Python loop, same differences", statistics.median(plain) * 1e3, "ms")
    row(
        "assign + reconcile (goal <= 100 ms)",
        statistics.median(pure) * 1e3,
        "ms",
        wire / statistics.median(pure),
        "x faster than the line",
    )
    row(
        "whole finish: report, alarm, events, commit",
        statistics.median(whole) * 1e3,
        "ms",
        wire / statistics.median(whole),
        "x faster than the line",
    )


if __name__ == "__main__":
    run_benchmark(main, __doc__)
