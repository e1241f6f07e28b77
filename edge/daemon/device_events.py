"""What the devices report, turned into changes for the ledger and lines for the activity log.

Tags seen by fixed readers feed the presence tracker, handheld reads go to the stocktake or the
pick lists, scans are booked in (receiving scanners) or checked against the pick lists, buttons
confirm picks, badges name the pharmacist, devices going down and up raise and clear alarms.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Awaitable, Callable

from drivers.events import (
    AntennaFault,
    BadgePresented,
    BadgeRemoved,
    BarcodeScanned,
    ButtonPressed,
    DeviceDown,
    DeviceUp,
    DriverEvent,
    InventoryRoundCut,
    InventoryRoundDone,
    ScanUnreadable,
    TagSeen,
)
from drivers.pcsc.badge_reader import BADGE_SERVICE
from edge.clock import Clock
from edge.daemon.activity import Activity, Observer
from edge.daemon.badges import BadgeHolders
from edge.daemon.device_health import DeviceHealth
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.service.watchdog import Heartbeats
from edge.settings.config import GatewayConfig, slot_name
from edge.settings.device_names import BROKER_LINK, antenna_name
from inventory.alarms.lifecycle import Alarm, AlarmKind
from inventory.changes import (
    Change,
    ClearAlarm,
    ConfirmButton,
    HandheldRead,
    PutawayScan,
    ReceivedScan,
    ScannedAtPick,
    UnreadCode,
)
from inventory.codes.barcodes import BarcodeError, PackScan, readable
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.codes.product_codes import Carried, read_scanned_pack
from inventory.picking.outcome import Outcome
from inventory.stock.presence import PresenceTracker

Submit = Callable[[Change], Awaitable[None]]
HANDHELD_REPEAT_SECONDS = 2.0  # a handheld reads a tag many times: one check per this long


class DeviceEvents:
    """Driver events in (`on_event`), changes out (`offer`)."""

    def __init__(
        self,
        config: GatewayConfig,
        offer: Callable[[Change], object],
        observe: Observer,
        presence: PresenceTracker,
        stocktake: StocktakeFlow,
        badges: BadgeHolders,
        picking: Callable[[], bool],
        shown_picker: Callable[[str], int | None],
        counters: Counter[str],
        clock: Clock,
    ):
        self._carried = {
            p.gtin: Carried(p.require_serial, p.batch_and_expiry) for p in config.products
        }
        self._offer = offer
        self._observe = observe
        self._presence = presence
        self._stocktake = stocktake
        self._badges = badges
        self._picking = picking
        self._shown_picker = shown_picker
        self._counters = counters
        self._clock = clock
        self.epcs = EpcDecoder()
        devices = config.devices
        self.health = DeviceHealth(
            devices.down_alarm_seconds, devices.flap_drops, devices.flap_window_seconds
        )
        self.scans: deque[PackScan | BarcodeError] = deque(maxlen=100)
        self._zones = {
            (reader.name, antenna): slot
            for reader in config.readers
            for antenna, slot in reader.antennas.items()
        }
        self._reader_slots = {
            reader.name: set(reader.antennas.values()) for reader in config.readers
        }
        self._antennas = {  # reader -> its antennas' names (health and alarms)
            r.name: [antenna_name(r.name, a) for a in r.antenna_numbers] for r in config.readers
        }
        self.watched_slots = set(self._zones.values())  # slots a fixed reader watches
        self.unwatched: set[str] = set()  # slots whose reader is down
        # device -> why it is down, as its driver said (the metrics' scrape thread reads it)
        self.down_reasons: dict[str, str] = {}
        self.read_at: dict[str, float] = {}  # slot -> when its antenna last finished a round
        self._handhelds = {r.name for r in config.readers if r.role == "handheld"}
        self._receiving = {  # receiving scanner -> the slot it books packs into
            s.name: s.receive_to for s in config.scanners if s.role == "receiving" and s.receive_to
        }
        # put-away scanner -> its station's slot ('' for none)
        self._putaway = {s.name: s.receive_to or "" for s in config.scanners if s.role == "putaway"}
        self._handheld_reads: dict[str, float] = {}
        self._configured = _device_names(config)

    # Presence: what the fixed readers see, and what the ledger says is placed ----------------

    def seed(self, placed: dict[str, str]) -> None:
        """Start watching the tagged packs the ledger has in slots a fixed reader watches (only
        those can be seen to leave)."""
        here = {epc: slot for epc, slot in placed.items() if slot in self.watched_slots}
        self._presence.seed(here, self._clock.monotonic())

    async def watch_presence(self, submit: Submit, beats: Heartbeats) -> None:
        """Packs not seen for the dwell time (in watched slots) have left: changes."""
        period = max(0.05, min(1.0, self._presence.dwell / 5))
        while True:
            await asyncio.sleep(period)
            beats.tick("presence")
            now = self._clock.monotonic()
            for change in self._presence.overdue(now, self.unwatched, self.read_at):
                await submit(change)

    def follow(self, outcome: Outcome) -> None:
        """What the ledger booked out is no longer watched; what a count booked into a watched
        slot is watched there."""
        for epc in outcome.booked_epcs:
            self._presence.forget(epc)  # booked out: the tracker must not see it leave again
        for epc, slot in outcome.placed.items():
            if slot in self.watched_slots:
                self._presence.place(epc, slot, self._clock.monotonic())
            else:
                self._presence.forget(epc)

    def alarmed_before(self, alarms: list[Alarm]) -> None:
        """The device alarms live from before a restart: each clears once its device (or
        antenna) shows it works (one raised for its drops: once it has stayed up for the flap
        window), and stays while it does not. The alarm of a device (or antenna) no longer in
        the configuration clears now, saying so: nothing will ever show that it works. The
        broker link's is left to its own watch (alarm_watch.broker_link_alarms)."""
        subjects = [
            a.subject
            for a in alarms
            if a.kind is AlarmKind.DEVICE_DOWN and a.subject != BROKER_LINK
        ]
        for gone in [s for s in subjects if s not in self._configured]:
            text = f"{gone} is no longer in the configuration: its device_down alarm clears"
            self._observe(Activity("device", text, logging.WARNING))
            self._offer(ClearAlarm(AlarmKind.DEVICE_DOWN, gone))
        kept = [s for s in subjects if s in self._configured]
        drops = {a.subject for a in alarms if "drops" in a.detail}  # raised for its drops
        self.health.alarmed_before(kept, self._clock.monotonic(), drops)

    # Driver events ---------------------------------------------------------------------------

    def on_event(self, event: DriverEvent) -> None:
        if isinstance(event, TagSeen):
            self._tag_seen(event)
        elif isinstance(event, InventoryRoundDone):
            self._counters["rounds"] += 1
            # A round done is the antenna working: the sign of life that clears an antenna
            # alarm raised before a restart (the driver reports recoveries only of its own).
            # Looked at only while some device is down: every round passes here.
            if self.health.any_down():
                self._works(antenna_name(event.reader, event.antenna))
            if event.reader in self._handhelds:
                for pack in self._stocktake.round_done(self._badges.sweeper(), event.reader):
                    self._handheld_read(pack, event.reader)
            elif (slot := self._zones.get((event.reader, event.antenna))) is not None:
                self._round_done(slot)
        elif isinstance(event, BarcodeScanned):
            self._scanned(event)
        elif isinstance(event, ScanUnreadable):
            self._refused(event.scanner, "an unreadable scan", BarcodeError(event.reason))
        elif isinstance(event, BadgePresented):
            name = self._badges.present(event.reader, event.uid)
            if name is None:
                self._observe(Activity("badge", f"unknown badge {event.uid} on {event.reader}"))
            else:
                self._observe(Activity("badge", f"{name} badged in on {event.reader}"))
                if self._stocktake.badge(name):
                    self._observe(Activity("stocktake", f"{name} confirms the stocktake"))
        elif isinstance(event, BadgeRemoved):
            name = self._badges.removed(event.reader)
            self._observe(Activity("badge", f"{name or 'badge'} left {event.reader}"))
        elif isinstance(event, ButtonPressed):
            slot, presses = slot_name(event.controller, event.slot), event.presses
            self._observe(Activity("button", f"{slot} pressed {presses} time(s)"))
            # Of tagged packs a fixed reader watches there, the one it stopped seeing was taken.
            least_seen = self._presence.least_seen(slot) if slot in self.watched_slots else ()
            self._offer(ConfirmButton(slot, presses, self._shown_picker(slot), least_seen))
        elif isinstance(event, AntennaFault):
            self._antenna_fault(event)
        elif isinstance(event, DeviceUp):
            self._observe(Activity("device", f"{event.device} is up"))
            self.down_reasons.pop(event.device, None)
            self._set_watched(event.device, True)
            if event.device in self._handhelds:
                self._stocktake.handheld(event.device, up=True)
            self._works(event.device)
            self.health.reachable(self._antennas.get(event.device, ()), self._clock.monotonic())
        elif isinstance(event, DeviceDown):
            # The one line about it (the drivers report it by this event, not in the log).
            down = f"{event.device} is down: {event.reason}"
            self._observe(Activity("device", down, logging.WARNING))
            self.down_reasons[event.device] = event.reason
            self.health.down(event.device, event.reason, self._clock.monotonic())
            # Its antennas read nothing while it is down: not a good round, nor a failure.
            self.health.unreachable(self._antennas.get(event.device, ()))
            self._set_watched(event.device, False)
            if event.device in self._handhelds:
                self._stocktake.handheld(event.device, up=False)
        elif isinstance(event, InventoryRoundCut) and event.reader in self._handhelds:
            self._stocktake.round_cut(event.reader)  # held for a round's end that never came

    def _set_watched(self, device: str, watched: bool) -> None:
        """While a reader is down its slots are not watched: packs there are not judged gone."""
        slots = self._reader_slots.get(device)
        if not slots:
            return
        if watched:
            self.unwatched -= slots
            self._presence.watched_again(slots, self._clock.monotonic())
        else:
            self.unwatched |= slots

    def _round_done(self, slot: str) -> None:
        """Rounds that resume after a pause (an antenna plugged back, a reader restarted, a
        busy line) give the slot's packs a full dwell time of reading to be seen again: the
        first rounds after it alone must not decide that a pack left."""
        now = self._clock.monotonic()
        if now - self.read_at.get(slot, now) > self._presence.dwell / 2:
            self._presence.watched_again({slot}, now)
        self.read_at[slot] = now

    def _tag_seen(self, event: TagSeen) -> None:
        self._counters["tag_reads"] += 1
        identity = self.epcs.decode(event.epc)
        if event.reader in self._handhelds:  # its round decides: a count's or picks
            self._stocktake.read(identity, event.rssi, self._badges.sweeper(), event.reader)
            return
        slot = self._zones.get((event.reader, event.antenna))
        if slot is None or not isinstance(identity, PackId):
            return
        change = self._presence.seen(identity, slot, self._clock.monotonic())
        if change is not None:
            self._offer(change)

    def _handheld_read(self, identity: PackId, reader: str) -> None:
        """A pack read by a handheld in a pick round (`handheld_rounds`) is checked like a
        scan."""
        if not self._picking():
            return
        now = self._clock.monotonic()
        if now - self._handheld_reads.get(identity.epc, -HANDHELD_REPEAT_SECONDS) < (
            HANDHELD_REPEAT_SECONDS
        ):
            return
        self._handheld_reads = {
            epc: t for epc, t in self._handheld_reads.items() if now - t < HANDHELD_REPEAT_SECONDS
        }
        self._handheld_reads[identity.epc] = now
        self._offer(HandheldRead(identity.epc, reader))

    def _scanned(self, event: BarcodeScanned) -> None:
        try:
            # A put-away scanner answers a product it does not know with its GTIN, to add.
            strict = event.scanner not in self._putaway
            unknown = Carried(serial=strict, batch_and_expiry=strict)
            scan = read_scanned_pack(event.text, lambda gtin: self._carried.get(gtin, unknown))
        except BarcodeError as exc:
            self._refused(event.scanner, readable(event.text), exc)
            return
        self._counters["scans"] += 1
        self.scans.append(scan)
        self._observe(
            Activity(
                "scan",
                f"{event.scanner}: GTIN {scan.gtin} batch {scan.batch!r} "
                f"expiry {scan.expiry} serial {scan.serial!r}",
            )
        )
        scanner = event.scanner
        slot = self._receiving.get(scanner)
        if slot is not None:
            self._offer(ReceivedScan(scan, slot, self._badges.at_scanner(scanner), scanner))
            return
        station = self._putaway.get(scanner)
        if station is not None:
            actor = self._badges.at_scanner(scanner)
            self._offer(PutawayScan(scan, scanner, station, actor))
            return
        self._offer(ScannedAtPick(scan, scanner))  # the pick list's picker books it: no badge

    def _refused(self, scanner: str, what: str, why: BarcodeError) -> None:
        """A scan that cannot be booked: counted, logged, and red at a goods-in desk."""
        self._counters["scans_refused"] += 1
        self.scans.append(why)
        self._observe(Activity("scan", f"{scanner} refused {what}: {why}"))
        # At the goods-in desks the clerk is watching the lights, not a screen.
        desk = self._receiving.get(scanner) or self._putaway.get(scanner)
        if desk:
            self._offer(UnreadCode(scanner, desk, str(why)))

    def _works(self, device: str) -> None:
        """`device` (or an antenna) shows it works: its alarm clears if one was raised."""
        if self.health.up(device, self._clock.monotonic()):
            self._offer(ClearAlarm(AlarmKind.DEVICE_DOWN, device))

    def _antenna_fault(self, event: AntennaFault) -> None:
        """Antennas are judged like devices: an alarm once one has had no good round for
        down_alarm_seconds, or once it failed again and again between good rounds (flap_drops
        within flap_window_seconds); that one is held until the antenna has read for the
        window, so a loose antenna raises one alarm, not one per failure."""
        subject = antenna_name(event.reader, event.antenna)
        if event.ok:
            self._observe(Activity("device", f"{subject} works again"))
            self._works(subject)
        else:
            self._observe(Activity("device", f"{subject}: {event.detail}", logging.WARNING))
            about = {"device": event.reader, "antenna": event.antenna}
            self.health.down(subject, event.detail, self._clock.monotonic(), about)


def _device_names(config: GatewayConfig) -> set[str]:
    """The names the configured devices and readers' antennas go by (health and alarms)."""
    names = {r.name for r in config.readers} | {s.name for s in config.scanners}
    names |= {shelf.name for shelf in config.shelves}
    names |= {antenna_name(r.name, a) for r in config.readers for a in r.antenna_numbers}
    if config.badges.enabled:
        names.add(BADGE_SERVICE)
    return names
