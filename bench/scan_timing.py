"""What the scan-to-LED benchmarks (bench.bench_pick_latency, bench.bench_putaway_latency)
share: the real daemon with a local mosquitto and its peers in their own process
(bench.scan_peers: a GS1 scanner on a pty, a 24-slot shelf controller on Modbus TCP), a
stopwatch from a scan's event to the shelf write that shows its result, and the fsync baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.daemon_config import bench_config
from drivers.events import BarcodeScanned, DriverEvent
from edge.daemon.gateway import Gateway
from edge.demo.local_broker import LocalBroker

NUMBER_BASE = 3001  # rxedge-ptl-v1: a slot's displayed number


def fsync_seconds(directory: Path, runs: int = 200) -> float:
    """Median time of one small write + fsync in `directory`."""
    path = directory / "fsync-probe"
    times = []
    with open(path, "wb") as f:
        for _ in range(runs):
            started = time.perf_counter()
            f.write(b"x" * 128)
            f.flush()
            os.fsync(f.fileno())
            times.append(time.perf_counter() - started)
    return statistics.median(times)


class Stopwatch:
    """Scan events in, matching Modbus writes out."""

    def __init__(self) -> None:
        self.scanned_at: float | None = None
        self.expect: tuple[int, int] | None = None  # (address, first value)
        self.done = asyncio.Event()
        self.latencies: list[float] = []

    def on_event(self, forward: Callable[[DriverEvent], None]) -> Callable[[DriverEvent], None]:
        def hook(event: DriverEvent) -> None:
            if isinstance(event, BarcodeScanned) and self.scanned_at is None:
                self.scanned_at = time.perf_counter()
            forward(event)

        return hook

    def wrap_write(self, write: Callable[..., Any]) -> Callable[..., Any]:
        def hooked(address: int, values: list[int], **kwargs: Any) -> Any:
            expect, started = self.expect, self.scanned_at
            if expect is not None and started is not None:
                first, value = expect
                if address <= first < address + len(values) and values[first - address] == value:
                    self.latencies.append(time.perf_counter() - started)
                    self.expect = self.scanned_at = None
                    self.done.set()
            return write(address, values, **kwargs)

        return hooked


async def run_scans(
    watch: Stopwatch,
    peers: subprocess.Popen[str],
    plans: list[tuple[str, int, int]],
    gap: float = 0.025,
) -> list[float]:
    """Each scan in `plans` (its code, and the register and value its LED write sets), the next
    `gap` seconds after the last one's LED write; the scans' latencies."""
    assert peers.stdin is not None
    watch.latencies = []
    for n, (scan, address, value) in enumerate(plans):
        watch.done.clear()
        watch.scanned_at, watch.expect = None, (address, value)
        peers.stdin.write(scan + "\n")
        peers.stdin.flush()
        try:
            await asyncio.wait_for(watch.done.wait(), 5)
        except TimeoutError:
            raise RuntimeError(
                f"scan {n + 1} of {len(plans)} ({scan!r}): no write of {value} to register "
                f"{address} within 5 s (scanned: {watch.scanned_at is not None})"
            ) from None
        await asyncio.sleep(gap)
    return list(watch.latencies)


@dataclass(frozen=True, slots=True)
class TimedDaemon:
    """A running daemon whose scans and shelf writes `watch` times; `forward` hands an event
    to the daemon untimed; `peers` is the scanner's and controller's process."""

    gateway: Gateway
    watch: Stopwatch
    forward: Callable[[DriverEvent], None]
    peers: subprocess.Popen[str]


@contextlib.asynccontextmanager
async def timed_daemon(
    work: Path, settings: Mapping[str, object], scanner: Mapping[str, object]
) -> AsyncIterator[TimedDaemon]:
    """The daemon on the ledger `work`/ledger.sqlite, configured with `settings` and one
    scanner (`scanner`: its name and role), ready and timed; everything stopped on leaving."""
    broker = LocalBroker(work / "broker")
    await broker.start()
    peers = subprocess.Popen(
        [sys.executable, "-m", "bench.scan_peers", "--link", str(work / "scanner")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert peers.stdout is not None
    ports = json.loads(peers.stdout.readline())
    config = bench_config(
        work,
        broker.url,
        ports["shelf_port"],
        24,
        metrics={"listen": ""},
        scanners=[{"port": ports["scanner_port"], "baudrate": 115200, **scanner}],
        **settings,
    )
    watch = Stopwatch()
    gateway = Gateway(config, observer=lambda _a: None)
    forward: Callable[[DriverEvent], None] = gateway.events.on_event
    gateway.events.on_event = watch.on_event(forward)  # type: ignore[method-assign]
    daemon = asyncio.create_task(gateway.run())
    try:
        await gateway.ready.wait()
        for bus in gateway.devices.buses:
            client = bus._client  # the bench times the write leaving
            client.write_registers = watch.wrap_write(client.write_registers)  # type: ignore[method-assign]
        yield TimedDaemon(gateway, watch, forward, peers)
    finally:
        gateway.stop()
        await daemon
        assert peers.stdin is not None
        peers.stdin.close()
        peers.wait(10)
        await broker.stop()
