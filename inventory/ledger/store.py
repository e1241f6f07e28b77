"""The ledger's SQLite file: connection settings, schema and forward migrations.

Schema versions live in ``PRAGMA user_version``; each migration step moves the file one version
forward inside a transaction, so a file from any older release opens.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from inventory.errors import StoreError, StoreUnavailable

_SCHEMA_V1 = """
CREATE TABLE movements (
    id          INTEGER PRIMARY KEY,
    at          TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    gtin        TEXT    NOT NULL,
    serial      TEXT    NOT NULL DEFAULT '',
    epc         TEXT,
    batch       TEXT    NOT NULL DEFAULT '',
    expiry      TEXT,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    from_slot   TEXT,
    from_status TEXT,
    to_slot     TEXT,
    to_status   TEXT,
    actor       TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    reference   TEXT    NOT NULL DEFAULT '',
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE TABLE ledger_head (
    one         INTEGER PRIMARY KEY CHECK (one = 1),
    movements   INTEGER NOT NULL,
    last_id     INTEGER NOT NULL,
    last_hash   TEXT    NOT NULL
);
INSERT INTO ledger_head VALUES (1, 0, 0, printf('%.64d', 0));
CREATE TABLE stock (
    slot        TEXT    NOT NULL,
    gtin        TEXT    NOT NULL,
    batch       TEXT    NOT NULL DEFAULT '',
    serial      TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL DEFAULT 'available',
    epc         TEXT,
    expiry      TEXT,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (slot, gtin, batch, serial, status)
) WITHOUT ROWID;
CREATE UNIQUE INDEX stock_epc ON stock (epc) WHERE epc IS NOT NULL;
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL DEFAULT '',
    payload     TEXT    NOT NULL,
    sent_at     TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
CREATE TABLE alarms (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    state           TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    detail          TEXT NOT NULL,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    cleared_at      TEXT
);
CREATE TABLE procurement_requests (
    request_id   TEXT PRIMARY KEY,
    created_at   TEXT    NOT NULL,
    gtin         TEXT    NOT NULL,
    quantity     INTEGER NOT NULL,
    status       TEXT    NOT NULL,
    confirmed_by TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
"""

# Version 2: the indexes that `rxedge history` and `rxedge where` look rows up by.
_V2_HISTORY_INDEXES = """
CREATE INDEX movements_gtin ON movements (gtin);
CREATE INDEX movements_epc ON movements (epc) WHERE epc IS NOT NULL;
CREATE INDEX movements_from_slot ON movements (from_slot) WHERE from_slot IS NOT NULL;
CREATE INDEX movements_to_slot ON movements (to_slot) WHERE to_slot IS NOT NULL;
"""

# Version 3: pick lists (their whole state as JSON, one row each) and recalled batches.
_V3_PICKING = """
CREATE TABLE pick_lists (
    pick_id     TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    state       TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX pick_lists_open ON pick_lists (state) WHERE state = 'open';
CREATE TABLE recalls (
    gtin        TEXT NOT NULL,
    batch       TEXT NOT NULL,
    recalled_at TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (gtin, batch)
) WITHOUT ROWID;
"""

# Version 4: stocktake reports, waiting for confirmation and after.
_V4_STOCKTAKES = """
CREATE TABLE stocktakes (
    stocktake_id TEXT PRIMARY KEY,
    shelf        TEXT NOT NULL,
    by           TEXT NOT NULL,
    ended_at     TEXT NOT NULL,
    state        TEXT NOT NULL,
    report       TEXT NOT NULL,
    confirmed_by TEXT,
    confirmed_at TEXT
);
"""

# Version 5: requests remember their priority and what has been received of them.
_V5_REQUEST_PROGRESS = """
ALTER TABLE procurement_requests ADD COLUMN priority TEXT NOT NULL DEFAULT 'routine';
ALTER TABLE procurement_requests ADD COLUMN received INTEGER NOT NULL DEFAULT 0;
ALTER TABLE procurement_requests ADD COLUMN note TEXT NOT NULL DEFAULT '';
"""

# Version 6: command messages received and not yet expired (each is carried out at most once).
_V6_COMMANDS_SEEN = """
CREATE TABLE commands_seen (
    message_id  TEXT PRIMARY KEY,
    command     TEXT NOT NULL,
    received_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX commands_seen_expiry ON commands_seen (expires_at);
"""

# Version 7: put-away sessions (their whole state as JSON, one row each).
_V7_PUTAWAY = """
CREATE TABLE putaway_sessions (
    delivery_id TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    state       TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX putaway_sessions_open ON putaway_sessions (state) WHERE state = 'open';
"""

# Version 8: alarm ids without dots (inventory.alarms.lifecycle.alarm_id): each dot becomes `_`,
# as the id of the same subject is now made. Of rows whose ids become one, the live one is kept
# (else the one raised last): a live alarm is never lost, and its retained message is cleared
# when it ends.
_V8_ALARM_IDS = """
DELETE FROM alarms WHERE EXISTS (
    SELECT 1 FROM alarms AS other
    WHERE replace(other.id, '.', '_') = replace(alarms.id, '.', '_')
        AND other.rowid != alarms.rowid
        AND (other.state != 'cleared', other.raised_at, other.rowid)
            > (alarms.state != 'cleared', alarms.raised_at, alarms.rowid)
);
UPDATE alarms SET id = replace(id, '.', '_') WHERE id LIKE '%.%';
"""

# Version 9: who gave the centre's last answer about a request, and when the centre said it.
_V9_REQUEST_ANSWERS = """
ALTER TABLE procurement_requests ADD COLUMN answered_by TEXT NOT NULL DEFAULT '';
ALTER TABLE procurement_requests ADD COLUMN answered_at TEXT;
"""

# Version 10: waiting alarm messages are dropped where the broker already acknowledged a newer one
# of the same alarm (Outbox.mark_sent now drops them as it marks the newer one). Earlier releases
# sent them again later, which put an older state back over the newer one at the broker.
_V10_SUPERSEDED_STATES = """
DELETE FROM outbox WHERE sent_at IS NULL AND kind = 'alarm' AND id < (
    SELECT max(newer.id) FROM outbox AS newer
    WHERE newer.kind = 'alarm' AND newer.key = outbox.key AND newer.sent_at IS NOT NULL
);
"""

# Version 11: the request messages of each request, found by its id (the request's key): how many
# times it was sent and when the broker took the last copy, for sending again the requests the
# centre has not answered (inventory.replenishment.resend).
_V11_REQUEST_MESSAGES = """
CREATE INDEX outbox_requests ON outbox (key, id) WHERE kind = 'procurement_request';
"""

# Version 12: waiting alarm messages written before version 8 keep the id of the alarm with its
# dots (migration 8 renamed the alarms only). Sent, each went to a topic NATS's MQTT gateway
# refuses by closing the connection; the gateway reconnected and sent it first again, forever,
# and nothing else went out. They are dropped: on every connect the gateway publishes the state
# of each live alarm the broker does not hold (edge.alarms.retained_alarms), under its new id,
# and clears the old topics the broker holds. (Renaming them instead could send one alarm's
# state under the id of another that became the same id.) And indexes for the web page's last
# ended pick lists, deliveries and stocktakes, which read every row without them.
_V12_DOTTED_ALARM_MESSAGES = """
DELETE FROM outbox WHERE sent_at IS NULL AND kind = 'alarm' AND key LIKE '%.%';
CREATE INDEX pick_lists_ended ON pick_lists (updated_at) WHERE state != 'open';
CREATE INDEX putaway_sessions_ended ON putaway_sessions (updated_at) WHERE state != 'open';
CREATE INDEX stocktakes_ended ON stocktakes (ended_at);
"""

# Index i holds the script that moves a file from version i to version i + 1.
MIGRATIONS: tuple[str, ...] = (
    _SCHEMA_V1,
    _V2_HISTORY_INDEXES,
    _V3_PICKING,
    _V4_STOCKTAKES,
    _V5_REQUEST_PROGRESS,
    _V6_COMMANDS_SEEN,
    _V7_PUTAWAY,
    _V8_ALARM_IDS,
    _V9_REQUEST_ANSWERS,
    _V10_SUPERSEDED_STATES,
    _V11_REQUEST_MESSAGES,
    _V12_DOTTED_ALARM_MESSAGES,
)
SCHEMA_VERSION = len(MIGRATIONS)
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
    its file system (both leave the file whole), or damaged."""
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
    return damaged(path, str(exc))


def locked(exc: sqlite3.DatabaseError) -> bool:
    """Whether `exc` says another program holds the file (it is not damaged)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def unreadable(path: Path | str, exc: sqlite3.DatabaseError) -> StoreError:
    """Why a question to the file at `path` (a read-only command) failed: another program holds
    it, it holds no ledger (a table the question needs is missing), or it is damaged."""
    if str(exc).startswith("no such table"):
        return StoreError(
            f"{path} is not a ledger, or one an older rxedge left that the daemon has not "
            f"opened since ({exc}): give the gateway's database file"
        )
    return _cannot_open(Path(path), exc)


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


def connect_readonly(path: Path | str) -> sqlite3.Connection:
    """Open the ledger for questions only (safe while the daemon writes to it)."""
    if not Path(path).exists():
        raise StoreError(f"no ledger at {path}; give the database path of the gateway's config")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA busy_timeout=5000")
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
    """Apply every migration step the file has not had yet."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"ledger {path} has schema version {version}, newer than this rxedge knows "
            f"({SCHEMA_VERSION}); upgrade rxedge"
        )
    for step in range(version, SCHEMA_VERSION):
        with transaction(db):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version={step + 1}")


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
