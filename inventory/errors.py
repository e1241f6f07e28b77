"""The inventory's exceptions, one hierarchy. Callers decide by type, never by message text:

- `Refused`: a change that cannot be made as asked (the stock does not allow it, a request is
  not in that state, no such live alarm). Nothing of it was written; trying again is pointless.
- `Retryable`: the ledger cannot be written now (disk full, read-only, I/O error, locked by
  another process). The change itself is fine: hold it and try again later.
- `StoreError`: the ledger file cannot be used as it is (damaged, too new); the message says
  what to do. Its `StoreUnavailable`: the file is whole but cannot be opened now (its file
  system is full, another program holds it locked): the same start may succeed later.
"""

from __future__ import annotations

import sqlite3


class InventoryError(Exception):
    """Anything the inventory refuses or cannot do; the message names the thing and the fix."""


class Refused(InventoryError):
    """A change that cannot be made as asked; nothing of it was written."""


class StockError(Refused):
    """A change is impossible against the stock (or in itself)."""


class RequestError(Refused):
    """A request cannot be confirmed or moved to that status."""


class UnknownAlarm(Refused):
    """No live alarm has that id."""


class Retryable(InventoryError):
    """The ledger cannot be written now; the same change may succeed later."""


class LedgerUnavailable(Retryable):
    """The ledger file cannot be written (the cause is chained)."""


class StoreError(InventoryError):
    """The ledger file cannot be used as it is."""


class StoreUnavailable(StoreError):
    """The ledger file is whole but cannot be opened now (no room on its file system, locked
    by another program): opening it again may succeed once that has passed."""


# SQLite result codes that mean "the file cannot be written now", not "the change is wrong".
_STORAGE_CODES = {
    5,  # SQLITE_BUSY: another process holds the file
    8,  # SQLITE_READONLY
    10,  # SQLITE_IOERR
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
}


def is_storage_failure(exc: BaseException) -> bool:
    """Whether `exc` (raised while writing) says the ledger file cannot be written now."""
    if isinstance(exc, Retryable):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        return (exc.sqlite_errorcode & 0xFF) in _STORAGE_CODES
    return isinstance(exc, OSError)
