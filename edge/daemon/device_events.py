"""What the devices report, turned into changes for the ledger and lines for the activity log.

The gateway's half that listens to the drivers: tags seen by fixed readers feed the presence
tracker, handheld reads and scans go to the pick desk, buttons confirm picks, devices going
down and up raise and clear alarms.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from functools import partial

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
from drivers.modbus.lights import SlotLight
from drivers.modbus.profile import Colour
from edge.daemon.activity import Activity, Observer
from edge.daemon.changes import Change
from edge.daemon.device_health import DeviceHealth
from edge.daemon.stocktake_flow import StocktakeFlow
from edge.settings.config import GatewayConfig, slot_name
from inventory.alarms.lifecycle import AlarmKind
from inventory.codes.barcodes import (
    BarcodeError,
    PackScan,
    check_serial,
    parse_pack_barcode,
    readable,
)
from inventory.codes.identifiers import EpcDecoder, PackId
from inventory.keeper import Commit, InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from inventory.replenishment.policy import Product
from inventory.stock.presence import PresenceTracker

HANDHELD_REPEAT_SECONDS = 2.0  # a handheld reads a tag many times: one check per this long


class DeviceEvents:
    """Driver events in, changes out (the gateway owns the state named here)."""

    _observe: Observer
    _changes: asyncio.Queue[Change]
    _zones: dict[tuple[str, int], str]
    _reader_slots: dict[str, set[str]]
    _unwatched: set[str]
    _handhelds: set[str]
    _handheld_reads: dict[str, float]
    _picking: bool
    _receiving: dict[str, str]  # receiving scanner -> the slot it books packs into
    _putaway: dict[str, str]  # put-away scanner -> its station's slot ('' for none)
    stocktake: StocktakeFlow
    _lit: dict[str, SlotLight]
    _colours: list[Colour]
    counters: Counter[str]
    scans: deque[PackScan | BarcodeError]
    epcs: EpcDecoder
    presence: PresenceTracker
    health: DeviceHealth
    pharmacists: dict[str, str]
    products: dict[str, Product]
    badge_holders: dict[str, str]

    def _on_driver_event(self, event: DriverEvent) -> None:
        if isinstance(event, TagSeen):
            self._tag_seen(event)
        elif isinstance(event, InventoryRoundDone):
            self.counters["rounds"] += 1
            if event.reader in self._handhelds:
                self.stocktake.round_done()
        elif isinstance(event, BarcodeScanned):
            self._scanned(event)
        elif isinstance(event, BadgePresented):
            name = self.pharmacists.get(event.uid)
            if name is None:
                self._observe(Activity("badge", f"unknown badge {event.uid} on {event.reader}"))
            else:
                self.badge_holders[event.reader] = name
                self._observe(Activity("badge", f"{name} badged in on {event.reader}"))
                if self.stocktake.badge(name):
                    self._observe(Activity("stocktake", f"{name} confirms the stocktake"))
        elif isinstance(event, BadgeRemoved):
            name = self.badge_holders.pop(event.reader, None)
            self._observe(Activity("badge", f"{name or 'badge'} left {event.reader}"))
        elif isinstance(event, ButtonPressed):
            slot, presses = slot_name(event.controller, event.slot), event.presses
            self._observe(Activity("button", f"{slot} pressed {presses} time(s)"))
            shown = self._shown_picker(slot)
            # The put-away desk takes the presses on slots it lit and hands the others on.
            self._changes.put_nowait(lambda keeper: keeper.putaways.button(slot, presses, shown))
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

    def _shown_picker(self, slot: str) -> int | None:
        """Whose pick list the slot shows now (by its colour), when it shows one."""
        light = self._lit.get(slot)
        if light is None or not light.on or light.colour not in self._colours:
            return None
        return self._colours.index(light.colour)

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
        if event.reader in self._handhelds:
            holder = next(iter(self.badge_holders.values()), "")
            if not self.stocktake.read(identity, event.rssi, holder):
                self._handheld_read(identity, event.reader)
            return
        slot = self._zones.get((event.reader, event.antenna))
        if slot is None or not isinstance(identity, PackId):
            return
        change = self.presence.seen(identity, slot, time.monotonic())
        if change is not None:
            self._changes.put_nowait(change)

    def _handheld_read(self, identity: object, reader: str) -> None:
        """A pack read by a handheld while pick lists are open is checked like a scan."""
        if not self._picking or not isinstance(identity, PackId):
            return
        now = time.monotonic()
        if now - self._handheld_reads.get(identity.epc, -HANDHELD_REPEAT_SECONDS) < (
            HANDHELD_REPEAT_SECONDS
        ):
            return
        self._handheld_reads = {
            epc: t for epc, t in self._handheld_reads.items() if now - t < HANDHELD_REPEAT_SECONDS
        }
        self._handheld_reads[identity.epc] = now
        epc = identity.epc
        self._changes.put_nowait(lambda keeper: keeper.picks.tag_read(epc, reader))

    def _scanned(self, event: BarcodeScanned) -> None:
        try:
            scan = parse_pack_barcode(event.text)
            product = self.products.get(scan.gtin)
            # A put-away scanner answers a product it does not know with its GTIN, to add.
            strict = event.scanner not in self._putaway
            check_serial(scan, product.require_serial if product is not None else strict)
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
        scanner = event.scanner
        actor = next(iter(self.badge_holders.values()), "system")
        slot = self._receiving.get(scanner)
        if slot is not None:
            self._changes.put_nowait(partial(_receive, scan, slot, actor, scanner))
            return
        station = self._putaway.get(scanner)
        if station is not None:
            self._changes.put_nowait(
                lambda keeper: keeper.putaways.scanned(scan, scanner, station, actor)
            )
            return
        self._changes.put_nowait(
            lambda keeper: keeper.picks.scanned(scan.gtin, scan.batch, scan.serial, scanner)
        )

    def _antenna_fault(self, event: AntennaFault) -> None:
        """Antennas are judged like devices: an alarm only once one has had no good round for
        down_alarm_seconds, so error frames between good rounds do not make it flap."""
        subject = f"{event.reader}-antenna-{event.antenna}"
        if event.ok:
            self._observe(Activity("device", f"{subject} works again"))
            if self.health.up(subject):
                self._queue_alarm_clear(AlarmKind.DEVICE_DOWN, subject)
        else:
            self._observe(Activity("device", f"{subject}: {event.detail}"))
            about = {"device": event.reader, "antenna": event.antenna}
            self.health.down(subject, event.detail, time.monotonic(), about)

    def _queue_alarm(self, kind: AlarmKind, subject: str, detail: dict[str, object]) -> None:
        self._changes.put_nowait(lambda keeper: keeper.raise_alarm(kind, subject, detail))

    def _queue_alarm_clear(self, kind: AlarmKind, subject: str) -> None:
        self._changes.put_nowait(lambda keeper: keeper.clear_alarm(kind, subject))

    async def _watch_health(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, max(self.health.alarm_after / 4, 0.05)))
            for device, detail in self.health.due(time.monotonic()):
                self._queue_alarm(AlarmKind.DEVICE_DOWN, device, detail)


def scanner_roles(config: GatewayConfig) -> tuple[dict[str, str], dict[str, str]]:
    """Receiving scanners -> the slot they book into; put-away scanners -> their station's
    slot ('' for none)."""
    receiving = {
        s.name: s.receive_to for s in config.scanners if s.role == "receiving" and s.receive_to
    }
    putaway = {s.name: s.receive_to or "" for s in config.scanners if s.role == "putaway"}
    return receiving, putaway


def _receive(
    scan: PackScan, slot: str, actor: str, scanner: str, keeper: InventoryKeeper
) -> Commit:
    """A pack scanned in at a receiving scanner: one pack booked in (closes what it delivers)."""
    return keeper.commit(
        [
            Movement(
                MovementKind.RECEIVE,
                scan.gtin,
                serial=scan.serial,
                batch=scan.batch,
                expiry=scan.expiry.isoformat() if scan.expiry else None,
                to_slot=slot,
                actor=actor,
                reason=f"scanned in at {scanner}",
            )
        ]
    )
