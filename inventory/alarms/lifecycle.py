"""Alarms: one live alarm per kind and subject, raised -> acknowledged -> cleared."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AlarmKind(StrEnum):
    SHORTAGE = "shortage"
    STOCK_OUT = "stock_out"
    NEAR_EXPIRY = "near_expiry"
    EXPIRED = "expired"
    DISCREPANCY = "discrepancy"
    UNEXPECTED_REMOVAL = "unexpected_removal"
    DEVICE_DOWN = "device_down"
    SYNC_BACKLOG = "sync_backlog"
    STORAGE = "storage"  # the ledger file is damaged or cannot be written
    REFUSED_PACK = "refused_pack"  # a delivered pack that must not reach a shelf
    DUPLICATE_PACK = "duplicate_pack"  # a delivered pack whose serial is on a shelf already
    CLOCK_BEHIND = "clock_behind"  # the wall clock reads before the ledger's newest stamp


class AlarmState(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def batch_subject(gtin: str, batch: str) -> str:
    """The subject of a batch's expiry alarms (near_expiry, expired)."""
    return f"{gtin}/{batch or '-'}"


# The alarms a batch's expiry raises, on subjects `batch_subject` names.
EXPIRY_KINDS = (AlarmKind.NEAR_EXPIRY, AlarmKind.EXPIRED)


def alarm_id(kind: AlarmKind, subject: str) -> str:
    """The stable id of the alarm for `subject`: usable as an MQTT topic level, and as a NATS
    subject token (no dot: NATS's MQTT gateway closes the connection of a client publishing
    to a topic with one). Ledgers from before hold ids with dots: migration 8 renames them
    by the same rule, each dot to `_`."""
    return f"{kind}-{_UNSAFE.sub('_', subject).replace('.', '_')}"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm as stored and published."""

    kind: AlarmKind
    subject: str
    state: AlarmState
    raised_at: str
    detail: dict[str, Any] = field(default_factory=dict)
    acknowledged_at: str | None = None
    acknowledged_by: str | None = None
    cleared_at: str | None = None

    @property
    def id(self) -> str:
        return alarm_id(self.kind, self.subject)

    @property
    def live(self) -> bool:
        return self.state is not AlarmState.CLEARED

    @property
    def ends_when_acknowledged(self) -> bool:
        """A notice of one event that nothing later may clear: a duplicate serial, a pack
        refused at a receiving scanner (no put-away session ends for it), a refused pack laid
        on a shelf all the same, or a pack taken by mistake and not put back (handed out or
        destroyed, it never comes back to a shelf). Acknowledged, someone has dealt with it,
        and it clears."""
        if self.kind in (AlarmKind.DUPLICATE_PACK, AlarmKind.UNEXPECTED_REMOVAL):
            return True
        return self.kind is AlarmKind.REFUSED_PACK and (
            self.detail.get("delivery_id") is None or self.detail.get("on_shelf") is True
        )

    def payload(self) -> str:
        """Retained state on ``alarms/{id}``; empty once cleared, which removes it at the broker."""
        if not self.live:
            return ""
        return json.dumps(
            {
                "alarm_id": self.id,
                "kind": str(self.kind),
                "subject": self.subject,
                "state": str(self.state),
                "raised_at": self.raised_at,
                "acknowledged_at": self.acknowledged_at,
                "acknowledged_by": self.acknowledged_by,
                "detail": self.detail,
            },
            separators=(",", ":"),
        )


def live_alarms(db: sqlite3.Connection) -> list[Alarm]:
    """Alarms in the file that are raised or acknowledged."""
    rows = db.execute(
        "SELECT kind, subject, state, raised_at, detail, acknowledged_at, acknowledged_by"
        " FROM alarms WHERE state != ?",
        (str(AlarmState.CLEARED),),
    )
    return [
        Alarm(AlarmKind(r[0]), r[1], AlarmState(r[2]), r[3], json.loads(r[4]), r[5], r[6])
        for r in rows
    ]
