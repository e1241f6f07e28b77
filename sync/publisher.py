"""Sends the outbox to the broker. A row is marked sent only after the broker's PUBACK, so a
crash, a dead link or a refused message leaves it to be sent again (at least once; consumers
deduplicate by the ids inside the payloads).

A retained topic (an alarm's state) never goes back to an older state: when the broker takes a
message, the outbox drops the older ones of the same topic still waiting (refused before, or
left waiting when the daemon stopped) instead of sending them later over it. They are logged and
counted in `superseded`.

Batches are pipelined: the next batch is fetched and handed to the session while the one before
still waits for its PUBACKs. The broker's in-flight window therefore never runs dry between
batches; without this, every batch ended in a pause as long as a delayed TCP ACK (about 40 ms on
Linux), which halved the rate.

Rows are marked sent as their PUBACKs come, not a batch at a time: the leading rows of the oldest
batch that the broker has answered, once MARK_EVERY of them wait or at least every MARK_SECONDS,
each chunk in one transaction. On a slow link a batch takes minutes to be answered; a restart in
the middle then sends again only what was not yet marked (a second at most of what was
acknowledged), and `answered` (every PUBACK collected) shows the service watchdog that the
publisher gets on while the batch is still going.

A `screen` may hold rows back or drop them at the moment they would be handed to the session
(the daemon's: copies of requests sent again, edge.inbound.settled_link); a row once handed
over is never taken back, for it may go out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial

from inventory.ledger.outbox import OutboxRow
from sync.errors import PublishRefused
from sync.mqtt_client import Answers
from sync.mqtt_session import MqttSession
from sync.topics import Topics

log = logging.getLogger(__name__)

FetchPending = Callable[[int, int], Awaitable[list[OutboxRow]]]
# Marks rows acknowledged; returns the waiting rows they superseded, dropped unsent.
MarkSent = Callable[[list[int]], Awaitable[list[OutboxRow]]]
# Of the rows fetched, those to hand to the session now, in order; the others are held back
# (looked at again when the outbox is next read from the start) or dropped by it.
Screen = Callable[[list[OutboxRow]], Awaitable[list[OutboxRow]]]


# Acknowledged rows are marked sent (one transaction each time) once this many wait, and
# however few at least every MARK_SECONDS: a restart sends again at most about a second of the
# link's work (or MARK_EVERY rows). Each mark is a commit and its fsync: chunks of 50 looked
# slower on a fast local broker's drain (docs/BENCHMARKS.md), chunks of 250 did not.
MARK_EVERY = 250
MARK_SECONDS = 1.0
# Rows skipped (refused by the broker, held back by the screen) are looked at again after a
# second without new rows; under steady traffic, after at most this many seconds all the same.
RESCAN_SECONDS = 5.0


async def _all(rows: list[OutboxRow]) -> list[OutboxRow]:
    return rows


class _Batch:
    """Rows handed to the session; what the broker answered for each, filled in as PUBACKs
    come; how many of the leading rows are answered, and how many of those are settled (marked
    sent, or counted as refused)."""

    __slots__ = (
        "answered",
        "answers",
        "failed",
        "given",
        "heard",
        "news",
        "results",
        "rows",
        "settled",
    )

    def __init__(self, rows: list[OutboxRow]):
        self.rows = rows
        self.results: Answers = [None] * len(rows)
        self.given = bytearray(len(rows))
        self.heard = 0  # answers heard one by one (a session may give only the whole batch)
        self.answered = 0
        self.settled = 0
        self.failed = False
        self.news = asyncio.Event()  # MARK_EVERY rows to settle, or the whole batch answered
        self.answers: asyncio.Future[Answers]

    def answer(self, index: int, error: BaseException | None) -> None:
        self.results[index] = error
        self.given[index] = 1
        self.heard += 1
        size, given, answered = len(self.rows), self.given, self.answered
        while answered < size and given[answered]:
            answered += 1
        self.answered = answered
        if answered - self.settled >= MARK_EVERY:
            self.news.set()

    def completed(self, _future: asyncio.Future[Answers]) -> None:
        self.news.set()


class OutboxPublisher:
    """Drains the outbox while the session is connected; `notify()` wakes it after a commit."""

    def __init__(
        self,
        session: MqttSession,
        topics: Topics,
        fetch_pending: FetchPending,
        mark_sent: MarkSent,
        batch: int = 500,
        retry_after: float = 1.0,
        batches_in_flight: int = 2,
        screen: Screen = _all,
        rescan_after: float = RESCAN_SECONDS,
    ):
        if batch < 1 or batches_in_flight < 1:
            raise ValueError("batch and batches_in_flight must be at least 1")
        self._session = session
        self._topics = topics
        self._fetch = fetch_pending
        self._mark_sent = mark_sent
        self._screen = screen
        self._batch = batch
        self._retry_after = retry_after
        self._rescan_after = rescan_after
        self._skipped_at: float | None = None  # when a row was first skipped since the last rescan
        self._most_in_flight = batches_in_flight
        self._in_flight: deque[_Batch] = deque()
        self._wake = asyncio.Event()
        self.sent = 0
        self.answered = 0  # PUBACKs collected for rows handed over (acknowledged or refused)
        self.refused = 0
        self.superseded = 0

    def notify(self) -> None:
        """New rows were committed (call on the event loop)."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Rows handed to the session and not yet settled (acknowledged and marked, or failed)."""
        return sum(len(batch.rows) - batch.settled for batch in self._in_flight)

    async def run(self) -> None:
        """Publish until cancelled."""
        after_id = 0
        try:
            while True:
                await self._session.connected.wait()
                self._wake.clear()
                if not self._in_flight and self._rescan_due():
                    after_id = self._rescan()
                rows = await self._fetch(self._batch, after_id) if self._room() else []
                if rows:
                    after_id = rows[-1].id
                    going = await self._screen(rows)
                    if len(going) < len(rows):
                        self._skipped()
                    if going:
                        self._in_flight.append(self._publish(going))
                    if self._room():
                        continue  # keep the window full: fetch the next batch now
                if self._in_flight:
                    if await self._settle(self._in_flight[0]):
                        self._in_flight.popleft()
                    continue
                try:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                    # cancel that lands as the wake does.
                    async with asyncio.timeout(1.0):
                        await self._wake.wait()
                except TimeoutError:
                    # Rows skipped after a refusal, and rows the screen held back, are looked
                    # at from the start now and then (only with nothing in flight, or rows on
                    # the wire would be sent twice).
                    after_id = self._rescan()
        finally:
            for batch in self._in_flight:
                batch.answers.cancel()
            self._in_flight.clear()

    def _room(self) -> bool:
        """Another batch may be handed over: fewer than the most in flight, and no rescan due
        (one waits for the window to empty)."""
        return len(self._in_flight) < self._most_in_flight and not self._rescan_due()

    def _skipped(self) -> None:
        if self._skipped_at is None:
            self._skipped_at = asyncio.get_running_loop().time()

    def _rescan_due(self) -> bool:
        at = self._skipped_at
        return at is not None and asyncio.get_running_loop().time() - at >= self._rescan_after

    def _rescan(self) -> int:
        """Read the outbox from the start again: the id to fetch after."""
        self._skipped_at = None
        return 0

    def _publish(self, rows: list[OutboxRow]) -> _Batch:
        """Hand `rows` to the session, in order; their answers arrive with the PUBACKs."""
        route = self._topics.route
        messages = []
        for row in rows:
            topic, retain = route(row)
            messages.append((topic, row.payload, retain))
        batch = _Batch(rows)
        batch.answers = self._session.publish_many(messages, partial(self._answer, batch))
        batch.answers.add_done_callback(batch.completed)
        return batch

    def _answer(self, batch: _Batch, index: int, error: BaseException | None) -> None:
        """The session's answer to one row of `batch` (on the loop, as its PUBACK comes)."""
        self.answered += 1
        batch.answer(index, error)

    async def _settle(self, batch: _Batch) -> bool:
        """Settle the leading rows of `batch` the broker has answered, once MARK_EVERY wait,
        the whole batch is answered or MARK_SECONDS have passed. True once all are settled."""
        if not batch.answers.done() and batch.answered - batch.settled < MARK_EVERY:
            batch.news.clear()
            try:
                async with asyncio.timeout(MARK_SECONDS):
                    await batch.news.wait()
            except TimeoutError:
                pass
        done = batch.answers.done()
        if done:
            batch.results = batch.answers.result()
            self.answered += len(batch.rows) - batch.heard  # answered as a whole
            batch.heard = batch.answered = len(batch.rows)
        end = batch.answered
        if end > batch.settled:
            await self._mark(batch, batch.settled, end)
            batch.settled = end
        if done and batch.failed:
            await asyncio.sleep(self._retry_after)
        return done

    async def _mark(self, batch: _Batch, start: int, end: int) -> None:
        """Mark rows `start:end` of `batch` sent where acknowledged (one transaction), and count
        and log those refused."""
        rows, results = batch.rows[start:end], batch.results[start:end]
        acked = [row.id for row, result in zip(rows, results, strict=True) if result is None]
        if acked:
            superseded = await self._mark_sent(acked)
            self.sent += len(acked)
            self.superseded += len(superseded)
            for row in superseded:
                log.warning(
                    "outbox message %d (%s %s) dropped unsent: the broker took a newer state of"
                    " its topic",
                    row.id,
                    row.kind,
                    row.key,
                )
        failed = [(row, r) for row, r in zip(rows, results, strict=True) if r is not None]
        for row, error in failed:
            if isinstance(error, PublishRefused):
                self.refused += 1
                log.error("broker refused outbox message %d (%s): %s", row.id, row.kind, error)
            elif not isinstance(error, asyncio.CancelledError):
                raise error
        if failed:
            batch.failed = True
            self._skipped()
