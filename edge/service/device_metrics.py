"""The device side of the gateway's metrics: devices and antennas up, readers' reads and bad
frames, serial ports opened, shelf controllers' writes, polls and presses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from drivers.gs1_scanner import BarcodeScanner
from drivers.modbus.shelf_bus import ShelfBus
from drivers.serial_device import SerialDevice
from edge.daemon.device_health import DeviceHealth
from edge.daemon.devices import Devices
from edge.settings.config import GatewayConfig
from edge.settings.device_names import antenna_name


def shelf_controllers(devices: Devices) -> list[tuple[ShelfBus, str]]:
    """Every shelf controller with the bus it is on, in configuration order."""
    return list(dict.fromkeys((bus, name) for bus, name, _ in list(devices.slot_lights.values())))


def devices_up(devices: Devices, reasons: Mapping[str, str]) -> Iterator[Metric]:
    """Each device up or not, and for each one down the reason its driver gave (`reasons`:
    device -> reason, as the gateway's journal says it)."""
    up = GaugeMetricFamily(
        "rxedge_device_up",
        "1 while the device answers, 0 while it is down or not yet reached.",
        labels=["device", "kind"],
    )
    down = GaugeMetricFamily(
        "rxedge_device_down_info",
        "1 for each device down, with why (its driver's words, as the journal says them); "
        "none listed for a device that is up or not yet reached.",
        labels=["device", "kind", "reason"],
    )
    found = [(reader.name, "reader", reader.up is True) for reader in list(devices.readers)]
    found += [(scanner.name, "scanner", scanner.up is True) for scanner in list(devices.scanners)]
    if devices.badges is not None:
        found.append((devices.badges.name, "badge_reader", devices.badges.up is True))
    found += [
        (controller, "shelf_controller", bus.is_up(controller))
        for bus, controller in shelf_controllers(devices)
    ]
    for name, kind, answers in found:
        up.add_metric([name, kind], float(answers))
        reason = None if answers else reasons.get(name)
        if reason is not None:
            down.add_metric([name, kind, reason], 1.0)
    yield up
    yield down


def antennas_up(config: GatewayConfig, health: DeviceHealth, now: float) -> Iterator[Metric]:
    """Each antenna given a slot: whether its device_down alarm is live, and whether it is live
    for failures between good rounds (`now`: monotonic seconds, the health's clock)."""
    up = GaugeMetricFamily(
        "rxedge_antenna_up",
        "0 while the antenna's device_down alarm is live (no good round for "
        "devices.down_alarm_seconds, or failing devices.flap_drops times within "
        "devices.flap_window_seconds: its slot is not watched reliably), else 1.",
        labels=["reader", "antenna", "slot"],
    )
    flapping = GaugeMetricFamily(
        "rxedge_antenna_flapping",
        "1 while the antenna's device_down alarm is live for failing devices.flap_drops times "
        "within devices.flap_window_seconds and it reads between failures (its slot is watched "
        "only then); 0 otherwise, also while it has had no good round for "
        "devices.down_alarm_seconds or its reader is down.",
        labels=["reader", "antenna", "slot"],
    )
    for reader in config.readers:
        for antenna, slot in sorted(reader.antennas.items()):
            name = antenna_name(reader.name, antenna)
            labels = [reader.name, str(antenna), slot]
            up.add_metric(labels, float(not health.alarmed(name)))
            flapping.add_metric(labels, float(health.reads_between_failures(name, now)))
    yield up
    yield flapping


def reader_counts(readers: list[SerialDevice], tag_reads: Counter[str]) -> Iterator[Metric]:
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
        "Frames dropped: checksum (bad checksum or CRC), misframed (checksum right, but not "
        "followed by the next frame's start: bytes lost inside it), gap (given up after a pause "
        "inside the frame), malformed (a good frame whose answer made no sense).",
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
            bad.add_metric([name, "misframed"], stats.misframed)
            bad.add_metric([name, "gap"], stats.gap_discards)
            garbage.add_metric([name], stats.garbage_bytes)
        bad.add_metric([name, "malformed"], getattr(reader, "malformed", 0))
    yield from (reads, rounds, frames, bad, garbage)


def serial_opens(devices: list[SerialDevice]) -> Iterator[Metric]:
    opens = CounterMetricFamily(
        "rxedge_serial_port_opens",
        "Times each serial device's port was opened (the first time and after every loss).",
        labels=["device"],
    )
    for device in devices:
        opens.add_metric([device.name], device.opens)
    yield opens


def scanner_counts(scanners: list[BarcodeScanner]) -> Iterator[Metric]:
    unreadable = CounterMetricFamily(
        "rxedge_scanner_unreadable_scans",
        "Scans that could not be a code, by what was wrong: too_long, or undecodable (bytes "
        "beyond ASCII: a scanner sending 7 data bits with parity). Each is also a refused scan.",
        labels=["scanner", "reason"],
    )
    for scanner in scanners:
        unreadable.add_metric([scanner.name, "too_long"], scanner.too_long)
        unreadable.add_metric([scanner.name, "undecodable"], scanner.undecodable)
    yield unreadable


def shelf_counts(
    controllers: list[tuple[ShelfBus, str]], presses: Counter[str]
) -> Iterator[Metric]:
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
