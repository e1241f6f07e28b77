"""What the put-away desk remembers of packs beyond its open sessions, in memory (rebuilt from
the sessions in the ledger file at start), so that no scan or tag has to search old sessions:

- the serialized packs put lately, by which delivery and at which desk. A pack scanned again
  at that desk a moment after its put is the same pack; anywhere else, or later, a pack with
  its serial is a copy until a pharmacist has looked;
- the serialized packs that deliveries closed in the last `LAID_DAYS` days left waiting, let
  go of or refused as packs that must not reach a shelf: a tag the ledger does not hold, seen
  on a shelf, is looked up here, and only a pack found here costs a read of its session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inventory.putaway.checks import REFUSED_PACK_REASONS
from inventory.putaway.sessions import PutawaySession, pack_key
from inventory.putaway.store import LeftPacks

# How long after its delivery closed a pack it left waiting or refused, laid on a shelf all
# the same, is still booked as the desk knew it (by its tag); later it is a tag like any other.
LAID_DAYS = 30


@dataclass(frozen=True, slots=True)
class Put:
    """A serialized pack put: by which delivery, scanned in at which desk, when (seconds)."""

    delivery_id: str
    desk: str
    at: float


class RecentPuts:
    """The serialized packs put lately (by `pack_key`)."""

    def __init__(self) -> None:
        self._puts: dict[str, Put] = {}

    def load(self, sessions: Iterable[PutawaySession], since: float) -> None:
        """The puts of `sessions` (open ones, and those closed lately) at `since` or later."""
        self._puts = {}
        for session in sessions:
            for key, at in session.put_serials.items():
                if at >= since:
                    self._puts[key] = Put(session.delivery_id, session.scanner, at)

    def record(self, gtin: str, serial: str, session: PutawaySession, at: float) -> None:
        """`session` put this serialized pack at `at`, scanned in at its scanner."""
        self._puts[pack_key(gtin, serial)] = Put(session.delivery_id, session.scanner, at)

    def since(self, gtin: str, serial: str, since: float) -> Put | None:
        """The put of this serialized pack at `since` or later; None when there was none."""
        put = self._puts.get(pack_key(gtin, serial)) if serial else None
        return put if put is not None and put.at >= since else None

    def forget_before(self, since: float) -> None:
        """Puts before `since` no longer matter: a pack scanned again then is judged anew."""
        if any(put.at < since for put in self._puts.values()):
            self._puts = {key: put for key, put in self._puts.items() if put.at >= since}


class ClosedPacks:
    """The serialized packs closed sessions left waiting, let go of or refused (expired,
    short-dated, recalled), by GTIN and serial: the latest such delivery, and when it closed
    (seconds)."""

    def __init__(self) -> None:
        self._packs: dict[tuple[str, str], tuple[str, float]] = {}

    def load(self, closed: Iterable[LeftPacks]) -> None:
        """What sessions closed lately left, the oldest first (at start)."""
        self._packs = {}
        for found in closed:
            refused = [r for r in found.refused if r["reason"] in REFUSED_PACK_REASONS]
            packs = [(str(p["gtin"]), str(p["serial"])) for p in (*found.left, *refused)]
            self._add(found.delivery_id, found.closed_at, packs)

    def closed(self, session: PutawaySession, at: float) -> None:
        """`session` closed at `at`; what closed before `at - LAID_DAYS` days is forgotten."""
        since = at - LAID_DAYS * 86400
        self._packs = {key: left for key, left in self._packs.items() if left[1] >= since}
        packs = [(p.gtin, p.serial) for p in (*session.waiting, *session.let_go)]
        packs += [(r.gtin, r.serial) for r in session.refusals if r.reason in REFUSED_PACK_REASONS]
        self._add(session.delivery_id, at, packs)

    def delivery_of(self, gtin: str, serial: str, since: float) -> str | None:
        """The delivery, closed at `since` or later, that left this pack waiting or refused
        it; None when none did."""
        left = self._packs.get((gtin, serial)) if serial else None
        return left[0] if left is not None and left[1] >= since else None

    def _add(self, delivery_id: str, at: float, packs: Iterable[tuple[str, str]]) -> None:
        for gtin, serial in packs:
            if serial:
                self._packs[gtin, serial] = (delivery_id, at)
