"""GS1 element strings from pack barcodes: what is accepted, and what is refused and why."""

from __future__ import annotations

from datetime import date

import pytest

from inventory.codes.barcodes import (
    GS,
    BarcodeError,
    PackScan,
    from_typed,
    parse_pack_barcode,
)
from inventory.codes.product_codes import check_serial

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


SCANNER_FORMS = [
    # A scanner set to send the human-readable form, as printed under the code.
    "(01)04012345123456(17)261231(10)ABC(21)XYZ",
    "]d2(01)04012345123456(17)261231(10)ABC(21)XYZ",
    # A GS1 Digital Link URI, as a QR code carries it, with or without its symbology identifier.
    "https://id.gs1.org/01/04012345123456/10/ABC/21/XYZ?17=261231",
    "]Q1https://id.gs1.org/01/04012345123456/10/ABC/21/XYZ?17=261231",
    "https://pharma.example.com/01/04012345123456/10/ABC/21/XYZ?17=261231",
]


@pytest.mark.parametrize("code", SCANNER_FORMS)
def test_the_human_readable_form_and_a_digital_link_read_as_the_element_string(
    code: str,
) -> None:
    assert parse_pack_barcode(code) == PackScan(GTIN, date(2026, 12, 31), "ABC", "XYZ")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("(01)04012345123456(17)260231(10)ABC", "not a real date"),
        ("(01)04012345123457(17)261231(10)ABC", "check digit"),
        ("(01)04012345123456(10)A(10)B", "AI \\(10\\) twice"),
        ("https://id.gs1.org/01/04012345123456/10/ABC?17=261331", "not a real date"),
        ("https://id.gs1.org/01/04012345123457/10/ABC?17=261231", "check digit"),
        ("https://id.gs1.org/01/04012345123456/10/ABC?10=DEF", "AI \\(10\\) twice"),
        ("https://example.com/about-us", "not GS1"),
    ],
)
def test_the_other_forms_are_checked_as_a_datamatrix_is(code: str, words: str) -> None:
    with pytest.raises(BarcodeError, match=words):
        parse_pack_barcode(code)


def test_a_code_the_reader_cannot_take_apart_is_not_blamed_on_its_expiry() -> None:
    # biip repeats what it could not read in its message: "(17)" there is not a wrong date.
    with pytest.raises(BarcodeError) as refused:
        parse_pack_barcode(f"]d201{GTIN}(17)261231(10)ABC")
    assert "not a real date" not in str(refused.value)


def test_an_expiry_date_and_time_gives_the_expiry_when_the_code_has_no_17() -> None:
    code = f"]d201{GTIN}7003261231120010ABC{GS}21XYZ"
    assert parse_pack_barcode(code) == PackScan(GTIN, date(2026, 12, 31), "ABC", "XYZ")
    both = f"]d201{GTIN}17261130" + f"7003261231120010ABC{GS}21XYZ"
    assert parse_pack_barcode(both).expiry == date(2026, 11, 30), "17 is the expiry"
    with pytest.raises(BarcodeError, match="not a real date"):
        parse_pack_barcode(f"]d201{GTIN}7003260231120010ABC")
