"""Power cuts and kill -9: every movement acknowledged before the kill is in the ledger after
it, the chain verifies, and the index rebuilt from the file equals the store."""

from __future__ import annotations

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


def run_until_killed(db: Path, seconds: float) -> list[str]:
    """Start the worker, SIGKILL it after `seconds`, return the references it acknowledged."""
    acked: list[str] = []
    ready = threading.Event()
    with subprocess.Popen(
        [sys.executable, "-m", "tests.inventory.crash_worker", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:

        def read() -> None:
            assert worker.stdout is not None
            for line in worker.stdout:
                if line.startswith("ack "):
                    acked.append(line[4:].strip())
                elif line.startswith("ready"):
                    ready.set()

        reader = threading.Thread(target=read)
        reader.start()
        assert ready.wait(30), "the worker did not start"
        time.sleep(seconds)  # then the power goes, mid-workload
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        reader.join()
        assert worker.returncode == -signal.SIGKILL, worker.stderr.read() if worker.stderr else ""
    return acked


def test_acknowledged_movements_survive_sigkill(tmp_path: Path) -> None:
    db_path = tmp_path / "ledger.sqlite"
    rng = random.Random(4)
    acknowledged: list[str] = []
    for _ in range(KILLS):
        acknowledged += run_until_killed(db_path, rng.uniform(0.02, 0.4))
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
    assert len(acknowledged) > 200, "the workload hardly ran: the test proves little"
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM movements").fetchone()[0] >= len(acknowledged)
