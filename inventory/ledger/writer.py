"""The ledger's one writer: a thread that runs submitted calls against the keeper, as many as
are waiting in one transaction, so that they share one commit and its fsync (group commit).

A call's result is handed back only after the commit it was part of is durable. A call that
raises without having written anything (a refused change is checked before any write) gets its
exception and the group goes on; one that fails after writing takes the whole group back, and
a failed commit fails every call of the group. While one group is being committed, new calls
queue up for the next: the wait for a shared fsync is never longer than the commit before it.

The queue is bounded (`max_queue` calls waiting): when it is full, `submit` blocks its thread
and `call` (for the event loop) waits, without blocking the loop, until the writer has taken
calls off the queue. A failure to write the file at all (disk full, read-only, I/O error) is
raised as `LedgerUnavailable`, the retryable kind: the same call may succeed later.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from inventory.errors import LedgerUnavailable, is_storage_failure
from inventory.keeper import InventoryKeeper

log = logging.getLogger(__name__)
T = TypeVar("T")
Call = Callable[[InventoryKeeper], Any]
_STOP = object()


class LedgerWriter:
    """Owns the keeper on its own thread; `submit` from any thread."""

    def __init__(
        self,
        open_keeper: Callable[[], InventoryKeeper],
        max_group: int = 2000,
        max_queue: int = 100_000,
    ):
        self._open = open_keeper
        self._max_group = max_group
        # SimpleQueue (C, lock-free for the caller) is several times cheaper per call than
        # queue.Queue; the bound is kept by a semaphore with one permit per waiting call.
        self._queue: queue.SimpleQueue[tuple[Call, Future[Any]] | object] = queue.SimpleQueue()
        self._room = threading.Semaphore(max_queue)
        self._ready: Future[InventoryKeeper] = Future()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self.groups = 0
        self.calls = 0

    def start(self) -> InventoryKeeper:
        """Open the ledger on the writer thread; the keeper, for reading its configuration."""
        self._thread.start()
        return self._ready.result()

    def submit(self, call: Callable[[InventoryKeeper], T]) -> Future[T]:
        """Run `call(keeper)` on the writer; the future completes once it is durable. Blocks
        this thread while `max_queue` calls are waiting (back-pressure, not unbounded memory):
        from the event loop, use `call`."""
        self._room.acquire()
        return self._put(call)

    async def call(self, call: Callable[[InventoryKeeper], T]) -> T:
        """Run `call(keeper)` on the writer and return its result once it is durable; while
        the queue is full, wait for room without blocking the event loop."""
        if not self._room.acquire(blocking=False):
            waiting = asyncio.ensure_future(asyncio.to_thread(self._room.acquire))
            try:
                await asyncio.shield(waiting)
            except asyncio.CancelledError:
                # The thread still takes its place in the queue: give it back once it has.
                waiting.add_done_callback(lambda _: self._room.release())
                raise
        return await asyncio.wrap_future(self._put(call))

    def _put(self, call: Callable[[InventoryKeeper], T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((call, future))
        return future

    def stop(self) -> None:
        """Finish what is queued, close the ledger, end the thread."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def _run(self) -> None:
        try:
            keeper = self._open()
        except BaseException as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(keeper)
        try:
            while self._serve_group(keeper):
                pass
        finally:
            keeper.close()

    def _serve_group(self, keeper: InventoryKeeper) -> bool:
        """Run one group; False when told to stop."""
        first = self._queue.get()
        if first is _STOP:
            return False
        batch: list[tuple[Call, Future[Any]]] = [first]  # type: ignore[list-item]
        stopping = False
        while len(batch) < self._max_group:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                stopping = True
                break
            batch.append(item)  # type: ignore[arg-type]
        for _ in batch:
            self._room.release()
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with keeper.group():
                for call, future in batch:
                    if not future.set_running_or_notify_cancel():
                        continue
                    mark = write_mark(keeper)
                    try:
                        outcomes.append((future, call(keeper), None))
                    except Exception as exc:
                        if write_mark(keeper) != mark:
                            outcomes.append((future, None, exc))
                            raise  # it wrote part of itself: the whole group goes back
                        outcomes.append((future, None, exc))  # refused before writing
        except Exception as failure:
            self._fail(batch, outcomes, _classified(failure))
            return not stopping
        self.groups += 1
        self.calls += len(outcomes)
        for future, result, error in outcomes:
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(_classified(error))
        return not stopping

    @staticmethod
    def _fail(
        batch: list[tuple[Call, Future[Any]]],
        outcomes: list[tuple[Future[Any], Any, BaseException | None]],
        failure: BaseException,
    ) -> None:
        """The group's commit failed: every call that ran gets its own error or the failure,
        and the calls after the one that broke the group (never run) get the failure."""
        log.error("ledger commit failed; %d changes not written: %s", len(outcomes), failure)
        for future, _, error in outcomes:
            future.set_exception(_classified(error) if error is not None else failure)
        for _, future in batch[len(outcomes) :]:
            if future.set_running_or_notify_cancel():
                future.set_exception(failure)


def write_mark(keeper: InventoryKeeper) -> tuple[int, int]:
    """How much the keeper has written so far: two marks differ when a call wrote between."""
    return keeper.ledger.taken, keeper.db.total_changes


def _classified(exc: BaseException) -> BaseException:
    """A storage failure as the retryable `LedgerUnavailable` (the cause chained); any other
    exception as it is."""
    if isinstance(exc, LedgerUnavailable) or not is_storage_failure(exc):
        return exc
    unavailable = LedgerUnavailable(f"the ledger cannot be written: {exc}")
    unavailable.__cause__ = exc
    return unavailable
