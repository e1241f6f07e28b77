"""Stocktake by sweep: a handheld passed along a shelf, and what it found against the ledger.

Each slot carries a location tag. The handheld reports inventory rounds; in a round, the
strongest location tag is where the handheld is (with none, it is still where it was). A pack
belongs to the location current at its strongest read (a later read wins a tie), so a pack read
faintly from the neighbouring slot does not move it. Reconciliation compares what was seen in
the swept slots with what the ledger holds there: missing, unexpected, misplaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from inventory.identifiers import PackId
from inventory.slot_index import StockLine


@dataclass(slots=True)
class _Best:
    slot: str
    rssi: int


class Sweep:
    """What one handheld pass saw; fed from the reader's events, in order."""

    def __init__(self, stocktake_id: str, shelf: str, slots: Sequence[str], by: str):
        self.stocktake_id = stocktake_id
        self.shelf = shelf
        self.slots = list(slots)
        self.by = by
        self.here: str | None = None  # the slot the handheld is at
        self.location_uris: dict[str, str] = {}  # slot -> its location tag's EPC URI
        self.packs: dict[str, PackId] = {}
        self._best: dict[str, _Best] = {}
        self._round_location: tuple[str, int] | None = None
        self._round_packs: list[tuple[str, int]] = []
        self.reads = 0

    def location(self, slot: str, uri: str, rssi: int) -> None:
        """A location tag read in the current round."""
        self.reads += 1
        self.location_uris.setdefault(slot, uri)
        if self._round_location is None or rssi > self._round_location[1]:
            self._round_location = (slot, rssi)

    def pack(self, pack: PackId, rssi: int) -> None:
        """A pack's tag read in the current round."""
        self.reads += 1
        self.packs[pack.epc] = pack
        self._round_packs.append((pack.epc, rssi))

    def round_done(self) -> None:
        """The round ended: its packs belong to its strongest location (or the last one)."""
        if self._round_location is not None:
            self.here = self._round_location[0]
        if self.here is not None:
            for epc, rssi in self._round_packs:
                best = self._best.get(epc)
                if best is None or rssi >= best.rssi:
                    self._best[epc] = _Best(self.here, rssi)
        self._round_location, self._round_packs = None, []

    def seen(self) -> dict[str, str]:
        """EPC -> the slot each pack was found in."""
        self.round_done()
        return {epc: best.slot for epc, best in self._best.items()}


@dataclass(frozen=True, slots=True)
class Found:
    """One pack in the report: where the ledger has it and where the sweep found it."""

    epc: str
    gtin: str
    serial: str
    batch: str
    expiry: str | None
    ledger_slot: str | None
    seen_slot: str | None


@dataclass(slots=True)
class SlotCount:
    slot: str
    expected: int = 0
    seen: int = 0
    missing: list[Found] = field(default_factory=list)
    unexpected: list[Found] = field(default_factory=list)
    misplaced_in: list[Found] = field(default_factory=list)  # here, ledger has it elsewhere
    misplaced_out: list[Found] = field(default_factory=list)  # ledger has it here, found elsewhere
    untagged: int = 0  # counted packs the ledger has here: no tag to read


@dataclass(slots=True)
class StocktakeReport:
    stocktake_id: str
    shelf: str
    by: str
    slots: list[SlotCount]
    by_product: list[dict[str, Any]]
    location_uris: dict[str, str] = field(default_factory=dict)
    seen_by_slot: dict[str, list[str]] = field(default_factory=dict)

    @property
    def differences(self) -> int:
        return sum(len(s.missing) + len(s.unexpected) + len(s.misplaced_in) for s in self.slots)

    def summary(self) -> dict[str, int]:
        return {
            "slots": len(self.slots),
            "expected": sum(s.expected for s in self.slots),
            "seen": sum(s.seen for s in self.slots),
            "missing": sum(len(s.missing) for s in self.slots),
            "unexpected": sum(len(s.unexpected) for s in self.slots),
            "misplaced": sum(len(s.misplaced_in) for s in self.slots),
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> StocktakeReport:
        def counts(s: dict[str, Any]) -> SlotCount:
            def found(name: str) -> list[Found]:
                return [Found(**f) for f in s[name]]

            return SlotCount(
                s["slot"],
                s["expected"],
                s["seen"],
                missing=found("missing"),
                unexpected=found("unexpected"),
                misplaced_in=found("misplaced_in"),
                misplaced_out=found("misplaced_out"),
                untagged=s["untagged"],
            )

        return cls(
            raw["stocktake_id"],
            raw["shelf"],
            raw["by"],
            [counts(s) for s in raw["slots"]],
            raw["by_product"],
            raw["location_uris"],
            raw["seen_by_slot"],
        )


def reconcile(
    sweep_id: str,
    shelf: str,
    by: str,
    slots: Sequence[str],
    seen: dict[str, str],
    packs: dict[str, PackId],
    tagged: Iterable[StockLine],
    untagged: Iterable[StockLine] = (),
    location_uris: dict[str, str] | None = None,
) -> StocktakeReport:
    """Compare the sweep (`seen`: EPC -> slot) with the ledger's tagged packs (`tagged`, every
    tagged line of the ledger: a pack found here may be booked anywhere)."""
    swept = {slot: i for i, slot in enumerate(slots)}
    lines = {line.epc: line for line in tagged if line.epc}
    epcs = list(lines.keys() | seen.keys())
    code = {epc: i for i, epc in enumerate(epcs)}
    nowhere = -1
    booked = np.full(len(epcs), nowhere, dtype=np.int64)  # ledger slot (swept only), else -1
    found = np.full(len(epcs), nowhere, dtype=np.int64)  # sweep slot, else -1
    known = np.zeros(len(epcs), dtype=bool)  # on the ledger at all
    for epc, line in lines.items():
        known[code[epc]] = True
        booked[code[epc]] = swept.get(line.slot, nowhere)
    for epc, slot in seen.items():
        found[code[epc]] = swept.get(slot, nowhere)
    seen_any = found != nowhere
    missing = np.nonzero((booked != nowhere) & ~seen_any)[0]
    unexpected = np.nonzero(seen_any & ~known)[0]
    misplaced = np.nonzero(seen_any & known & (booked != found))[0]

    counts = [SlotCount(slot) for slot in slots]
    np.add.at(expected := np.zeros(len(slots), dtype=np.int64), booked[booked != nowhere], 1)
    np.add.at(seen_n := np.zeros(len(slots), dtype=np.int64), found[seen_any], 1)
    for i, count in enumerate(counts):
        count.expected, count.seen = int(expected[i]), int(seen_n[i])

    def entry(i: int) -> Found:
        epc = epcs[i]
        line = lines.get(epc)
        pack = packs.get(epc)
        slot = seen.get(epc)
        return Found(
            epc,
            line.gtin if line else pack.gtin if pack else "",
            line.serial if line else pack.serial if pack else "",
            line.batch if line else "",
            line.expiry if line else None,
            line.slot if line else None,
            slot if slot in swept else None,
        )

    for k in missing.tolist():
        counts[booked[k]].missing.append(entry(k))
    for k in unexpected.tolist():
        counts[found[k]].unexpected.append(entry(k))
    for k in misplaced.tolist():
        item = entry(k)
        counts[found[k]].misplaced_in.append(item)
        if booked[k] != nowhere:
            counts[booked[k]].misplaced_out.append(item)
    for line in untagged:
        if line.slot in swept:
            counts[swept[line.slot]].untagged += line.quantity
    by_slot: dict[str, list[str]] = {}
    for epc, slot in seen.items():
        if slot in swept:
            by_slot.setdefault(slot, []).append(epc)
    return StocktakeReport(
        sweep_id,
        shelf,
        by,
        counts,
        _by_product(epcs, lines, packs, booked, found),
        dict(location_uris or {}),
        by_slot,
    )


def _by_product(
    epcs: list[str],
    lines: dict[str, StockLine],
    packs: dict[str, PackId],
    booked: np.ndarray[Any, Any],
    found: np.ndarray[Any, Any],
) -> list[dict[str, Any]]:
    """Expected and seen per GTIN and batch over the swept slots."""
    totals: dict[tuple[str, str], list[int]] = {}
    for i in np.nonzero((booked != -1) | (found != -1))[0]:
        epc = epcs[i]
        line = lines.get(epc)
        gtin = line.gtin if line else packs[epc].gtin if epc in packs else ""
        key = (gtin, line.batch if line else "")
        row = totals.setdefault(key, [0, 0])
        row[0] += int(booked[i] != -1)
        row[1] += int(found[i] != -1)
    return [
        {"gtin": g, "batch": b, "expected": e, "seen": s, "difference": s - e}
        for (g, b), (e, s) in sorted(totals.items())
    ]
