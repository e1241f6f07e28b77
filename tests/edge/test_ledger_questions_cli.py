"""The ledger's questions as an operator types them: a pack named by the EPC memory in hex that
`tag decode` and the simulators show is found as by its URI, a malformed one is refused as a
usage error (never answered "never booked in"), a URI's scheme is taken in any case, a slot
typed in another case is named (never answered "no movements"), and output piped into a reader
that stops early (`| head`) ends the command quietly."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from inventory.keeper import InventoryKeeper
from inventory.ledger.movements import Movement, MovementKind
from tests.command_line import ROOT, RXEDGE, rxedge
from tests.inventory.test_store_upgrades import EPCS, GTIN, busy_ledger

ON_SHELF = "3034F4E4E40C0E4000000003"  # EPCS[2], booked into A-01
PICKED = "3034F4E4E40C0E4000000001"  # EPCS[0], picked from A-01


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return busy_ledger(tmp_path_factory.mktemp("ledger") / "ledger.sqlite")


def test_the_tag_decoder_and_the_ledger_name_the_packs_alike() -> None:
    decoded = rxedge("tag", "decode", ON_SHELF, PICKED)
    assert f"uri={EPCS[2]}" in decoded.stdout and f"uri={EPCS[0]}" in decoded.stdout


@pytest.mark.parametrize(
    "given", [ON_SHELF, ON_SHELF.lower(), "30:34:F4:E4:E4:0C:0E:40:00:00:00:03"]
)
def test_where_finds_a_pack_on_the_shelf_by_its_epc_in_hex(ledger: Path, given: str) -> None:
    found = rxedge("where", given, "--db", str(ledger), "--json")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(f'{{"epc": "{EPCS[2]}", "found": true, "on_shelf": true,')
    assert '"slot": "A-01"' in found.stdout


def test_history_of_a_pack_by_its_epc_in_hex_is_its_movements(ledger: Path) -> None:
    by_hex = rxedge("history", PICKED, "--db", str(ledger))
    by_uri = rxedge("history", EPCS[0], "--db", str(ledger))
    assert by_hex.returncode == 0 and by_hex.stdout == by_uri.stdout
    assert [line.split()[2] for line in by_hex.stdout.splitlines()[1:]] == ["pick", "receive"]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("urn:epc:id:sgtin:bad", "'urn:epc:id:sgtin:bad' is not the EPC URI of a pack"),
        ("urn:epc:id:sgln:4012345.00001.7", "is not the EPC URI of a pack"),
        ("3234F4E4E40C0E4000000003", "3234F4E4E40C0E4000000003 is not a pack's tag"),
        ("E2801160600002054E4B3C6A", "`rxedge tag decode E2801160600002054E4B3C6A` says what"),
        ("3034F4E4E40C0E40000000", "3034F4E4E40C0E40000000 is not a pack's tag"),
        ("A-01", "'A-01' is neither an EPC URI nor EPC memory in hex"),
    ],
)
def test_where_refuses_what_names_no_pack_as_a_usage_error(
    ledger: Path, given: str, said: str
) -> None:
    refused = rxedge("where", given, "--db", str(ledger))
    assert refused.returncode == 2 and refused.stdout == ""
    (error,) = [line for line in refused.stderr.splitlines() if not line.startswith("usage:")]
    assert error.startswith("rxedge where: error: argument epc: ") and said in error
    assert "never booked in" not in refused.stdout + refused.stderr


def test_history_refuses_a_malformed_epc_and_still_takes_slots_and_gtins(ledger: Path) -> None:
    refused = rxedge("history", "urn:epc:id:sgtin:bad", "--db", str(ledger))
    assert refused.returncode == 2 and "is not the EPC URI of a pack" in refused.stderr
    for key in ("A-01", "4012345123456", GTIN):
        answered = rxedge("history", key, "--db", str(ledger))
        assert answered.returncode == 0 and "receive" in answered.stdout, key


@pytest.mark.parametrize(
    "given",
    [EPCS[2].upper(), "Urn:Epc:Id:Sgtin:4012345.012345.3", f"  {EPCS[2]}"],
)
def test_an_epc_uri_is_taken_in_any_case_of_its_scheme(ledger: Path, given: str) -> None:
    found = rxedge("where", given, "--db", str(ledger), "--json")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(f'{{"epc": "{EPCS[2]}", "found": true, "on_shelf": true,')
    history = rxedge("history", given, "--db", str(ledger))
    assert history.returncode == 0 and "receive" in history.stdout, history.stderr


def test_an_epc_serial_keeps_its_case(tmp_path: Path) -> None:
    """SGTIN-198 serials are alphanumeric: only the scheme before them is case-free."""
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    epc = "urn:epc:id:sgtin:4012345.012345.Ab7"
    keeper.commit([Movement(MovementKind.RECEIVE, GTIN, serial="Ab7", epc=epc, to_slot="A-01")])
    keeper.close()
    assert rxedge("where", "URN:EPC:ID:SGTIN:4012345.012345.Ab7", "--db", str(db)).returncode == 0
    missed = rxedge("where", "URN:EPC:ID:SGTIN:4012345.012345.AB7", "--db", str(db))
    assert (missed.returncode, missed.stdout) == (
        1,
        "urn:epc:id:sgtin:4012345.012345.AB7 was never booked in\n",
    )


@pytest.mark.parametrize(("given", "shown"), [("a-01", "a-01"), (" A-01 ", "' A-01 '")])
def test_history_of_a_slot_typed_in_another_case_names_the_slot_it_may_mean(
    ledger: Path, given: str, shown: str
) -> None:
    for extra in ([], ["--json"]):
        asked = rxedge("history", given, "--db", str(ledger), *extra)
        assert (asked.returncode, asked.stdout) == (2, ""), asked
        assert asked.stderr == f"rxedge: no slot {shown}; did you mean A-01?\n"
    unknown = rxedge("history", "Z-99", "--db", str(ledger))
    assert (unknown.returncode, unknown.stdout) == (0, "no movements of Z-99\n")


def test_output_whose_reader_stops_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """Far more rows than a pipe holds: the writes after the reader left fail for certain."""
    db = tmp_path / "ledger.sqlite"
    keeper = InventoryKeeper(db, {}, "s1", "g1")
    try:
        for n in range(20):
            keeper.commit(
                [
                    Movement(MovementKind.RECEIVE, GTIN, serial=f"{n}-{i}", to_slot="A-01")
                    for i in range(100)
                ]
            )
    finally:
        keeper.close()
    for command in (
        ["history", "A-01", "--limit", "5000"],
        ["ledger", "export", "--table", "movements"],
    ):
        with subprocess.Popen(
            [*RXEDGE, *command, "--db", str(db)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as reading:
            assert reading.stdout is not None and reading.stderr is not None
            assert reading.stdout.readline(), "the first line came"
            reading.stdout.close()  # as `head -1` does
            assert reading.wait(60) == 141, command
            assert reading.stderr.read() == b"", command
