"""Which count a pharmacist's badge, tapped at the shelf once the count is done, confirms.

The count just made: the one count that ended within `stocktake.badge_confirm_seconds` of the
tap. Two or more ended within it (a sweep cut short and the sweep of the rest of the shelf, or
a shelf walked past on the way out, read for a few rounds): the tap does not guess, and says
which wait; each is confirmed on the page or by command. A count whose slots a later count of
its shelf all counted again no longer waits (it is superseded). Nor does a tap confirm anything
while a shelf with a count waiting is swept again. What the tap confirms, it books but for the
packs found that are booked on another shelf, left where the ledger has them
(`StocktakeDesk.confirm`): a tap cannot look whether they were read through from there.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from inventory.stocktake.sweep import Sweep


@dataclass(slots=True)
class _Ended:
    """A count waiting for confirmation: when it ended (monotonic), and the slots it judges."""

    stocktake_id: str
    shelf: str
    at: float
    slots: set[str]


class BadgeTaps:
    """The counts ended lately, for the badge tapped next."""

    def __init__(self, window: float):
        self.window = window
        self._ended: list[_Ended] = []  # oldest first; those older than the window, but the last

    @property
    def latest(self) -> str | None:
        """The count that ended last and waits, if one does."""
        return self._ended[-1].stocktake_id if self._ended else None

    def ended(self, stocktake_id: str, shelf: str, counted: Collection[str], at: float) -> None:
        """A count ended at `at`, judging the slots `counted`: it takes them over from the
        counts of the shelf waiting before it."""
        kept = []
        for count in self._ended:
            if count.shelf == shelf:
                count.slots.difference_update(counted)
            if count.slots and at - count.at <= self.window:
                kept.append(count)
        self._ended = [*kept, _Ended(stocktake_id, shelf, at, set(counted))]

    def confirmed(self, stocktake_id: str) -> None:
        self._ended = [count for count in self._ended if count.stocktake_id != stocktake_id]

    def tapped(self, name: str, now: float, sweep: Sweep | None) -> tuple[str | None, str]:
        """`name`'s badge tapped at `now`, with `sweep` running: the count it confirms, else
        None; and what to tell the pharmacist ('' when it confirms one)."""
        if not self._ended:
            return None, ""
        again = [count for count in self._ended if sweep is not None and count.shelf == sweep.shelf]
        if sweep is not None and again:
            return None, (
                f"{name}'s badge confirms nothing: shelf {sweep.shelf} is being swept again "
                f"({sweep.stocktake_id}), and that count takes over what it counts from "
                f"stocktake {again[-1].stocktake_id}"
            )
        recent = [count for count in self._ended if now - count.at <= self.window]
        if not recent:
            latest = self._ended[-1].stocktake_id
            return None, (
                f"stocktake {latest} waits for confirmation: on the page, or `rxedge stocktake "
                f"confirm {latest} --by NAME` (a badge confirms it only within "
                f"{self.window:g} s of the sweep's end)"
            )
        if len(recent) > 1:
            counts = ", ".join(f"{c.stocktake_id} of shelf {c.shelf}" for c in recent)
            return None, (
                f"{name}'s badge confirms nothing: {len(recent)} counts ended within "
                f"{self.window:g} s ({counts}), and a tap cannot tell which one is meant: "
                "confirm each on the page, or `rxedge stocktake confirm ID --by NAME`"
            )
        return recent[0].stocktake_id, ""
