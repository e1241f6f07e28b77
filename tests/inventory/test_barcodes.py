"""GS1 element strings from pack barcodes: what is accepted, and what is refused and why."""

from __future__ import annotations

from datetime import date

import pytest

from inventory.codes.barcodes import (
    GS,
    BarcodeError,
    PackScan,
    check_serial,
    from_typed,
    parse_pack_barcode,
)

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
        # A dropped GS between batch and serial that makes the batch longer than GS1's
        # 20 characters: GS1 itself makes the code invalid.
        (f"]d201{GTIN}17261231" + "10ABCDEFGHIJKL21XYZ789012345", "GS separator"),
        (f"]d201{GTIN}17261231" + "21ABCDEFGHIJKLMNOP10XYZ12345", "GS separator"),
        (f"]d201{GTIN}10AB{GS}10CD", "AI \\(10\\) twice"),
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


def test_a_valid_code_without_serial_is_read_as_gs1_says() -> None:
    # Batch L2103A, no serial: valid GS1, even though "21" appears in the batch.
    scan = parse_pack_barcode("]d201040123451234561726123110L2103A")
    assert scan == PackScan(GTIN, date(2026, 12, 31), "L2103A", "")
    (note,) = scan.notes()
    assert "no serial number" in note and "GS separator" in note


def test_a_valid_code_whose_batch_holds_a_date_is_read_as_gs1_says() -> None:
    scan = parse_pack_barcode(f"]d201{GTIN}10ABC12317260131")
    assert (scan.batch, scan.expiry, scan.serial) == ("ABC12317260131", None, "")
    assert any("(17)260131" in note for note in scan.notes())


def test_a_serialized_product_refuses_a_pack_without_serial_with_the_likely_setting() -> None:
    scan = parse_pack_barcode("]d201040123451234561726123110L2103A")
    with pytest.raises(BarcodeError, match="serialized product") as refused:
        check_serial(scan, require_serial=True)
    assert "'03A'" in str(refused.value) and "GS separator" in str(refused.value)
    check_serial(scan, require_serial=False)  # a product that allows unserialized packs


def test_a_refusal_without_21_in_the_batch_names_no_scanner_setting() -> None:
    scan = parse_pack_barcode(f"]d201{GTIN}17261231" + "10LOT7")
    with pytest.raises(BarcodeError, match="serialized product") as refused:
        check_serial(scan, require_serial=True)
    assert "GS separator" not in str(refused.value)


def test_a_serialized_pack_passes_the_serial_policy() -> None:
    check_serial(parse_pack_barcode(f"]d201{GTIN}17261231" + f"10L21{GS}21S1"), True)


def test_a_batch_that_only_looks_like_a_date_is_fine_when_the_expiry_is_there() -> None:
    scan = parse_pack_barcode(f"]d201{GTIN}17260131" + f"10X17270315{GS}21S1")
    assert scan.batch == "X17270315"


def test_typed_separators() -> None:
    assert from_typed("10A<GS>21B") == f"10A{GS}21B"
    assert from_typed("10A|21B") == from_typed("10A\\x1d21B") == f"10A{GS}21B"
