"""`rxedge ledger verify`, `rxedge stock`, `where`, `history`, `expiring`: the ledger's answers
for people, from the file (safe while the daemon runs)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.settings.config import load_config
from inventory.errors import StoreError
from inventory.ledger import questions
from inventory.ledger.store import connect_readonly
from inventory.ledger.verify import verify

DEFAULT_CONFIG = Path("/etc/rxedge/gateway.toml")


def add_database_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """Which ledger: --db FILE, or the database of --config FILE (when not `required`, the
    default config's)."""
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--db", type=Path, help="the ledger file")
    where.add_argument("--config", type=Path, help="the gateway's config (its database)")
    parser.add_argument("--json", action="store_true", help="JSON instead of a table")


def open_ledger(args: argparse.Namespace) -> sqlite3.Connection:
    config = args.config or DEFAULT_CONFIG
    path = args.db if args.db is not None else load_config(config).database
    try:
        return connect_readonly(path)
    except StoreError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_verify(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        verdict = verify(db)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": verdict.ok,
                    "movements": verdict.movements,
                    "stock_lines": verdict.stock_lines,
                    "problems": verdict.problems,
                }
            )
        )
    elif verdict.ok:
        print(
            f"ledger ok: {verdict.movements} movements chained, {verdict.stock_lines} stock "
            "lines equal to their sum"
        )
    else:
        print(f"LEDGER DAMAGED: {verdict.problems[0]}")
    return 0 if verdict.ok else 1


def run_stock(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        rows = questions.stock_of(db, args.gtin)
    return show_rows(rows, args.json, f"no stock of GTIN {args.gtin}")


def run_where(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        found = questions.where_is(db, args.epc)
    if found is None:
        print(json.dumps(None) if args.json else f"{args.epc} was never booked in")
        return 1
    return show_rows([found], args.json, "")


def run_history(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        rows = questions.history(db, args.key, args.limit)
    return show_rows(rows, args.json, f"no movements of {args.key}")


def run_expiring(args: argparse.Namespace) -> int:
    today = datetime.now(UTC).date()
    with open_ledger(args) as db:
        rows = questions.expiring(db, args.days, today)
    return show_rows(rows, args.json, f"nothing expires within {args.days} days")


def show_rows(rows: list[dict[str, Any]], as_json: bool, empty: str) -> int:
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(empty)
        return 0
    names = list(rows[0])
    widths = {n: max(len(n), *(len(_text(r[n])) for r in rows)) for n in names}
    print("  ".join(n.ljust(widths[n]) for n in names))
    for row in rows:
        print("  ".join(_text(row[n]).ljust(widths[n]) for n in names))
    return 0


def _text(value: object) -> str:
    return "" if value is None else str(value)
