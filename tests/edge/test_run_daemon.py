"""`rxedge run --config FILE`: the daemon as a process, started and stopped as systemd would."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from edge.demo.local_broker import LocalBroker
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from firmware_sim.tags import sgtin96
from tests.conftest import Subscriber, eventually
from tests.edge.daemon_config import write_daemon_config

ROOT = Path(__file__).resolve().parents[2]


def put_aways(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM movements").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # schema not created yet


async def test_daemon_runs_from_a_config_file_and_stops_cleanly_on_sigterm(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    reader = R2000Simulator(link=tmp_path / "ttyREADER0")
    shelf = ShelfControllerSimulator(slots=8)
    await reader.start()
    await shelf.start()
    for n in range(3):
        reader.place(1, sgtin96("4012345", "012345", n))
    db = tmp_path / "state" / "ledger.sqlite"
    config = write_daemon_config(tmp_path, broker.url, shelf.port, db, dwell_seconds=0.5)
    status = subscribe("rxedge/v1/s1/g1/status")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        await eventually(lambda: b"online" in [m.payload for m in status.drain()], what="online")
        await eventually(lambda: put_aways(db) == 3, what="three packs booked in")
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=15)
        assert daemon.returncode == 0, output
        await eventually(lambda: status.drain()[-1].payload == b"offline", what="offline")
    finally:
        daemon.kill()
        await reader.stop()
        await shelf.stop()


def test_a_damaged_ledger_stops_the_daemon_with_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "ledger.sqlite"
    db.write_bytes(b"this is not a ledger" * 500)
    config = tmp_path / "gateway.toml"
    config.write_text(f'site = "s1"\ngateway = "g1"\ndatabase = "{db}"\n')
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "restore it from a backup" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_second_daemon_on_the_same_ledger_is_refused_naming_the_first(
    broker: LocalBroker, subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    """Two daemons on one ledger would each chain movements from their own idea of the last
    one (breaking `ledger verify`) and book the same shelves twice: the second one started (by
    hand, beside the service) is refused and the first goes on."""
    reader = R2000Simulator(link=tmp_path / "ttyREADER0")
    shelf = ShelfControllerSimulator(slots=8)
    await reader.start()
    await shelf.start()
    reader.place(1, sgtin96("4012345", "012345", 1))
    db = tmp_path / "state" / "ledger.sqlite"
    config = write_daemon_config(tmp_path, broker.url, shelf.port, db, dwell_seconds=0.5)
    status = subscribe("rxedge/v1/s1/g1/status")
    command = [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)]
    first = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    second = None
    try:
        await eventually(lambda: b"online" in [m.payload for m in status.drain()], what="online")
        await eventually(lambda: put_aways(db) == 1, what="the pack booked in")
        second = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        await eventually(lambda: second.poll() is not None, timeout=30, what="second refused")
        error = second.communicate()[1]
        assert second.returncode == 2, error
        assert f"ledger {db} is in use by another rxedge daemon (pid {first.pid})" in error
        assert "systemctl stop rxedge" in error and "Traceback" not in error
        assert first.poll() is None, "the first daemon stopped"
        reader.place(1, sgtin96("4012345", "012345", 2))
        await eventually(lambda: put_aways(db) == 2, what="the first still books")
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=15)
        assert first.returncode == 0, output
    finally:
        first.kill()
        if second is not None:
            second.kill()
        await reader.stop()
        await shelf.stop()
