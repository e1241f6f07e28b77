"""Packs read a moment ago: kept in memory for `mistake_seconds`, so that the same pack read
again (a second scan, a handheld reading on) is not booked, or reported wrong, twice.

A pack is marked in the transaction that books it (or reports it wrong), and the mark is taken
back should that transaction fail (a full disk, an I/O error): the change is then held and
tried again, and the pack must be booked then as if read for the first time.
"""

from __future__ import annotations

from functools import partial

from inventory.ledger.rollback import RollbackLog


class RecentPacks:
    """Packs (by EPC, or by `GTIN/serial`) read a moment ago, each until a time."""

    def __init__(self, rollback: RollbackLog):
        self._until: dict[str, float] = {}
        self._rollback = rollback

    def mark(self, key: str, until: float) -> None:
        """`key` was booked (or shown wrong) just now: a read of it before `until` is the
        same; taken back if the transaction under way fails."""
        self._rollback.add(partial(self._restore, key, self._until.get(key)))
        self._until[key] = until

    def within(self, key: str, now: float) -> bool:
        """Whether `key` was marked and its time has not run out at `now`."""
        return self._until.get(key, 0.0) > now

    def forget(self, key: str) -> None:
        """`key` is no longer a pack just read (it was put back)."""
        self._until.pop(key, None)

    def expire(self, now: float) -> None:
        """Forget the marks whose time has run out."""
        self._until = {key: until for key, until in self._until.items() if until > now}

    def _restore(self, key: str, until: float | None) -> None:
        if until is None:
            self._until.pop(key, None)
        else:
            self._until[key] = until
