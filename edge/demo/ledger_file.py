"""What the demo reads from its ledger file while the daemon runs, as `rxedge` answers its
questions: the procurement requests' states and the latest stocktake."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from inventory.stocktake.report import StocktakeReport


@dataclass(frozen=True, slots=True)
class RequestState:
    """Where a request stands at the gateway: its status and the centre's last note."""

    gtin: str
    quantity: int
    status: str
    received: int
    note: str


@dataclass(frozen=True, slots=True)
class Count:
    """A stocktake: running (no report yet) or reconciled."""

    stocktake_id: str
    shelf: str
    state: str  # sweeping, ended (waiting for confirmation), confirmed, superseded, abandoned
    report: StocktakeReport | None = None
    confirmed_by: str = ""
    packs_read: int = 0  # while sweeping


def request_states(db: Path) -> dict[str, RequestState]:
    """Request id -> its state, oldest request first."""
    with closing(sqlite3.connect(db)) as ledger:
        rows = ledger.execute(
            "SELECT request_id, gtin, quantity, status, received, coalesce(note, '')"
            " FROM procurement_requests ORDER BY created_at"
        ).fetchall()
    return {
        str(r[0]): RequestState(str(r[1]), int(r[2]), str(r[3]), int(r[4]), str(r[5])) for r in rows
    }


def latest_count(db: Path) -> Count | None:
    """The stocktake reconciled last, if any."""
    with closing(sqlite3.connect(db)) as ledger:
        row = ledger.execute(
            "SELECT stocktake_id, shelf, state, report, coalesce(confirmed_by, '')"
            " FROM stocktakes WHERE state != 'running' ORDER BY ended_at DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return None
    report = StocktakeReport.from_dict(json.loads(row[3]))
    return Count(str(row[0]), str(row[1]), str(row[2]), report, str(row[4]))
