"""Durations the gateway measures for its metrics: how long a change takes to become durable in
the ledger, and how long an outbox message waits for the broker's PUBACK.

Observations happen on the event loop and cost a bisect and two additions; the scrape thread
reads a copy of the bucket counts. Publish latency is taken from the outside of the publisher:
the time its rows were fetched from the outbox (it publishes them at once) to the time it
marks them sent, before that mark's commit: in chunks, each row once it and the rows before it
have their PUBACKs, when MARK_EVERY wait, its batch is answered, or MARK_SECONDS have passed
(sync.publisher).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from prometheus_client.core import HistogramMetricFamily

from inventory.ledger.outbox import OutboxRow
from sync.publisher import FetchPending, MarkSent

T = TypeVar("T")

# A commit waits for one fsync, behind at most one group before it.
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# A PUBACK comes within milliseconds on a LAN; a message sent just before the link went down
# waits until it is back.
PUBLISH_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    120.0,
)
# Rows fetched but never marked sent (refused by the broker) are forgotten past this many.
MOST_TIMED_ROWS = 100_000


class LatencyHistogram:
    """Counts of durations per bucket (upper bounds in seconds), their sum, their count."""

    def __init__(self, bounds: Sequence[float], clock: Callable[[], float]):
        self.bounds = tuple(sorted(bounds))
        self._clock = clock  # monotonic seconds
        self._counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound
        self._sum = 0.0

    def observe(self, seconds: float, times: int = 1) -> None:
        """Count `times` durations of `seconds` each."""
        self._counts[bisect_left(self.bounds, seconds)] += times
        self._sum += seconds * times

    async def timed(self, awaitable: Awaitable[T], times: int = 1) -> T:
        """Await `awaitable` and count how long it took, `times` over (only when it succeeds)."""
        started = self._clock()
        result = await awaitable
        self.observe(self._clock() - started, times)
        return result

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        """The histogram as Prometheus exposes it: cumulative buckets, sum and count."""
        counts, total = list(self._counts), self._sum
        buckets: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip(self.bounds, counts, strict=False):
            running += count
            buckets.append((_bound(bound), running))
        buckets.append(("+Inf", running + counts[-1]))
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=total)


class PublishTimer:
    """Wraps the publisher's outbox calls to time each row from fetch to acknowledgement."""

    def __init__(self, histogram: LatencyHistogram, clock: Callable[[], float]):
        self.histogram = histogram
        self._clock = clock  # monotonic seconds
        self._fetched_at: dict[int, float] = {}

    def fetching(self, fetch: FetchPending) -> FetchPending:
        """`fetch`, noting when each row it returns was handed to the publisher."""

        async def fetch_and_note(limit: int, after_id: int) -> list[OutboxRow]:
            rows = await fetch(limit, after_id)
            if rows:
                if len(self._fetched_at) > MOST_TIMED_ROWS:
                    self._fetched_at.clear()
                self._fetched_at.update(dict.fromkeys((row.id for row in rows), self._clock()))
            return rows

        return fetch_and_note

    def marking(self, mark_sent: MarkSent) -> MarkSent:
        """`mark_sent`, counting how long each acknowledged row took since it was fetched."""

        async def note_and_mark(ids: list[int]) -> list[OutboxRow]:
            now, fetched_at = self._clock(), self._fetched_at
            started = Counter(fetched_at.pop(i, None) for i in ids)
            for at, rows in started.items():
                if at is not None:
                    self.histogram.observe(now - at, rows)
            return await mark_sent(ids)

        return note_and_mark


def _bound(bound: float) -> str:
    return repr(float(bound))
