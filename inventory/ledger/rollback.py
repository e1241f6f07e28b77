"""What a failed transaction takes back of the state kept in memory only.

After a rollback the keeper reads back from the ledger file everything the file holds. Some
state lives in memory only: a pack marked as just booked (so that reading it again books
nothing twice), a mistake shown until its pack is booked out. Whoever changes such state
inside a transaction leaves here how to take the change back, and the keeper does so should
the transaction fail: nothing in memory then says that a change happened which the file lost.
"""

from __future__ import annotations

from collections.abc import Callable


class RollbackLog:
    """How to take back what memory-only state the transaction under way changed."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], object]] = []

    def add(self, undo: Callable[[], object]) -> None:
        """`undo` takes a change back should the transaction under way fail (added outside a
        transaction, it is forgotten when the next one begins)."""
        self._undo.append(undo)

    def begin(self) -> None:
        """A transaction begins: nothing to take back yet."""
        self._undo.clear()

    def failed(self) -> None:
        """The transaction failed and the file's state is read back: take back what memory
        alone held, the latest change first."""
        undo, self._undo = self._undo, []
        for step in reversed(undo):
            step()
