"""What the gateway exports to Prometheus, read when a scrape asks (docs/metrics.md lists it).

Everything here is cheap and runs on the scrape thread: the gateway's counters, the drivers'
own statistics and flags, the MQTT session's state. Nothing here touches the ledger: the gauges
that need it (outbox, live alarms, open pick lists) come from `LedgerFigures`, which a task of
the gateway reads through the ledger's writer every few seconds. Times come from the gateway's
clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from typing import Protocol, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from drivers.modbus.shelf_bus import ShelfBus
from drivers.serial_device import SerialDevice
from edge.clock import Clock
from edge.daemon.device_events import DeviceEvents
from edge.daemon.device_health import DeviceHealth
from edge.daemon.devices import Devices
from edge.daemon.ledger_link import LedgerLink
from edge.service.latency import COMMIT_BUCKETS, PUBLISH_BUCKETS, LatencyHistogram
from edge.settings.config import GatewayConfig
from edge.settings.device_names import antenna_name
from inventory.alarms.lifecycle import AlarmKind
from inventory.ledger.writer import LedgerWriter
from sync.mqtt_session import MqttSession
from sync.publisher import OutboxPublisher

# The gateway's own counters (Gateway.counters) that have a metric of their own; any other key
# is exported as rxedge_gateway_events_total{event="key"}.
NAMED_COUNTERS = {
    "movements": ("rxedge_movements", "Movements written to the ledger."),
    "alarm_changes": (
        "rxedge_alarm_changes",
        "Alarm transitions written to the ledger (raised, acknowledged, cleared).",
    ),
    "requests": (
        "rxedge_procurement_request_changes",
        "Procurement requests written: raised, confirmed or moved along by the centre.",
    ),
    "mistakes": ("rxedge_pick_mistakes", "Wrong packs caught at the shelf while picking."),
    "commands": (
        "rxedge_commands_received",
        "Messages received from the centre (commands and procurement status updates).",
    ),
    "refused_changes": (
        "rxedge_changes_refused",
        "Changes the ledger refused (a pack it cannot place, a move it cannot make).",
    ),
}
# Exported per reader instead (rxedge_tag_reads_total, rxedge_reader_rounds_total), or as scans.
UNEXPORTED_COUNTERS = {"tag_reads", "rounds", "scans", "scans_refused"}

Part = TypeVar("Part")
# Counters a part of the gateway keeps itself: (metric, help, how to read it off the part).
PartCounters = tuple[tuple[str, str, Callable[[Part], int]], ...]
PUBLISHER_COUNTERS: PartCounters[OutboxPublisher] = (
    ("rxedge_outbox_sent", "Outbox messages the broker acknowledged.", lambda p: p.sent),
    (
        "rxedge_outbox_refused",
        "Outbox messages the broker refused (kept, and tried again later).",
        lambda p: p.refused,
    ),
    (
        "rxedge_outbox_superseded",
        "Alarm states dropped unsent: the broker took a newer state of the same alarm first.",
        lambda p: p.superseded,
    ),
)
WRITER_COUNTERS: PartCounters[LedgerWriter] = (
    (
        "rxedge_ledger_commit_groups",
        "Transactions the ledger's writer committed (each shared by the calls waiting for it).",
        lambda w: w.groups,
    ),
    ("rxedge_ledger_calls", "Calls the ledger's writer carried out.", lambda w: w.calls),
)


class Watched(Protocol):
    """What the collector reads of the gateway."""

    config: GatewayConfig
    counters: Counter[str]
    devices: Devices
    events: DeviceEvents
    session: MqttSession | None
    publisher: OutboxPublisher | None
    ledger: LedgerLink


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    """Read on the ledger's writer: what is waiting, what is alarming, what is being picked."""

    outbox_depth: int
    outbox_oldest: float | None  # Unix time the oldest waiting message was written
    alarms: dict[str, int]  # live alarms by kind
    pick_lists: int
    products_short: int  # products at or below their reorder point, counting what is on order
    read_at: float = 0.0  # monotonic seconds, set by the reader


@dataclass
class Tallies:
    """What the gateway's metrics count themselves, on the event loop."""

    clock: Clock
    tag_reads: Counter[str] = field(default_factory=Counter)  # by reader
    presses: Counter[str] = field(default_factory=Counter)  # by shelf controller
    commands_refused: int = 0
    figures: LedgerFigures | None = None
    commits: LatencyHistogram = field(init=False)
    publishes: LatencyHistogram = field(init=False)
    started_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.commits = LatencyHistogram(COMMIT_BUCKETS, self.clock.monotonic)
        self.publishes = LatencyHistogram(PUBLISH_BUCKETS, self.clock.monotonic)
        self.started_at = self.clock.time()


class GatewayCollector(Collector):
    """Builds every rxedge_ metric of one gateway at each scrape."""

    def __init__(self, gateway: Watched, tallies: Tallies):
        self._gateway = gateway
        self._tallies = tallies

    def collect(self) -> Iterable[Metric]:
        gateway, tallies = self._gateway, self._tallies
        config = gateway.config
        info = GaugeMetricFamily(
            "rxedge_gateway_info",
            "This gateway: its site, its name and the rxedge version it runs.",
            labels=["site", "gateway", "version"],
        )
        info.add_metric([config.site, config.gateway, _version()], 1.0)
        yield info
        yield GaugeMetricFamily(
            "rxedge_gateway_start_time_seconds",
            "When the gateway started (Unix time).",
            value=tallies.started_at,
        )
        devices = gateway.devices
        yield from _devices_up(devices)
        yield from _antennas_up(config, gateway.events.health)
        yield from _readers(list(devices.readers), tallies.tag_reads)
        yield from _serial_opens([*devices.readers, *devices.scanners])
        yield from _shelves(_controllers(devices), tallies.presses)
        yield from _counters(dict(gateway.counters), tallies)
        yield from _sync(gateway.session, gateway.publisher)
        yield from _ledger(gateway.ledger.writer, tallies.figures, config, tallies.clock)
        yield tallies.commits.family(
            "rxedge_ledger_commit_duration_seconds",
            "From handing a change to the ledger's writer to its commit being durable "
            "(waiting behind the group before it included).",
        )
        yield tallies.publishes.family(
            "rxedge_mqtt_publish_duration_seconds",
            "From publishing an outbox message to the broker's PUBACK (of its whole batch).",
        )


@cache
def _version() -> str:
    try:
        return metadata.version("rxedge")
    except metadata.PackageNotFoundError:
        return "unknown"


def _controllers(devices: Devices) -> list[tuple[ShelfBus, str]]:
    """Every shelf controller with the bus it is on, in configuration order."""
    return list(dict.fromkeys((bus, name) for bus, name, _ in list(devices.slot_lights.values())))


def _devices_up(devices: Devices) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "rxedge_device_up",
        "1 while the device answers, 0 while it is down or not yet reached.",
        labels=["device", "kind"],
    )
    for reader in list(devices.readers):
        up.add_metric([reader.name, "reader"], float(reader.up is True))
    for scanner in list(devices.scanners):
        up.add_metric([scanner.name, "scanner"], float(scanner.up is True))
    if devices.badges is not None:
        up.add_metric([devices.badges.name, "badge_reader"], float(devices.badges.up is True))
    for bus, controller in _controllers(devices):
        up.add_metric([controller, "shelf_controller"], float(bus.is_up(controller)))
    yield up


def _antennas_up(config: GatewayConfig, health: DeviceHealth) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "rxedge_antenna_up",
        "0 while the antenna's device_down alarm is live (no good round for "
        "devices.down_alarm_seconds: its slot is not watched), else 1.",
        labels=["reader", "antenna", "slot"],
    )
    for reader in config.readers:
        for antenna, slot in sorted(reader.antennas.items()):
            alarmed = health.alarmed(antenna_name(reader.name, antenna))
            up.add_metric([reader.name, str(antenna), slot], float(not alarmed))
    yield up


def _readers(readers: list[SerialDevice], tag_reads: Counter[str]) -> Iterator[Metric]:
    reads = CounterMetricFamily(
        "rxedge_tag_reads", "Tag reads reported by each reader.", labels=["reader"]
    )
    rounds = CounterMetricFamily(
        "rxedge_reader_rounds", "Inventory rounds each reader completed.", labels=["reader"]
    )
    frames = CounterMetricFamily(
        "rxedge_reader_frames", "Frames with a good checksum from each reader.", labels=["reader"]
    )
    bad = CounterMetricFamily(
        "rxedge_reader_bad_frames",
        "Frames dropped: checksum (bad checksum or CRC), gap (given up after a pause inside "
        "the frame), malformed (a good frame whose answer made no sense).",
        labels=["reader", "kind"],
    )
    garbage = CounterMetricFamily(
        "rxedge_reader_garbage_bytes",
        "Bytes from each reader that were not part of a good frame.",
        labels=["reader"],
    )
    for reader in readers:
        name = reader.name
        reads.add_metric([name], tag_reads.get(name, 0))
        rounds.add_metric([name], getattr(reader, "rounds", 0))
        decoder = getattr(reader, "decoder", None)
        if decoder is not None:
            stats = decoder.stats
            frames.add_metric([name], stats.frames)
            bad.add_metric([name, "checksum"], stats.bad_checksums)
            bad.add_metric([name, "gap"], stats.gap_discards)
            garbage.add_metric([name], stats.garbage_bytes)
        bad.add_metric([name, "malformed"], getattr(reader, "malformed", 0))
    yield from (reads, rounds, frames, bad, garbage)


def _serial_opens(devices: list[SerialDevice]) -> Iterator[Metric]:
    opens = CounterMetricFamily(
        "rxedge_serial_port_opens",
        "Times each serial device's port was opened (the first time and after every loss).",
        labels=["device"],
    )
    for device in devices:
        opens.add_metric([device.name], device.opens)
    yield opens


def _shelves(controllers: list[tuple[ShelfBus, str]], presses: Counter[str]) -> Iterator[Metric]:
    labels = ["controller"]
    writes = CounterMetricFamily(
        "rxedge_shelf_led_writes", "LED write requests each controller answered.", labels=labels
    )
    polls = CounterMetricFamily(
        "rxedge_shelf_button_polls", "Button reads each controller answered.", labels=labels
    )
    failures = CounterMetricFamily(
        "rxedge_shelf_request_failures",
        "Requests to each controller refused, unanswered or answered too late.",
        labels=labels,
    )
    restores = CounterMetricFamily(
        "rxedge_shelf_restores",
        "Times each controller had its whole LED state written (first contact, each return).",
        labels=labels,
    )
    discarded = CounterMetricFamily(
        "rxedge_shelf_replies_discarded",
        "Replies from each controller thrown away: late, or not answering the request out.",
        labels=labels,
    )
    pressed = CounterMetricFamily(
        "rxedge_button_presses", "Slot button presses on each controller.", labels=labels
    )
    for bus, controller in controllers:
        stats = bus.stats(controller)
        writes.add_metric([controller], stats.writes)
        polls.add_metric([controller], stats.polls)
        failures.add_metric([controller], stats.failures)
        restores.add_metric([controller], stats.restores)
        discarded.add_metric([controller], stats.discarded)
        pressed.add_metric([controller], presses.get(controller, 0))
    yield from (writes, polls, failures, restores, discarded, pressed)


def _counters(counters: dict[str, int], tallies: Tallies) -> Iterator[Metric]:
    for key, (name, documentation) in NAMED_COUNTERS.items():
        yield CounterMetricFamily(name, documentation, value=counters.get(key, 0))
    yield CounterMetricFamily(
        "rxedge_commands_refused",
        "Commands and status updates from the centre answered with an error on cmd-result.",
        value=tallies.commands_refused,
    )
    scans = CounterMetricFamily(
        "rxedge_barcode_scans",
        "Barcodes scanned: accepted, or refused (not a pack's GS1 code, or damaged).",
        labels=["result"],
    )
    scans.add_metric(["accepted"], counters.get("scans", 0))
    scans.add_metric(["refused"], counters.get("scans_refused", 0))
    yield scans
    others = CounterMetricFamily(
        "rxedge_gateway_events",
        "Other things the gateway counts, by name.",
        labels=["event"],
    )
    for key in sorted(set(counters) - set(NAMED_COUNTERS) - UNEXPORTED_COUNTERS):
        others.add_metric([key], counters[key])
    yield others


def _sync(session: MqttSession | None, publisher: OutboxPublisher | None) -> Iterator[Metric]:
    connected = session is not None and session.connected.is_set()
    yield GaugeMetricFamily(
        "rxedge_mqtt_connected", "1 while connected to the broker.", value=float(connected)
    )
    connects = session.connects if session is not None else 0
    yield CounterMetricFamily(
        "rxedge_mqtt_reconnects",
        "Connections to the broker after the first one.",
        value=max(0, connects - 1),
    )
    yield from _counted(publisher, PUBLISHER_COUNTERS)


def _counted(part: Part | None, counters: PartCounters[Part]) -> Iterator[Metric]:
    """The part's counters; 0 while the gateway runs without it (no broker, no ledger yet)."""
    for name, documentation, read in counters:
        yield CounterMetricFamily(name, documentation, value=read(part) if part is not None else 0)


def _ledger(
    writer: LedgerWriter | None, figures: LedgerFigures | None, config: GatewayConfig, clock: Clock
) -> Iterator[Metric]:
    yield from _counted(writer, WRITER_COUNTERS)
    yield GaugeMetricFamily(
        "rxedge_outbox_backlog_limit_messages",
        "Configured: more messages waiting than this is a sync backlog.",
        value=config.alarms.backlog_messages,
    )
    yield GaugeMetricFamily(
        "rxedge_outbox_backlog_limit_age_seconds",
        "Configured: the oldest message waiting longer than this is a sync backlog.",
        value=config.alarms.backlog_age_seconds,
    )
    yield GaugeMetricFamily(
        "rxedge_ledger_figures_refresh_seconds",
        "Configured: how often the gauges read from the ledger are read.",
        value=config.metrics.refresh_seconds,
    )
    if figures is None:
        return  # not read yet: absent rather than a made-up zero
    yield GaugeMetricFamily(
        "rxedge_ledger_figures_age_seconds",
        "How long ago the gauges read from the ledger (outbox, alarms, pick lists) were read.",
        value=clock.monotonic() - figures.read_at,
    )
    yield GaugeMetricFamily(
        "rxedge_outbox_pending_messages",
        "Messages in the outbox waiting for the broker.",
        value=figures.outbox_depth,
    )
    age = 0.0
    if figures.outbox_depth and figures.outbox_oldest is not None:
        age = max(0.0, clock.time() - figures.outbox_oldest)
    yield GaugeMetricFamily(
        "rxedge_outbox_oldest_age_seconds",
        "How long the oldest waiting outbox message has waited (0 when none waits).",
        value=age,
    )
    alarms = GaugeMetricFamily(
        "rxedge_alarms_live", "Alarms raised or acknowledged and not cleared.", labels=["kind"]
    )
    for kind in AlarmKind:
        alarms.add_metric([str(kind)], figures.alarms.get(str(kind), 0))
    yield alarms
    yield GaugeMetricFamily(
        "rxedge_pick_lists_open", "Pick lists being worked on.", value=figures.pick_lists
    )
    yield GaugeMetricFamily(
        "rxedge_products_short",
        "Products whose stock on hand and on order is at or below their reorder point.",
        value=figures.products_short,
    )
