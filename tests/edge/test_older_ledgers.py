"""A ledger an older rxedge left, after the new release is installed and before the daemon's
first start upgrades it (or an old backup): the commands that read it answer as they do on a
current one, and nothing calls the file damaged. The daemon's start upgrades it and says so
once in the journal, with what a step dropped; `rxedge --version` names the schema version an
older rxedge's refusal would quote."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from edge.service.journal import printable
from inventory.apply import apply
from inventory.changes import AckAlarm, RequestAnswer
from inventory.errors import StoreError
from inventory.ledger import store
from inventory.ledger.schema import DROPPED, MIGRATIONS, SCHEMA_VERSION
from inventory.replenishment.requests import RequestStatus
from tests.command_line import RXEDGE, rxedge
from tests.edge.daemon_process import logged_until
from tests.edge.test_command_line_rules import AMOX, short_of_amoxicillin
from tests.inventory.test_store import file_at_version
from tests.inventory.test_store_upgrades import GTIN, busy_ledger, copy_into

ROOT = Path(__file__).resolve().parents[2]


def older_ledger(tmp_path: Path, version: int) -> Path:
    """A ledger of schema `version` that has seen work: packs in, one picked, a shortage with its
    alarm and procurement request, messages waiting for the broker."""
    old = file_at_version(tmp_path / f"v{version}.sqlite", version)
    copy_into(old, busy_ledger(tmp_path / f"current-{version}.sqlite"))
    return old


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("schema", range(1, SCHEMA_VERSION))
def test_procurement_list_reads_a_ledger_of_each_older_schema_and_leaves_it_as_it_was(
    tmp_path: Path, schema: int
) -> None:
    old = older_ledger(tmp_path, schema)
    before = digest(old)
    listed = rxedge("procurement", "list", "--db", str(old), "--json")
    assert listed.returncode == 0, listed.stderr
    (request,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert request["gtin"] == GTIN and request["status"] == "requested"
    assert request["priority"] == "routine" and request["received"] == 0
    assert request["answered_by"] == "" and request["answered_at"] is None, "kept by schema 9"
    plain = rxedge("procurement", "list", "--db", str(old))
    assert (plain.returncode, plain.stderr) == (0, ""), plain.stderr
    assert "answered_by" in plain.stdout.splitlines()[0]
    assert digest(old) == before, "a question changes nothing in the file"


def test_a_ledger_older_than_its_stocktakes_answers_that_it_has_none(tmp_path: Path) -> None:
    """Schema 3 had no stocktakes table: none yet, as on a ledger that never had a sweep."""
    old = older_ledger(tmp_path, 3)
    report = rxedge("stocktake", "report", "--db", str(old))
    assert (report.returncode, report.stdout, report.stderr) == (1, "no stocktake yet\n", "")
    exported = rxedge("ledger", "export", "--table", "stocktakes", "--db", str(old))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("stocktake_id,shelf,by,ended_at,state,report,")
    questions = (["alarms"], ["stock", GTIN], ["ledger", "verify"], ["expiring"], ["history", GTIN])
    for question in questions:
        answered = rxedge(*question, "--db", str(old))
        assert answered.returncode == 0 and "damaged" not in answered.stderr, (question, answered)


def test_a_question_an_older_ledger_cannot_answer_does_not_call_it_damaged(tmp_path: Path) -> None:
    old = older_ledger(tmp_path, 7)
    missing = sqlite3.OperationalError("no such column: answered_by")
    said = str(store.unreadable(old, missing))
    assert "damaged or unreadable" not in said and "restore" not in said
    assert f"ledger {old} is from an older rxedge (schema 7; this one writes 14)" in said
    assert "the daemon's next start upgrades it" in said
    current = busy_ledger(tmp_path / "current.sqlite")
    assert "damaged or unreadable" in str(store.unreadable(current, missing)), "a current one is"


def test_every_upgrade_step_that_drops_rows_says_what_and_why() -> None:
    dropping = {n + 1 for n, script in enumerate(MIGRATIONS) if "DELETE FROM" in script}
    assert dropping == set(DROPPED) == {8, 10, 12}


def daemon_start(config: Path, log: Path) -> list[str]:
    """What `rxedge run` logs until it says it runs (its broker refuses: it runs on); then it
    is stopped as systemd stops it."""
    return logged_until(
        [*RXEDGE, "run", "--config", str(config)],
        log,
        "edge.daemon.activity.start: gateway s1/g1 running",
    )


def test_the_daemon_says_once_that_it_upgraded_the_ledger_and_what_it_dropped(
    tmp_path: Path,
) -> None:
    old = older_ledger(tmp_path, 7)
    with sqlite3.connect(old) as db:
        db.executemany(
            "INSERT INTO outbox (created_at, kind, key, payload, sent_at) VALUES"
            " ('2026-12-05T08:00:00Z', 'alarm', ?, '{}', ?)",
            [
                ("discrepancy-A1.2", None),  # an id with dots: dropped by step 12
                ("device_down-rdr_1", None),  # overtaken by the next, sent: dropped by step 10
                ("device_down-rdr_1", "2026-12-05T08:00:01Z"),
            ],
        )
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'site = "s1"\ngateway = "g1"\ndatabase = "{old}"\n'
        '[broker]\nurl = "mqtt://127.0.0.1:1"\n[metrics]\nlisten = ""\n'
    )
    first = daemon_start(config, tmp_path / "first.log")
    said = [line for line in first if "inventory.ledger.store" in line]
    assert len(said) == 3 and all(" WARNING " in line for line in said), first
    assert said[0].endswith(
        f"ledger {old}: upgrading it to schema 10 dropped 1 waiting alarm message(s) the broker"
        " already held a newer state of (sent, each would have put an older state back over"
        " the newer one at the broker)"
    )
    assert (
        f"{old}: upgrading it to schema 12 dropped 1 waiting alarm message(s) under an id"
        in (said[1])
    )
    assert said[2].endswith(
        f"ledger {old} upgraded from schema 7 to 14; an older rxedge can no longer open it (keep"
        " the backup taken before the upgrade: going back to the older rxedge means restoring"
        " that backup)"
    )
    again = daemon_start(config, tmp_path / "again.log")
    assert not [line for line in again if "inventory.ledger.store" in line], again


def test_the_version_names_the_ledger_schema_an_older_rxedge_refuses_by(tmp_path: Path) -> None:
    shown = rxedge("--version")
    assert shown.stdout == f"rxedge {version('rxedge')} (ledger schema version 14)\n"
    for guide in ("README.md", "docs/install.md"):  # what they show of it is what it prints
        shown_there = re.findall(r"\(ledger schema version (\d+)\)", (ROOT / guide).read_text())
        assert all(int(n) == SCHEMA_VERSION for n in shown_there), (guide, shown_there)
    newer = file_at_version(tmp_path / "newer.sqlite", SCHEMA_VERSION)
    with sqlite3.connect(newer) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=rf"newer than this rxedge knows \({SCHEMA_VERSION}\)"):
        store.connect(newer)


def test_text_kept_from_before_control_characters_were_refused_is_listed_escaped(
    tmp_path: Path,
) -> None:
    """A note and names with a line break, a tab and terminal escapes, kept by a ledger from
    before the contract refused them: each row of `procurement list` and `alarms` stays one
    line, those characters shown as escapes, none of them acting on the pharmacist's terminal."""
    path = tmp_path / "ledger.sqlite"
    keeper = short_of_amoxicillin(path)
    (request,) = keeper.orders.open_requests()
    note, clerk, pharmacist = "PO 77\nDHL\x1b[31m red\x1b[0m\rX", "Clerk\tB", "Ana\nRuiz\x1b[31m"
    answer = RequestAnswer(request.request_id, RequestStatus.SHIPPED, note, clerk, None)
    assert not apply(keeper, answer).refusals
    assert not apply(keeper, AckAlarm(f"shortage-{AMOX.gtin}", pharmacist)).refusals
    keeper.close()
    for question, shown in ((["procurement", "list"], (note, clerk)), (["alarms"], (pharmacist,))):
        listed = subprocess.run(
            [*RXEDGE, *question, "--db", str(path)],
            capture_output=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
        assert (listed.returncode, listed.stderr) == (0, b""), listed.stderr
        out = listed.stdout.decode()
        assert not [c for c in out if not c.isprintable() and c not in " \n"], out
        _, row = out.splitlines()  # the header, and the one row on one line
        for text in shown:
            assert printable(text) in row, (text, row)
