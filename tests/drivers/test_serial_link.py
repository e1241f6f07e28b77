"""Serial links: each port is opened with the parity and stop bits its device is set to (over a
real pty, which keeps the stop bits but has no parity, and over a socket:// link as behind a
serial-to-Ethernet converter), a device that never answers is reported down with the line
settings to check, and a port the user may not open is reported down naming the group it
lacks."""

from __future__ import annotations

import asyncio
import grp
import os
import socket
import subprocess
import sys
import termios
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from drivers.events import DeviceDown, DriverEvent
from drivers.r2000.reader import R2000Reader
from drivers.serial_link import KEEPALIVE, SerialLink, SerialPort
from firmware_sim.pty_port import PtyPort
from tests.conftest import eventually


@pytest.fixture
def pty() -> Iterator[PtyPort]:
    port = PtyPort()
    yield port
    port.close()


@pytest.fixture
async def converter() -> AsyncIterator[tuple[str, asyncio.Queue[bytes]]]:
    """A serial-to-Ethernet converter's TCP port: what it receives goes in the queue."""
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(100):
            received.put_nowait(data)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"socket://127.0.0.1:{port}", received
    server.close()
    await server.wait_closed()


def two_stop_bits(pty: PtyPort) -> bool:
    """What the host side set on the line."""
    return bool(termios.tcgetattr(pty.master)[2] & termios.CSTOPB)


async def test_a_port_is_opened_with_the_stop_bits_of_its_device(pty: PtyPort) -> None:
    got: list[bytes] = []
    link = await SerialLink.open(SerialPort("desk", pty.name, 9600, "N", 2), got.append)
    try:
        assert link.framing == "8N2" and two_stop_bits(pty)
        os.write(pty.master, b"]d2010")
        await eventually(lambda: b"".join(got) == b"]d2010")
    finally:
        link.close()


async def test_a_port_left_at_its_defaults_is_8n1(pty: PtyPort) -> None:
    link = await SerialLink.open(SerialPort("desk", pty.name, 9600), lambda _data: None)
    try:
        assert link.framing == "8N1" and not two_stop_bits(pty)
    finally:
        link.close()


async def test_a_port_is_opened_with_the_parity_of_its_device(
    converter: tuple[str, asyncio.Queue[bytes]],
) -> None:
    url, received = converter
    link = await SerialLink.open(SerialPort("r", url, 115200, "E"), lambda _data: None)
    try:
        assert link.framing == "8E1"
        link.write(b"\xa0\x04\x01\x89\xff\xd3")
        assert await asyncio.wait_for(received.get(), 5) == b"\xa0\x04\x01\x89\xff\xd3"
    finally:
        link.close()


async def test_a_link_through_a_converter_probes_it_with_tcp_keepalive(
    converter: tuple[str, asyncio.Queue[bytes]],
) -> None:
    """A converter that loses power sends no FIN: only keepalive probes find out it is gone."""
    url, _received = converter
    link = await SerialLink.open(SerialPort("desk", url, 9600), lambda _data: None)
    try:
        sock = link._transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == KEEPALIVE.idle == 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == KEEPALIVE.interval
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == KEEPALIVE.probes
        # A dead converter is given up within half a minute.
        assert KEEPALIVE.idle + KEEPALIVE.interval * KEEPALIVE.probes <= 30
    finally:
        link.close()


async def test_a_port_that_cannot_take_the_parity_is_an_error_naming_the_settings(
    pty: PtyPort,
) -> None:
    with pytest.raises(OSError, match="does not take 9600 8O1"):
        await SerialLink.open(SerialPort("desk", pty.name, 9600, "O"), lambda _data: None)


async def test_a_reader_that_never_answers_is_down_with_the_line_settings_to_check(
    pty: PtyPort,
) -> None:
    """Nothing on the other end answers, as with a reader set to another speed or parity."""
    events: list[DriverEvent] = []
    port = SerialPort("r", pty.name, 115200, "N", 2)
    reader = R2000Reader(port, events.append, round_timeout=0.1, command_timeout=0.05)
    task = asyncio.create_task(reader.run())
    try:
        await eventually(lambda: any(isinstance(e, DeviceDown) for e in events), what="down")
        [down] = [e for e in events if isinstance(e, DeviceDown)]
        assert "never answered" in down.reason and "115200 8N2" in down.reason
        assert "baudrate, parity, stopbits" in down.reason
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# Run as `nobody` (without dialout): a reader and an RTU shelf bus on ports that only group
# dialout may open, as /dev/ttyUSB* are; prints each device's down reason.
OPEN_AS_ANOTHER_USER = """
import asyncio, sys
from drivers.events import DeviceDown
from drivers.modbus.controller import ControllerSpec
from drivers.modbus.profile import RXEDGE_PTL_V1
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ShelfBus
from drivers.r2000.reader import R2000Reader
from drivers.serial_link import SerialPort

async def main():
    events = []
    reader = R2000Reader(SerialPort("r1", sys.argv[1], 115200), events.append)
    task = asyncio.create_task(reader.run())
    shelf = [ControllerSpec("A", 1, 4, RXEDGE_PTL_V1)]
    bus = ShelfBus("rs485", RtuClient(sys.argv[2], 19200), shelf, events.append)
    for _ in range(3):  # a controller is down after three failed cycles
        await bus.cycle()
    async with asyncio.timeout(10):
        while not any(isinstance(e, DeviceDown) and e.device == "r1" for e in events):
            await asyncio.sleep(0.01)
    task.cancel()
    for event in events:
        if isinstance(event, DeviceDown):
            print(event.device, event.reason, sep="\\t")

asyncio.run(main())
"""


def _has_group(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


@pytest.mark.skipif(
    os.geteuid() != 0 or not _has_group("dialout"),
    reason="needs root (to give a port to group dialout and run as nobody) and group dialout",
)
def test_a_port_only_its_group_may_open_is_down_naming_the_group_and_how_to_get_it() -> None:
    """A daemon started by hand as the service user lacks dialout, which only the unit adds:
    every serial device is down, and the reason says why and what gives the group."""
    root = Path(__file__).resolve().parents[2]
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = [*as_nobody, sys.executable, "-c", "import drivers.serial_link"]
    if subprocess.run(probe, cwd=root, capture_output=True, check=False).returncode != 0:
        pytest.skip("nobody cannot read this checkout: clone it where others may")
    ports = [PtyPort(), PtyPort()]
    try:
        for port in ports:
            os.chown(port.path, 0, grp.getgrnam("dialout").gr_gid)
            os.chmod(port.path, 0o660)
        run = subprocess.run(
            [*as_nobody, sys.executable, "-c", OPEN_AS_ANOTHER_USER, *(p.path for p in ports)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        for port in ports:
            port.close()
    assert run.returncode == 0, run.stderr
    down = dict(line.split("\t", 1) for line in run.stdout.splitlines())
    for device, port in (("r1", ports[0]), ("A", ports[1])):
        reason = down[device]
        assert (
            f"cannot open {port.path}: permission denied: {port.path} belongs to group dialout, "
            "which user nobody is not in" in reason
        ), reason
        assert "SupplementaryGroups=dialout" in reason
        assert "runuser -u nobody -g nogroup -G dialout -- rxedge run" in reason
