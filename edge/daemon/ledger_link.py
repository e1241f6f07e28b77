"""The daemon's side of the ledger's writer: every change in one bounded queue, applied in order
on the writer, held and retried while the ledger cannot be written; questions answered through
the same writer.

The queue holds at most `MAX_WAITING` changes. Loops of the daemon `await submit(change)` and
wait for room; callbacks (driver events, MQTT messages) `offer(change)`, and a change offered to
a full queue is dropped, counted (`changes_dropped`) and logged with its kind and content: only a
writer stuck far longer than any commit takes lets the queue fill. A change the keeper refuses
(`Refused`: nothing of it was written) is counted (`refused_changes`) and logged the same way.

`when_written(callback)` runs the callback once every change queued before it has been written
(or refused): an MQTT message is acknowledged to the broker only then, so nothing acknowledged
is lost to a crash or a full disk. What people do at the shelf while held (presses, scans) is
kept on disk till written (`edge.daemon.action_journal`): a power cut does not lose it either.
One that cannot be kept there (the file's room used up, a read-only file system) is never
carried out, so never answered as booked, when its slot can say so: `on_unkept` tells the shelf
(till writing works again, `on_recovered`), and it is done again; one with no slot of its own
(a pick scan, a handheld read) is held in memory only.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from edge.daemon.action_journal import ActionJournal, kept_kind
from edge.daemon.applied import Applied, apply_in_turn
from edge.daemon.storage_guard import StorageGuard
from edge.lights.light_plan import LightPlan
from edge.lights.not_recorded import slot_of
from edge.service.latency import LatencyHistogram
from edge.service.watchdog import Heartbeats
from inventory.changes import Arrived, Change, Moved, RememberCommand
from inventory.errors import Refused, Retryable
from inventory.keeper import InventoryKeeper
from inventory.ledger.outbox import OutboxRow
from inventory.ledger.store import touch
from inventory.ledger.writer import LedgerWriter
from inventory.replenishment.resend import hand_over_copies

log = logging.getLogger(__name__)
T = TypeVar("T")
# Ends what a held change started, once it is written or refused; with True, shows the lights
# again (False: the applied change's own light plan follows).
Release = Callable[[bool], object]
MAX_WAITING = 10_000
CHANGES = "changes"  # the apply loop's heartbeat
TOGETHER = 50  # changes applied in one commit at the most (a burst: a tote put on a shelf)


class LedgerLink:
    """Changes in, applied results out (to `took`); `ask` for questions. Start the writer with
    `open`, run `apply_changes` as a task, `close` at the end."""

    def __init__(
        self,
        open_keeper: Callable[[], InventoryKeeper],
        storage: StorageGuard,
        beats: Heartbeats,
        counters: Counter[str],
        commits: LatencyHistogram,
        plan: Callable[[InventoryKeeper], LightPlan],
        took: Callable[[Applied], Awaitable[None]],
        forget: Callable[[str], None],
        max_waiting: int = MAX_WAITING,
    ):
        self._open_keeper = open_keeper
        self.writer = LedgerWriter(open_keeper)
        self._changes = ChangeQueue(max_waiting)
        self._storage = storage
        self._beats = beats
        self._counters = counters
        self._commits = commits
        self._plan = plan
        self._took = took
        self._forget = forget
        self._queued = 0  # changes queued so far
        self._handled = 0  # of those, written or refused
        self._waiting: deque[tuple[int, Callable[[], object]]] = deque()  # (queued then, callback)
        # Records of an outage the full queue had no room for: the apply loop takes them next.
        self._outages: deque[Change] = deque()
        # Told of each change held while the ledger cannot be written (queued then, or failing
        # to be written): what to call once it is written or refused (e.g. to end the light
        # that answered a press as if booked), or None.
        self.on_held: Callable[[Change], Release | None] = lambda _change: None
        self._held: dict[int, Release] = {}  # id of a change held -> its release
        # What people do at the shelf while held is kept on disk (None: in memory only).
        self.actions: ActionJournal | None = None
        self._kept: dict[int, RememberCommand] = {}  # id of a kept action -> it, under its key
        # Told of an action held that could not be kept on disk: passed over at its turn.
        self.on_unkept: Callable[[Change], object] = lambda _action: None
        self._unkept: set[int] = set()  # ids of those actions, till their turn
        self.on_recovered: Callable[[], object] = lambda: None  # writing works again
        self._write_failed = False  # a write failed since the ledger last worked

    async def open(self) -> None:
        """Open the ledger on the writer's thread; actions a previous run kept on disk (stopped
        while the ledger could not be written) are queued first. A ledger that cannot be opened
        raises its StoreError, and `open` may be called again."""
        try:
            await asyncio.to_thread(self.writer.start)
        except Exception:
            self.writer = LedgerWriter(self._open_keeper)  # its thread has ended: a new one
            raise
        if self.actions is not None:
            for kept in self.actions.open():
                self._kept[id(kept)] = kept
                self._queue(kept)

    async def close(self) -> None:
        """Write what is queued on the writer, close the ledger."""
        await asyncio.to_thread(self.writer.stop)
        if self.actions is not None:
            self.actions.close()

    async def submit(self, change: Change) -> None:
        """Queue a change, waiting while the queue is full."""
        await self._changes.put(change)
        self._queued += 1

    def offer(self, change: Change) -> bool:
        """Queue a change from a callback; dropped (counted, logged; False) when the queue is
        full."""
        if self._queue(change):
            if self._storage.failing:
                self._hold(change)
            return True
        self._counters["changes_dropped"] += 1
        waiting = len(self._changes)
        log.error("%d changes wait for the ledger; dropped %r", waiting, change)
        return False

    def _queue(self, change: Change) -> bool:
        """Queue a change unless the queue is full."""
        if not self._changes.put_nowait(change):
            return False
        self._queued += 1
        return True

    async def carried_out(self, change: Change) -> None:
        """Queue `change` and wait until it is written or refused (with all queued before)."""
        await self.submit(change)
        done = asyncio.Event()
        self.when_written(done.set)
        await done.wait()

    def when_written(self, callback: Callable[[], object]) -> None:
        """Run `callback` (on the loop) once every change queued so far is written or refused;
        at once when none is waiting."""
        if self._handled >= self._queued:
            callback()
        else:
            self._waiting.append((self._queued, callback))

    def ask(self, question: Callable[[InventoryKeeper], T]) -> Awaitable[T]:
        """The answer of `question(keeper)`, run on the writer; asked again while the ledger
        cannot be written (a question that shared a group with a failed commit fails with it,
        and the daemon's loops must not end for that)."""
        return self._until_written(partial(self.writer.call, question), writes=False)

    @property
    def storage_failing(self) -> bool:
        """The ledger cannot be written at the moment (changes are held)."""
        return self._storage.failing

    async def apply_changes(self) -> None:
        """Apply queued changes in order until cancelled: those waiting when the loop comes
        round (at most `TOGETHER`) in one commit."""
        while True:
            if self._outages:
                await self._carry_out([self._outages.popleft()], counted=False)
                continue
            self._beats.rest(CHANGES)  # waiting for work is no stall
            change = await self._changes.get()
            self._beats.tick(CHANGES)
            await self._carry_out([change, *self._changes.take(TOGETHER - 1)])

    async def _carry_out(
        self, changes: list[Change], counted: bool = True, behind: tuple[Change, ...] = ()
    ) -> None:
        """Apply `changes` in one commit and hand each on in turn once it is durable. Should
        the group go back (a change refused after it wrote, or failing otherwise than for the
        disk), nothing of it was written: each is then carried out alone. `behind`: changes
        taken from the queue to follow these (held with them should the disk fail)."""
        try:
            results = await self._until_written(
                partial(self._apply_once, changes),
                CHANGES,
                partial(self._hold_from, *changes, *behind),
            )
        except Exception as exc:
            if len(changes) > 1:
                log.warning("%d changes went back together (%s): one by one", len(changes), exc)
                for at, change in enumerate(changes):
                    self._beats.tick(CHANGES)
                    await self._carry_out([change], counted, tuple(changes[at + 1 :]))
                return
            if not isinstance(exc, Refused):
                raise
            results = [exc]  # refused after it wrote: the group went back
        for change, result in zip(changes, results, strict=True):
            if result is None:
                self._unkept.discard(id(change))
            elif isinstance(result, Refused):
                self._refused(change, result)
            else:
                self._released(change, show=result.plan is None)  # else its own plan shows it
                await self._took(result)
            if counted:
                self._handled_one()

    def _refused(self, change: Change, refusal: Refused) -> None:
        self._released(change, show=True)
        self._counters["refused_changes"] += 1
        log.warning("refused %r: %s", change, refusal)
        # Not on the ledger's shelves (where it arrived, or moved), so the tracker must not
        # watch it there: seen again, it is judged anew (an arrival).
        if isinstance(change, Arrived):
            self._forget(change.pack.epc)
        elif isinstance(change, Moved):
            self._forget(change.epc)

    def _released(self, change: Change, show: bool) -> None:
        if (kept := self._kept.pop(id(change), None)) is not None and self.actions is not None:
            self.actions.done(kept.message_id)
        if (release := self._held.pop(id(change), None)) is not None:
            release(show)

    def _hold_from(self, *changes: Change) -> None:
        """`changes` failed to be written: they and every change queued behind them wait."""
        for change in changes:
            self._hold(change)
        for behind in self._changes.waiting():
            self._hold(behind)

    def _hold(self, change: Change) -> None:
        """`change` waits for the ledger to be writable again: `on_held` is told, once (of a
        kept action, of the action). A press or scan is kept on disk before the shelf answers
        it (with no action file, held in memory only); one the file cannot keep is not held
        when its slot can say so, else held in memory only (a pick scan, a handheld read)."""
        if id(change) in self._held or id(change) in self._unkept:
            return
        kept = self._kept.get(id(change))
        if kept is None and kept_kind(change) and self.actions is not None:
            if (kept := self.actions.keep(change)) is not None:
                self._kept[id(change)] = kept
            elif slot_of(change) is not None:
                self._not_kept(change)
                return
            else:
                log.warning(
                    "held in memory only (a stop before writing works loses it): %r", change
                )
        action = kept.then if kept is not None and kept.then is not None else change
        self._held[id(change)] = self.on_held(action) or _unanswered

    def _not_kept(self, action: Change) -> None:
        """Neither the ledger nor the action file takes `action`: answered as booked, a person
        would take it as recorded and a stop would lose it. So it is never carried out (passed
        over at its turn, written or not by then), and `on_unkept` says so at the shelf."""
        self._unkept.add(id(action))
        self._counters["actions_not_recorded"] += 1
        log.warning("not recorded, to be done again once the storage alarm clears: %r", action)
        self.on_unkept(action)

    def _handled_one(self) -> None:
        self._handled += 1
        while self._waiting and self._waiting[0][0] <= self._handled:
            self._waiting.popleft()[1]()

    async def _apply_once(self, changes: list[Change]) -> list[Applied | Refused | None]:
        """Apply `changes`; those kept on disk (held at a failed attempt) under their keys,
        those not kept passed over (None). Should none be left while the ledger cannot be
        written, a write of nothing (`touch`) is tried in their place: retried as any, it
        says when writing works again, which nothing else may try soon (an idle desk)."""
        left = [change for change in changes if id(change) not in self._unkept]
        if not left:
            if self._storage.failing:
                await self.writer.call(lambda keeper: touch(keeper.db))
            return [None] * len(changes)
        results = await self._apply([self._kept.get(id(change), change) for change in left])
        applied = {id(change): result for change, result in zip(left, results, strict=True)}
        return [applied.get(id(change)) for change in changes]

    async def _apply(self, changes: list[Change]) -> list[Applied | Refused]:
        # Each change waited the whole group's time, from handing it over to durable.
        return await self._commits.timed(
            self.writer.call(partial(apply_in_turn, changes, self._plan)), times=len(changes)
        )

    async def mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        """The broker acknowledged these rows: recorded, held and retried while the ledger
        cannot be written (they would only be sent again, never lost). Returns the older rows
        they superseded, dropped unsent."""
        return await self._until_written(partial(self.writer.call, partial(_mark_sent, ids)))

    async def hand_over_copies(self, ids: list[int]) -> list[int]:
        """Of these waiting copies of requests sent again, those to publish now, marked handed
        over, the unwanted dropped (inventory.replenishment.resend); retried while the ledger
        cannot be written."""
        return await self._until_written(partial(self.writer.call, partial(_hand_over, ids)))

    async def _until_written(
        self,
        attempt: Callable[[], Awaitable[T]],
        beat: str | None = None,
        failed: Callable[[], None] | None = None,
        writes: bool = True,
    ) -> T:
        """Run `attempt` until the ledger takes it: `Retryable` failures are waited out with
        back-off (the loop's heartbeat `beat` kept fresh meanwhile; `failed` called at each),
        others raised. Once an attempt succeeds, the ledger works again (a question answered
        while a write fails, from a full disk, says nothing of writing: it counts only when
        questions alone failed, a ledger locked by another program): the storage alarm's raise
        and clear are queued to be written."""
        while True:
            try:
                result = await attempt()
            except Retryable as exc:
                self._write_failed = self._write_failed or writes
                self._counters["storage_failures"] += 1
                if failed is not None:
                    failed()
                await asyncio.sleep(self._storage.failed(exc))
                if beat is not None:
                    self._beats.tick(beat)  # waiting for the disk is not a stalled loop
                continue
            if not writes and self._write_failed:
                return result
            self._write_failed = False
            if (record := self._storage.recovered()) is not None:
                self.on_recovered()
                if not self._queue(record):
                    self._outages.append(record)  # never dropped: the alarm would stay raised
            return result


class ChangeQueue:
    """Changes waiting for the writer, in order, at most `size` of them."""

    def __init__(self, size: int):
        self._changes: deque[Change] = deque()
        self._size = size
        self._some = asyncio.Event()  # set while a change waits
        self._room = asyncio.Event()  # set while there is room for one more
        self._room.set()

    def __len__(self) -> int:
        return len(self._changes)

    def put_nowait(self, change: Change) -> bool:
        """Queue `change`; False (not queued) when the queue is full."""
        if len(self._changes) >= self._size:
            self._room.clear()
            return False
        self._changes.append(change)
        self._some.set()
        return True

    async def put(self, change: Change) -> None:
        """Queue `change`, waiting for room."""
        while not self.put_nowait(change):
            await self._room.wait()

    async def get(self) -> Change:
        """The oldest change, waiting for one."""
        while not self._changes:
            self._some.clear()
            await self._some.wait()
        self._room.set()
        return self._changes.popleft()

    def take(self, most: int) -> list[Change]:
        """Up to `most` of the changes waiting, oldest first, without waiting for any."""
        taken = [self._changes.popleft() for _ in range(min(most, len(self._changes)))]
        if taken:
            self._room.set()
        return taken

    def waiting(self) -> tuple[Change, ...]:
        """The changes queued, oldest first."""
        return tuple(self._changes)


def _unanswered(_show: bool) -> None:
    """The release of a held change the shelf did not answer: nothing to end."""


def _mark_sent(ids: list[int], keeper: InventoryKeeper) -> list[OutboxRow]:
    return keeper.mark_sent(ids)


def _hand_over(ids: list[int], keeper: InventoryKeeper) -> list[int]:
    with keeper.group():
        return hand_over_copies(keeper.db, ids, keeper.stamp())
