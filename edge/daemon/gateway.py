"""The daemon's wiring: readers -> presence -> ledger -> alarms, LEDs and the outbox -> MQTT.

Every physical port is owned by one task (see edge.daemon.devices). The ledger lives on one writer
thread (commits wait for fsync there, not on the event loop); changes reach it in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from drivers.modbus.lights import DARK, SlotLight
from drivers.modbus.profile import Colour
from edge.daemon.activity import Activity, Observer, log_activity
from edge.daemon.alarm_watch import backlog_watch, expiry_sweeps
from edge.daemon.changes import (
    Applied,
    Change,
    activities,
    apply_change,
)
from edge.daemon.device_events import DeviceEvents, scanner_roles
from edge.daemon.device_health import DeviceHealth
from edge.daemon.devices import Devices, build_devices
from edge.daemon.inbound_commands import CommandIntake
from edge.daemon.light_plan import describe_light, plan_lights
from edge.daemon.lights_feed import LightsFeed
from edge.daemon.put_away import tick_desks
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.daemon.storage_guard import StorageGuard, is_storage_error
from edge.service.metrics import GatewayMetrics
from edge.service.watchdog import Heartbeats, gateway_watchdog
from edge.settings.config import GatewayConfig
from edge.settings.host_checks import with_usable_ledger
from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.codes.barcodes import BarcodeError, PackScan
from inventory.codes.identifiers import EpcDecoder
from inventory.keeper import InventoryKeeper
from inventory.ledger.book import StockError
from inventory.ledger.outbox import OutboxRow
from inventory.ledger.store import check_file
from inventory.ledger.writer import LedgerWriter
from inventory.picking.lists import PickList
from inventory.picking.results import PickTimes
from inventory.site_calendar import SiteCalendar
from inventory.stock.presence import Arrived, PresenceTracker
from sync.broker_url import BrokerAddress
from sync.mqtt_session import Announcement, MqttSession
from sync.publisher import OutboxPublisher
from sync.topics import Topics

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long tasks get to finish once cancelled at shutdown.
SHUTDOWN_GRACE = 5.0
PICK_CLOCK_SECONDS = 0.25  # reminders, timeouts, mistakes ending, lists taking turns on a slot


class Gateway(DeviceEvents):
    """One gateway: build it from config, `await run()`, call `stop()` to end."""

    def __init__(self, config: GatewayConfig, observer: Observer | None = None):
        self.config = config
        self.metrics = GatewayMetrics(self, config.metrics)
        self._observe = self.metrics.observing(observer or log_activity)
        self.topics = Topics(config.site, config.gateway)
        self.calendar = SiteCalendar.named(config.timezone)  # every judgement of dates
        self.writer: LedgerWriter | None = None
        self.products = {p.gtin: p.policy() for p in config.products}
        self.epcs = EpcDecoder()
        self.presence = PresenceTracker(config.presence.dwell_seconds)
        self.health = DeviceHealth(config.devices.down_alarm_seconds)
        self.counters: Counter[str] = Counter()
        self.scans: deque[PackScan | BarcodeError] = deque(maxlen=100)
        self.pharmacists = {p.uid: p.name for p in config.pharmacists}
        self.badge_holders: dict[str, str] = {}
        self._zones = {
            (reader.name, antenna): slot
            for reader in config.readers
            for antenna, slot in reader.antennas.items()
        }
        self._reader_slots = {
            reader.name: set(reader.antennas.values()) for reader in config.readers
        }
        self._unwatched: set[str] = set()  # slots whose reader is down
        self._watched_slots = set(self._zones.values())  # slots a fixed reader watches
        self._handhelds = {r.name for r in config.readers if r.role == "handheld"}
        self._receiving, self._putaway = scanner_roles(config)
        self._handheld_reads: dict[str, float] = {}
        self._picking = False  # pick lists are open (as last told by the writer)
        self._pick_busy = False  # the pick desk has timers running
        self._colours = [Colour[name.upper()] for name in config.picking.colours]
        self._changes: asyncio.Queue[Change] = asyncio.Queue()
        self.stocktake = StocktakeFlow(
            config, self._changes.put_nowait, self._observe, lambda: self._picking, self.calendar
        )
        self.storage = StorageGuard(lambda: self.session, self.topics, self._observe)
        self.intake = CommandIntake(
            config,
            self.topics,
            self._changes.put_nowait,
            self.stocktake,
            self._badge_holder,
            self.counters,
        )
        self._lit: dict[str, SlotLight] = {}
        self.lights = LightsFeed(config.shelves, self.topics, lambda: self.session)
        self.devices = Devices()
        self.session: MqttSession | None = None
        self.publisher: OutboxPublisher | None = None
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.beats = Heartbeats()  # loop -> its last round, for the service watchdog

    def stop(self) -> None:
        """Ask the gateway to shut down cleanly."""
        self._stop.set()

    async def run(self) -> None:
        """Run until `stop()`."""
        config = with_usable_ledger(self.config)  # never a new ledger unless told to
        # The quick check at open keeps the start fast; the full check runs beside the work.
        self.writer = LedgerWriter(
            partial(
                InventoryKeeper,
                config.database,
                self.products,
                config.site,
                config.gateway,
                self.calendar,
                integrity_check="quick_check",
                pick_times=PickTimes(
                    config.picking.remind_after_seconds,
                    config.picking.timeout_seconds,
                    config.picking.mistake_seconds,
                    config.picking.locate_seconds,
                ),
                shelf_slots=[slot for shelf in config.shelves for slot in shelf.slot_names()],
            )
        )
        await asyncio.to_thread(self.writer.start)
        placed = await self._on_writer(lambda keeper: keeper.index.placed_epcs())
        seen = await self._on_writer(lambda keeper: keeper.commands.live(keeper.stamp()))
        self.intake.admission.load(seen)
        watched = self._watched_slots  # only packs a fixed reader watches can be seen to leave
        self.presence.seed({e: s for e, s in placed.items() if s in watched}, time.monotonic())
        self.devices = build_devices(config, self.metrics.counting(self._on_driver_event))
        self.session = MqttSession(
            BrokerAddress.parse(config.broker.url),
            config.client_id,
            birth=Announcement(self.topics.status, "online"),
            will=Announcement(self.topics.status, "offline"),
            subscriptions=[self.topics.commands, self.topics.procurement_status],
            on_message=self.intake.on_message,
            security=config.broker.security(),
        )
        self.publisher = OutboxPublisher(
            self.session,
            self.topics,
            fetch_pending=self.metrics.publishes.fetching(
                lambda limit, after: self._on_writer(
                    lambda keeper: keeper.pending_messages(limit, after)
                )
            ),
            mark_sent=self.metrics.publishes.marking(self._mark_sent),
        )
        await self.session.start()
        self._picking, self._pick_busy = await self._on_writer(
            lambda keeper: (keeper.picks.active, keeper.picks.busy or keeper.putaways.busy)
        )
        await self._refresh_lights()
        named = [
            *self.devices.tasks(),
            ("presence", self._watch_presence()),
            ("device health", self._watch_health()),
            ("changes", self._apply_changes()),
            ("stocktake", self.stocktake.watch()),
            (
                "expiry sweeps",
                expiry_sweeps(self._changes.put_nowait, config.alarms, self.calendar),
            ),
            (
                "sync backlog",
                backlog_watch(
                    self._on_writer, self._changes.put_nowait, config.alarms, self.counters
                ),
            ),
            ("pick clock", self._pick_clock()),
            ("publisher", self.publisher.run()),
            ("link", self._watch_link()),
            ("watchdog", gateway_watchdog(self).run()),
            ("integrity check", self._check_integrity()),
            ("metrics", self.metrics.run(self._on_writer)),
        ]
        tasks = [asyncio.create_task(coro, name=name) for name, coro in named]
        self.ready.set()
        self._observe(
            Activity(
                "start",
                f"gateway {config.site}/{config.gateway} running; ledger "
                f"{config.database}, broker {config.broker.url}",
            )
        )
        stopper = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and (error := task.exception()) is not None:
                    raise error
        finally:
            for task in [*tasks, stopper]:
                task.cancel()
            _, stuck = await asyncio.wait([*tasks, stopper], timeout=SHUTDOWN_GRACE)
            for task in stuck:
                log.error(
                    "task %r did not stop within %.0f s; leaving it: %s",
                    task.get_name(),
                    SHUTDOWN_GRACE,
                    task.get_stack(limit=5),
                )
            await self.session.stop(farewell=Announcement(self.topics.status, "offline"))
            await asyncio.to_thread(self.writer.stop)

    # Inventory -------------------------------------------------------------------------------

    async def _watch_presence(self) -> None:
        period = max(0.05, min(1.0, self.presence.dwell / 5))
        while True:
            await asyncio.sleep(period)
            self.beats.tick("presence")
            for change in self.presence.overdue(time.monotonic(), self._unwatched):
                self._changes.put_nowait(change)

    async def _apply_changes(self) -> None:
        while True:
            self.beats.rest("changes")  # waiting for work is no stall
            change = await self._changes.get()
            self.beats.tick("changes")
            try:
                applied = await self._durably(change)
            except StockError as exc:
                self.counters["refused_changes"] += 1
                log.warning("refused %s: %s", change, exc)
                if isinstance(change, Arrived):
                    # Not on the ledger's shelves, so the tracker must not watch it leave.
                    self.presence.forget(change.pack.epc)
                continue
            await self._took(applied)

    async def _durably(self, change: Change) -> Applied:
        """Apply a change; while the ledger cannot be written, hold it (and all behind it) and
        retry with back-off: the readers and the lights go on meanwhile."""
        return await self._until_written(
            lambda: self.metrics.tallies.commits.timed(
                self._on_writer(partial(apply_change, change, self._plan))
            ),
            beat="changes",
        )

    async def _mark_sent(self, ids: list[int]) -> None:
        """The broker acknowledged these rows: recorded, held and retried while the ledger
        cannot be written (they would only be sent again, never lost)."""
        await self._until_written(lambda: self._on_writer(lambda keeper: keeper.mark_sent(ids)))

    async def _until_written(
        self, attempt: Callable[[], Awaitable[T]], beat: str | None = None
    ) -> T:
        """Run `attempt` until the ledger takes it: storage errors are waited out with back-off
        (the loop's heartbeat `beat` kept fresh meanwhile), others raised. Once writing works
        again, the storage alarm's raise and clear are queued to be written."""
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                if not is_storage_error(exc):
                    raise
                self.counters["storage_failures"] += 1
                await asyncio.sleep(self.storage.failed(exc))
                if beat is not None:
                    self.beats.tick(beat)  # waiting for the disk is not a stalled loop
                continue
            if (record := self.storage.recovered()) is not None:
                self._changes.put_nowait(record)
            return result

    async def _took(self, applied: Applied) -> None:
        """Report an applied change, send what it queued and show it on the shelves."""
        outcome = applied.outcome
        self._picking, self._pick_busy = applied.picking, applied.busy
        if applied.plan is not None:  # the lights first: a pharmacist is waiting for them
            self._show(applied.plan)
        for commit in outcome.commits:
            self.counters["movements"] += len(commit.movements)
            self.counters["alarm_changes"] += len(commit.alarms)
            self.counters["requests"] += len(commit.requests)
        self.counters["mistakes"] += len(outcome.mistakes)
        for epc in outcome.booked_epcs:
            self.presence.forget(epc)  # booked out: the tracker must not see it leave again
        for epc, slot in outcome.placed.items():
            if slot in self._watched_slots:  # booked in there by a count: watch it there
                self.presence.place(epc, slot, time.monotonic())
            else:
                self.presence.forget(epc)
        for activity in activities(applied, self.products):
            self._observe(activity)
        if any(c.messages for c in outcome.commits) and self.publisher is not None:
            self.publisher.notify()

    async def _pick_clock(self) -> None:
        while True:
            await asyncio.sleep(PICK_CLOCK_SECONDS)
            self.beats.tick("pick clock")
            if self._pick_busy:
                self._changes.put_nowait(tick_desks)
                await self._refresh_lights()  # lists sharing a slot take turns

    def _badge_holder(self) -> str:
        """Who is badged in (the first of them), for actions that name nobody."""
        return next(iter(self.badge_holders.values()), "")

    def _plan(self, keeper: InventoryKeeper) -> dict[str, SlotLight]:
        """On the writer: every slot's light now."""
        cues = keeper.picks.cues() + keeper.putaways.cues()
        return plan_lights(keeper.live_alarms(), keeper.index, cues, time.time(), self._colours)

    async def _refresh_lights(self) -> None:
        self._show(await self._on_writer(self._plan))

    def _show(self, plan: dict[str, SlotLight]) -> None:
        """Hand the shelf buses every light that differs from what is lit; then the wire."""
        for slot in set(self._lit) | set(plan):
            light = plan.get(slot, DARK)
            target = self.devices.slot_lights.get(slot)
            if self._lit.get(slot, DARK) == light or target is None:
                continue
            bus, controller, index = target
            bus.set_light(controller, index, light)
            self._observe(Activity("led", f"slot {slot}: {describe_light(light)}"))
        self.lights.show(self._lit, plan)
        self._lit = plan

    async def _check_integrity(self) -> None:
        verdict = await asyncio.to_thread(check_file, self.config.database)
        if verdict == "ok":
            self._observe(Activity("ledger", "integrity check passed"))
        else:
            self._observe(Activity("ledger", f"integrity check FAILED: {verdict}"))
            self._queue_alarm(AlarmKind.STORAGE, "ledger", {"reason": verdict})
        await asyncio.Event().wait()  # a task of the daemon's lifetime, like the others

    # Sync ------------------------------------------------------------------------------------

    async def _watch_link(self) -> None:
        assert self.session is not None
        while True:
            await self.session.connected.wait()
            self.lights.send_all()
            self._observe(Activity("sync", f"connected to {self.session.broker.url}"))
            while self.session.connected.is_set():
                await asyncio.sleep(0.2)
            self._observe(Activity("sync", f"lost {self.session.broker.url}; retrying"))

    # Questions (for the CLI, the demo and tests) ----------------------------------------------

    async def tagged_packs(self) -> int:
        """Tagged packs the ledger has on the shelves."""
        return await self._on_writer(lambda keeper: len(keeper.index.placed_epcs()))

    async def on_hand(self, gtin: str) -> int:
        """Available packs of `gtin` the ledger has on the shelves."""
        return await self._on_writer(lambda keeper: keeper.on_hand(gtin))

    async def open_pick_lists(self) -> list[PickList]:
        """Pick lists being worked on, oldest first (copies: safe to read on the loop)."""
        return await self._on_writer(
            lambda keeper: [
                PickList.from_json(p.to_json())
                for p in sorted(keeper.picks.lists.values(), key=lambda p: p.created_at)
            ]
        )

    async def live_alarms(self) -> list[Alarm]:
        """Alarms raised or acknowledged and not cleared."""
        return await self._on_writer(lambda keeper: keeper.live_alarms())

    async def outbox_rows(self) -> list[OutboxRow]:
        """Messages not yet acknowledged by the broker."""
        return await self._on_writer(lambda keeper: keeper.pending_messages(1_000_000))

    # Plumbing --------------------------------------------------------------------------------

    def _on_writer(self, call: Callable[[InventoryKeeper], T]) -> Awaitable[T]:
        if self.writer is None:
            raise RuntimeError("gateway not started")
        return asyncio.wrap_future(self.writer.submit(call))
