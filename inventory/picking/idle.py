"""How long a pick list or a put-away session has been left untouched, for its reminder and
its timeout: since it was last touched, but time spent waiting behind another owner's colour
is no one's idle time. A slot several want shows one owner at a time (`owner_cue`); one whose
every slot still wanted shows another's waits its turn, however long that one takes, and its
clock starts again once one of its slots shows its colour."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from inventory.picking.outcome import COLOURED, Cue, owner_cue


def waiting_turn(cues: Iterable[Cue]) -> set[int]:
    """The colour numbers of the owners that want packs at slots of `cues` (every desk's) and
    are shown at none of them. Worked out once a beat of the pick clock for both desks."""
    by_slot: dict[str, list[Cue]] = {}
    for cue in cues:
        if cue.kind in COLOURED:
            by_slot.setdefault(cue.slot, []).append(cue)
    wanting: set[int] = set()
    shown: set[int] = set()
    for here in by_slot.values():
        if len(here) == 1:  # most slots: one owner wants it, and it shows
            shown.add(here[0].picker_no)
            continue
        wanting.update(c.picker_no for c in here)
        if (owner := owner_cue(here)) is not None:
            shown.add(owner.picker_no)
    return wanting - shown


class IdleClock:
    """When each owner (by its id: a pick list's, a delivery's) was last seen waiting its
    turn, in memory: after a restart every open one counts as touched at the start anyway
    (`RunStart`)."""

    def __init__(self) -> None:
        self._waited: dict[str, float] = {}

    def note(self, owners: Mapping[str, int | None], behind: Collection[int], now: float) -> None:
        """Of `owners` (id -> colour number, None when it holds none), those whose colour is
        `behind` (`waiting_turn`) wait at `now`; owners not among them any more are forgotten."""
        waited = {key: now for key, colour in owners.items() if colour in behind}
        self._waited = {k: t for k, t in self._waited.items() if k in owners} | waited

    def idle(self, key: str, touched_at: float, now: float) -> float:
        """The seconds owner `key`, last touched at `touched_at`, has been untouched at `now`,
        its waits for its turn not counted."""
        return now - max(touched_at, self._waited.get(key, touched_at))
