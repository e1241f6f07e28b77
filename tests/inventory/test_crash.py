"""Power cuts and kill -9: every movement acknowledged before the kill is in the ledger after
it, the chain verifies, and the index rebuilt from the file equals the store."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from inventory.ledger.store import connect
from inventory.ledger.verify import verify
from inventory.stock.slot_index import SlotIndex

ROOT = Path(__file__).resolve().parents[2]
KILLS = 24


class Worker:
    """tests/inventory/crash_worker.py: each life a process of its own, SIGKILLed mid-workload;
    its output read as it comes, so that a full pipe never holds the workload back."""

    def __init__(self, db: Path, errors: Path):
        self._errors = errors.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.inventory.crash_worker", str(db)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
        )
        self.errors = errors
        self._life = 0  # the pid of the life running, if one is
        self._lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put("")  # the worker is gone

    def _next(self) -> str:
        line = self._lines.get(timeout=30)
        assert line, f"the worker ended: {self.errors.read_text()}"
        return line

    def run_until_killed(self, seconds: float) -> list[str]:
        """Start a life, SIGKILL it after `seconds`, return the references it acknowledged."""
        assert self.process.stdin is not None
        self.process.stdin.write("live\n")
        self.process.stdin.flush()
        acked: list[str] = []
        ready = False
        while not (self._life and ready):  # a life may say it is ready before its pid comes
            line = self._next()
            if line.startswith("pid "):
                self._life = int(line[4:])
            else:
                assert line == "ready", line
                ready = True
        time.sleep(seconds)  # then the power goes, mid-workload
        os.kill(self._life, signal.SIGKILL)
        while not (line := self._next()).startswith("ended "):
            assert line.startswith("ack "), line
            acked.append(line[4:])
        self._life = 0
        assert int(line[6:]) == -signal.SIGKILL, self.errors.read_text()
        return acked

    def close(self) -> None:
        if self._life:  # a test failed with it running
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._life, signal.SIGKILL)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(30)
        finally:
            self.process.kill()  # gone already, unless it hangs
            self._reader.join()
            self.process.stdout.close()
            self._errors.close()


def test_acknowledged_movements_survive_sigkill(tmp_path: Path) -> None:
    db_path = tmp_path / "ledger.sqlite"
    rng = random.Random(4)
    acknowledged: list[str] = []
    worker = Worker(db_path, tmp_path / "worker-errors.txt")
    try:
        for _ in range(KILLS):
            acknowledged += worker.run_until_killed(rng.uniform(0.02, 0.4))
            check_after_the_kill(db_path, acknowledged)
    finally:
        worker.close()
    assert len(acknowledged) > 200, "the workload hardly ran: the test proves little"
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM movements").fetchone()[0] >= len(acknowledged)


def check_after_the_kill(db_path: Path, acknowledged: list[str]) -> None:
    db = connect(db_path)  # integrity_check on every reopen
    try:
        present = {r[0] for r in db.execute("SELECT reference FROM movements")}
        missing = [ref for ref in acknowledged if ref not in present]
        assert not missing, f"{len(missing)} acknowledged movements lost, e.g. {missing[:3]}"
        verdict = verify(db)
        assert verdict.ok, verdict.problems
        index = SlotIndex.load(db)
        stored = {
            tuple(r[:5]): r[5]
            for r in db.execute("SELECT slot, gtin, batch, serial, status, quantity FROM stock")
        }
        assert {tuple(map(str, line.key)): line.quantity for line in index.lines()} == stored
    finally:
        db.close()
