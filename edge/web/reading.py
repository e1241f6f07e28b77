"""What the page reads from the ledger file: read-only connections, one per worker thread,
and the questions each view asks (beside those `inventory.ledger.questions` answers for the
CLI). Nothing here writes: the page acts only through the daemon's commands."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from anyio import to_thread

from inventory.alarms.lifecycle import batch_subject
from inventory.ledger.movements import StockStatus
from inventory.ledger.schema import version_of
from inventory.ledger.store import connect_readonly
from inventory.picking.lists import PickList
from inventory.putaway.sessions import PutawaySession
from inventory.replenishment.requests import OPEN_STATUSES, RequestStatus, shown_columns
from inventory.stocktake.report import StocktakeReport

T = TypeVar("T")
Rows = list[dict[str, Any]]
PAGE_ROWS = 500  # the most rows a list shows (a ledger may hold far more)
EXPIRING_ROWS = 200  # the expiring list: its earliest lines


FileId = tuple[int, int] | None  # a file's (device, inode); None: there is no file


def file_id(path: Path) -> FileId:
    """Which file `path` names now: a ledger moved aside and another (a backup) put in its place
    is another file, although its name is the same."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return None
    return found.st_dev, found.st_ino


class LedgerReader:
    """Questions to the ledger at `path`, each run on a worker thread with its own connection,
    opened again when the path names another file than the one it reads (a connection stays
    on the file it opened, even moved aside or deleted), and when the file's schema version
    changed (the daemon upgraded a ledger an older release left: the empty tables and default
    columns its connection was given in their stead would hide what is written since). No
    file: StoreError, saying so."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        now = file_id(self.path)
        if db is not None and (self._local.file != now or _version(db) != self._local.version):
            db.close()
            db = None
        if db is None:
            db = connect_readonly(self.path, lasting=True)
            self._local.db, self._local.file, self._local.version = db, now, _version(db)
        return db

    async def ask(self, question: Callable[[sqlite3.Connection], T]) -> T:
        """`question(connection)`, off the event loop."""
        return await to_thread.run_sync(lambda: question(self._db()))

    def ask_now(self, question: Callable[[sqlite3.Connection], T]) -> T:
        """`question(connection)` on this thread (for threads of the page's own)."""
        return question(self._db())


def _version(db: sqlite3.Connection) -> int | None:
    """The schema version of the file `db` reads; None if it cannot be read (a damaged file,
    or not a ledger: the question asked of it says which)."""
    try:
        return version_of(db)
    except sqlite3.DatabaseError:
        return None


def _rows(cursor: sqlite3.Cursor) -> Rows:
    return [dict(row) for row in cursor.fetchall()]


def shelf_stock(db: sqlite3.Connection, shelf: str) -> dict[str, Rows]:
    """Slot -> what it holds of each GTIN: available and quarantined packs."""
    held: dict[str, Rows] = {}
    rows = db.execute(
        "SELECT slot, gtin, sum(CASE WHEN status = 'available' THEN quantity ELSE 0 END) AS"
        " available, sum(CASE WHEN status != 'available' THEN quantity ELSE 0 END) AS held"
        " FROM stock WHERE slot >= ? AND slot < ? GROUP BY slot, gtin ORDER BY slot, gtin",
        (f"{shelf}-", f"{shelf}."),  # '.' follows '-': every slot named {shelf}-...
    )
    for row in rows:
        held.setdefault(row["slot"], []).append(dict(row))
    return held


def slot_lines(db: sqlite3.Connection, slot: str) -> Rows:
    """Every stock line of a slot, earliest expiry first."""
    return _rows(
        db.execute(
            "SELECT gtin, batch, serial, epc, status, expiry, quantity FROM stock WHERE slot = ?"
            " ORDER BY coalesce(expiry, '9999-12-31'), gtin, batch, serial",
            (slot,),
        )
    )


def pick_lists(db: sqlite3.Connection) -> tuple[list[PickList], Rows]:
    """Open pick lists (oldest first) and the last ended ones (newest first)."""
    open_lists = [
        PickList.from_json(row[0])
        for row in db.execute(
            "SELECT body FROM pick_lists WHERE state = 'open' ORDER BY created_at"
        )
    ]
    ended = _rows(
        db.execute(
            "SELECT pick_id, state, updated_at FROM pick_lists WHERE state != 'open'"
            " ORDER BY updated_at DESC LIMIT 20"
        )
    )
    return open_lists, ended


def deliveries(db: sqlite3.Connection) -> tuple[list[PutawaySession], Rows]:
    """Deliveries being put away (oldest first), and the last ended ones (newest first: each
    its `session` and when it ended, `updated_at`)."""
    rows = db.execute(
        "SELECT body FROM putaway_sessions WHERE state = 'open' ORDER BY created_at"
    ).fetchall()
    ended = db.execute(
        "SELECT body, updated_at FROM putaway_sessions WHERE state != 'open'"
        " ORDER BY updated_at DESC LIMIT 20"
    ).fetchall()
    return [PutawaySession.from_json(r[0]) for r in rows], [
        {"session": PutawaySession.from_json(r[0]), "updated_at": r[1]} for r in ended
    ]


def lying(
    db: sqlite3.Connection, open_ones: Iterable[PutawaySession], ended: Rows
) -> dict[tuple[str, str], str]:
    """Where the packs of deliveries that may lie on a shelf unconfirmed lie now, by (GTIN,
    serial): each refused pack of an open delivery laid on a shelf all the same, and each
    serialized pack an ended one (`deliveries`) left waiting (booked since: its tag seen on a
    shelf, or scanned again and put). The slot that holds it, "" when no slot does (taken off
    and written off; never booked)."""
    packs = {(p.gtin, p.serial) for s in open_ones for p in s.refusals if p.held_in and p.serial}
    packs |= {(p.gtin, p.serial) for e in ended for p in e["session"].left_waiting if p.serial}
    found = dict.fromkeys(packs, "")
    if not packs:
        return found
    # One pass over the stock, whatever the number of packs: it has no index by serial.
    rows = db.execute(
        "SELECT gtin, serial, slot FROM stock WHERE serial IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({serial for _, serial in packs})),),
    )
    for gtin, serial, slot in rows:
        if (gtin, serial) in found:
            found[gtin, serial] = slot
    return found


def live_alarms(db: sqlite3.Connection) -> tuple[Rows, int]:
    """Alarms raised or acknowledged and not cleared, the newest PAGE_ROWS first (detail
    decoded), and how many more there are."""
    rows = _rows(
        db.execute(
            "SELECT id, kind, subject, state, raised_at, detail, acknowledged_at,"
            " acknowledged_by FROM alarms WHERE state != 'cleared' ORDER BY raised_at DESC"
            f" LIMIT {PAGE_ROWS}"
        )
    )
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    more = 0
    if len(rows) == PAGE_ROWS:
        total = db.execute("SELECT count(*) FROM alarms WHERE state != 'cleared'").fetchone()[0]
        more = int(total) - PAGE_ROWS
    return rows, more


def held_packs(batches: Iterable[tuple[str, str]], db: sqlite3.Connection) -> dict[str, Rows]:
    """Where the quarantined packs of each batch (GTIN, batch) lie: per `batch_subject`, one
    row per slot (slot, quantity), in slot order."""
    held: dict[str, Rows] = {}
    for gtin, batch in sorted(set(batches)):
        held[batch_subject(gtin, batch)] = _rows(
            db.execute(
                "SELECT slot, sum(quantity) AS quantity FROM stock WHERE gtin = ? AND batch = ?"
                " AND status = 'quarantined' AND quantity > 0 GROUP BY slot ORDER BY slot",
                (gtin, batch),
            )
        )
    return held


def requests(db: sqlite3.Connection) -> Rows:
    """Requests newest first: the newest PAGE_ROWS, and every one still proposed (its Confirm
    button is here) or open, however many newer ones came after it."""
    unfinished = [str(RequestStatus.PROPOSED), *(str(s) for s in OPEN_STATUSES)]
    return _rows(
        db.execute(
            f"SELECT {shown_columns(db)} FROM procurement_requests"
            f" WHERE status IN ({', '.join('?' * len(unfinished))}) OR request_id IN"
            " (SELECT request_id FROM procurement_requests"
            f" ORDER BY created_at DESC LIMIT {PAGE_ROWS})"
            " ORDER BY created_at DESC",
            unfinished,
        )
    )


def stock_and_unclaimed(db: sqlite3.Connection, gtins: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Each of `gtins` with its packs available on the shelves and its packs requested, still
    to come and owed to no short pick list (the figures a proposal is confirmed on)."""
    wanted = sorted(set(gtins))
    marks = ", ".join("?" * len(wanted))
    on_hand = dict(
        db.execute(
            f"SELECT gtin, sum(quantity) FROM stock WHERE status = ? AND gtin IN ({marks})"
            " GROUP BY gtin",
            [str(StockStatus.AVAILABLE), *wanted],
        ).fetchall()
    )
    open_statuses = [str(s) for s in OPEN_STATUSES]
    unclaimed = dict(
        db.execute(
            "SELECT gtin, sum(max(quantity - received - owed, 0)) FROM procurement_requests"
            f" WHERE status IN ({', '.join('?' * len(open_statuses))}) AND gtin IN ({marks})"
            " GROUP BY gtin",
            [*open_statuses, *wanted],
        ).fetchall()
    )
    return {g: (int(on_hand.get(g) or 0), int(unclaimed.get(g) or 0)) for g in wanted}


def stocktakes(db: sqlite3.Connection) -> Rows:
    return _rows(
        db.execute(
            "SELECT stocktake_id, shelf, by, ended_at, state, report, confirmed_by, confirmed_at"
            " FROM stocktakes ORDER BY ended_at DESC LIMIT 50"
        )
    )


def stocktake(db: sqlite3.Connection, stocktake_id: str) -> tuple[StocktakeReport, Rows] | None:
    """A stocktake's report and its row (state, who confirmed), or None."""
    rows = _rows(
        db.execute(
            "SELECT stocktake_id, shelf, by, ended_at, state, report, confirmed_by, confirmed_at"
            " FROM stocktakes WHERE stocktake_id = ?",
            (stocktake_id,),
        )
    )
    if not rows:
        return None
    return StocktakeReport.from_dict(json.loads(rows[0]["report"])), rows


def expiring(db: sqlite3.Connection, days: int, today: date) -> tuple[Rows, bool]:
    """Stock expiring within `days` of `today`, expired stock, and quarantined stock, by expiry:
    its first EXPIRING_ROWS lines (one line per expiry, product, batch, slot and status: the
    serialized packs of one batch in one slot are one line, their packs summed whatever their
    number), and whether more lines are due than that.

    The stock rows are read in line order, as few as show the first lines whole: SQLite keeps
    only the earliest rows of its sort (a top-N sort), far cheaper than grouping every row due
    (most of the stock, for a long window). Rows enough for EXPIRING_ROWS lines and the start
    of one more show those lines whole; fewer lines than that, read again with more rows."""
    cutoff = date.fromordinal(today.toordinal() + days).isoformat()
    fetch = 4 * EXPIRING_ROWS
    while True:
        rows = db.execute(
            "SELECT expiry, gtin, batch, slot, status, quantity FROM stock"
            " WHERE (expiry IS NOT NULL AND expiry <= ?) OR status != 'available'"
            " ORDER BY coalesce(expiry, '9999-12-31'), gtin, slot, batch, status LIMIT ?",
            (cutoff, fetch),
        ).fetchall()
        lines: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            key = (row["expiry"], row["gtin"], row["batch"], row["slot"], row["status"])
            if key in lines:
                lines[key]["quantity"] += row["quantity"]
            else:
                lines[key] = dict(row)
        if len(rows) < fetch or len(lines) > EXPIRING_ROWS:
            return list(lines.values())[:EXPIRING_ROWS], len(lines) > EXPIRING_ROWS
        fetch *= 4


def days_left(expiry: str | None, today: date) -> int | None:
    """Days from `today` to an ISO expiry date (negative: expired that long ago)."""
    return None if not expiry else date.fromisoformat(expiry).toordinal() - today.toordinal()


def ledger_figures(db: sqlite3.Connection) -> dict[str, Any]:
    """Movements on the chain, and the outbox: messages waiting and since when."""
    head = db.execute("SELECT movements, last_id FROM ledger_head").fetchone()
    waiting = db.execute(
        "SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL"
    ).fetchone()
    return {
        "movements": head[0],
        "outbox_waiting": waiting[0],
        "outbox_oldest": waiting[1],
    }


def data_version(db: sqlite3.Connection) -> int:
    """Changes whenever another connection (the daemon) commits."""
    return int(db.execute("PRAGMA data_version").fetchone()[0])
