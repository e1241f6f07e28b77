"""Building the drivers a configuration names, each owning its port."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from drivers.chafon.reader import ChafonReader
from drivers.events import DriverEvent
from drivers.gs1_scanner import BarcodeScanner
from drivers.modbus.profile import PROFILES
from drivers.modbus.rtu_line import RtuClient
from drivers.modbus.shelf_bus import ControllerSpec, ShelfBus, tcp_client
from drivers.pcsc.badge_reader import BadgeReaders
from drivers.r2000.reader import R2000Reader
from drivers.serial_device import SerialDevice
from drivers.serial_link import SerialPort
from edge.clock import Clock
from edge.settings.config import GatewayConfig, ShelfConfig
from edge.settings.serial_framing import SerialFraming
from edge.settings.shared_lines import bus_of

Emit = Callable[[DriverEvent], None]


@dataclass
class Devices:
    """Every driver of one gateway, and where each slot's light is."""

    readers: list[SerialDevice] = field(default_factory=list)
    scanners: list[BarcodeScanner] = field(default_factory=list)
    badges: BadgeReaders | None = None
    buses: list[ShelfBus] = field(default_factory=list)
    slot_lights: dict[str, tuple[ShelfBus, str, int]] = field(default_factory=dict)

    def tasks(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """(name, coroutine) for every port-owning task."""
        named: list[tuple[str, Coroutine[Any, Any, None]]] = []
        named += [(f"reader {r.name}", r.run()) for r in self.readers]
        named += [(f"scanner {s.name}", s.run()) for s in self.scanners]
        named += [(f"shelf bus {b.name}", b.run()) for b in self.buses]
        if self.badges is not None:
            named.append(("badges", self.badges.run()))
        return named


def build_devices(config: GatewayConfig, emit: Emit, clock: Clock) -> Devices:
    """The drivers for `config`, not started yet; their timers run on `clock`."""
    devices = Devices()
    tick = clock.monotonic
    for r in config.readers:
        if r.protocol == "chafon":
            devices.readers.append(
                ChafonReader(
                    _port(r.name, r.port, r.line_speed, r),
                    emit,
                    address=r.bus_address,
                    clock=tick,
                )
            )
        else:
            devices.readers.append(
                R2000Reader(
                    _port(r.name, r.port, r.line_speed, r),
                    emit,
                    address=r.bus_address,
                    antennas=r.antenna_numbers,
                    output_power_dbm=r.output_power_dbm,
                    clock=tick,
                )
            )
    devices.scanners = [
        BarcodeScanner(
            _port(s.name, s.port, s.baudrate, s), emit, clock=tick, quiet=s.quiet_ms / 1000
        )
        for s in config.scanners
    ]
    if config.badges.enabled:
        devices.badges = BadgeReaders(emit, config.badges.reader)
    _build_buses(config.shelves, emit, devices, tick)
    return devices


def _build_buses(
    shelves: list[ShelfConfig], emit: Emit, devices: Devices, clock: Callable[[], float]
) -> None:
    """One bus per TCP controller, and one per RS-485 port shared by its controllers."""
    groups: dict[str, list[ShelfConfig]] = {}
    for shelf in shelves:
        groups.setdefault(bus_of(shelf), []).append(shelf)
    for key, members in groups.items():
        first = members[0]
        client = (
            tcp_client(str(first.host), first.port)
            if first.transport == "tcp"
            else RtuClient(
                str(first.serial_port),
                first.baudrate,
                clock=clock,
                parity=first.line_parity,
                stopbits=first.line_stopbits,
            )
        )
        specs = [ControllerSpec(s.name, s.device_id, s.slots, PROFILES[s.profile]) for s in members]
        bus = ShelfBus(key, client, specs, emit, poll_interval=1 / first.poll_hz, clock=clock)
        devices.buses.append(bus)
        for shelf in members:
            for index, slot in enumerate(shelf.slot_names()):
                devices.slot_lights[slot] = (bus, shelf.name, index)


def _port(name: str, url: str, baudrate: int, framing: SerialFraming) -> SerialPort:
    return SerialPort(name, url, baudrate, framing.line_parity, framing.line_stopbits)
