"""A press of a slot's button at the pick desk: the list it is for.

A slot several lists want shows one of them at a time (the older first: `Cue.owner_rank`), and
a button does not say who pressed it: a press is for the list the slot showed (the daemon
tells it by its colour, `shown`), never another. A slot that showed none (red, or lit since)
is its owner's, the list it shows; red for a pick list's mistake, it is first the list whose
mistake it is, when that list wants packs there: the person pressing on a red slot is the one
who made it red.
"""

from __future__ import annotations

from inventory.picking.desk import PickDesk
from inventory.picking.lists import PickList
from inventory.picking.outcome import mistake_list, owner_cue


def pressed_list(desk: PickDesk, slot: str, shown: int | None) -> PickList | None:
    """The open list a press at `slot` is for: the one of colour `shown` (None when it has
    ended since), else the list whose mistake `slot` shows, when it wants packs there, else
    the list the slot shows (None when no list wants it)."""
    if shown is None:
        mistaken = mistake_list(desk.shown, desk.lists, slot)
        if mistaken is not None and mistaken.wanted_at(slot):
            return mistaken
        owner = owner_cue(c for c in desk.cues() if c.slot == slot)
        if owner is None:
            return None
        shown = owner.picker_no
    return next((p for p in desk.lists.values() if p.picker_no == shown), None)
