"""Changes that wait together for the ledger are written together: one commit (one fsync) for
a burst (a tote of tagged packs put on a shelf, a sweep's reads), each handed on in its turn
once durable, as if applied alone. A change refused before writing leaves the others be; one
that fails after writing takes its group back, and each is then applied alone, so a bad
change costs the others nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.daemon import applied as applied_module
from edge.daemon.ledger_link import TOGETHER
from inventory.changes import Book, Change, ConfirmButton
from inventory.errors import LedgerUnavailable, StockError
from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.conftest import eventually
from tests.edge.test_ledger_link import Link, made

BURST = 450  # more than two groups' worth


def received(n: int, quantity: int = 1) -> Book:
    """`quantity` packs of batch `L{n}` booked into slot A-01 (GTIN of the 100 or so of a shop)."""
    gtin = f"0401234512{n % 100:04d}"
    return Book((Movement(MovementKind.RECEIVE, gtin, quantity, batch=f"L{n}", to_slot="A-01"),))


def taken(n: int, quantity: int) -> Book:
    gtin = f"0401234512{n % 100:04d}"
    return Book((Movement(MovementKind.PICK, gtin, quantity, batch=f"L{n}", from_slot="A-01"),))


@pytest.fixture
async def link(tmp_path: Path) -> AsyncIterator[Link]:
    found = await made(tmp_path, max_waiting=1000)
    yield found
    await found.link.close()


@contextlib.asynccontextmanager
async def applying(link: Link) -> AsyncIterator[None]:
    task = asyncio.create_task(link.link.apply_changes())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def batches_on_hand(keeper: InventoryKeeper) -> dict[str, int]:
    return {line.batch: line.quantity for line in keeper.index.lines()}


async def test_a_burst_is_written_in_a_few_commits_each_change_handed_on_in_order(
    link: Link,
) -> None:
    burst = [received(n) for n in range(BURST)]
    for change in burst:
        assert link.link.offer(change)
    written: list[int] = []
    link.link.when_written(lambda: written.append(len(link.applied)))
    groups = link.link.writer.groups
    async with applying(link):
        await eventually(lambda: len(link.applied) == BURST, timeout=30, what="the burst written")
        on_hand = await link.link.ask(batches_on_hand)
    commits = link.link.writer.groups - groups
    assert commits <= -(-BURST // TOGETHER) + 1, f"{commits} commits for {BURST} changes"
    booked = [c.outcome.commits[0].movements[0].batch for c in link.applied]
    assert booked == [f"L{n}" for n in range(BURST)], "handed on out of order"
    assert on_hand == {f"L{n}": 1 for n in range(BURST)}
    assert written == [BURST], "told written before every change was handed on"


async def test_a_change_refused_inside_a_burst_leaves_the_others_written(link: Link) -> None:
    burst: list[Change] = [received(n, quantity=2) for n in range(10)]
    burst[4] = taken(4, quantity=5)  # more than there is: refused before it writes anything
    for change in burst:
        assert link.link.offer(change)
    async with applying(link):
        await eventually(lambda: len(link.applied) == 9, timeout=10, what="the others written")
        on_hand = await link.link.ask(batches_on_hand)
    assert link.counters["refused_changes"] == 1
    assert on_hand == {f"L{n}": 2 for n in range(10) if n != 4}


async def test_a_change_failing_after_it_wrote_takes_its_group_back_and_each_goes_alone(
    link: Link, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal raised after writing breaks the keeper's rule (check first, then write): the
    whole group goes back, and each change is applied again alone, the bad one refused alone
    and nothing of it kept."""
    bad = received(4)
    real = applied_module.apply_change
    tries: list[int] = []

    def apply_change(change: Change, plan, keeper: InventoryKeeper):  # type: ignore[no-untyped-def]
        result = real(change, plan, keeper)
        if change is bad:
            tries.append(1)
            raise StockError("refused after it wrote")
        return result

    monkeypatch.setattr(applied_module, "apply_change", apply_change)
    burst = [received(n) if n != 4 else bad for n in range(10)]
    for change in burst:
        assert link.link.offer(change)
    async with applying(link):
        await eventually(lambda: len(link.applied) == 9, timeout=10, what="the others written")
        on_hand = await link.link.ask(batches_on_hand)
    assert len(tries) == 2, "not tried once in the group and once alone"
    assert link.counters["refused_changes"] == 1
    assert on_hand == {f"L{n}": 1 for n in range(10) if n != 4}
    booked = [c.outcome.commits[0].movements[0].batch for c in link.applied]
    assert booked == [f"L{n}" for n in range(10) if n != 4]


async def test_changes_of_a_group_gone_back_are_held_together_should_the_disk_fail_then(
    link: Link, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Carried out one by one after their group went back, the changes still to come of it are
    held (a press answered at the shelf, kept on disk) as soon as the disk fails, as changes
    queued behind are."""
    held: list[Change] = []
    link.link.on_held = lambda change: held.append(change)  # type: ignore[assignment,func-returns-value]
    bad = received(1)
    real = applied_module.apply_change

    def apply_change(change: Change, plan, keeper: InventoryKeeper):  # type: ignore[no-untyped-def]
        result = real(change, plan, keeper)
        if change is bad:
            raise StockError("refused after it wrote")
        return result

    monkeypatch.setattr(applied_module, "apply_change", apply_change)
    real_apply = link.link._apply
    attempts: list[int] = []

    async def apply(changes: list[Change]) -> list[object]:
        attempts.append(len(changes))
        if len(attempts) in (2, 3):  # the first change carried out alone finds the disk full
            raise LedgerUnavailable("database or disk is full")
        return await real_apply(changes)  # type: ignore[return-value]

    monkeypatch.setattr(link.link, "_apply", apply)
    presses = [ConfirmButton(f"A-0{n}", 1, 0) for n in (2, 3, 4)]
    for change in (received(0), bad, *presses):
        assert link.link.offer(change)
    written = asyncio.Event()
    link.link.when_written(written.set)
    async with applying(link):
        async with asyncio.timeout(15):
            await written.wait()
    assert set(map(id, presses)) <= set(map(id, held)), "the group's presses were not held"
    assert attempts[:2] == [5, 1], "not carried out one by one after the group went back"
    assert link.counters["refused_changes"] == 1


async def test_each_change_of_a_group_counts_its_commit_time(link: Link) -> None:
    """The commit latency is each change's, from handing it over to durable: a group of many
    counts once for each of them."""
    for n in range(30):
        assert link.link.offer(received(n))
    async with applying(link):
        await eventually(lambda: len(link.applied) == 30, timeout=10, what="the burst written")
    assert link.link.writer.groups < 30
    assert link.commits is not None
    family = link.commits.family("commits", "test")
    [count] = [sample.value for sample in family.samples if sample.name.endswith("_count")]
    assert count == 30
