"""The daemon's queue of changes to the ledger: bounded, typed, and every change it cannot take
or the keeper refuses is counted and logged with its kind and content."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drivers.modbus.lights import SlotLight
from edge.clock import Clock
from edge.daemon.applied import Applied
from edge.daemon.ledger_link import LedgerLink
from edge.daemon.storage_guard import StorageGuard
from edge.service.latency import COMMIT_BUCKETS, LatencyHistogram
from edge.service.watchdog import Heartbeats
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import Book, ClearAlarm, ConfirmButton
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind

GTIN = "04012345123456"


@dataclass
class Link:
    link: LedgerLink
    counters: Counter[str]
    applied: list[Applied] = field(default_factory=list)


def no_lights(_keeper: InventoryKeeper) -> dict[str, SlotLight]:
    return {}


async def made(tmp_path: Path, max_waiting: int = 100) -> Link:
    counters: Counter[str] = Counter()
    clock = Clock()
    found = Link(None, counters)  # type: ignore[arg-type]

    async def took(applied: Applied) -> None:
        found.applied.append(applied)

    found.link = LedgerLink(
        lambda: InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g"),
        StorageGuard(lambda _alarm: None, lambda _a: None, clock),
        Heartbeats(clock.monotonic),
        counters,
        LatencyHistogram(COMMIT_BUCKETS, clock.monotonic),
        no_lights,
        took,
        lambda _epc: None,
        max_waiting=max_waiting,
    )
    await found.link.open()
    return found


@pytest.fixture
async def link(tmp_path: Path) -> AsyncIterator[Link]:
    found = await made(tmp_path)
    yield found
    await found.link.close()


async def test_a_refused_change_is_counted_and_logged_with_its_kind_and_content(
    link: Link, caplog: pytest.LogCaptureFixture
) -> None:
    impossible = Book((Movement(MovementKind.PICK, GTIN, 5, batch="L1", from_slot="A-01"),))
    applying = asyncio.create_task(link.link.apply_changes())
    try:
        with caplog.at_level(logging.WARNING, logger="edge.daemon.ledger_link"):
            await link.link.submit(impossible)
            await link.link.submit(ClearAlarm(AlarmKind.SHORTAGE, GTIN))  # the next one goes on
            async with asyncio.timeout(10):
                while not link.applied:
                    await asyncio.sleep(0.01)
    finally:
        applying.cancel()
        await asyncio.gather(applying, return_exceptions=True)
    assert link.counters["refused_changes"] == 1
    [line] = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert line.startswith("refused Book(movements=(Movement(")
    assert "from_slot='A-01'" in line and "would make stock negative" in line


async def test_a_change_offered_to_a_full_queue_is_dropped_counted_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    found = await made(tmp_path, max_waiting=2)
    try:
        with caplog.at_level(logging.ERROR, logger="edge.daemon.ledger_link"):
            for n in range(3):  # nothing applies them: the third finds the queue full
                found.link.offer(ConfirmButton(f"A-0{n + 1}", 1, None))
        assert found.counters["changes_dropped"] == 1
        [line] = [r.getMessage() for r in caplog.records]
        assert "dropped ConfirmButton(slot='A-03', presses=1, shown=None)" in line
    finally:
        await found.link.close()
