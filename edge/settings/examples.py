"""The example line shown with each configuration error, and what a pattern means in words,
so that the fix is one copy away, and a validation error said with them. Part of
edge.settings.config."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import get_args, get_origin

from pydantic import BaseModel

from edge.settings.broker import BROKER_EXAMPLES

EXAMPLES = {
    "site": 'site = "pharmacy-0042"',
    "gateway": 'gateway = "gw-1"',
    "timezone": 'timezone = "Europe/Berlin"  (the site\'s city, Area/City; "" = the machine\'s)',
    "database": 'database = "/var/lib/rxedge/ledger.sqlite"',
    "create_database": "create_database = true  (first start only: creates a missing ledger)",
    **BROKER_EXAMPLES,
    "dwell_seconds": "dwell_seconds = 5.0",
    "name": 'name = "A"  (letters, digits, - _ .)',
    "protocol": 'protocol = "r2000"  (or "chafon")',
    "port": 'port = "/dev/ttyUSB0"  (the serial port, or a URL such as "socket://10.0.0.5:4001")',
    "shelves.port": "port = 502  (the Modbus TCP port, beside host); an rtu shelf's serial device "
    'goes in serial_port: serial_port = "/dev/ttyUSB1" with transport = "rtu"',
    "baudrate": "baudrate = 115200  (one of 9600, 19200, 38400, 57600, 115200)",
    "parity": 'parity = "E"  (as the device is set: "N" none, "E" even, "O" odd; default "N")',
    "stopbits": "stopbits = 1  (or 2, as the device is set; default 1)",
    "address": "address = 1  (r2000: 0-254; chafon: 0-254, 255 = broadcast)",
    "antennas": '[readers.antennas]\n    1 = "A-01"',
    "transport": 'transport = "tcp"  (or "rtu")',
    "host": 'host = "10.0.0.20"',
    "serial_port": 'serial_port = "/dev/ttyUSB1"',
    "device_id": "device_id = 1  (1 to 247)",
    "profile": 'profile = "rxedge-ptl-v1"',
    "slots": "slots = 24",
    "poll_hz": "poll_hz = 10",
    "gtin": 'gtin = "05012345678900"  (8, 12, 13 or 14 digits with a valid check digit)',
    "reorder_point": "reorder_point = 2",
    "par": "par = 6",
    "unit": 'unit = "pack"',
    "output_power_dbm": "output_power_dbm = 26  (0 to 33)",
    "down_alarm_seconds": "down_alarm_seconds = 30",
    "flap_drops": "flap_drops = 5  (2 to 1000: drops within flap_window_seconds that alarm)",
    "flap_window_seconds": "flap_window_seconds = 600",
    "log_repeats_per_minute": "log_repeats_per_minute = 30",
    "readers.role": 'role = "fixed"  (or "handheld")',
    "scanners.role": 'role = "picking"  (or "receiving", "putaway")',
    "receive_to": 'receive_to = "R-01"  (the slot a receiving scanner books packs into; for '
    "putaway, the station's slot)",
    "badge_reader": 'badge_reader = "ACS ACR122U PICC Interface 00 00"  (the PC/SC name of the '
    "badge reader at the scanner's desk, as the log names it when a badge is put on it)",
    "quiet_ms": "quiet_ms = 80  (10 to 2000: a scan without CR or LF ends after this quiet)",
    "min_shelf_life_days": "min_shelf_life_days = 90  (a delivered pack expiring sooner: refused)",
    "slot_capacity": "slot_capacity = 12  (packs of it one slot takes; leave out for no limit)",
    "remind_after_seconds": "remind_after_seconds = 120",
    "timeout_seconds": "timeout_seconds = 600",
    "mistake_seconds": "mistake_seconds = 30",
    "locate_seconds": "locate_seconds = 30",
    "colours": 'colours = ["green", "blue", "white", "amber"]',
    "gln": 'gln = "4012345000016"  (13 digits: the GLN on the shelf\'s location tags)',
    "idle_end_seconds": "idle_end_seconds = 10",
    "badge_confirm_seconds": "badge_confirm_seconds = 120  (0: a badge never confirms a report)",
    "handheld_wait_seconds": "handheld_wait_seconds = 900  (a sweep waits for its handheld)",
    "rate_per_second": "rate_per_second = 10  (commands from the network, on average)",
    "burst": "burst = 30  (commands taken at once before the rate applies)",
    "max_expiry_seconds": "max_expiry_seconds = 86400  (how far ahead a command may expire)",
    "near_expiry_days": "near_expiry_days = 60",
    "expiry_sweep_at": 'expiry_sweep_at = "00:00"  (local time, HH:MM)',
    "backlog_messages": "backlog_messages = 1000",
    "outbox_max_messages": "outbox_max_messages = 100000  (at least 1000)",
    "backlog_age_seconds": "backlog_age_seconds = 900",
    "resend_after_hours": "resend_after_hours = 4  (a request the centre has not answered this "
    "long is sent again; from 0.25 to 720)",
    "listen": 'listen = "127.0.0.1:9464"  (host:port of /metrics; "" = off)',
    "web.listen": 'listen = "127.0.0.1:8080"  (host:port of the page; beyond this machine: TLS)',
    "web.cert_file": 'cert_file = "/etc/rxedge/web.crt"  (PEM: the page\'s certificate)',
    "web.key_file": (
        'key_file = "/etc/rxedge/web.key"  (PEM, readable by the service user and no other: '
        "chown rxedge and chmod 600, or root:rxedge and chmod 640)"
    ),
    "web.users_file": 'users_file = "/etc/rxedge/web-users.json"',
    "web.broker_password_file": (
        'broker_password_file = "/etc/rxedge/web-mqtt-password"  (the page\'s own account)'
    ),
    "web.badge_login_from": 'badge_login_from = ["127.0.0.1", "::1", "10.0.0.20"]  (the '
    "screens beside the badge reader: addresses, or networks such as 10.0.0.0/24)",
    "refresh_seconds": "refresh_seconds = 5",
    "require_serial": "require_serial = true  (false: packs of this product may lack a serial)",
    "batch_and_expiry": "batch_and_expiry = true  (false: its codes may lack a batch or an "
    "expiry, as a medical device's may; true: a delivered pack without them is refused)",
    "auto_confirm": "auto_confirm = true  (false: a pharmacist confirms each request)",
    "badge": 'badge = "04A1B2C3D4E5F6"  (the card UID in hex, 4 to 10 bytes; colons may '
    'separate the bytes: "04:A1:B2:C3")',
    "enabled": "enabled = true",
    "reader": 'reader = "ACS ACR122U"  (part of the PC/SC reader name; empty = any)',
}


PATTERN_HINTS = {
    "site": "may hold only letters, digits, '-', '_' and '.', starting with a letter or digit",
    "gateway": "may hold only letters, digits, '-', '_' and '.', starting with a letter or digit",
    "name": "may hold only letters, digits, '-', '_' and '.', starting with a letter or digit",
    "gtin": "must be 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13 or GTIN-14)",
    "badge": "must be the card's UID in hex digits (0-9, A-F), 4 to 10 bytes: 8 to 20 digits, "
    "e.g. 04A1B2C3",
}


def describe_error(error: object, model: type[BaseModel]) -> str:
    """One of pydantic's validation errors (from validating `model`) as the person editing the
    file needs it: the key, what is wrong, and an example line."""
    assert isinstance(error, dict)
    loc = [part for part in error["loc"] if not str(part).startswith(("function-after", "["))]
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) and key else (f".{part}" if key else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    leaf = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    if error["type"] == "extra_forbidden":
        close = difflib.get_close_matches(leaf, _keys_at(model, loc[:-1]), n=1)
        message = "is not a known key" + (f"; did you mean {close[0]!r}?" if close else "")
        if (home := _elsewhere(leaf, loc[:-1], model)) is not None:
            typo = f"did you mean {close[0]!r}? Else: " if close else ""
            message = f"is not a key of {_header(loc[:-1])}; {typo}{home}"
    elif (mixup := _table_mixup(error, loc)) is not None:
        message = mixup
    elif error["type"] == "string_pattern_mismatch":
        message = PATTERN_HINTS.get(leaf, message) + f" (got {error.get('input')!r})"
    elif error["type"] == "missing":
        message = "is required"
    elif "input" in error and error["type"] not in ("value_error",):
        message += f" (got {error['input']!r})"
    example = EXAMPLES.get(f"{loc[0]}.{leaf}") or EXAMPLES.get(leaf)
    text = f"{key or '(top level)'}: {message}"
    return f"{text}\n    e.g. {example}" if example and error["type"] != "extra_forbidden" else text


# What one entry of each list of tables is, for "write [[readers]] (one per reader)".
_ENTRY = {
    "readers": "reader",
    "scanners": "scanner",
    "shelves": "shelf controller",
    "pharmacists": "pharmacist",
    "products": "product",
}


def _header(path: Sequence[object]) -> str:
    """The TOML line that opens the table at `path`: [broker], [[products]], [readers.antennas]."""
    name = ".".join(str(part) for part in path if isinstance(part, str))
    return f"[[{name}]]" if path and isinstance(path[-1], int) else f"[{name}]"


def _elsewhere(leaf: str, table: Sequence[object], model: type[BaseModel]) -> str | None:
    """Where a key found in the wrong table belongs, or None: TOML puts every key written
    after a [table] line into that table, so a top-level key appended at the end of the file
    lands in the last table."""
    if not table:
        return None
    field = model.model_fields.get(leaf)
    if field is not None and _model_in(field.annotation) is None:
        return (
            f"{leaf} is a top-level key: write it above the first [table] line of the file "
            "(every key after a [table] line belongs to that table)"
        )
    homes = [
        _header([name, 0] if get_origin(table_field.annotation) is list else [name])
        for name, table_field in model.model_fields.items()
        if (held := _model_in(table_field.annotation)) is not None and leaf in held.model_fields
    ]
    if len(homes) == 1 and homes[0] != _header(table):
        return f"{leaf} is a key of {homes[0]}: move it there"
    return None


def _table_mixup(error: dict[str, object], loc: Sequence[object]) -> str | None:
    """What to write instead when one table was given for a list of them ([readers] for
    [[readers]]) or a list for one table ([[broker]] for [broker]), or None."""
    name = ".".join(str(part) for part in loc if isinstance(part, str))
    given = error.get("input")
    if error["type"] == "list_type" and isinstance(given, dict):
        entry = _ENTRY.get(name, "entry")
        return (
            f"is one table [{name}] in the file, but {name} is a list of them: write "
            f"[[{name}]] (one per {entry}) above each {entry}'s keys"
        )
    if error["type"] in ("model_type", "dict_type") and isinstance(given, list):
        return (
            f"is a list of tables [[{name}]] in the file, but {name} is one table: write [{name}]"
        )
    return None


def _keys_at(model: type[BaseModel], path: Sequence[object]) -> list[str]:
    """The keys the table at `path` in `model` takes (an entry's index in a list skipped)."""
    found: type[BaseModel] | None = model
    for part in path:
        if isinstance(part, str) and found is not None:
            field = found.model_fields.get(part)
            found = None if field is None else _model_in(field.annotation)
    return [] if found is None else list(found.model_fields)


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model a field holds (itself, or in a list or an optional), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, map(_model_in, get_args(annotation))), None)
