"""Sends the outbox to the broker. A row is marked sent only after the broker's PUBACK, so a
crash, a dead link or a refused message leaves it to be sent again (at least once; consumers
deduplicate by the ids inside the payloads)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from inventory.outbox import OutboxRow
from sync.mqtt_session import MqttSession, PublishRefused
from sync.topics import Topics

log = logging.getLogger(__name__)

FetchPending = Callable[[int, int], Awaitable[list[OutboxRow]]]
MarkSent = Callable[[list[int]], Awaitable[None]]


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
    ):
        self._session = session
        self._topics = topics
        self._fetch = fetch_pending
        self._mark_sent = mark_sent
        self._batch = batch
        self._retry_after = retry_after
        self._wake = asyncio.Event()
        self.sent = 0
        self.refused = 0

    def notify(self) -> None:
        """New rows were committed (call on the event loop)."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled."""
        after_id = 0
        while True:
            await self._session.connected.wait()
            self._wake.clear()
            rows = await self._fetch(self._batch, after_id)
            if not rows:
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                except TimeoutError:
                    # Rows skipped after a refusal are retried from the start now and then.
                    after_id = 0
                continue
            after_id = await self._send(rows)

    async def _send(self, rows: list[OutboxRow]) -> int:
        """Publish `rows`, mark the acknowledged ones, and return the id to continue after."""
        futures = []
        for row in rows:
            topic, retain = self._topics.route(row)
            futures.append(self._session.publish(topic, row.payload, qos=1, retain=retain))
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked = [row.id for row, result in zip(rows, results, strict=True) if result is None]
        if acked:
            await self._mark_sent(acked)
            self.sent += len(acked)
        failed = [(row, r) for row, r in zip(rows, results, strict=True) if r is not None]
        for row, error in failed:
            if isinstance(error, PublishRefused):
                self.refused += 1
                log.error("broker refused outbox message %d (%s): %s", row.id, row.kind, error)
            elif not isinstance(error, asyncio.CancelledError):
                raise error
        if failed:
            await asyncio.sleep(self._retry_after)
        return rows[-1].id
