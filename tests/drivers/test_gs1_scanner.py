"""The barcode scanner driver against the simulated scanner over a real pty."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drivers.events import BarcodeScanned, DeviceDown, DeviceUp, DriverEvent
from drivers.gs1_scanner import MAX_LINE, BarcodeScanner
from drivers.serial_link import SerialPort
from firmware_sim.scanner_sim import GS, ScannerSimulator
from tests.conftest import eventually

CODE = "0104012345123456" + "17260131" + "10ABC123" + GS + "21XYZ789"


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


async def test_noise_without_line_ends_is_dropped_not_hoarded(tmp_path: Path) -> None:
    sim = ScannerSimulator(link=tmp_path / "scanner")
    await sim.start()
    events: list[DriverEvent] = []
    scanner = BarcodeScanner(SerialPort("desk", sim.port, 115200), events.append)
    task = asyncio.create_task(scanner.run())
    try:
        await eventually(lambda: DeviceUp("desk") in events)
        sim.line.send(b"x" * (MAX_LINE + 10))
        await eventually(lambda: scanner.too_long == 1)
        sim.scan(CODE)
        await eventually(lambda: any(isinstance(e, BarcodeScanned) for e in events))
        assert [e.text for e in events if isinstance(e, BarcodeScanned)] == ["]d2" + CODE]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


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
