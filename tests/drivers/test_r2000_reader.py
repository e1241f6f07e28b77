"""The R2000 reader driver against the simulated reader over real ptys and TCP, at line rate."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from drivers.events import (
    AntennaFault,
    DeviceDown,
    DeviceUp,
    DriverEvent,
    InventoryRoundCut,
    InventoryRoundDone,
    TagSeen,
)
from drivers.r2000.inventory import encode_tag_row
from drivers.r2000.reader import R2000Reader
from drivers.r2000.settings import CMD_SET_OUTPUT_POWER
from drivers.serial_link import SerialPort
from firmware_sim.faults import LineFaults
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.tags import sgtin96
from tests.conftest import eventually

EPCS = [sgtin96("4012345", "012345", n) for n in range(1, 9)]


@asynccontextmanager
async def reading(
    sim: R2000Simulator, port: str | None = None, **options: object
) -> AsyncIterator[tuple[R2000Reader, list[DriverEvent]]]:
    events: list[DriverEvent] = []
    reader = R2000Reader(SerialPort("r", port or sim.port, 115200), events.append, **options)  # type: ignore[arg-type]
    task = asyncio.create_task(reader.run())
    try:
        yield reader, events
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def seen(events: list[DriverEvent]) -> set[tuple[int, bytes]]:
    return {(e.antenna, e.epc) for e in events if isinstance(e, TagSeen)}


def has(events: list[DriverEvent], wanted: Callable[[DriverEvent], bool]) -> Callable[[], bool]:
    return lambda: any(wanted(e) for e in events)


async def test_reader_cycles_its_antennas_and_reports_every_tag(tmp_path: Path) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    for epc in EPCS[:3]:
        sim.place(1, epc)
    sim.place(3, EPCS[3])
    sim.place(2, EPCS[4])  # antenna 2 is not in use: its tags must not be reported
    try:
        async with reading(sim, antennas=[1, 3], output_power_dbm=26) as (reader, events):
            await eventually(lambda: reader.rounds >= 4, what="four rounds")
            assert seen(events) == {(1, e) for e in EPCS[:3]} | {(3, EPCS[3])}
            assert events[0] == DeviceUp("r")
            assert sim.output_power == 26
            rounds = [e for e in events if isinstance(e, InventoryRoundDone)]
            assert {r.antenna for r in rounds} == {1, 3}
            assert reader.decoder.stats.bad_checksums == 0
    finally:
        await sim.stop()


async def test_antennas_five_to_eight_arrive_through_the_bank_bit(tmp_path: Path) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    sim.place(7, EPCS[0])
    try:
        async with reading(sim, antennas=[7]) as (reader, events):
            await eventually(lambda: reader.rounds >= 2)
            assert seen(events) == {(7, EPCS[0])}
    finally:
        await sim.stop()


async def test_missing_antenna_is_reported_and_its_return_too(tmp_path: Path) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    sim.place(1, EPCS[0])
    sim.place(2, EPCS[1])
    sim.missing_antennas.add(2)
    try:
        async with reading(sim, antennas=[1, 2]) as (_reader, events):
            fault = AntennaFault("r", 2, ok=False, detail="antenna missing")
            await eventually(has(events, lambda e: e == fault), what="antenna fault")
            assert seen(events) == {(1, EPCS[0])}
            sim.missing_antennas.clear()
            await eventually(has(events, lambda e: e == AntennaFault("r", 2, ok=True)))
            await eventually(lambda: (2, EPCS[1]) in seen(events))
    finally:
        await sim.stop()


async def test_a_faulty_line_loses_reads_but_never_yields_a_wrong_tag(tmp_path: Path) -> None:
    faults = LineFaults(drop=0.002, flip=0.002, garbage=0.05, seed=7)
    sim = R2000Simulator(link=tmp_path / "reader", faults=faults)
    await sim.start()
    for epc in EPCS:
        sim.place(1, epc)
    try:
        async with reading(sim, round_timeout=0.3) as (reader, events):
            await eventually(lambda: reader.rounds >= 40, timeout=30, what="rounds despite faults")
            assert faults.dropped + faults.flipped + faults.inserted > 0
            assert reader.decoder.stats.garbage_bytes > 0
            reported = {e.epc for e in events if isinstance(e, TagSeen)}
            assert reported <= set(EPCS), "a damaged EPC got through the checksum"
            assert len(reported) >= 6
    finally:
        await sim.stop()


async def test_a_row_that_lost_a_byte_on_the_line_yields_no_tag_and_the_next_row_is_read(
    tmp_path: Path,
) -> None:
    """The first row's EPC holds A0; with it lost, the row runs on into the next one, whose
    start byte is then the checksum the rest sums to."""
    on_shelf = [
        bytes.fromhex("3034257BF7194E40FBA015A7"),
        bytes.fromhex("3034257BF7194E406D2B1BE1"),
    ]
    first, second = (encode_tag_row(1, 1, epc, 0x45) for epc in on_shelf)
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    try:
        async with reading(sim) as (reader, events):
            await eventually(lambda: reader.rounds >= 2, what="rounds")
            sim.line.send(first[:16] + first[17:] + second)
            await eventually(lambda: seen(events), what="the second row")
            await eventually(lambda: reader.rounds >= 4, what="rounds after it")
            assert seen(events) == {(1, on_shelf[1])}
            assert reader.decoder.stats.misframed == 1
    finally:
        await sim.stop()


async def test_port_that_vanishes_is_reopened_when_it_returns(tmp_path: Path) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    sim.place(1, EPCS[0])
    try:
        async with reading(sim, port=str(tmp_path / "reader")) as (reader, events):
            await eventually(lambda: reader.rounds >= 1)
            unplug = asyncio.create_task(sim.line.unplug(1.0))  # the cable is pulled for 1 s
            await eventually(has(events, lambda e: isinstance(e, DeviceDown)), what="down")
            sim.place(1, EPCS[1])
            await unplug
            await eventually(lambda: (1, EPCS[1]) in seen(events), timeout=5, what="reads again")
            assert events.count(DeviceUp("r")) == 2
    finally:
        await sim.stop()


async def test_reader_behind_a_tcp_converter_heals_when_the_converter_returns() -> None:
    sim = R2000Simulator(tcp=True)
    await sim.start()
    sim.place(1, EPCS[0])
    try:
        assert sim.port.startswith("socket://127.0.0.1:")
        async with reading(sim) as (reader, events):
            await eventually(lambda: (1, EPCS[0]) in seen(events), what="reads over TCP")
            unplug = asyncio.create_task(sim.line.unplug(1.0))
            await eventually(has(events, lambda e: isinstance(e, DeviceDown)), what="down")
            await unplug
            rounds = reader.rounds
            await eventually(lambda: reader.rounds > rounds + 2, timeout=5, what="rounds again")
            assert events.count(DeviceUp("r")) == 2
    finally:
        await sim.stop()


@asynccontextmanager
async def read_on_antenna_2(sim: R2000Simulator) -> AsyncIterator[list[DriverEvent]]:
    """The reader set to antenna 2 at 25 dBm, once it has read the tag placed there."""
    await sim.start()
    sim.place(2, EPCS[0])
    try:
        async with reading(sim, antennas=(2,), output_power_dbm=25, round_timeout=0.2) as (
            _reader,
            events,
        ):
            await eventually(lambda: (2, EPCS[0]) in seen(events), what="a read on antenna 2")
            yield events
    finally:
        await sim.stop()


async def test_a_reader_restarted_behind_an_open_port_gets_its_settings_again(
    tmp_path: Path,
) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    async with read_on_antenna_2(sim) as events:
        sim.silent = True  # the module restarts: rounds go unanswered
        await eventually(has(events, lambda e: isinstance(e, DeviceDown)), what="down")
        sim.restart()
        sim.silent = False
        events.clear()
        await eventually(lambda: (2, EPCS[0]) in seen(events), what="antenna 2 again")
        # A power command sent while it was still restarting goes unanswered: it is sent
        # again before any round, so no read is made at the reader's default power.
        assert (sim.work_antenna, sim.output_power) == (2, 25)


async def test_a_reader_that_never_answers_the_power_command_still_reads(
    tmp_path: Path,
) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    sim.ignored.add(CMD_SET_OUTPUT_POWER)
    async with read_on_antenna_2(sim):
        assert sim.output_power is None


async def test_open_port_with_a_silent_reader_is_reported_down() -> None:
    done = asyncio.Event()

    async def mute(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()  # says nothing until the test ends
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events: list[DriverEvent] = []
    reader = R2000Reader(
        SerialPort("r", f"socket://127.0.0.1:{port}", 115200),
        events.append,
        round_timeout=0.1,
        command_timeout=0.05,
    )
    task = asyncio.create_task(reader.run())
    try:
        await eventually(has(events, lambda e: isinstance(e, DeviceDown)), what="down")
        down = next(e for e in events if isinstance(e, DeviceDown))
        assert "no answer" in down.reason
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        done.set()
        server.close()
        await server.wait_closed()


async def test_socat_relay_killed_and_restarted(tmp_path: Path) -> None:
    """The reader's port is a pty made by socat, relaying to the reader over TCP; killing socat
    takes the port away, as pulling a USB adapter does."""
    sim = R2000Simulator(tcp=True)
    await sim.start()
    sim.place(1, EPCS[0])
    link = tmp_path / "ttyRELAY"
    tcp = sim.port.removeprefix("socket://")

    async def relay() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            "socat",
            f"pty,raw,echo=0,link={link}",
            f"tcp:{tcp}",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await eventually(link.exists, what="socat's pty")
        return process

    socat = await relay()
    try:
        async with reading(sim, port=str(link)) as (reader, events):
            await eventually(lambda: reader.rounds >= 2, what="reads through socat")
            socat.kill()
            await socat.wait()
            await eventually(has(events, lambda e: isinstance(e, DeviceDown)), what="down")
            sim.place(1, EPCS[1])
            socat = await relay()
            await eventually(lambda: (1, EPCS[1]) in seen(events), timeout=5, what="reads again")
    finally:
        if socat.returncode is None:
            socat.kill()
            await socat.wait()
        await sim.stop()


async def test_a_converter_that_drops_each_connection_at_once_is_retried_ever_more_slowly() -> None:
    connects: list[float] = []

    async def drop(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connects.append(asyncio.get_running_loop().time())
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    events: list[DriverEvent] = []
    reader = R2000Reader(SerialPort("r", f"socket://127.0.0.1:{port}", 115200), events.append)
    task = asyncio.create_task(reader.run())
    try:
        await eventually(lambda: len(connects) >= 6, what="six connections")
        gaps = [b - a for a, b in itertools.pairwise(connects)]
        # Each try waits for its first command's answer (0.5 s), then the delay: the fifth
        # delay is 0.8-1.6 s where one reset at every connection would keep it at 0.1-0.2 s.
        assert gaps[4] > 1.1 and gaps[4] > gaps[0], f"the delays grow: {gaps}"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()
        await server.wait_closed()


async def test_a_round_whose_end_never_comes_is_reported_cut_with_its_reads(
    tmp_path: Path,
) -> None:
    sim = R2000Simulator(link=tmp_path / "reader")
    await sim.start()
    try:
        async with reading(sim, round_timeout=0.3) as (reader, events):
            await eventually(lambda: reader.rounds >= 1, what="a round")
            sim.place(1, EPCS[0])
            sim.place(1, EPCS[1])
            sim.ends_withheld = 1  # that round's end is lost on the line
            await eventually(has(events, lambda e: isinstance(e, InventoryRoundCut)), what="cut")
            rounds = reader.rounds
            await eventually(lambda: reader.rounds > rounds + 1, what="rounds again")
            assert [e for e in events if isinstance(e, InventoryRoundCut)] == [
                InventoryRoundCut("r", 1, 2)
            ], "a round that ended reported cut, or the cut one not once"
            before = events[events.index(InventoryRoundCut("r", 1, 2)) - 1]
            assert isinstance(before, TagSeen), "the cut round's end reported done"
    finally:
        await sim.stop()
