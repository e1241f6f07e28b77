"""A command loads what it runs, not what every other command needs: `rxedge --version`,
`--help` and the ledger's questions start without the configuration's models (pydantic), the
stock policy's arrays (numpy), the GS1 libraries (biip, epcpy), the MQTT client (paho), asyncio,
Modbus (pymodbus), the metrics parser or the simulators, which took a second to load on every
run, by hand, in scripts and in tests alike."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.inventory.test_store_upgrades import EPCS, GTIN, busy_ledger

ROOT = Path(__file__).resolve().parents[2]
# Run in a fresh interpreter: `rxedge ARGS...` through its main, then the top-level packages
# it loaded, as JSON, to the file named first.
PROBE = """
import json, sys
from edge.cli.main import main
try:
    status = main(sys.argv[2:])
except SystemExit as ended:
    status = ended.code
loaded = sorted({name.split(".")[0] for name in sys.modules})
with open(sys.argv[1], "w") as out:
    json.dump({"status": status, "loaded": loaded}, out)
"""
HEAVY = {
    "pydantic",
    "numpy",
    "biip",
    "epcpy",
    "paho",
    "asyncio",
    "pymodbus",
    "prometheus_client",
    "sqlite_utils",
    "firmware_sim",
}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busy_ledger(tmp_path_factory.mktemp("ledger") / "ledger.sqlite")


def loaded_by(tmp_path: Path, *args: str) -> set[str]:
    """The packages `rxedge ARGS...` loaded; the command must have succeeded."""
    report = tmp_path / "loaded.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert report.exists(), done.stderr
    found = json.loads(report.read_text())
    assert found["status"] == 0, done.stderr
    return set(found["loaded"])


@pytest.mark.parametrize(
    "args",
    [["--version"], ["--help"], ["status", "--help"], ["procurement", "--help"]],
    ids=" ".join,
)
def test_the_parser_alone_loads_none_of_the_heavy_packages(tmp_path: Path, args: list[str]) -> None:
    assert loaded_by(tmp_path, *args) & HEAVY == set()


def test_a_ledger_export_loads_its_exporter_and_nothing_of_the_daemon(
    tmp_path: Path, ledger: Path
) -> None:
    loaded = loaded_by(tmp_path, "ledger", "export", "--db", str(ledger), "--table", "movements")
    assert "sqlite_utils" in loaded  # the exporter itself, and numpy with it
    assert loaded & HEAVY == {"sqlite_utils", "numpy"}


def test_where_loads_the_epc_library_alone_to_read_the_pack_named(
    tmp_path: Path, ledger: Path
) -> None:
    assert loaded_by(tmp_path, "where", EPCS[1], "--db", str(ledger)) & HEAVY == {"epcpy"}


@pytest.mark.parametrize("key", [GTIN, "A-01"])
def test_history_of_a_gtin_or_a_slot_loads_none_of_the_heavy_packages(
    tmp_path: Path, ledger: Path, key: str
) -> None:
    assert loaded_by(tmp_path, "history", key, "--db", str(ledger)) & HEAVY == set()
