"""The ledger's SQLite file: connection settings, forward migrations, checks at open.

Each migration step (inventory.ledger.schema) moves the file one version forward inside a
transaction, so a file from any older release opens; read-only, such a file is read as the
current schema before it is upgraded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory.errors import StoreError, StoreUnavailable
from inventory.ledger.file_access import access_problem, readonly_uri, user_name
from inventory.ledger.schema import (
    DROPPED,
    MIGRATIONS,
    SCHEMA_VERSION,
    read_as_current,
    version_of,
)

log = logging.getLogger(__name__)

NEAR_FULL_BYTES = 1 << 20  # less room than this, and an I/O error at open is the full disk


def connect(
    path: Path | str, integrity_check: str | None = "integrity_check"
) -> sqlite3.Connection:
    """Open (creating if needed) the ledger file, check it (`integrity_check`, the faster
    `quick_check`, or None when the caller checks it beside other work: `check_file`), and
    migrate it to the current schema."""
    path = Path(path)
    path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
    _create_closed(path)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before it returns, so nothing is acknowledged that a power
        # cut could take back.
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA cache_size=-8000")  # 8 MB of page cache
        verdict = db.execute(f"PRAGMA {integrity_check}").fetchone()[0] if integrity_check else "ok"
        if verdict == "ok":
            migrate(db, path)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise _cannot_open(path, exc) from None
    if verdict != "ok":
        db.close()
        raise damaged(path, verdict)
    return db


def _create_closed(path: Path) -> None:
    """Create a new ledger file readable by its owner and group only, whatever the umask of
    whoever starts the daemon; SQLite gives its -wal and -shm files the same mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))


def _cannot_open(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    """Why the ledger at `path` could not be opened: locked by another program, no room on
    its file system, a file of it this user cannot open (all leave the file whole), or
    damaged."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if locked(exc):
        return StoreUnavailable(
            f"ledger {path} is locked by another program (an open sqlite3 session, a copy "
            "being written?) and could not be opened within 5 s; the file is not damaged: "
            "close that program"
        )
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _full(path.parent)):
        return StoreUnavailable(
            f"ledger {path} cannot be opened: the file system holding it is full (df -h "
            f"{path.parent}); the file is not damaged: make room (old logs, backups kept on "
            "the box)"
        )
    if unopened(exc):
        return StoreError(
            access_problem(path)
            or f"ledger {path} cannot be opened ({exc}); the file is not damaged by what this "
            f"says: check what user {user_name()} may do with it and with the -wal and -shm "
            f"files beside it (ls -l {path}*), and whether it may create files in "
            f"{path.parent}"
        )
    return damaged(path, str(exc))


def locked(exc: sqlite3.DatabaseError) -> bool:
    """Whether `exc` says another program holds the file (it is not damaged)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def unopened(exc: sqlite3.DatabaseError) -> bool:
    """Whether `exc` says SQLite could not open a file of the ledger (the file, or its -wal or
    -shm) or could not write one it must (an -shm it cannot set up): a matter of permissions
    or of its folder, never of the file's content."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_READONLY)


def unreadable(path: Path | str, exc: sqlite3.DatabaseError) -> StoreError:
    """Why a question to the file at `path` (a read-only command) failed: another program holds
    it, it was left by an older rxedge and not upgraded yet, it holds no ledger (a table the
    question needs is missing), a file of it cannot be opened here, or it is damaged."""
    missing = str(exc).startswith(("no such table", "no such column"))
    if missing and 0 < (version := _version_at(path)) < SCHEMA_VERSION:
        return StoreError(
            f"ledger {path} is from an older rxedge (schema {version}; this one writes "
            f"{SCHEMA_VERSION}) and has not been upgraded yet ({exc}); the file is not "
            "damaged: the daemon's next start upgrades it"
        )
    if str(exc).startswith("no such table"):
        return StoreError(f"{path} is not a ledger ({exc}): give the gateway's database file")
    return _cannot_open(Path(path), exc)


def _version_at(path: Path | str) -> int:
    """The schema version of the file at `path`, read on a connection of its own (0: none)."""
    try:
        with contextlib.closing(sqlite3.connect(readonly_uri(Path(path)), uri=True)) as db:
            return version_of(db)
    except sqlite3.Error:
        return 0


def _full(folder: Path) -> bool:
    """Whether the file system holding `folder` has (next to) no room left: SQLite reports a
    shared-memory file it cannot grow as an I/O error, not as a full disk."""
    try:
        room = os.statvfs(folder)
    except OSError:
        return False
    return room.f_bavail * room.f_frsize < NEAR_FULL_BYTES


def damaged(path: Path | str, what: str) -> StoreError:
    """The error for a ledger file that cannot be used, with what to do."""
    return StoreError(
        f"ledger {path} is damaged or unreadable ({what}); restore it from a "
        "backup, or move it aside to start an empty ledger"
    )


def connect_readonly(path: Path | str, lasting: bool = False) -> sqlite3.Connection:
    """Open the ledger for questions only (safe while the daemon writes to it), also where
    this user cannot write its folder (`readonly_uri`; not for a `lasting` connection, kept
    to see what is written later). A ledger an older release left answers them as the
    current schema would (`read_as_current`)."""
    if not Path(path).exists():
        raise StoreError(f"no ledger at {path}; give the database path of the gateway's config")
    try:
        db = sqlite3.connect(readonly_uri(Path(path), lasting), uri=True, check_same_thread=False)
    except sqlite3.DatabaseError as exc:  # the file itself cannot be opened
        raise _cannot_open(Path(path), exc) from None
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=5000")
    # Not a ledger, or damaged: the question asked of it says which.
    with contextlib.suppress(sqlite3.DatabaseError):
        read_as_current(db)
    return db


def check_file(path: Path | str, pragma: str = "integrity_check(20)") -> str:
    """A check pragma (`quick_check`, `integrity_check(N)`) on its own read-only connection:
    "ok", or what is wrong. SQLite lets go of the GIL while it checks, so this runs beside
    other work: the full check on a large file takes seconds."""
    db = connect_readonly(path)
    try:
        rows = db.execute(f"PRAGMA {pragma}").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()
    return "; ".join(str(r[0]) for r in rows)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply every migration step the file has not had yet. An upgrade (of a file that had a
    schema) is logged once, with any rows a step dropped and why: after it, the older release
    refuses the file."""
    version = version_of(db)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"ledger {path} has schema version {version}, newer than this rxedge knows "
            f"({SCHEMA_VERSION}); upgrade rxedge"
        )
    for step in range(version, SCHEMA_VERSION):
        dropped = 0
        with transaction(db):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    done = db.execute(statement).rowcount
                    dropped += done if statement.lstrip().startswith("DELETE") else 0
            db.execute(f"PRAGMA user_version={step + 1}")
        if dropped > 0:
            why = DROPPED[step + 1]
            log.warning(
                "ledger %s: upgrading it to schema %d dropped %d %s", path, step + 1, dropped, why
            )
    if 0 < version < SCHEMA_VERSION:
        log.warning(
            "ledger %s upgraded from schema %d to %d; an older rxedge can no longer open it "
            "(keep the backup taken before the upgrade: going back to the older rxedge means "
            "restoring that backup)",
            path,
            version,
            SCHEMA_VERSION,
        )


def touch(db: sqlite3.Connection) -> None:
    """A small real write that changes nothing, inside the caller's transaction: the schema
    version written again as it is (the file's first page rewritten), so that its commit
    says whether the file can be written now."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    db.execute(f"PRAGMA user_version = {version}")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: committed (durably) on success, rolled back on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
