"""Byte links to serial devices: a local port or a pyserial URL (socket:// for a serial server on
the network; not rfc2217://, which pyserial drives from a thread of its own)."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import socket
import termios
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import serial_asyncio_fast

Parity = Literal["N", "E", "O"]  # none, even, odd


@dataclass(frozen=True, slots=True)
class Keepalive:
    """TCP keepalive on a network link: probe after `idle` seconds without traffic, every
    `interval` seconds, and give the peer up after `probes` unanswered probes."""

    idle: int
    interval: int
    probes: int


# A serial-to-Ethernet converter that loses power sends neither FIN nor RST, and nothing is ever
# written to a scanner: without keepalive such a link stays open for good, the device is never
# reported down and never reopened. With these figures a dead peer closes the link within about
# 10 + 5 * 3 = 25 seconds; the reopen loop and the device-down report take it from there. Read
# at each open.
KEEPALIVE = Keepalive(idle=10, interval=5, probes=3)


@dataclass(frozen=True, slots=True)
class SerialPort:
    """Where a device is: its `name` (in events and logs), the port's `url` (a path or a
    pyserial URL), its `baudrate`, and the framing of its 8-bit characters: `parity` and
    `stopbits` (8N1 unless the device is set otherwise)."""

    name: str
    url: str
    baudrate: int
    parity: Parity = "N"
    stopbits: int = 1

    @property
    def settings(self) -> str:
        """The line settings as a device's manual writes them: 115200 8N1."""
        return line_settings(self.baudrate, self.parity, self.stopbits)


def line_settings(baudrate: int, parity: str, stopbits: int) -> str:
    """Speed and framing as a device's manual writes them: 115200 8N1."""
    return f"{baudrate} 8{parity}{stopbits}"


def permission_problem(url: str) -> str | None:
    """Why this process may not open the local port `url` when only the group owning it lets a
    user in (as dialout does for /dev/ttyUSB*), naming that group and how the daemon gets it;
    None for a pyserial URL, a port that is missing, or one it may open."""
    try:
        info = None if "://" in url else os.stat(url)
    except OSError:
        return None
    if info is None or os.access(url, os.R_OK | os.W_OK) or info.st_mode & 0o060 != 0o060:
        return None
    group = _group_name(info.st_gid)
    user, own = pwd.getpwuid(os.geteuid()).pw_name, _group_name(os.getegid())
    return (
        f"permission denied: {url} belongs to group {group}, which user {user} is not in; run "
        f"the daemon with that group (the service's unit gives it: SupplementaryGroups={group}; "
        f"by hand: runuser -u {user} -g {own} -G {group} -- rxedge run ...)"
    )


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def set_keepalive(sock: socket.socket, keepalive: Keepalive) -> None:
    """Turn TCP keepalive on for `sock` with the figures of `keepalive` (where the platform lets
    them be set; its defaults, some two hours, otherwise)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", keepalive.idle),
        ("TCP_KEEPINTVL", keepalive.interval),
        ("TCP_KEEPCNT", keepalive.probes),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


class _LinkProtocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], closed: asyncio.Future[None]):
        self._on_data = on_data
        self._closed = closed

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed.done():
            self._closed.set_result(None)


class SerialLink:
    """One open port. `on_data` gets every chunk received; `closed` completes when it goes away."""

    def __init__(self, transport: asyncio.Transport, closed: asyncio.Future[None]):
        self._transport = transport
        self.closed = closed

    @classmethod
    async def open(cls, port: SerialPort, on_data: Callable[[bytes], None]) -> SerialLink:
        """Open `port` (a device path or pyserial URL) at its baud rate and framing,
        exclusively."""
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()
        kwargs: dict[str, object] = {
            "baudrate": port.baudrate,
            "parity": port.parity,
            "stopbits": port.stopbits,
        }
        if "://" not in port.url:
            kwargs["exclusive"] = True
        try:
            transport, _ = await serial_asyncio_fast.create_serial_connection(
                loop, lambda: _LinkProtocol(on_data, closed), port.url, **kwargs
            )
        except termios.error as exc:  # a setting the port cannot take (a pty has no parity)
            raise OSError(f"the port does not take {port.settings}: {exc}") from exc
        # For socket://, pyserial-asyncio-fast hands back asyncio's own TCP transport.
        opened: asyncio.Transport = transport
        sock = opened.get_extra_info("socket")  # None for a local port
        if sock is not None:
            try:
                set_keepalive(sock, KEEPALIVE)
            except OSError:
                transport.close()
                raise
        return cls(transport, closed)

    @property
    def framing(self) -> str:
        """The framing the port was opened with: 8N1, 8E1, ..."""
        line = self._transport.serial  # type: ignore[attr-defined]
        return f"{line.bytesize}{line.parity}{line.stopbits:g}"

    def write(self, data: bytes) -> None:
        """Queue bytes for sending; never blocks."""
        self._transport.write(data)

    def close(self) -> None:
        """Close the port; `closed` completes."""
        self._transport.close()
