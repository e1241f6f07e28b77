"""`rxedge tag decode` and `rxedge barcode decode` for field technicians."""

from __future__ import annotations

import json

from tests.command_line import rxedge


def test_tag_decode_names_each_tag_and_fails_on_a_foreign_one() -> None:
    ok = rxedge("tag", "decode", "--json", "3034257BF7194E4000003039", "3234F4E4E400020000000007")
    assert ok.returncode == 0, ok.stderr
    pack, location = (json.loads(line) for line in ok.stdout.splitlines())
    assert pack["gtin"] == "80614141123458" and pack["serial"] == "12345"
    assert location["kind"] == "location" and location["gln"] == "4012345000016"
    bad = rxedge("tag", "decode", "E2801160600002054B3A1B1C")
    assert bad.returncode == 1 and "INVALID" in bad.stdout and "tid" in bad.stdout


def test_barcode_decode_reads_a_pack_and_explains_a_refusal() -> None:
    ok = rxedge("barcode", "decode", "--json", "]d2010401234512345617260100<GS>10ABC<GS>21XYZ")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {
        "input": "]d2010401234512345617260100<GS>10ABC<GS>21XYZ",
        "gtin": "04012345123456",
        "expiry": "2026-01-31",
        "batch": "ABC",
        "serial": "XYZ",
    }
    bad = rxedge("barcode", "decode", "]d20104012345123456" + "10ABCDEFGHIJKL21XYZ789012345")
    assert bad.returncode == 1
    assert "GS separator" in bad.stdout


def test_barcode_decode_reads_a_valid_code_without_serial_as_gs1_says() -> None:
    found = rxedge("barcode", "decode", "--json", "]d201040123451234561726123110L2103A")
    assert found.returncode == 0, found.stdout
    said = json.loads(found.stdout)
    assert (said["batch"], said["serial"], said["expiry"]) == ("L2103A", "", "2026-12-31")
    assert "no serial number" in said["note"]
    plain = rxedge("barcode", "decode", "]d201040123451234561726123110L2103A")
    assert plain.returncode == 0 and "batch=L2103A" in plain.stdout and "note=" in plain.stdout


def test_barcode_decode_reads_a_code_valid_as_read_noting_what_its_last_field_may_hide() -> None:
    """A serial last and no batch: a device's code is so; a medicine's, run together."""
    found = rxedge("barcode", "decode", "--json", "]d20104012345123456172612312112345610BAD")
    assert found.returncode == 0, found.stdout
    said = json.loads(found.stdout)
    assert (said["batch"], said["serial"]) == ("", "12345610BAD")
    assert "holds (10)BAD" in said["note"] and "batch and an expiry" in said["note"]
