"""Serial ports and buses the configuration gives to more than one device. A serial port serves
one reader or scanner, or one RS-485 line of shelves: two tasks reading one port would each get
part of the other's bytes. The shelves of one bus (an RS-485 line, or one Modbus TCP address)
are told apart by device_id alone and share the bus's speed, framing (parity, stop bits) and
poll rate: the daemon runs one task per bus, so a second shelf on a device already taken would
not fail, it would drive the same LEDs and book the same buttons twice, and a speed, framing or
poll rate of a shelf other than the bus's first would be quietly ignored. A port is one port by
whatever name it is given: an adapter's /dev/serial/by-id link and the /dev/ttyUSB it leads to
are one. Part of edge.settings.config."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal, Protocol


class SerialDevice(Protocol):
    """A reader's or a scanner's entry."""

    @property
    def name(self) -> str: ...
    @property
    def port(self) -> str: ...


class BusShelf(Protocol):
    """What a shelf controller's entry says about the bus it is on."""

    @property
    def name(self) -> str: ...
    @property
    def transport(self) -> Literal["tcp", "rtu"]: ...
    @property
    def host(self) -> str | None: ...
    @property
    def port(self) -> int: ...
    @property
    def serial_port(self) -> str | None: ...
    @property
    def device_id(self) -> int: ...
    @property
    def baudrate(self) -> int: ...
    @property
    def poll_hz(self) -> float: ...
    @property
    def line_parity(self) -> str: ...
    @property
    def line_stopbits(self) -> int: ...


def bus_of(shelf: BusShelf) -> str:
    """The bus a shelf controller is reached on: its serial port, or tcp://host:port."""
    if shelf.transport == "tcp":
        return f"tcp://{shelf.host}:{shelf.port}"
    return str(shelf.serial_port)


def shared_line_problems(
    readers: Sequence[SerialDevice],
    scanners: Sequence[SerialDevice],
    shelves: Sequence[BusShelf],
) -> list[str]:
    """Every serial port and shelf bus the configuration gives to more than one device."""
    return _serial_port_problems(readers, scanners, shelves) + _shelf_bus_problems(shelves)


def _shelf_bus_problems(shelves: Sequence[BusShelf]) -> list[str]:
    """Shelves that claim a device another shelf on their bus already is, or set the bus's
    speed or poll rate otherwise than its first shelf."""
    problems: list[str] = []
    devices: dict[tuple[str, int], BusShelf] = {}
    firsts: dict[str, BusShelf] = {}
    for i, shelf in enumerate(shelves):
        bus = bus_of(shelf)
        first = firsts.setdefault(bus, shelf)
        shares = f"shelf {shelf.name!r} shares {bus} with shelf {first.name!r}"
        if shelf.transport == "rtu" and shelf.baudrate != first.baudrate:
            problems.append(
                f"shelves[{i}].baudrate: {shares}, which runs at {first.baudrate}; one line has "
                f"one speed: set baudrate = {first.baudrate} on both (and on the controllers)"
            )
        for key, mine, its in (
            ("parity", shelf.line_parity, first.line_parity),
            ("stopbits", shelf.line_stopbits, first.line_stopbits),
        ):
            if shelf.transport == "rtu" and mine != its:
                problems.append(
                    f"shelves[{i}].{key}: {shares}, which has {key} = {its!r}; one line has one "
                    f"framing: set {key} = {its!r} on both (and on the controllers)"
                )
        if shelf.poll_hz != first.poll_hz:
            problems.append(
                f"shelves[{i}].poll_hz: {shares}, which is polled {first.poll_hz:g} times a "
                f"second; the shelves of one bus are polled together: set poll_hz = "
                f"{first.poll_hz:g} on both"
            )
        twin = devices.setdefault((bus, shelf.device_id), shelf)
        if twin is not shelf:
            problems.append(
                f"shelves[{i}].device_id: shelf {shelf.name!r} is device {shelf.device_id} on "
                f"{bus}, as shelf {twin.name!r} is; one controller cannot be two shelves: give "
                "each controller on a bus its own device_id (as set on the controller)"
            )
    return problems


def _serial_port_problems(
    readers: Sequence[SerialDevice],
    scanners: Sequence[SerialDevice],
    shelves: Sequence[BusShelf],
) -> list[str]:
    """Serial ports given to a second device (the shelves of one line are one device here)."""
    claims = [(f"readers[{i}].port", f"reader {r.name!r}", r.port) for i, r in enumerate(readers)]
    claims += [
        (f"scanners[{i}].port", f"scanner {s.name!r}", s.port) for i, s in enumerate(scanners)
    ]
    claims += [
        (f"shelves[{i}].serial_port", f"shelf {s.name!r}", str(s.serial_port))
        for i, s in enumerate(shelves)
        if s.transport == "rtu"
    ]
    problems: list[str] = []
    owners: dict[str, tuple[str, str, str]] = {}
    for key, device, port in claims:
        owner_key, owner, named = owners.setdefault(_device_of(port), (key, device, port))
        one_line = key.startswith("shelves") and owner_key.startswith("shelves")
        if owner_key == key or (one_line and named == port):
            continue
        # Named otherwise: an adapter's /dev/serial/by-id link and the port it leads to.
        taken = (
            f"is also {owner_key} ({owner})"
            if named == port
            else f"is {named}, {owner_key} ({owner}), by another name"
        )
        fix = (
            f'the shelves of one RS-485 line name it alike: serial_port = "{named}"'
            if one_line
            else "a serial port serves one device (or one RS-485 line of shelf controllers): "
            "give each its own port"
        )
        problems.append(f"{key}: {port} {taken}; {fix}")
    return problems


def _device_of(port: str) -> str:
    """The device a local port's path leads to (links followed, as udev's names in
    /dev/serial/by-id are links to the numbered ports); a URL as written."""
    return port if "://" in port else os.path.realpath(port)
