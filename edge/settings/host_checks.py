"""A configuration against the machine it is checked on. The file may be written for another
box, so what only this machine lacks (a serial port, the ledger's folder, an address to listen
on, the web page's certificate, password or accounts file) is a warning; what cannot work
anywhere (a directory as the ledger, a serial port not given by its full path; where the file
sets up the web page ([web]), plain HTTP beyond this machine or the page on the port of
/metrics) is an error. A create_database left on after the first start is a warning (it undoes
the typo guard below), as are a systemd that may start the daemon before NTP has set the
clock, a machine zone that is not one (`clock_checks`), and a serial port named by the number
a USB adapter got (/dev/ttyUSB0), not by the adapter itself.

The daemon checks `with_usable_ledger` before it opens its ledger: it never starts a new, empty
ledger unless told to, so a typo in `database` cannot quietly begin a second inventory; and a
ledger (or its folder) that the daemon's user cannot write is named with the fix, not opened
read-only and then taken for a damaged file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import socket
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from edge.daemon.action_journal import journal_path
from edge.daemon.ledger_lock import lock_path
from edge.service.metrics_address import metrics_url, split_listen
from edge.service.metrics_scrape import Unreachable, scrape
from edge.settings.clock_checks import clock_warnings
from edge.settings.config import GatewayConfig
from edge.settings.serial_framing import relative_port_problem
from edge.settings.service_user import process_user
from edge.settings.web import accounts_file_problem, file_problems, page_problems
from inventory.errors import StoreError
from inventory.ledger.questions import stock_by_slot
from inventory.ledger.store import connect_readonly

log = logging.getLogger(__name__)

# USB serial adapters numbered as found; udev also names each by its adapter, for good.
NUMBERED_PORT = re.compile(r"/dev/tty(USB|ACM)[0-9]+")
SERIAL_BY_ID = Path("/dev/serial/by-id")
CREATE_HINT = (
    "`rxedge run --init --config FILE` creates a new ledger there "
    "(or set create_database = true for the first start)"
)
# A box that replaces another starts from that gateway's ledger, not from an empty one; the
# section on replacing a box says first to stop the old one for good (never both at once).
REPLACEMENT_STEPS = "docs/install.md, section 12, A replacement box"
RESTORE_HINT = (
    "if this box replaces another gateway, restore that gateway's latest backup there instead "
    f"({REPLACEMENT_STEPS})"
)


@dataclass
class HostFindings:
    """Errors (exit 2) and warnings (the file may be for another machine)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ledger_refusal(path: Path, create: bool) -> str | None:
    """Why the daemon must not open `path` as its ledger, or None. A missing file is refused
    unless `create`: then it (and its folder) is created."""
    if path.is_dir():
        return (
            f"database: {path} is a directory; name the ledger file in it, "
            f'e.g. database = "{path / "ledger.sqlite"}"'
        )
    if path.exists() and not path.is_file():
        return f"database: {path} is not a regular file; give the path of the ledger file"
    if not create and not path.exists():
        return (
            f"database: no ledger at {path}; the daemon does not start a new, empty ledger "
            f"unless told to: if this is a new gateway, {CREATE_HINT}; {RESTORE_HINT}; "
            "otherwise correct the path"
        )
    return _unwritable(path)


def _unwritable(path: Path) -> str | None:
    """What of the ledger at `path` (its folder, the file, the files SQLite and the daemon
    keep beside it) this process's user cannot write, with the fix, or None."""
    user, group = process_user()
    owner = f"{user}:{group}"
    folder = path.parent
    made = next(p for p in (folder, *folder.parents) if p.exists())
    if os.statvfs(made).f_flag & os.ST_RDONLY:
        return (
            f"database: {made} is on a file system mounted read-only: nothing can be written "
            "there, whoever owns it. Under the service only /var/lib/rxedge is writable: keep "
            "database there. Else the storage itself was remounted read-only, as a failing SD "
            f"card or disk is (dmesg and findmnt {made} say which): fix or replace it, then "
            "remount it read-write"
        )
    if made != folder and not os.access(made, os.W_OK | os.X_OK):
        return (
            f"database: folder {folder} does not exist and user {user} (the daemon's) cannot "
            f"create it in {made}; create it: install -d -o {user} -g {group} "
            f"-m 0750 {folder}"
        )
    if made == folder and not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"database: folder {folder} cannot be written by user {user}, who runs the daemon: "
            f"the ledger keeps its -wal and -shm files beside it; if the folder holds nothing "
            f"else, give it to {user}: chown {owner} {folder}; else keep the ledger in a folder "
            "of its own, like /var/lib/rxedge (the unit makes it so)"
        )
    beside = [path.with_name(path.name + end) for end in ("-wal", "-shm")]
    for file in (path, *beside, lock_path(path), journal_path(path)):
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            return (
                f"database: {file} cannot be written by user {user}, who runs the daemon (it "
                f"belongs to {file.owner()}); give the ledger's files back: chown {owner} "
                f"{path}*"
            )
    return None


def with_usable_ledger(config: GatewayConfig) -> GatewayConfig:
    """`config`, once its ledger may be opened; StoreError says why not (a directory, or no
    ledger there while create_database is off)."""
    refusal = ledger_refusal(config.database, config.create_database)
    if refusal is not None:
        raise StoreError(refusal)
    if not config.database.exists():  # said in the journal, should the path be a typo
        log.info(
            "database: no ledger at %s: starting a new, empty ledger there, as create_database "
            "(or --init) says; if this gateway had a ledger, stop the daemon and correct the "
            "path; if this box replaces another gateway, stop it and restore that gateway's "
            "latest backup (%s)",
            config.database,
            REPLACEMENT_STEPS,
        )
    return config


def _creating(path: Path) -> str:
    return (
        f"create_database: no ledger at {path}: the daemon will start a new, empty ledger "
        "there. On a new gateway that is meant (remove create_database after its first "
        f"start); {RESTORE_HINT}; if this gateway has a ledger, correct database instead"
    )


def check_host(config: GatewayConfig, serial_names: Path = SERIAL_BY_ID) -> HostFindings:
    """What this machine says about `config` (its serial ports' stable names in
    `serial_names`)."""
    found = HostFindings()
    database = config.database
    if database.is_dir() or (database.exists() and not database.is_file()):
        found.errors.append(str(ledger_refusal(database, create=True)))
    elif not database.parent.is_dir():
        found.warnings.append(
            _creating(database)
            if config.create_database
            else f"database: folder {database.parent} does not exist on this machine; "
            f"{CREATE_HINT}; {RESTORE_HINT}"
        )
    else:
        if not database.exists():
            found.warnings.append(
                _creating(database)
                if config.create_database
                else f"database: no ledger at {database} yet; {CREATE_HINT}; {RESTORE_HINT}"
            )
        elif config.create_database:
            found.warnings.append(
                f"create_database: a ledger exists at {database}; remove create_database: left "
                "on, a mistyped database path would start a new, empty ledger instead of being "
                "refused"
            )
        if (unwritable := _unwritable(database)) is not None:
            found.warnings.append(unwritable)
        if database.is_file() and (outside := stock_outside(config, _held(database))):
            found.warnings.append(outside)
    ports = [(f"readers[{i}].port", r.port) for i, r in enumerate(config.readers)]
    ports += [(f"scanners[{i}].port", s.port) for i, s in enumerate(config.scanners)]
    ports += [
        (f"shelves[{i}].serial_port", s.serial_port)
        for i, s in enumerate(config.shelves)
        if s.transport == "rtu" and s.serial_port
    ]
    for key, port in ports:
        if (relative := relative_port_problem(port)) is not None:
            found.errors.append(f"{key}: {relative}")
        elif "://" not in port and not Path(port).exists():
            found.warnings.append(f"{key}: serial port {port} does not exist on this machine")
        if NUMBERED_PORT.fullmatch(port):
            found.warnings.append(_renumbered(key, port, serial_names))
    if config.metrics.listen and (problem := _cannot_listen(config.metrics.listen)):
        found.warnings.append(f"metrics.listen: this machine {problem}")
    elif config.metrics.listen and (taken := metrics_port_taken(config)):
        found.warnings.append(taken)
    found.warnings += clock_warnings(config)
    found.warnings += dotted_levels(config)
    if "web" in config.model_fields_set:  # the page is set up: what `rxedge web` refuses
        found.errors += page_problems(config.web, config.metrics.listen)
        found.warnings += file_problems(config.web)  # files this machine lacks (yet)
        if (accounts := accounts_file_problem(config.web)) is not None:
            found.warnings.append(accounts)
        if problem := _cannot_listen(config.web.listen):
            found.warnings.append(f"web.listen: this machine {problem}")
    return found


def dotted_levels(config: GatewayConfig) -> list[str]:
    """Names that become topic levels and hold a dot, when the broker is set to MQTT 3.1.1: a
    NATS centre (its MQTT gateway speaks only 3.1.1) drops the link of a client publishing to
    such a topic, and nothing the gateway sends gets through (docs/scale.md)."""
    if config.broker.protocol != "3.1.1":
        return []
    names = [("site", config.site), ("gateway", config.gateway)]
    names += [(f"shelves[{i}].name", shelf.name) for i, shelf in enumerate(config.shelves)]
    return [
        f"{key}: {name!r} holds a dot, and it is a level of the gateway's MQTT topics: a NATS "
        "centre drops the link of a client that publishes to a topic with a dot, so nothing "
        f"would get through; if the centre is NATS, name it without one (e.g. "
        f"{name.replace('.', '-')!r}) before the first start (docs/scale.md)"
        for key, name in names
        if "." in name
    ]


def _renumbered(key: str, port: str, serial_names: Path) -> str:
    """The warning for a serial port named by its number, with the stable name to use."""
    target = os.path.realpath(port)
    stable: list[Path] = []
    with contextlib.suppress(OSError):  # no such folder: a machine without udev's names
        stable = sorted(n for n in serial_names.iterdir() if os.path.realpath(n) == target)
    instead = (
        f'"{stable[0]}"'
        if stable  # else not plugged in here (or not yet)
        else f"its name in {serial_names} (ls -l {serial_names} shows which is which)"
    )
    return (
        f"{key}: {port} is numbered in the order the adapters were found, which a replug or "
        "a reboot can change: the port would then be another device's, or none. Name the "
        f"adapter instead: {instead}"
    )


def stock_outside(config: GatewayConfig, held: Mapping[str, int]) -> str | None:
    """What to say of the slots holding stock (`held`: slot -> packs) that no shelf of `config`
    has (a shelf removed, renamed or made smaller since the stock was booked), or None."""
    known = {slot for shelf in config.shelves for slot in shelf.slot_names()}
    outside = [(slot, packs) for slot, packs in sorted(held.items()) if slot not in known]
    if not outside:
        return None
    listed = ", ".join(f"{slot} ({packs})" for slot, packs in outside[:10])
    more = ", ..." if len(outside) > 10 else ""
    return (
        f"shelves: the ledger holds stock in {len(outside)} slot(s) no shelf has: {listed}{more}; "
        "it stays booked there, unwatched and unlit, and picks may still be sent there. "
        "Where the packs now lie in a configured slot (a shelf renamed or rebuilt), book them "
        f"there with the daemon stopped: rxedge ledger move-slot {outside[0][0]} NEW-SLOT --by "
        "NAME; a shelf removed: configure it again until its packs are picked or counted "
        f"elsewhere (rxedge history {outside[0][0]} lists them)"
    )


def _held(database: Path) -> dict[str, int]:
    """Packs by slot in the ledger at `database`; empty if this user cannot read it (said
    apart)."""
    try:
        db = connect_readonly(database)
    except (StoreError, sqlite3.Error):
        return {}
    try:
        return stock_by_slot(db)
    except sqlite3.Error:
        return {}
    finally:
        db.close()


def metrics_port_taken(config: GatewayConfig, timeout: float = 2.0) -> str | None:
    """The warning for a metrics.listen address another program holds, or None: the daemon
    would run without its metrics endpoint, and `rxedge status` could not read it. Held by an
    rxedge daemon (it answers as a gateway's metrics: most often the running one, checked on
    its own box), it is not a warning."""
    host, port = split_listen(config.metrics.listen)
    if port == 0 or (held := _bind_error(host, port)) is None:
        return None
    with contextlib.suppress(Unreachable):
        if scrape(metrics_url(host, port), timeout).series("rxedge_gateway_info"):
            return None
    return (
        f"metrics.listen: {config.metrics.listen} is taken on this machine ({held}): the daemon "
        "would run without its metrics endpoint, and `rxedge status` could not read it; stop "
        f"the program holding it (ss -ltnp 'sport = :{port}' names it) or choose another port"
    )


def _bind_error(host: str, port: int) -> str | None:
    """Why this machine cannot bind `host`:`port` as the metrics server does, or None (the
    probe is closed at once)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def _cannot_listen(listen: str) -> str | None:
    """Why this machine cannot listen on the host of `listen` (any port), or None."""
    host = listen.rpartition(":")[0].strip("[]")
    try:
        infos = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"cannot find {host} ({exc.strerror or exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host} ({exc.strerror or exc})"
    return None
