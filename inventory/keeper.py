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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from inventory.alarms.book import AlarmBook
from inventory.alarms.lifecycle import Alarm
from inventory.codes.identifiers import PackId
from inventory.errors import StockError, is_storage_failure
from inventory.ledger.book import Ledger, plan_stock
from inventory.ledger.command_log import CommandLog
from inventory.ledger.commit import Commit, iso
from inventory.ledger.movements import Movement, MovementKind
from inventory.ledger.outbox import MessageKind, Outbox, OutboxMessage, OutboxRow
from inventory.ledger.rollback import RollbackLog
from inventory.ledger.store import check_file, connect, damaged
from inventory.picking.desk import PickDesk
from inventory.picking.results import PickTimes, Reply, message
from inventory.picking.shelf_events import ShelfEvents
from inventory.putaway.desk import PutawayDesk
from inventory.putaway.sessions import RefusedPack
from inventory.replenishment.orders import OrderBook
from inventory.replenishment.policy import Product, ProductTable
from inventory.replenishment.requests import ProcurementRequest, RequestStatus
from inventory.site_calendar import Clock, SiteCalendar
from inventory.stock.expiry_alarms import follow_batches
from inventory.stock.slot_index import SlotIndex, StockLine
from inventory.stocktake.desk import StocktakeDesk

__all__ = ["Clock", "Commit", "InventoryKeeper", "iso"]


class InventoryKeeper:
    """Owns the ledger file, the slot index and the parts that keep what follows from stock:
    `alarms`, `orders` (procurement requests), `picks` (pick lists), `shelf` (packs taken,
    scanned and put back at the shelf), `putaways` (deliveries guided to their slots) and
    `stocktakes`. Not thread-safe: one writer calls it."""

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
        seconds: Callable[[], float] | None = None,
        watched_slots: Collection[str] | None = None,
    ):
        self.db = connect(db_path, integrity_check=None)
        self.products = dict(products)
        self._site = site
        self._gateway = gateway
        # Dates people judge (expiry, counts) are the site's; stamps stay UTC.
        self.calendar = calendar or SiteCalendar()
        self._clock = self.calendar.clock
        # Idle times and deadlines: a clock that no NTP step moves, when the daemon gives one.
        self._seconds = seconds or (lambda: self._clock().timestamp())
        self._in_group = False
        self._group_at: str | None = None
        self.rollback = RollbackLog()  # memory-only changes a failed transaction takes back
        self._reply: Reply | None = None  # the command message being carried out
        # The latest expiry sweep's warning days: near-expiry alarms follow packs by them.
        self.near_days: int | None = None
        self.commands = CommandLog(self.db)
        # The check reads the file on its own connection while this thread builds the index.
        with ThreadPoolExecutor(1, thread_name_prefix="ledger-check") as pool:
            verdict = pool.submit(check_file, db_path, integrity_check)
            try:
                self.ledger = Ledger(self.db)
                self.outbox = Outbox(self.db)
                self.index = SlotIndex()
                self.alarms = AlarmBook(self.ledger, self.stamp, self.group)
                self.orders = OrderBook(self.products, self.db, self, self.alarms)
                self.picks = PickDesk(
                    self,
                    self.alarms,
                    self.orders,
                    pick_times or PickTimes(),
                    held_colours=lambda: self.putaways.colours(),
                )
                self.shelf = ShelfEvents(self.picks, self, self.alarms)
                self.putaways = PutawayDesk(self, shelf_slots, watched_slots)
                self.stocktakes = StocktakeDesk(
                    self, self.alarms, site, lambda: self.picks.recalled
                )
                self._load_state()
                # Before this run writes: a wall clock behind it is plainly wrong.
                self.newest_stamp = self.ledger.newest_stamp()
            except sqlite3.DatabaseError as exc:
                self.db.close()
                raise damaged(db_path, str(exc)) from None
            if (found := verdict.result()) != "ok":
                self.db.close()
                raise damaged(db_path, found)
        self._recover(db_path)

    def _recover(self, db_path: Path | str) -> None:
        """At open only (never on a reload): sweeps a stop cut short are kept abandoned. A file
        that cannot be written now (full, locked) is not damaged: they wait for the next open."""
        try:
            self.stocktakes.recover()
        except sqlite3.Error as exc:
            if is_storage_failure(exc):
                return
            self.db.close()
            raise damaged(db_path, str(exc)) from None

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
        self._in_group, self._group_at = True, None
        self.rollback.begin()
        try:
            yield
            self.ledger.flush()
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            try:
                self._load_state()  # the in-memory state ran ahead of what is on disk
            finally:
                self.rollback.failed()
            raise
        finally:
            self._in_group = False

    @contextmanager
    def answering(self, reply: Reply) -> Iterator[None]:
        """Inside: what is carried out answers the command message `reply` names, and its
        answers on `cmd-result` say so (`Reply.mark`)."""
        outer, self._reply = self._reply, reply
        try:
            yield
        finally:
            self._reply = outer

    def seconds(self) -> float:
        """Now, as seconds since the epoch, for idle times and deadlines (pick lists, put-away
        sessions, mistakes shown): the daemon's steady clock, else the keeper's clock."""
        return self._seconds()

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

    def shortages(self) -> list[Product]:
        """Products whose stock on hand and on order for the shelf (not what is owed to short
        pick lists) is at or below their reorder point: one vectorized pass over every product
        (the slot index keeps on-hand per GTIN in arrays)."""
        table = ProductTable(list(self.products.values()), self.index)
        return table.shortages(self.orders.unclaimed_by_gtin())

    def pending_messages(self, limit: int, after_id: int = 0) -> list[OutboxRow]:
        """Outbox messages not yet acknowledged by the broker, oldest first."""
        return self.outbox.pending(limit, after_id)

    def mark_sent(self, ids: list[int]) -> list[OutboxRow]:
        """The broker acknowledged these outbox messages; returns the older ones they
        superseded, dropped unsent (`Outbox.mark_sent`)."""
        with self.group():
            return self.outbox.mark_sent(ids, self.stamp())

    def known_dates(self, epc: str, gtin: str, serial: str) -> tuple[str, str | None]:
        """The batch and expiry the ledger last knew a pack by ('' and None: never booked)."""
        return self.ledger.held_before(epc, gtin, serial) or ("", None)

    def held_before(self, epc: str, gtin: str, serial: str) -> bool:
        """Whether the ledger ever booked this pack (by its tag, or by its GTIN and serial),
        of a known batch or not."""
        return self.ledger.held_before(epc, gtin, serial) is not None

    def left_held(self, epc: str) -> bool:
        """Whether this tagged pack last left the shelves while it was quarantined (written
        off, booked out by a count), not released since (`Ledger.left_held`)."""
        return self.ledger.left_held(epc)

    def refused_pack(self, pack: PackId) -> RefusedPack | None:
        """What a delivery refusing this pack as one that must not reach a shelf scanned of
        it, and why; None when none did lately (`PutawayDesk.refused`)."""
        return self.putaways.refused(pack)

    def refused_held(self, line: StockLine) -> Commit:
        """The alarm of a refused pack booked quarantined in `line` (`PutawayDesk`)."""
        return self.putaways.refused_held(line)

    # Changes ---------------------------------------------------------------------------------

    def put_away(self, pack: PackId, slot: str, actor: str = "system", reason: str = "") -> Commit:
        """A tagged pack appeared in `slot`: put away, or returned when the ledger moved it
        before (taken off the shelf and brought back), which delivers nothing toward an open
        request; a pack returned keeps the batch and expiry the ledger knew it by."""
        held = self.ledger.held_before(pack.epc, pack.gtin, pack.serial)
        batch, expiry = held or ("", None)
        return self.commit(
            [
                Movement(
                    MovementKind.RETURN if held else MovementKind.PUT_AWAY,
                    pack.gtin,
                    serial=pack.serial,
                    epc=pack.epc,
                    batch=batch,
                    expiry=expiry,
                    to_slot=slot,
                    actor=actor,
                    reason=reason,
                )
            ]
        )

    def tag_found(self, pack: PackId, slot: str) -> Commit | None:
        """A tag seen in `slot` whose pack the ledger holds by its code alone (its GTIN and
        serial booked from a scan, without the tag): that pack's line takes the tag (and
        `slot`, if the pack was booked elsewhere). None when there is no such pack."""
        if not pack.serial:
            return None
        for line in self.index.lines_of(pack.gtin, pack.serial):
            if line.epc is None:
                reason = f"its tag seen in {slot}: the pack booked by its code"
                found = line.leaving(MovementKind.MOVE, slot, "system", reason)
                return self.commit([replace(found, epc=pack.epc)])
        return None

    def take(self, epc: str, actor: str = "system", reason: str = "") -> Commit:
        """A tagged pack left its slot (picked)."""
        return self.commit([self._pack_movement(MovementKind.PICK, epc, None, actor, reason)])

    def move(self, epc: str, to_slot: str, actor: str = "system", reason: str = "") -> Commit:
        """A tagged pack went from its slot to `to_slot`."""
        return self.commit([self._pack_movement(MovementKind.MOVE, epc, to_slot, actor, reason)])

    def send(self, messages: Iterable[OutboxMessage]) -> Commit:
        """Queue messages in the outbox (with the enclosing group's changes)."""
        messages = self._answers(messages)
        with self.group():
            self.ledger.write(self.stamp(), messages=messages)
        return Commit(messages=len(messages))

    def send_result(self, command: str, command_id: str, status: str, **fields: object) -> Commit:
        """Queue one `cmd-result` message: what became of a command, at the group's time."""
        return self.send([message(self.stamp(), command, command_id, status, **fields)])

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
        on_hand = {m.gtin: self.index.on_hand(m.gtin) for m in movements}
        # Decided with the requests the delivery fulfils closed: its packs count once.
        received = self.orders.receipts(movements)
        alarms, requests = self.orders.after_movements(movements, on_hand, at, received)
        messages = self._publish(alarms, requests) + extra
        decided = {r.request_id for r in requests}
        requests += [r for r in received if r.request_id not in decided]
        if self._in_group:  # the usual case, on the writer: skip the context manager
            self._take(at, movements, stock, alarms, requests, messages)
            followed = self._follow_batches(movements)
        else:
            with self.group():
                self._take(at, movements, stock, alarms, requests, messages)
                followed = self._follow_batches(movements)
        return Commit(
            movements, (*alarms, *followed), tuple(requests), len(messages) + len(followed)
        )

    def record(
        self,
        at: str,
        alarms: Sequence[Alarm],
        requests: Sequence[ProcurementRequest],
        extra: Sequence[OutboxMessage] = (),
    ) -> int:
        """Write alarm transitions and requests (no movement) with the messages that publish
        them and `extra`; how many messages that queued."""
        messages = [*self._publish(alarms, requests), *extra]
        with self.group():
            self._take(at, (), {}, list(alarms), list(requests), messages)
        return len(messages)

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
        self.ledger.write(at, movements, stock, alarms, requests, self._answers(messages))
        for movement in movements:
            self.index.apply(movement)
        for alarm in alarms:
            self.alarms.remember(alarm)
        self.orders.follow(requests)

    # Internals -------------------------------------------------------------------------------

    def _follow_batches(self, movements: tuple[Movement, ...]) -> list[Alarm]:
        """The live expiry alarms of the batches moved, kept with their packs (inside the
        group): their slots stop blinking at once, not at the next expiry sweep."""
        today, near_days = self.calendar.today, self.near_days
        return follow_batches(self.alarms, self.index, today, near_days, movements)

    def _pack_movement(
        self, kind: MovementKind, epc: str, to_slot: str | None, actor: str, reason: str
    ) -> Movement:
        """A tagged pack leaving its current line (for `to_slot`, or out of stock)."""
        return self._line_of(epc).leaving(kind, to_slot, actor, reason)

    def _line_of(self, epc: str) -> StockLine:
        slot = self.index.slot_of(epc)
        if slot is None:
            raise StockError(f"pack {epc} is not on any shelf")
        for line in self.index.contents(slot):
            if line.epc == epc:
                return line
        raise StockError(f"pack {epc} is indexed in slot {slot} but not in its contents")

    def _answers(self, messages: Iterable[OutboxMessage]) -> list[OutboxMessage]:
        """`messages`, those answering the command message being carried out naming it."""
        reply = self._reply
        return list(messages) if reply is None else [reply.mark(m) for m in messages]

    def _publish(
        self, alarms: Iterable[Alarm], requests: Iterable[ProcurementRequest]
    ) -> list[OutboxMessage]:
        """The outbox messages that publish alarm changes and requests sent to the centre (once:
        a request written again while open, made urgent, is not sent again)."""
        messages = [OutboxMessage(MessageKind.ALARM, a.payload(), key=a.id) for a in alarms]
        return messages + [
            OutboxMessage(
                MessageKind.PROCUREMENT_REQUEST,
                r.payload(self._site, self._gateway),
                key=r.request_id,
            )
            for r in requests
            if r.status is RequestStatus.REQUESTED and not self.orders.sent(r.request_id)
        ]

    def _load_state(self) -> None:
        """Everything kept in memory, from the file."""
        self.ledger.reload()
        self.index = SlotIndex.load(self.db)
        self.alarms.load(self.db)
        self.orders.load()
        self.picks.load()
        self.putaways.load()
