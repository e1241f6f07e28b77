"""One daemon per ledger. Each keeps the ledger's last movement (the head of its hash chain) and
its stock index in memory: a second daemon writing the same file would chain its movements from
a stale head (breaking `rxedge ledger verify`) and book the same shelves twice. The daemon holds
an exclusive lock on `ledger.sqlite.lock` beside the ledger while it runs; the kernel lets go of
it when the process ends, however it ends. Readers (the CLI, the web page) take no lock.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory.errors import StoreError


def lock_path(database: Path) -> Path:
    """The lock file of the ledger at `database`."""
    return database.with_name(database.name + ".lock")


@contextmanager
def sole_writer(database: Path) -> Iterator[None]:
    """Hold the ledger's lock for the block; StoreError, naming the holder, when another
    process holds it."""
    path = lock_path(database)
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)  # as the ledger's own folder
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise StoreError(
                f"ledger {database} is in use by another rxedge daemon (pid {holder}); two on "
                "one ledger would break its hash chain: stop the other first (systemctl stop "
                "rxedge, or Ctrl-C where it was started by hand), or give this one a database "
                "of its own"
            ) from None
        _note_holder(fd)
        yield
    finally:
        os.close(fd)


def _note_holder(fd: int) -> None:
    """Write this process's pid into the lock file, for the message a second daemon gets. Only
    a note: on a full disk the lock holds all the same, and the daemon goes on to say what the
    full disk stops."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError:
        pass
