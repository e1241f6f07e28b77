"""Sends the outbox to the broker. A row is marked sent only after the broker's PUBACK, so a
crash, a dead link or a refused message leaves it to be sent again (at least once; consumers
deduplicate by the ids inside the payloads).

A retained topic (an alarm's state) never goes back to an older state: when the broker takes a
message, the outbox drops the older ones of the same topic still waiting (refused before, or
left waiting when the daemon stopped) instead of sending them later over it. They are logged and
counted in `superseded`.

Batches are pipelined: the next batch is fetched and handed to the session while the one before
still waits for its PUBACKs, and a batch is marked sent while later ones are on the wire. The
broker's in-flight window therefore never runs dry between batches; without this, every batch
ended in a pause as long as a delayed TCP ACK (about 40 ms on Linux), which halved the rate.

A `screen` may hold rows back or drop them at the moment they would be handed to the session
(the daemon's: copies of requests sent again, edge.inbound.settled_link); a row once handed
over is never taken back, for it may go out.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

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


async def _all(rows: list[OutboxRow]) -> list[OutboxRow]:
    return rows


@dataclass(frozen=True, slots=True)
class _Batch:
    """Rows handed to the session, and what the broker answered for each (in the same order)."""

    rows: list[OutboxRow]
    answers: asyncio.Future[Answers]


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
        self._most_in_flight = batches_in_flight
        self._in_flight: deque[_Batch] = deque()
        self._wake = asyncio.Event()
        self.sent = 0
        self.refused = 0
        self.superseded = 0

    def notify(self) -> None:
        """New rows were committed (call on the event loop)."""
        self._wake.set()

    @property
    def in_flight(self) -> int:
        """Rows handed to the session and not yet settled (acknowledged and marked, or failed)."""
        return sum(len(batch.rows) for batch in self._in_flight)

    async def run(self) -> None:
        """Publish until cancelled."""
        after_id = 0
        try:
            while True:
                await self._session.connected.wait()
                self._wake.clear()
                rows = await self._fetch(self._batch, after_id) if self._room() else []
                if rows:
                    after_id = rows[-1].id
                    if going := await self._screen(rows):
                        self._in_flight.append(self._publish(going))
                    if self._room():
                        continue  # keep the window full: fetch the next batch now
                if self._in_flight:
                    await self._settle(self._in_flight[0])
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
                    after_id = 0
        finally:
            for batch in self._in_flight:
                batch.answers.cancel()
            self._in_flight.clear()

    def _room(self) -> bool:
        return len(self._in_flight) < self._most_in_flight

    def _publish(self, rows: list[OutboxRow]) -> _Batch:
        """Hand `rows` to the session, in order; their answers arrive with the PUBACKs."""
        route = self._topics.route
        messages = []
        for row in rows:
            topic, retain = route(row)
            messages.append((topic, row.payload, retain))
        return _Batch(rows, self._session.publish_many(messages))

    async def _settle(self, batch: _Batch) -> None:
        """Wait for a batch's answers and mark the acknowledged rows sent."""
        results = await batch.answers
        rows = batch.rows
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
            await asyncio.sleep(self._retry_after)
