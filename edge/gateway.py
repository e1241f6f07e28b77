"""The daemon's wiring: readers -> presence -> ledger -> alarms, LEDs and the outbox -> MQTT.

Every physical port is owned by one task (see edge.devices). The ledger lives on one writer
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

from drivers.events import (
    AntennaFault,
    BadgePresented,
    BadgeRemoved,
    BarcodeScanned,
    ButtonPressed,
    DeviceDown,
    DeviceUp,
    DriverEvent,
    InventoryRoundDone,
    TagSeen,
)
from drivers.modbus.lights import DARK, SlotLight
from edge.activity import Activity, Observer, log_activity
from edge.config import GatewayConfig
from edge.device_health import DeviceHealth
from edge.devices import Devices, build_devices
from edge.light_plan import describe_light, plan_lights
from inventory.alarms import AlarmKind
from inventory.barcodes import BarcodeError, PackScan, parse_pack_barcode, readable
from inventory.identifiers import EpcDecoder, PackId
from inventory.keeper import Commit, InventoryKeeper
from inventory.ledger import StockError
from inventory.outbox import OutboxRow
from inventory.policy import Product
from inventory.presence import Arrived, Left, Moved, PresenceChange, PresenceTracker
from inventory.store import check_file
from inventory.writer import LedgerWriter
from sync.broker_url import BrokerAddress
from sync.mqtt_session import Announcement, MqttSession
from sync.publisher import OutboxPublisher
from sync.topics import Topics

log = logging.getLogger(__name__)
T = TypeVar("T")

Change = PresenceChange | Callable[[InventoryKeeper], Commit]
# How long tasks get to finish once cancelled at shutdown.
SHUTDOWN_GRACE = 5.0


class Gateway:
    """One gateway: build it from config, `await run()`, call `stop()` to end."""

    def __init__(self, config: GatewayConfig, observer: Observer | None = None):
        self.config = config
        self._observe = observer or log_activity
        self.topics = Topics(config.site, config.gateway)
        self.writer: LedgerWriter | None = None
        self.products = {
            p.gtin: Product(p.gtin, p.name, p.reorder_point, p.par, p.unit, True, tuple(p.slots))
            for p in config.products
        }
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
        self._changes: asyncio.Queue[Change] = asyncio.Queue()
        self._lit: dict[str, SlotLight] = {}
        self.devices = Devices()
        self.session: MqttSession | None = None
        self.publisher: OutboxPublisher | None = None
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()

    def stop(self) -> None:
        """Ask the gateway to shut down cleanly."""
        self._stop.set()

    async def run(self) -> None:
        """Run until `stop()`."""
        config = self.config
        # The quick check at open keeps the start fast; the full check runs beside the work.
        self.writer = LedgerWriter(
            partial(
                InventoryKeeper,
                config.database,
                self.products,
                config.site,
                config.gateway,
                integrity_check="quick_check",
            )
        )
        await asyncio.to_thread(self.writer.start)
        placed = await self._on_writer(lambda keeper: keeper.index.placed_epcs())
        self.presence.seed(placed, time.monotonic())
        self.devices = build_devices(config, self._on_driver_event)
        self.session = MqttSession(
            BrokerAddress.parse(config.broker.url),
            config.client_id,
            birth=Announcement(self.topics.status, "online"),
            will=Announcement(self.topics.status, "offline"),
        )
        self.publisher = OutboxPublisher(
            self.session,
            self.topics,
            fetch_pending=lambda limit, after: self._on_writer(
                lambda keeper: keeper.pending_messages(limit, after)
            ),
            mark_sent=lambda ids: self._on_writer(lambda keeper: keeper.mark_sent(ids)),
        )
        await self.session.start()
        await self._refresh_lights()
        named = [
            *self.devices.tasks(),
            ("presence", self._watch_presence()),
            ("device health", self._watch_health()),
            ("changes", self._apply_changes()),
            ("publisher", self.publisher.run()),
            ("link", self._watch_link()),
            ("integrity check", self._check_integrity()),
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

    # Drivers ---------------------------------------------------------------------------------

    def _on_driver_event(self, event: DriverEvent) -> None:
        if isinstance(event, TagSeen):
            self._tag_seen(event)
        elif isinstance(event, InventoryRoundDone):
            self.counters["rounds"] += 1
        elif isinstance(event, BarcodeScanned):
            self._scanned(event)
        elif isinstance(event, BadgePresented):
            name = self.pharmacists.get(event.uid)
            if name is None:
                self._observe(Activity("badge", f"unknown badge {event.uid} on {event.reader}"))
            else:
                self.badge_holders[event.reader] = name
                self._observe(Activity("badge", f"{name} badged in on {event.reader}"))
        elif isinstance(event, BadgeRemoved):
            name = self.badge_holders.pop(event.reader, None)
            self._observe(Activity("badge", f"{name or 'badge'} left {event.reader}"))
        elif isinstance(event, ButtonPressed):
            self._observe(Activity("button", f"{event.controller} slot {event.slot + 1} pressed"))
        elif isinstance(event, AntennaFault):
            self._antenna_fault(event)
        elif isinstance(event, DeviceUp):
            self._observe(Activity("device", f"{event.device} is up"))
            self._set_watched(event.device, True)
            if self.health.up(event.device):
                self._queue_alarm_clear(AlarmKind.DEVICE_DOWN, event.device)
        elif isinstance(event, DeviceDown):
            self._observe(Activity("device", f"{event.device} is down: {event.reason}"))
            self.health.down(event.device, event.reason, time.monotonic())
            self._set_watched(event.device, False)

    def _set_watched(self, device: str, watched: bool) -> None:
        """While a reader is down its slots are not watched: packs there are not judged gone."""
        slots = self._reader_slots.get(device)
        if not slots:
            return
        if watched:
            self._unwatched -= slots
            self.presence.watched_again(slots, time.monotonic())
        else:
            self._unwatched |= slots

    def _tag_seen(self, event: TagSeen) -> None:
        self.counters["tag_reads"] += 1
        identity = self.epcs.decode(event.epc)
        slot = self._zones.get((event.reader, event.antenna))
        if slot is None or not isinstance(identity, PackId):
            return
        change = self.presence.seen(identity, slot, time.monotonic())
        if change is not None:
            self._changes.put_nowait(change)

    def _scanned(self, event: BarcodeScanned) -> None:
        try:
            scan = parse_pack_barcode(event.text)
        except BarcodeError as exc:
            self.counters["scans_refused"] += 1
            self.scans.append(exc)
            self._observe(
                Activity("scan", f"{event.scanner} refused {readable(event.text)}: {exc}")
            )
            return
        self.counters["scans"] += 1
        self.scans.append(scan)
        self._observe(
            Activity(
                "scan",
                f"{event.scanner}: GTIN {scan.gtin} batch {scan.batch!r} "
                f"expiry {scan.expiry} serial {scan.serial!r}",
            )
        )

    def _antenna_fault(self, event: AntennaFault) -> None:
        subject = f"{event.reader}-antenna-{event.antenna}"
        if event.ok:
            self._observe(Activity("device", f"{subject} works again"))
            self._queue_alarm_clear(AlarmKind.DEVICE_DOWN, subject)
        else:
            self._observe(Activity("device", f"{subject}: {event.detail}"))
            self._queue_alarm(
                AlarmKind.DEVICE_DOWN,
                subject,
                {"device": event.reader, "antenna": event.antenna, "reason": event.detail},
            )

    def _queue_alarm(self, kind: AlarmKind, subject: str, detail: dict[str, object]) -> None:
        self._changes.put_nowait(lambda keeper: keeper.raise_alarm(kind, subject, detail))

    def _queue_alarm_clear(self, kind: AlarmKind, subject: str) -> None:
        self._changes.put_nowait(lambda keeper: keeper.clear_alarm(kind, subject))

    async def _watch_health(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, max(self.health.alarm_after / 4, 0.05)))
            for device in self.health.due(time.monotonic()):
                reason = self.health.reasons.get(device, "")
                self._queue_alarm(
                    AlarmKind.DEVICE_DOWN, device, {"device": device, "reason": reason}
                )

    # Inventory -------------------------------------------------------------------------------

    async def _watch_presence(self) -> None:
        period = max(0.05, min(1.0, self.presence.dwell / 5))
        while True:
            await asyncio.sleep(period)
            for change in self.presence.overdue(time.monotonic(), self._unwatched):
                self._changes.put_nowait(change)

    async def _apply_changes(self) -> None:
        while True:
            change = await self._changes.get()
            try:
                commit, on_hand = await self._on_writer(partial(_commit_change, change))
            except StockError as exc:
                self.counters["refused_changes"] += 1
                log.warning("refused %s: %s", change, exc)
                if isinstance(change, Arrived):
                    # Not on the ledger's shelves, so the tracker must not watch it leave.
                    self.presence.forget(change.pack.epc)
                continue
            self._report(commit, on_hand)
            if commit.messages and self.publisher is not None:
                self.publisher.notify()
            if commit.alarms:
                await self._refresh_lights()

    def _report(self, commit: Commit, on_hand: dict[str, int]) -> None:
        self.counters["movements"] += len(commit.movements)
        self.counters["alarm_changes"] += len(commit.alarms)
        self.counters["requests"] += len(commit.requests)
        for m in commit.movements:
            where = " -> ".join(s for s in (m.from_slot, m.to_slot) if s)
            name = self.products[m.gtin].name if m.gtin in self.products else m.gtin
            self._observe(
                Activity(
                    "movement",
                    f"{m.kind} {name} serial {m.serial} at {where}; on hand now {on_hand[m.gtin]}",
                )
            )
        for alarm in commit.alarms:
            label = alarm.detail.get("name", alarm.subject)
            self._observe(Activity("alarm", f"{alarm.kind} {alarm.state}: {label}"))
        for request in commit.requests:
            self._observe(
                Activity(
                    "request",
                    f"procurement request {request.request_id}: "
                    f"{request.quantity} x {request.product.name} "
                    f"({request.priority})",
                )
            )

    async def _refresh_lights(self) -> None:
        plan = await self._on_writer(lambda keeper: plan_lights(keeper.live_alarms(), keeper.index))
        for slot in set(self._lit) | set(plan):
            light = plan.get(slot, DARK)
            target = self.devices.slot_lights.get(slot)
            if self._lit.get(slot, DARK) == light or target is None:
                continue
            bus, controller, index = target
            bus.set_light(controller, index, light)
            self._observe(Activity("led", f"slot {slot}: {describe_light(light)}"))
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

    async def outbox_rows(self) -> list[OutboxRow]:
        """Messages not yet acknowledged by the broker."""
        return await self._on_writer(lambda keeper: keeper.pending_messages(1_000_000))

    # Plumbing --------------------------------------------------------------------------------

    def _on_writer(self, call: Callable[[InventoryKeeper], T]) -> Awaitable[T]:
        if self.writer is None:
            raise RuntimeError("gateway not started")
        return asyncio.wrap_future(self.writer.submit(call))


def _commit_change(change: Change, keeper: InventoryKeeper) -> tuple[Commit, dict[str, int]]:
    """On the writer thread: apply one change; also the new on-hand of each GTIN it moved."""
    if isinstance(change, Arrived):
        commit = keeper.put_away(change.pack, change.slot, reason="seen on shelf")
    elif isinstance(change, Left):
        commit = keeper.take(change.epc, reason="left the shelf")
    elif isinstance(change, Moved):
        commit = keeper.move(change.epc, change.to_slot, reason="seen in another slot")
    else:
        commit = change(keeper)
    return commit, {m.gtin: keeper.on_hand(m.gtin) for m in commit.movements}
