"""The ledger's schema: the script of each version step, and how a file of an older version is
read as the current one before the daemon upgrades it.

Schema versions live in ``PRAGMA user_version``; MIGRATIONS[i] moves a file from version i to
i + 1 (inventory.ledger.store.migrate runs them at open).
"""

from __future__ import annotations

import sqlite3
from functools import cache

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

# Version 13: how many packs of each request are owed to pick lists that came short, so that
# a later short list is weighed only against what nobody is owed yet
# (inventory.replenishment.shortage). The gateway's own account: never sent.
_V13_REQUEST_OWED = """
ALTER TABLE procurement_requests ADD COLUMN owed INTEGER NOT NULL DEFAULT 0;
"""

# Version 14: when a copy of a request sent again was handed to the MQTT client (it may have
# gone out from then on, whatever the broker answered): such a copy is never dropped, while one
# never handed over is dropped unsent once the centre has answered its request
# (inventory.replenishment.resend). The gateway's own account: never sent.
_V14_COPIES_HANDED = """
ALTER TABLE outbox ADD COLUMN handed_at TEXT;
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
    _V13_REQUEST_OWED,
    _V14_COPIES_HANDED,
)
SCHEMA_VERSION = len(MIGRATIONS)

# What the DELETE statements of a step drop, and why: the daemon's journal says it with how many
# once the step is done, for they are gone from the file then.
DROPPED: dict[int, str] = {
    8: "alarm row(s) that became one alarm once the dots left their ids (of each such alarm, "
    "the live row, else the one raised last, was kept)",
    10: "waiting alarm message(s) the broker already held a newer state of (sent, each would "
    "have put an older state back over the newer one at the broker)",
    12: "waiting alarm message(s) under an id with dots, which NATS's MQTT gateway refuses by "
    "closing the connection (each live alarm's state is sent under its new id when the "
    "gateway connects)",
}


def version_of(db: sqlite3.Connection) -> int:
    """The schema version of the file `db` has open (0: a new, empty file)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def read_as_current(db: sqlite3.Connection) -> None:
    """Let this release's questions be asked of a file an older release left (opened read-only
    before the daemon's next start upgrades it): each table it lacks is there, empty, and each
    column it lacks holds what the upgrade would put there (its default: empty, or none). They
    live in the connection's temporary schema, which comes before the file's in every name
    lookup; the file is not touched. Rows an upgrade step changes or drops (alarm ids with
    dots, some waiting messages) are shown as the file holds them."""
    if not 0 < version_of(db) < SCHEMA_VERSION:
        return
    db.execute("PRAGMA temp_store=MEMORY")
    for table, (create, columns) in _current_tables().items():
        held = {r[0] for r in db.execute("SELECT name FROM pragma_table_info(?, 'main')", (table,))}
        if not held:
            db.execute(create.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
        elif any(name not in held for name, _ in columns):
            shown = ", ".join(
                name if name in held else f"{default or 'NULL'} AS {name}"
                for name, default in columns
            )
            db.execute(f"CREATE TEMP VIEW {table} AS SELECT {shown} FROM main.{table}")


@cache
def _current_tables() -> dict[str, tuple[str, tuple[tuple[str, str | None], ...]]]:
    """Each table of the current schema: its CREATE statement and its columns in order, each
    with its default (SQL text, None for none)."""
    db = sqlite3.connect(":memory:")
    try:
        for script in MIGRATIONS:
            db.executescript(script)
        tables = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        return {
            name: (
                sql,
                tuple(
                    (column, default)
                    for column, default in db.execute(
                        "SELECT name, dflt_value FROM pragma_table_info(?)", (name,)
                    )
                ),
            )
            for name, sql in tables
        }
    finally:
        db.close()
