"""The daemon's side of the ledger through a failing disk: a question that shared a group with
a failed commit is asked again instead of ending the loop that asked it, and the publisher,
waiting for the disk to record what the broker acknowledged, is resting, not stalled."""

from __future__ import annotations

import asyncio
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
from inventory.keeper import InventoryKeeper
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher


async def took(_applied: Applied) -> None:
    return None


async def test_a_question_that_shared_a_failed_commit_is_asked_again(tmp_path: Path) -> None:
    guard = StorageGuard(lambda _alarm: None, lambda _activity: None, Clock())
    link = LedgerLink(
        partial(InventoryKeeper, tmp_path / "l.sqlite", {}, "s", "g"),
        guard,
        Heartbeats(),
        Counter(),
        LatencyHistogram((1.0,), time.monotonic),
        lambda _keeper: {},
        took,
        lambda _epc: None,
    )
    await link.open()
    try:
        gate = threading.Event()
        link.writer.submit(lambda _keeper: gate.wait(5))  # the writer busy: the next two share
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
