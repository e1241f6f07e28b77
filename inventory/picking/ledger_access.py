"""What the desks need of the keeper (a narrow view, not the whole keeper): its transaction and
the time of it, the site's calendar, the slot index, booking movements and messages, and what
the ledger and the put-away desk know of a pack back on a shelf; the pick desk and the shelf
events also its clock, picking a tagged pack, and what a failed transaction takes back of what
they keep in memory only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Protocol

from inventory.codes.identifiers import PackId
from inventory.ledger.commit import Commit
from inventory.ledger.movements import Movement
from inventory.ledger.outbox import OutboxMessage
from inventory.ledger.rollback import RollbackLog
from inventory.putaway.sessions import RefusedPack
from inventory.site_calendar import SiteCalendar
from inventory.stock.slot_index import SlotIndex, StockLine


class DeskLedger(Protocol):
    db: sqlite3.Connection
    index: SlotIndex
    calendar: SiteCalendar

    def stamp(self) -> str: ...

    def group(self) -> AbstractContextManager[None]: ...

    def send(self, messages: Iterable[OutboxMessage]) -> Commit: ...

    def send_result(
        self, command: str, command_id: str, status: str, **fields: object
    ) -> Commit: ...

    def commit(
        self, movements: Iterable[Movement], messages: Iterable[OutboxMessage] = ()
    ) -> Commit: ...

    def line_of_epc(self, epc: str) -> StockLine | None: ...

    def known_dates(self, epc: str, gtin: str, serial: str) -> tuple[str, str | None]: ...

    def left_held(self, epc: str) -> bool: ...

    def refused_pack(self, pack: PackId) -> RefusedPack | None: ...

    def refused_held(self, line: StockLine) -> Commit: ...


class PickLedger(DeskLedger, Protocol):
    rollback: RollbackLog

    def seconds(self) -> float: ...

    def take(self, epc: str, actor: str = "system", reason: str = "") -> Commit: ...
