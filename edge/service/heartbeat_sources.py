"""The gateway's loops as the service watchdog sees them from outside: each driver by the
counters it keeps anyway, the publisher by the acknowledgements it collects; and the one line
`systemctl status` shows. Built from the parts (devices, session, publisher), never from the
gateway itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial

from drivers.modbus.shelf_bus import ShelfBus
from drivers.pcsc.badge_reader import BadgeReaders
from drivers.serial_device import SerialDevice
from edge.daemon.devices import Devices
from edge.service.sd_notify import Notifier, watchdog_seconds
from edge.service.watchdog import Ask, Heartbeats, ObservedLoop, ServiceWatchdog
from sync.broker_refusal import Refused
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher

# A reader round ends within its round timeout (2-3 s); three silent rounds mark it down.
READER_WITHIN = 10.0
BADGES_WITHIN = 5.0  # one poll of the PC/SC service takes milliseconds
# A bus cycle polls every due controller; each can cost a couple of request deadlines.
BUS_WITHIN = 10.0
BUS_PER_CONTROLLER = 5.0
PUBLISHER = "publisher"
# With rows in flight to a connected broker, PUBACKs keep coming; a broker that went silent is
# noticed by the MQTT keepalive (30 s) within about a minute, and then the publisher rests; one
# that answers pings but acknowledges nothing loses its link after a keepalive without a PUBACK
# (sync.mqtt_client.PubackWatch), and the reconnect counts as progress.
PUBLISHER_WITHIN = 90.0
# The status line names at most this many devices down (each cut to NAME_CHARS), then counts.
DOWN_NAMED = 3
NAME_CHARS = 24


def gateway_watchdog(
    beats: Heartbeats,
    devices: Devices,
    session: MqttSession,
    publisher: OutboxPublisher,
    ask_writer: Ask,
    storage_failing: Callable[[], bool],
    clock: Callable[[], float],
) -> ServiceWatchdog:
    """The service watchdog of a started gateway, handed its heartbeat sources."""
    return ServiceWatchdog(
        beats,
        Notifier.from_environment(),
        loops=observed_loops(devices, session, publisher, storage_failing),
        ask_writer=ask_writer,
        describe=partial(describe, devices, session),
        timeout=watchdog_seconds(),
        clock=clock,
    )


def observed_loops(
    devices: Devices,
    session: MqttSession,
    publisher: OutboxPublisher,
    storage_failing: Callable[[], bool],
) -> list[ObservedLoop]:
    """The loops seen from outside: drivers (by their counters) and the publisher.

    A barcode scanner has none: its task only waits for its port to close, and what it reads
    arrives in callbacks on the event loop."""
    loops = [_reader_loop(reader) for reader in devices.readers]
    loops += [_bus_loop(bus, count) for bus, count in _controllers(devices).items()]
    if devices.badges is not None:
        loops.append(_badges_loop(devices.badges))
    loops.append(_publisher_loop(publisher, session, storage_failing))
    return loops


def describe(devices: Devices, session: MqttSession, outbox: int | None) -> str:
    """One line for `systemctl status`: devices up (naming those down, a few at most), the
    broker (connected, refusing us, unreachable, or our session taken over by another client),
    the outbox."""
    states = [(reader.name, reader.up is True) for reader in devices.readers]
    states += [(scanner.name, scanner.up is True) for scanner in devices.scanners]
    if devices.badges is not None:
        states.append((devices.badges.name, devices.badges.up is True))
    states += [
        (controller, bus.is_up(controller))
        for bus, controller in dict.fromkeys((b, c) for b, c, _ in devices.slot_lights.values())
    ]
    up = sum(answers for _, answers in states)
    parts = [f"{up} of {len(states)} devices up" if states else "no devices"]
    down = [name for name, answers in states if not answers]
    if down:
        parts[0] += f" (down: {_named(down)})"
    parts.append(_broker_state(session))
    if outbox is not None:
        parts.append(f"outbox {outbox}")
    return "serving: " + ", ".join(parts)


def _named(names: list[str]) -> str:
    """The first DOWN_NAMED of `names` (each cut to NAME_CHARS), and how many more."""
    shown = [n if len(n) <= NAME_CHARS else n[: NAME_CHARS - 3] + "..." for n in names]
    more = len(shown) - DOWN_NAMED
    return ", ".join(shown[:DOWN_NAMED]) + (f" and {more} more" if more > 0 else "")


def _broker_state(session: MqttSession) -> str:
    """Taken over by another client, connected, refused (what the broker refused, as it said
    it), or unreachable (a connect attempt failed since the last link, taken over or not)."""
    if session.takeover.taken_over.is_set() and not session.takeover.unreachable:
        return f"broker session taken over (client id {session.takeover.client_id} used twice)"
    if session.connected.is_set():
        return "broker connected"
    refusal = session.refusal
    if refusal is None:
        return "broker unreachable"
    if refusal.what is Refused.PROTOCOL:
        return f"broker refused MQTT {refusal.protocol} ({refusal.said.lower()})"
    what = "the client id" if refusal.what is Refused.CLIENT_ID else "the account"
    return f"broker refused {what} ({refusal.said.lower()})"


def _reader_loop(reader: SerialDevice) -> ObservedLoop:
    def progress() -> object:
        # Any frame counts: a reader whose antennas all fail still answers each command.
        return reader.opens, reader.frames

    def resting() -> bool:
        return reader.up is not True  # down or not open yet: it retries with back-off

    return ObservedLoop(f"reader {reader.name}", READER_WITHIN, progress, resting)


def _bus_loop(bus: ShelfBus, controllers: int) -> ObservedLoop:
    def progress() -> object:
        return bus.cycles  # counted every cycle, with its controllers answering or not

    return ObservedLoop(
        f"shelf bus {bus.name}", BUS_WITHIN + BUS_PER_CONTROLLER * controllers, progress
    )


def _badges_loop(badges: BadgeReaders) -> ObservedLoop:
    def progress() -> object:
        return badges.polls

    return ObservedLoop(f"badges {badges.name}", BADGES_WITHIN, progress)


def _publisher_loop(
    publisher: OutboxPublisher, session: MqttSession, storage_failing: Callable[[], bool]
) -> ObservedLoop:
    def progress() -> object:
        # Every PUBACK counts, as it comes: on a slow link a batch takes minutes to be answered
        # in full, and waiting for that would stop the pings before the first rows are marked.
        return publisher.answered, publisher.sent, publisher.refused, session.connects

    def resting() -> bool:
        # With the broker gone, or nothing handed to it, the publisher waits (it comes round
        # every second while idle); with rows in flight, PUBACKs must keep arriving. While the
        # ledger cannot be written it waits for the disk to record what was acknowledged.
        return not session.connected.is_set() or not publisher.in_flight or storage_failing()

    return ObservedLoop(PUBLISHER, PUBLISHER_WITHIN, progress, resting)


def _controllers(devices: Devices) -> dict[ShelfBus, int]:
    """Each shelf bus, with how many controllers it serves."""
    pairs = {(bus, controller) for bus, controller, _ in devices.slot_lights.values()}
    counts = Counter(bus for bus, _ in pairs)
    return {bus: counts.get(bus, 0) for bus in devices.buses}
