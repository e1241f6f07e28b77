"""Which tagged packs are on the shelf, judged from what the fixed readers keep seeing.

A pack is on the shelf in its slot while a reader sees it there. Not seen in its slot for the
dwell time, it has left: moved if another slot has gone on seeing it for the dwell time and
still does, taken otherwise (read for a moment elsewhere, it was carried past). A pack
the shelf does not hold yet has arrived once a slot has gone on seeing it for the dwell time: a
pack read in passing, or read for a moment by a neighbouring slot's antenna, has not. Times are
monotonic seconds from the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from inventory.codes.identifiers import PackId


@dataclass(frozen=True, slots=True)
class Arrived:
    pack: PackId
    slot: str


@dataclass(frozen=True, slots=True)
class Left:
    epc: str
    slot: str


@dataclass(frozen=True, slots=True)
class Moved:
    epc: str
    from_slot: str
    to_slot: str


PresenceChange = Arrived | Left | Moved


@dataclass(slots=True)
class _Sighting:
    slot: str
    last_home: float  # seen in `slot` (or given a dwell time's grace: seeded, watched again)
    elsewhere: str | None = None
    last_elsewhere: float = 0.0
    elsewhere_since: float = 0.0  # seen in `elsewhere` since, without a pause of the dwell time
    read_home: float = float("-inf")  # last read in `slot` by its reader


@dataclass(slots=True)
class _Span:
    """A new pack seen in one slot, from `first` to `last` without a pause of the dwell time."""

    first: float
    last: float


class PresenceTracker:
    """Turns a stream of sightings into arrivals, departures and moves."""

    def __init__(self, dwell: float):
        self.dwell = dwell
        self._packs: dict[str, _Sighting] = {}
        self._new: dict[str, dict[str, _Span]] = {}  # EPC -> slot -> a new pack seen there

    def seed(self, placed: dict[str, str], now: float) -> None:
        """Start from the ledger's view (EPC -> slot), as if every pack had just been seen."""
        self._packs = {epc: _Sighting(slot, now) for epc, slot in placed.items()}

    def seen(self, seen: PackId, slot: str, now: float) -> PresenceChange | None:
        """Record one sighting; an unknown pack arrives once seen in `slot` for the dwell time."""
        pack = self._packs.get(seen.epc)
        if pack is None:
            return self._candidate(seen, slot, now)
        if pack.slot == slot:
            pack.last_home = pack.read_home = now
        else:
            if pack.elsewhere != slot or now - pack.last_elsewhere >= self.dwell:
                pack.elsewhere_since = now
            pack.elsewhere = slot
            pack.last_elsewhere = now
        return None

    def overdue(
        self,
        now: float,
        unwatched: Collection[str] = (),
        read_at: Mapping[str, float] | None = None,
    ) -> list[PresenceChange]:
        """Packs not seen in their slot for the dwell time: moved or left. Applies the change.
        Packs in `unwatched` slots (their reader is down) are not judged: not being seen there
        says nothing. With `read_at` (slot -> when its antenna last finished a round), neither
        is a slot whose antenna has not gone on reading it for the dwell time since the pack
        was last seen: a reader fallen silent, or an antenna failing, is not a pack taken."""
        self._new = {
            epc: kept
            for epc, spans in self._new.items()
            if (kept := {s: span for s, span in spans.items() if now - span.last < self.dwell})
        }
        changes: list[PresenceChange] = []
        for epc, pack in list(self._packs.items()):
            if now - pack.last_home < self.dwell or pack.slot in unwatched:
                continue
            if read_at is not None and read_at.get(pack.slot, 0.0) - pack.last_home < self.dwell:
                continue
            if pack.elsewhere is not None and now - pack.last_elsewhere < self.dwell:
                if pack.last_elsewhere - pack.elsewhere_since < self.dwell:
                    continue  # seen there only a moment yet: moved there, or carried past?
                changes.append(Moved(epc, pack.slot, pack.elsewhere))
                last = pack.last_elsewhere
                self._packs[epc] = _Sighting(pack.elsewhere, last, read_home=last)
            else:
                changes.append(Left(epc, pack.slot))
                del self._packs[epc]
        return changes

    def watched_again(self, slots: Collection[str], now: float) -> None:
        """The reader of `slots` is back: its packs get a full dwell time to be seen again."""
        for pack in self._packs.values():
            if pack.slot in slots:
                pack.last_home = max(pack.last_home, now)

    def place(self, epc: str, slot: str, now: float) -> None:
        """The ledger now has the pack in `slot` (a stocktake booked it there): watch it there,
        as if just seen."""
        self._new.pop(epc, None)
        self._packs[epc] = _Sighting(slot, now)

    def forget(self, epc: str) -> None:
        """Stop tracking a pack (its arrival was refused, or it was booked out elsewhere)."""
        self._packs.pop(epc, None)
        self._new.pop(epc, None)

    def _candidate(self, seen: PackId, slot: str, now: float) -> Arrived | None:
        """A pack the shelf does not hold, seen in `slot`: arrived there once that slot has
        seen it for the dwell time, with no pause as long as the dwell time between."""
        spans = self._new.setdefault(seen.epc, {})
        span = spans.get(slot)
        if span is None or now - span.last >= self.dwell:
            span = spans[slot] = _Span(now, now)
        span.last = now
        if now - span.first < self.dwell:
            return None
        del self._new[seen.epc]
        self._packs[seen.epc] = _Sighting(slot, now, read_home=now)
        return Arrived(seen, slot)

    def least_seen(self, slot: str) -> tuple[str, ...]:
        """The packs tracked in `slot`, the one not seen there for longest first."""
        here = [(pack.last_home, epc) for epc, pack in self._packs.items() if pack.slot == slot]
        return tuple(epc for _, epc in sorted(here))

    def still_seen(self, now: float) -> dict[str, str]:
        """EPC -> slot of the packs a reader has read where they are tracked within the dwell
        time: they are there now, whatever another reader (a handheld) reads of them."""
        return {
            epc: pack.slot for epc, pack in self._packs.items() if now - pack.read_home < self.dwell
        }

    def slot_of(self, epc: str) -> str | None:
        """Where the tracker believes the pack is."""
        pack = self._packs.get(epc)
        return pack.slot if pack else None
