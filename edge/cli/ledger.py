"""`rxedge ledger verify|export`, `rxedge stock`, `where`, `history`, `expiring`: the ledger's
answers for people and other systems, from the file (safe while the daemon runs); and
`rxedge ledger move-slot`, the one that writes, with the daemon stopped."""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from edge.cli.config_file import add_config_option, config_given, read_config
from edge.cli.gtin_input import epc_argument, gtin_argument, gtin_or_other
from edge.service.journal import WARNING, printable, tell
from inventory.errors import StoreError
from inventory.ledger import questions
from inventory.ledger.export import (
    TABLES,
    ExportError,
    columns,
    export_rows,
    open_export,
    since_stamp,
)
from inventory.ledger.file_access import seen_alone
from inventory.ledger.store import connect_readonly, unreadable
from inventory.site_calendar import (
    SiteCalendar,
    configured_zone_problems,
    system_clock,
    zone_problem,
)

if TYPE_CHECKING:
    from sqlite_utils import Database

    from edge.settings.config import GatewayConfig


def add_ledger_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`ledger verify`, `ledger export`, `stock`, `where`, `history`, `expiring`."""
    ledger = commands.add_parser("ledger", help="the ledger file")
    ledger_commands = ledger.add_subparsers(metavar="COMMAND")
    check = ledger_commands.add_parser("verify", help="prove the ledger untouched")
    add_database_options(check)
    check.set_defaults(handler=run_verify)
    export = ledger_commands.add_parser(
        "export", help="a table as CSV or JSON (read-only; safe while the daemon runs)"
    )
    add_database_options(export, with_json=False)
    add_zone_option(export)
    add_export_options(export)
    export.set_defaults(handler=run_ledger_export)

    move = ledger_commands.add_parser(
        "move-slot",
        help="book every pack of a slot into another (a shelf renamed; the daemon stopped)",
    )
    move.add_argument("from_slot", metavar="FROM", help="the slot the ledger holds stock in")
    move.add_argument("to_slot", metavar="TO", help="a slot of a configured shelf")
    move.add_argument("--by", required=True, help="who moves them (the ledger's actor)")
    move.add_argument("--json", action="store_true", help="the result as one JSON object")
    add_config_option(move, "its database and shelves")
    move.set_defaults(handler=run_move_slot)

    stock = commands.add_parser("stock", help="on hand of a GTIN by slot and batch")
    stock.add_argument("gtin", type=gtin_argument, help="GTIN-14, or its 8, 12 or 13 digits")
    add_database_options(stock)
    stock.set_defaults(handler=run_stock)

    where = commands.add_parser("where", help="where a tagged pack is (its EPC)")
    where.add_argument(
        "epc",
        type=epc_argument,
        help="the pack's EPC URI, e.g. urn:epc:id:sgtin:4012345.012345.7, or its EPC memory in "
        "hex, e.g. 3034F4E4E40C0E4000000007 (as `tag decode` shows it)",
    )
    add_database_options(where)
    where.set_defaults(handler=run_where)

    history = commands.add_parser("history", help="movements of a GTIN, a pack or a slot")
    history.add_argument(
        "key",
        metavar="GTIN|EPC|SLOT",
        type=gtin_or_other,
        help="a GTIN (8 to 14 digits), a pack's EPC (URI or hex) or a slot name",
    )
    history.add_argument(
        "--limit", type=int, default=200, help="at most this many, newest first (%(default)s)"
    )
    add_database_options(history)
    history.set_defaults(handler=run_history)

    expiring = commands.add_parser("expiring", help="stock expiring soon (or expired)")
    expiring.add_argument(
        "--days", type=int, default=90, help="expiring within this many days (%(default)s)"
    )
    add_database_options(expiring)
    add_zone_option(expiring)
    expiring.set_defaults(handler=run_expiring)


def add_zone_option(parser: argparse.ArgumentParser) -> None:
    """--timezone: the zone a command judges dates in, for a ledger read without its
    configuration (--db FILE)."""
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the site's IANA time zone, e.g. Europe/Berlin: dates are judged in it "
        "(default: the configuration's `timezone`; with --db alone, this machine's zone, "
        "named on stderr)",
    )


def add_database_options(parser: argparse.ArgumentParser, with_json: bool = True) -> None:
    """Which ledger: the database of --config (or the default config), or --db FILE instead."""
    add_config_option(parser, "its database")
    parser.add_argument(
        "--db", type=Path, metavar="FILE", help="the ledger file (instead of the config's)"
    )
    if with_json:
        parser.add_argument(
            "--json",
            action="store_true",
            help="JSON: one object per line for a list, one object for a single answer",
        )


def ledger_path(args: argparse.Namespace) -> Path:
    """--db, else the database of the configuration."""
    given: Path | None = args.db
    return given if given is not None else read_config(args).database


@contextmanager
def open_ledger(args: argparse.Namespace, path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """The ledger (`path`, else the command's), read-only, for one command's questions (closed
    after). A file that is not a ledger or cannot be read ends the command with one line
    saying so (exit status 2)."""
    path = path or ledger_path(args)
    try:
        db = connect_readonly(path)
    except StoreError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        yield db
    except sqlite3.DatabaseError as exc:
        print(f"rxedge: {unreadable(path, exc)}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        db.close()


def ledger_rows(args: argparse.Namespace, sql: str) -> list[dict[str, Any]]:
    """What `sql` selects from the ledger, a dict a row."""
    with open_ledger(args) as db:
        return [dict(r) for r in db.execute(sql)]


def run_ledger_export(args: argparse.Namespace) -> int:
    try:
        db = open_export(ledger_path(args))
    except StoreError as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        return 2
    try:
        since = None if args.since is None else since_stamp(args.since, site_calendar(args).zone)
        write_export(db, args.table, args.format, since)
    except ExportError as exc:
        print(f"rxedge ledger export: {exc}", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:
        print(f"rxedge: {unreadable(ledger_path(args), exc)}", file=sys.stderr)
        return 2
    finally:
        db.conn.close()
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from inventory.ledger.verify import verify  # with the slot index, and numpy

    path = ledger_path(args)
    alone = seen_alone(path)  # None unless read as immutable: no lock keeps a writer out
    with open_ledger(args, path) as db:
        verdict = verify(db)
    if not verdict.ok and alone is not None and seen_alone(path) != alone:
        print(
            f"rxedge: ledger {path} changed during the check (a program began writing it), "
            "so what was read may be half-written: it is not known to be damaged; run the "
            "check again",
            file=sys.stderr,
        )
        return 2
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
        line = f"LEDGER DAMAGED: {verdict.problems[0]}"
        if more := len(verdict.problems) - 1:
            line += f" ({more} more: --json)"
        print(line)
    return 0 if verdict.ok else 1


def run_move_slot(args: argparse.Namespace) -> int:
    """Book what the ledger holds in FROM into TO, with the daemon stopped (it holds the
    ledger's lock while it runs and keeps the stock in memory)."""
    from edge.clock import Clock
    from edge.daemon.ledger_lock import sole_writer
    from edge.settings.keeper_settings import keeper_for
    from inventory.errors import StockError
    from inventory.slot_move import move_slot

    config = read_config(args)
    slots = {slot for shelf in config.shelves for slot in shelf.slot_names()}
    if args.to_slot not in slots:
        print(f"rxedge: {args.to_slot} is not a slot of any configured shelf", file=sys.stderr)
        return 2
    if args.from_slot == args.to_slot:
        print("rxedge: FROM and TO are the same slot", file=sys.stderr)
        return 2
    products = {p.gtin: p.policy() for p in config.products}
    clock = Clock()
    calendar = configured_calendar(config, clock.now)
    reason = f"slot {args.from_slot} moved to {args.to_slot}"
    try:
        with sole_writer(config.database):
            keeper = keeper_for(config, products, calendar, clock)()
            try:
                done = move_slot(keeper, args.from_slot, args.to_slot, args.by, reason)
            finally:
                keeper.close()
    except (StoreError, StockError) as exc:
        print(f"rxedge: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, StockError) else 2
    packs = sum(m.quantity for m in done.movements)
    lines = len(done.movements)
    if args.json:
        print(
            json.dumps({"from": args.from_slot, "to": args.to_slot, "packs": packs, "lines": lines})
        )
    else:
        print(f"{packs} pack(s) in {lines} line(s) moved from {args.from_slot} to {args.to_slot}")
    return 0


def run_stock(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        rows = questions.stock_of(db, args.gtin)
    return show_rows(rows, args.json, f"no stock of GTIN {args.gtin}")


def run_where(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        found = questions.where_is(db, args.epc)
    if found is None:
        if args.json:
            print(json.dumps({"epc": args.epc, "found": False}))
        else:
            print(f"{args.epc} was never booked in")
        return 1
    if args.json:
        print(json.dumps({"epc": args.epc, "found": True, **found}))
        return 0
    return show_rows([found], False, "")


def run_history(args: argparse.Namespace) -> int:
    with open_ledger(args) as db:
        rows = questions.history(db, args.key, args.limit)
        meant = None if rows else questions.slot_meant(db, args.key)
    if meant is not None:
        key = args.key if args.key == args.key.strip() else repr(args.key)
        print(f"rxedge: no slot {key}; did you mean {meant}?", file=sys.stderr)
        return 2
    return show_rows(rows, args.json, f"no movements of {args.key}")


def site_calendar(args: argparse.Namespace) -> SiteCalendar:
    """The site's calendar: --timezone; else the configuration's `timezone` when a
    configuration is read (for its database, or named); else (a bare --db FILE) the machine's
    zone, which is then named on stderr: it may not be the site's."""
    if args.timezone:
        if (problem := zone_problem(args.timezone)) is not None:
            print(f"rxedge: --timezone: {problem}", file=sys.stderr)
            raise SystemExit(2)
        return SiteCalendar.named(args.timezone)
    if args.db is None or config_given(args):
        return configured_calendar(read_config(args))
    calendar = SiteCalendar()
    print(
        f"rxedge: dates judged in this machine's time zone, {calendar.zone}, as no "
        "configuration was read: give the site's with --timezone ZONE (or --config FILE)",
        file=sys.stderr,
    )
    return calendar


def configured_calendar(
    config: GatewayConfig, clock: Callable[[], datetime] = system_clock
) -> SiteCalendar:
    """The calendar of the configuration's `timezone`. Left empty, it is the machine's zone,
    and what makes that not what it seems (a POSIX $TZ not read: UTC instead) is said on
    stderr, as the daemon and check-config say it."""
    for problem in configured_zone_problems(config.timezone):
        tell(f"rxedge: warning: {problem}", WARNING)
    return SiteCalendar.named(config.timezone, clock)


def run_expiring(args: argparse.Namespace) -> int:
    calendar = site_calendar(args)  # expired and days left are judged on the site's date
    with open_ledger(args) as db:
        rows = questions.expiring(db, args.days, calendar)
    return show_rows(rows, args.json, f"nothing expires within {args.days} days")


def show_rows(rows: list[dict[str, Any]], as_json: bool, empty: str) -> int:
    """`rows` as a table for a person, every cell on its line (text someone sent, a name or a
    note, shown with its control characters escaped: `printable`), or one JSON object a line."""
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
    return "" if value is None else printable(str(value))


FORMATS = ("csv", "json", "ndjson")


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """--table, --format, --since (the database options are added by the caller)."""
    parser.add_argument("--table", required=True, choices=tuple(TABLES), help="the table to export")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="csv",
        help="csv (a header, then a row each; JSON documents as text), json (one array), "
        "ndjson (one JSON object per line) (%(default)s)",
    )
    parser.add_argument(
        "--since",
        metavar="ISO-TIME",
        help="only rows changed at or after this time (the site's time unless it carries an "
        "offset; a date alone: from the start of that site day), e.g. 2026-11-26, "
        "2026-11-26T08:00 or 2026-11-26T08:00:00Z; not for stock, which is the state now",
    )


def write_export(
    db: Database, table: str, form: str, since: str | None, out: TextIO = sys.stdout
) -> None:
    """Write the table to `out` (only rows changed at or after `since`, a ledger timestamp);
    ExportError for what cannot be done."""
    names = columns(db, table)  # first: a file without the table writes nothing
    rows = export_rows(db, table, since, decode_documents=form != "csv")
    if form == "csv":
        writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    elif form == "ndjson":
        out.writelines(json.dumps(row) + "\n" for row in rows)
    else:
        out.write("[")
        out.write(",".join("\n" + json.dumps(row) for row in rows))
        out.write("\n]\n")
