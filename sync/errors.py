"""The sync layer's exceptions, one hierarchy. Callers decide by type:

- `Retryable`: the same thing may work later (the broker refused a message now: it stays in the
  outbox and is sent again: `PublishRefused`).
- anything else under `SyncError`: a mistake to fix (a bad secret file, a message that is not a
  valid request); the message says what.
"""

from __future__ import annotations


class SyncError(Exception):
    """Anything the link to the centre refuses or cannot do."""


class Retryable(SyncError):
    """May succeed when tried again later."""


class PublishRefused(Retryable):
    """The broker answered a publish with a failure reason code (e.g. not authorized)."""
