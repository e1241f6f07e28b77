"""What one change wrote, and the timestamps changes carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations alone: `iso` is wanted where the stock policy is not
    from inventory.alarms.lifecycle import Alarm
    from inventory.ledger.movements import Movement
    from inventory.replenishment.requests import ProcurementRequest


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
