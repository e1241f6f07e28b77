"""The daemon's queue of changes to the ledger: bounded, typed, and every change it cannot take
or the keeper refuses is counted and logged with its kind and content. Through a failing disk:
a question that shared a group with a failed commit is asked again instead of ending the loop
that asked it, the record of the outage is never dropped, and the publisher, waiting for the
disk to record what the broker acknowledged, is resting, not stalled."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from drivers.modbus.lights import SlotLight
from edge.clock import Clock
from edge.daemon.action_journal import ActionJournal
from edge.daemon.activity import Activity
from edge.daemon.applied import Applied
from edge.daemon.devices import Devices
from edge.daemon.ledger_link import LedgerLink
from edge.daemon.storage_guard import StorageGuard, check_integrity
from edge.service.heartbeat_sources import PUBLISHER, observed_loops
from edge.service.latency import COMMIT_BUCKETS, LatencyHistogram
from edge.service.watchdog import Heartbeats
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import (
    Book,
    ClearAlarm,
    ConfirmButton,
    ExpirySweep,
    Left,
    Moved,
    RaiseAlarm,
    RememberCommand,
)
from inventory.errors import LedgerUnavailable
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher
from tests.conftest import eventually

GTIN = "04012345123456"


@dataclass
class Link:
    link: LedgerLink
    counters: Counter[str]
    guard: StorageGuard
    commits: LatencyHistogram | None = None  # how long each change took to be durable
    applied: list[Applied] = field(default_factory=list)
    forgotten: list[str] = field(default_factory=list)  # EPCs the tracker is told to forget


def no_lights(_keeper: InventoryKeeper) -> dict[str, SlotLight]:
    return {}


async def made(tmp_path: Path, max_waiting: int = 100) -> Link:
    counters: Counter[str] = Counter()
    clock = Clock()
    guard = StorageGuard(lambda _alarm: None, lambda _a: None, clock)
    found = Link(None, counters, guard, LatencyHistogram(COMMIT_BUCKETS, clock.monotonic))  # type: ignore[arg-type]

    async def took(applied: Applied) -> None:
        found.applied.append(applied)

    found.link = LedgerLink(
        lambda: InventoryKeeper(tmp_path / "l.sqlite", {}, "s", "g"),
        guard,
        Heartbeats(clock.monotonic),
        counters,
        found.commits,
        no_lights,
        took,
        found.forgotten.append,
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


async def test_a_refused_move_or_arrival_of_a_tag_makes_the_tracker_forget_it(link: Link) -> None:
    """Not on the ledger's shelves where the tracker has it: seen again, it is judged anew."""
    unknown = "urn:epc:id:sgtin:not-a-pack"
    applying = asyncio.create_task(link.link.apply_changes())
    try:
        await link.link.carried_out(Moved(unknown, "A-01", "A-02"))
        await link.link.carried_out(Left(unknown, "A-02"))  # not refused: nothing to forget
    finally:
        applying.cancel()
        await asyncio.gather(applying, return_exceptions=True)
    assert link.counters["refused_changes"] == 1
    assert link.forgotten == [unknown]


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
        assert "dropped ConfirmButton(slot='A-03', presses=1, shown=None, least_seen=())" in line
    finally:
        await found.link.close()


async def test_a_question_that_shared_a_failed_commit_is_asked_again(link: Link) -> None:
    guard, ledger = link.guard, link.link
    busy, gate = threading.Event(), threading.Event()

    def hold(_keeper: InventoryKeeper) -> None:
        busy.set()
        gate.wait(5)

    ledger.writer.submit(hold)  # the writer busy in a group: the next two share the next
    assert await asyncio.to_thread(busy.wait, 5)
    tries = Counter[str]()

    def write(keeper: InventoryKeeper) -> None:
        tries["write"] += 1
        keeper.db.execute("INSERT INTO recalls (gtin, batch, recalled_at) VALUES ('g', 'b', 't')")
        raise OSError(28, "No space left on device")

    def question(keeper: InventoryKeeper) -> int:
        tries["question"] += 1
        return keeper.outbox.depth()

    failed = ledger.writer.submit(write)
    answer = asyncio.ensure_future(ledger.ask(question))
    await asyncio.sleep(0)  # the question is queued behind the write
    gate.set()
    assert await asyncio.wait_for(answer, 10) == 0
    # The write broke the group before the question ran: it failed with it, and was asked
    # again once the disk's back-off had passed.
    assert tries == {"write": 1, "question": 1} and guard.failures == 1
    assert failed.exception() is not None and not ledger.storage_failing


async def test_the_record_of_an_outage_is_written_even_when_the_queue_is_full(
    tmp_path: Path,
) -> None:
    found = await made(tmp_path, max_waiting=1)
    guard, link = found.guard, found.link
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


async def test_the_end_of_a_write_outage_leaves_a_damaged_ledgers_alarm_live(link: Link) -> None:
    """The integrity check's alarm and a write outage's have one id (storage-ledger). Kept when
    the outage ends: the damaged ledger's alarm, live, with its own reason, published again over
    the outage's (which went straight to the broker); the outage is not recorded apart."""
    guard, ledger = link.guard, link.link
    damaged = {"reason": "*** in database main *** Page 17: btreeInitPage() returns error 11"}
    applying = asyncio.create_task(ledger.apply_changes())
    try:
        await ledger.submit(RaiseAlarm(AlarmKind.STORAGE, "ledger", damaged))
        await eventually(lambda: len(link.applied) == 1, what="the integrity check's alarm")
        guard.failed(OSError(28, "No space left on device"))  # as a failed write would
        await ledger.ask(lambda keeper: keeper.outbox.depth())  # writing works again
        await eventually(lambda: len(link.applied) == 2, what="the outage's end applied")
    finally:
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying

    def storage(keeper: InventoryKeeper) -> tuple[list[tuple[str, str]], list[str]]:
        rows = keeper.db.execute("SELECT state, detail FROM alarms WHERE kind = 'storage'")
        sent = keeper.db.execute("SELECT payload FROM outbox WHERE key = 'storage-ledger'")
        return [tuple(r) for r in rows], [r[0] for r in sent]

    alarms, messages = await ledger.ask(storage)
    assert [(state, json.loads(detail)) for state, detail in alarms] == [("raised", damaged)]
    assert len(messages) == 2 and "" not in messages, "raised, and its state again: no clear"
    assert all(json.loads(m)["detail"] == damaged for m in messages)


async def test_a_later_integrity_check_that_passes_clears_the_damaged_ledgers_alarm(
    link: Link, tmp_path: Path
) -> None:
    """The file was repaired and the daemon started again: the full check passes on the real
    file, and the alarm an earlier check raised clears (an empty retained state goes out). A
    check passing with no such alarm live changes nothing."""
    ledger, said = link.link, list[Activity]()
    damaged = {"reason": "*** in database main *** row 12 missing from index idx_stock_slot"}
    applying = asyncio.create_task(ledger.apply_changes())
    try:
        await check_integrity(tmp_path / "l.sqlite", ledger.ask, ledger.submit, said.append)
        await ledger.submit(RaiseAlarm(AlarmKind.STORAGE, "ledger", damaged))
        await eventually(lambda: len(link.applied) == 1, what="the earlier check's alarm")
        await check_integrity(tmp_path / "l.sqlite", ledger.ask, ledger.submit, said.append)
        await eventually(lambda: len(link.applied) == 2, what="the alarm cleared")
    finally:
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying

    def storage(keeper: InventoryKeeper) -> tuple[list[str], list[str]]:
        rows = keeper.db.execute("SELECT state FROM alarms WHERE kind = 'storage'")
        sent = keeper.db.execute("SELECT payload FROM outbox WHERE key = 'storage-ledger'")
        return [r[0] for r in rows], [r[0] for r in sent]

    states, messages = await ledger.ask(storage)
    assert states == ["cleared"] and len(messages) == 2 and messages[-1] == ""
    assert [a.text for a in said] == [
        "integrity check passed",
        "integrity check passed",
        "the storage alarm of an earlier check clears",
    ]


def test_the_publisher_waiting_for_the_disk_is_resting_not_stalled() -> None:
    connected = asyncio.Event()
    connected.set()
    session = cast(MqttSession, SimpleNamespace(connected=connected, connects=1))
    publisher = cast(OutboxPublisher, SimpleNamespace(answered=5, sent=5, refused=0, in_flight=3))
    failing = {"now": False}
    [loop] = [
        loop
        for loop in observed_loops(Devices(), session, publisher, lambda: failing["now"])
        if loop.name == PUBLISHER
    ]
    assert not loop.resting(), "rows in flight to a connected broker: PUBACKs must come"
    failing["now"] = True
    assert loop.resting()


async def test_presses_queued_when_the_disk_fills_are_all_held_at_once(
    link: Link, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first write to fail holds every change queued behind it too: each press waiting
    is answered at the shelf then, not only when its own turn to fail comes."""
    held: list[ConfirmButton] = []
    released: list[bool] = []

    def on_held(change: object) -> object:
        if not isinstance(change, ConfirmButton):
            return None
        held.append(change)
        return released.append

    link.link.on_held = on_held  # type: ignore[assignment]
    real_apply = link.link._apply
    full = {"disk": True}

    async def apply(changes: list[object]) -> list[object]:
        if full["disk"]:
            raise LedgerUnavailable("database or disk is full")
        return await real_apply(changes)  # type: ignore[arg-type]

    monkeypatch.setattr(link.link, "_apply", apply)
    presses = [ConfirmButton(f"A-0{n}", 1, 0) for n in (1, 2, 3)]
    for press in presses:
        assert link.link.offer(press)
    applying = asyncio.create_task(link.link.apply_changes())
    try:
        await eventually(lambda: len(held) == 3, what="every press held at the first failure")
        assert held == presses and released == []
        full["disk"] = False
        await eventually(lambda: len(released) == 3, timeout=15, what="each released once")
    finally:
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying


async def test_a_press_kept_at_its_first_failed_write_is_written_under_its_key(
    link: Link, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The press that finds the disk full is kept on disk at that failure; every later attempt
    writes it under its key (remembered with it), never bare: a stop before the file is emptied
    must not book it again at the next start."""
    journal = ActionJournal(tmp_path / "l.sqlite.actions", Clock())
    journal.open()
    link.link.actions = journal
    link.link.on_held = lambda change: lambda _show: None  # type: ignore[assignment,return-value]
    real_apply = link.link._apply
    attempts: list[object] = []
    full = {"disk": True}

    async def apply(changes: list[object]) -> list[object]:
        attempts.extend(changes)
        if full["disk"]:
            raise LedgerUnavailable("database or disk is full")
        return await real_apply(changes)  # type: ignore[arg-type]

    monkeypatch.setattr(link.link, "_apply", apply)
    press = ConfirmButton("A-01", 1, 0)
    assert link.link.offer(press)
    applying = asyncio.create_task(link.link.apply_changes())
    try:
        await eventually(lambda: len(attempts) >= 2, timeout=15, what="a retry")
        full["disk"] = False
        await eventually(lambda: link.applied, timeout=15, what="written")
    finally:
        applying.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await applying
        journal.close()
    first, *retries = attempts
    assert first is press, "not kept before its first attempt: the disk was not known full"
    assert all(a is not press for a in retries), "never written bare after it was kept"
    assert any(isinstance(a, RememberCommand) and a.then is press for a in retries)
