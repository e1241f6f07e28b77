"""The daemon's side of the ledger through a failing disk: a question that shared a group with
a failed commit is asked again instead of ending the loop that asked it, and the publisher,
waiting for the disk to record what the broker acknowledged, is resting, not stalled."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import Counter
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import cast

from edge.clock import Clock
from edge.daemon.applied import Applied
from edge.daemon.devices import Devices
from edge.daemon.ledger_link import LedgerLink
from edge.daemon.storage_guard import StorageGuard
from edge.service.heartbeat_sources import PUBLISHER, observed_loops
from edge.service.latency import LatencyHistogram
from edge.service.watchdog import Heartbeats
from inventory.changes import ExpirySweep
from inventory.keeper import InventoryKeeper
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher
from tests.conftest import eventually


async def took(_applied: Applied) -> None:
    return None


def ledger_link(path: Path, guard: StorageGuard, max_waiting: int = 100) -> LedgerLink:
    return LedgerLink(
        partial(InventoryKeeper, path, {}, "s", "g"),
        guard,
        Heartbeats(),
        Counter(),
        LatencyHistogram((1.0,), time.monotonic),
        lambda _keeper: {},
        took,
        lambda _epc: None,
        max_waiting=max_waiting,
    )


async def test_a_question_that_shared_a_failed_commit_is_asked_again(tmp_path: Path) -> None:
    guard = StorageGuard(lambda _alarm: None, lambda _activity: None, Clock())
    link = ledger_link(tmp_path / "l.sqlite", guard)
    await link.open()
    try:
        busy, gate = threading.Event(), threading.Event()

        def hold(_keeper: InventoryKeeper) -> None:
            busy.set()
            gate.wait(5)

        link.writer.submit(hold)  # the writer busy in a group: the next two share the next
        assert await asyncio.to_thread(busy.wait, 5)
        tries = Counter[str]()

        def write(keeper: InventoryKeeper) -> None:
            tries["write"] += 1
            keeper.db.execute(
                "INSERT INTO recalls (gtin, batch, recalled_at) VALUES ('g', 'b', 't')"
            )
            raise OSError(28, "No space left on device")

        def question(keeper: InventoryKeeper) -> int:
            tries["question"] += 1
            return keeper.outbox.depth()

        failed = link.writer.submit(write)
        answer = asyncio.ensure_future(link.ask(question))
        await asyncio.sleep(0)  # the question is queued behind the write
        gate.set()
        assert await asyncio.wait_for(answer, 10) == 0
        # The write broke the group before the question ran: it failed with it, and was asked
        # again once the disk's back-off had passed.
        assert tries == {"write": 1, "question": 1} and guard.failures == 1
        assert failed.exception() is not None and not link.storage_failing
    finally:
        await link.close()


async def test_the_record_of_an_outage_is_written_even_when_the_queue_is_full(
    tmp_path: Path,
) -> None:
    guard = StorageGuard(lambda _alarm: None, lambda _activity: None, Clock())
    link = ledger_link(tmp_path / "l.sqlite", guard, max_waiting=1)
    await link.open()
    guard.failed(OSError(28, "No space left on device"))  # as a failed write would
    assert link.offer(ExpirySweep(30)) and not link.offer(ExpirySweep(30)), "queue full"
    await link.ask(lambda keeper: keeper.outbox.depth())  # writing works again: recorded
    applying = asyncio.create_task(link.apply_changes())
    try:

        def storage_alarm(keeper: InventoryKeeper) -> list[tuple[str, str]]:
            rows = keeper.db.execute("SELECT id, state FROM alarms WHERE kind = 'storage'")
            return [tuple(r) for r in rows]

        async def recorded() -> bool:
            return await link.ask(storage_alarm) == [("storage-ledger", "cleared")]

        await eventually(recorded, what="the outage recorded")
    finally:
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying
        await link.close()


def test_the_publisher_waiting_for_the_disk_is_resting_not_stalled() -> None:
    connected = asyncio.Event()
    connected.set()
    session = cast(MqttSession, SimpleNamespace(connected=connected, connects=1))
    publisher = cast(OutboxPublisher, SimpleNamespace(sent=5, refused=0, in_flight=3))
    failing = {"now": False}
    [loop] = [
        loop
        for loop in observed_loops(Devices(), session, publisher, lambda: failing["now"])
        if loop.name == PUBLISHER
    ]
    assert not loop.resting(), "rows in flight to a connected broker: PUBACKs must come"
    failing["now"] = True
    assert loop.resting()
