"""What one change wrote, and the timestamps changes carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from inventory.alarms import Alarm
from inventory.movements import Movement
from inventory.procurement import ProcurementRequest


def iso(moment: datetime) -> str:
    """UTC timestamp with milliseconds, as stored and published."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Commit:
    """What one change wrote: movements, alarm transitions and requests."""

    movements: tuple[Movement, ...] = ()
    alarms: tuple[Alarm, ...] = ()
    requests: tuple[ProcurementRequest, ...] = ()
    messages: int = 0
