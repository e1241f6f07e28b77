"""A handheld's inventory rounds during a sweep, and when they say it has moved on to another
shelf.

A round that reads location tags of other shelves only, and none of the swept shelf's, may be a
stray read (a tag across the aisle, the next shelf's first slot) while this shelf's own tag was
missed: it is held. Once `SHELF_CHANGE_ROUNDS` such rounds came with none of this shelf's
location tags between them, the handheld is at the other shelf, and the rounds held are that
shelf's. A location tag of this shelf before that: the handheld never left, and the rounds
held are counted here as rounds without a location tag (it has not moved). The sweep ending
first: they are left out (the handheld was on its way to another shelf).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from inventory.codes.identifiers import PackId

SHELF_CHANGE_ROUNDS = 3


@dataclass(slots=True)
class Round:
    """One inventory round's reads: location tags (slot, its SGLN URI, RSSI) and packs."""

    locations: list[tuple[str, str, int]] = field(default_factory=list)
    packs: list[tuple[PackId, int]] = field(default_factory=list)

    def strongest(self) -> list[str]:
        """The slots of the round's strongest location tags, in the order read: more than one
        when several were read equally strongly (a handheld that reports no signal strength
        reports the same for every tag)."""
        top = max((rssi for _, _, rssi in self.locations), default=None)
        return list(dict.fromkeys(slot for slot, _, rssi in self.locations if rssi == top))

    def on(self, slots: Collection[str]) -> Round:
        """The round with only the location tags of `slots`."""
        return Round([read for read in self.locations if read[0] in slots], self.packs)


def moved_to(rounds: Sequence[Round]) -> str | None:
    """A slot of the shelf the handheld moved on to, from rounds `ShelfRounds.take` handed on
    (maybe with rounds read after them): the strongest location of the round that made it so
    (only its shelf matters: the sweep begun there places the handheld by its own rounds)."""
    located = [r for r in rounds if r.locations]
    return (
        located[SHELF_CHANGE_ROUNDS - 1].strongest()[0]
        if len(located) >= SHELF_CHANGE_ROUNDS
        else None
    )


class ShelfRounds:
    """Sorts a sweep's rounds: counted on its shelf, held, or handed on to the next shelf."""

    def __init__(self, slots: Collection[str]):
        self._slots = frozenset(slots)
        self._held: list[Round] = []

    def take(self, done: Round) -> tuple[list[Round], list[Round]]:
        """(rounds to count on this shelf, rounds read at the next shelf) once `done` ended."""
        if not done.locations and not done.packs:
            return [], []
        own = done.on(self._slots)
        if own.locations or not (done.locations or self._held):
            held, self._held = self._held, []
            return [*(Round([], r.packs) for r in held), own], []
        self._held.append(done)
        if sum(1 for r in self._held if r.locations) < SHELF_CHANGE_ROUNDS:
            return [], []
        moved_on, self._held = self._held, []
        return [], moved_on

    def forget(self) -> None:
        """Leave out the rounds held (the sweep ends)."""
        self._held = []
