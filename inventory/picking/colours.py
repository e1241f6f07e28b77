"""The colours pick lists and put-aways share (`MAX_PICKERS`, by number): which one a newcomer
gets, and which one just went from one owner to another.

A button does not say who pressed it: the daemon takes a press for the owner whose colour the
slot showed, by its number, and for `HANDOVER_SECONDS` after a slot changed to the next owner,
for the owner before (`edge.lights.shelf_lights`). Were a colour let go of then given straight
to a newcomer, such a press would count for the newcomer, who never showed there. So a colour
let go of rests for `COLOUR_REST_SECONDS` while another is free; and a press for a colour given
to a new owner less than that after another let it go (every other colour was busy) books
nothing for it (`passed_on`).
"""

from __future__ import annotations

from collections.abc import Callable

from inventory.picking.lists import MAX_PICKERS

# For this long after a slot changed to the next owner, a press there is the owner's before.
HANDOVER_SECONDS = 1.0
# A colour let go of within this rests: the handover above, a press read a poll late, and the
# time a press may wait in the ledger's queue.
COLOUR_REST_SECONDS = HANDOVER_SECONDS + 1.0


class ColourPool:
    """When each colour was let go of and given again, in this run (in memory: after a restart
    no press is taken for an owner of a run before). Times are the keeper's seconds; one in the
    future (a clock set back) is long past."""

    def __init__(self, seconds: Callable[[], float], held: Callable[[], set[int]]):
        """`held`: the colours pick lists and put-aways hold now."""
        self._seconds = seconds
        self._holding = held
        self._held: set[int] = set()  # the colours held when last looked at
        self._let_go: dict[int, float] = {}  # colour -> when it was first seen free again
        self._passed: dict[int, float] = {}  # colour -> when it went to a new owner, resting

    def note(self) -> None:
        """Look at the colours held now (after each change, and as the file is read): those
        held when last looked at and not now are let go of now."""
        now, held = self._seconds(), self._holding()
        for colour in self._held.difference(held):
            self._let_go[colour] = now
        self._held = held

    def hand_out(self) -> int | None:
        """The colour for a new owner (None: every one is held): the lowest free one not let
        go of within `COLOUR_REST_SECONDS`, else (every free one just let go of) the one let
        go of longest ago, marked passed on. It counts as held from the next look (`note`):
        one taken back within the change that took it was never shown, nor let go of."""
        self.note()
        free = [n for n in range(MAX_PICKERS) if n not in self._held]
        if not free:
            return None
        now = self._seconds()
        rested = [n for n in free if not _within(self._let_go.get(n), now)]
        colour = rested[0] if rested else min(free, key=lambda n: self._let_go[n])
        if not rested:
            self._passed[colour] = now
        return colour

    def passed_on(self, colour: int) -> bool:
        """Whether `colour` went to its owner from another less than `COLOUR_REST_SECONDS`
        ago: a press for it may be the owner's before."""
        return _within(self._passed.get(colour), self._seconds())


def _within(at: float | None, now: float) -> bool:
    return at is not None and 0 <= now - at < COLOUR_REST_SECONDS


def passed_on_note(slot: str, colour: int, owner: str) -> str:
    """What a press at `slot` for `colour`, just passed on to `owner`, is told."""
    return (
        f"button at {slot}: pressed for colour {colour + 1}, which went to {owner} a moment "
        "ago; the press may be for the one before: nothing booked"
    )
