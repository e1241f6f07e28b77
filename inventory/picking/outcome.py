"""What the desks (picking, stocktake) hand back to the daemon: cues for the lights, and what a
call did."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from inventory.ledger.commit import Commit
from inventory.picking.checks import Mistake
from inventory.picking.lists import PickList

# The colour number of no owner: whose a red is that no pick list's mistake made (a put-away's
# mistake, an action not recorded), and whom a press just after such a red is for (it books
# nothing: `inventory.changes.ConfirmButton`).
NOBODY = -1


class CueKind(StrEnum):
    PICK = "pick"  # take packs here (picker's colour, quantity shown)
    REMIND = "remind"  # a pick list left untouched: take packs here
    MISTAKE = "mistake"  # the wrong pack was taken or scanned here
    LOCATE = "locate"  # the drug someone asked for is here
    PUT = "put"  # put delivered packs here (the put-away's colour, packs still to put)


class Holder(IntEnum):
    """Whom a coloured cue (a pick, a put) is for. A slot several want shows one at a time,
    pick lists first (a patient waits), then put-aways; among either, the one that lit the
    slot first (`Cue.order`)."""

    PICK_LIST = 0
    PUTAWAY = 1


@dataclass(frozen=True, slots=True)
class Cue:
    """What one slot should tell the pharmacist; the daemon turns cues into LED states.
    `holder` and `order` (its owner's place in line at the slot, kept in the file: a pick
    list's in the order lists began, a put-away's in the order its packs were lit there, kept
    while its packs wait there) order the cues of several owners of one slot (`owner_rank`);
    never the clock, which on a box started before NTP set it would put this run's owners
    before those of the run before. `since` (when it lit the slot) orders only owners saved
    before there was an order (0). `whose`, of a mistake, is the colour number of the pick
    list whose mistake it is (`mistake_list`; NOBODY: none's), whom a press just after its red
    ends is for. They are not what the cue asks, and cues compare without them."""

    slot: str
    kind: CueKind
    picker_no: int = 0
    number: int = 0
    holder: Holder = field(default=Holder.PICK_LIST, compare=False)
    order: int = field(default=0, compare=False)
    since: float = field(default=0.0, compare=False)
    whose: int = field(default=NOBODY, compare=False)

    @property
    def owner_rank(self) -> tuple[Holder, int, float, int]:
        """Which owner a slot shows first: the lowest (its colour number last, so that two
        begun at the same moment keep one order)."""
        return (self.holder, self.order, self.since, self.picker_no)


# Cues in an owner's colour: pick lists and put-away sessions share the colours.
COLOURED = (CueKind.PICK, CueKind.REMIND, CueKind.PUT)


def owner_cue(cues: Iterable[Cue]) -> Cue | None:
    """Of one slot's cues, one of the owner's the slot shows (the lowest `owner_rank` of its
    picks and puts); None when no pick list or put-away wants the slot."""
    return min((c for c in cues if c.kind in COLOURED), key=lambda c: c.owner_rank, default=None)


def mistake_list(
    shown: Sequence[Shown], lists: Mapping[str, PickList], slot: str
) -> PickList | None:
    """The open list whose mistake `slot` shows in red, the person at the shelf: of the lists
    the mistakes there were reported to (the latest mistake's first), the first that wants
    packs there, else the first; None when none of them is open."""
    mistaken = [
        lists[pick_id]
        for s in reversed(shown)
        if s.mistake.slot == slot
        for pick_id in s.lists
        if pick_id in lists
    ]
    return next((p for p in mistaken if p.wanted_at(slot)), next(iter(mistaken), None))


@dataclass(slots=True)
class Outcome:
    """What a desk call did, for the daemon to show and report."""

    commits: list[Commit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # commands answered with an error
    putaway_notes: list[str] = field(default_factory=list)  # what a put-away did
    putaway_mistakes: list[str] = field(default_factory=list)  # a refused pack, a wrong slot
    mistakes: list[Mistake] = field(default_factory=list)
    # Tagged packs on no shelf of the ledger's (booked out, or seen and never booked): the
    # presence tracker stops watching them.
    booked_epcs: list[str] = field(default_factory=list)
    placed: dict[str, str] = field(default_factory=dict)  # tagged packs now booked in a slot
    lights_changed: bool = False


@dataclass(slots=True)
class Shown:
    mistake: Mistake
    until: float
    epc: str | None = None  # a tagged pack taken wrongly, held as still on the shelf
    lists: tuple[str, ...] = ()  # the pick lists (ids) whose mistake it may be, oldest first
