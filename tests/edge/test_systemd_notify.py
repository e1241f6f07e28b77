"""The daemon speaks systemd's notification protocol: READY=1, STATUS=, WATCHDOG=1 while every
loop makes progress, STOPPING=1. The service manager's end is a datagram socket of the test's
own; the stalls are real (a PC/SC service that hangs, a ledger locked by another connection)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from edge.demo.local_broker import LocalBroker
from edge.service.heartbeat_sources import BADGES_WITHIN
from edge.service.sd_notify import Notifier, socket_address, watchdog_seconds
from edge.service.watchdog import Heartbeats, ServiceWatchdog
from firmware_sim.r2000_sim import R2000Simulator
from firmware_sim.shelf_controller_sim import ShelfControllerSimulator
from inventory.keeper import InventoryKeeper
from inventory.ledger.writer import LedgerWriter
from tests.conftest import eventually
from tests.edge.daemon_config import write_daemon_config
from tests.processes import pids_named

ROOT = Path(__file__).resolve().parents[2]


class ServiceManager:
    """The receiving end of $NOTIFY_SOCKET: every message with the time it arrived."""

    def __init__(self, name: str):
        self.name = name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(socket_address(name))
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, list[str]]] = []
        self._lock = threading.Lock()
        self._open = True
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while self._open:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.messages.append((time.monotonic(), data.decode().split("\n")))

    def fields(self, since: int = 0) -> list[tuple[int, float, str]]:
        """(message index, arrival, field) of every field from message `since` on."""
        with self._lock:
            return [
                (i, at, field)
                for i, (at, fields) in enumerate(self.messages)
                if i >= since
                for field in fields
            ]

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def first(self, field: str, since: int = 0) -> int | None:
        """Index of the first message from `since` on holding `field` exactly."""
        return next((i for i, _, f in self.fields(since) if f == field), None)

    def pings(self, since: int = 0) -> list[float]:
        return [at for _, at, f in self.fields(since) if f == "WATCHDOG=1"]

    def statuses(self, since: int = 0) -> list[tuple[int, str]]:
        return [
            (i, f.removeprefix("STATUS=")) for i, _, f in self.fields(since) if f[:7] == "STATUS="
        ]

    def status_with(self, text: str, since: int = 0) -> int | None:
        return next((i for i, s in self.statuses(since) if text in s), None)

    def close(self) -> None:
        self._open = False
        self._thread.join(2)
        self.sock.close()


def daemon(config: Path, notify: str, log: Path, watchdog_usec: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NOTIFY_SOCKET": notify, "WATCHDOG_USEC": str(watchdog_usec)}
    env.pop("WATCHDOG_PID", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "edge.cli.main", "run", "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def running(process: subprocess.Popen[bytes], log: Path, condition: Callable[[], Any]) -> Any:
    """`condition`, checked only while the daemon runs (its output is the failure's message)."""

    def check() -> Any:
        if process.poll() is not None:
            pytest.fail(f"the daemon exited with {process.returncode}:\n{log.read_text()}")
        return condition()

    return check


async def stop(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 30)
    assert code == 0, log.read_text()


def test_the_notify_socket_and_the_watchdog_timeout_come_from_the_environment() -> None:
    assert socket_address("@rxedge") == b"\0rxedge"
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert not Notifier.from_environment({}).enabled
    assert not Notifier.from_environment({}).send("READY=1")
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_seconds(mine) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_seconds({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_seconds({}) is None


async def test_the_daemon_says_ready_pings_while_serving_and_says_stopping_on_sigterm(
    broker: LocalBroker, tmp_path: Path
) -> None:
    reader = R2000Simulator(link=tmp_path / "ttyREADER0")
    shelf = ShelfControllerSimulator(slots=8)
    await reader.start()
    await shelf.start()
    config = write_daemon_config(
        tmp_path, broker.url, shelf.port, tmp_path / "state" / "ledger.sqlite"
    )
    manager = ServiceManager(f"@rxedge-test-{uuid.uuid4().hex}")  # the abstract namespace
    log = tmp_path / "daemon.log"
    process = daemon(config, manager.name, log, watchdog_usec=1_000_000)
    try:
        await eventually(
            running(process, log, lambda: manager.first("READY=1") is not None), 30, what="READY"
        )
        ready = manager.first("READY=1")
        assert ready is not None
        assert not [f for i, _, f in manager.fields() if i < ready and f == "WATCHDOG=1"]
        await eventually(
            lambda: manager.status_with("serving: 2 of 2 devices up, broker connected, outbox"),
            15,
            what="a status with both devices up, the broker and the outbox",
        )
        since = manager.count()
        await asyncio.sleep(3.0)
        pings = manager.pings(since)
        # Every half of WATCHDOG_USEC (0.5 s): no gap anywhere near the 1 s timeout.
        assert len(pings) >= 4, manager.messages
        assert max(b - a for a, b in itertools.pairwise(pings)) < 1.0
        await shelf.stop()  # the controller unplugged: the line names it
        await eventually(
            lambda: manager.status_with("serving: 1 of 2 devices up (down: A), broker connected"),
            30,
            what="a status naming the controller down",
        )
        before_stop = manager.count()
        await stop(process, log)
        await eventually(
            lambda: manager.first("STOPPING=1", before_stop) is not None, 2, what="STOPPING=1"
        )
    finally:
        process.kill()
        manager.close()
        await reader.stop()
        await shelf.stop()


@pytest.mark.usefixtures("pcscd")
async def test_a_hung_pcsc_service_stalls_the_badge_loop_and_stops_the_pings_until_it_returns(
    broker: LocalBroker, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(f"""
site = "s1"
gateway = "g1"
database = "{tmp_path / "ledger.sqlite"}"
create_database = true
[broker]
url = "{broker.url}"
[badges]
enabled = true
""")
    manager = ServiceManager(str(tmp_path / "notify"))
    log = tmp_path / "daemon.log"
    process = daemon(config, manager.name, log, watchdog_usec=1_000_000)
    pids = pids_named("pcscd")
    assert pids, "pcscd is not running"
    try:
        await eventually(
            running(process, log, lambda: manager.first("READY=1") is not None), 30, what="READY"
        )
        await eventually(lambda: len(manager.pings()) >= 2, 5, what="pings")
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)  # the service hangs: the badge poll never returns
        since = manager.count()
        stalled = await eventually(
            lambda: manager.status_with("stalled: no progress in badges", since),
            BADGES_WITHIN + 5,
            what="a status naming the stalled badge loop",
        )
        await asyncio.sleep(2.5)
        assert manager.pings(stalled) == [], "pinged while the badge loop was stalled"
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        resumed = manager.count()
        await eventually(lambda: manager.pings(resumed), 5, what="pings again")
        assert manager.status_with("serving: 1 of 1 devices up", resumed) is not None
        await stop(process, log)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        process.kill()
        manager.close()


async def test_a_ledger_writer_stuck_in_a_commit_stops_the_pings_until_it_commits(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ledger.sqlite"
    writer = LedgerWriter(partial(InventoryKeeper, db, {}, "s1", "g1"))
    await asyncio.to_thread(writer.start)
    manager = ServiceManager(str(tmp_path / "notify"))
    watchdog = ServiceWatchdog(
        Heartbeats(),
        Notifier(manager.name),
        ask_writer=lambda call: asyncio.wrap_future(writer.submit(call)),
        timeout=0.4,
        writer_within=1.0,
        probe_every=0.1,
        step=0.05,
    )
    task = asyncio.create_task(watchdog.run())
    other = sqlite3.connect(db, isolation_level=None)
    try:
        await eventually(lambda: len(manager.pings()) >= 3, 5, what="pings")
        assert manager.first("READY=1") == 0
        # Another connection holds the write lock: the writer's next group waits for it
        # (SQLite's busy timeout, 5 s, is longer than this test holds it).
        other.execute("BEGIN EXCLUSIVE")
        since = manager.count()
        stalled = await eventually(
            lambda: manager.status_with("stalled: no progress in ledger writer", since),
            3,
            what="a status naming the stalled writer",
        )
        await asyncio.sleep(1.0)
        assert manager.pings(stalled) == [], "pinged while the writer was stuck"
        other.execute("COMMIT")
        released = manager.count()
        await eventually(lambda: manager.pings(released), 3, what="pings again")
        assert manager.status_with("serving", released) is not None
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await eventually(lambda: manager.first("STOPPING=1") is not None, 2, what="STOPPING=1")
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        task.cancel()
        await asyncio.to_thread(writer.stop)
        manager.close()
