"""Stocktake by sweep: a handheld passed along a shelf, and what it found against the ledger.

Each slot carries a location tag. The handheld reports inventory rounds; in a round, the
strongest location tag of the shelf is where the handheld is (with none, it is still where it
was; rounds that read only other shelves' location tags: `rounds`). A pack belongs to the
location current at its strongest read (a later read wins a tie), so a pack read faintly from
the neighbouring slot does not move it. A pack whose strongest read came before any location
tag was read is on the shelf, its slot unknown (`UNPLACED`): counted in its ledger slot if the
ledger has it on this shelf, else reported as found without a slot. Reconciliation compares
what was seen in every slot of the shelf (a sweep counts the whole shelf: a slot not passed
counts as empty) with what the ledger holds there: missing, unexpected, misplaced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inventory.codes.identifiers import PackId
from inventory.stock.slot_index import StockLine
from inventory.stocktake.rounds import Round, ShelfRounds

UNPLACED = ""  # in `Sweep.seen()`: read before any location tag, on the shelf, slot unknown


@dataclass(slots=True)
class _Best:
    slot: str
    rssi: int


class Sweep:
    """What one handheld pass saw; fed from the reader's events, in order."""

    def __init__(
        self,
        stocktake_id: str,
        shelf: str,
        slots: Sequence[str],
        by: str,
        location_uris: dict[str, str] | None = None,
    ):
        self.stocktake_id = stocktake_id
        self.shelf = shelf
        self.slots = list(slots)
        self.by = by
        self.here: str | None = None  # the slot the handheld is at
        # slot -> its SGLN URI: from the shelf's GLN, else from its location tag when read
        self.location_uris: dict[str, str] = dict(location_uris or {})
        self.packs: dict[str, PackId] = {}
        self._best: dict[str, _Best] = {}
        self._round = Round()
        self._rounds = ShelfRounds(self.slots)
        self.reads = 0  # location tags of the shelf and packs counted
        # The ledger's last movement when the sweep began (set as it starts on the ledger):
        # packs the ledger moves after it may have moved behind the handheld.
        self.ledger_mark: int | None = None

    def location(self, slot: str, uri: str, rssi: int) -> None:
        """A location tag read in the current round: of a slot of this shelf or another's."""
        self._round.locations.append((slot, uri, rssi))

    def pack(self, pack: PackId, rssi: int) -> None:
        """A pack's tag read in the current round."""
        self._round.packs.append((pack, rssi))

    def round_done(self) -> list[Round]:
        """The round ended: its packs belong to its strongest location (or the last one).
        Returns the rounds read at another shelf once they say the handheld moved on there
        (`rounds.SHELF_CHANGE_ROUNDS`): they are that shelf's, not this one's."""
        done, self._round = self._round, Round()
        here, moved_on = self._rounds.take(done)
        for counted in here:
            self._count(counted)
        return moved_on

    def replay(self, rounds: Sequence[Round]) -> list[Round]:
        """Take `rounds` (read at this shelf by a sweep of another) as if read now; like
        `round_done`, the rounds from where the handheld moved on to, if it did again."""
        for n, read in enumerate(rounds):
            self._round = Round(list(read.locations), list(read.packs))
            moved_on = self.round_done()
            if moved_on:
                return [*moved_on, *rounds[n + 1 :]]
        return []

    def settle(self) -> None:
        """The sweep ends: a round not done is counted as done; rounds held because they read
        only another shelf's location tags are left out (the handheld was leaving)."""
        done, self._round = self._round, Round()
        for counted in self._rounds.take(done)[0]:
            self._count(counted)
        self._rounds.forget()

    def _count(self, read: Round) -> None:
        self.reads += len(read.locations) + len(read.packs)
        for slot, uri, _ in read.locations:
            self.location_uris.setdefault(slot, uri)
        self.here = read.strongest() or self.here
        where = UNPLACED if self.here is None else self.here
        for pack, rssi in read.packs:
            self.packs[pack.epc] = pack
            best = self._best.get(pack.epc)
            if best is None or rssi >= best.rssi:
                self._best[pack.epc] = _Best(where, rssi)

    def seen(self) -> dict[str, str]:
        """EPC -> the slot each pack was found in (`UNPLACED`: read before any location)."""
        self.settle()
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
    # slot -> [gtin, batch, quantity] of the untagged packs the ledger counts there
    untagged_by_slot: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    counted_at: str = ""  # UTC, when the sweep was reconciled
    time_zone_offset: str = "+00:00"  # the site's UTC offset then
    # Found on the shelf before any location tag was read, and not booked on it: no slot to
    # count them in (the ledger's, if it has them elsewhere, in `ledger_slot`).
    unplaced: list[Found] = field(default_factory=list)

    @property
    def differences(self) -> int:
        in_slots = sum(len(s.missing) + len(s.unexpected) + len(s.misplaced_in) for s in self.slots)
        return in_slots + len(self.unplaced)

    def summary(self) -> dict[str, int]:
        """The counts; a pack found without a slot is seen, and unexpected (not on the ledger)
        or misplaced (booked elsewhere)."""
        elsewhere = sum(1 for f in self.unplaced if f.ledger_slot is not None)
        return {
            "slots": len(self.slots),
            "expected": sum(s.expected for s in self.slots),
            "seen": sum(s.seen for s in self.slots) + len(self.unplaced),
            "missing": sum(len(s.missing) for s in self.slots),
            "unexpected": sum(len(s.unexpected) for s in self.slots)
            + len(self.unplaced)
            - elsewhere,
            "misplaced": sum(len(s.misplaced_in) for s in self.slots) + elsewhere,
        }

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (`from_dict` reads it back)."""

        def found(items: list[Found]) -> list[dict[str, Any]]:
            return [
                {
                    "epc": f.epc,
                    "gtin": f.gtin,
                    "serial": f.serial,
                    "batch": f.batch,
                    "expiry": f.expiry,
                    "ledger_slot": f.ledger_slot,
                    "seen_slot": f.seen_slot,
                }
                for f in items
            ]

        return {
            "stocktake_id": self.stocktake_id,
            "shelf": self.shelf,
            "by": self.by,
            "slots": [
                {
                    "slot": c.slot,
                    "expected": c.expected,
                    "seen": c.seen,
                    "missing": found(c.missing),
                    "unexpected": found(c.unexpected),
                    "misplaced_in": found(c.misplaced_in),
                    "misplaced_out": found(c.misplaced_out),
                    "untagged": c.untagged,
                }
                for c in self.slots
            ],
            "by_product": self.by_product,
            "location_uris": self.location_uris,
            "seen_by_slot": self.seen_by_slot,
            "untagged_by_slot": {k: [list(t) for t in v] for k, v in self.untagged_by_slot.items()},
            "counted_at": self.counted_at,
            "time_zone_offset": self.time_zone_offset,
            "unplaced": found(self.unplaced),
        }

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
            {
                slot: [(str(g), str(b), int(q)) for g, b, q in lines]
                for slot, lines in raw.get("untagged_by_slot", {}).items()
            },
            raw.get("counted_at", ""),
            raw.get("time_zone_offset", "+00:00"),
            [Found(**f) for f in raw.get("unplaced", [])],
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
    moved: frozenset[str] = frozenset(),
) -> StocktakeReport:
    """Compare the sweep (`seen`: EPC -> slot) with the ledger's tagged packs (`tagged`, every
    tagged line of the ledger: a pack found here may be booked anywhere). A pack seen
    `UNPLACED` counts in its ledger slot when that is on this shelf, else it is listed found
    without a slot. Packs in `moved` (the ledger moved them during the sweep) are counted but
    never a difference: where the handheld found them and where the ledger has them now may
    both be true."""
    swept = {slot: i for i, slot in enumerate(slots)}
    lines = {line.epc: line for line in tagged if line.epc}
    seen = {epc: _placed(slot, lines.get(epc), swept) for epc, slot in seen.items()}
    # Every pack once: the ledger's tagged packs, then those only the sweep saw.
    epcs = [*lines, *(epc for epc in seen if epc not in lines)]
    nowhere = -1
    known_count = len(lines)
    # Ledger slot and sweep slot of each pack, as indexes into `slots` (-1: elsewhere or none).
    booked = np.array(
        [swept.get(line.slot, nowhere) for line in lines.values()]
        + [nowhere] * (len(epcs) - known_count),
        dtype=np.int64,
    )
    found = np.array([swept.get(seen.get(epc, UNPLACED), nowhere) for epc in epcs], dtype=np.int64)
    known = np.arange(len(epcs)) < known_count  # on the ledger at all
    seen_any = found != nowhere
    judged = np.array([epc not in moved for epc in epcs], dtype=bool)
    missing = np.nonzero(judged & (booked != nowhere) & ~seen_any)[0]
    unexpected = np.nonzero(judged & seen_any & ~known)[0]
    misplaced = np.nonzero(judged & seen_any & known & (booked != found))[0]

    counts = [SlotCount(slot) for slot in slots]
    expected = np.bincount(booked[booked != nowhere], minlength=len(slots))
    seen_n = np.bincount(found[seen_any], minlength=len(slots))
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
    untagged_here: dict[str, dict[tuple[str, str], int]] = {}
    for line in untagged:
        if line.slot in swept:
            counts[swept[line.slot]].untagged += line.quantity
            batches = untagged_here.setdefault(line.slot, {})
            key = (line.gtin, line.batch)
            batches[key] = batches.get(key, 0) + line.quantity
    unplaced = [
        entry(k) for k, epc in enumerate(epcs) if seen.get(epc) == UNPLACED and epc not in moved
    ]
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
        {
            slot: [(gtin, batch, n) for (gtin, batch), n in sorted(batches.items())]
            for slot, batches in untagged_here.items()
        },
        unplaced=unplaced,
    )


def _placed(slot: str, line: StockLine | None, swept: dict[str, int]) -> str:
    """The slot a pack seen counts in: one read before any location tag (`UNPLACED`) counts
    in its ledger slot when that is on the shelf swept."""
    if slot == UNPLACED and line is not None and line.slot in swept:
        return line.slot
    return slot


def _by_product(
    epcs: list[str],
    lines: dict[str, StockLine],
    packs: dict[str, PackId],
    booked: np.ndarray[Any, Any],
    found: np.ndarray[Any, Any],
) -> list[dict[str, Any]]:
    """Expected and seen per GTIN and batch over the shelf's slots (one bincount each)."""
    keys: dict[tuple[str, str], int] = {}
    codes = []
    for epc in epcs:
        line = lines.get(epc)
        key = (line.gtin, line.batch) if line else (packs[epc].gtin if epc in packs else "", "")
        codes.append(keys.setdefault(key, len(keys)))
    product = np.array(codes, dtype=np.int64)
    expected = np.bincount(product[booked != -1], minlength=len(keys))
    seen = np.bincount(product[found != -1], minlength=len(keys))
    return [
        {"gtin": g, "batch": b, "expected": int(e), "seen": int(n), "difference": int(n - e)}
        for (g, b), e, n in sorted(zip(keys, expected, seen, strict=True))
        if e or n
    ]
