"""The keeper's alarms: one live alarm per kind and subject, raised -> acknowledged -> cleared,
each transition stored and published (retained) in the change that caused it."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING

from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id
from inventory.ledger.book import Ledger, StockError
from inventory.ledger.commit import Commit
from inventory.ledger.outbox import MessageKind, OutboxMessage


class AlarmKeeping:
    """Part of the keeper (inventory.keeper.InventoryKeeper)."""

    _alarms: dict[str, Alarm]
    ledger: Ledger

    if TYPE_CHECKING:

        def stamp(self) -> str: ...

        def group(self) -> AbstractContextManager[None]: ...

    def live_alarms(self) -> list[Alarm]:
        """Alarms raised or acknowledged and not cleared."""
        return list(self._alarms.values())

    def raise_alarm(self, kind: AlarmKind, subject: str, detail: dict[str, object]) -> Commit:
        """Raise the alarm for `subject` unless it is live already; published with the commit."""
        if alarm_id(kind, subject) in self._alarms:
            return Commit()
        at = self.stamp()
        return self._write_alarm(Alarm(kind, subject, AlarmState.RAISED, at, dict(detail)), at)

    def clear_alarm(self, kind: AlarmKind, subject: str) -> Commit:
        """Clear the alarm for `subject` if it is live."""
        live = self._alarms.get(alarm_id(kind, subject))
        if live is None:
            return Commit()
        at = self.stamp()
        return self._write_alarm(replace(live, state=AlarmState.CLEARED, cleared_at=at), at)

    def ack_alarm(self, alarm: str, by: str) -> Commit:
        """`by` has seen the live alarm `alarm` (its id) and is on it. StockError if there is
        no such live alarm; acknowledging twice keeps the first."""
        live = self._alarms.get(alarm)
        if live is None:
            raise StockError(f"no live alarm {alarm}")
        if live.state is AlarmState.ACKNOWLEDGED:
            return Commit()
        at = self.stamp()
        acknowledged = replace(
            live, state=AlarmState.ACKNOWLEDGED, acknowledged_at=at, acknowledged_by=by
        )
        return self._write_alarm(acknowledged, at)

    def _write_alarm(self, alarm: Alarm, at: str) -> Commit:
        message = OutboxMessage(MessageKind.ALARM, alarm.payload(), key=alarm.id)
        with self.group():
            self.ledger.write(at, alarms=[alarm], messages=[message])
            self._remember(alarm)
        return Commit(alarms=(alarm,), messages=1)

    def _remember(self, alarm: Alarm) -> None:
        if alarm.live:
            self._alarms[alarm.id] = alarm
        else:
            self._alarms.pop(alarm.id, None)
