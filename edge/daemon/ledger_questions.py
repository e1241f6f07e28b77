"""Questions the daemon asks the ledger's writer (each runs there, between changes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial

from inventory.alarms.lifecycle import Alarm
from inventory.keeper import InventoryKeeper
from inventory.ledger import questions
from inventory.ledger.outbox import OutboxRow
from inventory.picking.lists import PickList
from sync.publisher import FetchPending

Ask = Callable[[Callable[[InventoryKeeper], list[OutboxRow]]], Awaitable[list[OutboxRow]]]


def placed_epcs(keeper: InventoryKeeper) -> dict[str, str]:
    """Tagged packs on the shelves: EPC -> slot."""
    return keeper.index.placed_epcs()


def commands_seen(keeper: InventoryKeeper) -> dict[str, str]:
    """Command message ids remembered (inventory.ledger.command_log): id -> expiry."""
    return keeper.commands.remembered(keeper.stamp())


def picking(keeper: InventoryKeeper) -> tuple[bool, bool]:
    """Whether pick lists are open, and whether the pick or put-away desk has timers running."""
    return (
        keeper.picks.active,
        keeper.picks.busy or keeper.putaways.busy or keeper.shelf.gone.waiting,
    )


def open_list_ids(keeper: InventoryKeeper) -> dict[str, str]:
    """The pick lists open: id -> the scanner or handheld it takes ('': every one)."""
    return {p.pick_id: p.scanner for p in keeper.picks.lists.values()}


def on_hand(gtin: str, keeper: InventoryKeeper) -> int:
    return keeper.on_hand(gtin)


def open_pick_lists(keeper: InventoryKeeper) -> list[PickList]:
    """Pick lists being worked on, oldest first (copies: safe to read on the loop)."""
    return [PickList.from_json(p.to_json()) for p in keeper.picks.by_age()]


def stock_by_slot(keeper: InventoryKeeper) -> dict[str, int]:
    """Packs on the ledger by slot."""
    return questions.stock_by_slot(keeper.db)


def newest_stamp(keeper: InventoryKeeper) -> datetime | None:
    """The newest stamp the ledger held when it was opened (None: an empty ledger)."""
    return keeper.newest_stamp


def has_movements(keeper: InventoryKeeper) -> bool:
    """Whether the ledger has booked anything yet (False: a new one, its shelves not read in)."""
    return keeper.ledger.count > 0


def live_alarms(keeper: InventoryKeeper) -> list[Alarm]:
    return keeper.alarms.live()


def all_pending(keeper: InventoryKeeper) -> list[OutboxRow]:
    return keeper.pending_messages(1_000_000)


def pending(limit: int, after_id: int, keeper: InventoryKeeper) -> list[OutboxRow]:
    return keeper.pending_messages(limit, after_id)


def pending_from(ask: Ask) -> FetchPending:
    """The publisher's fetch: pending outbox rows, through `ask`."""

    async def fetch(limit: int, after_id: int) -> list[OutboxRow]:
        return await ask(partial(pending, limit, after_id))

    return fetch
