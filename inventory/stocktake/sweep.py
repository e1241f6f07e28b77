"""Stocktake by sweep: a handheld passed along a shelf, and what it found against the ledger.

Each slot carries a location tag. The handheld reports inventory rounds; in a round, the
strongest location tag of the shelf is where the handheld is (with none, it is still where it
was; rounds that read only other shelves' location tags: `rounds`). Several read alike (as
strongly, and as often in the round: a handheld that reports no signal strength reports the
same for every tag): the field reaches as far either side, so the handheld is midway between
the outer two in shelf order (a tag missed between them does not move it). Of two slots
midway: the one the tags read moved towards since the last round that read any (`_towards`),
else the nearer to where it was, else (no location read before) the first in shelf order: a
sweep walks the shelf in order.

A pack belongs to the location current at its strongest read, so a pack read faintly from the
neighbouring slot does not move it. Where its strongest reads were as strong in several slots
(or the handheld reports no strength), the slot it was read in most rounds wins; a tie still
keeps it where the ledger has it, if that is one of them, else the later read wins. A pack whose
winning read came before any location tag was read is on the shelf, its slot unknown
(`UNPLACED`): counted in its ledger slot if the ledger has it on this shelf, else reported as
found without a slot. `reconcile` compares what was seen with the ledger.

A sweep counts only the slots it passed (`Sweep.passed`): those its reads placed it at (at
their location tag, or midway between two read alike). A location tag read only faintly (the
field reaching the next slot's tag) passes nothing: the handheld was not there, and may never
have read that slot's packs. A shelf end reached only as the tags left one behind at the other
side is passed once the next round keeps the handheld there: the one round is also what a tag
missed at the slot before it reads. A slot not passed was not counted: a sweep cut short (the
handheld lowered, a restart) judges nothing there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inventory.codes.identifiers import PackId
from inventory.stocktake.rounds import Round, ShelfRounds

UNPLACED = ""  # in `Sweep.seen()`: read before any location tag, on the shelf, slot unknown


@dataclass(slots=True)
class _Reads:
    """A pack's reads in one slot: the strongest, in how many rounds, and the last round."""

    rssi: int
    rounds: int
    last: int


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
        # the slots the sweep placed the handheld at: the ones it counts
        self.passed: set[str] = set()
        self.packs: dict[str, PackId] = {}
        self._reads: dict[str, dict[str, _Reads]] = {}  # EPC -> slot -> its reads there
        self._order = {slot: i for i, slot in enumerate(self.slots)}
        self._counted = 0  # rounds counted
        # the first and last place, in shelf order, of the last round's alike location tags
        self._span: tuple[int, int] | None = None
        self._round = Round()
        self._rounds = ShelfRounds(self.slots)
        self.reads = 0  # location tags of the shelf and packs counted
        # The ledger's last movement when the sweep began (set as it starts on the ledger):
        # packs the ledger moves after it may have moved behind the handheld.
        self.ledger_mark: int | None = None
        # EPC -> the slot a fixed reader still saw the pack in as the sweep ended (set then):
        # where that is not where the handheld read it, the handheld read through.
        self.watched: dict[str, str] = {}

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
        self._counted += 1
        for slot, uri, _ in read.locations:
            self.location_uris.setdefault(slot, uri)
        placed = self._located(read)
        if placed is not None:
            self.here, guessed = placed
            if not guessed:
                self.passed.add(self.here)
        where = UNPLACED if self.here is None else self.here
        for pack, rssi in read.packs:
            self.packs[pack.epc] = pack
            reads = self._reads.setdefault(pack.epc, {})
            here = reads.get(where)
            if here is None:
                reads[where] = _Reads(rssi, 1, self._counted)
            else:
                here.rssi = max(here.rssi, rssi)
                here.rounds += here.last != self._counted
                here.last = self._counted

    def _located(self, read: Round) -> tuple[str, bool] | None:
        """Where the handheld is after `read`, and whether that is a guess not passed yet
        (None: no location tag of the shelf read, it is where it was): at its strongest
        location tag of the shelf. Of several read alike (as strongly and as often): midway
        between the outer two in shelf order; of two slots midway, the one the tags moved
        towards (`_towards`), else the nearer to where it was, else the first in shelf order."""
        strongest = read.strongest()
        if len(strongest) <= 1:
            if not strongest:
                return None
            place = self._order[strongest[0]]
            self._span = (place, place)
            return strongest[0], False
        times = dict.fromkeys(strongest, 0)
        for slot, _, _ in read.locations:
            if slot in times:
                times[slot] += 1
        most = max(times.values())
        alike = sorted(
            (slot for slot in strongest if times[slot] == most), key=self._order.__getitem__
        )
        before, self._span = self._span, (self._order[alike[0]], self._order[alike[-1]])
        middle, half = divmod(sum(self._span), 2)  # the place midway between the outer two
        if not half:
            return self.slots[middle], False
        low, high = self.slots[middle], self.slots[middle + 1]
        if before is None or self.here is None:
            return low, False
        towards, guessed = _towards(before, self._span, len(self.slots) - 1)
        if towards:
            return (high if towards > 0 else low), guessed
        was = self._order[self.here]
        return (low if abs(was - middle) < abs(was - middle - 1) else high), False

    def seen(self, booked: Mapping[str, str] | None = None) -> dict[str, str]:
        """EPC -> the slot each pack was found in (`UNPLACED`: read before any location).
        `booked` (EPC -> the ledger's slot) settles a tie the reads leave."""
        self.settle()
        booked = booked or {}
        return {epc: _found_in(reads, booked.get(epc)) for epc, reads in self._reads.items()}


def _towards(before: tuple[int, int], now: tuple[int, int], last: int) -> tuple[int, bool]:
    """Which way (+1 along the shelf, -1 back, 0 not known) the handheld moved, from the first
    and last place of the location tags read alike the round before and now: the tags reach
    further one way and no less the other; or, at the shelf's end, they left a tag behind at
    the other (the field stops at the end), which a tag missed at that side in one round reads
    the same: then True, a guess. A tag missed at one side alone, not at the end, says nothing."""
    (low_was, high_was), (low, high) = before, now
    if high > high_was and low >= low_was:
        return 1, False
    if low < low_was and high <= high_was:
        return -1, False
    if high == high_was == last and low > low_was:
        return 1, True
    if low == low_was == 0 and high < high_was:
        return -1, True
    return 0, False


def _found_in(reads: dict[str, _Reads], booked: str | None) -> str:
    """The slot of a pack's strongest read; of equals, the slot read in most rounds; of those,
    `booked` (where the ledger has it), else the one read last."""
    if len(reads) == 1:  # read in one slot only: most packs
        return next(iter(reads))
    top = max(r.rssi for r in reads.values())
    strongest = {slot: r for slot, r in reads.items() if r.rssi == top}
    most = max(r.rounds for r in strongest.values())
    likely = [slot for slot, r in strongest.items() if r.rounds == most]
    if booked in likely and len(likely) > 1:
        return booked
    return max(likely, key=lambda slot: strongest[slot].last)


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
    # Read by the handheld here, booked in another shelf's slot where a fixed reader still saw
    # them: read through from there, not a difference (`seen_slot`: where the handheld was).
    read_through: list[Found] = field(default_factory=list)
    # Packs the ledger holds by their code alone (no tag), found where it has them: confirming
    # gives their lines the tags read (a pack found elsewhere is misplaced, and moves with it).
    tags_found: list[Found] = field(default_factory=list)
    ledger_mark: int | None = None  # the ledger's last movement when counted
    # Slots of the shelf the sweep did not pass: not counted, nothing judged there (a report
    # kept from before this was recorded counted every slot).
    not_counted: list[str] = field(default_factory=list)
    # Slot -> the later count of the shelf that counted it again while this report waited: its
    # differences there are that count's to confirm, no longer this one's.
    recounted: dict[str, str] = field(default_factory=dict)
    # Whose badge tap at the shelf booked all but `to_look_at`, left for a look ('': none did).
    tapped_by: str = ""

    def judges(self, slot: str) -> bool:
        """Whether confirming this report books differences in `slot`: the sweep counted it,
        and no later count of the shelf counted it again while this one waited."""
        return slot not in self.not_counted and slot not in self.recounted

    def other_shelf(self, found: Found) -> bool:
        """Whether the ledger has `found` in a slot of another shelf than the one counted."""
        return found.ledger_slot is not None and all(
            found.ledger_slot != count.slot for count in self.slots
        )

    def to_look_at(self) -> list[Found]:
        """The packs found in a slot it judges that the ledger has on another shelf: maybe read
        through from there, which only a look at that shelf tells."""
        judged = [c for c in self.slots if self.judges(c.slot)]
        return [f for c in judged for f in c.misplaced_in if self.other_shelf(f)]

    @property
    def differences(self) -> int:
        in_slots = sum(len(s.missing) + len(s.unexpected) + len(s.misplaced_in) for s in self.slots)
        return in_slots + len(self.unplaced)

    def differing_slots(self) -> list[str]:
        """The slots this report still judges where something differed; once a badge tap
        booked the rest, those where a pack to look at was found."""
        if self.tapped_by:
            return list(dict.fromkeys(str(f.seen_slot) for f in self.to_look_at()))
        judged = [c for c in self.slots if self.judges(c.slot)]
        return [c.slot for c in judged if c.missing or c.unexpected or c.misplaced_in]

    def summary(self) -> dict[str, int]:
        """The counts over the slots this report still judges (not those it did not count, nor
        those a later count took over: what confirming it books); a pack found without a slot
        is seen, and unexpected (not on the ledger) or misplaced (booked elsewhere)."""
        counted = [s for s in self.slots if self.judges(s.slot)]
        elsewhere = sum(1 for f in self.unplaced if f.ledger_slot is not None)
        return {
            "slots": len(counted),
            "expected": sum(s.expected for s in counted),
            "seen": sum(s.seen for s in counted) + len(self.unplaced),
            "missing": sum(len(s.missing) for s in counted),
            "unexpected": sum(len(s.unexpected) for s in counted) + len(self.unplaced) - elsewhere,
            "misplaced": sum(len(s.misplaced_in) for s in counted) + elsewhere,
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
            "read_through": found(self.read_through),
            "tags_found": found(self.tags_found),
            "ledger_mark": self.ledger_mark,
            "not_counted": self.not_counted,
            "recounted": self.recounted,
            "tapped_by": self.tapped_by,
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
            [Found(**f) for f in raw.get("read_through", [])],
            [Found(**f) for f in raw.get("tags_found", [])],
            raw.get("ledger_mark"),
            list(raw.get("not_counted", [])),
            dict(raw.get("recounted", {})),
            str(raw.get("tapped_by", "")),
        )
