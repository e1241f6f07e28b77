"""The example line shown with each configuration error, and what a pattern means in words,
so that the fix is one copy away, and a validation error said with them. Part of
edge.settings.config."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import get_args

from pydantic import BaseModel

from edge.settings.broker import BROKER_EXAMPLES

EXAMPLES = {
    "site": 'site = "pharmacy-0042"',
    "gateway": 'gateway = "gw-1"',
    "timezone": 'timezone = "Europe/Berlin"  (IANA name; "" = the machine\'s zone)',
    "database": 'database = "/var/lib/rxedge/ledger.sqlite"',
    "create_database": "create_database = true  (first start only: creates a missing ledger)",
    **BROKER_EXAMPLES,
    "dwell_seconds": "dwell_seconds = 5.0",
    "name": 'name = "A"  (letters, digits, - _ .)',
    "protocol": 'protocol = "r2000"  (or "chafon")',
    "port": 'port = "/dev/ttyUSB0"  (reader) or port = 502 (shelf, TCP)',
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
    "log_repeats_per_minute": "log_repeats_per_minute = 30",
    "role": 'role = "fixed"  (or "handheld"); scanners: role = "picking"  (or "receiving", '
    '"putaway")',
    "receive_to": 'receive_to = "R-01"  (the slot a receiving scanner books packs into; for '
    "putaway, the station's slot)",
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
    "listen": 'listen = "127.0.0.1:9464"  (host:port of /metrics; "" = off)',
    "web.listen": 'listen = "127.0.0.1:8080"  (host:port of the page; beyond this machine: TLS)',
    "web.badge_login_from": 'badge_login_from = ["127.0.0.1", "::1", "10.0.0.20"]  (the '
    "screens beside the badge reader: addresses, or networks such as 10.0.0.0/24)",
    "refresh_seconds": "refresh_seconds = 5",
    "require_serial": "require_serial = true  (false: packs of this product may lack a serial)",
    "auto_confirm": "auto_confirm = true  (false: a pharmacist confirms each request)",
    "badge": 'badge = "04A1B2C3D4E5F6"  (the card UID in hex, 4 to 10 bytes)',
    "enabled": "enabled = true",
    "reader": 'reader = "ACS ACR122U"  (part of the PC/SC reader name; empty = any)',
}


PATTERN_HINTS = {
    "site": "may hold only letters, digits, '-', '_' and '.', starting with a letter or digit",
    "gateway": "may hold only letters, digits, '-', '_' and '.', starting with a letter or digit",
    "name": "may hold only letters, digits, '-', '_' and '.', starting with a letter or digit",
    "gtin": "must be 8, 12, 13 or 14 digits (GTIN-8, UPC-A, EAN-13 or GTIN-14)",
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
    elif error["type"] == "string_pattern_mismatch":
        message = PATTERN_HINTS.get(leaf, message) + f" (got {error.get('input')!r})"
    elif error["type"] == "missing":
        message = "is required"
    elif "input" in error and error["type"] not in ("value_error",):
        message += f" (got {error['input']!r})"
    example = EXAMPLES.get(f"{loc[0]}.{leaf}") or EXAMPLES.get(leaf)
    text = f"{key or '(top level)'}: {message}"
    return f"{text}\n    e.g. {example}" if example and error["type"] != "extra_forbidden" else text


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
