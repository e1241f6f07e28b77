"""How a serial device is reached and its characters framed: a port given as a full path (a
relative one is said by check-config) or as one of the URLs pyserial opens (a network serial
server: socket://HOST:PORT), and 8 data bits with the parity and stop bits the device is set to
(8N1 unless its entry says otherwise). Part of edge.settings.config."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from drivers.serial_link import Parity
from edge.settings.limits import host_problem

_PARITY_WORDS = {"NONE": "N", "EVEN": "E", "ODD": "O"}
_WINDOWS_PORT = re.compile(r"COM[0-9]+", re.IGNORECASE)
# Why a URL pyserial knows is still not one the daemon's serial links can drive (they run on
# the event loop, which needs a file descriptor to watch, or a socket).
_UNDRIVEN = {
    "rfc2217": "an RFC 2217 port is driven by a thread of pyserial's own, not by the event loop "
    "that serves every other line here",
    "loop": "a loopback for pyserial's own tests",
}


def relative_port_problem(port: str) -> str | None:
    """What is wrong with a serial port written as a relative path (ttyUSB0, COM3), with what
    to write instead, or None: the service starts in /, so it would name a file there."""
    if "://" in port or port.startswith("/"):
        return None
    if _WINDOWS_PORT.fullmatch(port):
        return (
            f"{port} is a Windows port name; here a serial port is a path under /dev, e.g. "
            '"/dev/ttyUSB0", or better its adapter\'s own name in /dev/serial/by-id'
        )
    return f'{port} is not a full path (the service starts in /); did you mean "/dev/{port}"?'


@cache
def url_schemes() -> tuple[str, ...]:
    """The URL schemes the installed pyserial opens (serial_for_url imports the module
    protocol_SCHEME of a package in serial.protocol_handler_packages)."""
    import serial

    found: set[str] = set()
    for package in serial.protocol_handler_packages:
        try:
            where = importlib.import_module(package).__path__
        except (ImportError, AttributeError):
            continue
        found.update(
            module.name.removeprefix("protocol_")
            for module in pkgutil.iter_modules(where)
            if module.name.startswith("protocol_")
        )
    return tuple(sorted(found))


def serial_url_problem(port: str) -> str | None:
    """What is wrong with a serial port given as a URL, with what to write instead, or None
    (also for a path): pyserial opens only the schemes it has a handler for, the daemon's links
    cannot drive some of them (_UNDRIVEN), and a serial server on the network is reached at
    socket://HOST:PORT."""
    scheme, sep, rest = port.partition("://")
    if not sep:
        return None
    scheme = scheme.lower()
    address = rest.split("?", 1)[0].split("/", 1)[0]
    server = address if ":" in address else f"{address or 'HOST'}:PORT"
    raw = (
        f'a serial server on the network is reached raw, as "socket://{server}" (the server\'s '
        'port set to raw TCP, its "TCP server" mode, with the line\'s baud rate and framing)'
    )
    if scheme not in url_schemes():
        known = ", ".join(f"{s}://" for s in url_schemes() if s not in _UNDRIVEN)
        return f"pyserial opens no {scheme}:// URLs (here: {known}); {raw}"
    if scheme in _UNDRIVEN:
        return f"{scheme}:// ports are not supported ({_UNDRIVEN[scheme]}); {raw}"
    if scheme != "socket":
        return None
    try:
        parts = urlsplit(port)
        number, host = parts.port, parts.hostname
    except ValueError:  # a port that is not a number, or beyond 65535
        number, host = None, None
    if number is None or number < 1 or not host:
        return (
            f"{port} needs the serial server's host and its TCP port (1 to 65535), as "
            f'socket://HOST:PORT, e.g. "socket://{host or "10.0.0.5"}:4001" (the port the '
            "server serves this line on)"
        )
    return host_problem(host)


def _port_as_written(port: str) -> str:
    if (problem := serial_url_problem(port)) is not None:
        raise ValueError(problem)
    return port


# A reader's, scanner's or rtu shelf's serial port.
SerialPortName = Annotated[str, Field(min_length=1), AfterValidator(_port_as_written)]


class SerialFraming(BaseModel):
    """`parity` and `stopbits` of an entry on a serial line; left out, 8N1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parity: Parity | None = None
    stopbits: Literal[1, 2] | None = None

    @field_validator("parity", mode="before")
    @classmethod
    def _parity_word(cls, value: object) -> object:
        """ "even", "E" and "e" are one setting."""
        if isinstance(value, str):
            return _PARITY_WORDS.get(value.strip().upper(), value.strip().upper())
        return value

    @property
    def line_parity(self) -> Parity:
        return self.parity or "N"

    @property
    def line_stopbits(self) -> int:
        return self.stopbits or 1

    def framing_unused(self, where: str) -> str | None:
        """The problem, naming the keys, when the entry sets parity or stopbits on a link that
        has no serial framing (`where`: what it does apply to)."""
        keys = [key for key in ("parity", "stopbits") if getattr(self, key) is not None]
        if not keys:
            return None
        verb, pronoun = ("applies", "it") if len(keys) == 1 else ("apply", "them")
        return f"{' and '.join(keys)} {verb} to {where} only; remove {pronoun}"
