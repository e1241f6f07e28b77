"""Configuration: a serial port serves one device, a shelf controller one shelf, and the shelves
of one bus share its speed and poll rate. One port given to two devices, two shelves on one
Modbus device, or a second speed or poll rate on one bus would start without complaint and then
mix two devices' bytes, drive the same LEDs and book the same buttons twice, or quietly ignore a
setting. Each is refused, naming the key and the fix."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge.settings.config import ConfigError, parse_config

HEAD = {"site": "s1", "gateway": "g1"}


def problems_of(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**HEAD, **data})
    return caught.value.problems


def tcp(name: str, device_id: int, **more: object) -> dict[str, object]:
    return {"name": name, "host": "10.0.0.20", "port": 502, "device_id": device_id, **more}


def rtu(name: str, device_id: int, **more: object) -> dict[str, object]:
    line = {"transport": "rtu", "serial_port": "/dev/ttyUSB1"}
    return {"name": name, **line, "device_id": device_id, **more}


@pytest.mark.parametrize("shelf", [tcp, rtu])
def test_two_shelves_on_one_modbus_device_are_refused(
    shelf: Callable[..., dict[str, object]],
) -> None:
    (problem,) = problems_of({"shelves": [shelf("A", 1), shelf("B", 1)]})
    assert problem.startswith("shelves[1].device_id: shelf 'B' is device 1 on ")
    assert "as shelf 'A' is" in problem and "own device_id" in problem


def test_shelves_on_one_bus_with_their_own_device_ids_are_taken() -> None:
    config = parse_config({**HEAD, "shelves": [rtu("A", 1), rtu("B", 2), tcp("C", 1)]})
    assert [s.device_id for s in config.shelves] == [1, 2, 1]


def test_shelves_on_one_rs485_line_must_share_its_speed_and_poll_rate() -> None:
    problems = problems_of(
        {"shelves": [rtu("A", 1), rtu("B", 2, baudrate=9600, poll_hz=5), rtu("C", 3)]}
    )
    assert problems == [
        "shelves[1].baudrate: shelf 'B' shares /dev/ttyUSB1 with shelf 'A', which runs at "
        "19200; one line has one speed: set baudrate = 19200 on both (and on the controllers)",
        "shelves[1].poll_hz: shelf 'B' shares /dev/ttyUSB1 with shelf 'A', which is polled 10 "
        "times a second; the shelves of one bus are polled together: set poll_hz = 10 on both",
    ]


def test_shelves_on_one_rs485_line_must_share_its_framing() -> None:
    problems = problems_of(
        {"shelves": [rtu("A", 1, parity="even"), rtu("B", 2, stopbits=2), rtu("C", 3, parity="E")]}
    )
    assert problems == [
        "shelves[1].parity: shelf 'B' shares /dev/ttyUSB1 with shelf 'A', which has parity = "
        "'E'; one line has one framing: set parity = 'E' on both (and on the controllers)",
        "shelves[1].stopbits: shelf 'B' shares /dev/ttyUSB1 with shelf 'A', which has stopbits "
        "= 1; one line has one framing: set stopbits = 1 on both (and on the controllers)",
    ]


def test_shelves_behind_one_modbus_tcp_address_must_share_its_poll_rate() -> None:
    (problem,) = problems_of({"shelves": [tcp("A", 1), tcp("B", 2, poll_hz=20, baudrate=9600)]})
    assert problem.startswith("shelves[1].poll_hz: shelf 'B' shares tcp://10.0.0.20:502 with")


@pytest.mark.parametrize(
    ("devices", "key", "other"),
    [
        (
            {"scanners": [{"name": "s", "port": "/dev/ttyUSB0"}]},
            "scanners[0].port",
            "readers[0].port (reader 'r')",
        ),
        (
            {"readers": [{"name": "r2", "port": "/dev/ttyUSB0"}]},
            "readers[1].port",
            "readers[0].port (reader 'r')",
        ),
        (
            {"shelves": [rtu("A", 1, serial_port="/dev/ttyUSB0")]},
            "shelves[0].serial_port",
            "readers[0].port (reader 'r')",
        ),
    ],
)
def test_one_serial_port_given_to_two_devices_is_refused(
    devices: dict[str, list[dict[str, object]]], key: str, other: str
) -> None:
    readers = [{"name": "r", "port": "/dev/ttyUSB0"}, *devices.get("readers", [])]
    (problem,) = problems_of({**devices, "readers": readers})
    assert problem.startswith(f"{key}: /dev/ttyUSB0 is also {other}")
    assert "a serial port serves one device" in problem


@pytest.fixture
def adapter(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A serial port by its two names: the port (a pty) and a link to it, as udev's
    /dev/serial/by-id names lead to /dev/ttyUSB0."""
    control, port = os.openpty()
    link = tmp_path / "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    link.symlink_to(os.ttyname(port))
    try:
        yield str(link), os.ttyname(port)
    finally:
        os.close(control)
        os.close(port)


def test_one_adapter_under_two_names_is_one_port(adapter: tuple[str, str]) -> None:
    by_id, numbered = adapter
    (problem,) = problems_of(
        {"readers": [{"name": "r1", "port": by_id}, {"name": "r2", "port": numbered}]}
    )
    assert problem == (
        f"readers[1].port: {numbered} is {by_id}, readers[0].port (reader 'r1'), by another "
        "name; a serial port serves one device (or one RS-485 line of shelf controllers): give "
        "each its own port"
    )
    line = [rtu("A", 1, serial_port=by_id), rtu("B", 2, serial_port=numbered)]
    (problem,) = problems_of({"shelves": line})
    assert problem.startswith(f"shelves[1].serial_port: {numbered} is {by_id}, shelves[0]")
    assert problem.endswith(
        f'the shelves of one RS-485 line name it alike: serial_port = "{by_id}"'
    )
    same = [rtu("A", 1, serial_port=by_id), rtu("B", 2, serial_port=by_id)]
    assert parse_config({**HEAD, "shelves": same})
