"""`rxedge ledger verify` beside the running daemon: the ledger is checked as it stood when the
check began, whatever is written meanwhile, and a good ledger is never called damaged."""

from __future__ import annotations

import contextlib
import select
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.ledger_fixture import build, gtin, slot

ROOT = Path(__file__).resolve().parents[2]
MOVEMENTS = 60_000  # enough for the check to take a few seconds


def large_ledger(path: Path) -> Path:
    """A ledger whose check takes seconds: many movements over many slots."""
    build(path, movements=MOVEMENTS, slots=6_000, products=600)
    return path


@contextlib.contextmanager
def steady_writer(ledger: Path) -> Iterator[None]:
    """A writer process committing one movement after another into `ledger`, as the daemon
    does, from its first durable movement on until the block ends."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.inventory.steady_writer", str(ledger), gtin(1)]
        + [slot(n) for n in range(1, 40)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdin is not None and writer.stdout is not None
        try:
            assert select.select([writer.stdout], [], [], 60)[0], "the writer did not start"
            assert writer.stdout.readline() == "ready\n", "the writer ended"
            yield
        finally:
            writer.stdin.close()  # its sign to stop
            assert writer.wait(timeout=60) == 0


def written(ledger: Path) -> int:
    """How many movements the ledger's head counts now."""
    with contextlib.closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT movements FROM ledger_head").fetchone()[0])


def rxedge_verify(ledger: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "ledger", "verify", "--db", str(ledger), *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )


def test_a_ledger_written_during_the_check_verifies_as_it_stood_when_the_check_began(
    tmp_path: Path,
) -> None:
    ledger = large_ledger(tmp_path / "ledger.sqlite")
    with steady_writer(ledger):
        before = written(ledger)
        result = rxedge_verify(ledger, "--json")
        after = written(ledger)
    assert (result.returncode, result.stderr) == (0, ""), result
    verdict = result.stdout
    assert '"ok": true' in verdict and '"problems": []' in verdict, verdict
    checked = int(verdict.split('"movements": ')[1].split(",")[0])
    assert before <= checked < after, (before, checked, after)  # written while it checked
    assert rxedge_verify(ledger).stdout.startswith(f"ledger ok: {written(ledger)} movements")
