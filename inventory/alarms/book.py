"""The live alarms: one per kind and subject, raised -> acknowledged -> cleared, each transition
stored and published (retained) in the change that caused it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id, live_alarms
from inventory.errors import UnknownAlarm
from inventory.ledger.book import Ledger
from inventory.ledger.commit import Commit
from inventory.ledger.outbox import MessageKind, OutboxMessage


class AlarmBook:
    """Live alarms in memory, kept in step with the file. Writes through `ledger` at `stamp()`
    inside `group()` (the keeper's transaction)."""

    def __init__(
        self,
        ledger: Ledger,
        stamp: Callable[[], str],
        group: Callable[[], AbstractContextManager[None]],
    ):
        self._ledger = ledger
        self._stamp = stamp
        self._group = group
        self._live: dict[str, Alarm] = {}

    def load(self, db: sqlite3.Connection) -> None:
        """The live alarms, from the file (at start, and after a failed commit)."""
        self._live = {a.id: a for a in live_alarms(db)}

    def live(self) -> list[Alarm]:
        """Alarms raised or acknowledged and not cleared."""
        return list(self._live.values())

    def get(self, kind: AlarmKind, subject: str) -> Alarm | None:
        """The live alarm of `kind` for `subject`, if there is one."""
        return self._live.get(alarm_id(kind, subject))

    def find(self, alarm: str) -> Alarm | None:
        """The live alarm with the id `alarm`, if there is one."""
        return self._live.get(alarm)

    def raise_alarm(self, kind: AlarmKind, subject: str, detail: dict[str, object]) -> Commit:
        """Raise the alarm for `subject` unless it is live already; published with the commit."""
        if alarm_id(kind, subject) in self._live:
            return Commit()
        at = self._stamp()
        return self._write(Alarm(kind, subject, AlarmState.RAISED, at, dict(detail)), at)

    def keep_raised(self, kind: AlarmKind, subject: str, detail: dict[str, object]) -> Commit:
        """Raise the alarm for `subject`, or bring a live one's detail up to date (a batch's
        days left, a count that changed): published again only when its detail changed, with
        its state, raise time and acknowledgement kept (a new count is not a new alarm)."""
        live = self._live.get(alarm_id(kind, subject))
        if live is None:
            return self.raise_alarm(kind, subject, detail)
        if live.detail == detail:
            return Commit()
        return self._write(replace(live, detail=dict(detail)), self._stamp())

    def clear(self, kind: AlarmKind, subject: str) -> Commit:
        """Clear the alarm for `subject` if it is live."""
        live = self._live.get(alarm_id(kind, subject))
        if live is None:
            return Commit()
        at = self._stamp()
        return self._write(replace(live, state=AlarmState.CLEARED, cleared_at=at), at)

    def acknowledge(self, alarm: str, by: str) -> Commit:
        """`by` has seen the live alarm `alarm` (its id) and is on it. UnknownAlarm if there is
        no such live alarm; acknowledging twice keeps the first."""
        live = self._live.get(alarm)
        if live is None:
            raise UnknownAlarm(f"no live alarm {alarm}")
        if live.state is AlarmState.ACKNOWLEDGED:
            return Commit()
        at = self._stamp()
        acknowledged = replace(
            live, state=AlarmState.ACKNOWLEDGED, acknowledged_at=at, acknowledged_by=by
        )
        return self._write(acknowledged, at)

    def send_again(self, alarm: str) -> Commit:
        """Publish the live alarm `alarm` (its id) again as it is, e.g. over a state of its id
        sent to the broker from outside the ledger. UnknownAlarm if there is none."""
        live = self._live.get(alarm)
        if live is None:
            raise UnknownAlarm(f"no live alarm {alarm}")
        return self._write(live, self._stamp())

    def remember(self, alarm: Alarm) -> None:
        """Follow a transition written with a change."""
        if alarm.live:
            self._live[alarm.id] = alarm
        else:
            self._live.pop(alarm.id, None)

    def _write(self, alarm: Alarm, at: str) -> Commit:
        message = OutboxMessage(MessageKind.ALARM, alarm.payload(), key=alarm.id)
        with self._group():
            self._ledger.write(at, alarms=[alarm], messages=[message])
            self.remember(alarm)
        return Commit(alarms=(alarm,), messages=1)
