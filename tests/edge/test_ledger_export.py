"""`rxedge ledger export`: each table as CSV, a JSON array or JSON lines, read-only, and whole
and consistent while the ledger's writer is busy."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.writer import LedgerWriter
from inventory.replenishment.policy import Product
from inventory.site_calendar import SiteCalendar

ROOT = Path(__file__).resolve().parents[2]
AMOX = Product("04012345123456", "Amoxicillin 500 mg", reorder_point=2, par=6, home_slots=("A-01",))
START = datetime(2026, 11, 26, 9, tzinfo=UTC)


def pack(serial: int) -> PackId:
    return PackId(f"urn:epc:id:sgtin:4012345.012345.{serial}", AMOX.gtin, str(serial))


def export(db: Path, *options: str, zone: str = "UTC") -> subprocess.CompletedProcess[str]:
    """The export, on a machine in `zone` (a bare --db: the site's zone is the machine's)."""
    return subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "ledger", "export", "--db", str(db), *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
        env={**os.environ, "TZ": zone},
    )


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Packs put away an hour apart, then taken down to a shortage (an alarm, a request)."""
    path = tmp_path_factory.mktemp("export") / "ledger.sqlite"
    now = [START]
    keeper = InventoryKeeper(path, {AMOX.gtin: AMOX}, "s1", "g1", SiteCalendar(UTC, lambda: now[0]))
    for serial in range(1, 5):
        keeper.put_away(pack(serial), "A-01")
        now[0] += timedelta(hours=1)
    for serial in range(1, 4):
        keeper.take(pack(serial).epc)
    keeper.close()
    return path


def test_json_lines_give_every_movement_in_order(ledger: Path) -> None:
    done = export(ledger, "--table", "movements", "--format", "ndjson")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["id"] for row in rows] == list(range(1, 8))
    assert [row["kind"] for row in rows] == ["put_away"] * 4 + ["pick"] * 3


def test_an_alarms_detail_is_an_object_in_json_and_text_in_csv(ledger: Path) -> None:
    as_json = export(ledger, "--table", "alarms", "--format", "json")
    (alarm,) = json.loads(as_json.stdout)
    assert alarm["detail"]["gtin"] == AMOX.gtin
    as_csv = export(ledger, "--table", "alarms", "--format", "csv")
    (row,) = csv.DictReader(io.StringIO(as_csv.stdout))
    assert json.loads(row["detail"]) == alarm["detail"]


def test_every_table_exports_with_its_columns_even_when_empty(ledger: Path) -> None:
    for table in ("movements", "stock", "alarms", "procurement_requests", "stocktakes"):
        done = export(ledger, "--table", table)
        assert done.returncode == 0, done.stderr
        header = done.stdout.splitlines()[0].split(",")
        assert len(header) > 3, (table, header)
        assert json.loads(export(ledger, "--table", table, "--format", "json").stdout) is not None
    stocktakes = export(ledger, "--table", "stocktakes", "--format", "json")
    assert json.loads(stocktakes.stdout) == []


def test_since_keeps_the_rows_changed_from_then_on(ledger: Path) -> None:
    done = export(
        ledger, "--table", "movements", "--format", "ndjson", "--since", "2026-11-26T11:00"
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert rows and all(row["at"] >= "2026-11-26T11:00:00.000Z" for row in rows)
    assert len(rows) == 5  # the last two put-aways and the three picks
    offset = export(
        ledger, "--table", "movements", "--format", "ndjson", "--since", "2026-11-26T12:00+01:00"
    )
    assert offset.stdout == done.stdout


def test_since_without_an_offset_is_the_sites_time(ledger: Path) -> None:
    """At a site in Honolulu (UTC-10) "since 26 November" starts at its midnight, 10:00 UTC:
    the put-away at 09:00 UTC was on the 25th there."""
    rows = export(
        ledger,
        "--table",
        "movements",
        "--format",
        "json",
        "--since",
        "2026-11-26",
        zone="Pacific/Honolulu",
    )
    assert [row["at"] for row in json.loads(rows.stdout)][:2] == [
        "2026-11-26T10:00:00.000Z",
        "2026-11-26T11:00:00.000Z",
    ]
    at_one = export(
        ledger,
        "--table",
        "movements",
        "--format",
        "json",
        "--since",
        "2026-11-26T01:00",
        zone="Pacific/Honolulu",
    )
    assert json.loads(at_one.stdout)[0]["at"] == "2026-11-26T11:00:00.000Z"


def test_since_is_judged_in_the_zone_given_on_a_machine_elsewhere(ledger: Path) -> None:
    """The same Honolulu export from a machine in UTC: --timezone names the site's zone; without
    it the machine's is used, and said."""
    options = ("--table", "movements", "--format", "json", "--since", "2026-11-26")
    given = export(ledger, *options, "--timezone", "Pacific/Honolulu", zone="UTC")
    assert json.loads(given.stdout)[0]["at"] == "2026-11-26T10:00:00.000Z"
    assert given.stderr == ""
    machine = export(ledger, *options, zone="UTC")
    assert json.loads(machine.stdout)[0]["at"] == "2026-11-26T09:00:00.000Z"
    assert "dates judged in this machine's time zone, UTC" in machine.stderr


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--table", "stock", "--since", "2026-11-26"], "stock is the state now"),
        (["--table", "movements", "--since", "yesterday"], "not an ISO 8601 time"),
        (["--table", "outbox"], "invalid choice: 'outbox'"),
    ],
)
def test_what_cannot_be_exported_is_refused_in_words(
    ledger: Path, options: list[str], said: str
) -> None:
    done = export(ledger, *options)
    assert done.returncode == 2 and said in done.stderr, done.stderr


def test_the_export_never_writes_to_the_ledger(ledger: Path, tmp_path: Path) -> None:
    before = hashlib.sha256(ledger.read_bytes()).hexdigest()
    assert export(ledger, "--table", "movements").returncode == 0
    assert hashlib.sha256(ledger.read_bytes()).hexdigest() == before
    missing = tmp_path / "none.sqlite"
    done = export(missing, "--table", "movements")
    assert done.returncode == 2 and "no ledger at" in done.stderr
    assert not missing.exists()


def test_exports_while_the_writer_commits_are_whole_and_chained(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite"
    writer = LedgerWriter(partial(InventoryKeeper, path, {AMOX.gtin: AMOX}, "s1", "g1"))
    writer.start()
    stop = threading.Event()
    written = [0]

    def keep_writing() -> None:
        serial = 0
        while not stop.is_set():
            futures = []
            for _ in range(50):
                serial += 1
                futures.append(writer.submit(partial(_put_away, serial)))
            for future in futures:
                future.result()
            written[0] = serial

    worker = threading.Thread(target=keep_writing)
    worker.start()
    seen: list[int] = []
    try:
        for _ in range(4):
            done = export(path, "--table", "movements", "--format", "ndjson")
            assert done.returncode == 0, done.stderr
            rows = [json.loads(line) for line in done.stdout.splitlines()]
            assert [row["id"] for row in rows] == list(range(1, len(rows) + 1))
            for before, after in itertools.pairwise(rows):
                assert after["prev_hash"] == before["hash"], "a torn or mixed snapshot"
            seen.append(len(rows))
    finally:
        stop.set()
        worker.join(30)
        writer.stop()
    assert seen == sorted(seen) and seen[-1] > seen[0], f"the writer was not seen writing: {seen}"
    final = export(path, "--table", "movements", "--format", "ndjson")
    assert len(final.stdout.splitlines()) == written[0]


def _put_away(serial: int, keeper: InventoryKeeper) -> Any:
    return keeper.put_away(pack(serial), "A-01")
