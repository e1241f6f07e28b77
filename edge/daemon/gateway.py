"""The daemon's wiring: readers -> presence -> ledger -> alarms, LEDs and the outbox -> MQTT.

Every physical port is owned by one task (edge.daemon.devices); the ledger lives on one writer
thread, changes reach it in order (edge.daemon.ledger_link). Every task runs in one TaskGroup:
one that fails ends the gateway (its error raised from `run`); `stop()` ends it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter

from edge.alarms.retained_alarms import RetainedAlarms
from edge.clock import Clock
from edge.daemon import ledger_questions as ask
from edge.daemon.action_journal import ActionJournal, journal_path
from edge.daemon.activity import Activity, Observer, log_activity, report_link
from edge.daemon.alarm_watch import (
    backlog_watch,
    broker_link_alarms,
    device_alarms,
    expiry_sweeps,
)
from edge.daemon.applied import Applied, activities, count
from edge.daemon.badges import BadgeHolders
from edge.daemon.device_events import DeviceEvents
from edge.daemon.devices import Devices, build_devices
from edge.daemon.ledger_link import LedgerLink
from edge.daemon.ledger_lock import sole_writer
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.daemon.storage_guard import StorageGuard, check_integrity, straight_to_broker
from edge.inbound.commands import InboundCommands
from edge.inbound.settled_link import SettledLink, copy_screen
from edge.lights.lights_feed import LightsFeed
from edge.lights.shelf_lights import ShelfLights
from edge.service.heartbeat_sources import gateway_watchdog
from edge.service.metrics import GatewayMetrics
from edge.service.sd_notify import Notifier
from edge.service.watchdog import Heartbeats
from edge.settings.config import GatewayConfig
from edge.settings.device_names import BROKER_LINK
from edge.settings.host_checks import stock_outside, with_usable_ledger
from edge.settings.keeper_settings import keeper_for
from inventory.alarms.lifecycle import AlarmKind
from inventory.changes import PickTick, SendRequestsAgain, ShortageCheck
from inventory.errors import StoreUnavailable
from inventory.site_calendar import SiteCalendar, configured_zone_problems
from inventory.stock.presence import PresenceTracker
from inventory.zone_names import not_a_place_note
from sync.mqtt_session import Announcement, MqttSession
from sync.publisher import OutboxPublisher
from sync.topics import Topics

log = logging.getLogger(__name__)
PICK_CLOCK_SECONDS = 0.25  # reminders, timeouts, mistakes ending, put-aways left untouched
# How often requests the centre has not answered are looked at, at most (a tenth of
# `procurement.resend_after_hours` when shorter): when one is due is the ledger's to say.
RESEND_CHECK_SECONDS = 60.0
# After the presence dwell time, how long the readers get to book what lies on the shelves
# before the start's shortage check judges them.
SHELVES_READ_IN_SECONDS = 5.0
# Under a service manager, a ledger that cannot be opened now (a full disk, locked by another
# program) is tried again this often, for this long, before the start ends with exit status 75
# and systemd starts the daemon again: within the unit's TimeoutStartSec=120, and long enough
# that five such starts never fall within StartLimitIntervalSec=240 (StartLimitBurst=5).
OPEN_AGAIN_SECONDS = 5.0
OPEN_WAIT_SECONDS = 60.0


class _Stopped(Exception):
    """Raised inside the task group to end it when `stop()` was called."""


class Gateway:
    """One gateway: build it from config, `await run()`, call `stop()` to end."""

    def __init__(
        self, config: GatewayConfig, observer: Observer | None = None, clock: Clock | None = None
    ):
        self.config = config
        self.clock = clock or Clock()
        self.metrics = GatewayMetrics(self, config.metrics, self.clock)
        self._observe = self.metrics.observing(observer or log_activity)
        self.topics = Topics(config.site, config.gateway)
        self.products = {p.gtin: p.policy() for p in config.products}
        self.calendar = SiteCalendar.named(config.timezone, self.clock.now)  # dates people judge
        for problem in configured_zone_problems(config.timezone):
            log.warning("%s", problem)
        self.counters: Counter[str] = Counter()
        self.beats = Heartbeats(self.clock.monotonic)  # loop -> its last round, for the watchdog
        self.presence = PresenceTracker(config.presence.dwell_seconds)
        self.badges = BadgeHolders.configured(config, self._observe)
        self.devices = Devices()
        feed = LightsFeed(config.shelves, self.topics, lambda: self.session, self.clock.now)
        self.lights = ShelfLights(
            config.picking.colours,
            lambda: self.devices.slot_lights,
            self._observe,
            feed,
            self.clock.monotonic,
            config.picking.mistake_seconds,
        )
        self.session: MqttSession | None = None
        self.publisher: OutboxPublisher | None = None
        self.picking = False  # pick lists are open (as last told by the writer)
        self.open_lists: dict[str, str] = {}  # their ids -> the scanner each takes ('': any)
        self._pick_busy = False  # the pick desk has timers running
        storage = StorageGuard(
            straight_to_broker(lambda: self.session, self.topics), self._observe, self.clock
        )
        self.ledger = LedgerLink(
            keeper_for(config, self.products, self.calendar, self.clock),
            storage,
            self.beats,
            self.counters,
            self.metrics.tallies.commits,
            self.lights.plan,
            self._took,
            self.presence.forget,
        )
        self.ledger.on_held = self.lights.held  # a press answered at the shelf meanwhile
        self.ledger.on_unkept = self.lights.not_recorded.tell  # one not answered so: red
        self.ledger.on_recovered = self.lights.not_recorded.end_all  # to be done again now
        self.ledger.actions = ActionJournal(journal_path(config.database), self.clock)
        self.alarms_at_broker = RetainedAlarms(
            self.topics,
            lambda: self.session,
            self.ledger.ask,
            storage,
            self.ledger.submit,
            self._observe,
        )
        self.stocktake = StocktakeFlow(
            config,
            self.ledger.offer,
            self._observe,
            lambda: self.open_lists,
            self.clock,
            self.calendar,
            lambda: self.presence.still_seen(self.clock.monotonic()),
        )
        self.inbound = InboundCommands(
            config,
            self.topics,
            self.ledger.offer,
            self.ledger.when_written,
            lambda delivery: self.session is not None and self.session.ack(delivery),
            self.stocktake,
            self.badges.sweeper,
            self.counters,
            self.clock,
            alone=lambda: self.session is not None and self.session.takeover.held.is_set(),
            unsubscribe=self._drop_subscription,
        )
        self.events = DeviceEvents(
            config,
            self.ledger.offer,
            self._observe,
            self.presence,
            self.stocktake,
            self.badges,
            lambda: self.picking,
            self.lights.shown_picker,
            self.counters,
            self.clock,
        )
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.shortages_checked = asyncio.Event()
        self._check_shortages = False
        self._broker_alarmed = False  # its device_down alarm live from before the start

    def stop(self) -> None:
        """Ask the gateway to shut down cleanly."""
        self._stop.set()

    async def run(self) -> None:
        """Run until `stop()`; a task that fails ends the gateway with its error."""
        config = with_usable_ledger(self.config)  # no new ledger untold
        with sole_writer(config.database):  # and no second daemon on it
            await self._run(config)

    async def _run(self, config: GatewayConfig) -> None:
        ledger = self.ledger
        if not await self._open_ledger():
            return  # stopped while it waited for the ledger: nothing was started
        # The zone expiry is judged in, for whoever reads the journal after setting it up.
        log.info("site time zone %s", self.calendar.zone_now())
        if note := not_a_place_note(config.timezone, self.clock.now()):
            log.warning("%s", note)
        try:
            if outside := stock_outside(config, await ledger.ask(ask.stock_by_slot)):
                log.warning("%s", outside)
            # Shelves found short or empty; not on a new ledger, whose shelves are still to be
            # read in (every product would be asked for before the first read).
            self._check_shortages = await ledger.ask(ask.has_movements)
            self.events.seed(await ledger.ask(ask.placed_epcs))
            live = await ledger.ask(ask.live_alarms)
            self.events.alarmed_before(live)
            self._broker_alarmed = any(
                a.kind is AlarmKind.DEVICE_DOWN and a.subject == BROKER_LINK for a in live
            )
            self.inbound.admission.load(await ledger.ask(ask.commands_seen))
            emit = self.metrics.counting(self.events.on_event)
            self.devices = build_devices(config, emit, self.clock)
            session = self.session = MqttSession(
                config.broker.addresses,
                config.client_id,
                birth=Announcement(self.topics.status, "online"),
                will=Announcement(self.topics.status, "offline"),
                subscriptions=[self.topics.commands, self.topics.procurement_status],
                on_delivery=self.inbound.on_delivery,
                security=config.broker.security(),
                protocol=config.broker.protocol,
                reads=[self.topics.alarms],
            )
            publishes = self.metrics.publishes
            self.publisher = OutboxPublisher(
                session,
                self.topics,
                fetch_pending=publishes.fetching(ask.pending_from(ledger.ask)),
                mark_sent=publishes.marking(ledger.mark_sent),
                screen=copy_screen(SettledLink(session, self.inbound), ledger.hand_over_copies),
            )
            await session.start()
            try:
                self.picking, self._pick_busy = await ledger.ask(ask.picking)
                self.open_lists = await ledger.ask(ask.open_list_ids)
                self.lights.show(await ledger.ask(self.lights.plan))
                await self._serve(session, self.publisher)
            finally:
                self.lights.not_recorded.stop()  # no red ends on the shelves once stopped
                await session.stop(farewell=Announcement(self.topics.status, "offline"))
        finally:
            await ledger.close()

    async def _open_ledger(self) -> bool:
        """Open the ledger (True). One that cannot be opened now (StoreUnavailable) ends the
        start at once when run by hand (the person reads why); under a service manager it is
        tried again every OPEN_AGAIN_SECONDS for OPEN_WAIT_SECONDS, the reason in the service's
        status, so that the shelves come back as soon as there is room. A stop asked for while
        it waits ends the wait at once (False): a clean stop, not a start to retry."""
        manager = Notifier.from_environment()
        failed_at: float | None = None
        try:
            while True:
                try:
                    await self.ledger.open()
                    break
                except StoreUnavailable as exc:
                    now = self.clock.monotonic()
                    if failed_at is None and manager.enabled:
                        log.error("%s; trying again every %.0f s", exc, OPEN_AGAIN_SECONDS)
                    failed_at = now if failed_at is None else failed_at
                    waited = now - failed_at
                    if not manager.enabled or waited >= OPEN_WAIT_SECONDS:
                        raise
                    manager.status(f"waiting for the ledger: {exc}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), OPEN_AGAIN_SECONDS)
                if self._stop.is_set():
                    log.info("stopped while waiting for the ledger %s", self.config.database)
                    return False
        finally:
            manager.close()
        if failed_at is not None:
            log.info("ledger %s opened: there is room or the lock is gone", self.config.database)
        return True

    async def _serve(self, session: MqttSession, publisher: OutboxPublisher) -> None:
        config, ledger, clock = self.config, self.ledger, self.clock
        watchdog = gateway_watchdog(
            self.beats,
            self.devices,
            session,
            publisher,
            ledger.writer.call,  # a probe of the writer: one try, no waiting out the disk
            lambda: ledger.storage_failing,
            clock.monotonic,
        )
        named = [
            *self.devices.tasks(),
            ("presence", self.events.watch_presence(ledger.submit, self.beats)),
            ("device health", device_alarms(self.events.health, ledger.submit, clock)),
            ("changes", ledger.apply_changes()),
            ("messages from the centre", self.inbound.take_in_turn()),
            ("stocktake", self.stocktake.watch()),
            (
                "expiry sweeps",
                expiry_sweeps(ledger.submit, config.alarms, self.calendar, ledger.ask),
            ),
            (
                "sync backlog",
                backlog_watch(
                    ledger.ask,
                    ledger.submit,
                    config.alarms,
                    self.counters,
                    clock,
                    self.metrics.tallies.outbox_waited_for,
                ),
            ),
            ("pick clock", self._pick_clock()),
            ("requests sent again", self._send_requests_again(session)),
            ("shortages at start", self._shortages_at_start()),
            ("publisher", publisher.run()),
            ("link", report_link(session, self._observe, self._connected)),
            (
                "broker link",
                broker_link_alarms(
                    session.takeover, ledger.submit, self._broker_alarmed, self.inbound.session_held
                ),
            ),
            ("alarms at the broker", self.alarms_at_broker.run()),
            ("watchdog", watchdog.run()),
            (
                "integrity check",
                check_integrity(config.database, ledger.ask, ledger.submit, self._observe),
            ),
            ("metrics", self.metrics.run(ledger.ask)),
            ("stop", self._until_stopped()),
        ]
        try:
            async with asyncio.TaskGroup() as group:
                for name, coro in named:
                    group.create_task(coro, name=name)
                self.ready.set()
                where = f"ledger {config.database}, broker {config.broker.urls_text}"
                self._observe(
                    Activity("start", f"gateway {config.site}/{config.gateway} running; {where}")
                )
        except BaseExceptionGroup as ended:
            failures = [e for e in ended.exceptions if not isinstance(e, _Stopped)]
            if failures:
                raise failures[0] from None

    def _connected(self) -> None:
        """On every connect: the broker may have lost what it held retained (a crash)."""
        self.lights.feed.send_all()
        self.alarms_at_broker.due()

    def _drop_subscription(self, topic_filter: str) -> None:
        """One another client left in the gateway's session (edge.inbound.commands)."""
        if self.session is not None:
            self.session.unsubscribe(topic_filter)

    async def _until_stopped(self) -> None:
        await self._stop.wait()
        raise _Stopped

    async def _took(self, applied: Applied) -> None:
        """Report an applied change, send what it queued and show it on the shelves."""
        outcome = applied.outcome
        self.picking, self._pick_busy = applied.picking, applied.busy
        self.open_lists = applied.open_lists
        if applied.plan is not None:  # the lights first: a pharmacist is waiting for them
            self.lights.show(applied.plan)
        count(applied, self.counters)
        self.events.follow(outcome)
        for activity in activities(applied, self.products):
            self._observe(activity)
        if any(c.messages for c in outcome.commits) and self.publisher is not None:
            self.publisher.notify()

    async def _shortages_at_start(self) -> None:
        """Shelves found short or empty at start, judged once (not on a new ledger) when the
        readers have had time to book what lies on the shelves: packs laid there while the
        daemon was off are booked after the dwell time, and a shelf is not short for want of a
        first read. `shortages_checked` is set once the check is carried out."""
        if self._check_shortages:
            await asyncio.sleep(self.config.presence.dwell_seconds + SHELVES_READ_IN_SECONDS)
            await self.ledger.carried_out(ShortageCheck())
        self.shortages_checked.set()

    async def _send_requests_again(self, session: MqttSession) -> None:
        """Requests the centre has not answered, sent again when due (inventory.replenishment
        .resend): looked at now and then, due by the ledger's record and the gateway's clock,
        and only once the link has settled (edge.inbound.settled_link): the answers the broker
        kept for the gateway while it was away taken in. The next look is queued only once the
        last is carried out: while the ledger cannot be written they do not pile up in the queue
        of changes, crowding out the shelf's events."""
        after = self.config.procurement.resend_after_hours * 3600
        settled = SettledLink(session, self.inbound)
        while True:
            await settled.wait()
            await self.ledger.carried_out(SendRequestsAgain(after))
            await asyncio.sleep(min(RESEND_CHECK_SECONDS, after / 10))

    async def _pick_clock(self) -> None:
        while True:
            await asyncio.sleep(PICK_CLOCK_SECONDS)
            self.beats.tick("pick clock")
            if self._pick_busy:
                # A tick that moved a light comes back with the plan (`_took`), as any change.
                await self.ledger.submit(PickTick())
