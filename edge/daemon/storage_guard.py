"""When the ledger cannot be written (disk full, file system read-only, I/O errors): the daemon
keeps serving (readers, lights, questions), holds the change that failed and everything after
it in order, retries with back-off, and says so.

The `storage` alarm cannot go through the outbox while nothing can be written, so it is
published straight to the broker (retained) and shown in the activity log; once writing works
again the alarm's raise and clear are written to the ledger like any other, and the clear
(an empty retained message) reaches the broker through the outbox; an alarm of the same id
live for another reason (a damaged ledger, which stays raised) is kept, and its state goes out
again over the outage's (inventory.apply, RecordOutage). Nothing is acknowledged
before its commit, so nothing acknowledged is lost: the changes held are written on recovery.

A daemon stopped while the disk is full leaves the alarm at the broker with no record of it in
the ledger: the next run finds it there when it connects (edge.alarms.retained_alarms) and
writes that outage's record (`told_before`), whose clear goes out once the ledger takes it.

The same alarm says the ledger file is damaged: `check_integrity` raises it when the full check
fails, and clears it when a later check passes (the file repaired).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from edge.clock import Clock
from edge.daemon.activity import Activity, Observer
from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id
from inventory.changes import Change, ClearAlarm, RaiseAlarm, RecordOutage
from inventory.keeper import InventoryKeeper
from inventory.ledger.commit import iso
from inventory.ledger.store import check_file
from sync.mqtt_session import MqttSession
from sync.topics import Topics

log = logging.getLogger(__name__)
FIRST_RETRY, LAST_RETRY = 0.5, 10.0
SUBJECT = "ledger"
STORAGE_ALARM = alarm_id(AlarmKind.STORAGE, SUBJECT)


SendAlarm = Callable[[Alarm], None]


def straight_to_broker(session: Callable[[], MqttSession | None], topics: Topics) -> SendAlarm:
    """Publish an alarm (retained) on the session of the moment, when it is connected; else
    the broker hears of it through the outbox once writing works."""

    def send(alarm: Alarm) -> None:
        live = session()
        if live is not None and live.connected.is_set():
            live.publish(topics.alarm(alarm.id), alarm.payload(), retain=True)

    return send


class StorageGuard:
    """Tracks whether the ledger can be written; raises and clears the `storage` alarm."""

    def __init__(self, send: SendAlarm, observe: Observer, clock: Clock):
        self._send = send
        self._observe = observe
        self._clock = clock
        self.failing_since: str | None = None
        self.raised: Alarm | None = None  # the alarm as sent to the broker, while failing
        self.failures = 0
        self.retry = FIRST_RETRY

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def failed(self, exc: BaseException) -> float:
        """A write failed for storage reasons: alarm (once), and how long to wait to retry."""
        self.failures += 1
        if self.failing_since is None:
            self.failing_since = iso(self._clock.now())
            self.retry = FIRST_RETRY
            reason = f"the ledger cannot be written: {exc}"
            log.error("%s; holding changes and retrying", reason)
            self._observe(Activity("ledger", f"STORAGE: {reason}; holding changes, retrying"))
            self.raised = self._alarm(reason)
            self._send(self.raised)
        else:
            self.retry = min(self.retry * 2, LAST_RETRY)
        return self.retry

    def recovered(self) -> RecordOutage | None:
        """Writing works again: the change that records the alarm's raise and clear."""
        if self.failing_since is None:
            return None
        alarm = self._alarm("the ledger could not be written")
        self.failing_since = self.raised = None
        self._observe(Activity("ledger", "storage works again; held changes written"))
        return RecordOutage(alarm)

    def told_before(self, payload: bytes) -> RecordOutage:
        """The record of an outage an earlier run told the broker of (`payload`, the alarm it
        holds retained): its raise, as told, and its clear."""
        try:
            told = json.loads(payload)
            at, detail = str(told["raised_at"]), dict(told["detail"])
        except (ValueError, TypeError, KeyError):
            at = iso(self._clock.now())
            detail = {"reason": "the ledger could not be written", "since": at}
        return RecordOutage(Alarm(AlarmKind.STORAGE, SUBJECT, AlarmState.RAISED, at, detail))

    def _alarm(self, reason: str) -> Alarm:
        since = self.failing_since or iso(self._clock.now())
        detail: dict[str, object] = {"reason": reason, "since": since}
        return Alarm(AlarmKind.STORAGE, SUBJECT, AlarmState.RAISED, since, detail)


async def check_integrity(
    database: Path,
    ask: Callable[[Callable[[InventoryKeeper], bool]], Awaitable[bool]],
    submit: Callable[[Change], Awaitable[None]],
    observe: Observer,
) -> None:
    """The full integrity check, on a read-only connection of its own beside the daemon's
    work: a failure raises the `storage` alarm; a pass clears the alarm a check before raised
    (the file repaired since). `ask` and `submit` go through the ledger's writer."""
    verdict = await asyncio.to_thread(check_file, database)
    if verdict == "ok":
        observe(Activity("ledger", "integrity check passed"))
        if await ask(_damaged_before):
            observe(Activity("ledger", "the storage alarm of an earlier check clears"))
            await submit(ClearAlarm(AlarmKind.STORAGE, SUBJECT))
        return
    observe(Activity("ledger", f"integrity check FAILED: {verdict}"))
    await submit(RaiseAlarm(AlarmKind.STORAGE, SUBJECT, {"reason": verdict}))


def _damaged_before(keeper: InventoryKeeper) -> bool:
    """Whether the ledger holds a live `storage` alarm: only an integrity check's stays live
    in it (an outage's is written raised and cleared at once, `RecordOutage`)."""
    return keeper.alarms.get(AlarmKind.STORAGE, SUBJECT) is not None
