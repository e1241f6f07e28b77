"""`rxedge sim ...`: simulated devices on their own, for bench work and manual tests."""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

# The simulators (and asyncio, pymodbus, pyserial with them) load as a device starts, in its
# runner below: every other command builds this command's parser too.
if TYPE_CHECKING:
    from firmware_sim.controls import Commands

Runner = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def add_sim_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`sim r2000|chafon|scanner|badge|shelf`, each a simulated device, and `sim ctl`."""
    sim = commands.add_parser("sim", help="run simulated hardware alone")
    sim_commands = sim.add_subparsers(metavar="DEVICE")
    reader = sim_commands.add_parser("r2000", help="an R2000 reader")
    add_line_options(reader, 115200)
    reader.add_argument("--tags", type=int, default=8, help="tags per antenna")
    add_control_option(reader)
    reader.set_defaults(handler=_until_stopped(run_reader_sim))
    chafon = sim_commands.add_parser("chafon", help="a Chafon handheld or desk reader")
    add_line_options(chafon, 57600)
    chafon.add_argument("--tags", type=int, default=8, help="tags in the field")
    chafon.set_defaults(handler=_until_stopped(run_chafon_sim))
    scanner = sim_commands.add_parser("scanner", help="a GS1 barcode scanner")
    add_line_options(scanner, 9600)
    scanner.add_argument("codes", nargs="*", metavar="CODE", help="element strings (<GS> for GS)")
    scanner.add_argument("--every", type=float, default=2.0, help="seconds between scans")
    add_control_option(scanner)
    scanner.set_defaults(handler=_until_stopped(run_scanner_sim))
    badge = sim_commands.add_parser("badge", help="a badge on pcscd's virtual reader")
    badge.add_argument("--uid", default="04A1B2C3D4E5F6", help="the card's UID, hex (%(default)s)")
    badge.add_argument("--vpcd-port", type=int, default=35963, help="vpcd's TCP port (%(default)s)")
    badge.set_defaults(handler=_until_stopped(run_badge_sim))
    shelf = sim_commands.add_parser("shelf", help="a Modbus TCP shelf controller")
    shelf.add_argument("--port", type=int, default=5020, help="Modbus TCP port (%(default)s)")
    shelf.add_argument("--slots", type=int, default=24, help="LED slots (%(default)s)")
    add_control_option(shelf)
    shelf.set_defaults(handler=_until_stopped(run_shelf_sim))
    ctl = sim_commands.add_parser("ctl", help="send a command to a simulator's --control port")
    ctl.add_argument("port", type=int, help="the port the simulator's --control listens on")
    ctl.add_argument("words", nargs="+", metavar="WORD", help="e.g. press 3, tag add 1 EPC")
    ctl.set_defaults(handler=run_sim_ctl)


def _until_stopped(runner: Runner) -> Callable[[argparse.Namespace], int]:
    """The handler that runs a device's `runner` until Ctrl-C, SIGTERM or SIGHUP."""

    def handler(args: argparse.Namespace) -> int:
        from edge.service.stopping import run_stoppable

        return run_stoppable(runner(args))

    return handler


def add_line_options(parser: argparse.ArgumentParser, baudrate: int) -> None:
    """Where the simulated line is, its speed, and the faults to inject."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--link", type=Path, help="symlink to create to the pty")
    where.add_argument("--tcp", action="store_true", help="listen on TCP (socket:// URL)")
    parser.add_argument(
        "--baudrate", type=int, default=baudrate, help="the line's speed (%(default)s)"
    )
    parser.add_argument("--drop", type=float, default=0.0, help="probability a byte is lost")
    parser.add_argument("--flip", type=float, default=0.0, help="probability a bit flips")
    parser.add_argument(
        "--garbage", type=float, default=0.0, help="probability of junk bytes before a chunk"
    )


def add_control_option(parser: argparse.ArgumentParser) -> None:
    """A control socket to drive the simulator from a shell (see `rxedge sim ctl`)."""
    parser.add_argument(
        "--control",
        type=int,
        metavar="PORT",
        help="take commands on 127.0.0.1:PORT (0: any free port), one a line; try `help`",
    )


@contextlib.asynccontextmanager
async def _controlled(port: int | None, commands: Commands) -> AsyncIterator[None]:
    from firmware_sim.control import ControlServer

    if port is None:
        yield
        return
    server = ControlServer(commands, port)
    await server.start()
    print(f"control on 127.0.0.1:{server.port}", flush=True)
    try:
        yield
    finally:
        await server.stop()


def run_sim_ctl(args: argparse.Namespace) -> int:
    """Send one command to a simulator's control socket and print its answer."""
    line = " ".join(args.words)
    try:
        with socket.create_connection(("127.0.0.1", args.port), timeout=10) as conn:
            conn.sendall(line.encode() + b"\n")
            answer = conn.makefile("rb").readline().decode(errors="replace").strip()
    except OSError as exc:
        print(f"rxedge sim ctl: no simulator control on port {args.port}: {exc}", file=sys.stderr)
        return 2
    print(answer)
    return 0 if answer == "ok" or answer.startswith("ok ") else 1


class _LineSimulator(Protocol):
    @property
    def port(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


_Sim = TypeVar("_Sim", bound=_LineSimulator)


async def _on_line(simulator: Callable[..., _Sim], args: argparse.Namespace) -> _Sim:
    """A simulator started on the line `add_line_options` describes, with its faults."""
    from firmware_sim.faults import LineFaults

    faults = LineFaults(drop=args.drop, flip=args.flip, garbage=args.garbage)
    sim = simulator(baudrate=args.baudrate, link=args.link, tcp=args.tcp, faults=faults)
    await sim.start()
    return sim


async def _until_interrupted(what: str, stop: Callable[[], Awaitable[None]]) -> int:
    import asyncio

    print(f"{what}; Ctrl-C to stop", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await stop()
    return 0


async def run_reader_sim(args: argparse.Namespace) -> int:
    """An R2000 reader with `--tags` packs on each of its 4 antennas."""
    from firmware_sim.controls import reader_commands
    from firmware_sim.r2000_sim import R2000Simulator
    from firmware_sim.tags import sgtin96

    sim = await _on_line(R2000Simulator, args)
    for antenna in (1, 2, 3, 4):
        for n in range(args.tags):
            sim.place(antenna, sgtin96("4012345", "012345", antenna * 1000 + n))
    async with _controlled(args.control, reader_commands(sim)):
        return await _until_interrupted(
            f"R2000 reader at {args.baudrate} baud on {sim.port}", sim.stop
        )


async def run_chafon_sim(args: argparse.Namespace) -> int:
    """A Chafon handheld with `--tags` packs in its field."""
    from firmware_sim.chafon_sim import ChafonSimulator
    from firmware_sim.tags import sgtin96

    sim = await _on_line(ChafonSimulator, args)
    sim.present([sgtin96("4012345", "012345", n) for n in range(args.tags)])
    return await _until_interrupted(
        f"Chafon reader at {args.baudrate} baud on {sim.port}", sim.stop
    )


async def run_scanner_sim(args: argparse.Namespace) -> int:
    """A GS1 scanner that scans each code given, `--every` seconds apart, over and over."""
    import asyncio

    from firmware_sim.controls import scanner_commands
    from firmware_sim.scanner_sim import ScannerSimulator

    sim = await _on_line(ScannerSimulator, args)
    async with _controlled(args.control, scanner_commands(sim)):
        if not args.codes:
            return await _until_interrupted(f"GS1 scanner on {sim.port}", sim.stop)
        print(f"GS1 scanner at {args.baudrate} baud on {sim.port}; Ctrl-C to stop", flush=True)
        try:
            while True:
                for code in args.codes:
                    sim.scan(code.replace("<GS>", "\x1d"))
                    await asyncio.sleep(args.every)
        finally:
            await sim.stop()


async def run_badge_sim(args: argparse.Namespace) -> int:
    """A badge put on pcscd's virtual reader (vpcd) until Ctrl-C."""
    from firmware_sim.virtual_badge import VirtualBadge

    badge = VirtualBadge(bytes.fromhex(args.uid), port=args.vpcd_port)
    await badge.insert()
    return await _until_interrupted(f"badge {args.uid.upper()} on the virtual reader", badge.remove)


async def run_shelf_sim(args: argparse.Namespace) -> int:
    """A shelf controller (profile rxedge-ptl-v1) on Modbus TCP."""
    from firmware_sim.controls import shelf_commands
    from firmware_sim.shelf_controller_sim import ShelfControllerSimulator

    sim = ShelfControllerSimulator(slots=args.slots, port=args.port)
    try:
        await sim.start()
    except RuntimeError:  # pymodbus says only "Could not start listen"
        print(
            f"rxedge sim shelf: cannot listen on 127.0.0.1:{args.port}: another program holds "
            "it (or it is below 1024 and this is not root); give another --port",
            file=sys.stderr,
        )
        return 1
    async with _controlled(args.control, shelf_commands(sim)):
        return await _until_interrupted(
            f"shelf controller, {args.slots} slots, Modbus TCP on 127.0.0.1:{sim.port}", sim.stop
        )
