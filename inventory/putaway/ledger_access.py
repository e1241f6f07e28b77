"""What the put-away desk needs of the keeper: what the pick desk needs, the products, the
live alarms, the pick desk and shelf events it shares the shelves with, and whether the ledger
ever held a pack (a narrow view, not the whole keeper)."""

from __future__ import annotations

from typing import Protocol

from inventory.alarms.book import AlarmBook
from inventory.picking.desk import PickDesk
from inventory.picking.ledger_access import PickLedger
from inventory.picking.shelf_events import ShelfEvents
from inventory.replenishment.policy import Product


class PutawayLedger(PickLedger, Protocol):
    products: dict[str, Product]
    alarms: AlarmBook
    picks: PickDesk
    shelf: ShelfEvents

    def held_before(self, epc: str, gtin: str, serial: str) -> bool: ...
