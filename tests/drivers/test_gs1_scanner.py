"""The barcode scanner driver against the simulated scanner over a real pty."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivers.events import BarcodeScanned, DeviceDown, DeviceUp, DriverEvent, ScanUnreadable
from drivers.gs1_scanner import MAX_LINE, BarcodeScanner
from drivers.serial_link import SerialPort
from firmware_sim.scanner_sim import GS, ScannerSimulator
from tests.conftest import eventually
from tests.processes import in_private_network, private_network

ROOT = Path(__file__).resolve().parents[2]
CODE = "0104012345123456" + "17260131" + "10ABC123" + GS + "21XYZ789"


@dataclass
class Desk:
    sim: ScannerSimulator
    scanner: BarcodeScanner
    events: list[DriverEvent]

    def scans(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, BarcodeScanned)]

    def scanned(self, count: int) -> Callable[[], bool]:
        """Whether `count` scans have arrived."""
        return lambda: len(self.scans()) >= count

    def unreadable(self) -> list[ScanUnreadable]:
        return [e for e in self.events if isinstance(e, ScanUnreadable)]


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    """A scanner driver reading the simulated scanner over a pty at 9600 baud."""
    sim = ScannerSimulator(link=tmp_path / "scanner")
    await sim.start()
    events: list[DriverEvent] = []
    scanner = BarcodeScanner(SerialPort("desk", sim.port, 9600), events.append)
    task = asyncio.create_task(scanner.run())
    await eventually(lambda: DeviceUp("desk") in events)
    yield Desk(sim, scanner, events)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await sim.stop()


async def test_each_scan_is_one_event_with_its_separators(tmp_path: Path) -> None:
    sim = ScannerSimulator(link=tmp_path / "scanner")
    await sim.start()
    events: list[DriverEvent] = []
    scanner = BarcodeScanner(SerialPort("desk", sim.port, 9600), events.append)
    task = asyncio.create_task(scanner.run())
    try:
        await eventually(lambda: DeviceUp("desk") in events)
        sim.scan(CODE)
        sim.suffix = "\r"
        sim.scan(CODE)
        sim.suffix = "\n"
        sim.scan("0104012345123456")
        await eventually(lambda: len([e for e in events if isinstance(e, BarcodeScanned)]) == 3)
        scans = [e.text for e in events if isinstance(e, BarcodeScanned)]
        assert scans == ["]d2" + CODE, "]d2" + CODE, "]d20104012345123456"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_a_scan_without_a_line_end_ends_when_the_scanner_goes_quiet(desk: Desk) -> None:
    desk.sim.suffix = ""  # a scanner set to send no suffix
    for n in range(1, 4):
        desk.sim.scan(CODE)
        await eventually(desk.scanned(n), what=f"scan {n} on its own")
    assert desk.scans() == ["]d2" + CODE] * 3
    assert desk.unreadable() == []


async def test_control_bytes_ahead_of_a_scan_are_dropped_and_its_separators_kept(
    desk: Desk,
) -> None:
    desk.sim.line.send(b"\x00")  # what a cable being plugged in sends
    await asyncio.sleep(0.2)  # past the quiet time: a scan of its own, if it were one
    desk.sim.line.send(b"\x00\x00" + ("]d2" + CODE + "\r\n").encode())
    # A scanner sending FNC1 as a leading GS (no symbology identifier) keeps it.
    desk.sim.line.send(b"\x00" + (GS + CODE + "\r").encode())
    await eventually(lambda: len(desk.scans()) == 2, what="both scans")
    assert desk.scans() == ["]d2" + CODE, GS + CODE]
    assert desk.unreadable() == []
    assert desk.scanner.stray_bytes == 4


async def test_noise_without_line_ends_is_reported_once_not_hoarded(desk: Desk) -> None:
    desk.sim.line.send(b"x" * (MAX_LINE * 2 + 10))
    await eventually(lambda: desk.scanner.too_long == 1)
    await asyncio.sleep(0.3)  # the tail of the noise, and the quiet after it: nothing more
    assert [e.scanner for e in desk.unreadable()] == ["desk"]
    assert desk.scanner.too_long == 1
    desk.sim.scan(CODE)
    await eventually(lambda: desk.scans() == ["]d2" + CODE])
    assert len(desk.unreadable()) == 1


async def test_a_scanner_sending_7_data_bits_with_parity_is_unreadable_and_says_so(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """A 7E1 scanner read as 8N1: the parity bit arrives as each byte's high bit."""
    sent = ("]d2" + CODE + "\r").encode()
    even = bytes(b | 0x80 if bin(b).count("1") % 2 else b for b in sent)
    with caplog.at_level(logging.WARNING):
        desk.sim.line.send(even)
        await eventually(lambda: desk.unreadable(), what="an unreadable scan")
    [unreadable] = desk.unreadable()
    assert "7 data bits with parity" in unreadable.reason
    assert desk.scanner.undecodable == 1 and desk.scans() == []
    assert any("7 data bits" in r.getMessage() and "desk" in r.getMessage() for r in caplog.records)


async def test_unplugged_scanner_is_reopened(tmp_path: Path) -> None:
    sim = ScannerSimulator(link=tmp_path / "scanner")
    await sim.start()
    events: list[DriverEvent] = []
    scanner = BarcodeScanner(SerialPort("desk", str(tmp_path / "scanner"), 9600), events.append)
    task = asyncio.create_task(scanner.run())
    try:
        await eventually(lambda: DeviceUp("desk") in events)
        unplug = asyncio.create_task(sim.line.unplug(0.5))
        await eventually(lambda: any(isinstance(e, DeviceDown) for e in events))
        await unplug
        await eventually(lambda: events.count(DeviceUp("desk")) == 2, timeout=5)
        sim.scan(CODE)
        await eventually(lambda: any(isinstance(e, BarcodeScanned) for e in events))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_a_scanner_behind_a_converter_that_drops_the_connection_is_reopened() -> None:
    """The converter closes the TCP connection (rebooted by hand, its cable pulled): the scanner
    is down, then up again on a new connection, and scans arrive over it."""
    sim = ScannerSimulator(tcp=True)
    await sim.start()
    events: list[DriverEvent] = []
    scanner = BarcodeScanner(SerialPort("desk", sim.port, 9600), events.append)
    task = asyncio.create_task(scanner.run())
    try:
        await eventually(lambda: DeviceUp("desk") in events)
        unplug = asyncio.create_task(sim.line.unplug(0.3))
        await eventually(lambda: any(isinstance(e, DeviceDown) for e in events), what="down")
        await unplug
        await eventually(lambda: events.count(DeviceUp("desk")) == 2, what="up again")
        [down] = [e for e in events if isinstance(e, DeviceDown)]
        assert down.reason == f"{sim.port} closed"
        sim.scan(CODE)
        await eventually(lambda: any(isinstance(e, BarcodeScanned) for e in events))
        assert scanner.opens == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


# Run in a network namespace of its own: a scanner behind a converter on loopback, the loopback
# taken down (a converter losing power: no FIN, no RST, nothing) and brought up again (the
# converter back). Keepalive is shortened to 1 + 1 * 2 s; prints the events in order.
CONVERTER_LOSES_POWER = """
import asyncio, subprocess
from drivers import serial_link
from drivers.events import BarcodeScanned, DeviceDown, DeviceUp
from drivers.gs1_scanner import BarcodeScanner
from firmware_sim.scanner_sim import ScannerSimulator

serial_link.KEEPALIVE = serial_link.Keepalive(idle=1, interval=1, probes=2)

async def until(condition, seconds):
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)

async def main():
    sim = ScannerSimulator(tcp=True)
    await sim.start()
    events = []
    scanner = BarcodeScanner(serial_link.SerialPort("desk", sim.port, 9600), events.append)
    task = asyncio.create_task(scanner.run())
    try:
        await until(lambda: DeviceUp("desk") in events, 10)
        subprocess.run(["ip", "link", "set", "lo", "down"], check=True)
        await until(lambda: any(isinstance(e, DeviceDown) for e in events), 15)
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        await until(lambda: events.count(DeviceUp("desk")) == 2, 15)
        sim.scan("0104012345123456")
        await until(lambda: any(isinstance(e, BarcodeScanned) for e in events), 10)
    finally:
        for event in events:
            print(type(event).__name__, getattr(event, "reason", ""), sep="\t")
        task.cancel()
        await sim.stop()

asyncio.run(main())
"""


@pytest.mark.skipif(
    not private_network() or shutil.which("ip") is None,
    reason="needs root, unshare and ip for a network of its own",
)
def test_a_scanner_behind_a_converter_that_loses_power_is_down_and_reopened() -> None:
    """Nothing is ever written to a scanner and a converter that loses power closes nothing:
    keepalive probes alone find the peer gone, so the link closes, the scanner is reported down
    and reopened once the converter is back."""
    run = subprocess.run(
        in_private_network([sys.executable, "-c", CONVERTER_LOSES_POWER]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    kinds = [line.split("\t")[0] for line in run.stdout.splitlines()]
    assert kinds[:3] == ["DeviceUp", "DeviceDown", "DeviceUp"], run.stdout
    assert kinds[-1] == "BarcodeScanned", run.stdout
