"""Soak: the daemon as a process (`rxedge run --config FILE`) for SOAK_SECONDS (default 60 s;
`make soak` runs 1800 s) with real peers: fixed R2000 readers at line rate in a process of
their own, packs leaving and coming back, pick lists from the centre confirmed by buttons on a
Modbus shelf controller, requests delivered at receiving scanners, stocktake sweeps by a Chafon
handheld, and the broker restarting every 60 s (at least once). See tests/soak/scenario.py.

Afterwards, with every pack back on the shelves, deliveries scanned in and the broker up:
- flat: RSS and open fds sampled every 5 s; after a warm-up (a quarter of the soak, 20 s to
  5 min) the median RSS of the last third of the samples is at most 15 % above the first
  third's, and the most fds open in the last third fewer than 5 above the first third's most;
- nothing lost: every request the ledger holds as sent reached the centre's persistent consumer
  (applied once by request_id, however often delivered), every pick list sent was answered
  `done`, every sweep was answered, the outbox is empty, every tagged pack is on the ledger's
  shelves, and `rxedge ledger verify` passes;
- no live alarm is left, in the ledger or in the retained alarm states the centre holds: the
  shortages ended with their deliveries, the discrepancies with their confirmations, and no
  device stayed down (every device is up in the daemon's metrics);
- every message from the gateway kept to the MQTT contract, and the daemon stopped cleanly.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.demo.local_broker import LocalBroker, free_port
from edge.service.metrics_scrape import Scrape, scrape
from firmware_sim.chafon_sim import ChafonSimulator
from firmware_sim.scanner_sim import ScannerSimulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from tests.conftest import eventually
from tests.soak.centre import Centre
from tests.soak.rig import (
    COUNTED_PAR,
    FD_GROWTH,
    PREFIX,
    ROOT,
    RSS_GROWTH,
    SHELF_A_SLOTS,
    Daemon,
    Layout,
    ReaderFarm,
    growth,
    live_alarms,
    movements,
    on_hand,
    packs_in,
    sent_requests,
    stock_ledger,
    unsent_messages,
    write_config,
)
from tests.soak.scenario import BROKER_DOWN_SECONDS, Peers, Soak

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
SOAK_SEED = int(os.environ.get("SOAK_SEED", "20261126"))
READERS = int(os.environ.get("SOAK_READERS", "4"))
SETTLE = 90.0  # seconds for everything to arrive once the soak is over
# Alarms the scenario leaves live on purpose (none: every one it causes has its end).
EXPLAINED_ALARMS: frozenset[str] = frozenset()


def warm_up(duration: float) -> float:
    return min(max(duration / 4, 20.0), 300.0)


async def settle(problems: Callable[[], list[str]], timeout: float) -> None:
    """Wait until `problems()` finds none; fail with what is left after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while found := problems():
        if loop.time() > deadline:
            pytest.fail(f"not settled after {timeout:.0f} s:\n" + "\n".join(found[:20]))
        await asyncio.sleep(0.25)


def unsettled(
    db: Path, layout: Layout, centre: Centre, picks: list[str], metrics: str
) -> list[str]:
    """What is not yet as it must be at the end: devices up, every pack on the ledger's
    shelves, the outbox empty, every request at the centre, every pick list done, no alarm."""
    found = []
    try:
        up = scrape(metrics).series("rxedge_device_up")
        found += [f"device {labels['device']} is not up" for labels, v in up if v != 1]
    except Exception as exc:
        found.append(f"metrics: {exc}")
    tagged = len(layout.tagged)
    if (n := packs_in(db, layout.reader_slots())) != tagged:
        found.append(f"{n} of {tagged} tagged packs on the ledger's shelves")
    if (n := unsent_messages(db)) > 0:
        found.append(f"{n} outbox messages not acknowledged by the broker")
    missing = sorted(sent_requests(db) - set(centre.requests))
    found += [f"request {rid} never reached the centre" for rid in missing]
    for pick in picks:
        if "done" not in (statuses := centre.statuses(pick)):
            found.append(f"pick list {pick} not done: {statuses}")
    found += [f"live in the ledger: {a}" for a in live_alarms(db) if a not in EXPLAINED_ALARMS]
    for topic in centre.live_alarms():
        if topic.rsplit("/", 1)[1] not in EXPLAINED_ALARMS:
            found.append(f"live at the centre: {topic}")
    return found


def figures(metrics: str) -> dict[str, int]:
    """Tag reads the daemon handled (fixed readers, handheld) and alarm changes it wrote."""
    found: Scrape = scrape(metrics)
    reads = found.series("rxedge_tag_reads_total")
    return {
        "fixed": int(sum(v for labels, v in reads if labels["reader"] != "hh")),
        "handheld": int(sum(v for labels, v in reads if labels["reader"] == "hh")),
        "alarm_changes": int(found.value("rxedge_alarm_changes_total") or 0),
    }


@pytest.mark.soak
@pytest.mark.timeout(SOAK_SECONDS + 600)
async def test_the_daemon_stays_flat_and_loses_nothing_under_a_long_load(
    broker: LocalBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = Layout(READERS)
    db = tmp_path / "ledger.sqlite"
    stock_ledger(db, layout)
    farm = await ReaderFarm.start(tmp_path, layout.readers)
    shelf = ShelfControllerSimulator(slots=SHELF_A_SLOTS)
    shelf_b = ShelfControllerSimulator(slots=len(layout.reader_slots()))
    handheld = ChafonSimulator(link=tmp_path / "handheld", scan_time=0.01)
    scanners = [ScannerSimulator(link=tmp_path / c.scanner) for c in layout.counted]
    sims: list[ShelfControllerSimulator | ChafonSimulator | ScannerSimulator]
    sims = [shelf, shelf_b, handheld, *scanners]
    for peer in sims:
        await peer.start()
    for pack in layout.tagged:
        await farm.place(pack.reader, pack.antenna, pack.epc)
    metrics_port = free_port()
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    ports = {
        "broker": broker.url,
        "metrics": metrics_port,
        "readers": farm.ports,
        "handheld": handheld.port,
        "scanners": [s.port for s in scanners],
        "A": shelf.port,
        "B": shelf_b.port,
    }
    config = write_config(tmp_path / "gateway.toml", layout, db, ports)
    centre = Centre(broker.port, PREFIX)
    daemon: Daemon | None = None
    try:
        await centre.start()
        daemon = Daemon(config, tmp_path / "daemon.log")
        await eventually(lambda: centre.births >= 1, timeout=30, what="the daemon online")
        tagged = len(layout.tagged)
        await eventually(
            lambda: packs_in(db, layout.reader_slots()) == tagged, timeout=60, what="packs in"
        )
        peers = Peers(broker, farm, shelf, handheld, scanners, daemon, centre)
        soak = Soak(layout, peers, db, SOAK_SECONDS, SOAK_SEED)
        before = figures(metrics)
        started = asyncio.get_running_loop().time()
        await soak.run()
        ran = asyncio.get_running_loop().time() - started

        # Every pack is back (each churn round ends so); counted products restocked to par.
        for c in layout.counted:
            await soak.deliver(c, max(0, COUNTED_PAR - on_hand(db, c.gtin)))

        await settle(lambda: unsettled(db, layout, centre, soak.tally.picks, metrics), SETTLE)
        wire = await farm.ask("stats")
        handled = figures(metrics)
        booked = movements(db)
        code = await daemon.stop()
        assert code == 0, f"the daemon exited with {code}:\n{daemon.tail()}"
        await farm.stop()
    finally:
        if daemon is not None:
            daemon.kill()
        centre.close()
        farm.kill()
        for peer in sims:
            await peer.stop()

    verify = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "ledger", "verify", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert centre.violations == [], "\n".join(centre.violations[:20])
    requests = sent_requests(db)
    assert set(centre.requests) == requests
    assert soak.tally.restarts >= 1 and soak.tally.picks and soak.tally.sweeps
    assert handled["alarm_changes"] > 0, "no alarm was raised: the alarm check proves nothing"

    flat = growth(soak.samples, warm_up(SOAK_SECONDS))
    first, last = soak.samples[0], soak.samples[-1]
    t = soak.tally
    summary = [
        f"soak: {ran:.0f} s (asked {SOAK_SECONDS:.0f} s), seed {SOAK_SEED}, {layout.readers} "
        f"R2000 readers at line rate, {len(soak.samples)} samples",
        f"  reads: {wire['reads']} sent by the fixed readers, {handled['fixed']} handled by the "
        f"daemon ({(handled['fixed'] - before['fixed']) / ran:.0f}/s during the soak), "
        f"{handled['handheld']} from the handheld",
        f"  packs: {t.removals} left and came back, {t.moves} moved; {booked} movements, "
        f"{handled['alarm_changes']} alarm changes",
        f"  picks: {len(t.picks)} lists done, {t.pressed} button presses",
        f"  requests: {len(requests)} sent, all at the centre once each "
        f"({sum(centre.deliveries.values())} deliveries); {t.delivered} packs scanned in",
        f"  sweeps: {t.sweeps} ({t.confirmed_sweeps} with a misplaced pack, confirmed)",
        f"  broker restarts: {t.restarts}, each down {BROKER_DOWN_SECONDS:.0f} s; the gateway "
        f"online again {min(t.link_back):.1f} to {max(t.link_back):.1f} s after its start",
        f"  RSS: {first.rss_kb / 1024:.1f} MiB first, {last.rss_kb / 1024:.1f} MiB last; "
        f"after the warm-up {flat.rss_first_kb / 1024:.1f} -> {flat.rss_last_kb / 1024:.1f} "
        f"MiB (medians of first and last third; limit +{RSS_GROWTH:.0%})",
        f"  fds: {first.fds} first, {last.fds} last; after the warm-up most {flat.fds_first} -> "
        f"{flat.fds_last} (limit +{FD_GROWTH - 1})",
    ]
    with capsys.disabled():
        print("\n" + "\n".join(summary))
    assert not flat.problems(), "; ".join(flat.problems())
