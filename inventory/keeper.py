"""The inventory keeper: applies movements and everything they cause, durably.

A movement changes stock; the new stock may raise or clear a shortage alarm and may call for a
procurement request. All of it (movement, stock, alarm, request and their outbox messages) is
one change, written under a savepoint. Changes run inside a transaction (`group()`): one change
alone, or many sharing one commit and its fsync. The in-memory state (slot index, live alarms,
quantities on order) follows each change at once, so the next change in the group sees it; if
the commit itself fails, that state is read back from the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from inventory.alarms.keeping import AlarmKeeping
from inventory.alarms.lifecycle import Alarm, AlarmKind, AlarmState, alarm_id, live_alarms
from inventory.codes.identifiers import PackId
from inventory.ledger.book import Ledger, StockError, plan_stock
from inventory.ledger.command_log import CommandLog
from inventory.ledger.commit import Commit, iso
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.outbox import MessageKind, Outbox, OutboxMessage, OutboxRow
from inventory.ledger.store import check_file, connect, damaged
from inventory.picking.desk import PickDesk
from inventory.picking.results import PickTimes
from inventory.putaway.desk import PutawayDesk
from inventory.replenishment.orders import OrderKeeping, RequestError
from inventory.replenishment.policy import Product, is_short
from inventory.replenishment.requests import ProcurementRequest, RequestStatus, unfinished_requests
from inventory.site_calendar import Clock, SiteCalendar
from inventory.stock.slot_index import SlotIndex, StockLine
from inventory.stocktake.desk import StocktakeDesk

__all__ = ["Clock", "Commit", "InventoryKeeper", "RequestError", "iso"]


class InventoryKeeper(AlarmKeeping, OrderKeeping):
    """Owns the ledger file and the slot index. Not thread-safe: one writer calls it."""

    def __init__(
        self,
        db_path: Path | str,
        products: Mapping[str, Product],
        site: str,
        gateway: str,
        calendar: SiteCalendar | None = None,
        integrity_check: str = "quick_check",
        pick_times: PickTimes | None = None,
        shelf_slots: Sequence[str] = (),
    ):
        self.db = connect(db_path, integrity_check=None)
        self.products = dict(products)
        self._site = site
        self._gateway = gateway
        # Dates people judge (expiry, counts) are the site's; stamps stay UTC.
        self.calendar = calendar or SiteCalendar()
        self._clock = self.calendar.clock
        self._in_group = False
        self._group_at: str | None = None
        self.picks = PickDesk(self, pick_times or PickTimes())
        self.stocktakes = StocktakeDesk(self, site)
        self.putaways = PutawayDesk(self, shelf_slots)
        self.commands = CommandLog(self.db)
        # The check reads the file on its own connection while this thread builds the index.
        with ThreadPoolExecutor(1, thread_name_prefix="ledger-check") as pool:
            verdict = pool.submit(check_file, db_path, integrity_check)
            try:
                self.ledger = Ledger(self.db)
                self.outbox = Outbox(self.db)
                self.index = SlotIndex()
                self._alarms: dict[str, Alarm] = {}
                self._requests: dict[str, ProcurementRequest] = {}
                self._load_state()
            except sqlite3.DatabaseError as exc:
                self.db.close()
                raise damaged(db_path, str(exc)) from None
            if (found := verdict.result()) != "ok":
                self.db.close()
                raise damaged(db_path, found)

    def close(self) -> None:
        """Close the ledger file."""
        self.db.close()

    # Transactions ----------------------------------------------------------------------------

    @contextmanager
    def group(self) -> Iterator[None]:
        """One transaction for every change made inside; durable when the block ends."""
        if self._in_group:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._in_group = True
        self._group_at = None
        try:
            yield
            self.ledger.flush()
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            self._load_state()  # the in-memory state ran ahead of what is on disk
            raise
        finally:
            self._in_group = False

    def seconds(self) -> float:
        """Now, as seconds since the epoch, from the keeper's clock."""
        return self._clock().timestamp()

    def stamp(self) -> str:
        """The time of the change: every change of a group is durable at the same commit, so
        they share one timestamp (taken at the group's first change)."""
        if self._group_at is None or not self._in_group:
            self._group_at = iso(self._clock())
        return self._group_at

    # Questions -------------------------------------------------------------------------------

    def on_hand(self, gtin: str) -> int:
        """Available packs of `gtin` on the shelves."""
        return self.index.on_hand(gtin)

    def line_of_epc(self, epc: str) -> StockLine | None:
        """The stock line of a tagged pack on the shelves."""
        try:
            return self._line_of(epc)
        except StockError:
            return None

    def pending_messages(self, limit: int, after_id: int = 0) -> list[OutboxRow]:
        """Outbox messages not yet acknowledged by the broker, oldest first."""
        return self.outbox.pending(limit, after_id)

    def mark_sent(self, ids: list[int]) -> None:
        """The broker acknowledged these outbox messages."""
        with self.group():
            self.outbox.mark_sent(ids, self.stamp())

    # Changes ---------------------------------------------------------------------------------

    def put_away(self, pack: PackId, slot: str, actor: str = "system", reason: str = "") -> Commit:
        """A tagged pack appeared in `slot`."""
        return self.commit(
            [
                Movement(
                    MovementKind.PUT_AWAY,
                    pack.gtin,
                    serial=pack.serial,
                    epc=pack.epc,
                    to_slot=slot,
                    actor=actor,
                    reason=reason,
                )
            ]
        )

    def take(self, epc: str, actor: str = "system", reason: str = "") -> Commit:
        """A tagged pack left its slot (picked)."""
        return self.commit([self._pack_movement(MovementKind.PICK, epc, None, actor, reason)])

    def move(self, epc: str, to_slot: str, actor: str = "system", reason: str = "") -> Commit:
        """A tagged pack went from its slot to `to_slot`."""
        return self.commit([self._pack_movement(MovementKind.MOVE, epc, to_slot, actor, reason)])

    def send(self, messages: Iterable[OutboxMessage]) -> Commit:
        """Queue messages in the outbox (with the enclosing group's changes)."""
        messages = list(messages)
        with self.group():
            self.ledger.write(self.stamp(), messages=messages)
        return Commit(messages=len(messages))

    def commit(
        self, movements: Iterable[Movement], messages: Iterable[OutboxMessage] = ()
    ) -> Commit:
        """Apply movements and what they cause (and queue `messages` with them). StockError
        (checked before anything is written) when a movement is impossible; durable when the
        enclosing group (or this call, alone) commits."""
        movements = tuple(movements)
        extra = list(messages)
        stock = plan_stock(movements, self.index.quantity_of, self.index.slot_of)
        at = self.stamp()
        alarms, requests = self._consequences(movements, at)
        messages = self._publish(alarms, requests)
        messages += extra
        requests += self._receipts(movements)
        if self._in_group:  # the usual case, on the writer: skip the context manager
            self._take(at, movements, stock, alarms, requests, messages)
        else:
            with self.group():
                self._take(at, movements, stock, alarms, requests, messages)
        return Commit(movements, tuple(alarms), tuple(requests), len(messages))

    def _consequences(
        self, movements: tuple[Movement, ...], at: str
    ) -> tuple[list[Alarm], list[ProcurementRequest]]:
        """Shortage alarms raised or cleared, and requests called for, by these movements."""
        alarms: list[Alarm] = []
        requests: list[ProcurementRequest] = []
        products = self.products
        change: dict[str, int] = {}
        for movement in movements:
            if movement.gtin in products:
                change[movement.gtin] = change.get(movement.gtin, 0) + movement.available_change()
        for gtin, delta in change.items():
            product = products[gtin]
            on_hand = self.index.on_hand(gtin) + delta
            # Only falling stock can start a shortage, only rising stock can end one: packs
            # being put away one by one on a new shelf must not each raise a request.
            for alarm in (
                self._shortage_transition(product, on_hand, delta, at),
                self._stock_out_transition(product, on_hand, at),
            ):
                if alarm is not None:
                    alarms.append(alarm)
            requests += self._requests_called_for(product, on_hand, delta, at)
        return alarms, requests

    def _take(
        self,
        at: str,
        movements: tuple[Movement, ...],
        stock: dict[tuple[str, str, str, str, str], tuple[int, int]],
        alarms: list[Alarm],
        requests: list[ProcurementRequest],
        messages: list[OutboxMessage],
    ) -> None:
        """Hand a checked change to the ledger and follow it in memory (inside a group)."""
        self.ledger.write(at, movements, stock, alarms, requests, messages)
        for movement in movements:
            self.index.apply(movement)
        for alarm in alarms:
            self._remember(alarm)
        self._follow_requests(requests)

    # Internals -------------------------------------------------------------------------------

    def _pack_movement(
        self, kind: MovementKind, epc: str, to_slot: str | None, actor: str, reason: str
    ) -> Movement:
        """A tagged pack leaving its current line (for `to_slot`, or out of stock)."""
        line = self._line_of(epc)
        return Movement(
            kind,
            line.gtin,
            serial=line.serial,
            epc=epc,
            batch=line.batch,
            expiry=line.expiry,
            from_slot=line.slot,
            to_slot=to_slot,
            actor=actor,
            reason=reason,
            from_status=line.status,
            to_status=line.status,
        )

    def _line_of(self, epc: str) -> StockLine:
        slot = self.index.slot_of(epc)
        if slot is None:
            raise StockError(f"pack {epc} is not on any shelf")
        for line in self.index.contents(slot):
            if line.epc == epc:
                return line
        raise StockError(f"pack {epc} is indexed in slot {slot} but not in its contents")

    def _stock_out_transition(self, product: Product, on_hand: int, at: str) -> Alarm | None:
        existing = self._alarms.get(alarm_id(AlarmKind.STOCK_OUT, product.gtin))
        if on_hand <= 0 and existing is None:
            detail = {"gtin": product.gtin, "name": product.name, "slots": list(product.home_slots)}
            return Alarm(AlarmKind.STOCK_OUT, product.gtin, AlarmState.RAISED, at, detail)
        if on_hand > 0 and existing is not None:
            return replace(existing, state=AlarmState.CLEARED, cleared_at=at)
        return None

    def _shortage_transition(
        self, product: Product, on_hand: int, delta: int, at: str
    ) -> Alarm | None:
        existing = self._alarms.get(alarm_id(AlarmKind.SHORTAGE, product.gtin))
        short = is_short(product, on_hand)
        if short and existing is None and delta < 0:
            detail = {
                "gtin": product.gtin,
                "name": product.name,
                "on_hand": on_hand,
                "reorder_point": product.reorder_point,
                "slots": list(product.home_slots),
            }
            return Alarm(AlarmKind.SHORTAGE, product.gtin, AlarmState.RAISED, at, detail)
        if not short and existing is not None and delta > 0:
            return replace(existing, state=AlarmState.CLEARED, cleared_at=at)
        return None

    def _publish(
        self, alarms: Iterable[Alarm], requests: Iterable[ProcurementRequest]
    ) -> list[OutboxMessage]:
        """The outbox messages that publish alarm changes and requests sent to the centre."""
        messages = [OutboxMessage(MessageKind.ALARM, a.payload(), key=a.id) for a in alarms]
        return messages + [
            OutboxMessage(
                MessageKind.PROCUREMENT_REQUEST,
                r.payload(self._site, self._gateway),
                key=r.request_id,
            )
            for r in requests
            if r.status is RequestStatus.REQUESTED
        ]

    def _load_state(self) -> None:
        """Everything kept in memory, from the file."""
        self.ledger.reload()
        self.index = SlotIndex.load(self.db)
        self._alarms = {a.id: a for a in live_alarms(self.db)}
        self._requests = {r.request_id: r for r in unfinished_requests(self.db, self.products)}
        self.picks.load()
        self.putaways.load()
