"""What the desks (picking, stocktake) hand back to the daemon: cues for the lights, and what a
call did."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from inventory.ledger.commit import Commit
from inventory.picking.checks import Mistake


class CueKind(StrEnum):
    PICK = "pick"  # take packs here (picker's colour, quantity shown)
    REMIND = "remind"  # a pick list left untouched: take packs here
    MISTAKE = "mistake"  # the wrong pack was taken or scanned here
    LOCATE = "locate"  # the drug someone asked for is here
    PUT = "put"  # put delivered packs here (the put-away's colour, packs still to put)


@dataclass(frozen=True, slots=True)
class Cue:
    """What one slot should tell the pharmacist; the daemon turns cues into LED states."""

    slot: str
    kind: CueKind
    picker_no: int = 0
    number: int = 0


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
