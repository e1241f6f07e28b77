"""The R2000 reader driver against the simulated reader over a real pty, at line rate."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from drivers.events import DeviceDown, DeviceUp, DriverEvent, InventoryRoundDone, TagSeen
from drivers.r2000.reader import R2000Reader
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.tags import sgtin96
from tests.conftest import eventually

EPCS = [sgtin96("4012345", "012345", n) for n in range(1, 6)]


async def test_reader_reports_every_tag_on_its_antenna(tmp_path: Path) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    for epc in EPCS[:3]:
        sim.place(1, epc)
    sim.place(3, EPCS[3])
    events: list[DriverEvent] = []
    reader = R2000Reader("r", sim.port, 115200, events.append)
    task = asyncio.create_task(reader.run())
    try:
        await eventually(lambda: reader.rounds >= 3, what="three rounds")
        seen = {(e.antenna, e.epc) for e in events if isinstance(e, TagSeen)}
        assert seen == {(1, e) for e in EPCS[:3]} | {(3, EPCS[3])}
        assert events[0] == DeviceUp("r")
        assert any(isinstance(e, InventoryRoundDone) for e in events)
        assert reader.decoder.stats.bad_checksums == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_garbage_on_the_line_is_dropped_and_reading_goes_on(tmp_path: Path) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    sim.place(2, EPCS[0])
    events: list[DriverEvent] = []
    reader = R2000Reader("r", sim.port, 115200, events.append)
    task = asyncio.create_task(reader.run())
    try:
        await eventually(lambda: reader.rounds >= 1)
        assert sim._port is not None
        os.write(sim._port.master, b"\xa0\x13\x01\x89garbage\x00\xff\xa0")
        rounds = reader.rounds
        await eventually(lambda: reader.rounds >= rounds + 3, what="rounds after garbage")
        assert reader.decoder.stats.garbage_bytes > 0
        tags = [e for e in events if isinstance(e, TagSeen)]
        assert {t.epc for t in tags} == {EPCS[0]}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()


async def test_port_that_vanishes_is_reopened_when_it_returns(tmp_path: Path) -> None:
    link = tmp_path / "reader"
    sim = R2000Simulator(link=link)
    await sim.start()
    sim.place(1, EPCS[0])
    events: list[DriverEvent] = []
    reader = R2000Reader("r", str(link), 115200, events.append)
    task = asyncio.create_task(reader.run())
    try:
        await eventually(lambda: reader.rounds >= 1)
        await sim.stop()  # the cable is pulled
        await eventually(lambda: any(isinstance(e, DeviceDown) for e in events), what="down")
        sim = R2000Simulator(link=link)  # plugged in again (a new pty behind the same name)
        await sim.start()
        sim.place(1, EPCS[1])
        await eventually(
            lambda: any(isinstance(e, TagSeen) and e.epc == EPCS[1] for e in events),
            timeout=10,
            what="reads after the port returned",
        )
        assert events.count(DeviceUp("r")) == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sim.stop()
