"""GS1 element strings from pack barcodes: what is accepted, and what is refused and why."""

from __future__ import annotations

from datetime import date

import pytest

from inventory.codes.barcodes import GS, BarcodeError, PackScan, from_typed, parse_pack_barcode

GTIN = "04012345123456"


def test_a_complete_pack_code() -> None:
    code = f"]d201{GTIN}17260131" + f"10ABC123{GS}21XYZ789"
    assert parse_pack_barcode(code) == PackScan(GTIN, date(2026, 1, 31), "ABC123", "XYZ789")


def test_fields_in_any_order_with_separators_after_variable_fields() -> None:
    code = f"]d221XYZ789{GS}10ABC123{GS}17260131" + f"01{GTIN}"
    assert parse_pack_barcode(code) == PackScan(GTIN, date(2026, 1, 31), "ABC123", "XYZ789")


def test_expiry_day_00_means_the_end_of_the_month() -> None:
    assert parse_pack_barcode(f"]d201{GTIN}17280200").expiry == date(2028, 2, 29)
    assert parse_pack_barcode(f"]d201{GTIN}17261100").expiry == date(2026, 11, 30)


def test_a_code_without_symbology_identifier_is_read_too() -> None:
    assert parse_pack_barcode(f"01{GTIN}17260131").gtin == GTIN


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (f"]d201{GTIN}10ABC12317260131", "scanner is not sending the GS separator"),
        (f"]d201{GTIN}17260131" + "10ABC12321XYZ789", "may hold the serial number"),
        ("]d20104012345123457", "check digit"),
        (f"]d201{GTIN}17260231", "not a real date"),
        (f"]d201{GTIN}17261332", "not a real date"),
        ("]d1HELLO", "not GS1"),
        ("]d217260131" + "10ABC", "no GTIN"),
        ("hello", "could not be read as GS1"),
        ("", "empty scan"),
        # Found by fuzzing: biip raised on these instead of reporting an error.
        ("]", "not a readable code"),
        ("]0", "not a readable code"),
    ],
)
def test_refusals_say_what_is_wrong(code: str, words: str) -> None:
    with pytest.raises(BarcodeError, match=words):
        parse_pack_barcode(code)


def test_a_batch_that_only_looks_like_a_date_is_fine_when_the_expiry_is_there() -> None:
    scan = parse_pack_barcode(f"]d201{GTIN}17260131" + f"10X17270315{GS}21S1")
    assert scan.batch == "X17270315"


def test_typed_separators() -> None:
    assert from_typed("10A<GS>21B") == f"10A{GS}21B"
    assert from_typed("10A|21B") == from_typed("10A\\x1d21B") == f"10A{GS}21B"
