"""The publishes waiting for their PUBACKs, and how paho's thread hands PUBACKs to the loop.

A single publish waits on a future of its own; a batch (`MqttSession.publish_many`) shares one
`BatchAnswers`. paho's thread queues each PUBACK (`arrived`) and wakes the loop: at once while few
messages wait, and while more than ACK_GROUP wait, once per ACK_GROUP of them, the loop collecting
the rest every ACK_WAIT s. Each wake-up hands the GIL over, so a large outbox burst keeps the
loop's share small."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from paho.mqtt.reasoncodes import ReasonCode

from sync.errors import PublishRefused
from sync.mqtt_client import BatchAnswers

ACK_GROUP = 64
ACK_WAIT = 0.005


class PubackAnswers:
    """Answers PUBACKs to the publishes that wait for them; `on_answer` is called on the loop
    whenever at least one PUBACK came."""

    def __init__(self, loop: asyncio.AbstractEventLoop, on_answer: Callable[[], None]):
        self._loop = loop
        self._on_answer = on_answer
        self._single: dict[int, asyncio.Future[int]] = {}
        self._in_batches: dict[int, tuple[BatchAnswers, int]] = {}
        self._acks: list[tuple[int, ReasonCode]] = []
        self._lock = threading.Lock()
        self._drain_scheduled = False
        self._busy = False  # more than ACK_GROUP messages wait for PUBACKs
        self._timer: asyncio.TimerHandle | None = None

    def wait_for(self, mid: int, future: asyncio.Future[int]) -> None:
        """`future` completes with the PUBACK of message `mid`: its reason code (0, or MQTT 5's
        NO_MATCHING_SUBSCRIBERS), or PublishRefused for a failure. Given on the loop, before any
        PUBACK is drained, so registering after paho's publish returns is in time."""
        self._single[mid] = future

    def wait_in_batch(self, mid: int, batch: BatchAnswers, index: int) -> None:
        """The PUBACK of message `mid` answers `batch`'s message `index`."""
        self._in_batches[mid] = (batch, index)

    def waiting(self) -> int:
        """Messages handed to paho and not yet answered."""
        return len(self._single) + len(self._in_batches)

    def arrived(self, mid: int, reason: ReasonCode) -> None:
        """paho's thread: the broker answered message `mid`."""
        with self._lock:
            self._acks.append((mid, reason))
            if self._drain_scheduled or (self._busy and len(self._acks) < ACK_GROUP):
                return
            self._drain_scheduled = True
        self._loop.call_soon_threadsafe(self.drain)

    def drain(self) -> None:
        """Answer every PUBACK queued so far (also when the link goes: none is left held)."""
        with self._lock:
            acks, self._acks = self._acks, []
            self._drain_scheduled = False
        if acks:
            self._on_answer()
        single, in_batches = self._single, self._in_batches
        for mid, reason in acks:
            waiting = in_batches.pop(mid, None)
            if waiting is not None:
                batch, index = waiting
                batch.answer(index, PublishRefused(str(reason)) if reason.is_failure else None)
                continue
            future = single.pop(mid, None)
            if future is None or future.done():
                continue
            if reason.is_failure:
                future.set_exception(PublishRefused(str(reason)))
            else:
                future.set_result(reason.value)
        self.count_waiting()

    def count_waiting(self) -> None:
        """Decide how PUBACKs are handed over, from how many messages wait for one."""
        busy = self.waiting() > ACK_GROUP
        with self._lock:
            self._busy = busy
        if busy and self._timer is None:
            self._timer = self._loop.call_later(ACK_WAIT, self._collect)

    def cancel_all(self) -> None:
        """The session stops: every waiting publish ends as cancelled."""
        for future in self._single.values():
            future.cancel()
        self._single.clear()
        for batch, index in self._in_batches.values():
            batch.answer(index, asyncio.CancelledError())  # as a cancelled single publish
        self._in_batches.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _collect(self) -> None:
        self._timer = None
        self.drain()
