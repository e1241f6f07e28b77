"""What the pick desk and the shelf events need of the keeper: its clock and the site's
calendar, its transaction, the slot index, and booking movements and messages (a narrow view,
not the whole keeper)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from inventory.ledger.commit import Commit
from inventory.ledger.movements import Movement
from inventory.ledger.outbox import OutboxMessage
from inventory.site_calendar import SiteCalendar
from inventory.stock.slot_index import SlotIndex, StockLine


class PickLedger(Protocol):
    db: sqlite3.Connection
    index: SlotIndex
    calendar: SiteCalendar

    def stamp(self) -> str: ...

    def seconds(self) -> float: ...

    def group(self) -> AbstractContextManager[None]: ...

    def send(self, messages: Iterable[OutboxMessage]) -> Commit: ...

    def commit(
        self, movements: Iterable[Movement], messages: Iterable[OutboxMessage] = ()
    ) -> Commit: ...

    def take(self, epc: str, actor: str = "system", reason: str = "") -> Commit: ...

    def line_of_epc(self, epc: str) -> StockLine | None: ...
