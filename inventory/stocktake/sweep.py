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
have read that slot's packs. Two neighbouring slots' tags read alike are what the handheld
reads at either, with a tag missed beyond the other (or at the shelf's end): a slot reached only
through such a round, as the one the tags moved towards, is a guess (`_Guess`), passed once a
round places the handheld at it or beyond it, or `GUESS_ROUNDS` rounds in a row read the same;
a round placing it back at the other slot takes it back, with the packs read meanwhile; one
still open when the sweep ends is not passed, its packs found in it. A slot not passed was not
counted: a sweep cut short (the handheld lowered, a restart) judges nothing
there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from inventory.codes.identifiers import PackId
from inventory.stocktake.rounds import Round, ShelfRounds

UNPLACED = ""  # in `Sweep.seen()`: read before any location tag, on the shelf, slot unknown
# Rounds in a row (the one that made the guess included) that keep the handheld at a guessed
# slot before it is passed: so many rounds missing the same tag behind, held at the slot
# before, are unlikely; a sweep holds each slot for a few rounds anyway.
GUESS_ROUNDS = 3


@dataclass(slots=True)
class _Reads:
    """A pack's reads in one slot: the strongest, in how many rounds, and the last round."""

    rssi: int
    rounds: int
    last: int


@dataclass(slots=True)
class _Guess:
    """A slot the handheld was placed at by a round that reads the same at `other`, the slot
    next to it (the two midway between the tags read alike): not passed until confirmed. The
    packs read meanwhile (pack, RSSI, round) go to whichever slot it turns out to be."""

    slot: str
    other: str
    span: tuple[int, int]  # the places of the outer tags of the round that made it
    kept: int = 1
    packs: list[tuple[PackId, int, int]] = field(default_factory=list)


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
        self._guess: _Guess | None = None  # the slot the handheld is guessed at, not passed
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
        if self._guess is not None:  # neither confirmed nor taken back: not counted
            self._resolve(self._guess, self._guess.slot, passed=False)

    def _count(self, read: Round) -> None:
        self.reads += len(read.locations) + len(read.packs)
        self._counted += 1
        for slot, uri, _ in read.locations:
            self.location_uris.setdefault(slot, uri)
        placed = self._located(read)
        if placed is not None:
            self._place(*placed)
        for pack, rssi in read.packs:
            self.packs[pack.epc] = pack
            if self._guess is not None:
                self._guess.packs.append((pack, rssi, self._counted))
            else:
                self._record(
                    UNPLACED if self.here is None else self.here, pack, rssi, self._counted
                )

    def _place(self, slot: str, other: str | None, span: tuple[int, int]) -> None:
        """The round just counted placed the handheld at `slot`; `other`: the slot next to it
        that the round reads the same at, when `slot` is a guess; `span`: the places of the
        round's outer location tags read alike (see `_located`). A guess is
        passed once a round places the handheld at it or beyond it (away from `other`), or
        `GUESS_ROUNDS` rounds in a row read the same; a round placing it at `other` or back
        from there takes it back: the handheld was at `other`."""
        guess = self._guess
        if guess is not None:
            if span == guess.span:  # the same two slots again: it has not moved
                guess.kept += 1
                if guess.kept >= GUESS_ROUNDS:
                    self._resolve(guess, guess.slot, passed=True)
                return
            low, high = span
            at, ahead = self._order[guess.slot], self._order[guess.slot] - self._order[guess.other]
            # Where the round may have it: midway between its outer tags (of two, either).
            midway = {(low + high) // 2, (low + high + 1) // 2}
            reached = all((place - at) * ahead >= 0 for place in midway)
            self._resolve(guess, guess.slot if reached else guess.other, passed=reached)
        self.here = slot
        if other is None or slot in self.passed:
            self.passed.add(slot)
        else:
            self._guess = _Guess(slot, other, span)

    def _resolve(self, guess: _Guess, slot: str, passed: bool) -> None:
        """`guess` ends with the handheld at `slot` (passed, or not counted): the packs read
        meanwhile were read there."""
        self._guess = None
        self.here = slot
        if passed:
            self.passed.add(slot)
        for pack, rssi, round_no in guess.packs:
            self._record(slot, pack, rssi, round_no)

    def _record(self, where: str, pack: PackId, rssi: int, round_no: int) -> None:
        """A read of `pack` in round `round_no`, with the handheld at `where`."""
        reads = self._reads.setdefault(pack.epc, {})
        here = reads.get(where)
        if here is None:
            reads[where] = _Reads(rssi, 1, round_no)
        else:
            here.rssi = max(here.rssi, rssi)
            here.rounds += here.last != round_no
            here.last = round_no

    def _located(self, read: Round) -> tuple[str, str | None, tuple[int, int]] | None:
        """Where the handheld is after `read` (None: no location tag of the shelf read, it is
        where it was), the slot next to it the round reads the same at when that is a guess,
        and the places of the outer tags read alike (`_span`): at its strongest location tag
        of the shelf. Of several read alike (as strongly and as often): midway between the
        outer two in shelf order; of two slots midway, the one the tags moved towards
        (`_towards`: a guess, since the round reads the same at the other with a tag missed),
        else the nearer to where it was, else the first in shelf order."""
        strongest = read.strongest()
        if len(strongest) <= 1:
            if not strongest:
                return None
            place = self._order[strongest[0]]
            self._span = (place, place)
            return strongest[0], None, self._span
        times = dict.fromkeys(strongest, 0)
        for slot, _, _ in read.locations:
            if slot in times:
                times[slot] += 1
        most = max(times.values())
        alike = sorted(
            (slot for slot in strongest if times[slot] == most), key=self._order.__getitem__
        )
        before, span = self._span, (self._order[alike[0]], self._order[alike[-1]])
        self._span = span
        middle, half = divmod(sum(span), 2)  # the place midway between the outer two
        if not half:
            return self.slots[middle], None, span
        low, high = self.slots[middle], self.slots[middle + 1]
        if before is None or self.here is None:
            return low, None, span
        towards = _towards(before, span, len(self.slots) - 1)
        if towards:
            return *((high, low) if towards > 0 else (low, high)), span
        was = self._order[self.here]
        return (low if abs(was - middle) < abs(was - middle - 1) else high), None, span

    def seen(self, booked: Mapping[str, str] | None = None) -> dict[str, str]:
        """EPC -> the slot each pack was found in (`UNPLACED`: read before any location).
        `booked` (EPC -> the ledger's slot) settles a tie the reads leave."""
        self.settle()
        booked = booked or {}
        return {epc: _found_in(reads, booked.get(epc)) for epc, reads in self._reads.items()}


def _towards(before: tuple[int, int], now: tuple[int, int], last: int) -> int:
    """Which way (+1 along the shelf, -1 back, 0 not known) the handheld moved, from the first
    and last place of the location tags read alike the round before and now: the tags reach
    further one way and no less the other; or, at the shelf's end, they left a tag behind at
    the other (the field stops at the end). A tag missed at one side alone, not at the end,
    says nothing."""
    (low_was, high_was), (low, high) = before, now
    if (high > high_was and low >= low_was) or (high == high_was == last and low > low_was):
        return 1
    if (low < low_was and high <= high_was) or (low == low_was == 0 and high < high_was):
        return -1
    return 0


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
