"""Radio noise on the shelf never books stock: a pack read once in passing, a pack missed for a
moment after its antenna or reader comes back. The daemon runs against a simulated R2000 reader
on a pty (antenna 1 watches A-01, antenna 2 A-02; dwell time 0.5 s)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker
from tests.conftest import eventually
from tests.edge.test_device_faults import PACKS, Rig, running


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    async for running_rig in running(Rig(tmp_path, broker)):
        yield running_rig


async def test_a_pack_missed_just_after_its_antenna_is_plugged_back_is_not_taken(
    rig: Rig,
) -> None:
    rig.reader.place(2, PACKS[1])
    await eventually(lambda: rig.kinds() == ["put_away", "put_away"], what="both packs booked")
    rig.reader.missing_antennas.add(2)  # the cable of antenna 2 is pulled
    await eventually(lambda: any("r1-antenna-2:" in t for t in rig.texts("device")))
    await asyncio.sleep(1.0)  # twice the dwell time without a round on antenna 2
    rig.reader.remove(PACKS[1])  # plugged back, the pack is missed by the first rounds
    rig.reader.missing_antennas.clear()
    await eventually(lambda: any("r1-antenna-2 works again" in t for t in rig.texts("device")))
    await asyncio.sleep(0.15)  # less than the dwell time
    rig.reader.place(2, PACKS[1])
    await asyncio.sleep(1.0)
    assert rig.kinds() == ["put_away", "put_away"], "a pack missed for a moment was booked out"


def slots_of(rig: Rig, epc: str) -> list[str]:
    with sqlite3.connect(rig.db) as conn:
        rows = conn.execute("SELECT to_slot FROM movements WHERE epc LIKE ? ORDER BY id", (epc,))
        return [r[0] for r in rows]


async def test_a_pack_carried_past_the_shelf_is_not_booked(rig: Rig) -> None:
    await eventually(lambda: rig.kinds() == ["put_away"], what="the first pack booked")
    rounds = rig.reader.rounds
    rig.reader.place(1, PACKS[2])  # read in passing, in a pharmacist's hand
    await eventually(lambda: rig.reader.rounds >= rounds + 3, what="read for a round or two")
    rig.reader.remove(PACKS[2])
    await asyncio.sleep(1.0)
    assert rig.kinds() == ["put_away"], "a pack read in passing was booked"


async def test_a_new_pack_read_by_the_neighbouring_antenna_too_is_booked_where_it_stays(
    rig: Rig,
) -> None:
    await eventually(lambda: rig.kinds() == ["put_away"], what="the first pack booked")
    rounds = rig.reader.rounds
    rig.reader.place(1, PACKS[2])  # put on A-02, read first by A-01's antenna as it passes
    await eventually(lambda: rig.reader.rounds >= rounds + 2, what="read by A-01's antenna")
    rig.reader.place(2, PACKS[2])
    await eventually(lambda: rig.reader.rounds >= rounds + 4, what="read by both antennas")
    rig.reader.remove(PACKS[2])
    rig.reader.place(2, PACKS[2])
    await eventually(lambda: len(rig.kinds()) >= 2, what="the pack booked")
    await asyncio.sleep(1.0)
    assert rig.kinds() == ["put_away", "put_away"]
    assert slots_of(rig, "%:4012345.012345.3") == ["A-02"]


async def test_a_pack_taken_past_the_neighbouring_antenna_is_not_booked_as_moved(
    rig: Rig,
) -> None:
    await eventually(lambda: rig.kinds() == ["put_away"], what="the first pack booked")
    rig.reader.remove(PACKS[0])  # taken off A-01 and carried past A-02's antenna
    rounds = rig.reader.rounds
    rig.reader.place(2, PACKS[0])
    await eventually(lambda: rig.reader.rounds >= rounds + 3, what="read by A-02's antenna")
    rig.reader.remove(PACKS[0])
    await eventually(lambda: len(rig.kinds()) >= 2, what="the pack booked out")
    await asyncio.sleep(1.0)
    assert rig.kinds() == ["put_away", "pick"]
    assert slots_of(rig, "%:4012345.012345.1") == ["A-01", None]
