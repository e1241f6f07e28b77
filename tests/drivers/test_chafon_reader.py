"""The Chafon reader driver against the simulated handheld over real ptys and TCP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from drivers.chafon.reader import ChafonReader
from drivers.events import (
    AntennaFault,
    DeviceDown,
    DeviceUp,
    DriverEvent,
    InventoryRoundCut,
    InventoryRoundDone,
    TagSeen,
)
from drivers.serial_link import SerialPort
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.faults import LineFaults
from firmware_sim.tags import sgtin96
from tests.conftest import eventually

EPCS = [sgtin96("4012345", "012345", n) for n in range(1, 21)]


async def start_reader(port: str) -> tuple[ChafonReader, list[DriverEvent], asyncio.Task[None]]:
    events: list[DriverEvent] = []
    reader = ChafonReader(SerialPort("handheld", port, 57600), events.append)
    return reader, events, asyncio.create_task(reader.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def epcs_seen(events: list[DriverEvent]) -> set[bytes]:
    return {e.epc for e in events if isinstance(e, TagSeen)}


async def test_answers_spread_over_several_frames_are_collected(tmp_path: Path) -> None:
    sim = ChafonSimulator(link=tmp_path / "handheld")
    await sim.start()
    sim.present(EPCS)  # 20 tags: three frames, the first two with status 0x03
    reader, events, task = await start_reader(sim.port)
    try:
        await eventually(lambda: reader.rounds >= 2, what="two complete inventories")
        assert epcs_seen(events) == set(EPCS)
        assert events[0] == DeviceUp("handheld")
        assert reader.decoder.stats.bad_checksums == 0
    finally:
        await stop(task)
        await sim.stop()


async def test_a_sweep_shows_each_group_as_the_handheld_passes(tmp_path: Path) -> None:
    sim = ChafonSimulator(link=tmp_path / "handheld")
    await sim.start()
    reader, events, task = await start_reader(sim.port)
    try:
        await eventually(lambda: reader.rounds >= 1)
        await sim.sweep([EPCS[:3], EPCS[3:6]], dwell=0.3)
        await eventually(lambda: set(EPCS[:6]) <= epcs_seen(events), what="both groups")
        order = [e.epc for e in events if isinstance(e, TagSeen)]
        assert order.index(EPCS[0]) < order.index(EPCS[3])
    finally:
        await stop(task)
        await sim.stop()


async def test_antenna_error_is_reported_and_cleared(tmp_path: Path) -> None:
    sim = ChafonSimulator(link=tmp_path / "handheld")
    await sim.start()
    sim.antenna_broken = True
    _reader, events, task = await start_reader(sim.port)
    try:
        await eventually(lambda: any(isinstance(e, AntennaFault) and not e.ok for e in events))
        sim.antenna_broken = False
        await eventually(lambda: AntennaFault("handheld", 1, ok=True) in events)
    finally:
        await stop(task)
        await sim.stop()


async def test_faulty_line_never_yields_a_wrong_tag(tmp_path: Path) -> None:
    faults = LineFaults(drop=0.002, flip=0.002, garbage=0.05, seed=11)
    sim = ChafonSimulator(link=tmp_path / "handheld", faults=faults)
    await sim.start()
    sim.present(EPCS[:10])
    reader, events, task = await start_reader(sim.port)
    try:
        await eventually(lambda: reader.rounds >= 30, timeout=30, what="rounds despite faults")
        assert faults.dropped + faults.flipped + faults.inserted > 0
        assert epcs_seen(events) <= set(EPCS[:10])
        assert reader.decoder.stats.garbage_bytes > 0
    finally:
        await stop(task)
        await sim.stop()


async def test_handheld_over_tcp_comes_back_after_the_converter_returns() -> None:
    sim = ChafonSimulator(tcp=True)
    await sim.start()
    sim.present(EPCS[:2])
    reader, events, task = await start_reader(sim.port)
    try:
        await eventually(lambda: set(EPCS[:2]) <= epcs_seen(events))
        unplug = asyncio.create_task(sim.line.unplug(1.0))
        await eventually(lambda: any(isinstance(e, DeviceDown) for e in events), what="down")
        await unplug
        rounds = reader.rounds
        await eventually(lambda: reader.rounds > rounds + 2, timeout=5, what="reading again")
        assert events.count(DeviceUp("handheld")) == 2
    finally:
        await stop(task)
        await sim.stop()


async def test_an_answer_cut_short_by_the_link_is_reported_cut_before_the_handheld_down(
    tmp_path: Path,
) -> None:
    sim = ChafonSimulator(link=tmp_path / "handheld")
    await sim.start()
    reader, events, task = await start_reader(sim.port)
    try:
        await eventually(lambda: reader.rounds >= 1, what="an inventory")
        sim.ends_withheld = 1  # the tags leave, the final frame does not
        sim.present(EPCS[:10])  # two frames, both saying more follow
        await eventually(lambda: set(EPCS[:10]) <= epcs_seen(events), what="the tags")
        await sim.line.unplug(0.1)
        await eventually(lambda: any(isinstance(e, DeviceDown) for e in events), what="down")
        cut = events.index(InventoryRoundCut("handheld", 1, 10))
        assert [type(e) for e in events[cut - 1 : cut + 2]] == [
            TagSeen,
            InventoryRoundCut,
            DeviceDown,
        ]
        rounds = reader.rounds
        await eventually(lambda: reader.rounds > rounds, timeout=5, what="reading again")
        done = [e for e in events if isinstance(e, InventoryRoundDone)]
        assert done[-1].total_reads == 10, "the cut answer's tags counted in the next round"
    finally:
        await stop(task)
        await sim.stop()
