"""`rxedge stocktake ...`, `rxedge alarms ...`, `rxedge write-off`, `rxedge procurement
list|confirm|status`: the pharmacy's everyday questions and confirmations.

Questions are answered from the ledger file (safe while the daemon runs). What changes the
ledger goes to the daemon as a command through its broker, as the centre's would, and the
answer from `cmd-result` is printed.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from edge.cli.broker_options import wait_seconds
from edge.cli.config_file import config_given, read_config
from edge.cli.gtin_input import gtin_argument
from edge.cli.ledger import add_database_options, ledger_rows, open_ledger, show_rows
from edge.errors import ConfigError
from inventory.errors import StoreError
from inventory.ledger.store import connect_readonly

if TYPE_CHECKING:
    from sync.broker_security import BrokerLink
    from sync.topics import Topics

# Named in a string: the broker's modules load as a command sends, not with every parser.
Target: TypeAlias = "Callable[[argparse.Namespace], tuple[BrokerLink, Topics]]"
AddTarget = Callable[[argparse.ArgumentParser], None]


def _add_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        type=wait_seconds,
        default=30.0,
        metavar="SECONDS",
        help="seconds to wait for the gateway's answer (%(default)s)",
    )


def add_office_commands(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_target: AddTarget,
    target: Target,
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """Register the stocktake and alarms commands; returns the procurement sub-commands."""

    def send(name: str, body: Callable[[argparse.Namespace], dict[str, object]]) -> Any:
        def run(args: argparse.Namespace) -> int:
            import asyncio

            from edge.cli.shelf_commands import send_command

            broker, topics = target(args)
            return asyncio.run(
                send_command(broker, topics, name, body(args), True, args.wait, as_json=args.json)
            )

        return run

    stocktake = commands.add_parser("stocktake", help="stocktake sweeps with the handheld")
    sub = stocktake.add_subparsers(metavar="COMMAND")
    start = sub.add_parser("start", help="start a sweep of a shelf")
    start.add_argument("shelf", help="the shelf (controller) to sweep, e.g. A")
    start.add_argument("--by", default="", help="who sweeps (default: the one person badged in)")
    add_target(start)
    _add_wait(start)
    start.set_defaults(handler=send("stocktake-start", lambda a: {"shelf": a.shelf, "by": a.by}))
    end = sub.add_parser("end", help="end the running sweep and reconcile it")
    add_target(end)
    _add_wait(end)
    end.set_defaults(handler=send("stocktake-end", lambda a: {}))
    confirm = sub.add_parser("confirm", help="book a report's differences")
    confirm.add_argument("stocktake_id", help="the report to book (rxedge stocktake report)")
    confirm.add_argument("--by", required=True, help="the pharmacist confirming")
    add_target(confirm)
    _add_wait(confirm)
    confirm.set_defaults(
        handler=send("stocktake-confirm", lambda a: {"stocktake_id": a.stocktake_id, "by": a.by})
    )
    report = sub.add_parser("report", help="a stocktake's report (the latest by default)")
    report.add_argument("stocktake_id", nargs="?", help="which (default: the latest)")
    report.add_argument("--epcis", action="store_true", help="an EPCIS 2.0 document")
    add_database_options(report)
    report.set_defaults(handler=run_report)

    alarms = commands.add_parser("alarms", help="live alarms (and `alarms ack ID`)")
    add_database_options(alarms)
    alarms.add_argument("--all", action="store_true", help="cleared ones too")
    alarms.set_defaults(handler=run_alarms)
    alarm_sub = alarms.add_subparsers(metavar="COMMAND")
    ack = alarm_sub.add_parser("ack", help="acknowledge an alarm")
    ack.add_argument("alarm_id", help="e.g. shortage-04012345123456 (rxedge alarms)")
    ack.add_argument("--by", required=True, help="who takes care of it")
    add_target(ack)
    _add_wait(ack)
    ack.set_defaults(handler=send("alarm-ack", lambda a: {"alarm_id": a.alarm_id, "by": a.by}))

    write_off = commands.add_parser(
        "write-off", help="write off quarantined packs taken off the shelf (expired, recalled)"
    )
    write_off.add_argument("gtin", type=gtin_argument, help="GTIN-14, or its 8, 12 or 13 digits")
    write_off.add_argument("batch", help='the batch ("-" for packs scanned without one)')
    write_off.add_argument("slot", help="the slot they were taken from, e.g. A-03")
    write_off.add_argument(
        "--quantity", type=int, help="how many (default: every quarantined pack of it there)"
    )
    write_off.add_argument("--by", required=True, help="who took them off the shelf")
    write_off.add_argument("--note", default="", help="e.g. destroyed, back to the supplier")
    add_target(write_off)
    _add_wait(write_off)
    write_off.set_defaults(handler=send("write-off", write_off_body))

    procurement = commands.add_parser("procurement", help="procurement requests")
    procurement_commands: argparse._SubParsersAction = procurement.add_subparsers(  # type: ignore[type-arg]
        metavar="COMMAND"
    )
    listing = procurement_commands.add_parser("list", help="requests and their states")
    add_database_options(listing)
    listing.add_argument("--open", action="store_true", help="only proposed and open ones")
    listing.set_defaults(handler=run_requests)
    confirm_request = procurement_commands.add_parser(
        "confirm", help="confirm a proposed request (sends it to the centre)"
    )
    confirm_request.add_argument("request_id", help="the request (rxedge procurement list)")
    confirm_request.add_argument("--by", required=True, help="the pharmacist confirming")
    confirm_request.add_argument("--quantity", type=int, help="another quantity")
    confirm_request.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        help="the ledger, read to say how many packs owed to short pick lists a smaller "
        "--quantity leaves out (default: the config's, where this machine has it)",
    )
    add_target(confirm_request)
    _add_wait(confirm_request)

    def confirm_body(a: argparse.Namespace) -> dict[str, object]:
        body: dict[str, object] = {"request_id": a.request_id, "by": a.by}
        if a.quantity is not None:
            body["quantity"] = a.quantity
        return body

    def run_confirm(args: argparse.Namespace) -> int:
        from inventory.replenishment.requests import not_covered

        # Only a quantity given can be below what the proposal owes: without one it is sent
        # for what it proposed or more.
        owed = 0 if args.quantity is None else _owed_now(args)
        status = int(send("procurement-confirm", confirm_body)(args))
        if status == 0 and owed and (left := not_covered(owed, args.quantity)):
            print(left, file=sys.stderr if args.json else sys.stdout)
        return status

    confirm_request.set_defaults(handler=run_confirm)
    return procurement_commands


def _owed_now(args: argparse.Namespace) -> int:
    """How many packs the proposal `args.request_id` owes short pick lists, from the ledger
    (--db, else the configuration's database when both are on this machine); 0 when it cannot
    be read (said for a --db given)."""
    from inventory.replenishment.requests import owed_by

    path: Path | None = args.db
    if path is None:
        try:
            path = read_config(args).database
        except ConfigError:
            return 0  # sent from another machine: the gateway's activity log says it
    try:
        db = connect_readonly(path)
    except StoreError as exc:
        if args.db is not None:
            print(f"rxedge: {exc}; what the quantity leaves out is not said", file=sys.stderr)
        return 0
    try:
        return owed_by(db, args.request_id)
    except sqlite3.DatabaseError:
        return 0
    finally:
        db.close()


def write_off_body(args: argparse.Namespace) -> dict[str, object]:
    """`cmd/write-off` from `rxedge write-off`'s arguments."""
    body: dict[str, object] = {
        "gtin": args.gtin,
        "batch": "" if args.batch == "-" else args.batch,
        "slot": args.slot,
        "by": args.by,
        "note": args.note,
    }
    if args.quantity is not None:
        body["quantity"] = args.quantity
    return body


def run_report(args: argparse.Namespace) -> int:
    from edge.cli.stocktake_report import epcis_export, report_table
    from inventory.stocktake.report import StocktakeReport

    with open_ledger(args) as db:
        if args.stocktake_id:
            row = db.execute(
                "SELECT report, state FROM stocktakes WHERE stocktake_id = ?",
                (args.stocktake_id,),
            ).fetchone()
        else:
            row = db.execute(
                "SELECT report, state FROM stocktakes WHERE state != 'running'"
                " ORDER BY ended_at DESC LIMIT 1"
            ).fetchone()
    if row is None:
        print(f"no stocktake {args.stocktake_id or 'yet'}")
        return 1
    report = StocktakeReport.from_dict(json.loads(row[0]))
    if args.epcis:
        # The site names slots only in reports kept from before shelves needed a GLN.
        site = read_config(args).site if config_given(args) else "site"
        print(json.dumps(epcis_export(report, datetime.now(UTC), site), indent=2))
    elif args.json:
        print(json.dumps({**report.to_dict(), "state": row[1], "summary": report.summary()}))
    else:
        print(report_table(report, str(row[1])))
    return 0


def run_alarms(args: argparse.Namespace) -> int:
    where = "" if args.all else "WHERE state != 'cleared'"
    rows = ledger_rows(
        args,
        "SELECT id, kind, subject, state, raised_at, acknowledged_by, cleared_at, detail"
        f" FROM alarms {where} ORDER BY raised_at",
    )
    for row in rows:
        row["detail"] = json.loads(row["detail"])
    if not args.json:
        for row in rows:
            row["detail"] = ", ".join(f"{k}={v}" for k, v in row["detail"].items())
    return show_rows(rows, args.json, "no live alarms")


def run_requests(args: argparse.Namespace) -> int:
    from inventory.replenishment.requests import shown_columns

    where = (
        "WHERE status IN ('proposed', 'requested', 'accepted', 'ordered', 'shipped')"
        if args.open
        else ""
    )
    with open_ledger(args) as db:
        sql = f"SELECT {shown_columns(db)} FROM procurement_requests {where} ORDER BY created_at"
        rows = [dict(r) for r in db.execute(sql)]
    names = _product_names(args)
    for row in rows:  # last: a name has spaces, and a table split on them keeps its columns
        row["name"] = names.get(row["gtin"])
    return show_rows(rows, args.json, "no requests")


def _product_names(args: argparse.Namespace) -> dict[str, str]:
    """Each configured product's name by its GTIN, as the page shows them, from the
    configuration read for the ledger (or named); none for a bare --db, or a configuration
    that cannot be read (the list is the ledger's all the same)."""
    if args.db is not None and not config_given(args):
        return {}
    try:
        return {p.gtin: p.name for p in read_config(args).products}
    except ConfigError:
        return {}
