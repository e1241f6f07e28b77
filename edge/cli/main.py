"""The `rxedge` command."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.cli.broker_options import add_broker_options, add_protocol_option, broker_link
from edge.cli.config_file import CONFIG_ENV, add_config_option, config_path, read_config
from edge.cli.exit_statuses import NOT_NOW, describe_exit_statuses
from edge.cli.gtin_input import gtin_argument
from edge.cli.ledger import add_ledger_commands
from edge.cli.office import add_office_commands
from edge.cli.procurement.commands import add_clerk_commands
from edge.cli.sim import add_sim_commands
from edge.cli.status import add_status_command
from edge.errors import ConfigError
from edge.service.journal import WARNING, configure_logging, tell
from edge.web.cli import add_web_commands
from inventory.errors import StoreError, StoreUnavailable
from inventory.ledger.schema import SCHEMA_VERSION
from inventory.site_calendar import SiteCalendar
from inventory.zone_names import not_a_place_note
from sync.broker_url import MqttProtocol

# Each command loads what it needs as it runs, in its handler: building the parser (all that
# `--help` and `--version` do) loads no configuration models, broker client or simulator.
if TYPE_CHECKING:
    from sync.broker_security import BrokerLink
    from sync.topics import Topics


def main(argv: list[str] | None = None) -> int:
    try:
        parser = _parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:
        return 130
    configure_logging(logging.DEBUG if args.verbose else logging.WARNING)
    # pymodbus logs every failed reconnect at ERROR; the bus reports controllers down itself.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        tell(f"rxedge: configuration {exc.source} has {len(exc.problems)} problem(s):")
        for problem in exc.problems:
            tell(f"  {problem}")
        missing = any("file not found" in problem for problem in exc.problems)
        if missing and getattr(args, "config", None) is None:
            tell(f"  (another file: --config FILE, or ${CONFIG_ENV})")
        return 2
    except StoreError as exc:
        tell(f"rxedge: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rxedge", description="Pharmacy shelf gateway daemon.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument(
        "--version",
        action=_Version,
        help="the version, and the ledger schema version it writes (an older rxedge refuses a "
        "ledger of a newer schema, naming its version)",
    )
    commands = parser.add_subparsers(metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon")
    add_config_option(run, "what to run")
    run.add_argument(
        "--init",
        action="store_true",
        help="create a new, empty ledger if the database file does not exist yet",
    )
    run.set_defaults(handler=_run)

    check = commands.add_parser("check-config", help="validate a configuration file")
    check.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="the file to check (else --config's)"
    )
    add_config_option(check, "the file to check")
    check.add_argument("--json", action="store_true", help="the verdict as one JSON object")
    check.set_defaults(handler=_check_config)

    add_status_command(commands)
    add_web_commands(commands)

    demo = commands.add_parser("demo", help="the whole system on simulated hardware")
    demo.add_argument("--seconds", type=float, default=60.0, help="end after this long (60)")
    demo.add_argument(
        "--forever",
        action="store_true",
        help="keep running after the scenario (the web page too) until Ctrl-C",
    )
    demo.add_argument("--db", type=Path, help="keep the ledger in this file")
    demo.add_argument(
        "--broker",
        help="use this broker (mqtt://host:port; several, comma-separated, are tried in order) "
        "instead of a local one. Not one real gateways use: whoever watches it gets the demo's "
        "procurement requests and alarms (site demo-pharmacy) as real ones. Each run is a "
        "gateway of its own there (demo-pharmacy/gw-XXXXXX, named as it starts), so demos "
        "run beside each other on one broker undisturbed; the retained messages it leaves are "
        "cleared when it ends, and those of earlier runs that run no more when it starts",
    )
    add_protocol_option(demo)
    demo.add_argument(
        "--plain", action="store_true", help="print lines as they happen, not a live screen"
    )
    demo.add_argument(
        "--web", type=int, metavar="PORT", help="serve the web page beside it (0: a free port)"
    )
    demo.set_defaults(handler=_demo)

    pick = commands.add_parser("pick", help="send a pick list and follow it line by line")
    pick.add_argument("file", nargs="?", type=Path, help="pick list (JSON, as cmd/pick)")
    pick.add_argument("--cancel", metavar="PICK_ID", help="cancel an open pick list instead")
    pick.add_argument("--no-wait", action="store_true", help="send and exit")
    _add_target_options(pick)
    pick.set_defaults(handler=_pick)

    locate = commands.add_parser("locate", help="light every slot holding usable packs of a drug")
    locate.add_argument("gtin", type=gtin_argument, help="GTIN-14, or its 8, 12 or 13 digits")
    locate.add_argument("--seconds", type=float, help="how long (default: the gateway's, 30 s)")
    _add_target_options(locate)
    locate.set_defaults(handler=_locate)

    procurement_commands = add_office_commands(commands, _add_target_options, _target)
    add_clerk_commands(procurement_commands, _add_target_options, _target)
    add_ledger_commands(commands)

    tag = commands.add_parser("tag", help="tags")
    tag_commands = tag.add_subparsers(metavar="COMMAND")
    tag_decode = tag_commands.add_parser("decode", help="what an EPC (hex) is")
    tag_decode.add_argument("epcs", nargs="+", metavar="HEX", help="EPC memory in hex")
    tag_decode.add_argument("--json", action="store_true", help="one JSON object per line")
    tag_decode.set_defaults(handler=_tag_decode)

    barcode = commands.add_parser("barcode", help="barcodes")
    barcode_commands = barcode.add_subparsers(metavar="COMMAND")
    barcode_decode = barcode_commands.add_parser(
        "decode", help="what a GS1 element string says (type GS as <GS>, \\x1d or |)"
    )
    barcode_decode.add_argument(
        "codes", nargs="+", metavar="STRING", help="element strings, e.g. ]d2010401...<GS>10..."
    )
    barcode_decode.add_argument("--json", action="store_true", help="one JSON object per line")
    barcode_decode.set_defaults(handler=_barcode_decode)

    add_sim_commands(commands)
    describe_exit_statuses(parser)
    return parser


class _Version(argparse._VersionAction):
    """--version, its text made only when asked: the package's metadata takes as long to load
    as the rest of a command's parser."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import version

        self.version = f"rxedge {version('rxedge')} (ledger schema version {SCHEMA_VERSION})"
        super().__call__(parser, namespace, values, option_string)


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser, "its broker, site and gateway")
    parser.add_argument("--broker", help="mqtt://host:port (instead of the config's)")
    parser.add_argument("--site", help="site (instead of the config's)")
    parser.add_argument("--gateway", help="gateway (instead of the config's)")
    parser.add_argument(
        "--json", action="store_true", help="each answer as it came, one JSON object per line"
    )
    add_broker_options(parser)


def _target(args: argparse.Namespace) -> tuple[BrokerLink, Topics]:
    from sync.topics import Topics

    if args.broker and args.site and args.gateway:
        return broker_link(args, args.broker), Topics(args.site, args.gateway)
    config = read_config(args)
    return (
        broker_link(args, args.broker or config.broker.urls_text, config.broker),
        Topics(args.site or config.site, args.gateway or config.gateway),
    )


def _pick(args: argparse.Namespace) -> int:
    import asyncio

    from edge.cli.shelf_commands import read_pick_list, send_command

    broker, topics = _target(args)
    if args.cancel:
        body: dict[str, object] = {"pick_id": args.cancel, "by": "command line"}
        return asyncio.run(
            send_command(broker, topics, "pick-cancel", body, not args.no_wait, as_json=args.json)
        )
    if args.file is None:
        print("rxedge pick: give a pick list file (or --cancel PICK_ID)", file=sys.stderr)
        return 2
    body = read_pick_list(args.file)
    return asyncio.run(
        send_command(broker, topics, "pick", body, not args.no_wait, as_json=args.json)
    )


def _locate(args: argparse.Namespace) -> int:
    import asyncio

    from edge.cli.shelf_commands import send_command

    broker, topics = _target(args)
    body: dict[str, object] = {"gtin": args.gtin}
    if args.seconds is not None:
        body["seconds"] = args.seconds
    return asyncio.run(
        send_command(broker, topics, "locate", body, wait=True, timeout=15, as_json=args.json)
    )


def _check_config(args: argparse.Namespace) -> int:
    from edge.settings.config import load_config
    from edge.settings.host_checks import check_host

    path = args.file or config_path(args)
    try:
        config = load_config(path)
    except ConfigError as exc:
        if not args.json:
            raise
        print(json.dumps({"config": str(path), "ok": False, "problems": exc.problems}))
        return 2
    # What only this machine lacks is a warning: the file may be meant for another box.
    found = check_host(config)
    calendar = SiteCalendar.named(config.timezone)
    note = not_a_place_note(config.timezone, calendar.now())  # EST, Etc/GMT+8: kept, but told
    if not args.json:
        for warning in found.warnings:
            tell(f"warning: {warning}", WARNING)
        if note:
            tell(f"note: {note}", WARNING)
    if found.errors:
        if not args.json:
            raise ConfigError(str(path), found.errors)
        verdict = {"problems": found.errors, "warnings": found.warnings}
        print(json.dumps({"config": str(path), "ok": False, **verdict}))
        return 2
    slots = sum(s.slots for s in config.shelves)
    if args.json:
        moment = calendar.now()
        print(
            json.dumps(
                {
                    "config": str(path),
                    "ok": True,
                    "warnings": found.warnings,
                    "site": config.site,
                    "timezone": str(calendar.zone),
                    "utc_offset": calendar.offset(moment),
                    "local_time": moment.astimezone(calendar.zone).isoformat(timespec="minutes"),
                    "notes": [note] if note else [],
                    "gateway": config.gateway,
                    "readers": len(config.readers),
                    "shelves": len(config.shelves),
                    "slots": slots,
                    "products": len(config.products),
                    "broker": config.broker.urls_text,
                }
            )
        )
        return 0
    print(
        f"{path}: ok: site {config.site} (time zone {calendar.zone_now()}), "
        f"gateway {config.gateway}, "
        f"{len(config.readers)} reader(s), {len(config.shelves)} shelf controller(s) with "
        f"{slots} slots, {len(config.products)} product(s), broker {config.broker.urls_text}"
        + (f"; {len(found.warnings)} warning(s) about this machine" if found.warnings else "")
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio

    from edge.daemon.gateway import Gateway
    from edge.daemon.log_limits import limit_repeats

    config = read_config(args)
    if args.init:
        config = config.model_copy(update={"create_database": True})
    logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
    limit_repeats(config.devices.log_repeats_per_minute)

    async def serve() -> None:
        gateway = Gateway(config)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, gateway.stop)
        await gateway.run()

    try:
        asyncio.run(serve())
    except StoreUnavailable as exc:
        tell(f"rxedge: {exc}")
        tell(
            f"rxedge: not started (exit status {NOT_NOW}), though the ledger and the "
            "configuration are fine: the service is started again by itself; by hand, start "
            "it again once that is done"
        )
        return NOT_NOW
    return 0


def _demo(args: argparse.Namespace) -> int:
    from edge.demo.run import Demo
    from edge.service.stopping import run_stoppable

    protocol: MqttProtocol = args.mqtt_protocol or "5"
    demo = Demo(args.seconds, args.forever, args.db, args.broker, args.plain, args.web, protocol)
    return run_stoppable(demo.run())


def _tag_decode(args: argparse.Namespace) -> int:
    from edge.cli.decode import decode_tag, print_results

    return print_results([decode_tag(epc) for epc in args.epcs], args.json)


def _barcode_decode(args: argparse.Namespace) -> int:
    from edge.cli.decode import decode_barcode, print_results

    return print_results([decode_barcode(code) for code in args.codes], args.json)


if __name__ == "__main__":
    sys.exit(main())
