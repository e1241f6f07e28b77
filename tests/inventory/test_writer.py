"""Group commit: many changes share one transaction, each is acknowledged only once durable,
and a refused change does not take the others down with it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import Future
from functools import partial
from pathlib import Path

import pytest

from inventory.errors import LedgerUnavailable, Retryable, StockError
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.writer import LedgerWriter

GTIN = "04012345123456"


def receive(n: int, keeper: InventoryKeeper) -> int:
    keeper.commit([Movement(MovementKind.RECEIVE, GTIN, 1, batch=f"B{n}", to_slot="A-01")])
    return n


def impossible(keeper: InventoryKeeper) -> None:
    keeper.commit([Movement(MovementKind.PICK, GTIN, 99, batch="none", from_slot="A-01")])


@pytest.fixture
def writer(tmp_path: Path) -> LedgerWriter:
    w = LedgerWriter(partial(InventoryKeeper, tmp_path / "l.sqlite", {}, "s", "g"))
    w.start()
    yield w  # type: ignore[misc]
    w.stop()


def test_changes_waiting_together_share_commits(writer: LedgerWriter) -> None:
    gate = threading.Event()
    blocker = writer.submit(lambda keeper: gate.wait(5))  # holds the writer busy
    futures = [writer.submit(partial(receive, n)) for n in range(500)]
    gate.set()
    assert blocker.result(5)
    assert [f.result(10) for f in futures] == list(range(500))
    assert writer.calls == 501
    assert writer.groups <= 3, f"{writer.groups} commits for 500 changes queued together"
    on_hand: Future[int] = writer.submit(lambda keeper: keeper.on_hand(GTIN))
    assert on_hand.result(5) == 500


def test_a_refused_change_fails_alone(writer: LedgerWriter) -> None:
    gate = threading.Event()
    writer.submit(lambda keeper: gate.wait(5))
    before = writer.submit(partial(receive, 1))
    bad = writer.submit(impossible)
    after = writer.submit(partial(receive, 2))
    gate.set()
    assert before.result(5) == 1 and after.result(5) == 2
    with pytest.raises(StockError, match="negative"):
        bad.result(5)
    count: Future[int] = writer.submit(lambda keeper: keeper.ledger.count)
    assert count.result(5) == 2


def test_a_failed_commit_fails_every_change_of_the_group_and_state_rolls_back(
    writer: LedgerWriter,
) -> None:
    writer.submit(partial(receive, 1)).result(5)
    gate = threading.Event()
    writer.submit(lambda keeper: gate.wait(5))

    def sabotage(keeper: InventoryKeeper) -> None:
        # A deferred constraint broken inside the transaction makes the COMMIT itself fail,
        # as a disk error at commit time would.
        keeper.db.execute("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)")
        keeper.db.execute(
            "CREATE TEMP TABLE child (parent INTEGER REFERENCES parent (id)"
            " DEFERRABLE INITIALLY DEFERRED)"
        )
        keeper.db.execute("INSERT INTO child VALUES (1)")

    doomed = [writer.submit(partial(receive, n)) for n in (2, 3)]
    writer.submit(sabotage)
    gate.set()
    for future in doomed:
        with pytest.raises(Exception, match="FOREIGN KEY"):
            future.result(5)

    def recover(keeper: InventoryKeeper) -> tuple[int, int]:
        return keeper.on_hand(GTIN), keeper.ledger.count

    assert writer.submit(recover).result(5) == (1, 1)


def test_a_call_that_breaks_the_group_after_writing_fails_every_call_of_it(
    writer: LedgerWriter,
) -> None:
    gate = threading.Event()
    writer.submit(lambda keeper: gate.wait(5))
    before = writer.submit(partial(receive, 1))

    def half_written(keeper: InventoryKeeper) -> None:
        receive(2, keeper)
        raise RuntimeError("failed after writing")

    broken = writer.submit(half_written)
    after = writer.submit(partial(receive, 3))  # never runs in that group
    gate.set()
    for future in (before, broken, after):
        with pytest.raises(RuntimeError, match="failed after writing"):
            future.result(5)
    state: Future[tuple[int, int]] = writer.submit(
        lambda keeper: (keeper.on_hand(GTIN), keeper.ledger.count)
    )
    assert state.result(5) == (0, 0)


async def test_a_full_queue_makes_the_event_loop_wait_without_blocking_it(tmp_path: Path) -> None:
    writer = LedgerWriter(
        partial(InventoryKeeper, tmp_path / "l.sqlite", {}, "s", "g"), max_queue=2
    )
    await asyncio.to_thread(writer.start)
    gate = threading.Event()
    try:
        held = writer.submit(lambda keeper: gate.wait(5))  # the writer takes it and waits
        await asyncio.sleep(0.1)
        queued = [writer.submit(partial(receive, n)) for n in range(2)]  # the queue is full
        waiting = asyncio.create_task(writer.call(partial(receive, 7)))
        ticks = 0
        for _ in range(10):  # the loop goes on while the call waits for room
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 10 and not waiting.done()
        gate.set()
        assert await asyncio.wait_for(waiting, 5) == 7
        assert held.result(5) and [f.result(5) for f in queued] == [0, 1]
    finally:
        gate.set()
        await asyncio.to_thread(writer.stop)


def test_a_ledger_that_cannot_be_written_fails_as_retryable(tmp_path: Path) -> None:
    db = tmp_path / "l.sqlite"
    writer = LedgerWriter(partial(InventoryKeeper, db, {}, "s", "g"))
    writer.start()
    other = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")  # another process holds the file
        with pytest.raises(LedgerUnavailable) as caught:
            writer.submit(partial(receive, 1)).result(30)
        assert isinstance(caught.value, Retryable)
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        other.execute("COMMIT")
        assert writer.submit(partial(receive, 2)).result(5) == 2
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        writer.stop()
