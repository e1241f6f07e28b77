"""What the put-away desk remembers of packs beyond its open sessions, in memory (rebuilt from
the sessions in the ledger file at start), so that no scan or tag has to search old sessions:
the serialized packs put lately, by which delivery and at which desk. A pack scanned again at
that desk a moment after its put is the same pack; anywhere else, or later, a pack with its
serial is a copy until a pharmacist has looked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inventory.putaway.sessions import PutawaySession, pack_key


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
