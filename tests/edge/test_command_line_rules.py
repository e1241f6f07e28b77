"""The rules every `rxedge` command keeps: its --help ends with its exit statuses and explains
every option; the configuration comes from --config, else $RXEDGE_CONFIG, else
/etc/rxedge/gateway.toml (--db overriding the database); --json prints one JSON object per line
for a list and one object for a single answer, nested data as objects; a GTIN may be typed with
8, 12, 13 or 14 digits."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from edge.cli.config_file import CONFIG_ENV, SYSTEM_CONFIG
from edge.cli.exit_statuses import EXIT_STATUSES, commands_of
from edge.cli.main import _parser, main
from edge.cli.shelf_commands import read_pick_list
from inventory.apply import apply
from inventory.changes import RequestAnswer
from inventory.codes.identifiers import PackId
from inventory.keeper import InventoryKeeper
from inventory.ledger.schema import SCHEMA_VERSION
from inventory.replenishment.policy import Product
from inventory.replenishment.requests import RequestStatus
from inventory.site_calendar import SiteCalendar

ROOT = Path(__file__).resolve().parents[2]
AMOX = Product("04012345123456", "Amoxicillin 500 mg", reorder_point=2, par=6, home_slots=("A-01",))
EPC = "urn:epc:id:sgtin:4012345.012345.{}"
# Commands that print no result of their own: the daemon, the live demo, simulators, groups,
# and the export (its output is a file format, --format).
WITHOUT_JSON = (
    {"", "run", "demo", "ledger export"}
    | {
        path
        for path in EXIT_STATUSES
        if path.startswith("sim") or path in ("stocktake", "procurement")
    }
    | {"ledger", "tag", "barcode"}
    | {"web", "web add-user", "web remove-user"}  # a service, and account changes it confirms
)


def command_id(value: object) -> str | None:
    """A test id from a command line (other parameters: pytest's own)."""
    return " ".join(value) if isinstance(value, list) else None


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four packs put away, three taken: a shortage alarm (with its detail) and a request."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    short_of_amoxicillin(path).close()
    return path


def short_of_amoxicillin(path: Path) -> InventoryKeeper:
    keeper = InventoryKeeper(
        path,
        {AMOX.gtin: AMOX},
        "s1",
        "g1",
        SiteCalendar(UTC, lambda: datetime(2026, 11, 26, 9, tzinfo=UTC)),
    )
    for serial in range(1, 5):
        keeper.put_away(PackId(EPC.format(serial), AMOX.gtin, str(serial)), "A-01")
    for serial in range(1, 4):
        keeper.take(EPC.format(serial))
    return keeper


@pytest.fixture
def config(tmp_path: Path, ledger: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(f'site = "s1"\ngateway = "g1"\ndatabase = "{ledger}"\n')
    return path


@pytest.fixture(autouse=True)
def no_config_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`rxedge ARGS` in this process: exit status, stdout, stderr."""
    try:
        status = main(list(args))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_every_help_ends_with_the_exit_statuses_and_every_option_is_explained() -> None:
    for path, command in commands_of(_parser()).items():
        text = command.format_help().rstrip()
        statuses = text.split("\nexit status:\n")
        assert len(statuses) == 2, f"rxedge {path} --help has no exit statuses"
        listed = [line.strip() for line in statuses[1].splitlines()]
        assert (
            any(line.startswith("0 ") for line in listed)
            or path in ("stocktake", "procurement", "ledger", "tag", "barcode", "sim")
            or path.startswith("sim ")
        ), (path, listed)
        assert any(line.startswith("2 ") for line in listed), (path, listed)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {choice.dest: choice.help for choice in action._choices_actions}
                assert all(helps.values()), (path, helps)
                continue
            what = action.option_strings or action.dest
            assert action.help and action.help != argparse.SUPPRESS, f"rxedge {path} {what}"


def test_help_is_printed_with_the_exit_statuses_last() -> None:
    shown = (
        subprocess.run(
            [sys.executable, "-m", "edge.cli.main", "where", "--help"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        .stdout.rstrip()
        .splitlines()
    )
    assert shown[-5:] == [
        "exit status:",
        "  0 found",
        "  1 the pack was never booked in",
        "  2 the ledger or configuration cannot be read, or a usage error (the message",
        "    says which)",
    ]


def test_every_exit_status_fits_an_80_column_terminal() -> None:
    for path, command in commands_of(_parser()).items():
        statuses = command.format_help().rstrip().split("\nexit status:\n")[1]
        too_wide = [line for line in statuses.splitlines() if len(line) > 80]
        assert too_wide == [], f"rxedge {path} --help"


def test_version_comes_from_the_package() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert shown.stdout == f"rxedge {version('rxedge')} (ledger schema version {SCHEMA_VERSION})\n"


def test_every_command_that_prints_a_result_has_json() -> None:
    for path, command in commands_of(_parser()).items():
        has_json = any("--json" in a.option_strings for a in command._actions)
        assert has_json == (path not in WITHOUT_JSON), f"rxedge {path}"


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["check-config"],
        ["status", "--interval", "0"],
        ["pick", "--cancel", "rx-1"],
        ["locate", "04012345123456"],
        ["stocktake", "start", "A"],
        ["stocktake", "report"],
        ["alarms"],
        ["alarms", "ack", "shortage-04012345123456", "--by", "Ana"],
        ["procurement", "list"],
        ["procurement", "confirm", "r-1", "--by", "Ana"],
        ["procurement", "status", "r-1", "ordered"],
        ["procurement", "watch"],
        ["ledger", "verify"],
        ["ledger", "export", "--table", "movements"],
        ["ledger", "move-slot", "B-02", "A-02", "--by", "Ana"],
        ["stock", "04012345123456"],
        ["where", EPC.format(1)],
        ["history", "A-01"],
        ["expiring"],
    ],
    ids=command_id,
)
def test_each_command_reading_the_configuration_takes_rxedge_config(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "elsewhere.toml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    status, _, err = run(capsys, *command)
    assert status == 2 and f"configuration {missing} has 1 problem(s)" in err, err
    status, _, err = run(capsys, *command, "--config", str(tmp_path / "given.toml"))
    assert status == 2 and "given.toml has 1 problem(s)" in err, err


@pytest.mark.skipif(SYSTEM_CONFIG.exists(), reason="this machine has a gateway configuration")
def test_without_either_the_default_file_is_read_and_the_error_says_how_to_give_another(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(capsys, "stock", "04012345123456")
    assert status == 2
    assert f"configuration {SYSTEM_CONFIG} has 1 problem(s)" in err
    assert "--config FILE, or $RXEDGE_CONFIG" in err


@pytest.mark.skipif(SYSTEM_CONFIG.exists(), reason="this machine has a gateway configuration")
def test_status_without_a_configuration_asks_the_default_metrics_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "status", "--json", "--interval", "0", "--timeout", "1")
    assert json.loads(out)["url"] == "http://127.0.0.1:9464/metrics"
    assert status in (0, 1, 2)


def test_the_config_names_the_database_and_db_overrides_it(
    config: Path,
    ledger: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(config))
    status, from_environment, _ = run(capsys, "stock", AMOX.gtin, "--json")
    assert status == 0 and json.loads(from_environment)["quantity"] == 1
    other = tmp_path / "other.toml"
    other.write_text(f'site = "s1"\ngateway = "g1"\ndatabase = "{tmp_path / "none.sqlite"}"\n')
    status, _, err = run(capsys, "stock", AMOX.gtin, "--config", str(other))
    assert status == 2 and "no ledger at" in err
    status, overridden, _ = run(
        capsys, "stock", AMOX.gtin, "--config", str(other), "--db", str(ledger), "--json"
    )
    assert status == 0 and overridden == from_environment


def lines_of_objects(out: str) -> list[dict[str, Any]]:
    """Every line one JSON object, and no value a JSON document inside a string."""
    rows = [json.loads(line) for line in out.splitlines()]
    for row in rows:
        assert isinstance(row, dict), row
        for value in row.values():
            if isinstance(value, str) and value.startswith(("{", "[")):
                pytest.fail(f"JSON inside a string: {value!r}")
    return rows


@pytest.mark.parametrize(
    ("command", "count"),
    [
        (["stock", AMOX.gtin], 1),
        (["history", AMOX.gtin], 7),
        (["history", "A-01"], 7),
        (["alarms", "--all"], 1),
        (["procurement", "list"], 1),
    ],
    ids=command_id,
)
def test_a_list_is_one_json_object_per_line(
    command: list[str], count: int, ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, *command, "--db", str(ledger), "--json")
    assert status == 0
    assert len(lines_of_objects(out)) == count


def test_a_request_is_listed_with_the_centres_last_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "answered.sqlite"
    keeper = short_of_amoxicillin(path)
    [request] = keeper.orders.open_requests()
    said = "2026-11-26T16:30:00.000Z"
    rid = request.request_id
    apply(keeper, RequestAnswer(rid, RequestStatus.ORDERED, "order 88123", "Purchasing", said))
    apply(keeper, RequestAnswer(rid, RequestStatus.SHIPPED, "", "Wholesaler", None))
    keeper.close()
    _, out, _ = run(capsys, "procurement", "list", "--db", str(path), "--json")
    (row,) = lines_of_objects(out)
    assert (row["status"], row["note"], row["answered_by"], row["answered_at"]) == (
        "shipped",
        "order 88123",
        "Wholesaler",
        "2026-11-26T09:00:00.000Z",  # said without a time: when the gateway took it
    )


def test_an_alarms_detail_is_an_object(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "alarms", "--db", str(ledger), "--json")
    (alarm,) = lines_of_objects(out)
    assert alarm["id"] == f"shortage-{AMOX.gtin}"
    assert alarm["detail"]["on_hand"] == 2 and alarm["detail"]["gtin"] == AMOX.gtin
    _, table, _ = run(capsys, "alarms", "--db", str(ledger))
    assert "on_hand=2" in table and "{" not in table


@pytest.mark.parametrize(
    ("command", "status", "key", "value"),
    [
        (["ledger", "verify"], 0, "ok", True),
        (["where", EPC.format(4)], 0, "slot", "A-01"),
        (["where", EPC.format(1)], 0, "on_shelf", False),
        (["where", EPC.format(99)], 1, "found", False),
    ],
    ids=command_id,
)
def test_a_single_answer_is_one_json_object(
    command: list[str],
    status: int,
    key: str,
    value: object,
    ledger: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    found, out, _ = run(capsys, *command, "--db", str(ledger), "--json")
    assert found == status
    (answer,) = lines_of_objects(out)
    assert answer[key] == value


def test_check_config_answers_in_one_object(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "check-config", str(config), "--json")
    assert status == 0
    (verdict,) = lines_of_objects(out)
    # The test's ledger holds a pack in A-01, a slot of no shelf here: said, not an error.
    (warning,) = verdict["warnings"]
    assert warning.startswith("shelves: the ledger holds stock in 1 slot(s) no shelf has: A-01")
    site = SiteCalendar()  # none configured: the machine's
    local = datetime.fromisoformat(verdict.pop("local_time"))
    assert abs(local - datetime.now(UTC)).total_seconds() < 120
    assert verdict.pop("utc_offset") == site.offset(local)
    assert [verdict] == [
        {
            "config": str(config),
            "ok": True,
            "warnings": [warning],
            "site": "s1",
            "timezone": str(site.zone),
            "notes": [],
            "gateway": "g1",
            "readers": 0,
            "shelves": 0,
            "slots": 0,
            "products": 0,
            "broker": "mqtt://127.0.0.1:1883",
        }
    ]
    bad = tmp_path / "bad.toml"
    bad.write_text('site = "s1"\n')
    status, out, _ = run(capsys, "check-config", "--config", str(bad), "--json")
    (verdict,) = lines_of_objects(out)
    assert status == 2 and verdict["ok"] is False and verdict["problems"][0].startswith("gateway")


@pytest.mark.parametrize("typed", ["4012345123456", "04012345123456", " 4012345123456"])
def test_a_gtin_is_taken_with_13_digits_too(
    typed: str, ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, stock, _ = run(capsys, "stock", typed, "--db", str(ledger), "--json")
    assert json.loads(stock)["quantity"] == 1
    _, history, _ = run(capsys, "history", typed, "--db", str(ledger), "--json")
    assert len(lines_of_objects(history)) == 7
    assert _parser().parse_args(["locate", typed]).gtin == AMOX.gtin


def test_a_gtin_with_a_wrong_check_digit_is_refused_in_words(
    ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "stock", "4012345123457", "--db", str(ledger))
    assert status == 2 and out == ""
    assert "GTIN 4012345123457 has a wrong check digit: its last digit should be 6" in err
    status, _, err = run(capsys, "locate", "401234512345", "--broker", "mqtt://127.0.0.1:1")
    assert status == 2 and "wrong check digit" in err


def test_a_pick_list_file_may_give_gtins_of_8_12_or_13_digits(tmp_path: Path) -> None:
    listed = tmp_path / "rx.json"
    lines = [{"gtin": "4012345123456", "quantity": 1}, {"gtin": "96385074", "quantity": 2}]
    listed.write_text(json.dumps({"pick_id": "rx-1", "lines": lines}))
    assert [line["gtin"] for line in read_pick_list(listed)["lines"]] == [  # type: ignore[union-attr]
        AMOX.gtin,
        "00000096385074",
    ]
    listed.write_text(json.dumps({"pick_id": "rx-1", "lines": [{"gtin": "96385075"}]}))
    with pytest.raises(SystemExit, match="line 1: GTIN 96385075 has a wrong check digit"):
        read_pick_list(listed)
