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

from edge.clock import Clock
from edge.daemon.device_events import DeviceEvents
from edge.daemon.devices import Devices
from edge.daemon.ledger_link import LedgerLink
from edge.service.device_metrics import (
    antennas_up,
    devices_up,
    reader_counts,
    scanner_counts,
    serial_opens,
    shelf_controllers,
    shelf_counts,
)
from edge.service.latency import COMMIT_BUCKETS, PUBLISH_BUCKETS, LatencyHistogram
from edge.service.watchdog import Heartbeats
from edge.settings.config import GatewayConfig
from inventory.alarms.lifecycle import AlarmKind
from inventory.ledger.writer import LedgerWriter
from sync.broker_refusal import CONFIG_SETTINGS
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
    beats: Heartbeats


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
    # The oldest waiting message's wait as the sync-backlog alarm measured it at its last
    # check, and when (monotonic: an NTP step moves neither); None before its first check.
    outbox_waited: tuple[float, float] | None = None
    commits: LatencyHistogram = field(init=False)
    publishes: LatencyHistogram = field(init=False)
    started_at: float = field(init=False)

    def outbox_waited_for(self, seconds: float) -> None:
        """The sync backlog alarm's latest measure of the oldest waiting message's wait."""
        self.outbox_waited = (seconds, self.clock.monotonic())

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
        yield from devices_up(devices, gateway.events.down_reasons)
        yield from antennas_up(config, gateway.events.health, tallies.clock.monotonic())
        yield from reader_counts(list(devices.readers), tallies.tag_reads)
        yield from serial_opens([*devices.readers, *devices.scanners])
        yield from scanner_counts(list(devices.scanners))
        yield from shelf_counts(shelf_controllers(devices), tallies.presses)
        yield from _counters(dict(gateway.counters), tallies)
        yield from _sync(gateway.session, gateway.publisher)
        yield from _ledger(gateway.ledger, tallies, config)
        stalled = GaugeMetricFamily(
            "rxedge_loop_stalled_seconds",
            "Loops busy and past their allowance without going round (the watchdog then stops "
            "pinging systemd): seconds since their last round. None listed: all make progress.",
            labels=["loop"],
        )
        for name, seconds in gateway.beats.stalled():
            stalled.add_metric([name], seconds)
        yield stalled
        yield tallies.commits.family(
            "rxedge_ledger_commit_duration_seconds",
            "From handing a change to the ledger's writer to its commit being durable "
            "(waiting behind the group before it included).",
        )
        yield tallies.publishes.family(
            "rxedge_mqtt_publish_duration_seconds",
            "From publishing an outbox message to its being marked sent: its PUBACK and those "
            "of the messages before it, then up to about a second until its chunk is marked.",
        )


@cache
def _version() -> str:
    try:
        return metadata.version("rxedge")
    except metadata.PackageNotFoundError:
        return "unknown"


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
    error = GaugeMetricFamily(
        "rxedge_mqtt_connect_error_info",
        "1, while not connected, with why (as the journal says it): the broker's refusal and "
        "the setting that fixes it, or what the last connect attempt met. None listed while "
        "connected, or before an attempt failed.",
        labels=["error"],
    )
    if session is not None and not connected and (why := connect_error(session)) is not None:
        error.add_metric([why], 1.0)
    yield error
    yield from _counted(publisher, PUBLISHER_COUNTERS)


def connect_error(session: MqttSession) -> str | None:
    """Why `session` is not connected: the broker's lasting refusal (with the setting that
    fixes it, as the journal says it), what the last attempt met, or None (not known)."""
    refusal, failure = session.refusal, session.last_failure
    if refusal is not None:
        return refusal.message(CONFIG_SETTINGS)
    if failure is not None:
        return f"broker {failure.broker_url}: {failure.what}"  # the one that failed, as logged
    return None


def _counted(part: Part | None, counters: PartCounters[Part]) -> Iterator[Metric]:
    """The part's counters; 0 while the gateway runs without it (no broker, no ledger yet)."""
    for name, documentation, read in counters:
        yield CounterMetricFamily(name, documentation, value=read(part) if part is not None else 0)


def _ledger(ledger: LedgerLink, tallies: Tallies, config: GatewayConfig) -> Iterator[Metric]:
    figures, clock = tallies.figures, tallies.clock
    yield from _counted(ledger.writer, WRITER_COUNTERS)
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
    age, waited = 0.0, tallies.outbox_waited
    if figures.outbox_depth and waited is not None and waited[0] > 0:
        age = waited[0] + clock.monotonic() - waited[1]  # carried on from the alarm's check
    elif figures.outbox_depth and figures.outbox_oldest is not None:  # written since it
        age = max(0.0, clock.time() - figures.outbox_oldest)
    yield GaugeMetricFamily(
        "rxedge_outbox_oldest_age_seconds",
        "How long the oldest waiting outbox message has waited (0 when none waits), as the "
        "sync backlog alarm measures it, carried on since its last check.",
        value=age,
    )
    alarms = GaugeMetricFamily(
        "rxedge_alarms_live", "Alarms raised or acknowledged and not cleared.", labels=["kind"]
    )
    live = dict(figures.alarms)
    if ledger.storage_failing:  # raised at the broker; written once the ledger can be
        live[str(AlarmKind.STORAGE)] = max(live.get(str(AlarmKind.STORAGE), 0), 1)
    for kind in AlarmKind:
        alarms.add_metric([str(kind)], live.get(str(kind), 0))
    yield alarms
    yield GaugeMetricFamily(
        "rxedge_pick_lists_open", "Pick lists being worked on.", value=figures.pick_lists
    )
    yield GaugeMetricFamily(
        "rxedge_products_short",
        "Products whose stock on hand and on order is at or below their reorder point.",
        value=figures.products_short,
    )
